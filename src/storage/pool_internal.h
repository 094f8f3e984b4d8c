/* What the pool's files (pool.c, pool_checkout.c, pool_upkeep.c) share: the pool's
 * structure and the helpers that keep its books. Never included outside them, except
 * by the pool's unit tests. */
#ifndef MDM_STORAGE_POOL_INTERNAL_H
#define MDM_STORAGE_POOL_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>

#include "storage/conn.h"
#include "storage/pool.h"
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
    uint64_t starvation_ns; /* opt.starvation_ns, or the default */
    pid_t pid;              /* this process: connections stamped otherwise are inherited */

    mdm_conn *idle;       /* LIFO: the most recently used is the warmest */
    size_t nidle;
    mdm_conn *all;        /* every open connection, for leak reports */
    size_t total;         /* open + being opened */
    size_t in_use;
    waiter *wait_head, *wait_tail;
    size_t nwaiting;
    bool draining;
    bool orphaned;        /* closed with connections out: the last checkin frees it */
    pthread_cond_t drained;
    mdm_conn *forgotten;  /* inherited across fork(): kept reachable, never closed */

    breaker breaker;
    uint64_t last_capacity_warning_ns;

    uint64_t checkouts, created, timeouts, connect_failures, leaks_reported;
    uint64_t closed[CLOSE_REASONS];
    latency wait, usage;

    bool metrics_bound;
    struct {
        mdm_gauge *size, *idle, *in_use, *waiting, *max;
        mdm_counter *created, *timeouts, *connect_failures, *closed[CLOSE_REASONS];
        mdm_histogram *wait, *usage;
    } m;
};

/* A waiter older than this gets returned connections handed to it directly. */
#define POOL_STARVATION_NS 1000000ull

static inline uint64_t ms_to_ns(uint64_t ms) { return ms * 1000000ull; }
static inline size_t hard_cap(const pool *p) { return p->opt.max_size + p->opt.max_overflow; }
static inline bool conn_expired(const mdm_conn *c, uint64_t now)
{
    return c->expires_ns && now >= c->expires_ns;
}

/* Under the pool lock, which every checkout and checkin takes anyway. */
void pool_lat_observe_locked(latency *l, uint64_t ns);

/* Books (under the lock). */
void pool_all_link(pool *p, mdm_conn *c);
void pool_all_unlink(pool *p, mdm_conn *c);
/* Removes a connection from the pool's books; the caller closes it after unlocking. */
void pool_forget_locked(pool *p, mdm_conn *c, enum close_reason why);
void pool_count_closed_locked(pool *p, enum close_reason why);
void pool_gauges_update_locked(pool *p);
/* A slot freed up: the oldest waiter may open a connection. */
void pool_hand_slot_locked(pool *p);
/* Wakes queued waiters until every idle connection and free slot has one coming for
 * it (HikariCP's ConcurrentBag.requite offers a returned entry while waiters exist). */
void pool_wake_locked(pool *p);
/* Gives a connection back to the idle stack or a waiter. */
void pool_give_back_locked(pool *p, mdm_conn *c, uint64_t now);
void pool_signal_drained_locked(pool *p);

/* Closes a connection that is already out of every list and no longer counted. */
void pool_conn_close(mdm_conn *c);
/* Frees what this process allocated for an inherited connection, leaving the
 * backend connection (the parent's session) alone. */
void pool_conn_abandon(mdm_conn *c);

/* Opens a connection for a slot the caller holds. On failure the slot is still the
 * caller's. */
int pool_connect_new(pool *p, mdm_conn **out, uint64_t deadline_ns);
/* Gives up a slot the caller held (a connect failed): pass it to the next waiter. */
void pool_slot_return(pool *p);

/* Test hooks (tests/unit/test_pool*.c); all NULL in production, set before threads
 * start. */
typedef struct pool_test_hooks {
    void (*waiter_woke)(pool *p);  /* a waiter woke up; called outside the lock */
    void (*settled)(pool *p);      /* after a checkin or a waiter leaving; under the lock */
} pool_test_hooks;
extern pool_test_hooks pool_test;

/* Idle connections and free slots that no queued waiter has been woken for: must be 0
 * whenever the lock is free (a waiter asleep beside an idle connection is a lost
 * wake-up). Under the lock. */
size_t pool_unserved_locked(const pool *p);

#endif
