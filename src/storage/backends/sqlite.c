/* The SQLite backend: one database file per dataset, one sqlite3 handle per connection
 * (opened SQLITE_OPEN_NOMUTEX: the pool gives a connection to one thread at a time).
 * This file: connection lifecycle, transactions, datasets, tables and metadata. The
 * bulk path is in sqlite_append.c, reading and executing in sqlite_read.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/strbuf.h"
#include "storage/backends/sqlite_internal.h"

/* ------------------------------------------------------------------ errors, helpers */

static int map_code(int sqlite_rc)
{
    switch (sqlite_rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return MDM_EBUSY;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL: return MDM_EIO;
    case SQLITE_NOMEM: return MDM_ENOMEM;
    case SQLITE_TOOBIG: return MDM_ECONSTRAINT;
    default: return MDM_EBACKEND;
    }
}

int mdm_sqlite_fail(mdm_backend_conn *c, int sqlite_rc, const char *what)
{
    const char *msg = c && c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(sqlite_rc);
    return mdm_error_set(map_code(sqlite_rc), "SQLite: %s: %s (%s)", what, msg,
                         c && c->path ? c->path : "?");
}

int mdm_sqlite_failf(mdm_backend_conn *c, int sqlite_rc, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return mdm_sqlite_fail(c, sqlite_rc, what);
}

void mdm_sqlite_echo(const mdm_backend_conn *c, const char *sql)
{
    if (c->echo)
        MDM_DEBUG("sqlite %s: %s", c->path, sql);
}

int mdm_sqlite_prepare(mdm_backend_conn *c, sqlite3_stmt **out, const char *sql)
{
    mdm_sqlite_echo(c, sql);
    int rc = sqlite3_prepare_v2(c->db, sql, -1, out, NULL);
    if (rc != SQLITE_OK) {
        *out = NULL;
        return mdm_sqlite_failf(c, rc, "cannot prepare '%.200s'", sql);
    }
    return 0;
}

int mdm_sqlite_exec(mdm_backend_conn *c, const char *sql, const char *what)
{
    mdm_sqlite_echo(c, sql);
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : mdm_sqlite_fail(c, rc, what);
}

/* Runs an undo statement on an error path: its own failure must not replace the error
 * that is being reported. */
static void exec_quietly(mdm_backend_conn *c, const char *sql)
{
    mdm_sqlite_echo(c, sql);
    sqlite3_exec(c->db, sql, NULL, NULL, NULL);
}

int mdm_sqlite_atomic_begin(mdm_backend_conn *c, bool *own_transaction, const char *what)
{
    *own_transaction = sqlite3_get_autocommit(c->db) != 0;
    /* IMMEDIATE takes the write lock up front (waiting through the busy timeout):
     * a deferred transaction that reads first cannot wait for the lock later and
     * fails at once with SQLITE_BUSY. */
    return mdm_sqlite_exec(c, *own_transaction ? "BEGIN IMMEDIATE" : "SAVEPOINT mdm_atomic",
                           what);
}

int mdm_sqlite_atomic_end(mdm_backend_conn *c, bool own_transaction, int rc)
{
    if (own_transaction) {
        if (rc == 0 && (rc = mdm_sqlite_exec(c, "COMMIT", "cannot commit")) == 0)
            return 0;
        /* An I/O error may have rolled the transaction back already. */
        if (!sqlite3_get_autocommit(c->db))
            exec_quietly(c, "ROLLBACK");
        return rc;
    }
    if (rc == 0)
        return mdm_sqlite_exec(c, "RELEASE mdm_atomic", "cannot release a savepoint");
    if (!sqlite3_get_autocommit(c->db)) {
        exec_quietly(c, "ROLLBACK TO mdm_atomic");
        exec_quietly(c, "RELEASE mdm_atomic");
    }
    return rc;
}

int mdm_sqlite_schema_version(mdm_backend_conn *c, int *version)
{
    static const char sql[] = "PRAGMA schema_version";
    mdm_sqlite_echo(c, sql);
    int src = SQLITE_OK;
    if (!c->schema_version &&
        (src = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->schema_version,
                                  NULL)) != SQLITE_OK)
        return mdm_sqlite_fail(c, src, "cannot read the schema version");
    int rc = 0;
    src = sqlite3_step(c->schema_version);
    if (src == SQLITE_ROW)
        *version = sqlite3_column_int(c->schema_version, 0);
    else
        rc = mdm_sqlite_fail(c, src, "cannot read the schema version");
    sqlite3_reset(c->schema_version);
    return rc;
}

