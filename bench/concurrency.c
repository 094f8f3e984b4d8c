/* Concurrency through pools, per backend: the shapes of seed 000's
 * StoragePerformanceBenchmark (sequential writes of 100/1k/10k rows, batch writes,
 * random reads, 10 workers x 20 mixed operations) and seed 002's headline: 10 threads
 * each reading its own dataset through pools, against the same reads made through one
 * shared connection taken in turn (the old singleton's shape). On PostgreSQL also 200
 * concurrent dataset operations over one pool of 25.
 *
 * PostgreSQL runs when MDM_TEST_PG_CONNINFO is set (scripts/bench starts a throwaway
 * server for it). */
#include <pthread.h>

#include "bench_util.h"

enum { DATASETS = 10 };

static const mdm_field cols[] = {
    {"id", MDM_TYPE_INT64}, {"value", MDM_TYPE_INT64}, {"text", MDM_TYPE_TEXT}};

static mdm_config *cfg;
static char home[] = "/tmp/mdm-bench-concurrency-XXXXXX";
static const char *pg_conninfo;
static int run_id;

static void die(const char *what)
{
    fprintf(stderr, "bench_concurrency: %s: %s\n", what, mdm_error_last()->message);
    exit(1);
}

/* A fresh store: a new file for SQLite/DuckDB, a new schema on PostgreSQL. */
static mdm_store *open_store(const char *backend, const char *label)
{
    char dataset[96], path[512];
    snprintf(dataset, sizeof dataset, "bench_%s_%d_%d", label, (int)getpid(), run_id++);
    mdm_target t = {.dataset = dataset};
    if (strcmp(backend, "postgres") == 0) {
        t.conninfo = pg_conninfo;
    } else {
        snprintf(path, sizeof path, "%s/%s.%s", home, dataset, backend);
        t.path = path;
    }
    mdm_store *s = NULL;
    if (mdm_store_open(&s, backend, &t, cfg) != 0)
        die("open store");
    mdm_conn *c = NULL;
    if (mdm_store_checkout(s, &c) != 0 || mdm_conn_dataset_create(c) != 0)
        die("create dataset");
    mdm_store_checkin(s, c);
    return s;
}

static void close_store(mdm_store *s)
{
    mdm_conn *c = NULL;
    if (mdm_store_checkout(s, &c) == 0) {
        mdm_conn_dataset_drop(c);
        mdm_store_checkin(s, c);
    }
    mdm_store_free(s);
}

static mdm_batch *make_batch(int64_t first, size_t n)
{
    mdm_batch *b = NULL;
    if (mdm_batch_new(&b, cols, 3, n) != 0)
        die("batch");
    for (size_t i = 0; i < n; i++) {
        size_t r;
        if (mdm_batch_add_row(b, &r) != 0)
            die("batch");
        mdm_batch_set_int64(b, 0, r, first + (int64_t)i);
        mdm_batch_set_int64(b, 1, r, (first + (int64_t)i) * 7);
        char text[32];
        int len = snprintf(text, sizeof text, "text_%lld", (long long)(first + (int64_t)i));
        mdm_batch_set_text(b, 2, r, text, (size_t)len);
    }
    return b;
}

static void write_table(mdm_store *s, const char *table, const mdm_batch *b)
{
    mdm_conn *c = NULL;
    if (mdm_store_checkout(s, &c) != 0)
        die("checkout");
    bool exists = false;
    if (mdm_conn_table_exists(c, table, &exists) != 0)
        die("table exists");
    if (exists && mdm_conn_table_drop(c, table) != 0)
        die("drop");
    if (mdm_conn_table_create(c, table, cols, 3) != 0 || mdm_conn_append(c, table, b) != 0)
        die("write");
    mdm_store_checkin(s, c);
}

typedef struct counter {
    int64_t rows;
    int64_t checksum;
} counter;

