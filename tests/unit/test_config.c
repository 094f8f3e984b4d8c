/* Configuration: defaults, the home, mdm.yaml (coercion and constraints of every kind,
 * syntax errors with line and column, unknown keys with the closest known key), paths,
 * set/format with masked secrets, and getters shared by many threads. */
#include "unit/config_fixture.h"

#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>

#include "core/config_schema.h"

/* ------------------------------------------------------------------ defaults, home */

static void test_defaults_without_file(void **state)
{
    fixture *f = *state;
    mdm_config *cfg = load_ok(f);
    assert_string_equal(mdm_config_home(cfg), f->home);
    assert_string_equal(mdm_config_file(cfg), f->file);
    assert_int_equal(mdm_config_int(cfg, "performance.batch_size"), 10000);
    assert_string_equal(mdm_config_str(cfg, "database.default_backend"), "sqlite");
    assert_string_equal(mdm_config_str(cfg, "database.sqlite.journal_mode"), "WAL");
    assert_int_equal(mdm_config_int(cfg, "database.sqlite.cache_size"), -64000);
    assert_string_equal(mdm_config_str(cfg, "database.duckdb.memory_limit"), "8GB");
    assert_null(mdm_config_str(cfg, "database.postgresql.password"));
    assert_null(mdm_config_str(cfg, "database.postgresql.user"));
    assert_true(mdm_config_bool(cfg, "feature_engineering.enabled"));
    assert_false(mdm_config_bool(cfg, "development.debug_mode"));
    assert_true(mdm_config_double(cfg, "feature_engineering.generic.categorical.min_frequency") == 0.01);
    assert_true(mdm_config_double(cfg, "performance.batch_size") == 10000.0);
    assert_int_equal(mdm_config_list_len(cfg, "feature_engineering.generic.binning.n_bins"), 2);
    assert_int_equal(mdm_config_list_int(cfg, "feature_engineering.generic.binning.n_bins", 0), 5);
    assert_int_equal(mdm_config_list_int(cfg, "feature_engineering.generic.binning.n_bins", 1), 10);
    char expected[256];
    snprintf(expected, sizeof expected, "%s/datasets", f->home);
    assert_string_equal(mdm_config_path(cfg, "datasets_path"), expected);
    snprintf(expected, sizeof expected, "%s/config/datasets", f->home);
    assert_string_equal(mdm_config_path(cfg, "configs_path"), expected);
    assert_string_equal(mdm_config_path(cfg, "paths.configs_path"), expected);
    snprintf(expected, sizeof expected, "%s/logs", f->home);
    assert_string_equal(mdm_config_path(cfg, "logs_path"), expected);
    snprintf(expected, sizeof expected, "%s/config/custom_features", f->home);
    assert_string_equal(mdm_config_path(cfg, "custom_features_path"), expected);
    /* Loading creates nothing. */
    struct stat st;
    snprintf(expected, sizeof expected, "%s/datasets", f->home);
    assert_int_equal(stat(expected, &st), -1);
    snprintf(expected, sizeof expected, "%s/logs", f->home);
    assert_int_equal(stat(expected, &st), -1);
    assert_string_equal(f->warnings, "");
    mdm_config_free(cfg);
}

static void test_empty_and_comment_only_files_mean_defaults(void **state)
{
    fixture *f = *state;
    const char *texts[] = {"", "# nothing here\n\n", "---\n", "~\n", "database:\n  # later\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        write_yaml(f, texts[i]);
        mdm_config *cfg = load_ok(f);
        assert_int_equal(mdm_config_int(cfg, "performance.batch_size"), 10000);
        mdm_config_free(cfg);
    }
    assert_string_equal(f->warnings, "");
}

