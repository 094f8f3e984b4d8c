/*
 * mdm — the ML Data Manager. Public C API.
 *
 * Conventions: functions that can fail return int, 0 on success or a negative MDM_E*
 * code; mdm_error_last() then holds the message. What comes back through `T **out`
 * belongs to the caller and is released with that type's mdm_x_free(), which accepts
 * NULL. A pointer returned as a value is borrowed from its parent.
 */
#ifndef MDM_H
#define MDM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MDM_VERSION_MAJOR 0
#define MDM_VERSION_MINOR 1
#define MDM_VERSION_PATCH 0
#define MDM_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define MDM_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define MDM_PRINTF(fmt, args)
#endif

/* ------------------------------------------------------------------ errors */

enum {
    MDM_OK = 0,
    MDM_ERROR = -1,      /* unclassified failure */
    MDM_ENOMEM = -2,     /* out of memory */
    MDM_EINVALID = -3,   /* bad argument, bad value, bad input */
    MDM_ENOTFOUND = -4,  /* no such dataset, table, key, backend */
    MDM_EEXISTS = -5,    /* already exists */
    MDM_EIO = -6,        /* file system or network I/O */
    MDM_EBACKEND = -7,   /* the database engine reported an error */
    MDM_ETIMEOUT = -8,   /* waited too long (pool, lock) */
    MDM_EBUSY = -9,      /* resource busy or locked; may succeed on retry */
    MDM_ECONNECT = -10,  /* could not connect; may succeed on retry */
    MDM_ENOTSUP = -11,   /* the backend does not support this operation */
    MDM_ECONFIG = -12,   /* configuration file or value is wrong */
    MDM_ECLOSED = -13,   /* the pool or handle is closed */
    MDM_ECONSTRAINT = -14, /* a limit of the engine (columns, sizes) was reached */
    MDM_ECANCELED = -15, /* cancelled by the caller (mdm_cancel_request) */
};

/* The calling thread's last error: code and message ("" when none). */
typedef struct mdm_error {
    int code;
    char message[1024];
} mdm_error;

const mdm_error *mdm_error_last(void);
/* Records an error for the calling thread and returns `code`, so that
 * `return mdm_error_set(MDM_EINVALID, "...")` reads naturally. */
int mdm_error_set(int code, const char *fmt, ...) MDM_PRINTF(2, 3);
void mdm_error_clear(void);
/* Short name of a code: "EINVALID", ... */
const char *mdm_error_name(int code);
/* True for errors that may succeed when retried (busy, timeout, connect). */
bool mdm_error_is_transient(int code);

const char *mdm_version(void);

/* ------------------------------------------------------------------ types */

/* Column types. Dates are days since 1970-01-01; timestamps are microseconds since
 * 1970-01-01 00:00:00 UTC (no time zone). */
typedef enum mdm_type {
    MDM_TYPE_INT64 = 1,
    MDM_TYPE_FLOAT64,
    MDM_TYPE_BOOL,
    MDM_TYPE_TEXT,
    MDM_TYPE_DATE,
    MDM_TYPE_TIMESTAMP,
} mdm_type;

const char *mdm_type_name(mdm_type type);              /* "int64", ... */
int mdm_type_parse(mdm_type *out, const char *name);   /* inverse of mdm_type_name */

/* A column's name and type, as given to table creation and carried by batches. */
typedef struct mdm_field {
    const char *name;
    mdm_type type;
} mdm_field;

/* One value, e.g. a bound parameter. Text is borrowed. */
typedef struct mdm_value {
    mdm_type type;
    bool is_null;
    union {
        int64_t i64;
        double f64;
        bool b;
        int32_t date;
        int64_t ts;
        struct {
            const char *ptr;
            size_t len;
        } text;
    } v;
} mdm_value;

mdm_value mdm_value_int64(int64_t v);
mdm_value mdm_value_float64(double v);
mdm_value mdm_value_bool(bool v);
mdm_value mdm_value_text(const char *s); /* NUL-terminated */
mdm_value mdm_value_date(int32_t days);
mdm_value mdm_value_timestamp(int64_t micros);
mdm_value mdm_value_null(mdm_type type);

