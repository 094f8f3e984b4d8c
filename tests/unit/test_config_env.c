/* Configuration from the environment: MDM_* overrides of mdm.yaml, the short aliases,
 * bad values, unknown variables; debug_mode and the DEBUG dump with masked secrets. */
#include "unit/config_fixture.h"

/* ------------------------------------------------------------------ environment */

static void test_environment_overrides_yaml(void **state)
{
    fixture *f = *state;
    write_yaml(f, "performance:\n  batch_size: 500\ndatabase:\n  sqlite:\n    journal_mode: WAL\n");
    setenv("MDM_PERFORMANCE_BATCH_SIZE", "2000", 1);
    setenv("MDM_DATABASE_SQLITE_JOURNAL_MODE", "truncate", 1);
    setenv("MDM_DATABASE_DUCKDB_MEMORY_LIMIT", "2GB", 1);
    setenv("MDM_FEATURE_ENGINEERING_GENERIC_BINNING_N_BINS", "3,4, 5", 1);
    setenv("MDM_DATABASE_SQLALCHEMY_ECHO", "true", 1);
    setenv("MDM_DATABASE_POSTGRESQL_USER", "null", 1);
    setenv("MDM_DATABASE_POSTGRESQL_PASSWORD", "s3cret", 1);
    setenv("MDM_VALIDATION_AFTER_FEATURES_MAX_MISSING_RATIO", "0.5", 1);
    setenv("MDM_LOGGING_FILE", "", 1); /* empty means unset */
    mdm_config *cfg = load_ok(f);
    assert_int_equal(mdm_config_int(cfg, "performance.batch_size"), 2000);
    assert_string_equal(mdm_config_str(cfg, "database.sqlite.journal_mode"), "TRUNCATE");
    assert_string_equal(mdm_config_str(cfg, "database.duckdb.memory_limit"), "2GB");
    assert_int_equal(mdm_config_list_len(cfg, "feature_engineering.generic.binning.n_bins"), 3);
    assert_int_equal(mdm_config_list_int(cfg, "feature_engineering.generic.binning.n_bins", 2), 5);
    assert_true(mdm_config_bool(cfg, "database.sqlalchemy.echo"));
    assert_null(mdm_config_str(cfg, "database.postgresql.user"));
    assert_string_equal(mdm_config_str(cfg, "database.postgresql.password"), "s3cret");
    assert_true(mdm_config_double(cfg, "validation.after_features.max_missing_ratio") == 0.5);
    assert_string_equal(mdm_config_str(cfg, "logging.file"), "mdm.log");
    assert_string_equal(f->warnings, "");
    mdm_config_free(cfg);
}

static void test_bad_environment_value(void **state)
{
    fixture *f = *state;
    setenv("MDM_PERFORMANCE_BATCH_SIZE", "5", 1);
    assert_message(load_fails(f), "Invalid configuration: performance.batch_size = '5' from environment variable "
                                  "MDM_PERFORMANCE_BATCH_SIZE: must be an integer >= 100");
    unsetenv("MDM_PERFORMANCE_BATCH_SIZE");
    setenv("MDM_DATABASE_SQLITE_JOURNAL_MODE", "SIDEWAYS", 1);
    assert_message(load_fails(f), "Invalid configuration: database.sqlite.journal_mode = 'SIDEWAYS' from "
                                  "environment variable MDM_DATABASE_SQLITE_JOURNAL_MODE: must be one of DELETE, "
                                  "TRUNCATE, PERSIST, MEMORY, WAL, OFF");
    unsetenv("MDM_DATABASE_SQLITE_JOURNAL_MODE");
    setenv("MDM_CLI_SHOW_PROGRESS", "2", 1);
    assert_message(load_fails(f), "Invalid configuration: cli.show_progress = '2' from environment variable "
                                  "MDM_CLI_SHOW_PROGRESS: must be true or false");
    unsetenv("MDM_CLI_SHOW_PROGRESS");
    setenv("MDM_FEATURE_ENGINEERING_GENERIC_BINNING_N_BINS", "5,x", 1);
    assert_message(load_fails(f), "Invalid configuration: feature_engineering.generic.binning.n_bins = '5,x' from "
                                  "environment variable MDM_FEATURE_ENGINEERING_GENERIC_BINNING_N_BINS: must be a "
                                  "non-empty list of integers >= 2 (e.g. 5,10)");
}

