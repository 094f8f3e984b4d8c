/* The backend registry: the three built-ins plus whatever mdm_backend_register adds. */
#include <pthread.h>
#include <string.h>

#include "core/strbuf.h"
#include "mdm/sys/backend.h"

#define MAX_BACKENDS 16

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const mdm_backend *backends[MAX_BACKENDS + 1] = {
    &mdm_backend_sqlite, &mdm_backend_duckdb, &mdm_backend_postgres};
static const char *names[MAX_BACKENDS + 1] = {"sqlite", "duckdb", "postgres"};
static size_t count = 3;

int mdm_backend_register(const mdm_backend *backend)
{
    if (!backend || !backend->name || backend->version != MDM_BACKEND_VERSION || !backend->open ||
        !backend->close)
        return mdm_error_set(MDM_EINVALID, "backend table is incomplete or of another version");
    int rc = 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < count; i++)
        if (strcmp(backends[i]->name, backend->name) == 0) {
            rc = mdm_error_set(MDM_EEXISTS, "backend '%s' is already registered", backend->name);
            goto cleanup;
        }
    if (count == MAX_BACKENDS) {
        rc = mdm_error_set(MDM_ECONSTRAINT, "too many backends (at most %d)", MAX_BACKENDS);
        goto cleanup;
    }
    names[count] = backend->name;
    backends[count++] = backend;
cleanup:
    pthread_mutex_unlock(&lock);
    return rc;
}

const mdm_backend *mdm_backend_find(const char *name)
{
    if (name && strcmp(name, "postgresql") == 0)
        name = "postgres";
    const mdm_backend *found = NULL;
    strbuf known = STRBUF_INIT;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < count; i++) {
        if (name && strcmp(backends[i]->name, name) == 0)
            found = backends[i];
        strbuf_appendf(&known, "%s%s", i ? ", " : "", backends[i]->name);
    }
    pthread_mutex_unlock(&lock);
    if (!found)
        mdm_error_set(MDM_ENOTFOUND, "unknown backend '%s' (known: %s)", name ? name : "",
                      known.data ? known.data : "");
    strbuf_free(&known);
    return found;
}

const char *const *mdm_backend_names(void) { return names; }

const char *mdm_backend_library_version(const char *name)
{
    const mdm_backend *b = mdm_backend_find(name);
    return b && b->library_version ? b->library_version() : "unknown";
}
