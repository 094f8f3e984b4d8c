/* The pool's upkeep and management: latency histograms, resize, drain, statistics,
 * and the monitor's round (closing expired and surplus idle connections, refilling to
 * the minimum, leak reports, capacity warnings). */
#include "storage/pool_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ latency */

static unsigned lat_bucket(uint64_t ns)
{
    if (ns < 2)
        return 0;
    unsigned log2 = 63u - (unsigned)__builtin_clzll(ns);
    unsigned half = (unsigned)((ns >> (log2 - 1)) & 1u);
    unsigned b = log2 * 2 + half;
    return b < LAT_BUCKETS ? b : LAT_BUCKETS - 1;
}

void pool_lat_observe_locked(latency *l, uint64_t ns) { l->bucket[lat_bucket(ns)]++; }

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
        pool_forget_locked(p, c, CLOSE_RESIZE);
        c->next_idle = surplus;
        surplus = c;
    }
    /* Growing lets waiters open connections now. */
    while (p->wait_head && p->total < hard_cap(p))
        pool_hand_slot_locked(p);
    pool_gauges_update_locked(p);
    pthread_mutex_unlock(&p->lock);
    while (surplus) {
        mdm_conn *next = surplus->next_idle;
        pool_conn_close(surplus);
        surplus = next;
    }
    return 0;
}

int pool_drain(pool *p, uint64_t timeout_ms)
{
    int rc = 0;
    uint64_t deadline = mdm_now_ns() + ms_to_ns(timeout_ms);
    struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000ull),
                          .tv_nsec = (long)(deadline % 1000000000ull)};
    pthread_mutex_lock(&p->lock);
    p->draining = true;
    for (waiter *w = p->wait_head; w; w = w->next) {
        w->signaled = true;
        pthread_cond_signal(&w->cond);
    }
    while (p->in_use > 0 && mdm_now_ns() < deadline)
        pthread_cond_timedwait(&p->drained, &p->lock, &ts); /* CLOCK_MONOTONIC */
    if (p->in_use > 0)
        rc = mdm_error_set(MDM_ETIMEOUT, "pool %s: %zu connections still checked out after %llu ms",
                           p->name, p->in_use, (unsigned long long)timeout_ms);
    mdm_conn *idle = p->idle;
    p->idle = NULL;
    p->nidle = 0;
    for (mdm_conn *c = idle; c; c = c->next_idle)
        pool_forget_locked(p, c, CLOSE_SHUTDOWN);
    pool_gauges_update_locked(p);
    pthread_mutex_unlock(&p->lock);
    while (idle) {
        mdm_conn *next = idle->next_idle;
        pool_conn_close(idle);
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
    pthread_mutex_lock(&p->lock);
    /* Read under the lock: a checkout stamps its connection under it, so no stamp is
     * later than this (an earlier `now` made ages wrap around to 584 million years). */
    uint64_t now = mdm_now_ns();
    if (p->draining) {
        pthread_mutex_unlock(&p->lock);
        return;
    }
    /* Idle connections: past their lifetime, or idle too long above the minimum. The
     * oldest-used sit at the bottom of the LIFO stack. */
    mdm_conn **pp = &p->idle;
    while (*pp) {
        mdm_conn *c = *pp;
        bool too_old = conn_expired(c, now);
        bool too_idle = p->opt.idle_timeout_ms && p->total > p->opt.min_size &&
                        now - c->last_used_ns > ms_to_ns(p->opt.idle_timeout_ms);
        if (too_old || too_idle) {
            *pp = c->next_idle;
            p->nidle--;
            pool_forget_locked(p, c, too_old ? CLOSE_LIFETIME : CLOSE_IDLE);
            c->next_idle = to_close;
            to_close = c;
        } else {
            pp = &c->next_idle;
        }
    }
    /* Slots freed above go to queued waiters first (they open their own). */
    while (p->wait_head && p->total < hard_cap(p))
        pool_hand_slot_locked(p);
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
    pool_gauges_update_locked(p);
    lat_export_locked(&p->wait, p->m.wait);
    lat_export_locked(&p->usage, p->m.usage);
    pthread_mutex_unlock(&p->lock);

    while (to_close) {
        mdm_conn *next = to_close->next_idle;
        pool_conn_close(to_close);
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
        int rc = pool_connect_new(p, &c, mdm_now_ns());
        pthread_mutex_lock(&p->lock);
        if (rc) {
            p->total--;
            pool_hand_slot_locked(p);
            pthread_mutex_unlock(&p->lock);
            MDM_DEBUG("pool %s: refill failed: %s", p->name, mdm_error_last()->message);
            continue;
        }
        pool_all_link(p, c);
        p->created++;
        pool_give_back_locked(p, c, mdm_now_ns());
        if (pool_test.settled)
            pool_test.settled(p);
        pthread_mutex_unlock(&p->lock);
        mdm_counter_add(p->m.created, 1);
    }
}
