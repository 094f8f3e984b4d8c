/* Operation history in <home>/metrics.db (SQLite, WAL): recording, retention, cleanup.
 *
 * One connection per home per process, opened on the first note and kept; a mutex
 * serializes the threads of a process, WAL and a busy timeout the processes. After a
 * fork the child opens its own connections (the parent's are forgotten, not closed).
 * Retention (history.retention_days, history.max_rows) is applied when a connection is
 * opened and every TRIM_EVERY notes after that, so the file stays bounded. */
#include "dataset/history.h"
#include "dataset/history_db.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TRIM_EVERY 1000
#define BUSY_TIMEOUT_MS 5000

const char *const mdm_history_types[] = {
    "dataset_register", "dataset_read",     "dataset_export",  "dataset_update",
    "dataset_remove",   "dataset_stats",    "query_execution", "feature_generation",
    "error",            "storage_operation", NULL,
};

typedef struct home_db {
    struct home_db *next;
    char *path;
    sqlite3 *db;
    sqlite3_stmt *insert;
    unsigned notes;
    dev_t dev; /* the file opened: one removed or replaced since is opened again */
    ino_t ino;
} home_db;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static home_db *homes;
static pid_t owner;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void before_fork(void) { pthread_mutex_lock(&lock); }
static void after_fork(void) { pthread_mutex_unlock(&lock); }
static void install_fork_handlers(void) { pthread_atfork(before_fork, after_fork, after_fork); }

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS mdm_history("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " type TEXT NOT NULL,"
    " dataset TEXT,"
    " started_at INTEGER NOT NULL," /* microseconds since the epoch, UTC */
    " duration_ms REAL NOT NULL,"
    " rows INTEGER,"
    " bytes INTEGER,"
    " outcome TEXT NOT NULL,"
    " error TEXT,"
    " pid INTEGER);"
    "CREATE INDEX IF NOT EXISTS mdm_history_started ON mdm_history(started_at);"
    "CREATE INDEX IF NOT EXISTS mdm_history_dataset ON mdm_history(dataset, id);";

int history_db_path(char *buf, size_t size, const mdm_config *cfg)
{
    int n = snprintf(buf, size, "%s/metrics.db", mdm_config_home(cfg));
    if (n < 0 || (size_t)n >= size)
        return mdm_error_set(MDM_EINVALID, "history: home path too long");
    return 0;
}

static int sqlite_fail(sqlite3 *db, const char *what)
{
    return mdm_error_set(MDM_EBACKEND, "history: %s: %s", what,
                         db ? sqlite3_errmsg(db) : "out of memory");
}

int history_db_open(sqlite3 **out, const mdm_config *cfg, bool create)
{
    *out = NULL;
    char path[4096];
    int rc = history_db_path(path, sizeof path, cfg);
    if (rc)
        return rc;
    struct stat st;
    if (!create && stat(path, &st) != 0)
        return MDM_ENOTFOUND; /* no history yet: nothing to read */
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        rc = sqlite_fail(db, path);
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    /* Switching to WAL takes a lock the busy handler does not always wait for. */
    for (int i = 0; i < 50; i++) {
        int e = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
        if (e != SQLITE_BUSY && e != SQLITE_LOCKED)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
        rc = sqlite_fail(db, path);
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

static int run_delete(int64_t *removed, sqlite3 *db, const char *sql, int64_t value)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return sqlite_fail(db, "prepare");
    sqlite3_bind_int64(st, 1, value);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sqlite_fail(db, "delete");
    else if (removed)
        *removed += sqlite3_changes(db);
    sqlite3_finalize(st);
    return rc;
}

static int64_t now_micros(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int history_db_trim(int64_t *removed, sqlite3 *db, int64_t days, int64_t max_rows)
{
    if (removed)
        *removed = 0;
    int rc = 0;
    if (days >= 0)
        rc = run_delete(removed, db, "DELETE FROM mdm_history WHERE started_at < ?1",
                        now_micros() - days * 86400 * INT64_C(1000000));
    if (!rc && max_rows > 0)
        rc = run_delete(removed, db,
                        "DELETE FROM mdm_history WHERE id <= "
                        "(SELECT MAX(id) FROM mdm_history) - ?1",
                        max_rows);
    return rc;
}

static int retention(const mdm_config *cfg, sqlite3 *db)
{
    return history_db_trim(NULL, db, mdm_config_int(cfg, "history.retention_days"),
                           mdm_config_int(cfg, "history.max_rows"));
}

/* The process's connection to cfg's history; under `lock`. */
static int home_for(home_db **out, const mdm_config *cfg)
{
    pid_t pid = getpid();
    if (owner != pid) {
        homes = NULL; /* inherited from the parent: its connections are not ours */
        owner = pid;
    }
    char path[4096];
    int rc = history_db_path(path, sizeof path, cfg);
    if (rc)
        return rc;
    struct stat st;
    bool exists = stat(path, &st) == 0;
    for (home_db **at = &homes; *at; at = &(*at)->next) {
        home_db *h = *at;
        if (strcmp(h->path, path) != 0)
            continue;
        if (exists && st.st_dev == h->dev && st.st_ino == h->ino) {
            *out = h;
            return 0;
        }
        *at = h->next; /* the home was removed or replaced under us */
        sqlite3_finalize(h->insert);
        sqlite3_close(h->db);
        free(h->path);
        free(h);
        break;
    }
    home_db *h = calloc(1, sizeof *h);
    if (!h || !(h->path = strdup(path))) {
        free(h);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    rc = history_db_open(&h->db, cfg, true);
    if (!rc && sqlite3_prepare_v2(h->db,
                                  "INSERT INTO mdm_history(type, dataset, started_at, "
                                  "duration_ms, rows, bytes, outcome, error, pid) "
                                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                                  -1, &h->insert, NULL) != SQLITE_OK)
        rc = sqlite_fail(h->db, "prepare");
    if (!rc)
        rc = retention(cfg, h->db);
    if (!rc && stat(path, &st) == 0) {
        h->dev = st.st_dev;
        h->ino = st.st_ino;
    }
    if (rc) {
        sqlite3_finalize(h->insert);
        sqlite3_close(h->db);
        free(h->path);
        free(h);
        return rc;
    }
    h->next = homes;
    homes = h;
    *out = h;
    return 0;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static int insert(home_db *h, const mdm_config *cfg, const mdm_history_op *op)
{
    sqlite3_stmt *st = h->insert;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, op->type, -1, SQLITE_STATIC);
    bind_text_or_null(st, 2, op->dataset);
    sqlite3_bind_int64(st, 3, op->started_at ? op->started_at : now_micros());
    sqlite3_bind_double(st, 4, op->duration_ms);
    if (op->rows >= 0)
        sqlite3_bind_int64(st, 5, op->rows);
    else
        sqlite3_bind_null(st, 5);
    if (op->bytes >= 0)
        sqlite3_bind_int64(st, 6, op->bytes);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_text(st, 7, op->ok ? "ok" : "error", -1, SQLITE_STATIC);
    bind_text_or_null(st, 8, op->ok ? NULL : (op->error ? op->error : ""));
    sqlite3_bind_int64(st, 9, (int64_t)getpid());
    int e = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (e != SQLITE_DONE)
        return sqlite_fail(h->db, "insert");
    if (++h->notes % TRIM_EVERY == 0)
        return retention(cfg, h->db);
    return 0;
}

int mdm_history_record(const mdm_config *cfg, const mdm_history_op *op)
{
    if (!cfg || !op || !op->type)
        return mdm_error_set(MDM_EINVALID, "history: an operation needs a type");
    if (!mdm_config_bool(cfg, "history.enabled"))
        return 0;
    pthread_once(&fork_once, install_fork_handlers);
    pthread_mutex_lock(&lock);
    home_db *h = NULL;
    int rc = home_for(&h, cfg);
    if (!rc)
        rc = insert(h, cfg, op);
    pthread_mutex_unlock(&lock);
    return rc;
}

int mdm_history_cleanup(int64_t *removed, const mdm_config *cfg, int64_t days)
{
    if (removed)
        *removed = 0;
    if (days < 0)
        return mdm_error_set(MDM_EINVALID, "history cleanup: days must be 0 or more");
    sqlite3 *db = NULL;
    int rc = history_db_open(&db, cfg, false);
    if (rc == MDM_ENOTFOUND)
        return 0;
    if (!rc)
        rc = history_db_trim(removed, db, days, 0);
    sqlite3_close(db);
    return rc;
}

/* ------------------------------------------------------------------ notes */

int64_t history_start(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void history_note(const mdm_config *cfg, const char *type, const char *dataset, int64_t t0,
                  int64_t rows, int64_t bytes, int rc)
{
    if (!cfg || !mdm_config_bool(cfg, "history.enabled"))
        return;
    mdm_error saved = *mdm_error_last();
    double ms = (double)(history_start() - t0) / 1e6;
    char norm[512];
    if (dataset && mdm_dataset_name_normalize(norm, sizeof norm, dataset) == 0)
        dataset = norm; /* "Titanic" and "titanic" are one dataset */
    mdm_history_op op = {.type = type, .dataset = dataset,
                         .started_at = now_micros() - (int64_t)(ms * 1000),
                         .duration_ms = ms, .rows = rows, .bytes = bytes, .ok = rc == 0,
                         .error = rc ? saved.message : NULL};
    if (rc && !saved.message[0])
        op.error = mdm_error_name(rc);
    if (mdm_history_record(cfg, &op) != 0)
        MDM_WARN("operation not recorded in the history: %s", mdm_error_last()->message);
    /* The operation's own error is what the caller reads next. */
    if (saved.code)
        mdm_error_set(saved.code, "%s", saved.message);
    else
        mdm_error_clear();
}

int64_t history_files_bytes(char *const *paths, size_t npaths)
{
    int64_t total = 0;
    struct stat st;
    for (size_t i = 0; paths && i < npaths; i++)
        if (stat(paths[i], &st) == 0)
            total += (int64_t)st.st_size;
    return total;
}
