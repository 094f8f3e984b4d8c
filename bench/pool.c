/* Pool checkout+checkin cycles: mdm's pool against libzdb's ConnectionPool, both over
 * SQLite in memory, in the same run, uncontended and with 2, 4, 8 and 16 threads over
 * 4 connections. Then the pool's own figures (seed ADR): the worst wait of any waiter
 * when 16 wait behind 4 connections that come back in a burst, memory per idle
 * connection, a single-row read through the pool against the same read on a held
 * connection, and utilisation (mean connections in use / pool size) over a run of 8
 * threads reading through 4 connections. Per backend: SQLite and DuckDB files, and
 * PostgreSQL when MDM_TEST_PG_CONNINFO is set (scripts/bench starts a server for it).
 *
 * libzdb never waits: when all its connections are out, ConnectionPool_getConnection
 * returns NULL at once. Those attempts are counted apart ("misses"); the throughput
 * compared is successful cycles per second. mdm's pool makes a thread wait in FIFO
 * order instead, so every one of its attempts succeeds. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
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

/* ------------------------------------------------------------------ burst */

enum { BURST_WAITERS = 16, BURST_ROUNDS = 50 };

typedef struct burst_ctx {
    mdm_store *store;
    pthread_barrier_t *start, *end;
    _Atomic uint64_t *burst_ns; /* when the round's checkins began */
    double worst_ms;
    int errors;
} burst_ctx;

static void *burst_waiter(void *arg)
{
    burst_ctx *b = arg;
    for (int r = 0; r < BURST_ROUNDS; r++) {
        pthread_barrier_wait(b->start);
        mdm_conn *c = NULL;
        if (mdm_store_checkout(b->store, &c) != 0) {
            b->errors++;
        } else {
            uint64_t now = mdm_now_ns(), burst = *b->burst_ns;
            double ms = now > burst ? (double)(now - burst) / 1e6 : 0;
            if (ms > b->worst_ms)
                b->worst_ms = ms;
            mdm_store_checkin(b->store, c);
        }
        pthread_barrier_wait(b->end);
    }
    return NULL;
}

/* 16 waiters queue behind the 4 connections, which come back in a burst; the worst
 * time from the burst to a waiter holding a connection, over every waiter and round.
 * A lost wake-up would show as the checkout timeout (60 s here). */
static double burst_worst_wait_ms(mdm_store *store)
{
    pthread_barrier_t start, end;
    pthread_barrier_init(&start, NULL, BURST_WAITERS + 1);
    pthread_barrier_init(&end, NULL, BURST_WAITERS + 1);
    _Atomic uint64_t burst_ns = UINT64_MAX;
    burst_ctx ctx[BURST_WAITERS];
    pthread_t th[BURST_WAITERS];
    for (int i = 0; i < BURST_WAITERS; i++) {
        ctx[i] = (burst_ctx){store, &start, &end, &burst_ns, 0, 0};
        pthread_create(&th[i], NULL, burst_waiter, &ctx[i]);
    }
    for (int r = 0; r < BURST_ROUNDS; r++) {
        mdm_conn *held[MAX_CONNECTIONS];
        for (int k = 0; k < MAX_CONNECTIONS; k++)
            if (mdm_store_checkout(store, &held[k]) != 0)
                return -1;
        burst_ns = UINT64_MAX;
        pthread_barrier_wait(&start);
        for (;;) {
            mdm_pool_stats s;
            mdm_store_pool_stats(store, &s);
            if (s.waiting == BURST_WAITERS)
                break;
            sched_yield();
        }
        burst_ns = mdm_now_ns();
        for (int k = 0; k < MAX_CONNECTIONS; k++)
            mdm_store_checkin(store, held[k]);
        pthread_barrier_wait(&end);
    }
    double worst = 0;
    for (int i = 0; i < BURST_WAITERS; i++) {
        pthread_join(th[i], NULL);
        if (ctx[i].errors)
            return -1;
        worst = ctx[i].worst_ms > worst ? ctx[i].worst_ms : worst;
    }
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&end);
    return worst;
}

/* ------------------------------------------------------------------ per backend */

static const mdm_field read_cols[] = {{"id", MDM_TYPE_INT64}, {"value", MDM_TYPE_INT64}};
enum { READ_ROWS = 1000, READS = 2000, IDLE_CONNS = 16, UTIL_THREADS = 8 };

static void die(const char *what)
{
    fprintf(stderr, "bench_pool: %s: %s\n", what, mdm_error_last()->message);
    exit(1);
}

