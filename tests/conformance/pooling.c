/* Pools on the real engines (seed 000's integration tests): ten workers writing twenty
 * tables, pool limits, ten readers with ten writers on one table, and whole
 * transactions retried on conflicts. The workers outnumber the pool's connections
 * (POOL_SIZE), so they really compete for them. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "conformance/fixture.h"
#include "mdm/sys/backend.h"

enum { POOL_SIZE = 4 };

static const mdm_field cols[] = {{"thread_id", MDM_TYPE_INT64}, {"value", MDM_TYPE_INT64}};

/* Transient errors are retried by the storage layer already; a worker that still sees
 * one gives up with its message. */
typedef struct job {
    int n;
    int rc;
    char error[1024];
} job;

static int write_table(int n)
{
    char table[32];
    snprintf(table, sizeof table, "table_%d", n);
    mdm_conn *c = NULL;
    mdm_batch *b = NULL;
    int rc = mdm_store_checkout(fx.store, &c);
    if (rc)
        return rc;
    if ((rc = mdm_conn_table_create(c, table, cols, 2)) || (rc = mdm_batch_new(&b, cols, 2, 100)))
        goto cleanup;
    for (int i = 0; i < 100; i++) {
        size_t r;
        if ((rc = mdm_batch_add_row(b, &r)))
            goto cleanup;
        mdm_batch_set_int64(b, 0, r, n);
        mdm_batch_set_int64(b, 1, r, i);
    }
    rc = mdm_conn_append(c, table, b);
cleanup:
    mdm_batch_free(b);
    mdm_store_checkin(fx.store, c);
    return rc;
}

/* Ten workers take twenty jobs from a shared counter. */
static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static int next_job;
static job jobs[20];

static void *writer_worker(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&jobs_lock);
        int n = next_job < 20 ? next_job++ : -1;
        pthread_mutex_unlock(&jobs_lock);
        if (n < 0)
            return NULL;
        jobs[n].n = n;
        if ((jobs[n].rc = write_table(n)))
            snprintf(jobs[n].error, sizeof jobs[n].error, "%s", mdm_error_last()->message);
    }
}

typedef struct table_check {
    int64_t rows;
    int64_t first_thread;
} table_check;

static int check_sink(const mdm_batch *b, void *ctx)
{
    table_check *t = ctx;
    if (t->rows == 0 && mdm_batch_nrows(b) > 0)
        t->first_thread = mdm_batch_int64(b, 0, 0);
    t->rows += (int64_t)mdm_batch_nrows(b);
    return 0;
}

static void ten_workers_twenty_tables(void **state)
{
    (void)state;
    next_job = 0;
    memset(jobs, 0, sizeof jobs);
    CHECK(mdm_store_resize(fx.store, 0, POOL_SIZE));
    pthread_t th[10];
    for (int i = 0; i < 10; i++)
        pthread_create(&th[i], NULL, writer_worker, NULL);
    for (int i = 0; i < 10; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 20; i++)
        if (jobs[i].rc)
            fail_msg("table_%d: %s", i, jobs[i].error);
    mdm_conn *c = fixture_checkout();
    for (int i = 0; i < 20; i++) {
        char table[32];
        snprintf(table, sizeof table, "table_%d", i);
        table_check t = {0};
        mdm_read_request req = {.table = table, .limit = -1};
        CHECK(mdm_conn_read(c, &req, check_sink, &t));
        assert_int_equal(t.rows, 100);
        assert_int_equal(t.first_thread, i);
    }
    fixture_checkin(c);
    mdm_pool_stats s;
    CHECK(mdm_store_pool_stats(fx.store, &s));
    assert_true(s.size <= POOL_SIZE);
    assert_int_equal(s.max_size, POOL_SIZE);
    assert_int_equal(s.in_use, 0);
    assert_int_equal(s.timeouts, 0);
    CHECK(mdm_store_resize(fx.store, 1, 16));
}

