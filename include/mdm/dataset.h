/*
 * mdm — the public dataset API: what every front end (the command line, the Python
 * package, the HTTP server, migration) uses to register, find, read, describe, export
 * and remove datasets. Nothing here needs a private header.
 *
 * Conventions as in mdm.h: int results are 0 or a negative MDM_E* code with
 * mdm_error_last() holding one clear line; output parameters first; what comes back
 * through `T **out` is the caller's and is released with the matching *_free().
 *
 * Two handles:
 *   mdm_catalog   the datasets of one mdm home (opened from an mdm_config). Thread-safe:
 *                 any number of threads may call into one catalog at once.
 *   mdm_dataset   one dataset resolved once: normalized name, record, backend, paths and
 *                 (on first use) its store. Open one per use; a handle may be used by
 *                 several threads at once for reads (each read checks its own
 *                 connection out of the store's pool).
 * Names are case-insensitive everywhere ("Titanic" and "titanic" are one dataset).
 */
#ifndef MDM_DATASET_H
#define MDM_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mdm/arrow.h"
#include "mdm/mdm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* jansson's JSON value, for the `extra` members (include <jansson.h> to read them). */
struct json_t;

/* ------------------------------------------------------------------ records */

typedef struct mdm_strlist {
    char **items;
    size_t count;
} mdm_strlist;

/* An ordered string -> string map (table kind -> table name). */
typedef struct mdm_strmap {
    char **keys;
    char **values;
    size_t count;
} mdm_strmap;

/* Where a dataset lives. Never holds a password. */
typedef struct mdm_dataset_database {
    char *backend;  /* "sqlite", "duckdb", "postgresql" (as the Python mdm names them) */
    char *path;     /* file backends: the database file (absolute) */
    char *host;     /* PostgreSQL */
    int64_t port;   /* 0: not set */
    char *database;
    char *schema;
    char *user;
    struct json_t *extra; /* other keys, kept as read */
} mdm_dataset_database;

/* One column of a table as the catalog keeps it. `extra` holds what else is known
 * (semantic_type, null_ratio, distinct, ...). */
typedef struct mdm_dataset_column {
    char *name;
    char *type;        /* mdm type name ("int64", ...) or another tool's dtype */
    char *description; /* may be NULL */
    struct json_t *extra;
} mdm_dataset_column;

typedef struct mdm_dataset_table_columns {
    char *table;       /* table kind as in `tables` ("train"), or a table name */
    mdm_dataset_column *columns;
    size_t count;
} mdm_dataset_table_columns;

typedef struct mdm_dataset_statistics {
    bool present;              /* metadata.statistics exists */
    int64_t row_count;         /* total over train/test/validation/data; -1 unknown */
    int64_t memory_size_bytes; /* -1 unknown */
    char *computed_at;         /* ISO 8601 as written */
    mdm_strlist row_count_tables; /* per-table row counts: table kind ... */
    int64_t *row_counts;          /* ... and its count, parallel arrays */
    struct json_t *extra;
} mdm_dataset_statistics;

/* The catalog's record of a dataset (the registry YAML and dataset_info.json). Keys as
 * the Python mdm writes them. Strings are UTF-8; NULL means absent. Read-only for
 * callers: change a dataset through mdm_catalog_update. */
typedef struct mdm_dataset_info {
    char *name;          /* normalized (lower-case) */
    char *display_name;
    char *description;
    mdm_dataset_database database;
    mdm_strmap tables;          /* kind -> table name */
    char *problem_type;
    char *target_column;
    mdm_strlist id_columns;
    char *time_column;
    char *group_column;
    mdm_strmap feature_tables;  /* kind -> feature table name */
    int64_t registered_at;      /* microseconds since the epoch, UTC */
    bool has_registered_at;
    int64_t last_updated_at;
    bool has_last_updated_at;
    mdm_strlist tags;
    char *source;               /* absolute path (or --source) of what was registered */
    char *version;              /* "1.0.0" */
    mdm_strlist datetime_columns;
    mdm_dataset_statistics statistics;
    mdm_dataset_table_columns *columns; /* per table */
    size_t ncolumn_tables;
    struct json_t *metadata_extra;
    struct json_t *extra;
} mdm_dataset_info;