static void test_short_environment_aliases(void **state)
{
    fixture *f = *state;
    setenv("MDM_LOG_LEVEL", "debug", 1);
    setenv("MDM_BATCH_SIZE", "300", 1);
    setenv("MDM_MAX_CONCURRENT_OPERATIONS", "9", 1);
    setenv("MDM_DATASETS_PATH", "/srv/data/", 1);
    setenv("MDM_DEFAULT_BACKEND", "postgresql", 1);
    mdm_config *cfg = load_ok(f);
    assert_string_equal(mdm_config_str(cfg, "logging.level"), "DEBUG");
    assert_int_equal(mdm_config_int(cfg, "performance.batch_size"), 300);
    assert_int_equal(mdm_config_int(cfg, "performance.max_concurrent_operations"), 9);
    assert_string_equal(mdm_config_path(cfg, "datasets_path"), "/srv/data");
    assert_string_equal(mdm_config_str(cfg, "database.default_backend"), "postgresql");
    mdm_config_free(cfg);
    /* The full name wins when both are set. */
    setenv("MDM_PERFORMANCE_BATCH_SIZE", "400", 1);
    setenv("MDM_LOGGING_LEVEL", "ERROR", 1);
    cfg = load_ok(f);
    assert_int_equal(mdm_config_int(cfg, "performance.batch_size"), 400);
    assert_string_equal(mdm_config_str(cfg, "logging.level"), "ERROR");
    mdm_config_free(cfg);
    /* A bad alias value names the alias. */
    unsetenv("MDM_PERFORMANCE_BATCH_SIZE");
    setenv("MDM_BATCH_SIZE", "10", 1);
    assert_message(load_fails(f), "Invalid configuration: performance.batch_size = '10' from environment variable "
                                  "MDM_BATCH_SIZE: must be an integer >= 100");
    assert_string_equal(f->warnings, "");
}

static void test_unknown_environment_variables_warn(void **state)
{
    fixture *f = *state;
    setenv("MDM_LOGGING_LEVL", "INFO", 1);
    setenv("MDM_TEST_ANYTHING", "1", 1);
    setenv("MDM_HOME_DIR", f->home, 1);
    setenv("MDM_QQQQQQQQQQQQQQQQQQ", "1", 1);
    mdm_config *cfg = load_ok(f);
    assert_contains(f->warnings, "unknown environment variable MDM_LOGGING_LEVL; did you mean MDM_LOGGING_LEVEL?\n");
    assert_contains(f->warnings, "unknown environment variable MDM_QQQQQQQQQQQQQQQQQQ: it names no configuration key");
    assert_null(strstr(f->warnings, "MDM_TEST_ANYTHING"));
    assert_null(strstr(f->warnings, "MDM_HOME_DIR"));
    mdm_config_free(cfg);
}

/* ------------------------------------------------------------------ debug */

static void test_debug_mode_forces_debug_level(void **state)
{
    fixture *f = *state;
    write_yaml(f, "logging:\n  level: ERROR\ndevelopment:\n  debug_mode: true\n");
    mdm_config *cfg = load_ok(f);
    assert_string_equal(mdm_config_str(cfg, "logging.level"), "DEBUG");
    mdm_config_free(cfg);
    unlink(f->file);
    cfg = load_ok(f);
    assert_string_equal(mdm_config_str(cfg, "logging.level"), "INFO");
    assert_int_equal(mdm_config_set(cfg, "development.debug_mode", "yes"), 0);
    assert_string_equal(mdm_config_str(cfg, "logging.level"), "DEBUG");
    mdm_config_free(cfg);
}

static void test_debug_dump_masks_password(void **state)
{
    fixture *f = *state;
    write_yaml(f, "logging:\n  level: DEBUG\ndatabase:\n  postgresql:\n    password: hunter2\n");
    setenv("MDM_DATABASE_DEFAULT_BACKEND", "duckdb", 1);
    mdm_config *cfg = load_ok(f);
    assert_int_equal(mdm_log_init(cfg), 0);
    mdm_log_shutdown();
    char path[256], line[1024], text[65536] = "";
    snprintf(path, sizeof path, "%s/logs/mdm.log", f->home);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof line, fp))
        strncat(text, line, sizeof text - strlen(text) - 1);
    fclose(fp);
    char expected[512];
    snprintf(expected, sizeof expected, "MDM home: %s\n", f->home);
    assert_contains(text, expected);
    snprintf(expected, sizeof expected, "Loading configuration from %s\n", f->file);
    assert_contains(text, expected);
    snprintf(expected, sizeof expected, "config database.postgresql.password = ******** (from %s line 5)\n", f->file);
    assert_contains(text, expected);
    assert_contains(text, "config database.default_backend = duckdb (overridden by environment "
                          "MDM_DATABASE_DEFAULT_BACKEND)\n");
    assert_contains(text, "config feature_engineering.generic.binning.n_bins = 5,10\n");
    snprintf(expected, sizeof expected, "config paths.logs_path = logs/ -> %s/logs\n", f->home);
    assert_contains(text, expected);
    assert_null(strstr(text, "hunter2"));
    mdm_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_environment_overrides_yaml, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_environment_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_environment_aliases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_environment_variables_warn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debug_mode_forces_debug_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debug_dump_masks_password, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