static void pool_limits_are_kept(void **state)
{
    (void)state;
    CHECK(mdm_store_resize(fx.store, 0, 3));
    mdm_conn *held[3];
    for (int i = 0; i < 3; i++)
        held[i] = fixture_checkout();
    /* A fourth waits for the acquisition timeout, then explains itself. */
    mdm_conn *extra = NULL;
    uint64_t t0 = mdm_now_ns();
    int rc = mdm_store_checkout(fx.store, &extra);
    assert_int_equal(rc, MDM_ETIMEOUT);
    assert_true(mdm_now_ns() - t0 >= 900000000ull);
    assert_non_null(strstr(mdm_error_last()->message, "exhausted: 3 of 3 in use"));
    assert_non_null(strstr(mdm_error_last()->message, mdm_store_describe(fx.store)));
    mdm_store_checkin(fx.store, held[0]);
    /* One returned: the next checkout succeeds at once. */
    CHECK(mdm_store_checkout(fx.store, &extra));
    mdm_store_checkin(fx.store, extra);
    mdm_store_checkin(fx.store, held[1]);
    mdm_store_checkin(fx.store, held[2]);
    mdm_pool_stats s;
    CHECK(mdm_store_pool_stats(fx.store, &s));
    assert_int_equal(s.timeouts, 1);
    assert_true(s.size <= 3);
    CHECK(mdm_store_resize(fx.store, 1, 16));
}

static void *reader(void *arg)
{
    job *j = arg;
    for (int i = 0; i < 10 && !j->rc; i++) {
        mdm_conn *c = NULL;
        if ((j->rc = mdm_store_checkout(fx.store, &c)))
            break;
        table_check t = {0};
        mdm_read_request req = {.table = "integrity", .limit = -1};
        j->rc = mdm_conn_read(c, &req, check_sink, &t);
        if (!j->rc && (t.rows < 1000 || t.rows > 1010))
            j->rc = mdm_error_set(MDM_ERROR, "reader saw %lld rows", (long long)t.rows);
        mdm_store_checkin(fx.store, c);
    }
    if (j->rc)
        snprintf(j->error, sizeof j->error, "%s", mdm_error_last()->message);
    return NULL;
}

static void *writer(void *arg)
{
    job *j = arg;
    mdm_conn *c = NULL;
    mdm_batch *b = NULL;
    if (!(j->rc = mdm_store_checkout(fx.store, &c)) && !(j->rc = mdm_batch_new(&b, cols, 2, 1))) {
        size_t r;
        if (!(j->rc = mdm_batch_add_row(b, &r))) {
            mdm_batch_set_int64(b, 0, r, 1000 + j->n);
            mdm_batch_set_int64(b, 1, r, 1000 + j->n);
            j->rc = mdm_conn_append(c, "integrity", b);
        }
    }
    if (j->rc)
        snprintf(j->error, sizeof j->error, "%s", mdm_error_last()->message);
    mdm_batch_free(b);
    mdm_store_checkin(fx.store, c);
    return NULL;
}

static void readers_and_writers_keep_integrity(void **state)
{
    (void)state;
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_table_create(c, "integrity", cols, 2));
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, cols, 2, 1000));
    for (int i = 0; i < 1000; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, i);
        mdm_batch_set_int64(b, 1, r, i);
    }
    CHECK(mdm_conn_append(c, "integrity", b));
    mdm_batch_free(b);
    fixture_checkin(c);

    CHECK(mdm_store_resize(fx.store, 0, POOL_SIZE));
    pthread_t th[20];
    job j[20];
    for (int i = 0; i < 10; i++) {
        j[2 * i] = (job){.n = i};
        j[2 * i + 1] = (job){.n = i};
        pthread_create(&th[2 * i], NULL, reader, &j[2 * i]);
        pthread_create(&th[2 * i + 1], NULL, writer, &j[2 * i + 1]);
    }
    for (int i = 0; i < 20; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 20; i++)
        if (j[i].rc)
            fail_msg("%s %d: %s", i % 2 ? "writer" : "reader", j[i].n, j[i].error);
    c = fixture_checkout();
    assert_int_equal(count_rows(c, "integrity"), 1010);
    fixture_checkin(c);
    mdm_pool_stats s;
    CHECK(mdm_store_pool_stats(fx.store, &s));
    assert_true(s.size <= POOL_SIZE);
    CHECK(mdm_store_resize(fx.store, 1, 16));
}

