/* bench_backends: bulk append and full read through mdm's public API, per storage
 * backend, against the tools a user would otherwise pick for the same data:
 *
 *   sqlite    mdm-sqlite    vs  sqlite3-shell (.import of the CSV into a typed table;
 *                               SELECT * in CSV mode for reading)
 *   duckdb    mdm-duckdb    vs  duckdb-c-api (CREATE TABLE AS SELECT * FROM read_csv;
 *                               a streaming SELECT * touching every value)
 *   postgres  mdm-postgres  vs  psql (\copy FROM the CSV into a typed table; \copy TO)
 *
 * The data is a deterministic stream of N rows (timestamp, two int64, two short texts),
 * prepared as 10,000-row batches (and once as a CSV file) before anything is timed.
 * Every run checks that what was read back is what was written. PostgreSQL takes part
 * when MDM_TEST_PG_CONNINFO is set (scripts/bench runs this under scripts/test-postgres).
 * Runs alternate mdm and the tool; medians over the runs are reported. */
#include <dirent.h>
#include <duckdb.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "mdm/mdm.h"

#define BENCH_NAME "backends"
#define DEFAULT_ROWS 3000000LL
#define BATCH_ROWS 10000
#define TABLE "events"
#define PG_DATASET "bench_backends"
#define PSQL_SCHEMA "bench_psql"