/* ------------------------------------------------------------------ connection */

static const char *library_version(void) { return sqlite3_libversion(); }

/* The config's enum value, checked against what the pragma accepts: an unknown word
 * would be ignored by SQLite without a word, and it is pasted into SQL. */
static int config_word(const char **out, const mdm_config *cfg, const char *key,
                       const char *const *allowed)
{
    *out = NULL;
    const char *v = mdm_config_str(cfg, key);
    for (size_t i = 0; v && allowed[i]; i++)
        if (strcasecmp(v, allowed[i]) == 0) {
            *out = allowed[i];
            return 0;
        }
    return mdm_error_set(MDM_ECONFIG, "%s = '%s' is not a value SQLite accepts", key,
                         v ? v : "null");
}

static int apply_config(mdm_backend_conn *c, const mdm_config *cfg)
{
    static const char *const journal_modes[] = {"DELETE", "TRUNCATE", "PERSIST", "MEMORY",
                                                "WAL", "OFF", NULL};
    static const char *const synchronous[] = {"OFF", "NORMAL", "FULL", "EXTRA", NULL};
    static const char *const temp_store[] = {"DEFAULT", "FILE", "MEMORY", NULL};
    const char *journal, *sync, *temp;
    int rc;
    if ((rc = config_word(&journal, cfg, "database.sqlite.journal_mode", journal_modes)) ||
        (rc = config_word(&sync, cfg, "database.sqlite.synchronous", synchronous)) ||
        (rc = config_word(&temp, cfg, "database.sqlite.temp_store", temp_store)))
        return rc;
    c->echo = mdm_config_bool(cfg, "database.sqlalchemy.echo");
    int64_t timeout_s = mdm_config_int(cfg, "database.connection_timeout");
    if (timeout_s < 0 || timeout_s > 86400)
        timeout_s = 86400;
    /* Before the first pragma: switching the journal mode may wait for other
     * connections of the same file. */
    sqlite3_busy_timeout(c->db, (int)(timeout_s * 1000));

    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "PRAGMA journal_mode=%s", journal);
    const char *sql = strbuf_cstr(&sb);
    if (!sql)
        return MDM_ENOMEM;
    sqlite3_stmt *st = NULL;
    if ((rc = mdm_sqlite_prepare(c, &st, sql)))
        goto cleanup;
    int src = sqlite3_step(st);
    if (src != SQLITE_ROW) {
        rc = mdm_sqlite_failf(c, src, "cannot set journal_mode=%s", journal);
        goto cleanup;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    if (mode && strcasecmp(mode, journal) != 0)
        MDM_WARN("sqlite %s: journal_mode %s was not applied (the file stays in %s)", c->path,
                 journal, mode);

    strbuf_reset(&sb);
    strbuf_appendf(&sb,
                   "PRAGMA synchronous=%s; PRAGMA cache_size=%lld; PRAGMA temp_store=%s; "
                   "PRAGMA mmap_size=%lld; PRAGMA busy_timeout=%lld",
                   sync, (long long)mdm_config_int(cfg, "database.sqlite.cache_size"), temp,
                   (long long)mdm_config_int(cfg, "database.sqlite.mmap_size"),
                   (long long)timeout_s * 1000);
    if (!(c->session_pragmas = strbuf_detach(&sb))) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    rc = mdm_sqlite_exec(c, c->session_pragmas, "cannot apply the configured pragmas");
cleanup:
    sqlite3_finalize(st);
    strbuf_free(&sb);
    return rc;
}

static void close_conn(mdm_backend_conn *c)
{
    if (!c)
        return;
    mdm_sqlite_insert_cache_clear(&c->insert);
    sqlite3_finalize(c->schema_version);
    /* close_v2 also copes with a statement someone left unfinalized. */
    sqlite3_close_v2(c->db);
    free(c->session_pragmas);
    free(c->path);
    free(c);
}