static void test_defaults_ignore_file_and_environment(void **state)
{
    fixture *f = *state;
    write_yaml(f, "performance:\n  batch_size: 500\n");
    setenv("MDM_DATABASE_DEFAULT_BACKEND", "duckdb", 1);
    mdm_config *cfg = NULL;
    assert_int_equal(mdm_config_defaults(&cfg, f->home), 0);
    assert_int_equal(mdm_config_int(cfg, "performance.batch_size"), 10000);
    assert_string_equal(mdm_config_str(cfg, "database.default_backend"), "sqlite");
    mdm_config_free(cfg);
}

static void test_home_resolution(void **state)
{
    fixture *f = *state;
    char expected[256], cwd[256];
    mdm_config *cfg = NULL;

    /* $MDM_HOME_DIR when no argument; trailing slashes and "." dropped. */
    snprintf(expected, sizeof expected, "%s/./sub//", f->home);
    setenv("MDM_HOME_DIR", expected, 1);
    assert_int_equal(mdm_config_load(&cfg, NULL), 0);
    snprintf(expected, sizeof expected, "%s/sub", f->home);
    assert_string_equal(mdm_config_home(cfg), expected);
    snprintf(expected, sizeof expected, "%s/sub/mdm.yaml", f->home);
    assert_string_equal(mdm_config_file(cfg), expected);
    mdm_config_free(cfg);

    /* The argument wins over $MDM_HOME_DIR. */
    assert_int_equal(mdm_config_load(&cfg, f->home), 0);
    assert_string_equal(mdm_config_home(cfg), f->home);
    mdm_config_free(cfg);
    unsetenv("MDM_HOME_DIR");

    /* A relative home is made absolute against the current directory. */
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->home), 0);
    assert_int_equal(mdm_config_load(&cfg, "rel/../homedir"), 0);
    snprintf(expected, sizeof expected, "%s/homedir", f->home);
    assert_string_equal(mdm_config_home(cfg), expected);
    mdm_config_free(cfg);
    assert_int_equal(chdir(cwd), 0);

    /* Without either: ~/.mdm. */
    char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    setenv("HOME", f->home, 1);
    assert_int_equal(mdm_config_load(&cfg, NULL), 0);
    snprintf(expected, sizeof expected, "%s/.mdm", f->home);
    assert_string_equal(mdm_config_home(cfg), expected);
    mdm_config_free(cfg);
    /* "~" in $MDM_HOME_DIR (quoted, so the shell left it). */
    setenv("MDM_HOME_DIR", "~/elsewhere", 1);
    assert_int_equal(mdm_config_load(&cfg, NULL), 0);
    snprintf(expected, sizeof expected, "%s/elsewhere", f->home);
    assert_string_equal(mdm_config_home(cfg), expected);
    mdm_config_free(cfg);
    if (saved_home)
        setenv("HOME", saved_home, 1);
    else
        unsetenv("HOME");
    free(saved_home);
}

/* ------------------------------------------------------------------ YAML values */

