/* The process-wide registry of open DuckDB databases.
 *
 * DuckDB's own rule is one database instance per file per process: two instances on
 * one file would each cache and write it without knowing of the other. So every
 * connection to a file shares one duckdb_database, found here by the file's
 * realpath-normalized path and reference counted; the last connection to go closes it.
 * This registry is the only process state of the DuckDB backend. Its lock is never
 * held while DuckDB opens or closes a file: an entry being opened or closed is marked,
 * and whoever wants that file waits for the mark to clear.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/strbuf.h"
#include "storage/backends/duckdb_internal.h"

typedef enum db_state { DB_OPENING, DB_OPEN, DB_CLOSING } db_state;

struct mdm_duckdb_db {
    char *key;              /* normalized path, or ":memory:" */
    char *settings;         /* the settings it was opened with, for messages */
    bool read_only;
    duckdb_database handle;
    int refs;
    db_state state;
    pid_t pid;              /* the process that opened it */
    mdm_duckdb_db *next;
};

/* database.duckdb.threads, with 0 meaning one per CPU core (DuckDB's own default). A
 * fixed 4 oversubscribes a small machine, where every open database file has a pool of
 * engine threads of its own, and leaves a big one idle. */
static long long configured_threads(const mdm_config *cfg)
{
    long long n = (long long)mdm_config_int(cfg, "database.duckdb.threads");
    if (n > 0)
        return n;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? cores : 1;
}

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t registry_changed = PTHREAD_COND_INITIALIZER;
static mdm_duckdb_db *registry;
static pthread_once_t fork_handlers_once = PTHREAD_ONCE_INIT;

/* Fork, the idiom mdm uses everywhere (pools, the log file): the lock is held across
 * fork(), so that the child never inherits it locked, and every database is stamped
 * with the pid of the process that opened it. The child forgets the parent's databases
 * (their engine threads do not exist in it); the entries are left allocated on purpose,
 * and a release of one the child still holds sees another pid and touches nothing. */
static void before_fork(void) { pthread_mutex_lock(&registry_lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&registry_lock); }
static void after_fork_child(void)
{
    registry = NULL;
    pthread_mutex_unlock(&registry_lock);
}

static void install_fork_handlers(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

duckdb_database mdm_duckdb_db_handle(const mdm_duckdb_db *db) { return db->handle; }
bool mdm_duckdb_db_read_only(const mdm_duckdb_db *db) { return db->read_only; }

static bool is_memory_path(const char *path)
{
    return !path || !*path || strcmp(path, ":memory:") == 0;
}

/* The registry key of a path: its realpath, or, when the file does not exist yet, the
 * realpath of its directory joined with the file name. */
static int normalize_path(char **out, const char *path)
{
    *out = NULL;
    if (is_memory_path(path)) {
        *out = strdup(":memory:");
        return *out ? 0 : mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    char resolved[PATH_MAX];
    if (realpath(path, resolved)) {
        *out = strdup(resolved);
        return *out ? 0 : mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    if (errno != ENOENT)
        return mdm_error_set(MDM_EIO, "cannot resolve DuckDB file path '%s': %s", path,
                             strerror(errno));
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base)
        return mdm_error_set(MDM_EINVALID, "DuckDB file path '%s' names a directory", path);
    char dir[PATH_MAX];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) >= sizeof dir)
        return mdm_error_set(MDM_EINVALID, "DuckDB file path '%.100s...' is too long", path);
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (!realpath(dir, resolved))
        return mdm_error_set(MDM_EIO, "directory '%s' of DuckDB file '%s' is not usable: %s", dir,
                             path, strerror(errno));
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "%s%s%s", resolved, strcmp(resolved, "/") == 0 ? "" : "/", base);
    *out = strbuf_detach(&sb);
    return *out ? 0 : MDM_ENOMEM;
}

/* The settings a config asks for, in the form kept for messages. */
static char *describe_settings(const mdm_config *cfg)
{
    strbuf sb = STRBUF_INIT;
    if (cfg) {
        const char *mem = mdm_config_str(cfg, "database.duckdb.memory_limit");
        const char *tmp = mdm_config_str(cfg, "database.duckdb.temp_directory");
        strbuf_appendf(&sb, "threads=%lld memory_limit=%s temp_directory=%s access_mode=%s",
                       (long long)configured_threads(cfg),
                       mem ? mem : "(default)", tmp ? tmp : "(default)",
                       mdm_config_str(cfg, "database.duckdb.access_mode"));
    } else {
        strbuf_append(&sb, "DuckDB defaults");
    }
    return strbuf_detach(&sb);
}

static bool wants_read_only(const mdm_config *cfg)
{
    return cfg && strcmp(mdm_config_str(cfg, "database.duckdb.access_mode"), "READ_ONLY") == 0;
}

static int set_option(duckdb_config config, const char *option, const char *value,
                      const char *key)
{
    if (duckdb_set_config(config, option, value) == DuckDBSuccess)
        return 0;
    return mdm_error_set(MDM_ECONFIG, "DuckDB rejected %s = '%s' (its option '%s')",
                         key ? key : option, value, option);
}