static int count_sink(const mdm_batch *b, void *ctx)
{
    counter *k = ctx;
    size_t n = mdm_batch_nrows(b);
    const int64_t *v = mdm_batch_data(b, 0);
    for (size_t r = 0; r < n; r++)
        k->checksum += v[r];
    k->rows += (int64_t)n;
    return 0;
}

static int64_t read_table(mdm_conn *c, const char *table)
{
    counter k = {0};
    mdm_read_request req = {.table = table, .limit = -1};
    if (mdm_conn_read(c, &req, count_sink, &k) != 0)
        die("read");
    return k.rows;
}

/* ------------------------------------------------------------------ seed 000 shapes */

static void sequential_writes(bench_report *rep, const char *backend, int runs)
{
    static const size_t sizes[] = {100, 1000, 10000};
    for (size_t k = 0; k < 3; k++) {
        mdm_batch *b = make_batch(0, sizes[k]);
        double rate[64];
        for (int r = 0; r < runs; r++) {
            mdm_store *s = open_store(backend, "seq");
            double t0 = bench_now_s();
            write_table(s, "test", b);
            rate[r] = (double)sizes[k] / (bench_now_s() - t0);
            close_store(s);
        }
        char name[64];
        snprintf(name, sizeof name, "sequential writes %zu rows", sizes[k]);
        bench_report_add(rep, name, "mdm", "rows_per_s", bench_median(rate, (size_t)runs),
                         "rows/s", "backend", backend, NULL);
        mdm_batch_free(b);
    }
}

static void batch_writes(bench_report *rep, const char *backend, int runs)
{
    enum { BATCHES = 20, ROWS = 10000 };
    mdm_batch *b[BATCHES];
    for (int i = 0; i < BATCHES; i++)
        b[i] = make_batch((int64_t)i * ROWS, ROWS);
    double rate[64];
    for (int r = 0; r < runs; r++) {
        mdm_store *s = open_store(backend, "batch");
        mdm_conn *c = NULL;
        if (mdm_store_checkout(s, &c) != 0 || mdm_conn_table_create(c, "t", cols, 3) != 0)
            die("create");
        double t0 = bench_now_s();
        for (int i = 0; i < BATCHES; i++)
            if (mdm_conn_append(c, "t", b[i]) != 0)
                die("append");
        rate[r] = (double)BATCHES * ROWS / (bench_now_s() - t0);
        mdm_store_checkin(s, c);
        close_store(s);
    }
    bench_report_add(rep, "batch writes 20 x 10000 rows", "mdm", "rows_per_s",
                     bench_median(rate, (size_t)runs), "rows/s", "backend", backend, NULL);
    for (int i = 0; i < BATCHES; i++)
        mdm_batch_free(b[i]);
}

static void random_reads(bench_report *rep, const char *backend, int runs)
{
    enum { ROWS = 10000, READS = 1000 };
    mdm_batch *b = make_batch(0, ROWS);
    double rate[64], p50[64], p99[64];
    for (int r = 0; r < runs; r++) {
        mdm_store *s = open_store(backend, "random");
        write_table(s, "t", b);
        double lat[READS];
        uint64_t seed = 12345;
        double t0 = bench_now_s();
        for (int i = 0; i < READS; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            mdm_value p = mdm_value_int64((int64_t)((seed >> 33) % ROWS));
            double s0 = bench_now_s();
            mdm_conn *c = NULL;
            if (mdm_store_checkout(s, &c) != 0)
                die("checkout");
            counter k = {0};
            mdm_read_request req = {.table = "t", .limit = -1, .where = "\"id\" = ?",
                                    .params = &p, .nparams = 1};
            if (mdm_conn_read(c, &req, count_sink, &k) != 0 || k.rows != 1)
                die("random read");
            mdm_store_checkin(s, c);
            lat[i] = (bench_now_s() - s0) * 1000.0;
        }
        rate[r] = READS / (bench_now_s() - t0);
        qsort(lat, READS, sizeof lat[0], bench_compare_doubles);
        p50[r] = lat[READS / 2];
        p99[r] = lat[READS * 99 / 100];
        close_store(s);
    }
    size_t n = (size_t)runs;
    bench_report_add(rep, "random reads (1 row by id of 10000)", "mdm", "ops_per_s",
                     bench_median(rate, n), "ops/s", "backend", backend, NULL);
    bench_report_add(rep, "random reads (1 row by id of 10000)", "mdm", "p50_ms",
                     bench_median(p50, n), "ms", "backend", backend, NULL);
    bench_report_add(rep, "random reads (1 row by id of 10000)", "mdm", "p99_ms",
                     bench_median(p99, n), "ms", "backend", backend, NULL);
    mdm_batch_free(b);
}

