/* The backend registry: one array of backends, the built-ins first, then whatever
 * mdm_backend_register adds. A built-in kept in a module (DuckDB) is a name and a
 * loader until its first lookup. */
#include <pthread.h>
#include <string.h>

#include "core/strbuf.h"
#include "mdm/sys/backend.h"
#include "storage/duckdb_module.h"

#define MAX_BACKENDS 16

static int load_duckdb(const mdm_backend **out)
{
    const mdm_duckdb_module *m = NULL;
    int rc = mdm_duckdb_module_get(&m);
    *out = rc ? NULL : m->backend;
    return rc;
}

typedef struct entry {
    const char *name;
    const mdm_backend *table;            /* NULL until loaded */
    int (*load)(const mdm_backend **out); /* for a backend in a module */
} entry;

/* One line per backend. */
static entry backends[MAX_BACKENDS] = {
    {"sqlite", &mdm_backend_sqlite, NULL},
    {"duckdb", NULL, load_duckdb},
    {"postgres", &mdm_backend_postgres, NULL},
};
static size_t count = 3;
static const char *names[MAX_BACKENDS + 1] = {"sqlite", "duckdb", "postgres"};
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static bool valid(const mdm_backend *b)
{
    if (!b || !b->name || b->version < 1 || b->version > MDM_BACKEND_VERSION || !b->open ||
        !b->close)
        return false;
    unsigned caps = mdm_backend_caps(b);
    if ((caps & MDM_BACKEND_CAP_FILE) && !b->file_extension)
        return false;
    if ((caps & MDM_BACKEND_CAP_SCHEMAS) &&
        !(MDM_BACKEND_HAS(b, dataset_location) && MDM_BACKEND_HAS(b, dataset_rename) &&
          MDM_BACKEND_HAS(b, dataset_list)) &&
        b->version >= 2)
        return false;
    return true;
}

static bool answers_to(const entry *e, const char *name)
{
    return strcmp(e->name, name) == 0 ||
           (e->table && MDM_BACKEND_HAS(e->table, catalog_name) &&
            strcmp(e->table->catalog_name, name) == 0);
}

int mdm_backend_register(const mdm_backend *backend)
{
    if (!valid(backend))
        return mdm_error_set(MDM_EINVALID, "backend table is incomplete or of another version "
                                           "(this mdm knows versions 1 to %d)",
                             MDM_BACKEND_VERSION);
    int rc = 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < count; i++)
        if (answers_to(&backends[i], backend->name) ||
            (MDM_BACKEND_HAS(backend, catalog_name) &&
             answers_to(&backends[i], backend->catalog_name))) {
            rc = mdm_error_set(MDM_EEXISTS, "backend '%s' is already registered", backend->name);
            goto cleanup;
        }
    if (count == MAX_BACKENDS) {
        rc = mdm_error_set(MDM_ECONSTRAINT, "too many backends (at most %d)", MAX_BACKENDS);
        goto cleanup;
    }
    backends[count] = (entry){backend->name, backend, NULL};
    names[count++] = backend->name;
cleanup:
    pthread_mutex_unlock(&lock);
    return rc;
}

const mdm_backend *mdm_backend_find(const char *name)
{
    entry found = {0};
    strbuf known = STRBUF_INIT;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < count; i++) {
        if (name && !found.name && answers_to(&backends[i], name))
            found = backends[i];
        strbuf_appendf(&known, "%s%s", i ? ", " : "", backends[i].name);
    }
    pthread_mutex_unlock(&lock);
    if (!found.name) {
        mdm_error_set(MDM_ENOTFOUND, "unknown backend '%s' (known: %s)", name ? name : "",
                      known.data ? known.data : "");
        strbuf_free(&known);
        return NULL;
    }
    strbuf_free(&known);
    if (found.table)
        return found.table;
    /* Loaded outside the lock: the loader runs once (pthread_once) and may take a while. */
    const mdm_backend *loaded = NULL;
    if (found.load(&loaded))
        return NULL;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < count; i++)
        if (backends[i].load == found.load)
            backends[i].table = loaded;
    pthread_mutex_unlock(&lock);
    return loaded;
}

const char *const *mdm_backend_names(void) { return names; }

const char *mdm_backend_library_version(const char *name)
{
    const mdm_backend *b = mdm_backend_find(name);
    return b && b->library_version ? b->library_version() : "unknown";
}
