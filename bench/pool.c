/* Pool checkout+checkin cycles: mdm's pool against libzdb's ConnectionPool, both over
 * SQLite in memory, in the same run, uncontended and with 2, 4, 8 and 16 threads over
 * 4 connections.
 *
 * libzdb never waits: when all its connections are out, ConnectionPool_getConnection
 * returns NULL at once. Those attempts are counted apart ("misses"); the throughput
 * compared is successful cycles per second. mdm's pool makes a thread wait in FIFO
 * order instead, so every one of its attempts succeeds. */
#include <pthread.h>
#include <zdb.h>

#include "bench_util.h"

enum { MAX_CONNECTIONS = 4 };
static const int thread_counts[] = {1, 2, 4, 8, 16};

typedef struct worker {
    long cycles; /* attempts to make */
    long ok, misses;
    void *pool;  /* mdm_store* or ConnectionPool_T */
    pthread_barrier_t *start;
} worker;

static void *mdm_worker(void *arg)
{
    worker *w = arg;
    mdm_store *s = w->pool;
    pthread_barrier_wait(w->start);
    for (long i = 0; i < w->cycles; i++) {
        mdm_conn *c = NULL;
        if (mdm_store_checkout(s, &c) == 0) {
            mdm_store_checkin(s, c);
            w->ok++;
        } else {
            w->misses++;
        }
    }
    return NULL;
}

static void *zdb_worker(void *arg)
{
    worker *w = arg;
    ConnectionPool_T pool = w->pool;
    pthread_barrier_wait(w->start);
    for (long i = 0; i < w->cycles; i++) {
        Connection_T c = ConnectionPool_getConnection(pool);
        if (c) {
            Connection_close(c);
            w->ok++;
        } else {
            w->misses++;
        }
    }
    return NULL;
}

typedef struct run_result {
    double seconds;
    long ok, misses;
} run_result;

static run_result run(void *(*fn)(void *), void *pool, int threads, long cycles_per_thread)
{
    pthread_t th[16];
    worker w[16];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){.cycles = cycles_per_thread, .pool = pool, .start = &start};
        pthread_create(&th[i], NULL, fn, &w[i]);
    }
    pthread_barrier_wait(&start);
    double t0 = bench_now_s();
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    run_result r = {.seconds = bench_now_s() - t0};
    for (int i = 0; i < threads; i++) {
        r.ok += w[i].ok;
        r.misses += w[i].misses;
    }
    pthread_barrier_destroy(&start);
    return r;
}

int main(int argc, char **argv)
{
    bench_options opt = bench_parse_options(argc, argv, "pool", 2000000, NULL);
    mdm_config *cfg = NULL;
    char home[] = "/tmp/mdm-bench-pool-XXXXXX";
    if (!mkdtemp(home) || mdm_config_defaults(&cfg, home) != 0 ||
        mdm_config_set(cfg, "database.sqlalchemy.pool_size", "4") != 0 ||
        mdm_config_set(cfg, "database.pool.min_size", "4") != 0 ||
        mdm_config_set(cfg, "database.sqlalchemy.pool_timeout", "60") != 0) {
        fprintf(stderr, "bench_pool: setup failed: %s\n", mdm_error_last()->message);
        return 1;
    }
    mdm_store *store = NULL;
    mdm_target t = {.dataset = "bench", .path = ":memory:"};
    if (mdm_store_open(&store, "sqlite", &t, cfg) != 0) {
        fprintf(stderr, "bench_pool: %s\n", mdm_error_last()->message);
        return 1;
    }
    /* Open all four first, so both pools start warm. */
    mdm_conn *warm[MAX_CONNECTIONS];
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        if (mdm_store_checkout(store, &warm[i]) != 0) {
            fprintf(stderr, "bench_pool: %s\n", mdm_error_last()->message);
            return 1;
        }
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        mdm_store_checkin(store, warm[i]);

    URL_T url = URL_new("sqlite:///:memory:");
    ConnectionPool_T zpool = ConnectionPool_new(url);
    ConnectionPool_setInitialConnections(zpool, MAX_CONNECTIONS);
    ConnectionPool_setMaxConnections(zpool, MAX_CONNECTIONS);
    ConnectionPool_start(zpool);

    bench_report report;
    bench_report_init(&report, "pool");
    for (size_t k = 0; k < sizeof thread_counts / sizeof thread_counts[0]; k++) {
        int threads = thread_counts[k];
        /* libzdb costs ~1000x more per cycle: give it fewer cycles, same per-thread time. */
        long mdm_cycles = (long)(opt.rows / threads), zdb_cycles = mdm_cycles / 50 + 1;
        double mdm_rate[64], zdb_rate[64], mdm_ns[64], zdb_miss[64];
        for (int r = 0; r < opt.runs && r < 64; r++) {
            /* Alternate which goes first, so neither always gets a cold or hot machine. */
            run_result m, z;
            if (r % 2 == 0) {
                m = run(mdm_worker, store, threads, mdm_cycles);
                z = run(zdb_worker, zpool, threads, zdb_cycles);
            } else {
                z = run(zdb_worker, zpool, threads, zdb_cycles);
                m = run(mdm_worker, store, threads, mdm_cycles);
            }
            if (m.misses) {
                fprintf(stderr, "bench_pool: mdm failed %ld checkouts: %s\n", m.misses,
                        mdm_error_last()->message);
                return 1;
            }
            mdm_rate[r] = (double)m.ok / m.seconds;
            mdm_ns[r] = m.seconds * 1e9 / (double)m.ok; /* wall time per cycle, all threads */
            zdb_rate[r] = (double)z.ok / z.seconds;
            zdb_miss[r] = (double)z.misses / (double)(z.ok + z.misses);
        }
        int runs = opt.runs < 64 ? opt.runs : 64;
        char case_name[32];
        snprintf(case_name, sizeof case_name, "threads=%d", threads);
        double mr = bench_median(mdm_rate, (size_t)runs), zr = bench_median(zdb_rate, (size_t)runs);
        bench_report_add(&report, case_name, "mdm", "cycles_per_s", mr, "cycles/s", NULL);
        bench_report_add(&report, case_name, "mdm", "ns_per_op", bench_median(mdm_ns, (size_t)runs),
                         "ns", NULL);
        bench_report_add(&report, case_name, "libzdb", "cycles_per_s", zr, "cycles/s", NULL);
        bench_report_add(&report, case_name, "libzdb", "miss_ratio",
                         bench_median(zdb_miss, (size_t)runs), "fraction", NULL);
        bench_report_add(&report, case_name, "mdm_vs_libzdb", "throughput_ratio", mr / zr, "x", NULL);
    }
    bench_report_print(&report);
    int rc = bench_report_write(&report, opt.out) == 0 ? 0 : 1;
    bench_report_free(&report);
    ConnectionPool_stop(zpool);
    ConnectionPool_free(&zpool);
    URL_free(&url);
    mdm_store_free(store);
    mdm_config_free(cfg);
    return rc;
}