static mdm_store *open_backend_store(const char *backend, const char *dir, mdm_config *bcfg,
                                     const char *pg)
{
    char dataset[64], path[512];
    snprintf(dataset, sizeof dataset, "bench_pool_%d", (int)getpid());
    mdm_target t = {.dataset = dataset};
    if (strcmp(backend, "postgres") == 0) {
        t.conninfo = pg;
    } else {
        snprintf(path, sizeof path, "%s/%s.%s", dir, dataset, backend);
        t.path = path;
    }
    mdm_store *s = NULL;
    mdm_conn *c = NULL;
    mdm_batch *b = NULL;
    if (mdm_store_open(&s, backend, &t, bcfg) != 0 || mdm_store_checkout(s, &c) != 0 ||
        mdm_conn_dataset_create(c) != 0 || mdm_conn_table_create(c, "t", read_cols, 2) != 0 ||
        mdm_batch_new(&b, read_cols, 2, READ_ROWS) != 0)
        die("store");
    for (int i = 0; i < READ_ROWS; i++) {
        size_t r;
        if (mdm_batch_add_row(b, &r) != 0)
            die("batch");
        mdm_batch_set_int64(b, 0, r, i);
        mdm_batch_set_int64(b, 1, r, (int64_t)i * 7);
    }
    if (mdm_conn_append(c, "t", b) != 0)
        die("append");
    mdm_batch_free(b);
    mdm_store_checkin(s, c);
    return s;
}

static void close_backend_store(mdm_store *s)
{
    mdm_conn *c = NULL;
    if (mdm_store_checkout(s, &c) == 0) {
        mdm_conn_dataset_drop(c);
        mdm_store_checkin(s, c);
    }
    mdm_store_free(s);
}

static int one_row(const mdm_batch *b, void *ctx)
{
    *(int64_t *)ctx += (int64_t)mdm_batch_nrows(b);
    return 0;
}

static void read_one(mdm_conn *c, int64_t id)
{
    mdm_value p = mdm_value_int64(id);
    int64_t rows = 0;
    mdm_read_request req = {.table = "t", .limit = -1, .where = "\"id\" = ?", .params = &p,
                            .nparams = 1};
    if (mdm_conn_read(c, &req, one_row, &rows) != 0 || rows != 1)
        die("read");
}

/* Median ns of a one-row read: through the pool (checkout, read, checkin) or on a
 * connection held throughout. */
static double single_read_ns(mdm_store *s, bool pooled)
{
    static double lat[READS];
    mdm_conn *held = NULL;
    if (!pooled && mdm_store_checkout(s, &held) != 0)
        die("checkout");
    uint64_t seed = 42;
    for (int i = 0; i < READS; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int64_t id = (int64_t)((seed >> 33) % READ_ROWS);
        uint64_t t0 = mdm_now_ns();
        mdm_conn *c = held;
        if (pooled && mdm_store_checkout(s, &c) != 0)
            die("checkout");
        read_one(c, id);
        if (pooled)
            mdm_store_checkin(s, c);
        lat[i] = (double)(mdm_now_ns() - t0);
    }
    mdm_store_checkin(s, held);
    return bench_median(lat, READS);
}

/* Client-side memory of one idle pooled connection: RSS grown by opening 16 more. */
static double idle_conn_kb(mdm_store *s)
{
    mdm_conn *c[IDLE_CONNS + 1];
    if (mdm_store_checkout(s, &c[0]) != 0)
        die("checkout");
    read_one(c[0], 1);
    double before = bench_rss_mb();
    for (int i = 1; i <= IDLE_CONNS; i++) {
        if (mdm_store_checkout(s, &c[i]) != 0)
            die("checkout");
        read_one(c[i], (int64_t)i); /* a used connection: prepared, caches touched */
    }
    for (int i = 0; i <= IDLE_CONNS; i++)
        mdm_store_checkin(s, c[i]);
    return (bench_rss_mb() - before) * 1024.0 / IDLE_CONNS;
}

typedef struct util_ctx {
    mdm_store *store;
    _Atomic bool *stop;
    long reads;
} util_ctx;

static void *util_reader(void *arg)
{
    util_ctx *u = arg;
    uint64_t seed = (uint64_t)(uintptr_t)u;
    while (!*u->stop) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        mdm_conn *c = NULL;
        if (mdm_store_checkout(u->store, &c) != 0)
            die("checkout");
        read_one(c, (int64_t)((seed >> 33) % READ_ROWS));
        mdm_store_checkin(u->store, c);
        u->reads++;
    }
    return NULL;
}

