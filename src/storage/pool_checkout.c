/* Checkout and checkin, the pool's hot path.
 *
 * Waiters queue in arrival order, each on a condition variable of its own. A returned
 * connection goes onto the idle stack and wakes as many queued waiters as there are
 * idle connections no woken waiter is already coming for (pool_wake_locked), so that
 * two checkins in quick succession wake two waiters, not one. A thread that runs while
 * a connection is idle may take it even if others are queued (barging: strict handoff
 * on every checkin would make each checkout under load cost a context switch, a lock
 * convoy); a barged waiter finds the stack empty and sleeps again. Once the oldest
 * waiter has waited longer than the starvation window (1 ms), returned connections are
 * handed to it directly and only it may take the last idle one (Go's sync.Mutex bounds
 * starvation the same way). */
#include "storage/pool_internal.h"

#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static bool needs_validation(const pool *p, const mdm_conn *c, uint64_t now)
{
    return c->failed || now - c->last_used_ns > ms_to_ns(p->opt.validation_window_ms);
}

/* Called with the lock held: the figures are consistent. */
static int exhausted_error(pool *p, int code, uint64_t waited_ns, const char *note)
{
    return mdm_error_set(code, "pool %s exhausted: %zu of %zu in use, %zu waiting, waited %llu ms%s",
                         p->name, p->in_use, hard_cap(p), p->nwaiting,
                         (unsigned long long)(waited_ns / 1000000), note);
}

static pid_t thread_id(void)
{
    static _Thread_local pid_t tid;
    if (!tid)
        tid = (pid_t)syscall(SYS_gettid);
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
    return p->wait_head && now - p->wait_head->since > p->starvation_ns;
}

void pool_wake_locked(pool *p)
{
    size_t avail = p->nidle;
    if (!p->draining && p->total < hard_cap(p))
        avail += hard_cap(p) - p->total;
    for (waiter *w = p->wait_head; w && avail; w = w->next, avail--) {
        if (!w->signaled) {
            w->signaled = true;
            pthread_cond_signal(&w->cond);
        }
    }
}

size_t pool_unserved_locked(const pool *p)
{
    size_t avail = p->nidle, woken = 0;
    if (!p->draining && p->total < hard_cap(p))
        avail += hard_cap(p) - p->total;
    for (const waiter *w = p->wait_head; w; w = w->next)
        woken += w->signaled;
    size_t want = p->nwaiting < avail ? p->nwaiting : avail;
    return want > woken ? want - woken : 0;
}

static void settled_locked(pool *p)
{
    if (pool_test.settled)
        pool_test.settled(p);
}

/* A waiter leaving the queue on its own (it took a connection, timed out, or the pool
 * drains): whatever it was woken for passes to the next. */
static void leave_queue_locked(pool *p, waiter *w, bool *queued)
{
    if (!*queued)
        return;
    dequeue_locked(p, w);
    *queued = false;
    pool_wake_locked(p);
}