typedef struct mixed_ctx {
    mdm_store *store;
    pthread_mutex_t *lock;
    int *next;
    const mdm_batch *batch;
} mixed_ctx;

/* Seed 000's worker: write 100 rows to its own table, read them back. */
static void *mixed_worker(void *p)
{
    mixed_ctx *m = p;
    for (;;) {
        pthread_mutex_lock(m->lock);
        int n = *m->next < 20 ? (*m->next)++ : -1;
        pthread_mutex_unlock(m->lock);
        if (n < 0)
            return NULL;
        char table[32];
        snprintf(table, sizeof table, "concurrent_%d", n);
        write_table(m->store, table, m->batch);
        mdm_conn *c = NULL;
        if (mdm_store_checkout(m->store, &c) != 0)
            die("checkout");
        if (read_table(c, table) != 100)
            die("read back");
        mdm_store_checkin(m->store, c);
    }
}

static void concurrent_ops(bench_report *rep, const char *backend, int runs)
{
    mdm_batch *b = make_batch(0, 100);
    double rate[64];
    for (int r = 0; r < runs; r++) {
        mdm_store *s = open_store(backend, "mixed");
        pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        int next = 0;
        mixed_ctx m = {s, &lock, &next, b};
        pthread_t th[10];
        double t0 = bench_now_s();
        for (int i = 0; i < 10; i++)
            pthread_create(&th[i], NULL, mixed_worker, &m);
        for (int i = 0; i < 10; i++)
            pthread_join(th[i], NULL);
        rate[r] = 20 / (bench_now_s() - t0);
        close_store(s);
    }
    bench_report_add(rep, "10 workers x 20 write+read", "mdm", "ops_per_s",
                     bench_median(rate, (size_t)runs), "ops/s", "backend", backend, NULL);
    mdm_batch_free(b);
}

/* ------------------------------------------------------------------ seed 002 headline */

typedef struct reader_ctx {
    mdm_store *store;
    pthread_mutex_t *singleton; /* NULL: pooled */
    int64_t rows;
} reader_ctx;

static void *dataset_reader(void *p)
{
    reader_ctx *r = p;
    if (r->singleton)
        pthread_mutex_lock(r->singleton);
    mdm_conn *c = NULL;
    if (mdm_store_checkout(r->store, &c) != 0)
        die("checkout");
    r->rows = read_table(c, "train");
    mdm_store_checkin(r->store, c);
    if (r->singleton)
        pthread_mutex_unlock(r->singleton);
    return NULL;
}

static double ten_reads(mdm_store **stores, pthread_mutex_t *singleton, int64_t rows)
{
    pthread_t th[DATASETS];
    reader_ctx ctx[DATASETS];
    double t0 = bench_now_s();
    for (int i = 0; i < DATASETS; i++) {
        ctx[i] = (reader_ctx){stores[i], singleton, 0};
        pthread_create(&th[i], NULL, dataset_reader, &ctx[i]);
    }
    for (int i = 0; i < DATASETS; i++)
        pthread_join(th[i], NULL);
    double t = bench_now_s() - t0;
    for (int i = 0; i < DATASETS; i++)
        if (ctx[i].rows != rows)
            die("short read");
    return t;
}

