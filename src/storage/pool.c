/* The connection pool (DESIGN.md, "Storage layer"; seeds 000, 002, 003): its options,
 * creation and closing, the books every part keeps, connecting, and fork.
 *
 * Rules it keeps (the three files together):
 * - Never connect, ping, reset or close while holding the lock: slots are reserved
 *   under the lock (`total` counts connections open *or being opened*), the I/O
 *   happens after unlocking.
 * - Waiters are woken first come, first served, and every returned connection reaches
 *   a waiter while waiters exist. A thread that arrives while a connection is idle may
 *   take it (barging) unless the oldest waiter has waited longer than the starvation
 *   window (1 ms): from then on returned connections are handed to that waiter
 *   directly (pool_checkout.c).
 * - A connection is pinged only when it sat idle longer than the validation window or
 *   when an operation on it failed, not on every checkout.
 * - Lifetimes carry up to 2.5 % random jitter so connections made together do not all
 *   expire together.
 * - Fork: every connection is stamped with the pid of the process that opened it, the
 *   pool with the pid of the process it serves; a connection whose stamp differs is
 *   the parent's and is never reset, reused or closed (the same idiom as the log file
 *   and the DuckDB registry).
 */
#include "storage/pool_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/strbuf.h"

static const char *const reason_names[CLOSE_REASONS] = {"lifetime", "idle", "broken",
                                                        "validation", "resize", "shutdown"};

pool_test_hooks pool_test;

/* ------------------------------------------------------------------ books */

static uint64_t jittered_expiry(const pool *p, uint64_t now)
{
    if (!p->opt.max_lifetime_ms)
        return 0;
    uint64_t life = ms_to_ns(p->opt.max_lifetime_ms);
    uint64_t jitter = (uint64_t)((double)life * 0.025 * resilience_random());
    return now + life - jitter;
}

void pool_gauges_update_locked(pool *p)
{
    mdm_gauge_set(p->m.size, (double)p->total);
    mdm_gauge_set(p->m.idle, (double)p->nidle);
    mdm_gauge_set(p->m.in_use, (double)p->in_use);
    mdm_gauge_set(p->m.waiting, (double)p->nwaiting);
    mdm_gauge_set(p->m.max, (double)hard_cap(p));
}

void pool_all_link(pool *p, mdm_conn *c)
{
    c->all_prev = NULL;
    c->all_next = p->all;
    if (p->all)
        p->all->all_prev = c;
    p->all = c;
}

void pool_all_unlink(pool *p, mdm_conn *c)
{
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else if (p->all == c)
        p->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    c->all_prev = c->all_next = NULL;
}

void pool_conn_close(mdm_conn *c)
{
    if (!c)
        return;
    if (c->raw)
        c->backend->close(c->raw);
    free(c->dataset);
    free(c->load_table);
    free(c);
}

void pool_conn_abandon(mdm_conn *c)
{
    free(c->dataset);
    free(c->load_table);
    free(c);
}

void pool_count_closed_locked(pool *p, enum close_reason why)
{
    p->closed[why]++;
    mdm_counter_add(p->m.closed[why], 1);
}

void pool_forget_locked(pool *p, mdm_conn *c, enum close_reason why)
{
    pool_all_unlink(p, c);
    p->total--;
    pool_count_closed_locked(p, why);
}

void pool_hand_slot_locked(pool *p)
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

void pool_signal_drained_locked(pool *p)
{
    if (p->draining && p->in_use == 0)
        pthread_cond_broadcast(&p->drained);
}

/* ------------------------------------------------------------------ options */