static int open_conn(mdm_backend_conn **out, const mdm_target *target, const mdm_config *cfg)
{
    *out = NULL;
    if (!target || !target->path || !*target->path)
        return mdm_error_set(MDM_EINVALID, "the SQLite backend needs a database file path");
    mdm_backend_conn *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(target->path))) {
        free(c);
        return mdm_error_set(MDM_ENOMEM, "out of memory opening '%s'", target->path);
    }
    int rc = 0;
    /* This SQLite build accepts URI filenames: a relative "file:..." path must stay a
     * path. */
    char *name = NULL;
    if (c->path[0] != '/' && strncmp(c->path, "file:", 5) == 0) {
        strbuf sb = STRBUF_INIT;
        strbuf_appendf(&sb, "./%s", c->path);
        if (!(name = strbuf_detach(&sb))) {
            rc = MDM_ENOMEM;
            goto cleanup;
        }
    }
    int src = sqlite3_open_v2(name ? name : c->path, &c->db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                              NULL);
    if (src != SQLITE_OK) {
        rc = mdm_error_set(map_code(src) == MDM_EBACKEND ? MDM_EIO : map_code(src),
                           "SQLite: cannot open database '%s': %s", c->path,
                           c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(src));
        goto cleanup;
    }
    if ((rc = apply_config(c, cfg)))
        goto cleanup;
    struct stat st;
    if (stat(c->path, &st) == 0) {
        c->file_dev = st.st_dev;
        c->file_ino = st.st_ino;
    }
    *out = c;
    c = NULL;
cleanup:
    free(name);
    close_conn(c);
    return rc;
}

static int ping(mdm_backend_conn *c)
{
    /* A dataset removed (or replaced) under an open connection would otherwise keep
     * taking writes into a file nobody can see. */
    struct stat st;
    if (stat(c->path, &st) != 0 || st.st_dev != c->file_dev || st.st_ino != c->file_ino)
        return mdm_error_set(MDM_ECONNECT, "SQLite: database file '%s' was removed or replaced",
                             c->path);
    int version;
    return mdm_sqlite_schema_version(c, &version);
}

static int reset(mdm_backend_conn *c)
{
    /* A statement left running (a sink that bailed out) would keep locks. */
    for (sqlite3_stmt *s = sqlite3_next_stmt(c->db, NULL); s; s = sqlite3_next_stmt(c->db, s))
        if (sqlite3_stmt_busy(s))
            sqlite3_reset(s);
    int rc = 0;
    if (!sqlite3_get_autocommit(c->db) && (rc = mdm_sqlite_exec(c, "ROLLBACK", "cannot roll back")))
        return rc;
    return mdm_sqlite_exec(c, c->session_pragmas, "cannot restore the session pragmas");
}

static int begin(mdm_backend_conn *c)
{
    /* IMMEDIATE: mdm opens transactions to write (see mdm_sqlite_atomic_begin). */
    return mdm_sqlite_exec(c, "BEGIN IMMEDIATE", "cannot begin a transaction");
}

static int commit(mdm_backend_conn *c)
{
    return mdm_sqlite_exec(c, "COMMIT", "cannot commit");
}

static int rollback(mdm_backend_conn *c)
{
    if (sqlite3_get_autocommit(c->db))
        return 0; /* nothing open: SQLite may have rolled back after an I/O error */
    return mdm_sqlite_exec(c, "ROLLBACK", "cannot roll back");
}

/* ------------------------------------------------------------------ datasets */

/* Steps a statement expected to produce at most one row; *found tells whether it did. */
static int step_once(mdm_backend_conn *c, sqlite3_stmt *st, bool *found, const char *what)
{
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW || src == SQLITE_DONE) {
        *found = src == SQLITE_ROW;
        return 0;
    }
    return mdm_sqlite_fail(c, src, what);
}

static int object_exists(mdm_backend_conn *c, const char *sql, const char *name, bool *exists,
                         const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc = mdm_sqlite_prepare(c, &st, sql);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = step_once(c, st, exists, what);
    sqlite3_finalize(st);
    return rc;
}

static int dataset_create(mdm_backend_conn *c, const char *dataset)
{
    return mdm_sqlite_exec(c,
                           "CREATE TABLE IF NOT EXISTS \"_metadata\" "
                           "(key TEXT PRIMARY KEY, value TEXT)",
                           "cannot create the _metadata table");
}

