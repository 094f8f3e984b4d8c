/* Fault test on a real PostgreSQL: the server restarts while 50 threads read and write
 * through one pool. Every operation must succeed, or fail with a retryable error and
 * then succeed on retry; the pool must recover by itself; no acknowledged row may be
 * missing. Needs scripts/test-postgres (MDM_TEST_PG_* variables); skipped without it
 * unless MDM_REQUIRE_POSTGRES=1. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdm/mdm.h"

enum { WRITERS = 25, READERS = 25, MAX_SEQ = 100000 };

static mdm_config *cfg;
static mdm_store *store;
static _Atomic bool stop;
static _Atomic long retried_ops, transient_errors;

static const mdm_field cols[] = {{"writer", MDM_TYPE_INT64}, {"seq", MDM_TYPE_INT64}};

typedef struct worker {
    int id;
    int64_t acked;       /* seqs 0..acked-1 were acknowledged */
    uint8_t *ambiguous;  /* seq whose first attempt failed with a lost connection */
    int fatal;           /* a non-retryable error */
    char error[1024];
} worker;

/* Runs op until it succeeds, retrying retryable errors for up to 60 s. */
static int with_retries(int (*op)(mdm_conn *, void *), void *arg, bool *had_connect_error)
{
    uint64_t deadline = mdm_now_ns() + 60ull * 1000000000ull;
    bool first = true;
    for (;;) {
        mdm_conn *c = NULL;
        int rc = mdm_store_checkout(store, &c);
        if (rc == 0) {
            rc = op(c, arg);
            mdm_store_checkin(store, c);
        }
        if (rc == 0) {
            if (!first)
                retried_ops++;
            return 0;
        }
        if (!mdm_error_is_transient(rc) || mdm_now_ns() > deadline)
            return rc;
        if (rc == MDM_ECONNECT && had_connect_error)
            *had_connect_error = true;
        transient_errors++;
        first = false;
        usleep(20000);
    }
}

typedef struct write_arg {
    int writer;
    int64_t seq;
} write_arg;

static int write_op(mdm_conn *c, void *p)
{
    write_arg *w = p;
    mdm_batch *b = NULL;
    int rc = mdm_batch_new(&b, cols, 2, 1);
    size_t r;
    if (!rc && !(rc = mdm_batch_add_row(b, &r))) {
        mdm_batch_set_int64(b, 0, r, w->writer);
        mdm_batch_set_int64(b, 1, r, w->seq);
        rc = mdm_conn_append(c, "events", b);
    }
    mdm_batch_free(b);
    return rc;
}

static void *writer_main(void *p)
{
    worker *w = p;
    while (!stop && w->acked < MAX_SEQ) {
        write_arg a = {w->id, w->acked};
        bool lost = false;
        int rc = with_retries(write_op, &a, &lost);
        if (rc) {
            w->fatal = rc;
            snprintf(w->error, sizeof w->error, "%s", mdm_error_last()->message);
            return NULL;
        }
        /* A write whose connection dropped may have committed before the loss; its
         * retry may then store it twice. That is the only duplicate allowed. */
        if (lost)
            w->ambiguous[w->acked] = 1;
        w->acked++;
    }
    return NULL;
}

static int count_sink(const mdm_batch *b, void *ctx)
{
    *(int64_t *)ctx = mdm_batch_int64(b, 0, 0);
    return 0;
}

static int read_op(mdm_conn *c, void *p)
{
    int64_t n = 0;
    int rc = mdm_conn_execute(c, "SELECT COUNT(*) FROM \"events\"", NULL, 0, count_sink, &n, NULL);
    *(int64_t *)p = n;
    return rc;
}

static void *reader_main(void *p)
{
    worker *w = p;
    while (!stop) {
        int64_t n = 0;
        int rc = with_retries(read_op, &n, NULL);
        if (rc) {
            w->fatal = rc;
            snprintf(w->error, sizeof w->error, "%s", mdm_error_last()->message);
            return NULL;
        }
        usleep(1000);
    }
    return NULL;
}

static void restart_server(void)
{
    const char *bindir = getenv("MDM_TEST_PG_BINDIR"), *data = getenv("MDM_TEST_PG_DATA");
    const char *user = getenv("MDM_TEST_PG_CTL_USER");
    char cmd[2048];
    bool other_user = getuid() == 0 && user && strcmp(user, "root") != 0;
    snprintf(cmd, sizeof cmd, "cd /tmp && %s%s%s '%s/pg_ctl' -D '%s' -l '%s/restart.log' -m fast -w -t 60 restart >/dev/null 2>&1",
             other_user ? "runuser -u '" : "", other_user ? user : "", other_user ? "' --" : "",
             bindir, data, data);
    assert_int_equal(system(cmd), 0);
}

typedef struct group_row {
    int64_t writer, seq, n;
} group_row;

typedef struct verify {
    worker *writers;
    int64_t missing, unexpected_dupes, rows;
} verify;

static int verify_sink(const mdm_batch *b, void *ctx)
{
    verify *v = ctx;
    for (size_t r = 0; r < mdm_batch_nrows(b); r++) {
        int64_t writer = mdm_batch_int64(b, 0, r), seq = mdm_batch_int64(b, 1, r);
        int64_t n = mdm_batch_int64(b, 2, r);
        v->rows++;
        if (writer < 0 || writer >= WRITERS || seq < 0 || seq >= MAX_SEQ)
            continue;
        worker *w = &v->writers[writer];
        if (n > 1 && !w->ambiguous[seq])
            v->unexpected_dupes++;
    }
    return 0;
}

