/* What the SQLite backend's files share: the connection and small helpers.
 * sqlite.c: connection, transactions, datasets, tables, metadata.
 * sqlite_append.c: the bulk insert path.  sqlite_read.c: read and execute. */
#ifndef MDM_STORAGE_BACKENDS_SQLITE_INTERNAL_H
#define MDM_STORAGE_BACKENDS_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <sys/types.h>

#include "mdm/sys/backend.h"

/* The prepared INSERT of the last table appended to, kept while the schema cookie says
 * the database's schema has not changed. */
typedef struct sqlite_insert_cache {
    char *table;
    int schema_version;
    mdm_field *fields;       /* the table's columns */
    size_t ncols;
    sqlite3_stmt *multi;     /* INSERT ... VALUES (...), ... with multi_rows rows */
    size_t multi_rows;
    sqlite3_stmt *single;    /* one row, for the tail of a batch */
    char *single_sql;        /* for echo */
    char *scratch;           /* text forms of dates and timestamps bound SQLITE_STATIC */
    size_t scratch_size;
} sqlite_insert_cache;

struct mdm_backend_conn {
    sqlite3 *db;
    char *path;
    bool echo;                /* database.sqlalchemy.echo: log each statement */
    char *session_pragmas;    /* re-applied by reset */
    dev_t file_dev;           /* identity of the file at open, checked by ping */
    ino_t file_ino;
    sqlite3_stmt *schema_version; /* PRAGMA schema_version, cached */
    sqlite_insert_cache insert;
};

/* Records the error of a failed SQLite call: the code mapped to an MDM_E* code and a
 * one-line message "<what>: <sqlite message> (<path>)". Returns the MDM code. */
int mdm_sqlite_fail(mdm_backend_conn *c, int sqlite_rc, const char *what);
int mdm_sqlite_failf(mdm_backend_conn *c, int sqlite_rc, const char *fmt, ...) MDM_PRINTF(3, 4);

/* Logs `sql` at DEBUG when echo is on. */
void mdm_sqlite_echo(const mdm_backend_conn *c, const char *sql);

/* Prepares one statement (echoed), mapping failures. */
int mdm_sqlite_prepare(mdm_backend_conn *c, sqlite3_stmt **out, const char *sql);

/* Runs statements that return no rows. */
int mdm_sqlite_exec(mdm_backend_conn *c, const char *sql, const char *what);

/* Makes a unit of work atomic: its own IMMEDIATE transaction, or a SAVEPOINT inside
 * the caller's open transaction. `end` commits/releases on rc == 0, else undoes; it
 * returns rc, or the commit's error. */
int mdm_sqlite_atomic_begin(mdm_backend_conn *c, bool *own_transaction, const char *what);
int mdm_sqlite_atomic_end(mdm_backend_conn *c, bool own_transaction, int rc);

/* The database's schema cookie (changes with every DDL from any connection). */
int mdm_sqlite_schema_version(mdm_backend_conn *c, int *version);

/* The columns of a table in order, with mdm types; MDM_ENOTFOUND when absent. */
int mdm_sqlite_table_schema(mdm_backend_conn *c, const char *table, mdm_field **fields,
                            size_t *nfields);

/* Maps a declared column type to an mdm type. Returns false when the declaration does
 * not say (no type, BLOB, NUMERIC, DECIMAL, ...). */
bool mdm_sqlite_decltype(mdm_type *out, const char *decltype);

/* Text forms of dates and timestamps as stored: "YYYY-MM-DD" and
 * "YYYY-MM-DD HH:MM:SS[.ffffff]". Only years 0000-9999 read back (mdm_date_parse), so
 * other values are refused: these return the length, or 0 when out of range. `buf`
 * holds at least MDM_SQLITE_DATETIME_MAX bytes. */
#define MDM_SQLITE_DATETIME_MAX 32
size_t mdm_sqlite_format_date(char *buf, int32_t days);
size_t mdm_sqlite_format_timestamp(char *buf, int64_t micros);

/* Binds an mdm value to parameter `index` (1-based); text is bound SQLITE_STATIC
 * (caller keeps it alive until the statement is reset), dates and timestamps are
 * copied. */
int mdm_sqlite_bind_value(mdm_backend_conn *c, sqlite3_stmt *stmt, int index,
                          const mdm_value *value);

/* Drops the cached INSERT (after DDL that may affect it, and at close). */
void mdm_sqlite_insert_cache_clear(sqlite_insert_cache *cache);

/* The slots implemented outside sqlite.c. */
int mdm_sqlite_append(mdm_backend_conn *c, const char *table, const mdm_batch *batch);
int mdm_sqlite_read(mdm_backend_conn *c, const mdm_read_request *req, mdm_batch_sink sink,
                    void *ctx);
int mdm_sqlite_execute(mdm_backend_conn *c, const char *sql, const mdm_value *params,
                       size_t nparams, mdm_batch_sink sink, void *ctx, int64_t *changes);
int mdm_sqlite_query(mdm_backend_conn *c, const mdm_query_request *req, mdm_batch_sink sink,
                     void *ctx); /* sqlite_readonly.c */

#endif