static const mdm_field fields[] = {
    {"ts", MDM_TYPE_TIMESTAMP}, {"id", MDM_TYPE_INT64},     {"amount", MDM_TYPE_INT64},
    {"user", MDM_TYPE_TEXT},    {"category", MDM_TYPE_TEXT},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static const char *const categories[] = {
    "books", "electronics", "garden", "toys",   "grocery", "clothing",
    "sports", "music",      "health", "automotive", "beauty", "office",
};

/* --one-transaction: all batches of a run are appended inside one transaction
 * (mdm_conn_begin ... mdm_conn_commit) instead of one transaction per append. */
static bool one_transaction;

/* 2024-01-01 00:00:00 UTC in microseconds. */
#define BASE_TS 1704067200000000LL

/* ------------------------------------------------------------------ data */

typedef struct dataset {
    mdm_batch **batches;
    size_t nbatches;
    long long rows;
    uint64_t checksum;  /* of every value, as a reader computes it */
    char csv_path[PATH_MAX];
} dataset;

/* splitmix64: a cheap, well-mixed deterministic function of the row number. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* What a reader folds every value into: integers by column, texts by length and last
 * byte. Column types decide, so any reader over the same rows gets the same sum. */
typedef struct tally {
    uint64_t rows;
    uint64_t checksum;
} tally;

static void tally_int64(tally *t, size_t col, int64_t v) { t->checksum += (uint64_t)v * (col + 1); }

static void tally_text(tally *t, size_t col, const char *s, size_t len)
{
    t->checksum += (uint64_t)len * (col + 7) + (len ? (unsigned char)s[len - 1] : 0u);
}

static void tally_null(tally *t, size_t col) { t->checksum += 0x51ed27u + col; }

/* Touches every value of a batch (the read sink, also used for the expected sum). */
static int tally_batch(const mdm_batch *batch, void *ctx)
{
    tally *t = ctx;
    size_t nrows = mdm_batch_nrows(batch), ncols = mdm_batch_ncols(batch);
    for (size_t c = 0; c < ncols; c++) {
        const uint8_t *nulls = mdm_batch_nulls(batch, c);
        switch (mdm_batch_field(batch, c)->type) {
        case MDM_TYPE_INT64:
        case MDM_TYPE_TIMESTAMP: {
            const int64_t *v = mdm_batch_data(batch, c);
            for (size_t r = 0; r < nrows; r++) {
                if (nulls[r])
                    tally_null(t, c);
                else
                    tally_int64(t, c, v[r]);
            }
            break;
        }
        case MDM_TYPE_TEXT:
            for (size_t r = 0; r < nrows; r++) {
                size_t len = 0;
                if (nulls[r])
                    tally_null(t, c);
                else {
                    const char *s = mdm_batch_text(batch, c, r, &len);
                    tally_text(t, c, s, len);
                }
            }
            break;
        default:
            /* The table has no other types; a backend that answered one is wrong. */
            return mdm_error_set(MDM_EINVALID, "column '%s' came back as %s",
                                 mdm_batch_field(batch, c)->name,
                                 mdm_type_name(mdm_batch_field(batch, c)->type));
        }
    }
    t->rows += nrows;
    return 0;
}

static void dataset_free(dataset *d)
{
    for (size_t i = 0; i < d->nbatches; i++)
        mdm_batch_free(d->batches[i]);
    free(d->batches);
    d->batches = NULL;
    d->nbatches = 0;
}

/* Builds the batches and writes the same rows as CSV (with a header) beside them. */
static int dataset_build(dataset *d, long long rows, const char *dir)
{
    memset(d, 0, sizeof *d);
    d->rows = rows;
    d->nbatches = (size_t)((rows + BATCH_ROWS - 1) / BATCH_ROWS);
    d->batches = calloc(d->nbatches, sizeof *d->batches);
    if (!d->batches)
        return mdm_error_set(MDM_ENOMEM, "out of memory for %zu batches", d->nbatches);
    snprintf(d->csv_path, sizeof d->csv_path, "%s/%s.csv", dir, TABLE);
    FILE *csv = fopen(d->csv_path, "w");
    if (!csv)
        return mdm_error_set(MDM_EIO, "cannot create %s: %s", d->csv_path, strerror(errno));
    static char csv_buffer[1 << 20];
    setvbuf(csv, csv_buffer, _IOFBF, sizeof csv_buffer);
    fprintf(csv, "ts,id,amount,user,category\n");

    int rc = 0;
    long long row = 0;
    for (size_t b = 0; b < d->nbatches; b++) {
        size_t n = (size_t)(rows - row < BATCH_ROWS ? rows - row : BATCH_ROWS);
        if ((rc = mdm_batch_new(&d->batches[b], fields, NFIELDS, n)))
            goto cleanup;
        mdm_batch *batch = d->batches[b];
        for (size_t i = 0; i < n; i++, row++) {
            uint64_t h = mix64((uint64_t)row);
            int64_t ts = BASE_TS + (int64_t)row * 1000000LL + (int64_t)(h % 1000) * 1000;
            int64_t amount = (int64_t)(h >> 20) % 2000001 - 1000000;
            char user[32];
            int user_len = snprintf(user, sizeof user, "user_%llu",
                                    (unsigned long long)(mix64(h) % 100000));
            const char *category = categories[(h >> 8) % (sizeof categories / sizeof *categories)];
            size_t r;
            if ((rc = mdm_batch_add_row(batch, &r)))
                goto cleanup;
            mdm_batch_set_timestamp(batch, 0, r, ts);
            mdm_batch_set_int64(batch, 1, r, row + 1);
            mdm_batch_set_int64(batch, 2, r, amount);
            if ((rc = mdm_batch_set_text(batch, 3, r, user, (size_t)user_len)) ||
                (rc = mdm_batch_set_text(batch, 4, r, category, strlen(category))))
                goto cleanup;
            char ts_text[48];
            mdm_timestamp_format(ts_text, sizeof ts_text, ts);
            fprintf(csv, "%s,%lld,%lld,%s,%s\n", ts_text, row + 1, (long long)amount, user,
                    category);
        }
        tally expected = {0, 0};
        tally_batch(batch, &expected);
        d->checksum += expected.checksum;
    }
cleanup:
    if (fclose(csv) != 0 && !rc)
        rc = mdm_error_set(MDM_EIO, "cannot write %s: %s", d->csv_path, strerror(errno));
    return rc;
}

/* ------------------------------------------------------------------ bookkeeping */

enum { PHASE_WRITE, PHASE_READ, NPHASES };

/* What one phase of one run cost. */
typedef struct measure {
    double wall_s;
    double cpu_s;   /* user + system of the measured process (mdm's, or the tool's) */
    double peak_mb; /* memory the phase added at its peak */
} measure;

#define MAX_RUNS 1000

/* One tool's measurements, one entry per run. */
typedef struct tool_result {
    const char *tool;
    double idle_mb;  /* a child tool's peak RSS doing nothing, subtracted from its peaks */
    double wall_s[NPHASES][MAX_RUNS];
    double cpu_s[NPHASES][MAX_RUNS];
    double peak_mb[NPHASES][MAX_RUNS];
    int nruns[NPHASES];
    bool failed;
    char why[512];
} tool_result;

typedef struct backend_bench {
    const char *backend;   /* mdm's name */
    bool enabled;
    tool_result mdm;
    tool_result tool;
} backend_bench;

static void record(tool_result *t, int phase, const measure *m)
{
    int run = t->nruns[phase]++;
    t->wall_s[phase][run] = m->wall_s;
    t->cpu_s[phase][run] = m->cpu_s;
    t->peak_mb[phase][run] = m->peak_mb > t->idle_mb ? m->peak_mb - t->idle_mb : 0.0;
}

/* Measuring a phase that runs in this process. */
typedef struct phase_clock {
    double wall_start, cpu_start;
    bench_mem_phase mem;
} phase_clock;

static phase_clock phase_start(void)
{
    phase_clock c;
    c.mem = bench_mem_phase_start();
    c.cpu_start = bench_cpu_s();
    c.wall_start = bench_now_s();
    return c;
}

static measure phase_end(const phase_clock *c)
{
    measure m;
    m.wall_s = bench_now_s() - c->wall_start;
    m.cpu_s = bench_cpu_s() - c->cpu_start;
    m.peak_mb = bench_mem_phase_peak_mb(&c->mem);
    return m;
}

/* Runs a child tool and measures it; 0 when it exited with status 0. */
static int run_tool(const char *const argv[], const char *stdin_text,
                    const char *const extra_env[], measure *m)
{
    return bench_run_tool(argv, stdin_text, extra_env, &m->wall_s, &m->cpu_s, &m->peak_mb);
}

static void fail(tool_result *t, const char *fmt, ...) MDM_PRINTF(2, 3);
static void fail(tool_result *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->why, sizeof t->why, fmt, ap);
    va_end(ap);
    t->failed = true;
    fprintf(stderr, "bench_%s: %s failed: %s\n", BENCH_NAME, t->tool, t->why);
}