static void restart_under_load(void **state)
{
    (void)state;
    mdm_conn *c = NULL;
    assert_int_equal(mdm_store_checkout(store, &c), 0);
    assert_int_equal(mdm_conn_dataset_create(c), 0);
    assert_int_equal(mdm_conn_table_create(c, "events", cols, 2), 0);
    mdm_store_checkin(store, c);

    pthread_t th[WRITERS + READERS];
    worker w[WRITERS + READERS];
    for (int i = 0; i < WRITERS + READERS; i++) {
        w[i] = (worker){.id = i < WRITERS ? i : i - WRITERS};
        w[i].ambiguous = calloc(MAX_SEQ, 1);
        pthread_create(&th[i], NULL, i < WRITERS ? writer_main : reader_main, &w[i]);
    }
    usleep(1500000);
    restart_server();
    usleep(1500000);
    restart_server(); /* twice: the pool must recover each time */
    usleep(2000000);
    stop = true;
    for (int i = 0; i < WRITERS + READERS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < WRITERS + READERS; i++)
        if (w[i].fatal)
            fail_msg("%s %d failed: %s (%s)", i < WRITERS ? "writer" : "reader", w[i].id,
                     w[i].error, mdm_error_name(w[i].fatal));

    /* Every acknowledged (writer, seq) is there; only ambiguous ones may repeat. */
    int64_t acked = 0;
    for (int i = 0; i < WRITERS; i++)
        acked += w[i].acked;
    assert_int_equal(mdm_store_checkout(store, &c), 0);
    for (int i = 0; i < WRITERS; i++) {
        mdm_value p[] = {mdm_value_int64(i), mdm_value_int64(w[i].acked)};
        int64_t distinct = 0;
        assert_int_equal(mdm_conn_execute(c,
                                          "SELECT COUNT(DISTINCT \"seq\") FROM \"events\" "
                                          "WHERE \"writer\" = ? AND \"seq\" < ?",
                                          p, 2, count_sink, &distinct, NULL),
                         0);
        if (distinct != w[i].acked)
            fail_msg("writer %d: %lld acknowledged rows, %lld found", i, (long long)w[i].acked,
                     (long long)distinct);
    }
    verify v = {.writers = w};
    assert_int_equal(mdm_conn_execute(c,
                                      "SELECT \"writer\", \"seq\", COUNT(*) FROM \"events\" "
                                      "GROUP BY \"writer\", \"seq\"",
                                      NULL, 0, verify_sink, &v, NULL),
                     0);
    assert_int_equal(v.unexpected_dupes, 0);
    assert_int_equal(mdm_conn_dataset_drop(c), 0);
    mdm_store_checkin(store, c);

    mdm_pool_stats s;
    mdm_store_pool_stats(store, &s);
    /* The pool's name says where, never with the password. */
    const char *password = getenv("MDM_TEST_PG_PASSWORD");
    assert_non_null(strstr(s.name, "postgres:127.0.0.1:"));
    assert_true(!password || !*password || !strstr(s.name, password));
    print_message("acknowledged writes %lld, operations retried %ld, transient errors %ld, "
                  "connections created %llu, closed broken %llu, closed on validation %llu, "
                  "breaker %s\n",
                  (long long)acked, (long)retried_ops, (long)transient_errors,
                  (unsigned long long)s.created, (unsigned long long)s.closed_broken,
                  (unsigned long long)s.closed_validation, s.breaker);
    assert_true(acked > 0);
    assert_true(retried_ops > 0);           /* the restarts were felt ... */
    assert_true(s.created > s.max_size / 2); /* ... and the pool reconnected by itself */
    assert_int_equal(s.in_use, 0);
    for (int i = 0; i < WRITERS + READERS; i++)
        free(w[i].ambiguous);
}

int main(void)
{
    if (!getenv("MDM_TEST_PG_CONNINFO") || !getenv("MDM_TEST_PG_DATA")) {
        const char *req = getenv("MDM_REQUIRE_POSTGRES");
        fprintf(stderr, "MDM_TEST_PG_* not set: run under scripts/test-postgres\n");
        return req && strcmp(req, "1") == 0 ? 1 : 77;
    }
    /* Nothing is written under home: config paths only. */
    const char *home = "/tmp/mdm-pg-fault-home";
    if (mdm_config_defaults(&cfg, home) != 0)
        return 1;
    char dataset[64];
    snprintf(dataset, sizeof dataset, "fault_%d", (int)getpid());
    static const char *const settings[][2] = {
        {"database.postgresql.pool_size", "25"},
        {"database.pool.breaker_cooldown", "1"},
        {"database.pool.connect_attempts", "3"},
        {"database.pool.retry_base_ms", "50"},
        {"database.sqlalchemy.pool_timeout", "30"},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        if (mdm_config_set(cfg, settings[i][0], settings[i][1]) != 0)
            return 1;
    mdm_target t = {.dataset = dataset, .conninfo = getenv("MDM_TEST_PG_CONNINFO")};
    if (mdm_store_open(&store, "postgres", &t, cfg) != 0) {
        fprintf(stderr, "%s\n", mdm_error_last()->message);
        return 1;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(restart_under_load)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    mdm_store_free(store);
    mdm_config_free(cfg);
    return rc;
}