/* Date/time helpers (proleptic Gregorian, UTC). */
int32_t mdm_date_from_ymd(int year, int month, int day);
void mdm_date_to_ymd(int32_t days, int *year, int *month, int *day);
/* Formats "YYYY-MM-DD" into buf (>= 16 bytes). Returns the length. */
int mdm_date_format(char *buf, size_t size, int32_t days);
/* Formats "YYYY-MM-DD HH:MM:SS[.ffffff]" into buf (>= 40 bytes). Returns the length. */
int mdm_timestamp_format(char *buf, size_t size, int64_t micros);
/* Parse ISO forms; return 0 or MDM_EINVALID (without setting the error record, since
 * parsing is used for probing). */
int mdm_date_parse(int32_t *out, const char *s, size_t len);
int mdm_timestamp_parse(int64_t *out, const char *s, size_t len);

/* ------------------------------------------------------------------ batches */

/* A typed column batch: the unit that flows between readers, backends and writers.
 * Column-major; every value is either NULL or a value of the column's type; an empty
 * string is not NULL. */
typedef struct mdm_batch mdm_batch;

int mdm_batch_new(mdm_batch **out, const mdm_field *fields, size_t nfields, size_t capacity);
void mdm_batch_free(mdm_batch *batch);
/* Empties the batch (rows = 0) and keeps its memory for the next fill. */
void mdm_batch_clear(mdm_batch *batch);

size_t mdm_batch_ncols(const mdm_batch *batch);
size_t mdm_batch_nrows(const mdm_batch *batch);
const mdm_field *mdm_batch_field(const mdm_batch *batch, size_t col);
/* Index of the column named `name`, or -1. */
long mdm_batch_find(const mdm_batch *batch, const char *name);

/* Appends one row whose values are all NULL and returns its index through *row; set
 * the values with the setters. Grows as needed. */
int mdm_batch_add_row(mdm_batch *batch, size_t *row);

/* Setters for row `row` (< nrows). The column's type must match (asserted). */
void mdm_batch_set_null(mdm_batch *batch, size_t col, size_t row);
void mdm_batch_set_int64(mdm_batch *batch, size_t col, size_t row, int64_t v);
void mdm_batch_set_float64(mdm_batch *batch, size_t col, size_t row, double v);
void mdm_batch_set_bool(mdm_batch *batch, size_t col, size_t row, bool v);
void mdm_batch_set_date(mdm_batch *batch, size_t col, size_t row, int32_t days);
void mdm_batch_set_timestamp(mdm_batch *batch, size_t col, size_t row, int64_t micros);
/* Copies `len` bytes of text (may contain any bytes). */
int mdm_batch_set_text(mdm_batch *batch, size_t col, size_t row, const char *s, size_t len);
/* Sets from a tagged value; the value's type must match the column's. */
int mdm_batch_set_value(mdm_batch *batch, size_t col, size_t row, const mdm_value *value);

bool mdm_batch_is_null(const mdm_batch *batch, size_t col, size_t row);
int64_t mdm_batch_int64(const mdm_batch *batch, size_t col, size_t row);
double mdm_batch_float64(const mdm_batch *batch, size_t col, size_t row);
bool mdm_batch_bool(const mdm_batch *batch, size_t col, size_t row);
int32_t mdm_batch_date(const mdm_batch *batch, size_t col, size_t row);
int64_t mdm_batch_timestamp(const mdm_batch *batch, size_t col, size_t row);
/* Borrowed, NUL-terminated (the terminator is not counted in *len). */
const char *mdm_batch_text(const mdm_batch *batch, size_t col, size_t row, size_t *len);
mdm_value mdm_batch_value(const mdm_batch *batch, size_t col, size_t row);

/* Direct column access for bulk paths: the null flags (1 = NULL) and the value array
 * (int64_t*, double*, uint8_t* for bool, int32_t* for date, int64_t* for timestamp).
 * NULL for text columns, which go through mdm_batch_text. */
const uint8_t *mdm_batch_nulls(const mdm_batch *batch, size_t col);
const void *mdm_batch_data(const mdm_batch *batch, size_t col);

