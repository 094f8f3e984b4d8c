/* The backend registry: one array, one line per backend, the built-ins first, then
 * whatever mdm_backend_register adds. A built-in kept in a module (storage/module.h) is
 * a name until its first lookup loads the module. */
#include <pthread.h>
#include <string.h>

#include "core/strbuf.h"
#include "mdm/sys/backend.h"
#include "storage/module.h"
#include "storage/registry.h"

#define MAX_BACKENDS 16
#define NO_MODULE (-1)

typedef struct entry {
    const char *name;
    const char *catalog_name;  /* the registry YAML's name, also looked up; NULL: name */
    const mdm_backend *table;  /* NULL until its module is loaded */
    int module;                /* mdm_module_id, or NO_MODULE */
} entry;

static entry backends[MAX_BACKENDS] = {
    {"sqlite", NULL, &mdm_backend_sqlite, NO_MODULE},
    {"duckdb", NULL, NULL, MDM_MODULE_DUCKDB},
    {"postgres", "postgresql", NULL, MDM_MODULE_POSTGRES}, /* the Python tool's name */
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
    if (b->version >= 2 && (caps & MDM_BACKEND_CAP_SCHEMAS) &&
        !(b->dataset_location && b->dataset_rename && b->dataset_list))
        return false;
    return true;
}

static bool answers_to(const entry *e, const char *name)
{
    return strcmp(e->name, name) == 0 || (e->catalog_name && strcmp(e->catalog_name, name) == 0);
}

/* The entry answering to `name`, or NULL; locked. */
static entry *lookup(const char *name)
{
    for (size_t i = 0; name && i < count; i++)
        if (answers_to(&backends[i], name))
            return &backends[i];
    return NULL;
}

const char *backend_registry_name(const char *name)
{
    pthread_mutex_lock(&lock);
    const entry *e = lookup(name);
    const char *found = e ? e->name : name;
    pthread_mutex_unlock(&lock);
    return found;
}

int mdm_backend_register(const mdm_backend *backend)
{
    if (!valid(backend))
        return mdm_error_set(MDM_EINVALID, "backend table is incomplete or of another version "
                                           "(this mdm knows versions 1 to %d)",
                             MDM_BACKEND_VERSION);
    const char *catalog_name = MDM_BACKEND_HAS(backend, catalog_name) ? backend->catalog_name
                                                                       : NULL;
    int rc = 0;
    pthread_mutex_lock(&lock);
    if (lookup(backend->name) || lookup(catalog_name)) {
        rc = mdm_error_set(MDM_EEXISTS, "backend '%s' is already registered", backend->name);
        goto cleanup;
    }
    if (count == MAX_BACKENDS) {
        rc = mdm_error_set(MDM_ECONSTRAINT, "too many backends (at most %d)", MAX_BACKENDS);
        goto cleanup;
    }
    backends[count] = (entry){backend->name, catalog_name, backend, NO_MODULE};
    names[count++] = backend->name;
cleanup:
    pthread_mutex_unlock(&lock);
    return rc;
}

const mdm_backend *mdm_backend_find(const char *name)
{
    pthread_mutex_lock(&lock);
    entry *e = lookup(name);
    entry found = e ? *e : (entry){0};
    pthread_mutex_unlock(&lock);
    if (!e) {
        strbuf known = STRBUF_INIT;
        pthread_mutex_lock(&lock);
        for (size_t i = 0; i < count; i++)
            strbuf_appendf(&known, "%s%s", i ? ", " : "", backends[i].name);
        pthread_mutex_unlock(&lock);
        mdm_error_set(MDM_ENOTFOUND, "unknown backend '%s' (known: %s)", name ? name : "",
                      known.data ? known.data : "");
        strbuf_free(&known);
        return NULL;
    }
    if (found.table)
        return found.table;
    /* The module loads once (module_dl.c serialises it); the entry keeps its table. */
    const mdm_module *m = NULL;
    if (mdm_module_get(&m, (mdm_module_id)found.module))
        return NULL;
    pthread_mutex_lock(&lock);
    e->table = m->backend;
    pthread_mutex_unlock(&lock);
    return m->backend;
}

const char *mdm_backend_catalog_name(const mdm_backend *backend)
{
    pthread_mutex_lock(&lock);
    const entry *e = lookup(backend->name);
    const char *name = e && e->catalog_name ? e->catalog_name : backend->name;
    pthread_mutex_unlock(&lock);
    return name;
}

const char *const *mdm_backend_names(void) { return names; }

const char *mdm_backend_library_version(const char *name)
{
    const mdm_backend *b = mdm_backend_find(name);
    return b && b->library_version ? b->library_version() : "unknown";
}

int mdm_backend_stores_files(bool *files, const char *backend)
{
    *files = false;
    const mdm_backend *b = mdm_backend_find(backend);
    if (!b)
        return mdm_error_last()->code;
    *files = mdm_backend_caps(b) & MDM_BACKEND_CAP_FILE;
    return 0;
}