MDM_EXTERN void mdm_dataset_info_free(mdm_dataset_info *info);
MDM_EXTERN void mdm_dataset_infos_free(mdm_dataset_info **infos, size_t count);
MDM_EXTERN int mdm_dataset_info_clone(mdm_dataset_info **out, const mdm_dataset_info *info);
/* The record as the JSON text of dataset_info.json (2-space indent). Caller frees. */
MDM_EXTERN int mdm_dataset_info_to_json(char **out, const mdm_dataset_info *info);
/* Total rows when statistics know them, else -1; estimated memory bytes likewise. */
MDM_EXTERN int64_t mdm_dataset_info_rows(const mdm_dataset_info *info);
MDM_EXTERN int64_t mdm_dataset_info_memory(const mdm_dataset_info *info);
/* Column summaries of a table kind or name; NULL when the catalog has none. */
MDM_EXTERN const mdm_dataset_table_columns *mdm_dataset_info_columns(const mdm_dataset_info *info,
                                                          const char *table);
/* Looks a key up; NULL when absent. */
MDM_EXTERN const char *mdm_strmap_get(const mdm_strmap *map, const char *key);
/* "2024-01-15T10:30:00.123456+00:00", as the Python mdm writes times. Returns length. */
MDM_EXTERN int mdm_time_format(char *buf, size_t size, int64_t micros);
/* The problem types --problem-type accepts, NULL-terminated. */
MDM_EXTERN extern const char *const mdm_problem_types[];

/* ------------------------------------------------------------------ catalog */

typedef struct mdm_catalog mdm_catalog;

/* Opens the catalog of cfg's home. The catalog keeps its own copy of cfg. */
MDM_EXTERN int mdm_catalog_open(mdm_catalog **out, const mdm_config *cfg);
MDM_EXTERN void mdm_catalog_free(mdm_catalog *cat);
/* The catalog's configuration (borrowed). */
MDM_EXTERN const mdm_config *mdm_catalog_config(const mdm_catalog *cat);

MDM_EXTERN int mdm_catalog_exists(bool *exists, mdm_catalog *cat, const char *name);
/* MDM_ENOTFOUND "Dataset 'x' not found" when absent. */
MDM_EXTERN int mdm_catalog_get(mdm_dataset_info **out, mdm_catalog *cat, const char *name);

/* `dataset list`: filter language and sort keys as documented in docs/USER_GUIDE.md
 * ("rows>1000,problem_type=regression", "registration_date:asc"). */
typedef struct mdm_list_options {
    const char *filter;   /* NULL: all */
    const char *sort_by;  /* NULL: name */
    size_t limit;         /* 0: no limit */
} mdm_list_options;

MDM_EXTERN int mdm_catalog_list(mdm_dataset_info ***out, size_t *count, mdm_catalog *cat,
                     const mdm_list_options *opt);

/* `dataset search`: name, then description, tags, columns (deep) and registry text. */
typedef struct mdm_search_options {
    const char *query;     /* substring (glob over the name with `pattern`) */
    bool pattern;
    bool case_sensitive;
    const char *tag;       /* only datasets with this tag; a tag alone matches them all */
    bool deep;             /* also column names and descriptions */
    size_t limit;          /* 0: all */
} mdm_search_options;

typedef struct mdm_search_match {
    mdm_dataset_info *info;
    const char *location;  /* "name", "description", "tags", "columns", "content", "tag" */
    char *detail;          /* what matched for "columns" ("train.passenger_id"), else NULL */
} mdm_search_match;

MDM_EXTERN int mdm_catalog_search(mdm_search_match **out, size_t *count, mdm_catalog *cat,
                       const mdm_search_options *opt);
MDM_EXTERN void mdm_search_matches_free(mdm_search_match *matches, size_t count);

/* `dataset update`: each non-NULL field replaces the stored one (empty clears). Taken
 * under the dataset's lock. Nothing to change is MDM_EINVALID "No updates specified". */
typedef struct mdm_dataset_changes {
    const char *description;
    const char *target_column;  /* checked against the columns */
    const char *problem_type;   /* checked */
    const char *id_columns;     /* comma-separated */
    const char *tags;           /* comma-separated; replaces */
} mdm_dataset_changes;

MDM_EXTERN int mdm_catalog_update(mdm_dataset_info **out, mdm_catalog *cat, const char *name,
                       const mdm_dataset_changes *changes);

/* Removes the dataset: registry entry and its storage (files or PostgreSQL schema),
 * under the dataset's lock. MDM_ENOTFOUND when nothing of it exists. */
MDM_EXTERN int mdm_catalog_remove(mdm_catalog *cat, const char *name);
/* Bytes of the files under <datasets_path>/<name>/ (apparent sizes; metadata only for
 * server backends; 0 when there is none). */
MDM_EXTERN int mdm_catalog_dataset_size(uint64_t *bytes, mdm_catalog *cat, const char *name);
/* Bytes of everything under <datasets_path> (every dataset's files). */
MDM_EXTERN int mdm_catalog_storage_size(uint64_t *bytes, mdm_catalog *cat);

