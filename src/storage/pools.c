/* One pool per target, shared by every store on it; a monitor thread for upkeep;
 * fork safety. */
#include "storage/pools.h"

#include <pthread.h>
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

static struct {
    pthread_t thread;
    bool running;
    bool stop;
    pthread_cond_t wake;
    uint64_t interval_ms;
} monitor = {.wake = PTHREAD_COND_INITIALIZER, .interval_ms = 1000};

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

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

/* ------------------------------------------------------------------ fork */

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
    /* The monitor thread did not come along; the next pools_get starts a new one. */
    monitor.running = false;
    monitor.stop = false;
    pthread_mutex_unlock(&lock);
}

static void install_fork_handlers(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* ------------------------------------------------------------------ monitor */

static void *monitor_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!monitor.stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + monitor.interval_ms * 1000000ull;
        ts.tv_sec += (time_t)(ns / 1000000000ull);
        ts.tv_nsec = (long)(ns % 1000000000ull);
        pthread_cond_timedwait(&monitor.wake, &lock, &ts);
        if (monitor.stop)
            break;
        if (nentries == 0) {
            /* The last pool went while we held a pin on it: nobody will join us. */
            monitor.running = false;
            pthread_detach(pthread_self());
            break;
        }
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
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

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

int pools_get(pool **out, const mdm_backend *be, const mdm_target *t, const mdm_config *cfg)
{
    *out = NULL;
    pthread_once(&fork_once, install_fork_handlers);
    char *key = pool_key(be, t, cfg);
    if (!key)
        return MDM_ENOMEM;
    int rc = 0;
    pthread_mutex_lock(&lock);
    entry *e = entries;
    while (e && strcmp(e->key, key) != 0)
        e = e->next;
    if (e) {
        e->refs++;
        free(key);
    } else {
        char *name = pool_public_name(be, t, cfg);
        pool_options opt;
        pool_options_from_config(&opt, be, cfg);
        pool *p = NULL;
        e = calloc(1, sizeof *e);
        rc = !name || !e ? mdm_error_set(MDM_ENOMEM, "out of memory creating a pool")
                         : pool_create(&p, name, be, t, cfg, &opt);
        free(name);
        if (rc) {
            free(e);
            free(key);
            pthread_mutex_unlock(&lock);
            return rc;
        }
        e->key = key;
        e->pool = p;
        e->refs = 1;
        e->next = entries;
        entries = e;
        nentries++;
        uint64_t interval = (uint64_t)mdm_config_int(cfg, "database.pool.monitor_interval_ms");
        if (interval)
            monitor.interval_ms = interval;
    }
    if (!monitor.running) {
        monitor.stop = false;
        if (pthread_create(&monitor.thread, NULL, monitor_main, NULL) == 0)
            monitor.running = true;
        else
            MDM_WARN("could not start the pool monitor thread; pools work without upkeep");
    }
    *out = e->pool;
    pthread_mutex_unlock(&lock);
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
            monitor.stop = true;
            monitor.running = false;
            pthread_cond_signal(&monitor.wake);
            thread = monitor.thread;
            join = true;
        }
    }
    void (*report)(const mdm_pool_stats *, void *) = doomed ? on_close.fn : NULL;
    void *report_ctx = on_close.ctx;
    pthread_mutex_unlock(&lock);
    if (join)
        pthread_join(thread, NULL);
    if (report) {
        mdm_pool_stats s;
        pool_stats(doomed, &s);
        report(&s, report_ctx);
    }
    pool_destroy(doomed);
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