/* ------------------------------------------------------------------ shared context */

typedef struct bench_ctx {
    char dir[1024];              /* temporary directory for every file */
    const char *pg_conninfo;     /* NULL: no PostgreSQL */
    mdm_config *cfg;
    const dataset *data;
} bench_ctx;

static void remove_db_files(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal", ".wal", ".tmp"};
    char p[PATH_MAX + 16];
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

/* Empties and removes a directory, with what DuckDB may have put in it (a spill
 * directory beside its database file). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[PATH_MAX + 256];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_dir(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* ------------------------------------------------------------------ mdm */

/* One run of mdm on a backend: create the table, append every batch, read it all
 * back, check the sum, drop it. */
static void run_mdm(backend_bench *bb, const bench_ctx *ctx)
{
    tool_result *t = &bb->mdm;
    const dataset *d = ctx->data;
    mdm_store *store = NULL;
    mdm_conn *conn = NULL;
    bool created = false;
    char path[PATH_MAX] = "";
    mdm_target target = {.dataset = PG_DATASET};
    if (strcmp(bb->backend, "postgres") == 0) {
        target.conninfo = ctx->pg_conninfo;
    } else {
        snprintf(path, sizeof path, "%s/mdm-%s.db", ctx->dir, bb->backend);
        remove_db_files(path);
        target.path = path;
    }
    int rc = mdm_store_open(&store, bb->backend, &target, ctx->cfg);
    if (!rc)
        rc = mdm_store_checkout(store, &conn);
    bool exists = false;
    if (!rc)
        rc = mdm_conn_dataset_exists(conn, &exists);
    if (!rc && exists) /* left behind by an interrupted run */
        rc = mdm_conn_dataset_drop(conn);
    if (!rc)
        rc = mdm_conn_dataset_create(conn);
    created = rc == 0;
    if (!rc)
        rc = mdm_conn_table_create(conn, TABLE, fields, NFIELDS);
    if (rc) {
        fail(t, "setting up: %s", mdm_error_last()->message);
        goto cleanup;
    }

    phase_clock clock = phase_start();
    if (one_transaction && (rc = mdm_conn_begin(conn))) {
        fail(t, "begin: %s", mdm_error_last()->message);
        goto cleanup;
    }
    for (size_t b = 0; b < d->nbatches; b++) {
        if ((rc = mdm_conn_append(conn, TABLE, d->batches[b]))) {
            fail(t, "append of batch %zu: %s", b, mdm_error_last()->message);
            goto cleanup;
        }
    }
    if (one_transaction && (rc = mdm_conn_commit(conn))) {
        fail(t, "commit: %s", mdm_error_last()->message);
        goto cleanup;
    }
    measure m = phase_end(&clock);
    record(t, PHASE_WRITE, &m);

    tally got = {0, 0};
    mdm_read_request req = {.table = TABLE, .limit = -1};
    clock = phase_start();
    rc = mdm_conn_read(conn, &req, tally_batch, &got);
    m = phase_end(&clock);
    if (rc) {
        fail(t, "read: %s", mdm_error_last()->message);
        goto cleanup;
    }
    if (got.rows != (uint64_t)d->rows || got.checksum != d->checksum) {
        fail(t, "read back %llu rows with checksum %016llx; wrote %lld rows, checksum %016llx",
             (unsigned long long)got.rows, (unsigned long long)got.checksum, d->rows,
             (unsigned long long)d->checksum);
        goto cleanup;
    }
    record(t, PHASE_READ, &m);

cleanup:
    if (conn && created && mdm_conn_dataset_drop(conn) != 0 && !t->failed)
        fail(t, "dropping the dataset: %s", mdm_error_last()->message);
    mdm_store_checkin(store, conn);
    mdm_store_free(store);
    if (path[0])
        remove_db_files(path);
}

/* ------------------------------------------------------------------ sqlite3 shell */

/* The same session settings mdm applies (database.sqlite.* in config). */
static void sqlite_pragmas(char *buf, size_t size, const mdm_config *cfg)
{
    snprintf(buf, size,
             "PRAGMA journal_mode=%s;\nPRAGMA synchronous=%s;\nPRAGMA cache_size=%lld;\n"
             "PRAGMA temp_store=%s;\nPRAGMA mmap_size=%lld;\n",
             mdm_config_str(cfg, "database.sqlite.journal_mode"),
             mdm_config_str(cfg, "database.sqlite.synchronous"),
             (long long)mdm_config_int(cfg, "database.sqlite.cache_size"),
             mdm_config_str(cfg, "database.sqlite.temp_store"),
             (long long)mdm_config_int(cfg, "database.sqlite.mmap_size"));
}

static long long count_rows(const char *command)
{
    char line[128];
    bench_command_line(line, sizeof line, command);
    long long n = -1;
    if (!bench_parse_count(&n, line, 0))
        return -1;
    return n;
}

static void run_sqlite_shell(backend_bench *bb, const bench_ctx *ctx)
{
    tool_result *t = &bb->tool;
    char db[PATH_MAX], pragmas[512], script[PATH_MAX + 1024], command[PATH_MAX + 128];
    measure m;
    snprintf(db, sizeof db, "%s/shell.sqlite", ctx->dir);
    remove_db_files(db);
    sqlite_pragmas(pragmas, sizeof pragmas, ctx->cfg);
    const char *const argv[] = {"sqlite3", "-batch", "-bail", db, NULL};

    snprintf(script, sizeof script,
             "%sCREATE TABLE " TABLE "(ts TIMESTAMP, id INTEGER, amount INTEGER, user TEXT, "
             "category TEXT);\n", pragmas);
    if (run_tool(argv, script, NULL, &m) != 0) {
        fail(t, "creating the table failed");
        goto cleanup;
    }
    snprintf(script, sizeof script, "%s.mode csv\n.import --skip 1 \"%s\" " TABLE "\n", pragmas,
             ctx->data->csv_path);
    if (run_tool(argv, script, NULL, &m) != 0) {
        fail(t, ".import failed");
        goto cleanup;
    }
    snprintf(command, sizeof command, "sqlite3 -batch '%s' 'SELECT count(*) FROM " TABLE "'", db);
    long long n = count_rows(command);
    if (n != ctx->data->rows) {
        fail(t, ".import loaded %lld rows, expected %lld", n, ctx->data->rows);
        goto cleanup;
    }
    record(t, PHASE_WRITE, &m);

    snprintf(script, sizeof script, "%s.mode csv\nSELECT * FROM " TABLE ";\n", pragmas);
    if (run_tool(argv, script, NULL, &m) != 0) {
        fail(t, "SELECT * failed");
        goto cleanup;
    }
    record(t, PHASE_READ, &m);
cleanup:
    remove_db_files(db);
}

/* ------------------------------------------------------------------ DuckDB C API */

static bool duck_query(tool_result *t, duckdb_connection con, const char *sql)
{
    duckdb_result result;
    if (duckdb_query(con, sql, &result) == DuckDBError) {
        fail(t, "%s: %s", sql, duckdb_result_error(&result));
        duckdb_destroy_result(&result);
        return false;
    }
    duckdb_destroy_result(&result);
    return true;
}

/* Streams SELECT * through the C API, folding every value as mdm's reader does. */
static bool duck_read_all(tool_result *t, duckdb_connection con, tally *got)
{
    bool ok = false;
    duckdb_prepared_statement stmt = NULL;
    duckdb_pending_result pending = NULL;
    duckdb_result result;
    bool have_result = false;
    if (duckdb_prepare(con, "SELECT * FROM " TABLE, &stmt) == DuckDBError) {
        fail(t, "prepare: %s", duckdb_prepare_error(stmt));
        goto cleanup;
    }
    if (duckdb_pending_prepared_streaming(stmt, &pending) == DuckDBError) {
        fail(t, "pending: %s", duckdb_pending_error(pending));
        goto cleanup;
    }
    if (duckdb_execute_pending(pending, &result) == DuckDBError) {
        fail(t, "execute: %s", duckdb_result_error(&result));
        duckdb_destroy_result(&result);
        goto cleanup;
    }
    have_result = true;
    idx_t ncols = duckdb_column_count(&result);
    duckdb_type types[NFIELDS];
    if (ncols != NFIELDS) {
        fail(t, "SELECT * answered %llu columns", (unsigned long long)ncols);
        goto cleanup;
    }
    for (idx_t c = 0; c < ncols; c++)
        types[c] = duckdb_column_type(&result, c);
    duckdb_data_chunk chunk;
    while ((chunk = duckdb_fetch_chunk(result)) != NULL) {
        idx_t n = duckdb_data_chunk_get_size(chunk);
        for (idx_t c = 0; c < ncols; c++) {
            duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, c);
            uint64_t *validity = duckdb_vector_get_validity(vec);
            void *data = duckdb_vector_get_data(vec);
            for (idx_t r = 0; r < n; r++) {
                if (validity && !duckdb_validity_row_is_valid(validity, r)) {
                    tally_null(got, c);
                } else if (types[c] == DUCKDB_TYPE_VARCHAR) {
                    duckdb_string_t *s = &((duckdb_string_t *)data)[r];
                    tally_text(got, c, duckdb_string_t_data(s), duckdb_string_t_length(*s));
                } else {
                    tally_int64(got, c, ((const int64_t *)data)[r]);
                }
            }
        }
        got->rows += n;
        duckdb_destroy_data_chunk(&chunk);
    }
    ok = true;
cleanup:
    if (have_result)
        duckdb_destroy_result(&result);
    duckdb_destroy_pending(&pending);
    duckdb_destroy_prepare(&stmt);
    return ok;
}