/* 8 threads read through 4 connections for a second; a sampler reads the pool's
 * in-use gauge every 200 us. */
static double utilisation(mdm_store *s, double *reads_per_s)
{
    _Atomic bool stop = false;
    util_ctx u[UTIL_THREADS];
    pthread_t th[UTIL_THREADS];
    for (int i = 0; i < UTIL_THREADS; i++) {
        u[i] = (util_ctx){s, &stop, 0};
        pthread_create(&th[i], NULL, util_reader, &u[i]);
    }
    double t0 = bench_now_s(), sum = 0;
    long samples = 0;
    size_t max = 1;
    while (bench_now_s() - t0 < 1.0) {
        mdm_pool_stats st;
        mdm_store_pool_stats(s, &st);
        sum += (double)st.in_use;
        max = st.max_size;
        samples++;
        usleep(200);
    }
    stop = true;
    long reads = 0;
    for (int i = 0; i < UTIL_THREADS; i++) {
        pthread_join(th[i], NULL);
        reads += u[i].reads;
    }
    *reads_per_s = (double)reads / (bench_now_s() - t0);
    return sum / (double)samples / (double)max;
}

static void per_backend(bench_report *rep, const char *backend, const char *dir, int runs,
                        const char *pg)
{
    mdm_config *bcfg = NULL;
    if (mdm_config_defaults(&bcfg, dir) != 0)
        die("config");
    const char *size_key = strcmp(backend, "sqlite") == 0   ? "database.sqlalchemy.pool_size"
                           : strcmp(backend, "duckdb") == 0 ? "database.duckdb.pool_size"
                                                            : "database.postgresql.pool_size";
    if (mdm_config_set(bcfg, size_key, "32") != 0 ||
        mdm_config_set(bcfg, "database.sqlalchemy.pool_timeout", "60") != 0)
        die("config");
    mdm_store *s = open_backend_store(backend, dir, bcfg, pg);
    double mem = idle_conn_kb(s);
    double pooled[64], held[64];
    for (int r = 0; r < runs && r < 64; r++) {
        if (r % 2) {
            held[r] = single_read_ns(s, false);
            pooled[r] = single_read_ns(s, true);
        } else {
            pooled[r] = single_read_ns(s, true);
            held[r] = single_read_ns(s, false);
        }
    }
    size_t n = (size_t)(runs < 64 ? runs : 64);
    double p = bench_median(pooled, n), h = bench_median(held, n);
    if (mdm_store_resize(s, 1, MAX_CONNECTIONS) != 0)
        die("resize");
    double rate = 0, util = utilisation(s, &rate);
    bench_report_add(rep, "idle connection", "mdm", "kb_per_conn", mem, "KiB", "backend", backend, NULL);
    bench_report_add(rep, "single-row read", "mdm-pooled", "ns_per_op", p, "ns", "backend", backend, NULL);
    bench_report_add(rep, "single-row read", "held-connection", "ns_per_op", h, "ns", "backend",
                     backend, NULL);
    bench_report_add(rep, "single-row read", "pool_overhead", "ns_per_op", p - h, "ns", "backend",
                     backend, NULL);
    bench_report_add(rep, "8 readers over 4 connections", "mdm", "utilisation", util, "fraction",
                     "backend", backend, NULL);
    bench_report_add(rep, "8 readers over 4 connections", "mdm", "ops_per_s", rate, "ops/s",
                     "backend", backend, NULL);
    mdm_pool_stats st;
    mdm_store_pool_stats(s, &st);
    bench_report_add(rep, "8 readers over 4 connections", "mdm", "wait_p99_ms", st.wait_p99_ms,
                     "ms", "backend", backend, NULL);
    close_backend_store(s);
    mdm_config_free(bcfg);
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
    double worst = burst_worst_wait_ms(store);
    if (worst < 0) {
        fprintf(stderr, "bench_pool: burst: %s\n", mdm_error_last()->message);
        return 1;
    }
    bench_report_add(&report, "burst: 16 waiters, 4 connections back at once", "mdm",
                     "worst_wait_ms", worst, "ms", "timeout_ms", "60000", NULL);
    const char *pg = getenv("MDM_TEST_PG_CONNINFO");
    const char *backends[] = {"sqlite", "duckdb", "postgres"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(backends[i], "postgres") == 0 && !pg) {
            fprintf(stderr, "bench_pool: MDM_TEST_PG_CONNINFO not set; PostgreSQL skipped\n");
            continue;
        }
        per_backend(&report, backends[i], home, opt.runs, pg);
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