static void concurrent_reads(bench_report *rep, const char *backend, int runs, long long rows)
{
    mdm_store *stores[DATASETS];
    mdm_batch *b = make_batch(0, (size_t)rows);
    for (int i = 0; i < DATASETS; i++) {
        stores[i] = open_store(backend, "reads");
        write_table(stores[i], "train", b);
    }
    mdm_batch_free(b);
    /* Warm every pool and cache once, then alternate the two shapes. */
    ten_reads(stores, NULL, rows);
    pthread_mutex_t singleton = PTHREAD_MUTEX_INITIALIZER;
    double pooled[64], single[64], pooled_cpu[64], single_cpu[64], speedup[64] = {0};
    for (int r = 0; r < runs; r++) {
        /* Client CPU (this process, user + sys) beside the wall time: how much of the
         * machine each shape already uses, which bounds what the pool can gain. */
        for (int shape = 0; shape < 2; shape++) {
            bool pooled_now = (r % 2) ? shape == 1 : shape == 0;
            double c0 = bench_cpu_s();
            double t = ten_reads(stores, pooled_now ? NULL : &singleton, rows);
            double cpu = bench_cpu_s() - c0;
            if (pooled_now) {
                pooled[r] = t;
                pooled_cpu[r] = cpu;
            } else {
                single[r] = t;
                single_cpu[r] = cpu;
            }
        }
        speedup[r] = single[r] / pooled[r];
    }
    size_t n = (size_t)runs;
    double p = bench_median(pooled, n), s = bench_median(single, n);
    char rows_text[32];
    snprintf(rows_text, sizeof rows_text, "%lld", rows);
    bench_report_add(rep, "10 concurrent reads", "mdm-pooled", "wall_s", p, "s", "backend",
                     backend, "rows_per_dataset", rows_text, NULL);
    bench_report_add(rep, "10 concurrent reads", "single-connection", "wall_s", s, "s",
                     "backend", backend, "rows_per_dataset", rows_text, NULL);
    bench_report_add(rep, "10 concurrent reads", "pooled_vs_single", "speedup", s / p, "x",
                     "backend", backend, "rows_per_dataset", rows_text, NULL);
    double lo = speedup[0], hi = speedup[0];
    for (size_t i = 1; i < n; i++) {
        lo = speedup[i] < lo ? speedup[i] : lo;
        hi = speedup[i] > hi ? speedup[i] : hi;
    }
    bench_report_add(rep, "10 concurrent reads", "pooled_vs_single", "speedup_min", lo, "x",
                     "backend", backend, "rows_per_dataset", rows_text, NULL);
    bench_report_add(rep, "10 concurrent reads", "pooled_vs_single", "speedup_max", hi, "x",
                     "backend", backend, "rows_per_dataset", rows_text, NULL);
    bench_report_add(rep, "10 concurrent reads", "mdm-pooled", "client_cpu_s",
                     bench_median(pooled_cpu, n), "s", "backend", backend, "rows_per_dataset",
                     rows_text, NULL);
    bench_report_add(rep, "10 concurrent reads", "single-connection", "client_cpu_s",
                     bench_median(single_cpu, n), "s", "backend", backend, "rows_per_dataset",
                     rows_text, NULL);
    for (int i = 0; i < DATASETS; i++)
        close_store(stores[i]);
}

/* ------------------------------------------------------------------ 200 operations */

typedef struct op_ctx {
    mdm_store *store;
    pthread_barrier_t *start;
    double latency_ms;
    int failed;
} op_ctx;

static void *one_operation(void *p)
{
    op_ctx *o = p;
    pthread_barrier_wait(o->start);
    double t0 = bench_now_s();
    mdm_conn *c = NULL;
    if (mdm_store_checkout(o->store, &c) != 0) {
        o->failed = 1;
        return NULL;
    }
    counter k = {0};
    mdm_read_request req = {.table = "train", .limit = -1};
    o->failed = mdm_conn_read(c, &req, count_sink, &k) != 0 || k.rows != 1000;
    mdm_store_checkin(o->store, c);
    o->latency_ms = (bench_now_s() - t0) * 1000.0;
    return NULL;
}

