/*
 * The storage backend table, for people who write a backend.
 *
 * A backend is a static const table of function pointers. It keeps no state of its
 * own: every operation receives the connection it works on. The core (store, pool)
 * owns the connections and calls these slots; front ends never do.
 *
 * Rules for implementers:
 * - Errors: set the thread's error with mdm_error_set() at once, copying the driver's
 *   message, and return the negative code. Use MDM_EBUSY / MDM_ECONNECT for failures
 *   that may succeed on retry, MDM_EBACKEND for the rest.
 * - Identifiers (tables, columns) arrive validated by mdm_ident_check(); quote them.
 * - Slots marked optional may be NULL; the core checks before calling.
 */
#ifndef MDM_SYS_BACKEND_H
#define MDM_SYS_BACKEND_H

#include "mdm/mdm.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MDM_BACKEND_VERSION 1

/* A backend's connection; each backend defines the struct. */
typedef struct mdm_backend_conn mdm_backend_conn;

typedef struct mdm_backend {
    int version; /* MDM_BACKEND_VERSION */
    const char *name; /* "sqlite", "duckdb", "postgres" */
    /* File extension of a dataset's database file (".sqlite"); NULL for servers. */
    const char *file_extension;

    /* Process-wide engine version string. */
    const char *(*library_version)(void);
    /* Optional: a name for the target in messages and metrics, never holding a
     * password ("postgres:host:port/db"). Without it: "<name>:<path>". Caller frees. */
    char *(*describe)(const mdm_target *target, const mdm_config *cfg);

    /* Connection lifecycle. `open` connects to the target (creating the file or
     * database if needed) and applies config settings. */
    int (*open)(mdm_backend_conn **out, const mdm_target *target, const mdm_config *cfg);
    void (*close)(mdm_backend_conn *conn);
    int (*ping)(mdm_backend_conn *conn);
    /* Back to a clean session: roll back any open transaction, restore settings. */
    int (*reset)(mdm_backend_conn *conn);
    /* Optional: a server backend selects the dataset's namespace (search_path). */
    int (*use_dataset)(mdm_backend_conn *conn, const char *dataset);

    int (*begin)(mdm_backend_conn *conn);
    int (*commit)(mdm_backend_conn *conn);
    int (*rollback)(mdm_backend_conn *conn);

    /* The dataset namespace: _metadata table, and the schema on servers. */
    int (*dataset_create)(mdm_backend_conn *conn, const char *dataset);
    int (*dataset_exists)(mdm_backend_conn *conn, const char *dataset, bool *exists);
    int (*dataset_drop)(mdm_backend_conn *conn, const char *dataset);

    int (*table_create)(mdm_backend_conn *conn, const char *table, const mdm_field *fields,
                        size_t nfields);
    int (*table_drop)(mdm_backend_conn *conn, const char *table);
    int (*table_exists)(mdm_backend_conn *conn, const char *table, bool *exists);
    int (*table_list)(mdm_backend_conn *conn, char ***names, size_t *count);
    int (*table_schema)(mdm_backend_conn *conn, const char *table, mdm_field **fields,
                        size_t *nfields);

    /* Bulk path: all of the batch or none of it. Runs inside the caller's transaction
     * when one is open, else in its own. */
    int (*append)(mdm_backend_conn *conn, const char *table, const mdm_batch *batch);
    /* Optional bulk load (mdm_conn_load_begin/load/load_end), always inside a
     * transaction; the connection sees no other call in between, except rollback and
     * reset, which must abandon the load. Without these slots mdm_conn_load appends. */
    int (*load_begin)(mdm_backend_conn *conn, const char *table);
    int (*load_batch)(mdm_backend_conn *conn, const mdm_batch *batch);
    int (*load_end)(mdm_backend_conn *conn);
    int (*read)(mdm_backend_conn *conn, const mdm_read_request *req, mdm_batch_sink sink,
                void *ctx);
    int (*execute)(mdm_backend_conn *conn, const char *sql, const mdm_value *params,
                   size_t nparams, mdm_batch_sink sink, void *ctx, int64_t *changes);

    int (*metadata_get)(mdm_backend_conn *conn, const char *key, char **value);
    int (*metadata_set)(mdm_backend_conn *conn, const char *key, const char *value);

    /* Optional (mdm_conn_query): one read-only statement, refused with MDM_EINVALID
     * "query is read-only: X is not allowed" when it could write, rows to the sink (at
     * least one call: a zero-row batch carries the columns of an empty result), at most
     * req->limit rows, interrupted at req->timeout_ms (MDM_ETIMEOUT) or when
     * req->canceled says so (MDM_ECANCELED). Called outside any transaction. */
    int (*query)(mdm_backend_conn *conn, const mdm_query_request *req, mdm_batch_sink sink,
                 void *ctx);
} mdm_backend;

/* Registry. The three built-ins are always present. Registering a name that exists
 * is MDM_EEXISTS. The table must outlive the process (static const). */
int mdm_backend_register(const mdm_backend *backend);
/* Looks a backend up by name; "postgresql" is an alias of "postgres". NULL if none
 * (and the error record names the known backends). */
const mdm_backend *mdm_backend_find(const char *name);

/* Built-ins. */
extern const mdm_backend mdm_backend_sqlite;
extern const mdm_backend mdm_backend_duckdb;
extern const mdm_backend mdm_backend_postgres;

/* Helpers for backend writers (src/storage/sql.c). */

/* Appends the double-quoted form of an identifier to buf (quotes doubled). Returns
 * the length written, or -1 when it does not fit. */
int mdm_sql_quote_ident(char *buf, size_t size, const char *ident);
/* Appends a single-quoted SQL string literal (quotes doubled). Same contract. */
int mdm_sql_quote_literal(char *buf, size_t size, const char *s);

#ifdef __cplusplus
}
#endif
#endif /* MDM_SYS_BACKEND_H */
