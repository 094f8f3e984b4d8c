/* What the DuckDB backend's files share: the connection, the database registry, the
 * result reader and the error helpers. */
#ifndef MDM_STORAGE_BACKENDS_DUCKDB_INTERNAL_H
#define MDM_STORAGE_BACKENDS_DUCKDB_INTERNAL_H

#include <duckdb.h>

#include "mdm/sys/backend.h"

/* ------------------------------------------------------------ database registry */

/* One open duckdb_database, shared by every connection to its file (duckdb_registry.c). */
typedef struct mdm_duckdb_db mdm_duckdb_db;

/* Takes a reference on the database of `path` (opening it with the settings of `cfg`
 * when it is not open in this process yet) and returns it through *out. */
int mdm_duckdb_db_acquire(mdm_duckdb_db **out, const char *path, const mdm_config *cfg);
/* Drops a reference; the last one closes the database. Accepts NULL. */
void mdm_duckdb_db_release(mdm_duckdb_db *db);
duckdb_database mdm_duckdb_db_handle(const mdm_duckdb_db *db);
/* True when the database was opened with access_mode READ_ONLY. */
bool mdm_duckdb_db_read_only(const mdm_duckdb_db *db);

/* ------------------------------------------------------------ connection */

struct mdm_backend_conn {
    duckdb_connection con;  /* NULL only after a failed reconnect in reset */
    mdm_duckdb_db *db;
    char *path;             /* as the target gave it, for messages */
    bool in_transaction;    /* by the begin slot, or found after execute ran BEGIN/COMMIT */
    struct duckdb_load *load; /* an open bulk load (duckdb_load.c), else NULL */
};
typedef struct duckdb_load duckdb_load;

/* ------------------------------------------------------------ errors */

/* Maps a DuckDB message to an mdm code: transaction conflicts and file locks are
 * MDM_EBUSY, out of memory MDM_ENOMEM, the rest `fallback`. */
int mdm_duckdb_classify(const char *engine_message, int fallback);
/* Records "<what>: <engine message on one line>" with `code` and returns `code`. */
int mdm_duckdb_fail(int code, const char *engine_message, const char *fmt, ...) MDM_PRINTF(3, 4);
/* Runs one SQL statement without parameters or results. `what` names the operation in
 * the error ("cannot begin a transaction"). */
int mdm_duckdb_run(mdm_backend_conn *conn, const char *sql, const char *what);
/* Prepares `sql`. A failure is recorded (what: the formatted words, then the file)
 * with `code_if_missing` when DuckDB says a table or column does not exist, else
 * classified. */
int mdm_duckdb_prepare(duckdb_prepared_statement *out, mdm_backend_conn *conn, const char *sql,
                       int code_if_missing, const char *fmt, ...) MDM_PRINTF(5, 6);
/* Binds mdm values to a prepared statement's parameters by position. */
int mdm_duckdb_bind(duckdb_prepared_statement stmt, const mdm_value *params, size_t nparams,
                    size_t first_index);

/* ------------------------------------------------------------ types and results */

/* The mdm type DuckDB's `type` is delivered as, or MDM_ENOTSUP when the value can only
 * reach mdm as text through a SQL cast (LIST, STRUCT, INTERVAL, BLOB, ...). */
int mdm_duckdb_type_to_mdm(mdm_type *out, duckdb_logical_type type);
/* DuckDB's name of a type id ("LIST", "INTERVAL"), for messages. */
const char *mdm_duckdb_type_name(duckdb_type type);

/* Streams a query result to a sink in batches of `batch_rows` rows. Column types come
 * from the result; UBIGINT, HUGEINT and UHUGEINT arrive as int64 until a value does
 * not fit, after which that column continues as text in a new batch (no value is
 * lost). Returns 0, the sink's non-zero value, or an error. */
int mdm_duckdb_deliver(duckdb_result *result, size_t batch_rows, mdm_batch_sink sink, void *ctx,
                       const char *what);

/* ------------------------------------------------------------ slots in other files */

/* The backend's append, read and execute slots (connection already checked). */
int mdm_duckdb_append(mdm_backend_conn *conn, const char *table, const mdm_batch *batch);
int mdm_duckdb_load_begin(mdm_backend_conn *conn, const char *table);
int mdm_duckdb_load_batch(mdm_backend_conn *conn, const mdm_batch *batch);
int mdm_duckdb_load_end(mdm_backend_conn *conn);
/* Abandons an open load (before a rollback, reset or close). */
void mdm_duckdb_load_free(mdm_backend_conn *conn);
/* What an append checks before DuckDB sees a row: every text value valid UTF-8 and,
 * with `columns`, the batch's columns fitting the table's. */
int mdm_duckdb_check_batch(mdm_backend_conn *conn, const char *table, const mdm_batch *batch,
                           bool columns);
int mdm_duckdb_read(mdm_backend_conn *conn, const mdm_read_request *req, mdm_batch_sink sink,
                    void *ctx);
int mdm_duckdb_execute(mdm_backend_conn *conn, const char *sql, const mdm_value *params,
                       size_t nparams, mdm_batch_sink sink, void *ctx, int64_t *changes);
int mdm_duckdb_query(mdm_backend_conn *conn, const mdm_query_request *req, mdm_batch_sink sink,
                     void *ctx); /* duckdb_readonly.c */

#endif
