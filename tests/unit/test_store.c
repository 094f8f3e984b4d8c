/* The backend registry and the store, with a fake backend through the same table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/log_internal.h"
#include "mdm/sys/backend.h"
#include "storage/module.h"

struct mdm_backend_conn {
    int id;
    bool in_tx;
};

static int opened, closed, resets, pings;
static bool fail_open, fail_ping;
static int next_id;

static const char *fake_version(void) { return "fake 1.0"; }

static int fake_open(mdm_backend_conn **out, const mdm_target *t, const mdm_config *cfg)
{
    (void)t;
    (void)cfg;
    if (fail_open)
        return mdm_error_set(MDM_ECONNECT, "fake: connection refused");
    *out = calloc(1, sizeof **out);
    (*out)->id = ++next_id;
    opened++;
    return 0;
}

static void fake_close(mdm_backend_conn *c)
{
    closed++;
    free(c);
}

static int fake_ping(mdm_backend_conn *c)
{
    (void)c;
    pings++;
    return fail_ping ? mdm_error_set(MDM_ECONNECT, "fake: gone") : 0;
}

static int fake_reset(mdm_backend_conn *c)
{
    resets++;
    c->in_tx = false;
    return 0;
}

static int fake_begin(mdm_backend_conn *c)
{
    c->in_tx = true;
    return 0;
}

static int fake_end(mdm_backend_conn *c)
{
    c->in_tx = false;
    return 0;
}

static int fake_execute(mdm_backend_conn *c, const char *sql, const mdm_value *p, size_t n,
                        mdm_batch_sink sink, void *ctx, int64_t *changes)
{
    (void)c, (void)p, (void)n, (void)sink, (void)ctx, (void)changes;
    return strcmp(sql, "fail") == 0 ? mdm_error_set(MDM_EBACKEND, "fake: syntax error") : 0;
}

static const mdm_backend fake = {
    .version = MDM_BACKEND_VERSION,
    .name = "fake",
    .library_version = fake_version,
    .open = fake_open,
    .close = fake_close,
    .ping = fake_ping,
    .reset = fake_reset,
    .begin = fake_begin,
    .commit = fake_end,
    .rollback = fake_end,
    .execute = fake_execute,
};

static mdm_config *cfg;

static int setup(void **state)
{
    (void)state;
    opened = closed = resets = pings = 0;
    fail_open = fail_ping = false;
    return 0;
}

static void registry_lookup(void **state)
{
    (void)state;
    assert_ptr_equal(mdm_backend_find("sqlite"), &mdm_backend_sqlite);
    assert_ptr_equal(mdm_backend_find("duckdb"), &mdm_backend_duckdb);
    assert_ptr_equal(mdm_backend_find("postgres"), &mdm_backend_postgres);
    assert_ptr_equal(mdm_backend_find("postgresql"), &mdm_backend_postgres);
    assert_null(mdm_backend_find("oracle"));
    assert_int_equal(mdm_error_last()->code, MDM_ENOTFOUND);
    assert_non_null(strstr(mdm_error_last()->message, "unknown backend 'oracle'"));
    assert_non_null(strstr(mdm_error_last()->message, "sqlite, duckdb, postgres"));
}

static void registry_accepts_custom_backend(void **state)
{
    (void)state;
    assert_int_equal(mdm_backend_register(&fake), 0);
    assert_int_equal(mdm_backend_register(&fake), MDM_EEXISTS);
    assert_ptr_equal(mdm_backend_find("fake"), &fake);
    assert_string_equal(mdm_backend_library_version("fake"), "fake 1.0");
    const char *const *names = mdm_backend_names();
    int n = 0;
    while (names[n])
        n++;
    assert_int_equal(n, 4);
    mdm_backend incomplete = {.version = MDM_BACKEND_VERSION, .name = "half"};
    assert_int_equal(mdm_backend_register(&incomplete), MDM_EINVALID);
    mdm_backend future = fake;
    future.version = 99;
    future.name = "future";
    assert_int_equal(mdm_backend_register(&future), MDM_EINVALID);
}

static void store_reuses_connections(void **state)
{
    (void)state;
    mdm_store *s = NULL;
    assert_int_equal(mdm_store_open(&s, "fake", &(mdm_target){.dataset = "d"}, cfg), 0);
    assert_string_equal(mdm_store_backend_name(s), "fake");
    mdm_conn *a = NULL, *b = NULL;
    assert_int_equal(mdm_store_checkout(s, &a), 0);
    assert_int_equal(mdm_store_checkout(s, &b), 0);
    assert_ptr_not_equal(a, b);
    assert_int_equal(opened, 2);
    mdm_store_checkin(s, a);
    mdm_conn *c = NULL;
    assert_int_equal(mdm_store_checkout(s, &c), 0);
    assert_ptr_equal(c, a); /* reused, not reopened */
    assert_int_equal(opened, 2);
    assert_int_equal(resets, 0); /* a clean connection is not reset */
    mdm_store_checkin(s, b);
    mdm_store_checkin(s, c);
    mdm_store_free(s);
    assert_int_equal(closed, 2);
}

