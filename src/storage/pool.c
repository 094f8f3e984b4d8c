/* The connection pool (DESIGN.md, "Storage layer"; seeds 000, 002, 003).
 *
 * Rules it keeps:
 * - Never connect, ping, reset or close while holding the lock: slots are reserved
 *   under the lock (`total` counts connections open *or being opened*), the I/O
 *   happens after unlocking.
 * - Waiters are served first come, first served: a returned connection (or a freed
 *   slot) is handed directly to the oldest waiter, so a newcomer cannot barge in.
 * - A connection is pinged only when it sat idle longer than the validation window or
 *   when an operation on it failed, not on every checkout.
 * - Lifetimes carry up to 2.5 % random jitter so connections made together do not all
 *   expire together.
 */
#include "storage/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/strbuf.h"
#include "storage/conn.h"
#include "storage/resilience.h"

typedef struct waiter {
    pthread_cond_t cond;
    uint64_t since;  /* when it queued */
    mdm_conn *conn;  /* handed a connection */
    bool slot;       /* handed the right to open one */
    bool signaled;   /* woken and not yet back to waiting */
    struct waiter *next;
} waiter;

enum close_reason { CLOSE_LIFETIME, CLOSE_IDLE, CLOSE_BROKEN, CLOSE_VALIDATION, CLOSE_RESIZE,
                    CLOSE_SHUTDOWN, CLOSE_REASONS };
static const char *const reason_names[CLOSE_REASONS] = {"lifetime", "idle", "broken",
                                                        "validation", "resize", "shutdown"};

/* Fine-grained latency histogram: two buckets per power of two of nanoseconds. */
#define LAT_BUCKETS 96
typedef struct latency {
    uint64_t bucket[LAT_BUCKETS];   /* under the pool lock */
    uint64_t exported[LAT_BUCKETS]; /* already fed to the metrics histogram (monitor) */
} latency;

struct pool {
    pthread_mutex_t lock;
    char *name;
    const mdm_backend *backend;
    mdm_target target; /* strings owned */
    const mdm_config *cfg;
    pool_options opt;

    mdm_conn *idle;       /* LIFO: the most recently used is the warmest */
    size_t nidle;
    mdm_conn *all;        /* every open connection, for leak reports */
    size_t total;         /* open + being opened */
    size_t in_use;
    waiter *wait_head, *wait_tail;
    size_t nwaiting;
    bool draining;
    pthread_cond_t drained;
    mdm_conn *forgotten;  /* inherited across fork(): kept reachable, never closed */

    breaker breaker;
    uint64_t last_capacity_warning_ns;

    uint64_t checkouts, created, timeouts, connect_failures, leaks_reported;
    uint64_t closed[CLOSE_REASONS];
    latency wait, usage;

    struct {
        mdm_gauge *size, *idle, *in_use, *waiting, *max;
        mdm_counter *created, *timeouts, *connect_failures, *closed[CLOSE_REASONS];
        mdm_histogram *wait, *usage;
    } m;
};

/* ------------------------------------------------------------------ helpers */

static unsigned lat_bucket(uint64_t ns)
{
    if (ns < 2)
        return 0;
    unsigned log2 = 63u - (unsigned)__builtin_clzll(ns);
    unsigned half = (unsigned)((ns >> (log2 - 1)) & 1u);
    unsigned b = log2 * 2 + half;
    return b < LAT_BUCKETS ? b : LAT_BUCKETS - 1;
}

/* Under the pool lock, which every checkout and checkin takes anyway. */
static void lat_observe_locked(latency *l, uint64_t ns) { l->bucket[lat_bucket(ns)]++; }

/* Middle of a bucket, in seconds. */
static double lat_bucket_mid_s(unsigned i)
{
    double lo = (double)(1ull << (i / 2));
    if (i % 2)
        lo *= 1.5;
    return lo * 1.25 / 1e9;
}

/* Feeds what was observed since the last call to the Prometheus histogram: the hot
 * path pays one increment, the registry gets the same counts a little later. Under
 * the pool lock. */
static void lat_export_locked(latency *l, mdm_histogram *h)
{
    for (unsigned i = 0; i < LAT_BUCKETS; i++) {
        if (l->bucket[i] != l->exported[i]) {
            mdm_histogram_observe_n(h, lat_bucket_mid_s(i), l->bucket[i] - l->exported[i]);
            l->exported[i] = l->bucket[i];
        }
    }
}