/* ------------------------------------------------------------------ register */

/* A token another thread can trip to cancel a long operation (registration, reads,
 * export). The operation returns MDM_ECANCELED and leaves nothing behind. */
typedef struct mdm_cancel mdm_cancel;
MDM_EXTERN int mdm_cancel_new(mdm_cancel **out);
MDM_EXTERN void mdm_cancel_free(mdm_cancel *cancel);
MDM_EXTERN void mdm_cancel_request(mdm_cancel *cancel);
MDM_EXTERN bool mdm_cancel_requested(const mdm_cancel *cancel);

typedef struct mdm_register_progress {
    const char *table;     /* the table being loaded */
    size_t table_index, ntables;
    uint64_t rows;         /* rows of this table written so far */
    uint64_t bytes_done;   /* of this file, when the reader knows (else 0) */
    uint64_t bytes_total;
    double elapsed_s;      /* since this table started */
    bool finished;         /* the table is complete */
} mdm_register_progress;

typedef void (*mdm_register_progress_fn)(const mdm_register_progress *p, void *ctx);

/* Every option of `mdm dataset register`. */
typedef struct mdm_register_options {
    const char *name;          /* as the user wrote it */
    const char *path;          /* a file or directory; NULL: "." (unless manual files) */
    const char *backend;       /* sqlite, duckdb, postgresql; NULL: database.default_backend */
    const char *target;        /* checked against the train (or only) table */
    const char *id_columns;    /* comma-separated; NULL: detected */
    const char *problem_type;  /* checked; NULL: detected from the target */
    const char *description;
    const char *tags;          /* comma-separated */
    const char *time_column;
    const char *group_column;
    const char *categorical_columns; /* semantic type overrides, comma-separated */
    const char *datetime_columns;
    const char *numeric_columns;
    const char *text_columns;
    const char *stratify_column;
    const char *ignore_columns;  /* columns left out of every table */
    const char *source;          /* recorded as the source instead of the path */
    const char *train, *test, *validation, *submission; /* manual files (no discovery) */
    bool dry_run;              /* read and analyse everything, write nothing */
    bool skip_analysis;        /* no statistics while loading */
    bool force;                /* replace an existing dataset; the old one stays readable
                                  until the new one commits */
    bool no_features;          /* skip feature generation */
    mdm_register_progress_fn progress;
    void *progress_ctx;
    mdm_cancel *cancel;        /* NULL: not cancellable */
} mdm_register_options;

/* Registers; *out gets the committed record (dry_run: the record it would commit).
 * Takes the name's lock (waiting up to database.connection_timeout for another
 * registration of the name). `cancel` is checked between batches and between steps:
 * MDM_ECANCELED, and nothing of the new dataset is left (a replaced one stays).
 * *notes (may be NULL; free with mdm_strlist_free) gets what the user should hear about,
 * one line each. */
MDM_EXTERN int mdm_dataset_register(mdm_dataset_info **out, mdm_strlist *notes, mdm_catalog *cat,
                         const mdm_register_options *opt);
MDM_EXTERN void mdm_strlist_free(mdm_strlist *list);

/* ------------------------------------------------------------------ one dataset */

typedef struct mdm_dataset mdm_dataset;

/* Resolves `name` once. MDM_ENOTFOUND when it is not registered. When a replacement
 * (`register --force`) of the dataset was interrupted by a crash, opening puts the
 * dataset in order first (the old one back, or the new one kept). */
MDM_EXTERN int mdm_dataset_open(mdm_dataset **out, mdm_catalog *cat, const char *name);
MDM_EXTERN void mdm_dataset_close(mdm_dataset *ds);

MDM_EXTERN const char *mdm_dataset_name(const mdm_dataset *ds);               /* normalized */
MDM_EXTERN const mdm_dataset_info *mdm_dataset_record(const mdm_dataset *ds); /* as opened */
MDM_EXTERN const char *mdm_dataset_backend(const mdm_dataset *ds);  /* registry name: "postgres" */
MDM_EXTERN const char *mdm_dataset_dir(const mdm_dataset *ds);      /* <datasets_path>/<name> */
/* The dataset's store, opened on first use (borrowed; lives with the handle). */
MDM_EXTERN int mdm_dataset_store(mdm_store **out, mdm_dataset *ds);

/* The table behind a kind ("train") or a table name of the dataset; MDM_ENOTFOUND
 * "Table 'x' not found in dataset 'y'" naming the tables otherwise. Borrowed. */