void pool_options_from_config(pool_options *opt, const mdm_backend *backend,
                              const mdm_config *cfg)
{
    const char *max_key = MDM_BACKEND_HAS(backend, pool_size_key) ? backend->pool_size_key
                                                                   : "database.pool.max_size";
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
        .max_waiters = (size_t)mdm_config_int(cfg, "database.pool.max_waiters"),
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

static int metrics_bind(pool *p)
{
    char *esc = label_escape(p->name);
    if (!esc)
        return mdm_error_set(MDM_ENOMEM, "out of memory creating pool %s", p->name);
    char labels[1024];
    snprintf(labels, sizeof labels, "backend=\"%s\",pool=\"%s\"", p->backend->name, esc);
    free(esc);
    p->m.size = mdm_metrics_gauge("mdm_pool_connections", "Open connections (idle + in use)", labels);
    p->m.idle = mdm_metrics_gauge("mdm_pool_idle", "Idle connections", labels);
    p->m.in_use = mdm_metrics_gauge("mdm_pool_in_use", "Connections checked out", labels);
    p->m.waiting = mdm_metrics_gauge("mdm_pool_waiting", "Threads waiting for a connection", labels);
    p->m.max = mdm_metrics_gauge("mdm_pool_max_size", "Largest number of connections", labels);
    p->m.created = mdm_metrics_counter("mdm_pool_created_total", "Connections opened", labels);
    p->m.timeouts = mdm_metrics_counter("mdm_pool_timeouts_total", "Checkouts that timed out", labels);
    p->m.connect_failures = mdm_metrics_counter("mdm_pool_connect_failures_total",
                                                "Failed connection attempts", labels);
    bool ok = p->m.size && p->m.idle && p->m.in_use && p->m.waiting && p->m.max &&
              p->m.created && p->m.timeouts && p->m.connect_failures;
    for (int r = 0; r < CLOSE_REASONS; r++) {
        char l[1200];
        snprintf(l, sizeof l, "%s,reason=\"%s\"", labels, reason_names[r]);
        p->m.closed[r] = mdm_metrics_counter("mdm_pool_closed_total", "Connections closed", l);
        ok = ok && p->m.closed[r];
    }
    p->m.wait = mdm_metrics_histogram("mdm_pool_wait_seconds", "Time to obtain a connection", labels);
    p->m.usage = mdm_metrics_histogram("mdm_pool_usage_seconds", "Time a connection was held", labels);
    if (!ok || !p->m.wait || !p->m.usage)
        return MDM_ENOMEM; /* the registry said why */
    p->metrics_bound = true;
    return 0;
}

static int monotonic_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return rc;
}

static char *strdup_or_null(const char *s, bool *failed)
{
    if (!s)
        return NULL;
    char *copy = strdup(s);
    if (!copy)
        *failed = true;
    return copy;
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
    monotonic_cond_init(&p->drained);
    breaker_init(&p->breaker, opt->breaker_threshold, ms_to_ns(opt->breaker_cooldown_ms));
    p->backend = backend;
    p->cfg = cfg;
    p->opt = *opt;
    p->pid = getpid();
    p->starvation_ns = opt->starvation_ns ? opt->starvation_ns : POOL_STARVATION_NS;
    if (p->opt.connect_attempts == 0)
        p->opt.connect_attempts = 1;
    if (p->opt.min_size > p->opt.max_size)
        p->opt.min_size = p->opt.max_size;
    bool failed = false;
    p->name = strdup_or_null(name, &failed);
    p->target.dataset = strdup_or_null(target->dataset, &failed);
    p->target.path = strdup_or_null(target->path, &failed);
    p->target.conninfo = strdup_or_null(target->conninfo, &failed);
    int rc = failed ? mdm_error_set(MDM_ENOMEM, "out of memory creating pool %s", name)
                    : metrics_bind(p);
    if (rc) {
        pool_destroy(p);
        return rc;
    }
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
        pool_forget_locked(p, c, CLOSE_SHUTDOWN);
    p->nidle = 0;
    if (p->metrics_bound) {
        pool_gauges_update_locked(p);
        mdm_gauge_set(p->m.max, 0);
    }
    pthread_mutex_unlock(&p->lock);
    while (idle) {
        mdm_conn *next = idle->next_idle;
        pool_conn_close(idle);
        idle = next;
    }
    for (mdm_conn *c = p->forgotten, *next; c; c = next) {
        next = c->next_idle;
        pool_conn_abandon(c); /* the backend connection belongs to the parent process */
    }
    breaker_destroy(&p->breaker);
    pthread_cond_destroy(&p->drained);
    pthread_mutex_destroy(&p->lock);
    free(p->name);
    free((char *)p->target.dataset);
    free((char *)p->target.path);
    free((char *)p->target.conninfo);
    free(p);
}