static void checkin_rolls_back_open_transaction(void **state)
{
    (void)state;
    mdm_store *s = NULL;
    assert_int_equal(mdm_store_open(&s, "fake", &(mdm_target){.dataset = "d"}, cfg), 0);
    mdm_conn *a = NULL;
    assert_int_equal(mdm_store_checkout(s, &a), 0);
    assert_int_equal(mdm_conn_begin(a), 0);
    assert_int_equal(mdm_conn_begin(a), MDM_EINVALID);
    mdm_store_checkin(s, a);
    assert_int_equal(resets, 1);
    assert_int_equal(mdm_store_checkout(s, &a), 0);
    assert_false(mdm_conn_in_transaction(a));
    mdm_store_checkin(s, a);
    mdm_store_free(s);
}

static void sql_transactions_and_settings_are_tracked(void **state)
{
    (void)state;
    mdm_store *s = NULL;
    assert_int_equal(mdm_store_open(&s, "fake", &(mdm_target){.dataset = "d"}, cfg), 0);
    mdm_conn *a = NULL;
    assert_int_equal(mdm_store_checkout(s, &a), 0);
    assert_int_equal(mdm_conn_execute(a, "SELECT 1", NULL, 0, NULL, NULL, NULL), 0);
    mdm_store_checkin(s, a);
    assert_int_equal(resets, 0);

    assert_int_equal(mdm_store_checkout(s, &a), 0);
    assert_int_equal(mdm_conn_execute(a, "  /* why */ begin", NULL, 0, NULL, NULL, NULL), 0);
    assert_true(mdm_conn_in_transaction(a));
    assert_int_equal(mdm_conn_execute(a, "ROLLBACK TO SAVEPOINT x", NULL, 0, NULL, NULL, NULL), 0);
    assert_true(mdm_conn_in_transaction(a));
    mdm_store_checkin(s, a); /* still open: rolled back */
    assert_int_equal(resets, 1);

    assert_int_equal(mdm_store_checkout(s, &a), 0);
    assert_int_equal(mdm_conn_execute(a, "BEGIN", NULL, 0, NULL, NULL, NULL), 0);
    assert_int_equal(mdm_conn_execute(a, "-- done\ncommit", NULL, 0, NULL, NULL, NULL), 0);
    assert_false(mdm_conn_in_transaction(a));
    mdm_store_checkin(s, a);
    assert_int_equal(resets, 1);

    assert_int_equal(mdm_store_checkout(s, &a), 0);
    assert_int_equal(mdm_conn_execute(a, "SET search_path TO elsewhere", NULL, 0, NULL, NULL, NULL), 0);
    mdm_store_checkin(s, a); /* session changed: reset */
    assert_int_equal(resets, 2);
    mdm_store_free(s);
}

static char echoed[4096];

static void capture(mdm_log_level level, const char *message, void *ctx)
{
    (void)level, (void)ctx;
    strncat(echoed, message, sizeof echoed - strlen(echoed) - 2);
    strcat(echoed, "\n");
}

static void echo_logs_operations(void **state)
{
    (void)state;
    mdm_config *echo_cfg = NULL;
    assert_int_equal(mdm_config_defaults(&echo_cfg, "/tmp/mdm-test-store-home"), 0);
    assert_int_equal(mdm_config_set(echo_cfg, "database.pool.min_size", "0"), 0);
    assert_int_equal(mdm_config_set(echo_cfg, "database.sqlalchemy.echo", "true"), 0);
    mdm_store *s = NULL;
    assert_int_equal(mdm_store_open(&s, "fake", &(mdm_target){.dataset = "d"}, echo_cfg), 0);
    echoed[0] = '\0';
    log_set_capture(capture, NULL, MDM_LOG_DEBUG);
    mdm_conn *a = NULL;
    assert_int_equal(mdm_store_checkout(s, &a), 0);
    assert_int_equal(mdm_conn_execute(a, "SELECT 42", NULL, 0, NULL, NULL, NULL), 0);
    mdm_store_checkin(s, a);
    log_set_capture(NULL, NULL, MDM_LOG_DEBUG);
    assert_non_null(strstr(echoed, "fake execute: SELECT 42"));
    mdm_store_free(s);
    mdm_config_free(echo_cfg);
}

static void failed_connection_is_validated(void **state)
{
    (void)state;
    mdm_store *s = NULL;
    assert_int_equal(mdm_store_open(&s, "fake", &(mdm_target){.dataset = "d"}, cfg), 0);
    mdm_conn *a = NULL;
    assert_int_equal(mdm_store_checkout(s, &a), 0);
    assert_int_equal(mdm_conn_execute(a, "fail", NULL, 0, NULL, NULL, NULL), MDM_EBACKEND);
    assert_string_equal(mdm_error_last()->message, "fake: syntax error");
    fail_ping = true;
    mdm_store_checkin(s, a); /* ping fails: closed, not kept */
    assert_int_equal(pings, 1);
    assert_int_equal(closed, 1);
    fail_ping = false;
    assert_int_equal(mdm_store_checkout(s, &a), 0);
    assert_int_equal(opened, 2);
    mdm_store_checkin(s, a);
    mdm_store_free(s);
}