static void test_yaml_values_of_every_kind(void **state)
{
    fixture *f = *state;
    write_yaml(f,
               "database:\n"
               "  default_backend: DuckDB\n"            /* enum, any case, stored canonical */
               "  sqlalchemy:\n"
               "    echo: Yes\n"                         /* bool spellings */
               "    pool_size: 7\n"
               "  sqlite:\n"
               "    journal_mode: delete\n"
               "    cache_size: -2000\n"
               "  duckdb:\n"
               "    memory_limit: 512MB\n"
               "    threads: 2\n"
               "  postgresql:\n"
               "    user: ~\n"                           /* null where allowed */
               "    password: \"null\"\n"                /* quoted: the string null */
               "    host: 10.0.0.1\n"
               "    port: 6543\n"
               "performance: {batch_size: 250, max_concurrent_operations: 3}\n"
               "logging:\n"
               "  level: warning\n"
               "  format: JSON\n"
               "feature_engineering:\n"
               "  enabled: off\n"
               "  generic:\n"
               "    categorical: {min_frequency: 0.25}\n"
               "    statistical:\n"
               "      outlier_threshold: 4\n"
               "    binning:\n"
               "      n_bins: [3, 7, 9]\n"
               "    text:\n"
               "      enabled: FALSE\n"
               "export:\n"
               "  compression: GZIP\n"
               "cli:\n"
               "  show_progress: ON\n");
    mdm_config *cfg = load_ok(f);
    assert_string_equal(f->warnings, "");
    assert_string_equal(mdm_config_str(cfg, "database.default_backend"), "duckdb");
    assert_true(mdm_config_bool(cfg, "database.sqlalchemy.echo"));
    assert_int_equal(mdm_config_int(cfg, "database.sqlalchemy.pool_size"), 7);
    assert_string_equal(mdm_config_str(cfg, "database.sqlite.journal_mode"), "DELETE");
    assert_int_equal(mdm_config_int(cfg, "database.sqlite.cache_size"), -2000);
    assert_string_equal(mdm_config_str(cfg, "database.duckdb.memory_limit"), "512MB");
    assert_int_equal(mdm_config_int(cfg, "database.duckdb.threads"), 2);
    assert_null(mdm_config_str(cfg, "database.postgresql.user"));
    assert_string_equal(mdm_config_str(cfg, "database.postgresql.password"), "null");
    assert_string_equal(mdm_config_str(cfg, "database.postgresql.host"), "10.0.0.1");
    assert_int_equal(mdm_config_int(cfg, "database.postgresql.port"), 6543);
    assert_int_equal(mdm_config_int(cfg, "performance.batch_size"), 250);
    assert_int_equal(mdm_config_int(cfg, "performance.max_concurrent_operations"), 3);
    assert_string_equal(mdm_config_str(cfg, "logging.level"), "WARNING");
    assert_string_equal(mdm_config_str(cfg, "logging.format"), "json");
    assert_false(mdm_config_bool(cfg, "feature_engineering.enabled"));
    assert_true(mdm_config_double(cfg, "feature_engineering.generic.categorical.min_frequency") == 0.25);
    assert_true(mdm_config_double(cfg, "feature_engineering.generic.statistical.outlier_threshold") == 4.0);
    assert_int_equal(mdm_config_list_len(cfg, "feature_engineering.generic.binning.n_bins"), 3);
    assert_int_equal(mdm_config_list_int(cfg, "feature_engineering.generic.binning.n_bins", 2), 9);
    assert_false(mdm_config_bool(cfg, "feature_engineering.generic.text.enabled"));
    assert_string_equal(mdm_config_str(cfg, "export.compression"), "gzip");
    assert_true(mdm_config_bool(cfg, "cli.show_progress"));
    /* Keys not in the file keep their defaults. */
    assert_string_equal(mdm_config_str(cfg, "database.sqlite.synchronous"), "NORMAL");
    mdm_config_free(cfg);
}

static void test_yaml_list_as_text_and_flat_dotted_keys(void **state)
{
    fixture *f = *state;
    write_yaml(f, "feature_engineering:\n  generic:\n    binning:\n      n_bins: \"4, 8\"\n"
                  "database.sqlite.synchronous: full\n");
    mdm_config *cfg = load_ok(f);
    assert_int_equal(mdm_config_list_len(cfg, "feature_engineering.generic.binning.n_bins"), 2);
    assert_int_equal(mdm_config_list_int(cfg, "feature_engineering.generic.binning.n_bins", 0), 4);
    assert_int_equal(mdm_config_list_int(cfg, "feature_engineering.generic.binning.n_bins", 1), 8);
    assert_string_equal(mdm_config_str(cfg, "database.sqlite.synchronous"), "FULL");
    mdm_config_free(cfg);
}

/* ------------------------------------------------------------------ YAML errors */