/* Upper bound, in milliseconds, of the bucket holding quantile q. Under the pool lock. */
static double lat_quantile_ms_locked(const latency *l, double q)
{
    uint64_t counts[LAT_BUCKETS], total = 0;
    for (unsigned i = 0; i < LAT_BUCKETS; i++)
        total += counts[i] = l->bucket[i];
    if (total == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)total + 0.5), seen = 0;
    if (rank == 0)
        rank = 1;
    for (unsigned i = 0; i < LAT_BUCKETS; i++) {
        seen += counts[i];
        if (seen >= rank) {
            unsigned log2 = i / 2;
            double lo = (double)(1ull << log2);
            double upper = (i % 2) ? 2 * lo : 1.5 * lo;
            return upper / 1e6;
        }
    }
    return 0;
}

static pid_t current_tid(void) { return (pid_t)syscall(SYS_gettid); }

static uint64_t ms_to_ns(uint64_t ms) { return ms * 1000000ull; }

static uint64_t jittered_expiry(const pool *p, uint64_t now)
{
    if (!p->opt.max_lifetime_ms)
        return 0;
    uint64_t life = ms_to_ns(p->opt.max_lifetime_ms);
    uint64_t jitter = (uint64_t)((double)life * 0.025 * resilience_random());
    return now + life - jitter;
}

static void gauges_update_locked(pool *p)
{
    mdm_gauge_set(p->m.size, (double)p->total);
    mdm_gauge_set(p->m.idle, (double)p->nidle);
    mdm_gauge_set(p->m.in_use, (double)p->in_use);
    mdm_gauge_set(p->m.waiting, (double)p->nwaiting);
    mdm_gauge_set(p->m.max, (double)(p->opt.max_size + p->opt.max_overflow));
}

static void all_link(pool *p, mdm_conn *c)
{
    c->all_prev = NULL;
    c->all_next = p->all;
    if (p->all)
        p->all->all_prev = c;
    p->all = c;
}

static void all_unlink(pool *p, mdm_conn *c)
{
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else if (p->all == c)
        p->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    c->all_prev = c->all_next = NULL;
}

/* Closes a connection that is already out of every list and no longer counted. */
static void conn_close(mdm_conn *c)
{
    if (!c)
        return;
    if (c->raw)
        c->backend->close(c->raw);
    free(c->dataset);
    free(c->load_table);
    free(c);
}

/* Removes a connection from the pool's books (under the lock). The caller closes it
 * after unlocking. */
static void forget_locked(pool *p, mdm_conn *c, enum close_reason why)
{
    all_unlink(p, c);
    p->total--;
    p->closed[why]++;
    mdm_counter_add(p->m.closed[why], 1);
}

/* A slot freed up: the oldest waiter may open a connection. Under the lock. */
static size_t hard_cap(const pool *p) { return p->opt.max_size + p->opt.max_overflow; }

static void hand_slot_locked(pool *p)
{
    if (!p->wait_head || p->total >= hard_cap(p) || p->draining)
        return;
    waiter *w = p->wait_head;
    p->wait_head = w->next;
    if (!p->wait_head)
        p->wait_tail = NULL;
    p->nwaiting--;
    p->total++;
    p->in_use++;
    w->slot = true;
    pthread_cond_signal(&w->cond);
}

static void maybe_signal_drained_locked(pool *p)
{
    if (p->draining && p->in_use == 0)
        pthread_cond_broadcast(&p->drained);
}

/* ------------------------------------------------------------------ options */