/* Eight workers each run ten transactions that bump one shared counter and append to a
 * ledger, through mdm_store_transaction. Concurrent updates of one row conflict on
 * DuckDB (MDM_EBUSY, rolled back and retried); SQLite and PostgreSQL make them wait.
 * Either way every transaction lands exactly once, both halves of it. */
enum { TX_WORKERS = 8, TX_EACH = 10 };

static int bump(mdm_conn *c, void *ctx)
{
    mdm_value id = mdm_value_int64(*(int64_t *)ctx);
    int rc = mdm_conn_execute(c, "UPDATE counter SET v = v + 1", NULL, 0, NULL, NULL, NULL);
    return rc ? rc : mdm_conn_execute(c, "INSERT INTO ledger VALUES (?)", &id, 1, NULL, NULL, NULL);
}

static void *bumper(void *arg)
{
    job *j = arg;
    mdm_retry_policy policy = {.max_attempts = 100, .base_delay_ms = 1, .max_delay_ms = 20};
    for (int i = 0; i < TX_EACH && !j->rc; i++) {
        int64_t id = (int64_t)j->n * TX_EACH + i;
        if ((j->rc = mdm_store_transaction(fx.store, bump, &id, &policy)))
            snprintf(j->error, sizeof j->error, "%s", mdm_error_last()->message);
    }
    return NULL;
}

static int first_int(const mdm_batch *b, void *ctx)
{
    if (mdm_batch_nrows(b) > 0)
        *(int64_t *)ctx = mdm_batch_int64(b, 0, 0);
    return 0;
}

static void transactions_retry_conflicts(void **state)
{
    (void)state;
    need_caps(MDM_BACKEND_CAP_SQL);
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_execute(c, "CREATE TABLE counter (v BIGINT NOT NULL)", NULL, 0, NULL, NULL, NULL));
    CHECK(mdm_conn_execute(c, "INSERT INTO counter VALUES (0)", NULL, 0, NULL, NULL, NULL));
    CHECK(mdm_conn_execute(c, "CREATE TABLE ledger (id BIGINT NOT NULL)", NULL, 0, NULL, NULL, NULL));
    fixture_checkin(c);
    CHECK(mdm_store_resize(fx.store, 0, POOL_SIZE));
    pthread_t th[TX_WORKERS];
    job j[TX_WORKERS];
    for (int i = 0; i < TX_WORKERS; i++) {
        j[i] = (job){.n = i};
        pthread_create(&th[i], NULL, bumper, &j[i]);
    }
    for (int i = 0; i < TX_WORKERS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < TX_WORKERS; i++)
        if (j[i].rc)
            fail_msg("worker %d: %s", i, j[i].error);
    c = fixture_checkout();
    int64_t v = -1;
    CHECK(mdm_conn_execute(c, "SELECT v FROM counter", NULL, 0, first_int, &v, NULL));
    assert_int_equal(v, TX_WORKERS * TX_EACH);
    assert_int_equal(count_rows(c, "ledger"), TX_WORKERS * TX_EACH);
    int64_t distinct = -1;
    CHECK(mdm_conn_execute(c, "SELECT COUNT(DISTINCT id) FROM ledger", NULL, 0, first_int,
                           &distinct, NULL));
    assert_int_equal(distinct, TX_WORKERS * TX_EACH);
    fixture_checkin(c);
    CHECK(mdm_store_resize(fx.store, 1, 16));
}

const struct CMUnitTest pooling_tests[] = {
    cmocka_unit_test_setup_teardown(ten_workers_twenty_tables, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(pool_limits_are_kept, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(readers_and_writers_keep_integrity, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(transactions_retry_conflicts, fixture_setup, fixture_teardown),
};
const size_t pooling_ntests = sizeof pooling_tests / sizeof pooling_tests[0];
