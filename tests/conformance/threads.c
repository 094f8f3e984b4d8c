/* Ten threads, each with its own connection from one store, each writing and reading its
 * own table at the same time. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "conformance/fixture.h"

enum { THREADS = 10, BATCHES = 20, ROWS_PER_BATCH = 1000 };

static const mdm_field cols[] = {{"thread", MDM_TYPE_INT64}, {"seq", MDM_TYPE_INT64},
                                 {"label", MDM_TYPE_TEXT}};

typedef struct worker {
    int id;
    int rc;
    char error[1024];
    int64_t next_seq;
    bool order_ok;
} worker;

/* Transient errors (a busy SQLite file, a DuckDB write conflict) are retried, as the
 * storage layer's callers do; anything else fails the worker. */
static int with_retry(int (*op)(mdm_conn *, void *), mdm_conn *c, void *arg)
{
    int rc = 0;
    for (int attempt = 0; attempt < 50; attempt++) {
        rc = op(c, arg);
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

static void *work(void *p)
{
    worker *w = p;
    mdm_conn *c = NULL;
    char table[32];
    snprintf(table, sizeof table, "worker %d", w->id);
    mdm_batch *b = NULL;
    if ((w->rc = mdm_store_checkout(fx.store, &c)))
        goto cleanup;
    if ((w->rc = with_retry(create_op, c, table)))
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
        if ((w->rc = with_retry(append_op, c, &a)))
            goto cleanup;
    }
    w->order_ok = true;
    mdm_read_request req = {.table = table, .limit = -1};
    w->rc = mdm_conn_read(c, &req, check_rows, w);
cleanup:
    if (w->rc)
        snprintf(w->error, sizeof w->error, "%s", mdm_error_last()->message);
    mdm_batch_free(b);
    if (c)
        mdm_store_checkin(fx.store, c);
    return NULL;
}

static void ten_threads_own_tables(void **state)
{
    (void)state;
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
}

const struct CMUnitTest thread_tests[] = {
    cmocka_unit_test_setup_teardown(ten_threads_own_tables, fixture_setup, fixture_teardown),
};
const size_t thread_ntests = sizeof thread_tests / sizeof thread_tests[0];