void pool_options_from_config(pool_options *opt, const mdm_backend *backend,
                              const mdm_config *cfg)
{
    const char *max_key = "database.sqlalchemy.pool_size";
    if (strcmp(backend->name, "duckdb") == 0)
        max_key = "database.duckdb.pool_size";
    else if (strcmp(backend->name, "postgres") == 0)
        max_key = "database.postgresql.pool_size";
    else if (strcmp(backend->name, "sqlite") != 0)
        max_key = "database.pool.max_size";
    int64_t recycle = mdm_config_int(cfg, "database.sqlalchemy.pool_recycle");
    *opt = (pool_options){
        .min_size = (size_t)mdm_config_int(cfg, "database.pool.min_size"),
        .max_size = (size_t)mdm_config_int(cfg, max_key),
        .max_overflow = (size_t)mdm_config_int(cfg, "database.sqlalchemy.max_overflow"),
        .acquire_timeout_ms = (uint64_t)mdm_config_int(cfg, "database.sqlalchemy.pool_timeout") * 1000,
        .max_lifetime_ms = recycle < 0 ? 0 : (uint64_t)recycle * 1000,
        .idle_timeout_ms = (uint64_t)mdm_config_int(cfg, "database.pool.idle_timeout") * 1000,
        .validation_window_ms = (uint64_t)mdm_config_int(cfg, "database.pool.validation_window_ms"),
        .leak_threshold_ms = (uint64_t)mdm_config_int(cfg, "database.pool.leak_threshold") * 1000,
        .connect_attempts = (unsigned)mdm_config_int(cfg, "database.pool.connect_attempts"),
        .retry_base_ms = (uint64_t)mdm_config_int(cfg, "database.pool.retry_base_ms"),
        .retry_max_ms = (uint64_t)mdm_config_int(cfg, "database.pool.retry_max_ms"),
        .breaker_threshold = (unsigned)mdm_config_int(cfg, "database.pool.breaker_threshold"),
        .breaker_cooldown_ms = (uint64_t)mdm_config_int(cfg, "database.pool.breaker_cooldown") * 1000,
    };
    if (opt->min_size > opt->max_size)
        opt->min_size = opt->max_size;
}

/* ------------------------------------------------------------------ lifecycle */

static char *label_escape(const char *s)
{
    strbuf sb = STRBUF_INIT;
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            strbuf_append_char(&sb, '\\');
        if (*s == '\n')
            strbuf_append(&sb, "\\n");
        else
            strbuf_append_char(&sb, *s);
    }
    return strbuf_detach(&sb);
}

static void metrics_bind(pool *p)
{
    char *esc = label_escape(p->name);
    char labels[1024];
    snprintf(labels, sizeof labels, "backend=\"%s\",pool=\"%s\"", p->backend->name, esc ? esc : "");
    p->m.size = mdm_metrics_gauge("mdm_pool_connections", "Open connections (idle + in use)", labels);
    p->m.idle = mdm_metrics_gauge("mdm_pool_idle", "Idle connections", labels);
    p->m.in_use = mdm_metrics_gauge("mdm_pool_in_use", "Connections checked out", labels);
    p->m.waiting = mdm_metrics_gauge("mdm_pool_waiting", "Threads waiting for a connection", labels);
    p->m.max = mdm_metrics_gauge("mdm_pool_max_size", "Largest number of connections", labels);
    p->m.created = mdm_metrics_counter("mdm_pool_created_total", "Connections opened", labels);
    p->m.timeouts = mdm_metrics_counter("mdm_pool_timeouts_total", "Checkouts that timed out", labels);
    p->m.connect_failures = mdm_metrics_counter("mdm_pool_connect_failures_total",
                                                "Failed connection attempts", labels);
    for (int r = 0; r < CLOSE_REASONS; r++) {
        char l[1200];
        snprintf(l, sizeof l, "%s,reason=\"%s\"", labels, reason_names[r]);
        p->m.closed[r] = mdm_metrics_counter("mdm_pool_closed_total", "Connections closed", l);
    }
    p->m.wait = mdm_metrics_histogram("mdm_pool_wait_seconds", "Time to obtain a connection", labels);
    p->m.usage = mdm_metrics_histogram("mdm_pool_usage_seconds", "Time a connection was held", labels);
    free(esc);
}

int pool_create(pool **out, const char *name, const mdm_backend *backend,
                const mdm_target *target, const mdm_config *cfg, const pool_options *opt)
{
    *out = NULL;
    if (opt->max_size == 0)
        return mdm_error_set(MDM_EINVALID, "pool %s: max size must be at least 1", name);
    pool *p = calloc(1, sizeof *p);
    if (!p)
        return mdm_error_set(MDM_ENOMEM, "out of memory creating pool %s", name);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->drained, NULL);
    p->name = strdup(name);
    p->backend = backend;
    p->cfg = cfg;
    p->opt = *opt;
    if (p->opt.connect_attempts == 0)
        p->opt.connect_attempts = 1;
    if (p->opt.min_size > p->opt.max_size)
        p->opt.min_size = p->opt.max_size;
    p->target.dataset = target->dataset ? strdup(target->dataset) : NULL;
    p->target.path = target->path ? strdup(target->path) : NULL;
    p->target.conninfo = target->conninfo ? strdup(target->conninfo) : NULL;
    breaker_init(&p->breaker, opt->breaker_threshold, ms_to_ns(opt->breaker_cooldown_ms));
    if (!p->name) {
        pool_destroy(p);
        return mdm_error_set(MDM_ENOMEM, "out of memory creating pool %s", name);
    }
    metrics_bind(p);
    *out = p;
    return 0;
}