/* Opens the database of entry `db` (its key and read_only are set). */
static int open_database(mdm_duckdb_db *db, const char *path, const mdm_config *cfg)
{
    duckdb_config config = NULL;
    char *engine_error = NULL;
    int rc = 0;
    bool memory = strcmp(db->key, ":memory:") == 0;
    if (db->read_only && !memory) {
        struct stat st;
        if (stat(db->key, &st) != 0)
            return mdm_error_set(MDM_ENOTFOUND,
                                 "DuckDB file '%s' does not exist, and access_mode READ_ONLY "
                                 "does not create it",
                                 path);
    }
    if (duckdb_create_config(&config) != DuckDBSuccess)
        return mdm_error_set(MDM_ENOMEM, "out of memory creating a DuckDB configuration");
    if (cfg) {
        char threads[32];
        snprintf(threads, sizeof threads, "%lld", (long long)configured_threads(cfg));
        const char *mem = mdm_config_str(cfg, "database.duckdb.memory_limit");
        const char *tmp = mdm_config_str(cfg, "database.duckdb.temp_directory");
        if ((rc = set_option(config, "threads", threads, "database.duckdb.threads")))
            goto cleanup;
        if (mem && (rc = set_option(config, "memory_limit", mem, "database.duckdb.memory_limit")))
            goto cleanup;
        if (tmp &&
            (rc = set_option(config, "temp_directory", tmp, "database.duckdb.temp_directory")))
            goto cleanup;
        if ((rc = set_option(config, "access_mode",
                             mdm_config_str(cfg, "database.duckdb.access_mode"),
                             "database.duckdb.access_mode")))
            goto cleanup;
    }
    if (duckdb_open_ext(memory ? NULL : db->key, &db->handle, config, &engine_error) !=
        DuckDBSuccess) {
        const char *msg = engine_error ? engine_error : "unknown error";
        int code = mdm_duckdb_classify(msg, strncmp(msg, "IO Error", 8) == 0 ? MDM_EIO
                                                                              : MDM_EBACKEND);
        rc = mdm_duckdb_fail(code, msg, "cannot open DuckDB database '%s'", path ? path : db->key);
        db->handle = NULL;
    }
cleanup:
    if (engine_error)
        duckdb_free(engine_error);
    duckdb_destroy_config(&config);
    return rc;
}

static mdm_duckdb_db *find_entry(const char *key)
{
    for (mdm_duckdb_db *e = registry; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static void unlink_entry(mdm_duckdb_db *db)
{
    for (mdm_duckdb_db **p = &registry; *p; p = &(*p)->next)
        if (*p == db) {
            *p = db->next;
            return;
        }
}

static void free_entry(mdm_duckdb_db *db)
{
    if (!db)
        return;
    free(db->key);
    free(db->settings);
    free(db);
}

int mdm_duckdb_db_acquire(mdm_duckdb_db **out, const char *path, const mdm_config *cfg)
{
    *out = NULL;
    pthread_once(&fork_handlers_once, install_fork_handlers);
    char *key = NULL, *settings = NULL;
    int rc = normalize_path(&key, path);
    if (rc)
        return rc;
    if (!(settings = describe_settings(cfg))) {
        free(key);
        return MDM_ENOMEM;
    }
    bool read_only = wants_read_only(cfg);
    char *differs = NULL; /* settings of an open instance that differ from ours */
    mdm_duckdb_db *db = NULL;

    pthread_mutex_lock(&registry_lock);
    for (;;) {
        db = find_entry(key);
        if (!db)
            break;
        if (db->state != DB_OPEN) {
            pthread_cond_wait(&registry_changed, &registry_lock);
            continue;
        }
        if (db->read_only != read_only) {
            rc = mdm_error_set(MDM_EBUSY,
                               "DuckDB file '%s' is already open in this process with "
                               "access_mode %s; it cannot also be opened %s (one database "
                               "instance per file per process)",
                               key, db->read_only ? "READ_ONLY" : "READ_WRITE",
                               read_only ? "READ_ONLY" : "READ_WRITE");
            pthread_mutex_unlock(&registry_lock);
            goto cleanup;
        }
        if (strcmp(db->settings, settings) != 0)
            differs = strdup(db->settings);
        db->refs++;
        pthread_mutex_unlock(&registry_lock);
        if (differs)
            MDM_WARN("DuckDB file '%s' is already open in this process with %s; keeping those "
                     "instead of %s (one database instance per file per process)",
                     key, differs, settings);
        *out = db;
        goto cleanup;
    }
    db = calloc(1, sizeof *db);
    if (!db) {
        pthread_mutex_unlock(&registry_lock);
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
        goto cleanup;
    }
    db->key = key;
    db->settings = settings;
    key = settings = NULL;
    db->read_only = read_only;
    db->refs = 1;
    db->state = DB_OPENING;
    db->pid = getpid();
    db->next = registry;
    registry = db;
    pthread_mutex_unlock(&registry_lock);

    rc = open_database(db, path, cfg);

    pthread_mutex_lock(&registry_lock);
    if (rc)
        unlink_entry(db);
    else
        db->state = DB_OPEN;
    pthread_cond_broadcast(&registry_changed);
    pthread_mutex_unlock(&registry_lock);
    if (rc)
        free_entry(db);
    else
        *out = db;
cleanup:
    free(key);
    free(settings);
    free(differs);
    return rc;
}

void mdm_duckdb_db_release(mdm_duckdb_db *db)
{
    if (!db || db->pid != getpid())
        return;
    pthread_mutex_lock(&registry_lock);
    bool last = --db->refs == 0;
    if (last)
        db->state = DB_CLOSING;
    pthread_mutex_unlock(&registry_lock);
    if (!last)
        return;
    duckdb_close(&db->handle);
    pthread_mutex_lock(&registry_lock);
    unlink_entry(db);
    pthread_cond_broadcast(&registry_changed);
    pthread_mutex_unlock(&registry_lock);
    free_entry(db);
}