int pool_acquire(pool *p, mdm_conn **out)
{
    *out = NULL;
    uint64_t start = mdm_now_ns(), now = start;
    uint64_t deadline = start + ms_to_ns(p->opt.acquire_timeout_ms);
    mdm_conn *c = NULL;
    bool slot = false, queued = false, cond_ready = false, counted = false;
    waiter w = {.next = NULL};
    int rc = 0;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (w.conn || w.slot) { /* handed to us: the giver took us out of the queue */
            queued = false;
            c = w.conn;
            slot = w.slot;
            break;
        }
        if (p->draining) {
            leave_queue_locked(p, &w, &queued);
            rc = mdm_error_set(MDM_ECLOSED, "pool %s is draining: no new checkouts", p->name);
            break;
        }
        /* A starving head waiter gets the last idle connection; otherwise whoever runs
         * may take one. */
        bool starving = head_starving(p, now) && p->wait_head != &w;
        if (p->idle && (!starving || p->nidle > 1)) {
            c = p->idle;
            p->idle = c->next_idle;
            p->nidle--;
            p->in_use++;
        } else if (!starving && p->total < hard_cap(p)) {
            p->total++;
            p->in_use++;
            slot = true;
        }
        if (c || slot) {
            leave_queue_locked(p, &w, &queued);
            break;
        }
        if (now >= deadline) {
            leave_queue_locked(p, &w, &queued);
            p->timeouts++;
            mdm_counter_add(p->m.timeouts, 1);
            rc = exhausted_error(p, MDM_ETIMEOUT, now - start, "");
            break;
        }
        if (!queued) {
            if (p->opt.max_waiters && p->nwaiting >= p->opt.max_waiters) {
                p->timeouts++;
                mdm_counter_add(p->m.timeouts, 1);
                rc = exhausted_error(p, MDM_EBUSY, now - start,
                                     " (database.pool.max_waiters reached: not queued)");
                break;
            }
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
        /* Going back to sleep beside an idle connection (the starving head gets it):
         * make sure the waiters in front are coming for it. */
        if (p->idle)
            pool_wake_locked(p);
        pthread_cond_timedwait(&w.cond, &p->lock, &ts);
        if (pool_test.waiter_woke) {
            pthread_mutex_unlock(&p->lock);
            pool_test.waiter_woke(p);
            pthread_mutex_lock(&p->lock);
        }
        now = mdm_now_ns();
    }
    uint64_t waited = now - start;
    if (c) {
        mark_checked_out(c, now);
        p->checkouts++;
        pool_lat_observe_locked(&p->wait, waited);
        counted = true;
    }
    settled_locked(p);
    pthread_mutex_unlock(&p->lock);
    if (cond_ready)
        pthread_cond_destroy(&w.cond);
    if (rc)
        return rc;

    /* Outside the lock: check what we got, or open a connection for our slot. */
    if (c) {
        enum close_reason why = CLOSE_SHUTDOWN;
        if (conn_expired(c, now))
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
        pool_all_unlink(p, c);
        pool_count_closed_locked(p, why);
        p->checkouts--; /* counted again once the replacement is open */
        pthread_mutex_unlock(&p->lock);
        pool_conn_close(c);
        c = NULL;
    }
    rc = pool_connect_new(p, &c, deadline);
    if (rc) {
        pool_slot_return(p);
        return rc;
    }
    mark_checked_out(c, mdm_now_ns());
    pthread_mutex_lock(&p->lock);
    pool_all_link(p, c);
    p->created++;
    p->checkouts++;
    if (!counted)
        pool_lat_observe_locked(&p->wait, waited);
    pthread_mutex_unlock(&p->lock);
    mdm_counter_add(p->m.created, 1);
    *out = c;
    return 0;
}

/* ------------------------------------------------------------------ checkin */

void pool_give_back_locked(pool *p, mdm_conn *c, uint64_t now)
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
        /* If it had been woken for an idle connection, that one needs another. */
        pool_wake_locked(p);
        return;
    }
    c->next_idle = p->idle;
    p->idle = c;
    p->nidle++;
    pool_wake_locked(p);
}

void pool_release(pool *p, mdm_conn *c)
{
    if (!c)
        return;
    if (c->pid != p->pid) {
        /* Checked out before a fork(), in the parent: its session is the parent's.
         * Checked before anything else, so that no reset, ping or close reaches it. */
        pool_conn_abandon(c);
        return;
    }
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
    c->checked_out = false;
    p->in_use--;
    pool_lat_observe_locked(&p->usage, used);
    bool close_it = true;
    enum close_reason why = CLOSE_SHUTDOWN;
    if (broken)
        why = CLOSE_BROKEN;
    else if (p->total > p->opt.max_size)
        why = CLOSE_RESIZE;
    else if (conn_expired(c, now))
        why = CLOSE_LIFETIME;
    else if (!p->draining)
        close_it = false;
    if (!close_it) {
        pool_give_back_locked(p, c, now);
        settled_locked(p);
        pthread_mutex_unlock(&p->lock);
        return;
    }
    pool_forget_locked(p, c, why);
    pool_hand_slot_locked(p);
    pool_signal_drained_locked(p);
    bool last_of_orphan = p->orphaned && p->in_use == 0;
    settled_locked(p);
    pthread_mutex_unlock(&p->lock);
    pool_conn_close(c);
    if (last_of_orphan)
        pool_destroy(p);
}
