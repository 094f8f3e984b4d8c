/* The module loader of libmdm.so and of the mdm binary: libmdm_<name>.so is opened from
 * beside its host (or <prefix>/lib for an installed binary), once, on first use, and
 * never closed (see module.h). */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The object this function is in (libmdm.so, or the mdm binary with the core linked in),
 * resolved ("<prefix>/bin/../lib/libmdm.so.0" when found through an rpath); "" when
 * unknown. */
static void own_file(char *buf, size_t size)
{
    Dl_info info;
    buf[0] = '\0';
    if (!dladdr((void *)own_file, &info) || !info.dli_fname)
        return;
    if (!realpath(info.dli_fname, buf))
        snprintf(buf, size, "%s", info.dli_fname);
}

/* Where module `file` is: beside its host, or in <host>/../<libdir> for a program
 * installed in <prefix>/bin. The first place when it is in neither. */
static void module_path(char *out, size_t size, const char *host, const char *file)
{
    const char *slash = strrchr(host, '/');
    int dir = slash ? (int)(slash - host) : 0;
    snprintf(out, size, "%.*s/%s", dir, host, file);
    if (access(out, F_OK) == 0)
        return;
    char lib[PATH_MAX], other[PATH_MAX];
    snprintf(lib, sizeof lib, "%.*s/../%s", dir, host, MDM_INSTALL_LIBDIR);
    if (!realpath(lib, other))
        return;
    char candidate[PATH_MAX + 64];
    snprintf(candidate, sizeof candidate, "%.*s/%s", PATH_MAX - 1, other, file);
    bool program = !strstr(host + dir, ".so"); /* then the installed place is the one */
    if (access(candidate, F_OK) == 0 || program)
        snprintf(out, size, "%s", candidate);
}

static void load(mdm_module_id id)
{
    char host[PATH_MAX], path[PATH_MAX + 64];
    own_file(host, sizeof host);
    module_path(path, sizeof path, host, specs[id].file);
    /* The module takes the public API from its host, which a program may have loaded
     * with RTLD_LOCAL (Python does): make the host's symbols global first. A program
     * with the core linked in exports them already. */
    if (!dlopen(host, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL))
        dlerror();
    char *failure = loaded[id].failure;
    /* RTLD_NODELETE: never unloaded, even by a stray dlclose; the module's symbols stay
     * private to it (RTLD_LOCAL). */
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!handle) {
        /* dlerror() reads "<path>: <reason>", or names a library the module needs. */
        const char *why = dlerror();
        size_t plen = strlen(path);
        if (why && strncmp(why, path, plen) == 0 && strncmp(why + plen, ": ", 2) == 0)
            why += plen + 2;
        snprintf(failure, sizeof loaded[id].failure,
                 "%s support is not available: cannot load %.4000s: %.2000s (it is "
                 "installed with mdm)",
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