static void test_yaml_syntax_error_names_line_and_column(void **state)
{
    fixture *f = *state;
    char expected[512];
    write_yaml(f, "database:\n  default_backend: sqlite\n  sqlite: [WAL\n");
    snprintf(expected, sizeof expected,
             "Failed to load configuration from %s: line 4, column 1: did not find expected ',' or ']' "
             "(while parsing a flow sequence that started at line 3, column 11)",
             f->file);
    assert_message(load_fails(f), expected);

    write_yaml(f, "performance:\n  batch_size: 500\n    max_concurrent_operations: 3\n");
    snprintf(expected, sizeof expected,
             "Failed to load configuration from %s: line 3, column 30: mapping values are not allowed "
             "in this context",
             f->file);
    assert_message(load_fails(f), expected);

    write_yaml(f, "logging:\n  level: \"INFO\n");
    snprintf(expected, sizeof expected, "Failed to load configuration from %s: line 3, column 1: ", f->file);
    assert_contains(load_fails(f), expected);
}

static void test_yaml_bad_encoding_names_line_and_column(void **state)
{
    fixture *f = *state;
    write_yaml(f, "logging:\n  file: ab\xff\n");
    char expected[256];
    snprintf(expected, sizeof expected,
             "Failed to load configuration from %s: line 2, column 11: invalid leading UTF-8 octet (byte 0xff)",
             f->file);
    assert_message(load_fails(f), expected);
}

static void test_yaml_top_level_must_be_a_mapping(void **state)
{
    fixture *f = *state;
    char expected[512];
    write_yaml(f, "- database\n- logging\n");
    snprintf(expected, sizeof expected,
             "Failed to load configuration from %s: line 1, column 1: the top level must be a mapping of "
             "sections (like 'database:'), not a list",
             f->file);
    assert_message(load_fails(f), expected);
    write_yaml(f, "just words\n");
    snprintf(expected, sizeof expected,
             "Failed to load configuration from %s: line 1, column 1: the top level must be a mapping of "
             "sections (like 'database:'), not a plain value",
             f->file);
    assert_message(load_fails(f), expected);
    write_yaml(f, "logging: {level: INFO}\n---\nlogging: {level: DEBUG}\n");
    assert_contains(load_fails(f), "line 3, column 1: expected one YAML document, found a second one");
}

static void test_unreadable_file(void **state)
{
    fixture *f = *state;
    char expected[512];
    /* A directory where the file should be. */
    assert_int_equal(mkdir(f->file, 0755), 0);
    snprintf(expected, sizeof expected, "Failed to load configuration from %s: Is a directory", f->file);
    assert_message(load_fails(f), expected);
    assert_int_equal(rmdir(f->file), 0);
    /* No read permission (root reads anyway: nothing to check then). */
    write_yaml(f, "performance:\n  batch_size: 500\n");
    assert_int_equal(chmod(f->file, 0), 0);
    if (geteuid() != 0) {
        snprintf(expected, sizeof expected, "Failed to load configuration from %s: Permission denied", f->file);
        assert_message(load_fails(f), expected);
    }
    /* A home that is a file. */
    char home_file[160];
    snprintf(home_file, sizeof home_file, "%s/plainfile", f->home);
    FILE *fp = fopen(home_file, "w");
    fclose(fp);
    mdm_config *cfg = NULL;
    assert_int_equal(mdm_config_load(&cfg, home_file), MDM_ECONFIG);
    snprintf(expected, sizeof expected, "Failed to load configuration from %s/mdm.yaml: Not a directory", home_file);
    assert_message(mdm_error_last()->message, expected);
}

/* Writes `yaml` and expects "Invalid configuration: <expected_tail>" with the file
 * name put in place of %s. */
static void expect_invalid(fixture *f, const char *yaml, const char *expected_format)
{
    char expected[1024];
    write_yaml(f, yaml);
    snprintf(expected, sizeof expected, expected_format, f->file);
    assert_message(load_fails(f), expected);
}

