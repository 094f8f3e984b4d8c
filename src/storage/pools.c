/* One pool per target, shared by every store on it; a monitor thread for upkeep;
 * fork safety. */
#include "storage/pools.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/strbuf.h"

typedef struct entry {
    char *key;
    pool *pool;
    unsigned refs;
    struct entry *next;
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *entries;
static size_t nentries;

/* The monitor. `gen` names the current thread: a thread whose generation is no longer
 * current has been told to stop, and whoever changed it joins it. A monitor that finds
 * no pool left stops on its own and detaches itself, under the lock and only while its
 * generation is current, so no one can be joining it. */
static struct {
    pthread_t thread;
    bool running;
    unsigned gen;
    pthread_cond_t wake; /* CLOCK_MONOTONIC */
    uint64_t interval_ms;
} monitor = {.interval_ms = 1000};
static _Atomic int monitor_threads; /* alive, for the tests */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* Who hears about pools closing (mdm --stats). */
static struct {
    void (*fn)(const mdm_pool_stats *stats, void *ctx);
    void *ctx;
} on_close;

void mdm_pools_on_close(void (*fn)(const mdm_pool_stats *stats, void *ctx), void *ctx)
{
    pthread_mutex_lock(&lock);
    on_close.fn = fn;
    on_close.ctx = ctx;
    pthread_mutex_unlock(&lock);
}

static void monotonic_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

/* ------------------------------------------------------------------ fork */

/* The registry lock, then each pool's lock and breaker lock, are held across fork() so
 * that the child inherits them unlocked and consistent. */
static void before_fork(void)
{
    pthread_mutex_lock(&lock);
    for (entry *e = entries; e; e = e->next)
        pool_lock_for_fork(e->pool);
}

static void after_fork_parent(void)
{
    for (entry *e = entries; e; e = e->next)
        pool_unlock_after_fork(e->pool);
    pthread_mutex_unlock(&lock);
}

static void after_fork_child(void)
{
    for (entry *e = entries; e; e = e->next) {
        pool_unlock_after_fork(e->pool);
        pool_forget_after_fork(e->pool);
    }
    /* The monitor thread did not come along (nothing to join); the next pools_get
     * starts one. */
    monitor.running = false;
    monitor.gen++;
    monitor_threads = 0;
    monotonic_cond_init(&monitor.wake);
    pthread_mutex_unlock(&lock);
}

static void init_process_state(void)
{
    monotonic_cond_init(&monitor.wake);
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* ------------------------------------------------------------------ monitor */

static void *monitor_main(void *arg)
{
    unsigned gen = (unsigned)(uintptr_t)arg;
    pthread_mutex_lock(&lock);
    while (monitor.gen == gen) {
        uint64_t deadline = mdm_now_ns() + monitor.interval_ms * 1000000ull;
        struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000ull),
                              .tv_nsec = (long)(deadline % 1000000000ull)};
        while (monitor.gen == gen && mdm_now_ns() < deadline)
            pthread_cond_timedwait(&monitor.wake, &lock, &ts);
        if (monitor.gen != gen)
            break;
        /* Pin the pools, then work on them without the registry lock: upkeep connects
         * and closes, which must not block stores being opened or closed. */
        size_t n = 0;
        pool **pinned = malloc(nentries * sizeof *pinned + 1);
        for (entry *e = entries; e && pinned; e = e->next) {
            e->refs++;
            pinned[n++] = e->pool;
        }
        pthread_mutex_unlock(&lock);
        for (size_t i = 0; i < n; i++)
            pool_maintain(pinned[i]);
        for (size_t i = 0; i < n; i++)
            pools_put(pinned[i]);
        free(pinned);
        pthread_mutex_lock(&lock);
        if (monitor.gen == gen && nentries == 0) {
            /* We dropped the last pool: nobody will stop us, so stop and detach. */
            monitor.running = false;
            monitor.gen++;
            pthread_detach(pthread_self());
            break;
        }
    }
    monitor_threads--;
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* Under the lock. False when the thread could not be started. */
static bool monitor_start_locked(void)
{
    if (monitor.running)
        return true;
    unsigned gen = ++monitor.gen;
    monitor_threads++;
    if (pthread_create(&monitor.thread, NULL, monitor_main, (void *)(uintptr_t)gen) != 0) {
        monitor_threads--;
        return false;
    }
    monitor.running = true;
    return true;
}

int pools_monitor_threads(void) { return monitor_threads; }

void (*pools_test_before_join)(void);

/* ------------------------------------------------------------------ registry */

static char *pool_key(const mdm_backend *be, const mdm_target *t, const mdm_config *cfg)
{
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "%s:%p:", be->name, (const void *)cfg);
    if (t->path)
        strbuf_appendf(&sb, "file=%s", t->path);
    else if (t->conninfo)
        strbuf_appendf(&sb, "conninfo=%s", t->conninfo);
    else
        strbuf_append(&sb, "config");
    return strbuf_detach(&sb);
}

