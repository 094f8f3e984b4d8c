/* The shared library's DuckDB module loader: libmdm_duckdb.so is opened from the
 * directory libmdm.so itself was loaded from, once, on first use, and never closed
 * (see duckdb_module.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "storage/duckdb_module.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const mdm_duckdb_module *module;
static char failure[8192];

/* The directory of the object this function is in (libmdm.so, or the program that
 * linked these objects), with a trailing '/'; "" when unknown. */
static void own_directory(char *buf, size_t size)
{
    Dl_info info;
    buf[0] = '\0';
    if (!dladdr((void *)own_directory, &info) || !info.dli_fname)
        return;
    const char *slash = strrchr(info.dli_fname, '/');
    if (slash)
        snprintf(buf, size, "%.*s/", (int)(slash - info.dli_fname), info.dli_fname);
}

static void load(void)
{
    char path[4096];
    own_directory(path, sizeof path);
    size_t len = strlen(path);
    snprintf(path + len, sizeof path - len, "%s", MDM_DUCKDB_MODULE_FILE);
    /* RTLD_NODELETE: never unloaded, even by a stray dlclose; the module's symbols stay
     * private to it (RTLD_LOCAL), it resolves ours through its DT_NEEDED on libmdm. */
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!handle) {
        /* dlerror() reads "<path>: <reason>", or names a library the module needs. */
        const char *why = dlerror();
        size_t plen = strlen(path);
        if (why && strncmp(why, path, plen) == 0 && strncmp(why + plen, ": ", 2) == 0)
            why += plen + 2;
        snprintf(failure, sizeof failure,
                 "DuckDB support is not available: cannot load %.4000s: %.2000s (it belongs beside "
                 "libmdm)",
                 path, why ? why : "unknown error");
        return;
    }
    const mdm_duckdb_module *m = dlsym(handle, MDM_DUCKDB_MODULE_SYMBOL);
    if (!m || m->version != MDM_DUCKDB_MODULE_VERSION || !m->backend) {
        snprintf(failure, sizeof failure,
                 "DuckDB support is not available: %.4000s is not a DuckDB module of this mdm "
                 "(version %d expected)",
                 path, MDM_DUCKDB_MODULE_VERSION);
        return;
    }
    module = m;
}

int mdm_duckdb_module_get(const mdm_duckdb_module **out)
{
    pthread_once(&once, load);
    *out = module;
    return module ? 0 : mdm_error_set(MDM_ENOTSUP, "%s", failure);
}