static void test_yaml_ranges_and_types(void **state)
{
    fixture *f = *state;
    expect_invalid(f, "performance:\n  batch_size: 99\n",
                   "Invalid configuration: performance.batch_size = '99' in %s line 2: must be an integer >= 100");
    expect_invalid(f, "database:\n  sqlite:\n    journal_mode: SIDEWAYS\n",
                   "Invalid configuration: database.sqlite.journal_mode = 'SIDEWAYS' in %s line 3: must be one "
                   "of DELETE, TRUNCATE, PERSIST, MEMORY, WAL, OFF");
    expect_invalid(f, "database:\n  postgresql:\n    pool_size: -3\n",
                   "Invalid configuration: database.postgresql.pool_size = '-3' in %s line 3: must be an "
                   "integer >= 1");
    expect_invalid(f, "database:\n  postgresql:\n    port: 70000\n",
                   "Invalid configuration: database.postgresql.port = '70000' in %s line 3: must be an integer "
                   "<= 65535");
    expect_invalid(f, "database:\n  sqlalchemy:\n    pool_size: 1.5\n",
                   "Invalid configuration: database.sqlalchemy.pool_size = '1.5' in %s line 3: must be an "
                   "integer between 1 and 10000");
    expect_invalid(f, "database:\n  sqlite:\n    cache_size: 99999999999999999999\n",
                   "Invalid configuration: database.sqlite.cache_size = '99999999999999999999' in %s line 3: "
                   "must be an integer (the value overflows a 64-bit integer)");
    expect_invalid(f, "database:\n  default_backend: mysql\n",
                   "Invalid configuration: database.default_backend = 'mysql' in %s line 2: must be one of "
                   "sqlite, duckdb, postgresql");
    expect_invalid(f, "logging:\n  level: LOUD\n",
                   "Invalid configuration: logging.level = 'LOUD' in %s line 2: must be one of DEBUG, INFO, "
                   "WARNING, ERROR, CRITICAL");
    expect_invalid(f, "export:\n  include_metadata: maybe\n",
                   "Invalid configuration: export.include_metadata = 'maybe' in %s line 2: must be true or false");
    expect_invalid(f, "validation:\n  before_features:\n    max_missing_ratio: 1.5\n",
                   "Invalid configuration: validation.before_features.max_missing_ratio = '1.5' in %s line 3: "
                   "must be a number <= 1");
    expect_invalid(f, "validation:\n  before_features:\n    max_missing_ratio: lots\n",
                   "Invalid configuration: validation.before_features.max_missing_ratio = 'lots' in %s line 3: "
                   "must be a number between 0 and 1");
    expect_invalid(f, "feature_engineering:\n  generic:\n    binning:\n      n_bins: [5, 1]\n",
                   "Invalid configuration: feature_engineering.generic.binning.n_bins = '[5, 1]' in %s line 4: "
                   "must be a list of integers, each >= 2");
    expect_invalid(f, "feature_engineering:\n  generic:\n    binning:\n      n_bins: []\n",
                   "Invalid configuration: feature_engineering.generic.binning.n_bins = '[]' in %s line 4: must "
                   "be a non-empty list of integers >= 2 (e.g. 5,10)");
    expect_invalid(f, "feature_engineering:\n  generic:\n    binning:\n      n_bins: 5,,10\n",
                   "Invalid configuration: feature_engineering.generic.binning.n_bins = '5,,10' in %s line 4: "
                   "must be a non-empty list of integers >= 2 (e.g. 5,10)");
    expect_invalid(f, "performance:\n  batch_size: ~\n",
                   "Invalid configuration: performance.batch_size = 'null' in %s line 2: must be an integer "
                   "between 100 and 100000000, not null");
    expect_invalid(f, "logging:\n  file:\n",
                   "Invalid configuration: logging.file = 'null' in %s line 2: must be a string, not null");
}

