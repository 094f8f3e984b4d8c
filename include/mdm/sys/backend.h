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
 * - A backend states what it is and can do in `capabilities` and the limits below, and
 *   the core asks those, never the backend's name: a new backend is one file (its
 *   table) plus one line in the registry (src/storage/registry.c), or one
 *   mdm_backend_register() call from outside.
 *
 * Adding a slot (the table is versioned like SQLite's sqlite3_vfs):
 * - New slots and fields go at the END of the struct, never between existing ones, and
 *   MDM_BACKEND_VERSION goes up by one with each release that adds any. Tables built
 *   against an older header stay valid: they are shorter, and say so in `version`.
 * - Each added slot gets MDM_BACKEND_SINCE_<slot> (the version that added it). The core
 *   reads a slot past version 1 only through MDM_BACKEND_HAS(backend, slot), which checks
 *   the table's version before touching the field; a missing slot means "not supported",
 *   and the core either falls back or fails with MDM_ENOTSUP.
 * - Backends start their table with MDM_BACKEND_INIT and name the slots they fill:
 *     static const mdm_backend mine = {MDM_BACKEND_INIT, .name = "mine", ...};
 * - mdm_backend_register() refuses a table of a later version than the core's.
 */
#ifndef MDM_SYS_BACKEND_H
#define MDM_SYS_BACKEND_H

#include "mdm/mdm.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MDM_BACKEND_VERSION 2
#define MDM_BACKEND_INIT .version = MDM_BACKEND_VERSION

/* The version that added each slot past version 1; see MDM_BACKEND_HAS. */
#define MDM_BACKEND_SINCE_capabilities 2
#define MDM_BACKEND_SINCE_catalog_name 2
#define MDM_BACKEND_SINCE_max_columns 2
#define MDM_BACKEND_SINCE_max_identifier_bytes 2
#define MDM_BACKEND_SINCE_transaction_state 2
#define MDM_BACKEND_SINCE_staging_settings 2
#define MDM_BACKEND_SINCE_dataset_location 2
#define MDM_BACKEND_SINCE_dataset_rename 2
#define MDM_BACKEND_SINCE_dataset_list 2
#define MDM_BACKEND_SINCE_query 2
#define MDM_BACKEND_SINCE_pool_size_key 2
/* True when the table is recent enough to have `slot` and fills it (a field that may
 * rightly be 0, like `capabilities`, is read after checking the version alone). */
#define MDM_BACKEND_HAS(backend, slot)                                                     \
    ((backend)->version >= MDM_BACKEND_SINCE_##slot && (backend)->slot)

/* Capability bits (mdm_backend.capabilities). */
enum {
    /* A dataset is a file <datasets_path>/<name>/<name><file_extension>, created on
     * open; staging is a directory renamed into place. */
    MDM_BACKEND_CAP_FILE = 1u << 0,
    /* Datasets are namespaces (schemas) of one server database, reached through
     * use_dataset; staging is a dataset renamed into place (dataset_rename), and
     * dataset_list and dataset_location are filled. */
    MDM_BACKEND_CAP_SCHEMAS = 1u << 1,
    /* execute runs SQL text, and read's `where` is SQL. */
    MDM_BACKEND_CAP_SQL = 1u << 2,
    /* CREATE/DROP TABLE roll back with the transaction they ran in. */
    MDM_BACKEND_CAP_TRANSACTIONAL_DDL = 1u << 3,
    /* SAVEPOINT / ROLLBACK TO work through execute. */
    MDM_BACKEND_CAP_SAVEPOINTS = 1u << 4,
};

/* Where a dataset of a MDM_BACKEND_CAP_SCHEMAS backend lives, as the registry YAML
 * records it. The strings are borrowed from the configuration. */
typedef struct mdm_backend_location {
    char schema[128]; /* the dataset's namespace */
    const char *host;
    const char *database;
    const char *user;
    int port;
} mdm_backend_location;

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

    /* ---------------------------------------------------------------- version 2 */

    unsigned capabilities; /* MDM_BACKEND_CAP_* */
    /* Optional: the name the registry YAML records for the backend, which
     * mdm_backend_find also accepts. NULL: `name`. (A built-in's is on its registry
     * line: "postgresql" for "postgres", the Python tool's name.) */
    const char *catalog_name;
    /* Most columns a table may have, and longest identifier in bytes; 0: no limit. */
    int max_columns;
    int max_identifier_bytes;
    /* Optional: whether a transaction is open on the connection (one failed inside it
     * counts as open), from the engine. Without it the core follows BEGIN/COMMIT/
     * ROLLBACK in SQL text run through execute. */
    int (*transaction_state)(mdm_backend_conn *conn, bool *in_transaction);
    /* Optional: settings for the store of a staging dataset, which is thrown away if
     * registration fails and made durable before it commits (SQLite: no journal). */
    int (*staging_settings)(mdm_config *cfg);
    /* MDM_BACKEND_CAP_SCHEMAS: where `dataset` lives; MDM_EINVALID when its namespace
     * name would pass the engine's identifier limit. */
    int (*dataset_location)(mdm_backend_location *out, const mdm_config *cfg,
                            const char *dataset);
    /* MDM_BACKEND_CAP_SCHEMAS: renames a dataset (MDM_EEXISTS when `to` exists). */
    int (*dataset_rename)(mdm_backend_conn *conn, const char *from, const char *to);
    /* MDM_BACKEND_CAP_SCHEMAS: the datasets whose names start with `prefix` (at most
     * 1000), as an array of strings the caller frees with free(), each then the array. */
    int (*dataset_list)(mdm_backend_conn *conn, const char *prefix, char ***names,
                        size_t *count);
    /* Optional (mdm_conn_query): one read-only statement, refused with MDM_EINVALID
     * "query is read-only: X is not allowed" when it could write, rows to the sink (at
     * least one call: a zero-row batch carries the columns of an empty result), at most
     * req->limit rows, interrupted at req->timeout_ms (MDM_ETIMEOUT) or when
     * req->canceled says so (MDM_ECANCELED). Called outside any transaction. */
    int (*query)(mdm_backend_conn *conn, const mdm_query_request *req, mdm_batch_sink sink,
                 void *ctx);
    /* Optional: the config key holding this backend's pool size (the Python tool's
     * keys differ per backend). NULL: database.pool.max_size. */
    const char *pool_size_key;
} mdm_backend;

/* The table's capabilities; a version 1 table has FILE when it has a file extension,
 * else SCHEMAS, and SQL. */
static inline unsigned mdm_backend_caps(const mdm_backend *b)
{
    if (b->version >= MDM_BACKEND_SINCE_capabilities)
        return b->capabilities;
    return (b->file_extension ? MDM_BACKEND_CAP_FILE : MDM_BACKEND_CAP_SCHEMAS) |
           MDM_BACKEND_CAP_SQL;
}
/* Registry. The three built-ins are always present (DuckDB's and PostgreSQL's tables
 * are in libmdm_duckdb.so and libmdm_postgres.so, loaded on their first lookup). Registering a name that
 * exists is MDM_EEXISTS; a table of a later version than MDM_BACKEND_VERSION, or
 * without name, open or close, is MDM_EINVALID. The table must outlive the process. */
MDM_EXTERN int mdm_backend_register(const mdm_backend *backend);
/* The name the registry YAML records for the backend: its catalog_name (the registry's
 * line for a built-in, the table's for a registered one), else its name. */
MDM_EXTERN const char *mdm_backend_catalog_name(const mdm_backend *backend);
/* Looks a backend up by name or catalog_name ("postgresql" finds "postgres"). NULL if
 * none (and the error record names the known backends), or if its module cannot be
 * loaded (and the error record names the file). */
MDM_EXTERN const mdm_backend *mdm_backend_find(const char *name);

/* The built-in SQLite table (DuckDB's and PostgreSQL's live in their modules; see
 * src/storage/module.h). */
MDM_EXTERN extern const mdm_backend mdm_backend_sqlite;

/* Helpers for backend writers (src/core/strbuf.c). */

/* Appends the double-quoted form of an identifier to buf (quotes doubled). Returns
 * the length written, or -1 when it does not fit. */
MDM_EXTERN int mdm_sql_quote_ident(char *buf, size_t size, const char *ident);
/* Appends a single-quoted SQL string literal (quotes doubled). Same contract. */
MDM_EXTERN int mdm_sql_quote_literal(char *buf, size_t size, const char *s);

#ifdef __cplusplus
}
#endif
#endif /* MDM_SYS_BACKEND_H */