void pool_destroy(pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    mdm_conn *idle = p->idle;
    p->idle = NULL;
    for (mdm_conn *c = idle; c; c = c->next_idle)
        forget_locked(p, c, CLOSE_SHUTDOWN);
    p->nidle = 0;
    /* Connections still checked out are closed by pool_release of their holders only if
     * the pool lives; a caller destroying a pool with borrowed connections is a bug. */
    gauges_update_locked(p);
    mdm_gauge_set(p->m.max, 0);
    pthread_mutex_unlock(&p->lock);
    while (idle) {
        mdm_conn *next = idle->next_idle;
        conn_close(idle);
        idle = next;
    }
    for (mdm_conn *c = p->forgotten, *next; c; c = next) {
        next = c->next_idle;
        free(c->dataset);
        free(c); /* the backend connection belongs to the parent process: leave it */
    }
    pthread_cond_destroy(&p->drained);
    pthread_mutex_destroy(&p->lock);
    free(p->name);
    free((char *)p->target.dataset);
    free((char *)p->target.path);
    free((char *)p->target.conninfo);
    free(p);
}

const char *pool_name(const pool *p) { return p->name; }

/* ------------------------------------------------------------------ connecting */

/* Opens a backend connection; retries transient failures with backoff, through the
 * breaker. */
static int connect_raw(pool *p, mdm_backend_conn **out, uint64_t deadline_ns)
{
    *out = NULL;
    int rc = 0;
    for (unsigned attempt = 0; attempt < p->opt.connect_attempts; attempt++) {
        if ((rc = breaker_allow(&p->breaker, mdm_now_ns(), p->name)))
            return rc;
        rc = p->backend->open(out, &p->target, p->cfg);
        if (rc == 0) {
            breaker_success(&p->breaker);
            return 0;
        }
        *out = NULL;
        breaker_failure(&p->breaker, mdm_now_ns(), rc, mdm_error_last()->message);
        pthread_mutex_lock(&p->lock);
        p->connect_failures++;
        pthread_mutex_unlock(&p->lock);
        mdm_counter_add(p->m.connect_failures, 1);
        if (!mdm_error_is_transient(rc) || attempt + 1 == p->opt.connect_attempts)
            break;
        uint64_t delay = backoff_delay_ns(attempt, ms_to_ns(p->opt.retry_base_ms),
                                          ms_to_ns(p->opt.retry_max_ms));
        if (mdm_now_ns() + delay >= deadline_ns)
            break;
        MDM_DEBUG("pool %s: connect failed (%s); retrying in %llu ms", p->name,
                  mdm_error_last()->message, (unsigned long long)(delay / 1000000));
        sleep_ns(delay);
    }
    return rc;
}

/* Opens a connection for a slot the caller holds. On failure the slot is still the
 * caller's. */
static int connect_new(pool *p, mdm_conn **out, uint64_t deadline_ns)
{
    *out = NULL;
    mdm_conn *c = calloc(1, sizeof *c);
    if (!c)
        return mdm_error_set(MDM_ENOMEM, "out of memory opening a connection");
    int rc = connect_raw(p, &c->raw, deadline_ns);
    if (rc) {
        free(c);
        return rc;
    }
    c->backend = p->backend;
    c->created_ns = c->last_used_ns = mdm_now_ns();
    c->expires_ns = jittered_expiry(p, c->created_ns);
    c->echo = p->cfg && mdm_config_bool(p->cfg, "database.sqlalchemy.echo");
    *out = c;
    return 0;
}

int pool_reconnect(pool *p, mdm_conn *c)
{
    if (c->raw)
        c->backend->close(c->raw);
    c->raw = NULL;
    free(c->dataset);
    c->dataset = NULL;
    free(c->load_table);
    c->load_table = NULL;
    c->in_transaction = false;
    int rc = connect_raw(p, &c->raw, mdm_now_ns() + ms_to_ns(p->opt.acquire_timeout_ms));
    if (rc) {
        c->failed = true; /* raw is NULL: released as broken */
        return rc;
    }
    c->failed = false;
    c->created_ns = mdm_now_ns();
    c->expires_ns = jittered_expiry(p, c->created_ns);
    pthread_mutex_lock(&p->lock);
    p->created++;
    p->closed[CLOSE_BROKEN]++;
    pthread_mutex_unlock(&p->lock);
    mdm_counter_add(p->m.created, 1);
    mdm_counter_add(p->m.closed[CLOSE_BROKEN], 1);
    return 0;
}