static void test_yaml_mapping_where_value_expected_and_back(void **state)
{
    fixture *f = *state;
    expect_invalid(f, "database:\n  default_backend:\n    name: sqlite\n",
                   "Invalid configuration: database.default_backend in %s line 3: must be one of sqlite, duckdb, "
                   "postgresql, not a mapping");
    expect_invalid(f, "performance:\n  batch_size: [100, 200]\n",
                   "Invalid configuration: performance.batch_size in %s line 2: must be an integer between 100 "
                   "and 100000000, not a list");
    expect_invalid(f, "database: sqlite\n",
                   "Invalid configuration: database = 'sqlite' in %s line 1: must be a mapping (a section holding "
                   "keys such as database.default_backend), not a value");
    expect_invalid(f, "database:\n  sqlite: [WAL]\n",
                   "Invalid configuration: database.sqlite in %s line 2: must be a mapping (a section holding keys "
                   "such as database.sqlite.journal_mode), not a list");
}

/* ------------------------------------------------------------------ unknown keys */

static void test_unknown_keys_warn_with_closest_key(void **state)
{
    fixture *f = *state;
    write_yaml(f,
               "database:\n"
               "  sqlite:\n"
               "    journal_mod: WAL\n"
               "batch_size: 500\n"
               "databse:\n"
               "  default_backend: duckdb\n"
               "zzzzzzzzz: 1\n"
               "logging:\n"
               "  colour: red\n"
               "paths:\n"
               "  dataset_path: data/\n");
    mdm_config *cfg = load_ok(f);
    char expected[2048];
    snprintf(expected, sizeof expected,
             "unknown configuration key 'database.sqlite.journal_mod' in %s line 3; did you mean "
             "'database.sqlite.journal_mode'?\n"
             "unknown configuration key 'batch_size' in %s line 4; did you mean 'performance.batch_size'?\n"
             "unknown configuration key 'databse' in %s line 5; did you mean 'database'?\n"
             "unknown configuration key 'zzzzzzzzz' in %s line 7; known sections: paths, database, "
             "performance, logging, feature_engineering, history, export, cache, validation, cli, development\n"
             "unknown configuration key 'logging.colour' in %s line 9; known keys under 'logging': level, "
             "file, max_bytes, backup_count, format\n"
             "unknown configuration key 'paths.dataset_path' in %s line 11; did you mean "
             "'paths.datasets_path'?\n",
             f->file, f->file, f->file, f->file, f->file, f->file);
    assert_message(f->warnings, expected);
    /* Unknown keys change nothing; the unknown section's children are not applied. */
    assert_string_equal(mdm_config_str(cfg, "database.default_backend"), "sqlite");
    assert_int_equal(mdm_config_int(cfg, "performance.batch_size"), 10000);
    mdm_config_free(cfg);
}

static void test_duplicate_key_warns_and_later_wins(void **state)
{
    fixture *f = *state;
    write_yaml(f, "performance:\n  batch_size: 500\n  batch_size: 700\n");
    mdm_config *cfg = load_ok(f);
    assert_int_equal(mdm_config_int(cfg, "performance.batch_size"), 700);
    char expected[512];
    snprintf(expected, sizeof expected,
             "duplicate configuration key 'performance.batch_size' in %s line 3 (also at line 2); the later "
             "one is used\n",
             f->file);
    assert_message(f->warnings, expected);
    mdm_config_free(cfg);
}

/* ------------------------------------------------------------------ paths */

