/* The connection pool, one test per behaviour, with a fake backend through the same
 * backend table the real ones use. */
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

#include "storage/conn.h"
#include "storage/pool.h"
#include "storage/resilience.h"

struct mdm_backend_conn {
    int id;
    bool in_tx;
    _Atomic int users; /* threads using it right now: must never exceed 1 */
};

static _Atomic int opened, closed, pings, resets, open_now, max_open_seen;
static _Atomic int fail_opens;       /* the next N opens fail */
static _Atomic bool fail_transient;  /* failures are ECONNECT (else EINVALID) */
static _Atomic int fail_ping_id;     /* ping of this connection id fails */
static _Atomic int open_delay_ms;

static int fake_open(mdm_backend_conn **out, const mdm_target *t, const mdm_config *cfg)
{
    (void)t, (void)cfg;
    if (open_delay_ms)
        usleep((useconds_t)open_delay_ms * 1000);
    if (fail_opens > 0) {
        fail_opens--;
        return fail_transient ? mdm_error_set(MDM_ECONNECT, "fake: connection refused")
                              : mdm_error_set(MDM_EINVALID, "fake: password authentication failed");
    }
    *out = calloc(1, sizeof **out);
    (*out)->id = ++opened;
    int now = ++open_now;
    int seen = max_open_seen;
    while (now > seen && !atomic_compare_exchange_weak(&max_open_seen, &seen, now)) {
    }
    return 0;
}

static void fake_close(mdm_backend_conn *c)
{
    closed++;
    open_now--;
    free(c);
}