/* Gives up a slot the caller held (a connect failed): pass it to the next waiter. */
static void slot_return(pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->total--;
    p->in_use--;
    hand_slot_locked(p);
    maybe_signal_drained_locked(p);
    pthread_mutex_unlock(&p->lock);
}

/* ------------------------------------------------------------------ checkout */

/* A waiter that has waited longer than this gets connections handed to it directly;
 * until then a thread that arrives while a connection is idle may take it. Strict
 * handoff on every release would make each checkout under load cost a context switch
 * (a lock convoy); this bound keeps waiters from starving (Go's sync.Mutex does the
 * same). Waiters themselves are always woken and served in arrival order. */
#define STARVATION_NS 1000000ull

static bool needs_validation(const pool *p, const mdm_conn *c, uint64_t now)
{
    return c->failed || now - c->last_used_ns > ms_to_ns(p->opt.validation_window_ms);
}

static bool expired(const mdm_conn *c, uint64_t now)
{
    return c->expires_ns && now >= c->expires_ns;
}

static int exhausted_error(pool *p, uint64_t waited_ns)
{
    /* Called with the lock held: the figures are consistent. */
    return mdm_error_set(MDM_ETIMEOUT,
                         "pool %s exhausted: %zu of %zu in use, %zu waiting, waited %llu ms",
                         p->name, p->in_use, hard_cap(p), p->nwaiting,
                         (unsigned long long)(waited_ns / 1000000));
}

static pid_t thread_id(void)
{
    static _Thread_local pid_t tid;
    if (!tid)
        tid = current_tid();
    return tid;
}

/* Marks a connection as borrowed by this thread. Under the pool lock, or before the
 * connection is linked into the pool's list (the monitor reads these for leaks). */
static void mark_checked_out(mdm_conn *c, uint64_t now)
{
    c->checked_out_ns = now;
    c->checked_out = true;
    c->holder_tid = thread_id();
    c->leak_reported = false;
}

static void dequeue_locked(pool *p, waiter *w)
{
    waiter **pp = &p->wait_head, *prev = NULL;
    while (*pp && *pp != w) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = w->next;
    if (p->wait_tail == w)
        p->wait_tail = prev;
    p->nwaiting--;
}

static bool head_starving(const pool *p, uint64_t now)
{
    return p->wait_head && now - p->wait_head->since > STARVATION_NS;
}