MDM_EXTERN int mdm_dataset_table_name(const char **out, const mdm_dataset *ds, const char *table);
/* A table's columns from the engine; free with mdm_fields_free. */
MDM_EXTERN int mdm_dataset_table_schema(mdm_field **fields, size_t *nfields, mdm_dataset *ds,
                             const char *table);
/* Row count from the engine. */
MDM_EXTERN int mdm_dataset_table_rows(int64_t *rows, mdm_dataset *ds, const char *table);

/* Reading a table: insertion order; column subset, limit and offset go down to the
 * engine. The sink is called at least once: the first batch may have zero rows, and
 * carries the column names and types even when no row matches. */
typedef struct mdm_table_read {
    const char *table;                 /* kind or name */
    const char *const *columns;        /* NULL: all, in table order */
    size_t ncolumns;
    int64_t limit;                     /* < 0: no limit */
    int64_t offset;
    size_t batch_rows;                 /* 0: backend default */
    mdm_cancel *cancel;
} mdm_table_read;

MDM_EXTERN int mdm_dataset_read(mdm_dataset *ds, const mdm_table_read *req, mdm_batch_sink sink,
                     void *ctx);

/* Read-only SQL on the dataset's engine, tables named as in the dataset. A statement
 * that would write is refused (MDM_EINVALID saying why). Same sink contract as reads:
 * column names and types arrive even for an empty result. */
typedef struct mdm_query_options {
    int64_t limit;          /* < 0 or 0: no limit */
    uint64_t timeout_ms;    /* 0: none */
    mdm_cancel *cancel;
} mdm_query_options;

MDM_EXTERN int mdm_dataset_query(mdm_dataset *ds, const char *sql, const mdm_query_options *opt,
                      mdm_batch_sink sink, void *ctx);

/* ------------------------------------------------------------------ statistics, export */

typedef struct mdm_stats_options {
    bool full;        /* percentiles, shape, correlations, duplicates */
    bool recompute;   /* ignore the cached document (full implies it) */
} mdm_stats_options;

/* The statistics document (metadata/statistics.json's form) as JSON text: the cached
 * one unless recomputed; a recomputed document is cached. Caller frees. */
MDM_EXTERN int mdm_dataset_stats(char **json, mdm_dataset *ds, const mdm_stats_options *opt);
/* Writes them to `path` in the form its extension names (.yaml/.yml, .csv, else JSON). */
MDM_EXTERN int mdm_dataset_stats_export(mdm_dataset *ds, const char *path,
                             const mdm_stats_options *opt);

typedef struct mdm_export_options {
    const char *output_dir;  /* NULL: the current directory */
    const char *table;       /* a table kind or name; NULL: all */
    const char *format;      /* csv, json, parquet; NULL: export.default_format */
    const char *compression; /* NULL: export.compression */
    bool metadata_only;
    bool no_header;
    mdm_cancel *cancel;
} mdm_export_options;

/* Writes <out>/<name>_metadata.json and <out>/<name>_<kind>.<fmt>[.gz|.zip|...]; *paths
 * (free with mdm_paths_free) lists the files written, in order. */
MDM_EXTERN int mdm_dataset_export(char ***paths, size_t *npaths, mdm_dataset *ds,
                       const mdm_export_options *opt);
MDM_EXTERN void mdm_paths_free(char **paths, size_t npaths);

/* ------------------------------------------------------------------ Arrow */

/* A table read or a query as an Arrow stream (a struct of columns per batch: int64 "l",
 * float64 "g", bool "b", text "u", date "tdD", timestamp "tsu:"). The stream holds a
 * connection until released; `ds` must outlive it. */
MDM_EXTERN int mdm_dataset_read_arrow(struct ArrowArrayStream *out, mdm_dataset *ds,
                           const mdm_table_read *req);
MDM_EXTERN int mdm_dataset_query_arrow(struct ArrowArrayStream *out, mdm_dataset *ds, const char *sql,
                            const mdm_query_options *opt);

/* ------------------------------------------------------------------ history */

/* Every public call that reads or changes a dataset (register, read, query, stats,
 * export, update, remove) records one operation in <home>/metrics.db (SQLite, WAL): its
 * type, dataset, start, duration, rows and bytes when known, and its outcome with the
 * error message. Recording never fails the operation (a failure is a logged warning)
 * and keeps the caller's mdm_error_last(). Config: history.enabled (true),
 * history.retention_days (90), history.max_rows (100000). Thread- and process-safe. */

/* The operation types, NULL-terminated: "dataset_register", "dataset_read",
 * "dataset_export", "dataset_update", "dataset_remove", "dataset_stats",
 * "query_execution", "feature_generation", "error", "storage_operation". */