static void test_paths_resolved_against_home(void **state)
{
    fixture *f = *state;
    write_yaml(f, "paths:\n  datasets_path: /abs/place/\n  configs_path: conf//sets/./\n"
                  "  logs_path: ../shared-logs\n  custom_features_path: ~/features\n");
    char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    setenv("HOME", "/home/someone", 1);
    mdm_config *cfg = load_ok(f);
    char expected[256];
    assert_string_equal(mdm_config_path(cfg, "datasets_path"), "/abs/place");
    snprintf(expected, sizeof expected, "%s/conf/sets", f->home);
    assert_string_equal(mdm_config_path(cfg, "configs_path"), expected);
    assert_string_equal(mdm_config_path(cfg, "logs_path"), "/tmp/shared-logs");
    assert_string_equal(mdm_config_path(cfg, "custom_features_path"), "/home/someone/features");
    /* The raw value stays as written. */
    assert_string_equal(mdm_config_str(cfg, "paths.datasets_path"), "/abs/place/");
    /* Set re-resolves. */
    assert_int_equal(mdm_config_set(cfg, "paths.datasets_path", "d2/"), 0);
    snprintf(expected, sizeof expected, "%s/d2", f->home);
    assert_string_equal(mdm_config_path(cfg, "datasets_path"), expected);
    mdm_config_free(cfg);
    if (saved_home)
        setenv("HOME", saved_home, 1);
    else
        unsetenv("HOME");
    free(saved_home);
}

/* ------------------------------------------------------------------ set, format */

static void test_set_validates_like_environment(void **state)
{
    fixture *f = *state;
    mdm_config *cfg = load_ok(f);
    assert_int_equal(mdm_config_set(cfg, "performance.batch_size", "5000"), 0);
    assert_int_equal(mdm_config_int(cfg, "performance.batch_size"), 5000);
    assert_int_equal(mdm_config_set(cfg, "database.sqlite.journal_mode", "memory"), 0);
    assert_string_equal(mdm_config_str(cfg, "database.sqlite.journal_mode"), "MEMORY");
    assert_int_equal(mdm_config_set(cfg, "database.postgresql.user", "null"), 0);
    assert_null(mdm_config_str(cfg, "database.postgresql.user"));
    assert_int_equal(mdm_config_set(cfg, "database.postgresql.user", "alice"), 0);
    assert_string_equal(mdm_config_str(cfg, "database.postgresql.user"), "alice");
    assert_int_equal(mdm_config_set(cfg, "database.postgresql.user", NULL), 0);
    assert_null(mdm_config_str(cfg, "database.postgresql.user"));

    assert_int_equal(mdm_config_set(cfg, "performance.batch_size", "99"), MDM_ECONFIG);
    assert_message(mdm_error_last()->message,
                   "Invalid configuration: performance.batch_size = '99': must be an integer >= 100");
    assert_int_equal(mdm_config_int(cfg, "performance.batch_size"), 5000); /* unchanged */
    assert_int_equal(mdm_config_set(cfg, "database.sqlite.journal_mode", "SIDEWAYS"), MDM_ECONFIG);
    assert_int_equal(mdm_config_set(cfg, "database.sqlalchemy.pool_size", "-1"), MDM_ECONFIG);
    assert_message(mdm_error_last()->message,
                   "Invalid configuration: database.sqlalchemy.pool_size = '-1': must be an integer >= 1");
    assert_int_equal(mdm_config_set(cfg, "logging.file", NULL), MDM_ECONFIG);

    assert_int_equal(mdm_config_set(cfg, "performance.batchsize", "5000"), MDM_ENOTFOUND);
    assert_message(mdm_error_last()->message,
                   "unknown configuration key 'performance.batchsize'; did you mean 'performance.batch_size'?");
    char *text = NULL;
    assert_int_equal(mdm_config_format(&text, cfg, "nope.nothing", false), MDM_ENOTFOUND);
    assert_null(text);
    assert_true(mdm_config_has("logging.level"));
    assert_false(mdm_config_has("logging"));
    assert_false(mdm_config_has("logging.levels"));
    mdm_config_free(cfg);
}

static void expect_format(const mdm_config *cfg, const char *key, bool mask, const char *expected)
{
    char *text = NULL;
    assert_int_equal(mdm_config_format(&text, cfg, key, mask), 0);
    assert_string_equal(text, expected);
    free(text);
}

typedef struct collected {
    size_t count;
    char first_key[128];
    char password[64];
    char conninfo[64];
} collected;