int pool_acquire(pool *p, mdm_conn **out)
{
    *out = NULL;
    uint64_t start = mdm_now_ns(), now = start;
    uint64_t deadline = start + ms_to_ns(p->opt.acquire_timeout_ms);
    mdm_conn *c = NULL;
    bool slot = false, queued = false, cond_ready = false;
    waiter w = {.next = NULL};
    int rc = 0;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (w.conn || w.slot) { /* handed to us, already out of the queue */
            c = w.conn;
            slot = w.slot;
            if (c)
                mark_checked_out(c, now);
            break;
        }
        if (p->draining) {
            if (queued)
                dequeue_locked(p, &w);
            rc = mdm_error_set(MDM_ECLOSED, "pool %s is draining: no new checkouts", p->name);
            break;
        }
        /* A starving head waiter goes first; otherwise whoever runs may take. */
        bool may_take = !head_starving(p, now) || p->wait_head == &w;
        if (may_take && p->idle) {
            c = p->idle;
            p->idle = c->next_idle;
            p->nidle--;
            p->in_use++;
            mark_checked_out(c, now);
        } else if (may_take && p->total < hard_cap(p)) {
            p->total++;
            p->in_use++;
            slot = true;
        }
        if (c || slot) {
            if (queued)
                dequeue_locked(p, &w);
            break;
        }
        if (now >= deadline) {
            if (queued)
                dequeue_locked(p, &w);
            p->timeouts++;
            mdm_counter_add(p->m.timeouts, 1);
            rc = exhausted_error(p, now - start);
            break;
        }
        if (!queued) {
            if (!cond_ready) {
                pthread_condattr_t attr;
                pthread_condattr_init(&attr);
                pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
                pthread_cond_init(&w.cond, &attr);
                pthread_condattr_destroy(&attr);
                cond_ready = true;
            }
            w.since = now;
            if (p->wait_tail)
                p->wait_tail->next = &w;
            else
                p->wait_head = &w;
            p->wait_tail = &w;
            p->nwaiting++;
            queued = true;
        }
        struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000ull),
                              .tv_nsec = (long)(deadline % 1000000000ull)};
        w.signaled = false;
        pthread_cond_timedwait(&w.cond, &p->lock, &ts);
        now = mdm_now_ns();
    }
    if (rc == 0) {
        p->checkouts++;
        /* The wait until now; a slow validation or connect below is not counted. */
        lat_observe_locked(&p->wait, now - start);
    }
    pthread_mutex_unlock(&p->lock);
    if (cond_ready)
        pthread_cond_destroy(&w.cond);
    if (rc)
        return rc;

    /* Outside the lock: check what we got, or open a connection for our slot. */
    for (;;) {
        if (c) {
            enum close_reason why = CLOSE_SHUTDOWN;
            if (expired(c, now))
                why = CLOSE_LIFETIME;
            else if (needs_validation(p, c, now) && p->backend->ping && p->backend->ping(c->raw) != 0)
                why = CLOSE_VALIDATION;
            if (why == CLOSE_SHUTDOWN) {
                c->failed = false;
                *out = c;
                return 0;
            }
            /* Replace it: its slot becomes ours. */
            pthread_mutex_lock(&p->lock);
            all_unlink(p, c);
            p->closed[why]++;
            pthread_mutex_unlock(&p->lock);
            mdm_counter_add(p->m.closed[why], 1);
            conn_close(c);
            c = NULL;
            slot = true;
        }
        if (slot) {
            rc = connect_new(p, &c, deadline);
            if (rc) {
                slot_return(p);
                return rc;
            }
            mark_checked_out(c, mdm_now_ns());
            pthread_mutex_lock(&p->lock);
            all_link(p, c);
            p->created++;
            pthread_mutex_unlock(&p->lock);
            mdm_counter_add(p->m.created, 1);
            *out = c;
            return 0;
        }
    }
}

/* ------------------------------------------------------------------ checkin */

/* Gives a connection back to the idle stack or a waiter. Under the lock. */
static void give_back_locked(pool *p, mdm_conn *c, uint64_t now)
{
    if (head_starving(p, now)) {
        waiter *w = p->wait_head;
        p->wait_head = w->next;
        if (!p->wait_head)
            p->wait_tail = NULL;
        p->nwaiting--;
        p->in_use++;
        w->conn = c;
        pthread_cond_signal(&w->cond);
        return;
    }
    c->next_idle = p->idle;
    p->idle = c;
    p->nidle++;
    /* Wake the oldest waiter to compete for it (once per wait, not per release). */
    if (p->wait_head && !p->wait_head->signaled) {
        p->wait_head->signaled = true;
        pthread_cond_signal(&p->wait_head->cond);
    }
}

void pool_release(pool *p, mdm_conn *c)
{
    if (!c)
        return;
    uint64_t now = mdm_now_ns();
    uint64_t used = now - c->checked_out_ns;
    bool broken = c->raw == NULL;
    free(c->load_table); /* an open load ends with the transaction the reset rolls back */
    c->load_table = NULL;
    if (!broken && (c->in_transaction || c->failed || c->session_changed)) {
        c->in_transaction = false;
        c->session_changed = false;
        broken = (p->backend->reset && p->backend->reset(c->raw) != 0) ||
                 (c->failed && p->backend->ping && p->backend->ping(c->raw) != 0);
        c->failed = false;
        now = mdm_now_ns();
    }
    c->last_used_ns = now;

    pthread_mutex_lock(&p->lock);
    if (c->generation != 0) {
        /* Checked out before a fork(), in the parent: not the child's to reuse. */
        pthread_mutex_unlock(&p->lock);
        return;
    }
    c->checked_out = false;
    p->in_use--;
    lat_observe_locked(&p->usage, used);
    bool close_it = true;
    enum close_reason why = CLOSE_SHUTDOWN;
    if (broken)
        why = CLOSE_BROKEN;
    else if (p->total > p->opt.max_size)
        why = CLOSE_RESIZE;
    else if (expired(c, now))
        why = CLOSE_LIFETIME;
    else if (!p->draining)
        close_it = false;
    if (close_it) {
        forget_locked(p, c, why);
        hand_slot_locked(p);
        maybe_signal_drained_locked(p);
        pthread_mutex_unlock(&p->lock);
        conn_close(c);
        return;
    }
    give_back_locked(p, c, now);
    pthread_mutex_unlock(&p->lock);
}