static int fake_ping(mdm_backend_conn *c)
{
    pings++;
    return c->id == fail_ping_id ? mdm_error_set(MDM_ECONNECT, "fake: server closed the connection") : 0;
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

static const mdm_backend fake = {
    .version = MDM_BACKEND_VERSION, .name = "fakepool", .open = fake_open, .close = fake_close,
    .ping = fake_ping, .reset = fake_reset, .begin = fake_begin, .rollback = fake_reset,
};

static pool_options base_options(void)
{
    return (pool_options){
        .min_size = 0, .max_size = 4, .acquire_timeout_ms = 200, .max_lifetime_ms = 0,
        .idle_timeout_ms = 0, .validation_window_ms = 60000, .leak_threshold_ms = 0,
        .connect_attempts = 1, .retry_base_ms = 1, .retry_max_ms = 4,
        .breaker_threshold = 0, .breaker_cooldown_ms = 100,
    };
}

static pool *make_pool(const pool_options *opt)
{
    pool *p = NULL;
    mdm_target t = {.dataset = "d", .path = "/fake"};
    assert_int_equal(pool_create(&p, "fakepool:/fake", &fake, &t, NULL, opt), 0);
    return p;
}

static int reset_counters(void **state)
{
    (void)state;
    opened = closed = pings = resets = open_now = max_open_seen = 0;
    fail_opens = 0;
    fail_transient = true;
    fail_ping_id = -1;
    open_delay_ms = 0;
    return 0;
}

static void exhaustion_explains_itself(void **state)
{
    (void)state;
    pool_options o = base_options();
    o.max_size = 2;
    o.acquire_timeout_ms = 100;
    pool *p = make_pool(&o);
    mdm_conn *a, *b, *c;
    assert_int_equal(pool_acquire(p, &a), 0);
    assert_int_equal(pool_acquire(p, &b), 0);
    uint64_t t0 = mdm_now_ns();
    assert_int_equal(pool_acquire(p, &c), MDM_ETIMEOUT);
    uint64_t waited_ms = (mdm_now_ns() - t0) / 1000000;
    assert_true(waited_ms >= 95 && waited_ms < 1000);
    assert_null(c);
    const char *msg = mdm_error_last()->message;
    assert_non_null(strstr(msg, "pool fakepool:/fake exhausted: 2 of 2 in use, 0 waiting, waited "));
    assert_non_null(strstr(msg, " ms"));
    mdm_pool_stats s;
    pool_stats(p, &s);
    assert_int_equal(s.timeouts, 1);
    assert_int_equal(s.in_use, 2);
    pool_release(p, a);
    pool_release(p, b);
    pool_destroy(p);
}

typedef struct fifo_ctx {
    pool *p;
    int index;
    _Atomic int *order;
    _Atomic int *next;
} fifo_ctx;

static void *fifo_waiter(void *arg)
{
    fifo_ctx *f = arg;
    mdm_conn *c = NULL;
    if (pool_acquire(f->p, &c) == 0) {
        f->order[atomic_fetch_add(f->next, 1)] = f->index;
        pool_release(f->p, c);
    }
    return NULL;
}

static void waiters_are_served_in_order(void **state)
{
    (void)state;
    pool_options o = base_options();
    o.max_size = 1;
    o.acquire_timeout_ms = 5000;
    pool *p = make_pool(&o);
    mdm_conn *held;
    assert_int_equal(pool_acquire(p, &held), 0);
    enum { N = 6 };
    pthread_t th[N];
    fifo_ctx ctx[N];
    _Atomic int order[N], next = 0;
    for (int i = 0; i < N; i++) {
        ctx[i] = (fifo_ctx){p, i, order, &next};
        pthread_create(&th[i], NULL, fifo_waiter, &ctx[i]);
        /* Let each one queue before the next arrives. */
        for (int spin = 0; spin < 200; spin++) {
            mdm_pool_stats s;
            pool_stats(p, &s);
            if (s.waiting == (size_t)i + 1)
                break;
            usleep(1000);
        }
    }
    pool_release(p, held);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(next, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(order[i], i);
    pool_destroy(p);
}

static void lifetime_replaces_old_connections(void **state)
{
    (void)state;
    pool_options o = base_options();
    o.max_lifetime_ms = 50;
    pool *p = make_pool(&o);
    mdm_conn *c;
    assert_int_equal(pool_acquire(p, &c), 0);
    int first = c->raw->id;
    /* Lifetime carries up to 2.5 % jitter: the connection expires between 48.75 and 50 ms. */
    assert_true(c->expires_ns - c->created_ns <= 50000000ull);
    assert_true(c->expires_ns - c->created_ns >= 48750000ull);
    pool_release(p, c);
    usleep(70000);
    assert_int_equal(pool_acquire(p, &c), 0);
    assert_int_not_equal(c->raw->id, first);
    pool_release(p, c);
    mdm_pool_stats s;
    pool_stats(p, &s);
    assert_int_equal(s.closed_lifetime, 1);
    pool_destroy(p);
}

static void idle_connections_are_trimmed_to_min(void **state)
{
    (void)state;
    pool_options o = base_options();
    o.min_size = 1;
    o.idle_timeout_ms = 30;
    pool *p = make_pool(&o);
    mdm_conn *c[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pool_acquire(p, &c[i]), 0);
    for (int i = 0; i < 4; i++)
        pool_release(p, c[i]);
    usleep(50000);
    pool_maintain(p);
    mdm_pool_stats s;
    pool_stats(p, &s);
    assert_int_equal(s.size, 1);
    assert_int_equal(s.idle, 1);
    assert_int_equal(s.closed_idle, 3);
    pool_destroy(p);
}

static void monitor_refills_to_min(void **state)
{
    (void)state;
    pool_options o = base_options();
    o.min_size = 3;
    pool *p = make_pool(&o);
    pool_maintain(p);
    mdm_pool_stats s;
    pool_stats(p, &s);
    assert_int_equal(s.size, 3);
    assert_int_equal(s.idle, 3);
    assert_int_equal(opened, 3);
    pool_destroy(p);
    assert_int_equal(closed, 3);
}

static void failed_validation_is_replaced(void **state)
{
    (void)state;
    pool_options o = base_options();
    o.validation_window_ms = 10;
    pool *p = make_pool(&o);
    mdm_conn *c;
    assert_int_equal(pool_acquire(p, &c), 0);
    int first = c->raw->id;
    pool_release(p, c);
    /* Within the window: no ping. */
    assert_int_equal(pool_acquire(p, &c), 0);
    assert_int_equal(pings, 0);
    pool_release(p, c);
    usleep(20000);
    fail_ping_id = first;
    assert_int_equal(pool_acquire(p, &c), 0);
    assert_int_equal(pings, 1);
    assert_int_not_equal(c->raw->id, first);
    pool_release(p, c);
    mdm_pool_stats s;
    pool_stats(p, &s);
    assert_int_equal(s.closed_validation, 1);
    assert_int_equal(s.size, 1);
    pool_destroy(p);
}

static void error_marks_connection_for_validation(void **state)
{
    (void)state;
    pool *p = make_pool(&(pool_options){.max_size = 2, .acquire_timeout_ms = 100,
                                        .validation_window_ms = 60000, .connect_attempts = 1});
    mdm_conn *c;
    assert_int_equal(pool_acquire(p, &c), 0);
    int id = c->raw->id;
    c->failed = true; /* as conn.c does after an operation fails */
    fail_ping_id = id;
    pool_release(p, c);
    mdm_pool_stats s;
    pool_stats(p, &s);
    assert_int_equal(s.closed_broken, 1);
    assert_int_equal(s.size, 0);
    pool_destroy(p);
}

static void open_transaction_is_rolled_back_on_return(void **state)
{
    (void)state;
    pool_options o = base_options();
    pool *p = make_pool(&o);
    mdm_conn *c;
    assert_int_equal(pool_acquire(p, &c), 0);
    c->backend->begin(c->raw);
    c->in_transaction = true;
    pool_release(p, c);
    assert_int_equal(resets, 1);
    assert_int_equal(pool_acquire(p, &c), 0);
    assert_false(c->raw->in_tx);
    assert_false(c->in_transaction);
    pool_release(p, c);
    assert_int_equal(resets, 1); /* a clean return costs nothing */
    pool_destroy(p);
}

static void held_connection_is_reported_as_leak(void **state)
{
    (void)state;
    pool_options o = base_options();
    o.leak_threshold_ms = 20;
    pool *p = make_pool(&o);
    mdm_conn *c;
    assert_int_equal(pool_acquire(p, &c), 0);
    pool_maintain(p);
    mdm_pool_stats s;
    pool_stats(p, &s);
    assert_int_equal(s.leaks_reported, 0);
    usleep(30000);
    pool_maintain(p);
    pool_maintain(p); /* reported once, not on every round */
    pool_stats(p, &s);
    assert_int_equal(s.leaks_reported, 1);
    assert_int_equal(c->holder_tid, (pid_t)gettid());
    pool_release(p, c);
    pool_destroy(p);
}

static void breaker_opens_half_opens_and_closes(void **state)
{
    (void)state;
    pool_options o = base_options();
    o.breaker_threshold = 3;
    o.breaker_cooldown_ms = 60;
    pool *p = make_pool(&o);
    mdm_conn *c = NULL;
    fail_opens = 100;
    for (int i = 0; i < 3; i++)
        assert_int_equal(pool_acquire(p, &c), MDM_ECONNECT);
    assert_string_equal(mdm_error_last()->message, "fake: connection refused");
    mdm_pool_stats s;
    pool_stats(p, &s);
    assert_string_equal(s.breaker, "open");
    /* Open: fails fast without calling the backend, and says why. */
    int before = fail_opens;
    uint64_t t0 = mdm_now_ns();
    assert_int_equal(pool_acquire(p, &c), MDM_ECONNECT);
    assert_true(mdm_now_ns() - t0 < 20000000ull);
    assert_int_equal(fail_opens, before);
    assert_non_null(strstr(mdm_error_last()->message, "circuit breaker open after 3 consecutive connect failures"));
    assert_non_null(strstr(mdm_error_last()->message, "connection refused"));
    /* After the cool-down one probe goes through; it fails: open again. */
    usleep(70000);
    pool_stats(p, &s);
    assert_string_equal(s.breaker, "half-open");
    assert_int_equal(pool_acquire(p, &c), MDM_ECONNECT);
    assert_int_equal(fail_opens, before - 1);
    pool_stats(p, &s);
    assert_string_equal(s.breaker, "open");
    /* Next probe succeeds: closed. */
    usleep(70000);
    fail_opens = 0;
    assert_int_equal(pool_acquire(p, &c), 0);
    pool_stats(p, &s);
    assert_string_equal(s.breaker, "closed");
    assert_int_equal(s.connect_failures, 4);
    assert_int_equal(s.checkouts, 1); /* failed connects are not checkouts */
    pool_release(p, c);
    pool_destroy(p);
}

static void connect_retries_transient_failures(void **state)
{
    (void)state;
    pool_options o = base_options();
    o.connect_attempts = 4;
    o.retry_base_ms = 5;
    o.retry_max_ms = 20;
    o.acquire_timeout_ms = 5000;
    pool *p = make_pool(&o);
    mdm_conn *c = NULL;
    fail_opens = 2;
    assert_int_equal(pool_acquire(p, &c), 0);
    assert_int_equal(fail_opens, 0);
    pool_release(p, c);
    /* A failure that retrying cannot fix is reported at once, with its real cause. */
    mdm_conn *d = NULL;
    fail_transient = false;
    fail_opens = 1;
    assert_int_equal(pool_acquire(p, &c), 0); /* the idle one: no connect needed */
    assert_int_equal(pool_acquire(p, &d), MDM_EINVALID);
    assert_string_equal(mdm_error_last()->message, "fake: password authentication failed");
    assert_int_equal(fail_opens, 0);
    pool_release(p, c);
    pool_destroy(p);
}

static void backoff_schedule_doubles_with_jitter(void **state)
{
    (void)state;
    const uint64_t base = 100, max = 1000;
    for (unsigned attempt = 0; attempt < 8; attempt++) {
        uint64_t cap = base << attempt;
        if (cap > max)
            cap = max;
        uint64_t lo = UINT64_MAX, hi = 0;
        for (int i = 0; i < 2000; i++) {
            uint64_t d = backoff_delay_ns(attempt, base, max);
            assert_true(d <= cap);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        /* Full jitter spreads over the whole range. */
        assert_true(lo < cap / 4);
        assert_true(hi > cap * 3 / 4);
    }
}

static void resize_grows_and_shrinks(void **state)
{
    (void)state;
    pool_options o = base_options();
    o.max_size = 2;
    o.acquire_timeout_ms = 50;
    pool *p = make_pool(&o);
    mdm_conn *c[4];
    assert_int_equal(pool_acquire(p, &c[0]), 0);
    assert_int_equal(pool_acquire(p, &c[1]), 0);
    assert_int_equal(pool_acquire(p, &c[2]), MDM_ETIMEOUT);
    assert_int_equal(pool_resize(p, 0, 4), 0);
    assert_int_equal(pool_acquire(p, &c[2]), 0);
    assert_int_equal(pool_acquire(p, &c[3]), 0);
    assert_int_equal(pool_resize(p, 0, 1), 0);
    for (int i = 0; i < 4; i++)
        pool_release(p, c[i]);
    mdm_pool_stats s;
    pool_stats(p, &s);
    assert_int_equal(s.size, 1);
    assert_int_equal(s.closed_resize, 3);
    assert_int_equal(pool_resize(p, 2, 1), MDM_EINVALID);
    assert_int_equal(pool_resize(p, 0, 0), MDM_EINVALID);
    pool_destroy(p);
}

typedef struct drain_ctx {
    pool *p;
    mdm_conn *c;
} drain_ctx;

static void *release_later(void *arg)
{
    drain_ctx *d = arg;
    usleep(50000);
    pool_release(d->p, d->c);
    return NULL;
}

static void drain_waits_for_borrowed_connections(void **state)
{
    (void)state;
    pool_options o = base_options();
    pool *p = make_pool(&o);
    mdm_conn *a, *b;
    assert_int_equal(pool_acquire(p, &a), 0);
    assert_int_equal(pool_acquire(p, &b), 0);
    pool_release(p, b);
    drain_ctx d = {p, a};
    pthread_t th;
    pthread_create(&th, NULL, release_later, &d);
    uint64_t t0 = mdm_now_ns();
    assert_int_equal(pool_drain(p, 5000), 0);
    assert_true(mdm_now_ns() - t0 >= 40000000ull);
    pthread_join(th, NULL);
    mdm_pool_stats s;
    pool_stats(p, &s);
    assert_int_equal(s.size, 0);
    assert_int_equal(open_now, 0);
    assert_int_equal(pool_acquire(p, &a), MDM_ECLOSED);
    pool_destroy(p);

    /* A drain that runs out of time says how many are still out. */
    p = make_pool(&o);
    assert_int_equal(pool_acquire(p, &a), 0);
    assert_int_equal(pool_drain(p, 20), MDM_ETIMEOUT);
    assert_non_null(strstr(mdm_error_last()->message, "1 connections still checked out"));
    pool_release(p, a);
    pool_destroy(p);
}

/* ------------------------------------------------------------------ stress */

enum { STRESS_THREADS = 16, STRESS_CYCLES = 100000, STRESS_MAX = 4 };

typedef struct stress_ctx {
    pool *p;
    int errors;
} stress_ctx;

static _Atomic int in_use_now, in_use_max;

static void *stress_worker(void *arg)
{
    stress_ctx *s = arg;
    for (int i = 0; i < STRESS_CYCLES; i++) {
        mdm_conn *c = NULL;
        if (pool_acquire(s->p, &c) != 0) {
            s->errors++;
            continue;
        }
        if (atomic_fetch_add(&c->raw->users, 1) != 0)
            s->errors += 1000000; /* one connection checked out twice */
        int now = atomic_fetch_add(&in_use_now, 1) + 1;
        int seen = in_use_max;
        while (now > seen && !atomic_compare_exchange_weak(&in_use_max, &seen, now)) {
        }
        atomic_fetch_sub(&in_use_now, 1);
        atomic_fetch_sub(&c->raw->users, 1);
        pool_release(s->p, c);
    }
    return NULL;
}

static void stress_invariants_hold(void **state)
{
    (void)state;
    pool_options o = base_options();
    o.max_size = STRESS_MAX;
    o.acquire_timeout_ms = 60000;
    pool *p = make_pool(&o);
    pthread_t th[STRESS_THREADS];
    stress_ctx ctx[STRESS_THREADS];
    int cycles = STRESS_CYCLES;
    (void)cycles;
    for (int i = 0; i < STRESS_THREADS; i++) {
        ctx[i] = (stress_ctx){p, 0};
        pthread_create(&th[i], NULL, stress_worker, &ctx[i]);
    }
    for (int i = 0; i < STRESS_THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < STRESS_THREADS; i++)
        assert_int_equal(ctx[i].errors, 0);
    assert_true(max_open_seen <= STRESS_MAX);
    assert_true(in_use_max <= STRESS_MAX);
    mdm_pool_stats s;
    pool_stats(p, &s);
    assert_int_equal(s.checkouts, (uint64_t)STRESS_THREADS * STRESS_CYCLES);
    assert_int_equal(s.in_use, 0);
    assert_int_equal(s.waiting, 0);
    assert_true(s.size <= STRESS_MAX);
    pool_destroy(p);
    assert_int_equal(open_now, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(exhaustion_explains_itself, reset_counters),
        cmocka_unit_test_setup(waiters_are_served_in_order, reset_counters),
        cmocka_unit_test_setup(lifetime_replaces_old_connections, reset_counters),
        cmocka_unit_test_setup(idle_connections_are_trimmed_to_min, reset_counters),
        cmocka_unit_test_setup(monitor_refills_to_min, reset_counters),
        cmocka_unit_test_setup(failed_validation_is_replaced, reset_counters),
        cmocka_unit_test_setup(error_marks_connection_for_validation, reset_counters),
        cmocka_unit_test_setup(open_transaction_is_rolled_back_on_return, reset_counters),
        cmocka_unit_test_setup(held_connection_is_reported_as_leak, reset_counters),
        cmocka_unit_test_setup(breaker_opens_half_opens_and_closes, reset_counters),
        cmocka_unit_test_setup(connect_retries_transient_failures, reset_counters),
        cmocka_unit_test_setup(backoff_schedule_doubles_with_jitter, reset_counters),
        cmocka_unit_test_setup(resize_grows_and_shrinks, reset_counters),
        cmocka_unit_test_setup(drain_waits_for_borrowed_connections, reset_counters),
        cmocka_unit_test_setup(stress_invariants_hold, reset_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