static int dataset_exists(mdm_backend_conn *c, const char *dataset, bool *exists)
{
    *exists = false;
    return object_exists(c, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                         "_metadata", exists, "cannot look for the _metadata table");
}

/* Every table and view of the file, views first (they depend on tables). */
static int list_objects(mdm_backend_conn *c, strbuf *drops)
{
    sqlite3_stmt *st = NULL;
    int rc = mdm_sqlite_prepare(c, &st,
                                "SELECT type, name FROM sqlite_schema "
                                "WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' "
                                "ESCAPE '\\' ORDER BY type = 'table', name");
    if (rc)
        return rc;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        strbuf_append(drops, strcmp(type, "view") == 0 ? "DROP VIEW " : "DROP TABLE ");
        strbuf_append_ident(drops, name);
        strbuf_append(drops, ";\n");
    }
    if (src != SQLITE_DONE)
        rc = mdm_sqlite_fail(c, src, "cannot list the tables to drop");
    sqlite3_finalize(st);
    return rc;
}

static int dataset_drop(mdm_backend_conn *c, const char *dataset)
{
    bool own;
    int rc = mdm_sqlite_atomic_begin(c, &own, "cannot drop the dataset");
    if (rc)
        return rc;
    strbuf drops = STRBUF_INIT;
    if ((rc = list_objects(c, &drops)))
        goto cleanup;
    const char *sql = strbuf_cstr(&drops);
    if (!sql) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    mdm_sqlite_insert_cache_clear(&c->insert);
    if (*sql)
        rc = mdm_sqlite_exec(c, sql, "cannot drop the dataset's tables");
cleanup:
    strbuf_free(&drops);
    return mdm_sqlite_atomic_end(c, own, rc);
}

/* ------------------------------------------------------------------ tables */

static const char *declared_type(mdm_type type)
{
    switch (type) {
    case MDM_TYPE_INT64: return "INTEGER";
    case MDM_TYPE_FLOAT64: return "REAL";
    case MDM_TYPE_BOOL: return "BOOLEAN";
    case MDM_TYPE_TEXT: return "TEXT";
    case MDM_TYPE_DATE: return "DATE";
    case MDM_TYPE_TIMESTAMP: return "TIMESTAMP";
    }
    return "TEXT";
}

bool mdm_sqlite_decltype(mdm_type *out, const char *decl)
{
    if (!decl)
        return false;
    while (*decl == ' ')
        decl++;
    if (strcasecmp(decl, "BOOLEAN") == 0 || strcasecmp(decl, "BOOL") == 0)
        *out = MDM_TYPE_BOOL;
    else if (strcasecmp(decl, "DATE") == 0)
        *out = MDM_TYPE_DATE;
    else if (strncasecmp(decl, "TIMESTAMP", 9) == 0 || strcasecmp(decl, "DATETIME") == 0)
        *out = MDM_TYPE_TIMESTAMP;
    /* Then SQLite's own affinity rules (https://sqlite.org/datatype3.html, 3.1). */
    else if (strcasestr(decl, "INT"))
        *out = MDM_TYPE_INT64;
    else if (strcasestr(decl, "CHAR") || strcasestr(decl, "CLOB") || strcasestr(decl, "TEXT"))
        *out = MDM_TYPE_TEXT;
    else if (strcasestr(decl, "REAL") || strcasestr(decl, "FLOA") || strcasestr(decl, "DOUB"))
        *out = MDM_TYPE_FLOAT64;
    else
        return false;
    return true;
}

static int table_exists(mdm_backend_conn *c, const char *table, bool *exists)
{
    *exists = false;
    /* SQLite matches table names without regard to ASCII case. */
    return object_exists(c,
                         "SELECT 1 FROM sqlite_schema WHERE type = 'table' "
                         "AND name = ?1 COLLATE NOCASE",
                         table, exists, "cannot look for a table");
}