/* ------------------------------------------------------------------ config */

typedef struct mdm_config mdm_config;

/* Loads defaults < <home>/mdm.yaml < MDM_* environment. `home` NULL means
 * $MDM_HOME_DIR or ~/.mdm. A missing file means defaults; a bad file or value is an
 * MDM_ECONFIG error naming the file, line and column or the key. Unknown keys are
 * warnings (logged) naming the closest known key. */
int mdm_config_load(mdm_config **out, const char *home);
/* Built-in defaults only (no file, no environment); home as for mdm_config_load. */
int mdm_config_defaults(mdm_config **out, const char *home);
void mdm_config_free(mdm_config *cfg);

/* The home directory (absolute) and the config file path. Borrowed. */
const char *mdm_config_home(const mdm_config *cfg);
const char *mdm_config_file(const mdm_config *cfg);
/* paths.* resolved against home (absolute). Borrowed. `which` is e.g. "datasets_path". */
const char *mdm_config_path(const mdm_config *cfg, const char *which);

/* Typed getters by dotted key, e.g. "database.sqlite.journal_mode". Asking for an
 * unknown key or the wrong type is a programmer error (asserted). */
int64_t mdm_config_int(const mdm_config *cfg, const char *key);
double mdm_config_double(const mdm_config *cfg, const char *key);
bool mdm_config_bool(const mdm_config *cfg, const char *key);
const char *mdm_config_str(const mdm_config *cfg, const char *key); /* NULL when null */
/* Integer lists (e.g. feature_engineering.generic.binning.n_bins). */
size_t mdm_config_list_len(const mdm_config *cfg, const char *key);
int64_t mdm_config_list_int(const mdm_config *cfg, const char *key, size_t i);

/* Sets a key from its textual form, validated as a YAML or env value would be. */
int mdm_config_set(mdm_config *cfg, const char *key, const char *value);
/* Textual form of a key's value ("null" when unset); secrets are masked when `mask`.
 * Caller frees with free(). */
int mdm_config_format(char **out, const mdm_config *cfg, const char *key, bool mask);
/* Calls `fn` for every known key in schema order. */
void mdm_config_foreach(const mdm_config *cfg,
                        void (*fn)(const char *key, const char *value, void *ctx),
                        bool mask, void *ctx);
/* True when `key` is known. */
bool mdm_config_has(const char *key);
/* Where a key's value came from: "default", "mdm.yaml line 3", "environment MDM_X" or
 * "set". Written into buf, which is returned. */
const char *mdm_config_source(const mdm_config *cfg, const char *key, char *buf, size_t size);
/* A copy of `cfg` with the same home and values (to change some for one purpose). */
int mdm_config_clone(mdm_config **out, const mdm_config *cfg);
/* Sets `key` to `value` in <home>/mdm.yaml (created if missing), validated first and
 * keeping the rest of the file, comments included; the file is replaced atomically and
 * only after it reads back right. `cfg` gives the home; it is not changed. */
int mdm_config_save_key(const mdm_config *cfg, const char *key, const char *value);

/* ------------------------------------------------------------------ logging */

typedef enum mdm_log_level {
    MDM_LOG_DEBUG = 10,
    MDM_LOG_INFO = 20,
    MDM_LOG_WARNING = 30,
    MDM_LOG_ERROR = 40,
    MDM_LOG_CRITICAL = 50,
} mdm_log_level;

/* Applies logging.* from cfg: level, file (under logs_path), rotation, format. Without
 * this call, logs go to stderr only, at WARNING and above. */
int mdm_log_init(const mdm_config *cfg);
void mdm_log_shutdown(void);
void mdm_log(mdm_log_level level, const char *fmt, ...) MDM_PRINTF(2, 3);
bool mdm_log_enabled(mdm_log_level level);
/* Sets the threshold for stderr (default WARNING). */
void mdm_log_set_stderr_level(mdm_log_level level);
int mdm_log_level_parse(mdm_log_level *out, const char *name);
const char *mdm_log_level_name(mdm_log_level level);

