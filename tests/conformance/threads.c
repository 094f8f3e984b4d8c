/* Ten threads sharing one store whose pool has fewer connections (POOL_SIZE), each
 * writing and reading its own table at the same time: every batch is a checkout of its
 * own, so the threads compete for connections all along. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "conformance/fixture.h"

enum { THREADS = 10, BATCHES = 20, ROWS_PER_BATCH = 1000, POOL_SIZE = 4 };

static const mdm_field cols[] = {{"thread", MDM_TYPE_INT64}, {"seq", MDM_TYPE_INT64},
                                 {"label", MDM_TYPE_TEXT}};

typedef struct worker {
    int id;
    int rc;
    char error[1024];
    int64_t next_seq;
    bool order_ok;
} worker;

/* One operation on a connection of its own: checked out, run, checked in. Transient
 * errors (a busy SQLite file, a DuckDB write conflict) are retried, as the storage
 * layer's callers do; anything else fails the worker. */
static int with_retry(int (*op)(mdm_conn *, void *), void *arg)
{
    int rc = 0;
    for (int attempt = 0; attempt < 50; attempt++) {
        mdm_conn *c = NULL;
        if ((rc = mdm_store_checkout(fx.store, &c)))
            return rc;
        rc = op(c, arg);
        mdm_store_checkin(fx.store, c);
        if (!mdm_error_is_transient(rc))
            return rc;
    }
    return rc;
}

static int create_op(mdm_conn *c, void *arg)
{
    return mdm_conn_table_create(c, (const char *)arg, cols, 3);
}

typedef struct append_arg {
    const char *table;
    mdm_batch *batch;
} append_arg;

static int append_op(mdm_conn *c, void *arg)
{
    append_arg *a = arg;
    return mdm_conn_append(c, a->table, a->batch);
}

typedef struct read_arg {
    const char *table;
    struct worker *w;
} read_arg;

static int check_rows(const mdm_batch *b, void *ctx)
{
    worker *w = ctx;
    for (size_t r = 0; r < mdm_batch_nrows(b); r++) {
        if (mdm_batch_int64(b, 0, r) != w->id || mdm_batch_int64(b, 1, r) != w->next_seq)
            w->order_ok = false;
        w->next_seq++;
    }
    return 0;
}

static int read_op(mdm_conn *c, void *arg)
{
    read_arg *a = arg;
    a->w->order_ok = true;
    a->w->next_seq = 0;
    mdm_read_request req = {.table = a->table, .limit = -1};
    return mdm_conn_read(c, &req, check_rows, a->w);
}

static void *work(void *p)
{
    worker *w = p;
    char table[32];
    snprintf(table, sizeof table, "worker %d", w->id);
    mdm_batch *b = NULL;
    if ((w->rc = with_retry(create_op, table)))
        goto cleanup;
    if ((w->rc = mdm_batch_new(&b, cols, 3, ROWS_PER_BATCH)))
        goto cleanup;
    for (int k = 0; k < BATCHES; k++) {
        mdm_batch_clear(b);
        for (int i = 0; i < ROWS_PER_BATCH; i++) {
            size_t r;
            if ((w->rc = mdm_batch_add_row(b, &r)))
                goto cleanup;
            mdm_batch_set_int64(b, 0, r, w->id);
            mdm_batch_set_int64(b, 1, r, (int64_t)k * ROWS_PER_BATCH + i);
            char label[32];
            int len = snprintf(label, sizeof label, "w%d-%d", w->id, i);
            if ((w->rc = mdm_batch_set_text(b, 2, r, label, (size_t)len)))
                goto cleanup;
        }
        append_arg a = {table, b};
        if ((w->rc = with_retry(append_op, &a)))
            goto cleanup;
    }
    read_arg r = {table, w};
    w->rc = with_retry(read_op, &r);
cleanup:
    if (w->rc)
        snprintf(w->error, sizeof w->error, "%s", mdm_error_last()->message);
    mdm_batch_free(b);
    return NULL;
}

static void ten_threads_own_tables(void **state)
{
    (void)state;
    CHECK(mdm_store_resize(fx.store, 0, POOL_SIZE));
    pthread_t th[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.id = i};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        if (w[i].rc)
            fail_msg("worker %d: %s", i, w[i].error);
        assert_true(w[i].order_ok);
        assert_int_equal(w[i].next_seq, BATCHES * ROWS_PER_BATCH);
    }
    mdm_conn *c = fixture_checkout();
    for (int i = 0; i < THREADS; i++) {
        char table[32];
        snprintf(table, sizeof table, "worker %d", i);
        assert_int_equal(count_rows(c, table), BATCHES * ROWS_PER_BATCH);
    }
    fixture_checkin(c);
    mdm_pool_stats s;
    CHECK(mdm_store_pool_stats(fx.store, &s));
    assert_true(s.size <= POOL_SIZE);
    assert_int_equal(s.timeouts, 0);
    assert_true(s.checkouts >= THREADS * (BATCHES + 2));
    CHECK(mdm_store_resize(fx.store, 1, 16));
}

const struct CMUnitTest thread_tests[] = {
    cmocka_unit_test_setup_teardown(ten_threads_own_tables, fixture_setup, fixture_teardown),
};
const size_t thread_ntests = sizeof thread_tests / sizeof thread_tests[0];