static int table_create(mdm_backend_conn *c, const char *table, const mdm_field *fields,
                        size_t nfields)
{
    int limit = sqlite3_limit(c->db, SQLITE_LIMIT_COLUMN, -1);
    if (nfields > (size_t)limit)
        return mdm_error_set(MDM_ECONSTRAINT,
                             "SQLite allows at most %d columns per table; table '%s' has %zu "
                             "(use --backend duckdb)",
                             limit, table, nfields);
    /* Any schema object blocks the name (an index or a view too). */
    bool taken = false;
    int rc = object_exists(c, "SELECT 1 FROM sqlite_schema WHERE name = ?1 COLLATE NOCASE", table,
                           &taken, "cannot look for a table");
    if (rc)
        return rc;
    if (taken)
        return mdm_error_set(MDM_EEXISTS, "table '%s' already exists in %s", table, c->path);
    for (size_t i = 0; i < nfields; i++)
        for (size_t j = 0; j < i; j++)
            if (sqlite3_stricmp(fields[i].name, fields[j].name) == 0)
                return mdm_error_set(MDM_EINVALID,
                                     "table '%s' would have two columns named '%s' (SQLite "
                                     "ignores ASCII case in names)",
                                     table, fields[i].name);
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "CREATE TABLE ");
    strbuf_append_ident(&sql, table);
    strbuf_append(&sql, " (");
    strbuf_append_column_defs(&sql, fields, nfields, declared_type);
    strbuf_append_char(&sql, ')');
    const char *text = strbuf_cstr(&sql);
    if (!text)
        rc = MDM_ENOMEM;
    else {
        char what[200];
        snprintf(what, sizeof what, "cannot create table '%.100s'", table);
        rc = mdm_sqlite_exec(c, text, what);
    }
    strbuf_free(&sql);
    return rc;
}

static int table_drop(mdm_backend_conn *c, const char *table)
{
    bool exists = false;
    int rc = table_exists(c, table, &exists);
    if (rc)
        return rc;
    if (!exists)
        return mdm_error_set(MDM_ENOTFOUND, "table '%s' does not exist in %s", table, c->path);
    if (c->insert.table && sqlite3_stricmp(c->insert.table, table) == 0)
        mdm_sqlite_insert_cache_clear(&c->insert);
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "DROP TABLE ");
    strbuf_append_ident(&sql, table);
    const char *text = strbuf_cstr(&sql);
    if (!text)
        rc = MDM_ENOMEM;
    else {
        char what[200];
        snprintf(what, sizeof what, "cannot drop table '%.100s'", table);
        rc = mdm_sqlite_exec(c, text, what);
    }
    strbuf_free(&sql);
    return rc;
}

static int table_list(mdm_backend_conn *c, char ***names, size_t *count)
{
    *names = NULL;
    *count = 0;
    sqlite3_stmt *st = NULL;
    /* ORDER BY with the BINARY collation is byte order, as strcmp sorts. */
    int rc = mdm_sqlite_prepare(c, &st,
                                "SELECT name FROM sqlite_schema WHERE type = 'table' "
                                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
    if (rc)
        return rc;
    char **list = NULL;
    size_t n = 0, cap = 0;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **grown = realloc(list, ncap * sizeof *grown);
            if (!grown) {
                rc = mdm_error_set(MDM_ENOMEM, "out of memory listing tables");
                goto cleanup;
            }
            list = grown;
            cap = ncap;
        }
        if (!name || !(list[n] = strdup(name))) {
            rc = mdm_error_set(MDM_ENOMEM, "out of memory listing tables");
            goto cleanup;
        }
        n++;
    }
    if (src != SQLITE_DONE) {
        rc = mdm_sqlite_fail(c, src, "cannot list tables");
        goto cleanup;
    }
    *names = list;
    *count = n;
    list = NULL;
    n = 0;
cleanup:
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
    sqlite3_finalize(st);
    return rc;
}