#define MDM_DEBUG(...) mdm_log(MDM_LOG_DEBUG, __VA_ARGS__)
#define MDM_INFO(...) mdm_log(MDM_LOG_INFO, __VA_ARGS__)
#define MDM_WARN(...) mdm_log(MDM_LOG_WARNING, __VA_ARGS__)
#define MDM_ERROR_LOG(...) mdm_log(MDM_LOG_ERROR, __VA_ARGS__)

/* ------------------------------------------------------------------ metrics */

typedef struct mdm_counter mdm_counter;
typedef struct mdm_gauge mdm_gauge;
typedef struct mdm_histogram mdm_histogram;

/* Process-wide registry. Metrics live until process exit; asking twice for the same
 * name and labels returns the same metric. `labels` is Prometheus label text such as
 * `backend="sqlite",pool="x"` or NULL. */
mdm_counter *mdm_metrics_counter(const char *name, const char *help, const char *labels);
mdm_gauge *mdm_metrics_gauge(const char *name, const char *help, const char *labels);
/* Latency histogram in seconds with fixed buckets (100 us .. 60 s). */
mdm_histogram *mdm_metrics_histogram(const char *name, const char *help, const char *labels);

void mdm_counter_add(mdm_counter *c, uint64_t n);
uint64_t mdm_counter_value(const mdm_counter *c);
void mdm_gauge_set(mdm_gauge *g, double v);
void mdm_gauge_add(mdm_gauge *g, double delta);
double mdm_gauge_value(const mdm_gauge *g);
void mdm_histogram_observe(mdm_histogram *h, double seconds);
/* Records `n` observations of the same value at once (for feeding a histogram from
 * counts kept elsewhere). */
void mdm_histogram_observe_n(mdm_histogram *h, double seconds, uint64_t n);
uint64_t mdm_histogram_count(const mdm_histogram *h);
/* Approximate quantile (0..1) from the buckets. */
double mdm_histogram_quantile(const mdm_histogram *h, double q);

/* Renders every metric in Prometheus text exposition format. Caller frees. */
int mdm_metrics_render(char **out);
/* Monotonic clock in nanoseconds. */
uint64_t mdm_now_ns(void);

/* ------------------------------------------------------------------ storage */

/* A connection checked out of a store. */
typedef struct mdm_conn mdm_conn;
/* A handle over one storage target (a SQLite/DuckDB file, a PostgreSQL database and
 * the dataset's schema in it) from which connections are checked out and back in. */
typedef struct mdm_store mdm_store;

/* Where a store points. For file backends `path` is the database file; for
 * PostgreSQL, `path` is NULL and the server comes from config (or `conninfo`, a libpq
 * connection string). `dataset` names the dataset: PostgreSQL keeps it in the schema
 * <database_prefix><dataset>. */
typedef struct mdm_target {
    const char *dataset;
    const char *path;
    const char *conninfo;
} mdm_target;

/* Opens a store for (backend name, target). The backend is looked up in the registry;
 * an unknown name is MDM_ENOTFOUND naming the known ones. `cfg` must outlive the store. */
int mdm_store_open(mdm_store **out, const char *backend, const mdm_target *target,
                   const mdm_config *cfg);
/* Opens the store of a dataset by name, with the target computed from config:
 * <datasets_path>/<name>/<name>.sqlite|.duckdb, or the PostgreSQL schema. */
int mdm_store_open_dataset(mdm_store **out, const char *backend, const char *dataset,
                           const mdm_config *cfg);
void mdm_store_free(mdm_store *store);
const char *mdm_store_backend_name(const mdm_store *store);
/* "sqlite:/path/file.sqlite", "postgres:host:port/db" (no password). Borrowed. */
const char *mdm_store_describe(const mdm_store *store);

/* Checks a connection out (waiting up to the configured timeout) and back in. On
 * checkin an open transaction is rolled back. */
int mdm_store_checkout(mdm_store *store, mdm_conn **out);
void mdm_store_checkin(mdm_store *store, mdm_conn *conn);

/* Pools. Every store draws on the process-wide pool of its target (one per SQLite or
 * DuckDB file, one per PostgreSQL database), created on first use and closed with the
 * last store that uses it. */
