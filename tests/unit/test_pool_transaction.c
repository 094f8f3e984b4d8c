/* mdm_store_transaction: a whole transaction retried on MDM_EBUSY (serialization
 * failure, deadlock, busy file) with backoff and a bound, over the fake backend
 * registered like any other. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit/test_pool_fake.h"

static mdm_config *cfg;
static mdm_store *store;
static char home[] = "/tmp/mdm-test-pool-tx-XXXXXX";

static int group_setup(void **state)
{
    (void)state;
    if (!mkdtemp(home) || mdm_config_defaults(&cfg, home) != 0 ||
        mdm_config_set(cfg, "database.pool.min_size", "0") ||
        mdm_config_set(cfg, "database.pool.connect_attempts", "4") ||
        mdm_config_set(cfg, "database.pool.retry_base_ms", "1") ||
        mdm_config_set(cfg, "database.pool.retry_max_ms", "2") ||
        mdm_backend_register(&fake) != 0)
        return -1;
    mdm_target t = {.dataset = "d", .path = "/fake/tx"};
    return mdm_store_open(&store, "fakepool", &t, cfg);
}

static int group_teardown(void **state)
{
    (void)state;
    mdm_store_free(store);
    mdm_config_free(cfg);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    return system(cmd) == 0 ? 0 : -1;
}

typedef struct work_ctx {
    int calls;
    int fail_first;  /* the first N calls fail with `code` */
    int code;
    bool saw_transaction;
} work_ctx;

static int work(mdm_conn *conn, void *p)
{
    work_ctx *w = p;
    w->calls++;
    w->saw_transaction = mdm_conn_in_transaction(conn);
    if (w->calls <= w->fail_first)
        return mdm_error_set(w->code, "work failed (%s)", mdm_error_name(w->code));
    return 0;
}

static int setup(void **state)
{
    (void)state;
    int o = opened, c = closed;
    fake_reset_counters();
    opened = o;
    closed = c;
    return 0;
}

static void commit_conflicts_are_retried(void **state)
{
    (void)state;
    fail_commits = 2;
    work_ctx w = {0};
    mdm_retry_policy policy = {.max_attempts = 5, .base_delay_ms = 1, .max_delay_ms = 2};
    assert_int_equal(mdm_store_transaction(store, work, &w, &policy), 0);
    assert_int_equal(w.calls, 3);
    assert_true(w.saw_transaction);
    assert_int_equal(begins, 3);
    assert_int_equal(commits, 1);
    mdm_pool_stats s;
    assert_int_equal(mdm_store_pool_stats(store, &s), 0);
    assert_int_equal(s.in_use, 0);
}

static void work_deadlock_is_rolled_back_and_retried(void **state)
{
    (void)state;
    work_ctx w = {.fail_first = 1, .code = MDM_EBUSY};
    assert_int_equal(mdm_store_transaction(store, work, &w, NULL), 0);
    assert_int_equal(w.calls, 2);
    assert_int_equal(rollbacks, 1);
    assert_int_equal(commits, 1);
}

static void retries_are_bounded(void **state)
{
    (void)state;
    fail_commits = -1;
    work_ctx w = {0};
    mdm_retry_policy policy = {.max_attempts = 3, .base_delay_ms = 1, .max_delay_ms = 2};
    assert_int_equal(mdm_store_transaction(store, work, &w, &policy), MDM_EBUSY);
    assert_int_equal(w.calls, 3);
    assert_int_equal(commits, 0);
    /* The engine's own words reach the caller. */
    assert_string_equal(mdm_error_last()->message,
                        "fake: could not serialize access due to concurrent update");
    /* Without a policy: the pool's database.pool.connect_attempts (4). */
    w = (work_ctx){0};
    assert_int_equal(mdm_store_transaction(store, work, &w, NULL), MDM_EBUSY);
    assert_int_equal(w.calls, 4);
}

static void other_failures_are_not_retried(void **state)
{
    (void)state;
    work_ctx w = {.fail_first = 5, .code = MDM_EINVALID};
    assert_int_equal(mdm_store_transaction(store, work, &w, NULL), MDM_EINVALID);
    assert_int_equal(w.calls, 1);
    assert_int_equal(rollbacks, 1);
    /* The rollback did not replace the error that caused it. */
    assert_string_equal(mdm_error_last()->message, "work failed (EINVALID)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(commit_conflicts_are_retried, setup),
        cmocka_unit_test_setup(work_deadlock_is_rolled_back_and_retried, setup),
        cmocka_unit_test_setup(retries_are_bounded, setup),
        cmocka_unit_test_setup(other_failures_are_not_retried, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