/* ------------------------------------------------------------------ management */

int pool_resize(pool *p, size_t min_size, size_t max_size)
{
    if (max_size == 0 || min_size > max_size)
        return mdm_error_set(MDM_EINVALID, "pool %s: need 0 <= min (%zu) <= max (%zu), max >= 1",
                             p->name, min_size, max_size);
    mdm_conn *surplus = NULL;
    pthread_mutex_lock(&p->lock);
    p->opt.min_size = min_size;
    p->opt.max_size = max_size;
    while (p->total > max_size && p->idle) {
        mdm_conn *c = p->idle;
        p->idle = c->next_idle;
        p->nidle--;
        forget_locked(p, c, CLOSE_RESIZE);
        c->next_idle = surplus;
        surplus = c;
    }
    /* Growing lets waiters open connections now. */
    while (p->wait_head && p->total < hard_cap(p))
        hand_slot_locked(p);
    gauges_update_locked(p);
    pthread_mutex_unlock(&p->lock);
    while (surplus) {
        mdm_conn *next = surplus->next_idle;
        conn_close(surplus);
        surplus = next;
    }
    return 0;
}

int pool_drain(pool *p, uint64_t timeout_ms)
{
    int rc = 0;
    uint64_t deadline = mdm_now_ns() + ms_to_ns(timeout_ms);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->lock);
    p->draining = true;
    for (waiter *w = p->wait_head; w; w = w->next)
        pthread_cond_signal(&w->cond);
    while (p->in_use > 0 && mdm_now_ns() < deadline)
        pthread_cond_timedwait(&p->drained, &p->lock, &ts);
    if (p->in_use > 0)
        rc = mdm_error_set(MDM_ETIMEOUT, "pool %s: %zu connections still checked out after %llu ms",
                           p->name, p->in_use, (unsigned long long)timeout_ms);
    mdm_conn *idle = p->idle;
    p->idle = NULL;
    p->nidle = 0;
    for (mdm_conn *c = idle; c; c = c->next_idle)
        forget_locked(p, c, CLOSE_SHUTDOWN);
    gauges_update_locked(p);
    pthread_mutex_unlock(&p->lock);
    while (idle) {
        mdm_conn *next = idle->next_idle;
        conn_close(idle);
        idle = next;
    }
    return rc;
}

void pool_stats(pool *p, mdm_pool_stats *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_lock(&p->lock);
    snprintf(s->name, sizeof s->name, "%s", p->name);
    s->backend = p->backend->name;
    s->size = p->total;
    s->idle = p->nidle;
    s->in_use = p->in_use;
    s->waiting = p->nwaiting;
    s->min_size = p->opt.min_size;
    s->max_size = hard_cap(p);
    s->checkouts = p->checkouts;
    s->created = p->created;
    s->timeouts = p->timeouts;
    s->connect_failures = p->connect_failures;
    s->leaks_reported = p->leaks_reported;
    s->closed_lifetime = p->closed[CLOSE_LIFETIME];
    s->closed_idle = p->closed[CLOSE_IDLE];
    s->closed_broken = p->closed[CLOSE_BROKEN];
    s->closed_validation = p->closed[CLOSE_VALIDATION];
    s->closed_resize = p->closed[CLOSE_RESIZE];
    s->wait_p50_ms = lat_quantile_ms_locked(&p->wait, 0.50);
    s->wait_p99_ms = lat_quantile_ms_locked(&p->wait, 0.99);
    s->usage_p50_ms = lat_quantile_ms_locked(&p->usage, 0.50);
    s->usage_p99_ms = lat_quantile_ms_locked(&p->usage, 0.99);
    pthread_mutex_unlock(&p->lock);
    s->breaker = breaker_state_name(&p->breaker, mdm_now_ns());
}

/* ------------------------------------------------------------------ upkeep */

typedef struct leak_note {
    uint64_t age_ms;
    pid_t tid;
} leak_note;