MDM_EXTERN extern const char *const mdm_history_types[];

typedef struct mdm_history_op {
    const char *type;     /* one of mdm_history_types (others are kept as given) */
    const char *dataset;  /* normalized name; NULL: none */
    int64_t started_at;   /* microseconds since the epoch, UTC; 0: now */
    double duration_ms;
    int64_t rows;         /* -1: unknown */
    int64_t bytes;        /* -1: unknown */
    bool ok;
    const char *error;    /* the message when !ok */
} mdm_history_op;

/* Records one operation (nothing when history.enabled is false). */
MDM_EXTERN int mdm_history_record(const mdm_config *cfg, const mdm_history_op *op);

typedef struct mdm_history_filter {
    size_t limit;         /* 0: all */
    const char *dataset;  /* NULL: any */
    const char *type;     /* NULL: any */
} mdm_history_filter;

/* Newest first, as JSON text (caller frees):
 * {"operations":[{"id":N,"type":"dataset_register","dataset":"x"|null,
 *   "started_at":"ISO","duration_ms":x,"rows":N|null,"bytes":N|null,
 *   "outcome":"ok"|"error","error":null|"..."}]}
 * An empty list when there is no history yet. */
MDM_EXTERN int mdm_history_list(char **json, const mdm_config *cfg, const mdm_history_filter *f);
/* {"total":N,"by_type":{"dataset_register":N,..},"by_outcome":{"ok":N,"error":N},
 *  "datasets":N,"first":"ISO"|null,"last":"ISO"|null,"total_duration_ms":x,
 *  "mean_duration_ms":x,"rows":N,"bytes":N}, over one dataset when `dataset` is set. */
MDM_EXTERN int mdm_history_summary(char **json, const mdm_config *cfg, const char *dataset);
/* Removes operations older than `days` days (0: all); *removed (may be NULL) gets the
 * count. */
MDM_EXTERN int mdm_history_cleanup(int64_t *removed, const mdm_config *cfg, int64_t days);

/* ------------------------------------------------------------------ dashboard */

/* The dashboard page (src/server/dashboard/index.html, self-contained; it fetches the
 * `mdm serve` routes relative to itself). Static, NUL-terminated. */
MDM_EXTERN const char *mdm_dashboard_html(void);
/* Writes the page to `path` with a snapshot of the catalog embedded
 * (window.MDM_SNAPSHOT: datasets, their columns and statistics, the history and its
 * summary), so that it works when opened as a file. */
MDM_EXTERN int mdm_dashboard_write(mdm_catalog *cat, const char *path);

/* ------------------------------------------------------------------ change stamp */

/* A number that changes whenever the dataset's registry entry is written (register,
 * --force, update, remove), by this process or another: a stat() of its registry YAML
 * (inode, size, modification and change times), which every change replaces
 * atomically. Cheap enough to call per request. MDM_ENOTFOUND when not registered. */
MDM_EXTERN int mdm_catalog_change_stamp(uint64_t *stamp, mdm_catalog *cat, const char *name);

/* ------------------------------------------------------------------ verify */

/* Registration records digests of every table (metadata.checksums.<table>: "rows", a
 * whole-table digest and one per column; order-independent XXH3 sums over each value's
 * canonical typed form, the table's over each row's full tuple). mdm_dataset_verify
 * reads the tables again through the engine and compares. */
typedef struct mdm_verify_table {
    char *table;            /* table kind ("train") */
    bool recorded;          /* none were recorded (registered before digests): recorded now */
    bool ok;                /* everything matches (true when `recorded`) */
    int64_t expected_rows;  /* as recorded */
    int64_t actual_rows;    /* as read now */
    bool table_differs;     /* the whole-table digest differs (values moved between rows) */
    mdm_strlist columns;    /* columns whose digests differ, or that appeared or went */
} mdm_verify_table;

typedef struct mdm_verify_result {
    bool ok;                /* every table verified */
    mdm_verify_table *tables;
    size_t count;
} mdm_verify_result;

/* Verifies every table of the dataset, or only `table` (a kind or name; NULL: all).
 * Tables without recorded digests get them recorded (in the registry entry and
 * dataset_info.json, under the dataset's lock) and count as verified. A mismatch is not
 * an error: *out says what differs. Free with mdm_verify_result_free. */
MDM_EXTERN int mdm_dataset_verify(mdm_verify_result **out, mdm_dataset *ds, const char *table);
MDM_EXTERN void mdm_verify_result_free(mdm_verify_result *result);

#ifdef __cplusplus
}
#endif
#endif /* MDM_DATASET_H */
