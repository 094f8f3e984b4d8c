/* The shared library's module loader: libmdm_<name>.so is opened from the directory
 * libmdm.so itself was loaded from, once, on first use, and never closed (see
 * module.h). */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/module.h"

static const struct {
    const char *file;
    const char *symbol;
    const char *what;
} specs[MDM_MODULE_COUNT] = {
    [MDM_MODULE_DUCKDB] = {"libmdm_duckdb.so", "mdm_duckdb_module_entry", "DuckDB"},
    [MDM_MODULE_POSTGRES] = {"libmdm_postgres.so", "mdm_postgres_module_entry", "PostgreSQL"},
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    bool tried;
    const mdm_module *module;
    char failure[8192];
} loaded[MDM_MODULE_COUNT];

/* The directory of the object this function is in (libmdm.so), with a trailing '/';
 * "" when unknown. */
static void own_directory(char *buf, size_t size)
{
    Dl_info info;
    char real[PATH_MAX];
    buf[0] = '\0';
    if (!dladdr((void *)own_directory, &info) || !info.dli_fname)
        return;
    /* Found through an rpath, the name may read ".../bin/../lib/libmdm.so.0". */
    const char *name = realpath(info.dli_fname, real) ? real : info.dli_fname;
    const char *slash = strrchr(name, '/');
    if (slash)
        snprintf(buf, size, "%.*s/", (int)(slash - name), name);
}

static void load(mdm_module_id id)
{
    char path[4096];
    own_directory(path, sizeof path);
    size_t len = strlen(path);
    snprintf(path + len, sizeof path - len, "%s", specs[id].file);
    char *failure = loaded[id].failure;
    /* RTLD_NODELETE: never unloaded, even by a stray dlclose; the module's symbols stay
     * private to it (RTLD_LOCAL), it resolves ours through its DT_NEEDED on libmdm. */
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!handle) {
        /* dlerror() reads "<path>: <reason>", or names a library the module needs. */
        const char *why = dlerror();
        size_t plen = strlen(path);
        if (why && strncmp(why, path, plen) == 0 && strncmp(why + plen, ": ", 2) == 0)
            why += plen + 2;
        snprintf(failure, sizeof loaded[id].failure,
                 "%s support is not available: cannot load %.4000s: %.2000s (it belongs "
                 "beside libmdm)",
                 specs[id].what, path, why ? why : "unknown error");
        return;
    }
    const mdm_module *m = dlsym(handle, specs[id].symbol);
    if (!m || m->version != MDM_MODULE_VERSION || !m->backend) {
        snprintf(failure, sizeof loaded[id].failure,
                 "%s support is not available: %.4000s is not a module of this mdm (version "
                 "%d expected)",
                 specs[id].what, path, MDM_MODULE_VERSION);
        return;
    }
    loaded[id].module = m;
}

int mdm_module_get(const mdm_module **out, mdm_module_id id)
{
    /* Loading runs the engine's static initialisers; nothing there calls back into us. */
    pthread_mutex_lock(&lock);
    if (!loaded[id].tried) {
        load(id);
        loaded[id].tried = true;
    }
    *out = loaded[id].module;
    pthread_mutex_unlock(&lock);
    return *out ? 0 : mdm_error_set(MDM_ENOTSUP, "%s", loaded[id].failure);
}
