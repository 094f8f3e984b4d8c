/* A connection pool over one target (a SQLite or DuckDB file, a PostgreSQL database).
 * See pool.c for the rules it keeps. */
#ifndef MDM_STORAGE_POOL_H
#define MDM_STORAGE_POOL_H

#include "mdm/sys/backend.h"

typedef struct pool_options {
    size_t min_size;               /* kept open by the monitor */
    size_t max_size;               /* connections kept */
    size_t max_overflow;           /* extra ones opened under load, closed on return */
    uint64_t acquire_timeout_ms;   /* how long a checkout waits for a connection */
    uint64_t max_lifetime_ms;      /* replace connections older than this; 0: never */
    uint64_t idle_timeout_ms;      /* close idle connections above min_size; 0: never */
    uint64_t validation_window_ms; /* ping a connection idle longer than this */
    uint64_t leak_threshold_ms;    /* report connections held longer; 0: off */
    unsigned connect_attempts;     /* tries per connect, with backoff (>= 1) */
    uint64_t retry_base_ms;        /* first backoff; doubles each try, full jitter */
    uint64_t retry_max_ms;         /* longest single backoff */
    unsigned breaker_threshold;    /* consecutive connect failures that open it; 0: off */
    uint64_t breaker_cooldown_ms;  /* open this long before one probe is let through */
    size_t max_waiters;            /* queued checkouts beyond this fail at once; 0: no limit */
    uint64_t starvation_ns;        /* a waiter queued this long is handed returned
                                    * connections directly; 0: 1 ms (tests raise it) */
} pool_options;

typedef struct pool pool;

/* Reads the pool options of a backend from config (per-backend sizes, timeouts). */
void pool_options_from_config(pool_options *opt, const mdm_backend *backend,
                              const mdm_config *cfg);

int pool_create(pool **out, const char *name, const mdm_backend *backend,
                const mdm_target *target, const mdm_config *cfg, const pool_options *opt);
/* Closes idle connections and frees the pool. The caller guarantees no connection is
 * checked out and no thread is waiting in pool_acquire (pool_close does not). */
void pool_destroy(pool *p);
/* Closes the pool after its last user let go: connections still checked out are
 * waited for (with a warning); any still out after the wait are closed when checked
 * in, and the last checkin frees the pool. */
void pool_close(pool *p);

int pool_acquire(pool *p, mdm_conn **out);
void pool_release(pool *p, mdm_conn *conn);

/* Replaces the backend connection of a checked-out connection (after the connection
 * was lost), through the same retries and breaker as a checkout. On failure the
 * connection is left without a backend connection and is discarded on release. */
int pool_reconnect(pool *p, mdm_conn *c);

int pool_resize(pool *p, size_t min_size, size_t max_size);
/* Refuses new checkouts, waits up to timeout_ms for borrowed connections to come back,
 * then closes every idle one. MDM_ETIMEOUT if some were still out. */
int pool_drain(pool *p, uint64_t timeout_ms);

void pool_stats(pool *p, mdm_pool_stats *out);
/* The pool's connect retry settings, the defaults of mdm_store_transaction. */
void pool_retry_policy(const pool *p, mdm_retry_policy *out);
const char *pool_name(const pool *p);

/* One round of upkeep (the monitor thread calls it): close expired and surplus idle
 * connections, refill to min_size, report leaks, warn near capacity, update gauges. */
void pool_maintain(pool *p);

/* After fork(): the child stamps the pool with its own pid and forgets every
 * connection it inherited without closing it (closing would end the parent's
 * sessions); an inherited connection checked in later is recognised by its stamp and
 * never reset, reused or closed. Called from the atfork child handler. */
void pool_forget_after_fork(pool *p);
/* The pool's and its breaker's locks, taken before fork and released after (in parent
 * and child), so the child never inherits a held lock. */
void pool_lock_for_fork(pool *p);
void pool_unlock_after_fork(pool *p);

#endif