typedef struct mdm_pool_stats {
    char name[256];            /* "sqlite:/path/file.sqlite", "postgres:host:port/db" */
    const char *backend;
    size_t size;               /* open or being opened */
    size_t idle, in_use, waiting;
    size_t min_size, max_size;
    uint64_t checkouts, created, timeouts, connect_failures, leaks_reported;
    uint64_t closed_lifetime, closed_idle, closed_broken, closed_validation, closed_resize;
    double wait_p50_ms, wait_p99_ms;   /* time to obtain a connection */
    double usage_p50_ms, usage_p99_ms; /* time a connection stayed checked out */
    const char *breaker;       /* "closed", "open" or "half-open" */
} mdm_pool_stats;

int mdm_store_pool_stats(mdm_store *store, mdm_pool_stats *out);
/* Every pool of the process; caller frees the array with free(). */
int mdm_pool_stats_all(mdm_pool_stats **out, size_t *count);
/* Changes the store's pool limits at run time; surplus connections close as they idle. */
int mdm_store_resize(mdm_store *store, size_t min_size, size_t max_size);
/* Refuses new checkouts on the store's pool and waits for borrowed connections. */
int mdm_store_drain(mdm_store *store, uint64_t timeout_ms);
/* Calls `fn` with a pool's final figures when it closes (NULL: stop), e.g. to print
 * them at the end of a command. Process-wide. */
void mdm_pools_on_close(void (*fn)(const mdm_pool_stats *stats, void *ctx), void *ctx);

/* Operations on a checked-out connection; each dispatches to the backend. */
int mdm_conn_ping(mdm_conn *conn);
int mdm_conn_begin(mdm_conn *conn);
int mdm_conn_commit(mdm_conn *conn);
int mdm_conn_rollback(mdm_conn *conn);
bool mdm_conn_in_transaction(const mdm_conn *conn);

/* The dataset namespace: metadata tables for file backends, the schema on PostgreSQL. */
int mdm_conn_dataset_create(mdm_conn *conn);
int mdm_conn_dataset_exists(mdm_conn *conn, bool *exists);
/* Drops every table of the dataset (and its PostgreSQL schema). */
int mdm_conn_dataset_drop(mdm_conn *conn);

int mdm_conn_table_create(mdm_conn *conn, const char *table, const mdm_field *fields,
                          size_t nfields);
int mdm_conn_table_drop(mdm_conn *conn, const char *table);
int mdm_conn_table_exists(mdm_conn *conn, const char *table, bool *exists);
/* The table names of the dataset, sorted; caller frees each and the array. */
int mdm_conn_table_list(mdm_conn *conn, char ***names, size_t *count);
/* The columns of a table; caller frees with mdm_fields_free. */
int mdm_conn_table_schema(mdm_conn *conn, const char *table, mdm_field **fields,
                          size_t *nfields);
void mdm_fields_free(mdm_field *fields, size_t nfields);

/* Appends a batch through the backend's bulk path. The batch's columns must match the
 * table's by position and type. Atomic: on error, none of the batch's rows remain. */
int mdm_conn_append(mdm_conn *conn, const char *table, const mdm_batch *batch);

/* Bulk loading of a table inside the caller's transaction, for filling a table nothing
 * else uses (registration): the batches' rows go in as through mdm_conn_append, in
 * order, but a backend may stream them as one operation and build its indexes at the
 * end (PostgreSQL: one COPY, the row-order index rebuilt by mdm_conn_load_end; DuckDB:
 * one parallel INSERT reading the batches as an Arrow stream). Until
 * mdm_conn_load_end returns, the connection does nothing else. Not atomic per batch: a
 * bad row may only be reported by mdm_conn_load_end, and any error from the three calls
 * leaves the transaction to be rolled back. */
int mdm_conn_load_begin(mdm_conn *conn, const char *table);
int mdm_conn_load(mdm_conn *conn, const mdm_batch *batch);
int mdm_conn_load_end(mdm_conn *conn);

/* Receives result batches; return non-zero to stop (that value is returned by the
 * reading call). The batch is borrowed for the duration of the call. */
typedef int (*mdm_batch_sink)(const mdm_batch *batch, void *ctx);