static void collect(const char *key, const char *value, void *ctx)
{
    collected *c = ctx;
    if (c->count++ == 0)
        snprintf(c->first_key, sizeof c->first_key, "%s", key);
    if (strcmp(key, "database.postgresql.password") == 0)
        snprintf(c->password, sizeof c->password, "%s", value);
    if (strcmp(key, "database.postgresql.conninfo") == 0)
        snprintf(c->conninfo, sizeof c->conninfo, "%s", value);
}

static void test_format_and_foreach_mask_secrets(void **state)
{
    fixture *f = *state;
    mdm_config *cfg = load_ok(f);
    expect_format(cfg, "feature_engineering.enabled", false, "true");
    expect_format(cfg, "development.debug_mode", false, "false");
    expect_format(cfg, "feature_engineering.generic.binning.n_bins", false, "5,10");
    expect_format(cfg, "feature_engineering.generic.categorical.min_frequency", false, "0.01");
    expect_format(cfg, "feature_engineering.generic.statistical.outlier_threshold", false, "3.0");
    expect_format(cfg, "database.sqlite.cache_size", false, "-64000");
    expect_format(cfg, "database.sqlite.journal_mode", false, "WAL");
    expect_format(cfg, "database.postgresql.user", false, "null");
    expect_format(cfg, "database.postgresql.password", true, "null"); /* nothing to hide */
    assert_int_equal(mdm_config_set(cfg, "database.postgresql.password", "hunter2"), 0);
    assert_int_equal(mdm_config_set(cfg, "database.postgresql.conninfo", "host=db password=hunter2"), 0);
    expect_format(cfg, "database.postgresql.password", true, "********");
    expect_format(cfg, "database.postgresql.password", false, "hunter2");
    expect_format(cfg, "database.postgresql.conninfo", true, "********");

    collected c = {0};
    mdm_config_foreach(cfg, collect, true, &c);
    assert_int_equal(c.count, mdm_config_nkeys);
    assert_string_equal(c.first_key, "paths.datasets_path");
    assert_string_equal(c.password, "********");
    assert_string_equal(c.conninfo, "********");
    memset(&c, 0, sizeof c);
    mdm_config_foreach(cfg, collect, false, &c);
    assert_string_equal(c.password, "hunter2");
    mdm_config_free(cfg);
}

/* ------------------------------------------------------------------ threads */

typedef struct reader_args {
    const mdm_config *cfg;
    int mismatches;
} reader_args;

static void *read_many(void *arg)
{
    reader_args *a = arg;
    for (int i = 0; i < 20000; i++) {
        if (mdm_config_int(a->cfg, "performance.batch_size") != 10000 ||
            strcmp(mdm_config_str(a->cfg, "database.sqlite.journal_mode"), "WAL") != 0 ||
            !mdm_config_bool(a->cfg, "feature_engineering.enabled") ||
            mdm_config_list_int(a->cfg, "feature_engineering.generic.binning.n_bins", 1) != 10)
            a->mismatches++;
    }
    return NULL;
}

static void test_getters_from_many_threads(void **state)
{
    fixture *f = *state;
    mdm_config *cfg = load_ok(f);
    pthread_t threads[8];
    reader_args args[8];
    for (int t = 0; t < 8; t++) {
        args[t] = (reader_args){.cfg = cfg};
        assert_int_equal(pthread_create(&threads[t], NULL, read_many, &args[t]), 0);
    }
    for (int t = 0; t < 8; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(args[t].mismatches, 0);
    }
    mdm_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_without_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_comment_only_files_mean_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_ignore_file_and_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_home_resolution, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_values_of_every_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_list_as_text_and_flat_dotted_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_syntax_error_names_line_and_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_bad_encoding_names_line_and_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_top_level_must_be_a_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_ranges_and_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_mapping_where_value_expected_and_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_keys_warn_with_closest_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_key_warns_and_later_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paths_resolved_against_home, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_validates_like_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_and_foreach_mask_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_getters_from_many_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