static void two_hundred_operations(bench_report *rep)
{
    enum { OPS = 200 };
    mdm_store *stores[DATASETS];
    mdm_batch *b = make_batch(0, 1000);
    for (int i = 0; i < DATASETS; i++) {
        stores[i] = open_store("postgres", "ops");
        write_table(stores[i], "train", b);
    }
    mdm_batch_free(b);
    pthread_t th[OPS];
    op_ctx ctx[OPS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, OPS);
    for (int i = 0; i < OPS; i++) {
        ctx[i] = (op_ctx){stores[i % DATASETS], &start, 0, 0};
        pthread_create(&th[i], NULL, one_operation, &ctx[i]);
    }
    int errors = 0;
    double lat[OPS];
    for (int i = 0; i < OPS; i++) {
        pthread_join(th[i], NULL);
        errors += ctx[i].failed;
        lat[i] = ctx[i].latency_ms;
    }
    pthread_barrier_destroy(&start);
    qsort(lat, OPS, sizeof lat[0], bench_compare_doubles);
    mdm_pool_stats s;
    mdm_store_pool_stats(stores[0], &s);
    char pool[32];
    snprintf(pool, sizeof pool, "%zu", s.max_size);
    bench_report_add(rep, "200 concurrent operations", "mdm-postgres", "errors", errors, "count",
                     "backend", "postgres", "pool_size", pool, NULL);
    bench_report_add(rep, "200 concurrent operations", "mdm-postgres", "p50_ms", lat[OPS / 2],
                     "ms", "backend", "postgres", "pool_size", pool, NULL);
    bench_report_add(rep, "200 concurrent operations", "mdm-postgres", "p99_ms",
                     lat[OPS * 99 / 100], "ms", "backend", "postgres", "pool_size", pool, NULL);
    for (int i = 0; i < DATASETS; i++)
        close_store(stores[i]);
}

int main(int argc, char **argv)
{
    bool reads_only = false;
    const bench_flag flags[] = {
        {"--reads-only", "only the 10 concurrent reads, pooled against one connection", &reads_only},
        {NULL, NULL, NULL}};
    bench_options opt = bench_parse_options(argc, argv, "concurrency", 200000, flags);
    if (opt.runs > 64)
        opt.runs = 64;
    if (!mkdtemp(home) || mdm_config_defaults(&cfg, home) != 0)
        die("setup");
    /* Seed 002's sizes: PostgreSQL 25, SQLite 5, DuckDB 10 (the defaults). */
    pg_conninfo = getenv("MDM_TEST_PG_CONNINFO");
    const char *backends[] = {"sqlite", "duckdb", "postgres"};
    bench_report rep;
    bench_report_init(&rep, "concurrency");
    for (int i = 0; i < 3; i++) {
        if (strcmp(backends[i], "postgres") == 0 && !pg_conninfo) {
            fprintf(stderr, "bench_concurrency: MDM_TEST_PG_CONNINFO not set; PostgreSQL skipped\n");
            continue;
        }
        fprintf(stderr, "bench_concurrency: %s\n", backends[i]);
        if (reads_only) {
            concurrent_reads(&rep, backends[i], opt.runs, opt.rows);
            continue;
        }
        sequential_writes(&rep, backends[i], opt.runs);
        batch_writes(&rep, backends[i], opt.runs);
        random_reads(&rep, backends[i], opt.runs);
        concurrent_ops(&rep, backends[i], opt.runs);
        concurrent_reads(&rep, backends[i], opt.runs, opt.rows);
        if (strcmp(backends[i], "postgres") == 0)
            two_hundred_operations(&rep);
    }
    bench_report_print(&rep);
    int rc = bench_report_write(&rep, opt.out) == 0 ? 0 : 1;
    bench_report_free(&rep);
    mdm_config_free(cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_concurrency: could not remove %s\n", home);
    return rc;
}