int mdm_sqlite_table_schema(mdm_backend_conn *c, const char *table, mdm_field **fields,
                            size_t *nfields)
{
    *fields = NULL;
    *nfields = 0;
    sqlite3_stmt *st = NULL;
    int rc = mdm_sqlite_prepare(c, &st,
                                "SELECT name, type FROM pragma_table_info(?1) ORDER BY cid");
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    mdm_field *list = NULL;
    size_t n = 0, cap = 0;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            mdm_field *grown = realloc(list, ncap * sizeof *grown);
            if (!grown) {
                rc = mdm_error_set(MDM_ENOMEM, "out of memory reading a table's schema");
                goto cleanup;
            }
            list = grown;
            cap = ncap;
        }
        mdm_type type;
        /* Columns that do not say (no type, BLOB) hold anything: text keeps it all;
         * NUMERIC and DECIMAL hold numbers. */
        const char *decl = (const char *)sqlite3_column_text(st, 1);
        if (!mdm_sqlite_decltype(&type, decl))
            type = decl && (strcasestr(decl, "NUM") || strcasestr(decl, "DEC")) ? MDM_TYPE_FLOAT64
                                                                                : MDM_TYPE_TEXT;
        list[n].type = type;
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (!name || !(list[n].name = strdup(name))) {
            rc = mdm_error_set(MDM_ENOMEM, "out of memory reading a table's schema");
            goto cleanup;
        }
        n++;
    }
    if (src != SQLITE_DONE) {
        rc = mdm_sqlite_failf(c, src, "cannot read the columns of table '%.100s'", table);
        goto cleanup;
    }
    if (n == 0) {
        rc = mdm_error_set(MDM_ENOTFOUND, "table '%s' does not exist in %s", table, c->path);
        goto cleanup;
    }
    *fields = list;
    *nfields = n;
    list = NULL;
    n = 0;
cleanup:
    mdm_fields_free(list, n);
    sqlite3_finalize(st);
    return rc;
}

/* ------------------------------------------------------------------ metadata */

/* Prepares a statement on _metadata; a file without that table has no dataset. */
static int prepare_metadata(mdm_backend_conn *c, sqlite3_stmt **st, const char *sql)
{
    bool exists = false;
    int rc = dataset_exists(c, NULL, &exists);
    if (rc)
        return rc;
    if (!exists)
        return mdm_error_set(MDM_ENOTFOUND, "%s has no _metadata table (the dataset was not "
                             "created)", c->path);
    return mdm_sqlite_prepare(c, st, sql);
}

static int metadata_get(mdm_backend_conn *c, const char *key, char **value)
{
    *value = NULL;
    if (!key)
        return mdm_error_set(MDM_EINVALID, "metadata key is NULL");
    sqlite3_stmt *st = NULL;
    int rc = prepare_metadata(c, &st, "SELECT value FROM \"_metadata\" WHERE key = ?1");
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    bool found = false;
    if ((rc = step_once(c, st, &found, "cannot read metadata")))
        goto cleanup;
    if (!found || sqlite3_column_type(st, 0) == SQLITE_NULL) {
        rc = mdm_error_set(MDM_ENOTFOUND, "metadata key '%s' is not set in %s", key, c->path);
        goto cleanup;
    }
    const char *text = (const char *)sqlite3_column_text(st, 0);
    int len = sqlite3_column_bytes(st, 0);
    if (!text || !(*value = malloc((size_t)len + 1))) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory reading metadata key '%s'", key);
        goto cleanup;
    }
    memcpy(*value, text, (size_t)len);
    (*value)[len] = '\0';
cleanup:
    sqlite3_finalize(st);
    return rc;
}

static int metadata_set(mdm_backend_conn *c, const char *key, const char *value)
{
    if (!key || !value)
        return mdm_error_set(MDM_EINVALID, "metadata key and value must not be NULL");
    sqlite3_stmt *st = NULL;
    int rc = prepare_metadata(c, &st,
                              "INSERT INTO \"_metadata\" (key, value) VALUES (?1, ?2) "
                              "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = mdm_sqlite_failf(c, src, "cannot set metadata key '%.100s'", key);
    sqlite3_finalize(st);
    return rc;
}

const mdm_backend mdm_backend_sqlite = {
    .version = MDM_BACKEND_VERSION,
    .name = "sqlite",
    .file_extension = ".sqlite",
    .library_version = library_version,
    .open = open_conn,
    .close = close_conn,
    .ping = ping,
    .reset = reset,
    .begin = begin,
    .commit = commit,
    .rollback = rollback,
    .dataset_create = dataset_create,
    .dataset_exists = dataset_exists,
    .dataset_drop = dataset_drop,
    .table_create = table_create,
    .table_drop = table_drop,
    .table_exists = table_exists,
    .table_list = table_list,
    .table_schema = mdm_sqlite_table_schema,
    .append = mdm_sqlite_append,
    .read = mdm_sqlite_read,
    .execute = mdm_sqlite_execute,
    .metadata_get = metadata_get,
    .metadata_set = metadata_set,
    .query = mdm_sqlite_query,
};
