/* Every configuration key of SPEC.md §1, with default and constraint. Keep in schema
 * order: `mdm config show` prints in this order. */
#include "core/config_schema.h"

#include <string.h>

static const char *const backends[] = {"sqlite", "duckdb", "postgresql", NULL};
static const char *const log_levels[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", NULL};
static const char *const log_formats[] = {"json", "console", NULL};
static const char *const journal_modes[] = {"DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF", NULL};
static const char *const synchronous[] = {"OFF", "NORMAL", "FULL", "EXTRA", NULL};
static const char *const temp_store[] = {"DEFAULT", "FILE", "MEMORY", NULL};
static const char *const access_modes[] = {"READ_WRITE", "READ_ONLY", NULL};
static const char *const sslmodes[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full", NULL};
static const char *const export_formats[] = {"csv", "parquet", "json", NULL};
static const char *const compressions[] = {"none", "zip", "gzip", "snappy", "lz4", "zstd", NULL};
static const char *const output_formats[] = {"rich", "json", "csv", "table", NULL};

#define B(k, d, h) {k, CFG_BOOL, d, 0, 0, false, NULL, false, false, h}
#define I(k, d, lo, hi, h) {k, CFG_INT, d, lo, hi, true, NULL, false, false, h}
#define F(k, d, lo, hi, h) {k, CFG_FLOAT, d, lo, hi, true, NULL, false, false, h}
#define S(k, d, h) {k, CFG_STRING, d, 0, 0, false, NULL, false, false, h}
#define SN(k, d, h) {k, CFG_STRING, d, 0, 0, false, NULL, true, false, h}
#define E(k, d, c, h) {k, CFG_ENUM, d, 0, 0, false, c, false, false, h}
#define L(k, d, lo, h) {k, CFG_INT_LIST, d, lo, 1e9, true, NULL, false, false, h}

#define BIG 9.2e18

const config_key mdm_config_keys[] = {
    S("paths.datasets_path", "datasets/", "where dataset directories live (relative to home)"),
    S("paths.configs_path", "config/datasets/", "where dataset registry YAML files live"),
    S("paths.logs_path", "logs/", "where log files live"),
    S("paths.custom_features_path", "config/custom_features/", "custom feature modules"),

    E("database.default_backend", "sqlite", backends, "backend for new datasets"),
    I("database.connection_timeout", "30", 1, 86400, "seconds to wait for a connection or a lock"),
    B("database.sqlalchemy.echo", "false", "log every SQL statement at DEBUG"),
    I("database.sqlalchemy.pool_size", "5", 1, 10000, "SQLite pool size"),
    I("database.sqlalchemy.max_overflow", "0", 0, 10000, "extra connections opened under load above a pool's size, closed on return"),
    I("database.sqlalchemy.pool_timeout", "30", 1, 86400, "seconds a checkout waits for a pooled connection"),
    I("database.sqlalchemy.pool_recycle", "3600", -1, BIG, "seconds before a pooled connection is replaced (-1: never)"),

    I("database.pool.min_size", "1", 0, 10000, "connections each pool keeps open"),
    I("database.pool.max_size", "10", 1, 10000, "pool size of backends without their own key"),
    I("database.pool.idle_timeout", "600", 0, 86400 * 7, "seconds before an idle connection above min_size closes (0: never)"),
    I("database.pool.validation_window_ms", "500", 0, 86400000, "ping a connection idle longer than this"),
    I("database.pool.leak_threshold", "1800", 0, 86400 * 7, "seconds a connection may be held before it is reported (0: off); long loads hold one for minutes"),
    I("database.pool.connect_attempts", "3", 1, 100, "tries per connect, with exponential backoff"),
    I("database.pool.retry_base_ms", "100", 1, 3600000, "first backoff between connect tries"),
    I("database.pool.retry_max_ms", "5000", 1, 3600000, "longest backoff between connect tries"),
    I("database.pool.breaker_threshold", "5", 0, 10000, "consecutive connect failures that open the circuit breaker (0: never)"),
    I("database.pool.breaker_cooldown", "30", 1, 86400, "seconds the breaker stays open before one probe"),
    I("database.pool.monitor_interval_ms", "1000", 10, 3600000, "pool upkeep interval"),
    I("database.pool.max_waiters", "0", 0, 1000000, "checkouts that may queue for a pool's connections; past it a checkout fails at once, explaining why (0: no limit)"),

    E("database.sqlite.journal_mode", "WAL", journal_modes, "SQLite journal_mode pragma"),
    E("database.sqlite.synchronous", "NORMAL", synchronous, "SQLite synchronous pragma"),
    I("database.sqlite.cache_size", "-64000", -BIG, BIG, "SQLite cache_size pragma (negative: KiB)"),
    E("database.sqlite.temp_store", "MEMORY", temp_store, "SQLite temp_store pragma"),
    I("database.sqlite.mmap_size", "268435456", 0, BIG, "SQLite mmap_size pragma (bytes)"),

    S("database.duckdb.memory_limit", "8GB", "DuckDB memory_limit setting"),
    I("database.duckdb.threads", "0", 0, 1024, "DuckDB worker threads per database (0: one per CPU core)"),
    S("database.duckdb.temp_directory", "/tmp", "DuckDB spill directory"),
    E("database.duckdb.access_mode", "READ_WRITE", access_modes, "DuckDB access mode"),
    I("database.duckdb.pool_size", "10", 1, 10000, "DuckDB pool size"),

    S("database.postgresql.host", "localhost", "PostgreSQL server host or socket directory"),
    I("database.postgresql.port", "5432", 1, 65535, "PostgreSQL server port"),
    SN("database.postgresql.user", NULL, "PostgreSQL user"),
    {"database.postgresql.password", CFG_STRING, NULL, 0, 0, false, NULL, true, true, "PostgreSQL password"},
    S("database.postgresql.database", "mdm", "PostgreSQL database holding one schema per dataset"),
    S("database.postgresql.database_prefix", "mdm_", "prefix of each dataset's schema name"),
    E("database.postgresql.sslmode", "prefer", sslmodes, "libpq sslmode"),
    I("database.postgresql.pool_size", "25", 1, 10000, "PostgreSQL pool size (one pool per database)"),
    {"database.postgresql.conninfo", CFG_STRING, NULL, 0, 0, false, NULL, true, true, "libpq connection string; overrides host/port/user/password/database"},

    I("performance.batch_size", "10000", 100, 100000000, "rows per chunk when loading and computing features"),
    I("performance.max_concurrent_operations", "5", 1, 1024, "worker threads for parallel work"),

    E("logging.level", "INFO", log_levels, "log level of the log file"),
    S("logging.file", "mdm.log", "log file, relative to logs_path or absolute"),
    I("logging.max_bytes", "10485760", 1, BIG, "rotate the log file past this size"),
    I("logging.backup_count", "5", 0, 1000, "rotated log files kept (gzipped)"),
    E("logging.format", "console", log_formats, "log line format"),

    B("feature_engineering.enabled", "true", "generate features at registration"),
    I("feature_engineering.type_detection.categorical_threshold", "20", 1, BIG, "distinct values at most for a categorical column"),
    I("feature_engineering.type_detection.text_min_avg_length", "50", 1, BIG, "average length at least for a text column"),
    B("feature_engineering.type_detection.detect_datetime", "true", "detect date and time columns"),
    B("feature_engineering.generic.temporal.enabled", "true", "date/time features"),
    B("feature_engineering.generic.temporal.include_cyclical", "true", "sin/cos features"),
    B("feature_engineering.generic.temporal.include_lag", "false", "lag features"),
    B("feature_engineering.generic.categorical.enabled", "true", "categorical features"),
    I("feature_engineering.generic.categorical.max_cardinality", "50", 2, BIG, "one-hot at most this many values"),
    F("feature_engineering.generic.categorical.min_frequency", "0.01", 0, 1, "rare below this frequency"),
    B("feature_engineering.generic.statistical.enabled", "true", "numeric features"),
    B("feature_engineering.generic.statistical.include_log", "true", "log features"),
    B("feature_engineering.generic.statistical.include_zscore", "true", "z-score features"),
    F("feature_engineering.generic.statistical.outlier_threshold", "3.0", 1, 1e9, "z-score of an outlier"),
    B("feature_engineering.generic.text.enabled", "true", "text features"),
    I("feature_engineering.generic.text.min_text_length", "20", 0, BIG, "shortest text for text features"),
    B("feature_engineering.generic.binning.enabled", "true", "binning features"),
    L("feature_engineering.generic.binning.n_bins", "5,10", 2, "bin counts"),

    B("history.enabled", "true", "record operations in <home>/metrics.db"),
    I("history.retention_days", "90", 1, BIG, "days an operation stays in the history"),
    I("history.max_rows", "100000", 100, BIG, "operations kept in the history at most"),

    E("export.default_format", "csv", export_formats, "export file format"),
    E("export.compression", "zip", compressions, "export compression"),
    B("export.include_metadata", "true", "write <name>_metadata.json beside exports"),

    B("cache.enabled", "true", "mdm serve: keep query results and table pages in memory"),
    I("cache.max_bytes", "67108864", 0, BIG, "mdm serve: bytes of cached responses at most (LRU)"),
    I("cache.ttl_seconds", "300", 0, BIG, "mdm serve: seconds a cached response is served"),
    SN("cache.redis_url", NULL, "mdm serve: shared second cache tier (redis://host:port)"),

    B("validation.before_features.check_duplicates", "true", "count duplicate rows"),
    B("validation.before_features.drop_duplicates", "true", "drop duplicate rows"),
    B("validation.before_features.signal_detection", "false", "drop signal-less columns"),
    F("validation.before_features.max_missing_ratio", "0.99", 0, 1, "drop columns missing more"),
    I("validation.before_features.min_rows", "10", 0, BIG, "fewest rows accepted"),
    B("validation.after_features.check_duplicates", "false", "count duplicate rows"),
    B("validation.after_features.drop_duplicates", "false", "drop duplicate rows"),
    B("validation.after_features.signal_detection", "true", "drop signal-less features"),
    F("validation.after_features.max_missing_ratio", "0.99", 0, 1, "drop features missing more"),
    I("validation.after_features.min_rows", "10", 0, BIG, "fewest rows accepted"),

    E("cli.default_output_format", "rich", output_formats, "output format of read commands"),
    I("cli.page_size", "20", 1, BIG, "rows per page"),
    B("cli.confirm_destructive", "true", "ask before removing"),
    B("cli.show_progress", "true", "progress bars on a terminal"),

    B("development.debug_mode", "false", "debug logging everywhere"),
    B("development.profile_operations", "false", "log the duration of each operation"),
    B("development.explain_queries", "false", "log query plans"),
};

const size_t mdm_config_nkeys = sizeof mdm_config_keys / sizeof mdm_config_keys[0];

long mdm_config_key_index(const char *key)
{
    for (size_t i = 0; i < mdm_config_nkeys; i++)
        if (strcmp(mdm_config_keys[i].key, key) == 0)
            return (long)i;
    return -1;
}