/* How long closing waits for connections still checked out. */
#define CLOSE_WAIT_MAX_MS 5000ull

void pool_close(pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    size_t out = p->in_use;
    pthread_mutex_unlock(&p->lock);
    if (out) {
        uint64_t wait_ms = p->opt.acquire_timeout_ms < CLOSE_WAIT_MAX_MS ? p->opt.acquire_timeout_ms
                                                                         : CLOSE_WAIT_MAX_MS;
        MDM_WARN("pool %s closed with %zu connection(s) still checked out; waiting up to "
                 "%llu ms for them", p->name, out, (unsigned long long)wait_ms);
        pool_drain(p, wait_ms);
        pthread_mutex_lock(&p->lock);
        out = p->in_use;
        if (out)
            p->orphaned = true; /* from here on the last pool_release frees it */
        pthread_mutex_unlock(&p->lock);
        if (out) {
            MDM_WARN("pool %s: %zu connection(s) still checked out; each is closed when "
                     "checked in, and the pool with the last", p->name, out);
            return;
        }
    }
    pool_destroy(p);
}

const char *pool_name(const pool *p) { return p->name; }

void pool_retry_policy(const pool *p, mdm_retry_policy *out)
{
    /* Set at creation and never changed: no lock needed. */
    *out = (mdm_retry_policy){.max_attempts = p->opt.connect_attempts,
                              .base_delay_ms = p->opt.retry_base_ms,
                              .max_delay_ms = p->opt.retry_max_ms};
}

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

int pool_connect_new(pool *p, mdm_conn **out, uint64_t deadline_ns)
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
    c->pid = p->pid;
    c->created_ns = c->last_used_ns = mdm_now_ns();
    c->expires_ns = jittered_expiry(p, c->created_ns);
    c->echo = p->cfg && mdm_config_bool(p->cfg, "database.sqlalchemy.echo");
    *out = c;
    return 0;
}

int pool_reconnect(pool *p, mdm_conn *c)
{
    if (c->pid != p->pid) {
        /* The parent's session: closing it would end it under the parent's feet. */
        c->raw = NULL;
        c->failed = true;
        return mdm_error_set(MDM_ECLOSED, "pool %s: this connection was opened by process %d "
                             "before fork(); check out a new one in this process", p->name,
                             (int)c->pid);
    }
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
    pool_count_closed_locked(p, CLOSE_BROKEN);
    pthread_mutex_unlock(&p->lock);
    mdm_counter_add(p->m.created, 1);
    return 0;
}

void pool_slot_return(pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->total--;
    p->in_use--;
    pool_hand_slot_locked(p);
    pool_signal_drained_locked(p);
    pthread_mutex_unlock(&p->lock);
}

/* ------------------------------------------------------------------ fork */

void pool_lock_for_fork(pool *p)
{
    pthread_mutex_lock(&p->lock);
    pthread_mutex_lock(&p->breaker.lock);
}

void pool_unlock_after_fork(pool *p)
{
    pthread_mutex_unlock(&p->breaker.lock);
    pthread_mutex_unlock(&p->lock);
}

void pool_forget_after_fork(pool *p)
{
    /* Only this thread exists in the child. Every inherited connection, idle or
     * borrowed, is dropped from the books without closing: closing would send the
     * server a goodbye on the parent's session or touch the parent's file locks. The
     * new stamp tells the borrowed ones apart when they are checked in. */
    p->pid = getpid();
    for (mdm_conn *c = p->idle, *next; c; c = next) {
        next = c->next_idle;
        c->next_idle = p->forgotten;
        p->forgotten = c;
    }
    p->idle = NULL;
    p->all = NULL;
    p->nidle = p->total = p->in_use = p->nwaiting = 0;
    p->wait_head = p->wait_tail = NULL; /* their threads did not come along */
    /* Threads of the parent may have been waiting on it: start from a fresh one. */
    monotonic_cond_init(&p->drained);
}