void pool_maintain(pool *p)
{
    enum { MAX_LEAK_NOTES = 8 };
    leak_note leaks[MAX_LEAK_NOTES];
    size_t nleaks = 0, refill = 0;
    mdm_conn *to_close = NULL;
    bool warn_capacity = false;
    size_t in_use = 0, max = 0, waiting = 0;
    uint64_t now = mdm_now_ns();

    pthread_mutex_lock(&p->lock);
    if (p->draining) {
        pthread_mutex_unlock(&p->lock);
        return;
    }
    /* Idle connections: past their lifetime, or idle too long above the minimum. The
     * oldest-used sit at the bottom of the LIFO stack. */
    mdm_conn **pp = &p->idle;
    while (*pp) {
        mdm_conn *c = *pp;
        bool too_old = expired(c, now);
        bool too_idle = p->opt.idle_timeout_ms && p->total > p->opt.min_size &&
                        now - c->last_used_ns > ms_to_ns(p->opt.idle_timeout_ms);
        if (too_old || too_idle) {
            *pp = c->next_idle;
            p->nidle--;
            forget_locked(p, c, too_old ? CLOSE_LIFETIME : CLOSE_IDLE);
            c->next_idle = to_close;
            to_close = c;
        } else {
            pp = &c->next_idle;
        }
    }
    if (p->total < p->opt.min_size && !breaker_is_open(&p->breaker, now)) {
        refill = p->opt.min_size - p->total;
        p->total += refill; /* reserved: opened below, outside the lock */
    }
    if (p->opt.leak_threshold_ms) {
        for (mdm_conn *c = p->all; c; c = c->all_next) {
            if (c->checked_out && !c->leak_reported &&
                now - c->checked_out_ns > ms_to_ns(p->opt.leak_threshold_ms)) {
                c->leak_reported = true;
                p->leaks_reported++;
                if (nleaks < MAX_LEAK_NOTES)
                    leaks[nleaks++] = (leak_note){(now - c->checked_out_ns) / 1000000, c->holder_tid};
            }
        }
    }
    in_use = p->in_use;
    max = hard_cap(p);
    waiting = p->nwaiting;
    if (in_use * 10 >= max * 9 && now - p->last_capacity_warning_ns > ms_to_ns(60000)) {
        warn_capacity = true;
        p->last_capacity_warning_ns = now;
    }
    gauges_update_locked(p);
    lat_export_locked(&p->wait, p->m.wait);
    lat_export_locked(&p->usage, p->m.usage);
    pthread_mutex_unlock(&p->lock);

    while (to_close) {
        mdm_conn *next = to_close->next_idle;
        conn_close(to_close);
        to_close = next;
    }
    for (size_t i = 0; i < nleaks; i++)
        MDM_WARN("pool %s: connection held for %llu ms by thread %d (leak threshold %llu ms)",
                 p->name, (unsigned long long)leaks[i].age_ms, (int)leaks[i].tid,
                 (unsigned long long)p->opt.leak_threshold_ms);
    if (warn_capacity)
        MDM_WARN("pool %s near capacity: %zu of %zu in use, %zu waiting", p->name, in_use, max,
                 waiting);
    for (size_t i = 0; i < refill; i++) {
        mdm_conn *c = NULL;
        int rc = connect_new(p, &c, mdm_now_ns());
        pthread_mutex_lock(&p->lock);
        if (rc) {
            p->total--;
            hand_slot_locked(p);
            pthread_mutex_unlock(&p->lock);
            MDM_DEBUG("pool %s: refill failed: %s", p->name, mdm_error_last()->message);
            continue;
        }
        all_link(p, c);
        p->created++;
        give_back_locked(p, c, mdm_now_ns());
        pthread_mutex_unlock(&p->lock);
        mdm_counter_add(p->m.created, 1);
    }
}

/* ------------------------------------------------------------------ fork */

void pool_lock_for_fork(pool *p) { pthread_mutex_lock(&p->lock); }
void pool_unlock_after_fork(pool *p) { pthread_mutex_unlock(&p->lock); }

void pool_forget_after_fork(pool *p)
{
    /* Only this thread exists in the child. Every inherited connection, idle or
     * borrowed, is dropped from the books without closing: closing would send the
     * server a goodbye on the parent's session or touch the parent's file locks. */
    for (mdm_conn *c = p->all; c; c = c->all_next)
        c->generation = 1;
    for (mdm_conn *c = p->idle, *next; c; c = next) {
        next = c->next_idle;
        c->next_idle = p->forgotten;
        p->forgotten = c;
    }
    p->idle = NULL;
    p->all = NULL;
    p->nidle = p->total = p->in_use = p->nwaiting = 0;
    p->wait_head = p->wait_tail = NULL;
}