static void run_duckdb_api(backend_bench *bb, const bench_ctx *ctx)
{
    tool_result *t = &bb->tool;
    char db[PATH_MAX], sql[PATH_MAX + 128];
    duckdb_database database = NULL;
    duckdb_connection con = NULL;
    snprintf(db, sizeof db, "%s/api.duckdb", ctx->dir);
    remove_db_files(db);
    char *open_error = NULL;
    if (duckdb_open_ext(db, &database, NULL, &open_error) == DuckDBError) {
        fail(t, "open %s: %s", db, open_error ? open_error : "unknown error");
        duckdb_free(open_error);
        goto cleanup;
    }
    if (duckdb_connect(database, &con) == DuckDBError) {
        fail(t, "connect to %s failed", db);
        goto cleanup;
    }
    /* read_csv infers TIMESTAMP, BIGINT, BIGINT, VARCHAR, VARCHAR from the file. */
    snprintf(sql, sizeof sql, "CREATE TABLE " TABLE " AS SELECT * FROM read_csv('%s')",
             ctx->data->csv_path);
    phase_clock clock = phase_start();
    if (!duck_query(t, con, sql))
        goto cleanup;
    measure m = phase_end(&clock);
    record(t, PHASE_WRITE, &m);

    tally got = {0, 0};
    clock = phase_start();
    if (!duck_read_all(t, con, &got))
        goto cleanup;
    m = phase_end(&clock);
    if (got.rows != (uint64_t)ctx->data->rows || got.checksum != ctx->data->checksum) {
        fail(t, "read back %llu rows with checksum %016llx; the CSV has %lld rows, checksum "
             "%016llx", (unsigned long long)got.rows, (unsigned long long)got.checksum,
             ctx->data->rows, (unsigned long long)ctx->data->checksum);
        goto cleanup;
    }
    record(t, PHASE_READ, &m);
cleanup:
    if (con)
        duckdb_disconnect(&con);
    if (database)
        duckdb_close(&database);
    remove_db_files(db);
}