typedef struct mdm_read_request {
    const char *table;
    const char *const *columns; /* NULL: all columns, in table order */
    size_t ncolumns;
    int64_t limit;              /* < 0: no limit */
    int64_t offset;             /* >= 0 */
    /* Optional SQL boolean expression over the table's columns, with parameters
     * written as ? (bound from `params`). Trusted text: callers build it from quoted
     * identifiers and never from user values. */
    const char *where;
    const mdm_value *params;
    size_t nparams;
    size_t batch_rows;          /* rows per delivered batch; 0: backend default */
} mdm_read_request;

/* Reads rows in table order (insertion order for tables written by append). */
int mdm_conn_read(mdm_conn *conn, const mdm_read_request *req, mdm_batch_sink sink, void *ctx);

/* Executes SQL with parameters written as ? and bound by position; result rows (if
 * any) go to `sink` (which may be NULL). *changes (may be NULL) gets the number of
 * rows changed where the engine reports it. */
int mdm_conn_execute(mdm_conn *conn, const char *sql, const mdm_value *params,
                     size_t nparams, mdm_batch_sink sink, void *ctx, int64_t *changes);

/* The dataset's key -> value metadata (the _metadata table). *value is NULL-free:
 * MDM_ENOTFOUND when the key is absent. Caller frees *value. */
int mdm_conn_metadata_get(mdm_conn *conn, const char *key, char **value);
int mdm_conn_metadata_set(mdm_conn *conn, const char *key, const char *value);

/* The backend-specific engine version ("3.40.1", "v1.4.4", "15.18"). Borrowed. */
const char *mdm_backend_library_version(const char *backend);
/* Names of registered backends, NULL-terminated, borrowed. */
const char *const *mdm_backend_names(void);

/* ------------------------------------------------------------------ read-only queries */

/* One read-only SQL statement, for people exploring a dataset (the `query` of the
 * dataset API, the HTTP server). */
typedef struct mdm_query_request {
    const char *sql;        /* one statement; trailing semicolons and comments are fine */
    int64_t limit;          /* <= 0: all rows; else at most this many, applied by the engine */
    uint64_t timeout_ms;    /* 0: none; else MDM_ETIMEOUT "query exceeded its time limit of
                               N ms", the engine's work interrupted */
    /* Optional: polled while the engine works (from the calling thread or another);
     * true interrupts the query, which returns MDM_ECANCELED. */
    bool (*canceled)(void *ctx);
    void *cancel_ctx;
} mdm_query_request;

/* Runs a read-only statement with the dataset's tables in scope (PostgreSQL: the
 * dataset's schema is on the search_path). A statement that would write (INSERT,
 * UPDATE, DELETE, CREATE, DROP, ATTACH, COPY, PRAGMA, SET, ...) or more than one
 * statement is refused with MDM_EINVALID saying why, before anything changes; a
 * syntax error is the engine's message on one line. The sink is called at least once:
 * the first batch may have zero rows and carries the result's column names and types.
 * PostgreSQL's hidden row ordinal (_mdm_row, which SELECT * would show) is left out, so
 * results look alike on every backend. Not inside an open transaction. Needs the
 * backend's `query` slot (MDM_ENOTSUP). */
int mdm_conn_query(mdm_conn *conn, const mdm_query_request *req, mdm_batch_sink sink,
                   void *ctx);

/* ------------------------------------------------------------------ identifiers */

/* Validates a table or column name: 1 to 63 bytes (PostgreSQL's limit) of valid UTF-8
 * without control characters. Spaces, quotes and unicode are allowed: every backend
 * quotes identifiers. */
int mdm_ident_check(const char *name);
/* Validates a dataset name and writes its normalized form (SPEC §4.1), as the Python
 * mdm does: letters and numbers as Python's str.isalnum() has them (any script), and
 * '_'; '-' becomes '_'; lower-cased as str.lower(); at most 100 characters. No '/' or
 * '.' can pass, so a name cannot escape the mdm home. */
int mdm_dataset_name_normalize(char *out, size_t size, const char *name);

#ifdef __cplusplus
}
#endif
#endif /* MDM_H */