/* The pool's public name: never a password. */
static char *pool_public_name(const mdm_backend *be, const mdm_target *t, const mdm_config *cfg)
{
    if (be->describe)
        return be->describe(t, cfg);
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "%s:%s", be->name, t->path ? t->path : t->dataset);
    return strbuf_detach(&sb);
}

static entry *find_locked(const char *key)
{
    entry *e = entries;
    while (e && strcmp(e->key, key) != 0)
        e = e->next;
    return e;
}

int pools_get(pool **out, const mdm_backend *be, const mdm_target *t, const mdm_config *cfg)
{
    *out = NULL;
    pthread_once(&init_once, init_process_state);
    char *key = pool_key(be, t, cfg);
    if (!key)
        return mdm_error_set(MDM_ENOMEM, "out of memory creating a pool");
    pool *made = NULL;
    entry *fresh = NULL;
    pthread_mutex_lock(&lock);
    entry *e = find_locked(key);
    if (!e) {
        /* Created without the registry lock: creating registers metrics, whose lock
         * must never be taken under ours (fork handlers take both). */
        pthread_mutex_unlock(&lock);
        char *name = pool_public_name(be, t, cfg);
        pool_options opt;
        pool_options_from_config(&opt, be, cfg);
        fresh = calloc(1, sizeof *fresh);
        int rc = !name || !fresh ? mdm_error_set(MDM_ENOMEM, "out of memory creating a pool")
                                 : pool_create(&made, name, be, t, cfg, &opt);
        free(name);
        if (rc) {
            free(fresh);
            free(key);
            return rc;
        }
        pthread_mutex_lock(&lock);
        if (!(e = find_locked(key))) { /* nobody made it meanwhile */
            e = fresh;
            fresh = NULL;
            e->key = key;
            key = NULL;
            e->pool = made;
            made = NULL;
            e->next = entries;
            entries = e;
            nentries++;
            uint64_t interval = (uint64_t)mdm_config_int(cfg, "database.pool.monitor_interval_ms");
            if (interval)
                monitor.interval_ms = interval;
        }
    }
    e->refs++;
    bool started = monitor_start_locked();
    *out = e->pool;
    pthread_mutex_unlock(&lock);
    pool_destroy(made); /* lost a race to make it */
    free(fresh);
    free(key);
    if (!started)
        MDM_WARN("could not start the pool monitor thread; pools work without upkeep");
    return 0;
}

void pools_put(pool *p)
{
    if (!p)
        return;
    pool *doomed = NULL;
    bool join = false;
    pthread_t thread;
    pthread_mutex_lock(&lock);
    entry **pp = &entries;
    while (*pp && (*pp)->pool != p)
        pp = &(*pp)->next;
    entry *e = *pp;
    if (e && --e->refs == 0) {
        *pp = e->next;
        nentries--;
        doomed = e->pool;
        free(e->key);
        free(e);
        if (nentries == 0 && monitor.running && !pthread_equal(pthread_self(), monitor.thread)) {
            /* Tell it to stop and join it; a monitor started after this is another
             * generation and keeps running. */
            monitor.running = false;
            monitor.gen++;
            pthread_cond_broadcast(&monitor.wake);
            thread = monitor.thread;
            join = true;
        }
    }
    void (*report)(const mdm_pool_stats *, void *) = doomed ? on_close.fn : NULL;
    void *report_ctx = on_close.ctx;
    pthread_mutex_unlock(&lock);
    if (join && pools_test_before_join)
        pools_test_before_join();
    if (join)
        pthread_join(thread, NULL);
    if (report) {
        mdm_pool_stats s;
        pool_stats(doomed, &s);
        report(&s, report_ctx);
    }
    pool_close(doomed);
}

int pools_stats_all(mdm_pool_stats **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    pthread_mutex_lock(&lock);
    size_t n = 0;
    pool **pinned = malloc((nentries + 1) * sizeof *pinned);
    if (!pinned) {
        pthread_mutex_unlock(&lock);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    for (entry *e = entries; e; e = e->next) {
        e->refs++;
        pinned[n++] = e->pool;
    }
    pthread_mutex_unlock(&lock);
    mdm_pool_stats *s = calloc(n + 1, sizeof *s);
    for (size_t i = 0; i < n; i++) {
        if (s)
            pool_stats(pinned[i], &s[i]);
        pools_put(pinned[i]);
    }
    free(pinned);
    if (!s)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    *out = s;
    *count = n;
    return 0;
}