/* ------------------------------------------------------------------ psql */

static bool psql_script(tool_result *t, const char *script, measure *m)
{
    const char *const argv[] = {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", NULL};
    const char *const env[] = {"PGOPTIONS=-c client_min_messages=warning", NULL};
    int status = run_tool(argv, script, env, m);
    if (status != 0) {
        fail(t, "psql exited with %d running: %s", status, script);
        return false;
    }
    return true;
}

static void run_psql(backend_bench *bb, const bench_ctx *ctx)
{
    tool_result *t = &bb->tool;
    char script[PATH_MAX + 512];
    measure m;
    if (!psql_script(t, "DROP SCHEMA IF EXISTS " PSQL_SCHEMA " CASCADE;\n"
                        "CREATE SCHEMA " PSQL_SCHEMA ";\n"
                        "CREATE TABLE " PSQL_SCHEMA "." TABLE "(ts timestamp, id bigint, "
                        "amount bigint, \"user\" text, category text);\n",
                     &m))
        return;
    snprintf(script, sizeof script,
             "\\copy " PSQL_SCHEMA "." TABLE " FROM '%s' WITH (FORMAT csv, HEADER true)\n",
             ctx->data->csv_path);
    if (!psql_script(t, script, &m))
        goto cleanup;
    long long n = count_rows("psql -X -A -t -c 'SELECT count(*) FROM " PSQL_SCHEMA "." TABLE "'");
    if (n != ctx->data->rows) {
        fail(t, "\\copy loaded %lld rows, expected %lld", n, ctx->data->rows);
        goto cleanup;
    }
    record(t, PHASE_WRITE, &m);
    if (!psql_script(t, "\\copy " PSQL_SCHEMA "." TABLE " TO STDOUT WITH (FORMAT csv)\n", &m))
        goto cleanup;
    record(t, PHASE_READ, &m);
cleanup:
    psql_script(t, "DROP SCHEMA IF EXISTS " PSQL_SCHEMA " CASCADE;\n", &m);
}

/* psql reads the server from the libpq environment, taken from scripts/test-postgres'
 * variables, so that the password never appears on a command line. */
static bool psql_environment(void)
{
    static const char *const names[][2] = {
        {"MDM_TEST_PG_HOST", "PGHOST"},         {"MDM_TEST_PG_PORT", "PGPORT"},
        {"MDM_TEST_PG_USER", "PGUSER"},         {"MDM_TEST_PG_PASSWORD", "PGPASSWORD"},
        {"MDM_TEST_PG_DATABASE", "PGDATABASE"},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = getenv(names[i][0]);
        if (!v) {
            fprintf(stderr, "bench_%s: %s is not set; psql cannot reach the server\n",
                    BENCH_NAME, names[i][0]);
            return false;
        }
        setenv(names[i][1], v, 1);
    }
    return true;
}

/* ------------------------------------------------------------------ report */

static void report_tool(bench_report *rep, const backend_bench *bb, const tool_result *t,
                        long long rows)
{
    static const char *const case_names[NPHASES] = {"append", "read"};
    for (int p = 0; p < NPHASES; p++) {
        int n = t->nruns[p];
        if (n == 0)
            continue;
        double wall = bench_median(t->wall_s[p], (size_t)n);
        char runs[16], nrows[32];
        snprintf(runs, sizeof runs, "%d", n);
        snprintf(nrows, sizeof nrows, "%lld", rows);
        bench_report_add(rep, case_names[p], t->tool, "rows_per_s", (double)rows / wall, "rows/s",
                         "backend", bb->backend, "rows", nrows, "runs", runs, NULL);
        bench_report_add(rep, case_names[p], t->tool, "wall_s", wall, "s", "backend",
                         bb->backend, "rows", nrows, "runs", runs, NULL);
        bench_report_add(rep, case_names[p], t->tool, "cpu_s",
                         bench_median(t->cpu_s[p], (size_t)n), "s", "backend", bb->backend,
                         "rows", nrows, "runs", runs, NULL);
        bench_report_add(rep, case_names[p], t->tool, "peak_rss_mb",
                         bench_max(t->peak_mb[p], (size_t)n), "MiB", "backend", bb->backend,
                         "rows", nrows, "runs", runs, NULL);
    }
}

static void report_ratio(bench_report *rep, const backend_bench *bb)
{
    static const char *const case_names[NPHASES] = {"append", "read"};
    for (int p = 0; p < NPHASES; p++) {
        if (bb->mdm.nruns[p] == 0 || bb->tool.nruns[p] == 0)
            continue;
        double mdm_s = bench_median(bb->mdm.wall_s[p], (size_t)bb->mdm.nruns[p]);
        double tool_s = bench_median(bb->tool.wall_s[p], (size_t)bb->tool.nruns[p]);
        char tool[64];
        snprintf(tool, sizeof tool, "%s/%s", bb->mdm.tool, bb->tool.tool);
        /* Throughput ratio: above 1 means mdm moved the rows faster. */
        bench_report_add(rep, case_names[p], tool, "ratio", tool_s / mdm_s, "x", "backend",
                         bb->backend, NULL);
    }
}

static void progress(const backend_bench *bb, const tool_result *t, int run, long long rows)
{
    if (t->failed)
        return;
    fprintf(stderr, "  run %d  %-8s  %-14s", run + 1, bb->backend, t->tool);
    static const char *const label[NPHASES] = {"write", "read"};
    for (int p = 0; p < NPHASES; p++)
        if (t->nruns[p] > run)
            fprintf(stderr, "  %s %6.3f s (cpu %6.3f) %6.3f M rows/s %6.1f MiB", label[p],
                    t->wall_s[p][run], t->cpu_s[p][run], (double)rows / t->wall_s[p][run] / 1e6,
                    t->peak_mb[p][run]);
    fputc('\n', stderr);
}

int main(int argc, char **argv)
{
    const bench_flag flags[] = {
        {"--one-transaction", "mdm appends every batch of a run in one transaction "
                              "(default: one transaction per append call)", &one_transaction},
        {NULL, NULL, NULL},
    };
    bench_options opt = bench_parse_options(argc, argv, BENCH_NAME, DEFAULT_ROWS, flags);
    int status = 0;
    bench_ctx ctx = {.pg_conninfo = getenv("MDM_TEST_PG_CONNINFO")};
    dataset data;
    memset(&data, 0, sizeof data);
    bench_report rep;
    bench_report_init(&rep, BENCH_NAME);
    static backend_bench benches[] = {
        {.backend = "sqlite", .mdm.tool = "mdm-sqlite", .tool.tool = "sqlite3-shell"},
        {.backend = "duckdb", .mdm.tool = "mdm-duckdb", .tool.tool = "duckdb-c-api"},
        {.backend = "postgres", .mdm.tool = "mdm-postgres", .tool.tool = "psql"},
    };
    const size_t nbenches = sizeof benches / sizeof *benches;

    const char *tmp = getenv("TMPDIR");
    snprintf(ctx.dir, sizeof ctx.dir, "%s/mdm-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(ctx.dir)) {
        fprintf(stderr, "bench_%s: cannot create a temporary directory: %s\n", BENCH_NAME,
                strerror(errno));
        return 1;
    }
    if (mdm_config_defaults(&ctx.cfg, ctx.dir) != 0) {
        fprintf(stderr, "bench_%s: %s\n", BENCH_NAME, mdm_error_last()->message);
        status = 1;
        goto cleanup;
    }
    for (size_t i = 0; i < nbenches; i++)
        benches[i].enabled = true;
    if (!ctx.pg_conninfo) {
        benches[2].enabled = false;
        fprintf(stderr, "bench_%s: MDM_TEST_PG_CONNINFO is not set: PostgreSQL is skipped "
                "(scripts/bench runs it under scripts/test-postgres)\n", BENCH_NAME);
    } else if (!psql_environment()) {
        fail(&benches[2].tool, "the MDM_TEST_PG_* variables are incomplete");
    }

    /* What the shell tools take doing nothing, so that their peaks count, as mdm's do,
     * only the memory the work added. */
    measure idle;
    const char *const sqlite_idle[] = {"sqlite3", "-batch", ":memory:", NULL};
    if (run_tool(sqlite_idle, "SELECT 1;\n", NULL, &idle) != 0)
        fail(&benches[0].tool, "the sqlite3 shell does not run");
    benches[0].tool.idle_mb = idle.peak_mb;
    if (benches[2].enabled && !benches[2].tool.failed &&
        psql_script(&benches[2].tool, "SELECT 1;\n", &idle))
        benches[2].tool.idle_mb = idle.peak_mb;

    char sqlite_version[128], psql_version[128];
    bench_command_line(sqlite_version, sizeof sqlite_version, "sqlite3 --version");
    bench_command_line(psql_version, sizeof psql_version, "psql --version");
    sqlite_version[strcspn(sqlite_version, " ")] = '\0';
    fprintf(stderr,
            "bench_%s: %lld rows in batches of %d (%s), %d runs; SQLite %s (shell %s), "
            "DuckDB %s, psql: %s\n", BENCH_NAME, opt.rows, BATCH_ROWS,
            one_transaction ? "all in one transaction" : "one transaction each", opt.runs,
            mdm_backend_library_version("sqlite"), sqlite_version, duckdb_library_version(),
            psql_version[0] ? psql_version : "not found");

    double gen_start = bench_now_s();
    if (dataset_build(&data, opt.rows, ctx.dir) != 0) {
        fprintf(stderr, "bench_%s: preparing the data: %s\n", BENCH_NAME,
                mdm_error_last()->message);
        status = 1;
        goto cleanup;
    }
    ctx.data = &data;
    fprintf(stderr, "bench_%s: data prepared in %.1f s (not timed below); %.0f MiB resident\n",
            BENCH_NAME, bench_now_s() - gen_start, bench_rss_mb());

    for (int run = 0; run < opt.runs; run++) {
        for (size_t i = 0; i < nbenches; i++) {
            backend_bench *bb = &benches[i];
            if (!bb->enabled)
                continue;
            /* Alternate who goes first, so neither always meets a warm or a busy system. */
            for (int k = 0; k < 2; k++) {
                bool mdm_turn = (k == 0) == (run % 2 == 0);
                tool_result *t = mdm_turn ? &bb->mdm : &bb->tool;
                if (t->failed)
                    continue;
                if (mdm_turn)
                    run_mdm(bb, &ctx);
                else if (strcmp(bb->backend, "sqlite") == 0)
                    run_sqlite_shell(bb, &ctx);
                else if (strcmp(bb->backend, "duckdb") == 0)
                    run_duckdb_api(bb, &ctx);
                else
                    run_psql(bb, &ctx);
                progress(bb, t, run, opt.rows);
            }
        }
    }

    for (size_t i = 0; i < nbenches; i++) {
        const backend_bench *bb = &benches[i];
        if (!bb->enabled)
            continue;
        report_tool(&rep, bb, &bb->mdm, opt.rows);
        report_tool(&rep, bb, &bb->tool, opt.rows);
        report_ratio(&rep, bb);
    }
    bench_report_print(&rep);
    if (bench_report_write(&rep, opt.out) != 0)
        status = 1;
    for (size_t i = 0; i < nbenches; i++) {
        const backend_bench *bb = &benches[i];
        if (!bb->enabled)
            continue;
        for (int k = 0; k < 2; k++) {
            const tool_result *t = k ? &bb->tool : &bb->mdm;
            if (t->failed) {
                fprintf(stderr, "bench_%s: %s did not finish: %s\n", BENCH_NAME, t->tool, t->why);
                status = 1;
            }
        }
    }

cleanup:
    dataset_free(&data);
    bench_report_free(&rep);
    mdm_config_free(ctx.cfg);
    remove_dir(ctx.dir);
    return status;
}