static void open_failure_reports_cause(void **state)
{
    (void)state;
    mdm_store *s = NULL;
    assert_int_equal(mdm_store_open(&s, "fake", &(mdm_target){.dataset = "d"}, cfg), 0);
    fail_open = true;
    mdm_conn *a = NULL;
    assert_int_equal(mdm_store_checkout(s, &a), MDM_ECONNECT);
    assert_null(a);
    assert_string_equal(mdm_error_last()->message, "fake: connection refused");
    mdm_store_free(s);
}

static void unsupported_slot_is_an_error(void **state)
{
    (void)state;
    mdm_store *s = NULL;
    assert_int_equal(mdm_store_open(&s, "fake", &(mdm_target){.dataset = "d"}, cfg), 0);
    mdm_conn *a = NULL;
    assert_int_equal(mdm_store_checkout(s, &a), 0);
    assert_int_equal(mdm_conn_table_drop(a, "t"), MDM_ENOTSUP);
    assert_non_null(strstr(mdm_error_last()->message, "fake"));
    mdm_store_checkin(s, a);
    mdm_store_free(s);
}

static void store_open_checks_arguments(void **state)
{
    (void)state;
    mdm_store *s = NULL;
    assert_int_equal(mdm_store_open(&s, "nope", &(mdm_target){.dataset = "d"}, cfg), MDM_ENOTFOUND);
    assert_int_equal(mdm_store_open(&s, "sqlite", &(mdm_target){.dataset = "d"}, cfg), MDM_EINVALID);
    assert_int_equal(mdm_store_open_dataset(&s, "sqlite", "../../etc", cfg), MDM_EINVALID);
    assert_int_equal(mdm_store_open_dataset(&s, "sqlite", "", cfg), MDM_EINVALID);
    assert_int_equal(mdm_store_open_dataset(&s, "sqlite", "My-Data", cfg), 0);
    assert_non_null(strstr(mdm_store_describe(s), "/datasets/my_data/my_data.sqlite"));
    mdm_store_free(s);
}

static void dataset_names(void **state)
{
    (void)state;
    char out[512];
    assert_int_equal(mdm_dataset_name_normalize(out, sizeof out, "Titanic-2024"), 0);
    assert_string_equal(out, "titanic_2024");
    assert_int_equal(mdm_dataset_name_normalize(out, sizeof out, "donn\xc3\xa9" "es"), 0);
    assert_int_equal(mdm_dataset_name_normalize(out, sizeof out, "a/b"), MDM_EINVALID);
    assert_int_equal(mdm_dataset_name_normalize(out, sizeof out, ".."), MDM_EINVALID);
    assert_int_equal(mdm_dataset_name_normalize(out, sizeof out, "has space"), MDM_EINVALID);
    assert_string_equal(mdm_error_last()->message,
                        "Dataset name can only contain alphanumeric characters, underscores, and dashes");
    assert_int_equal(mdm_dataset_name_normalize(out, sizeof out, ""), MDM_EINVALID);
    assert_string_equal(mdm_error_last()->message, "Dataset name cannot be empty");
    char longname[102];
    memset(longname, 'a', 101);
    longname[101] = '\0';
    assert_int_equal(mdm_dataset_name_normalize(out, sizeof out, longname), MDM_EINVALID);
    assert_string_equal(mdm_error_last()->message, "Dataset name cannot exceed 100 characters");
    longname[100] = '\0';
    assert_int_equal(mdm_dataset_name_normalize(out, sizeof out, longname), 0);
}

int main(void)
{
    /* No minimum: the pool monitor must not open connections behind the counts. */
    if (mdm_config_defaults(&cfg, "/tmp/mdm-test-store-home") != 0 ||
        mdm_config_set(cfg, "database.pool.min_size", "0") != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(registry_lookup, setup),
        cmocka_unit_test_setup(registry_accepts_custom_backend, setup),
        cmocka_unit_test_setup(store_reuses_connections, setup),
        cmocka_unit_test_setup(checkin_rolls_back_open_transaction, setup),
        cmocka_unit_test_setup(sql_transactions_and_settings_are_tracked, setup),
        cmocka_unit_test_setup(echo_logs_operations, setup),
        cmocka_unit_test_setup(failed_connection_is_validated, setup),
        cmocka_unit_test_setup(open_failure_reports_cause, setup),
        cmocka_unit_test_setup(unsupported_slot_is_an_error, setup),
        cmocka_unit_test_setup(store_open_checks_arguments, setup),
        cmocka_unit_test_setup(dataset_names, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    mdm_config_free(cfg);
    return rc;
}
