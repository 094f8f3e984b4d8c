/* Registration and export of a real CSV file through the mdm command line, against the
 * tools a user would otherwise load it with, in the same run, on the same file:
 *
 *   sqlite      mdm-sqlite      vs  sqlite3-shell (.import --csv --skip 1 into a typed table)
 *                               vs  pandas (read_csv in batch_size chunks + to_sql into
 *                                   SQLite through SQLAlchemy: how the Python mdm loads)
 *   duckdb      mdm-duckdb      vs  duckdb-read_csv (CREATE TABLE AS read_csv, a fresh file)
 *   postgresql  mdm-postgresql  vs  psql (\copy into a typed table; when MDM_TEST_PG_CONNINFO
 *                                   is set, as scripts/bench does through scripts/test-postgres)
 *   export      `mdm dataset export -f csv -c none` / `-f parquet` of each registered
 *               dataset vs DuckDB's COPY TO of the same rows
 *
 * Data: flights-3m.parquet of the npm package vega-datasets (scripts/fetch-samples),
 * converted once to CSV with DuckDB (cached as bench/results/ingest-flights-ROWS.csv;
 * --rows cuts it). Every tool, mdm included, runs as a child process: wall time, CPU time
 * and the child's own peak RSS (bench_run_tool). DuckDB's side runs in a child too: this
 * program re-executed with --duckdb-child, so its memory is its own.
 *
 * The mdm binary is <build>/mdm beside <build>/bench/bench_ingest (brought up to date with
 * `cmake --build <build> --target mdm` first), or --mdm PATH. */
#include "bench_util.h"

#include <dirent.h>
#include <duckdb.h>
#include <libgen.h>

#define BENCH_NAME "ingest"
#define DEFAULT_ROWS 3000000
#define DATASET "flights"
#define TABLE "data"
#define PSQL_SCHEMA "bench_ingest_psql"
#define MDM_PG_SCHEMA "mdm_" DATASET /* database.postgresql.database_prefix's default */
#define PANDAS_CHUNK 10000 /* performance.batch_size's default, the Python mdm's chunk */

/* The flights file's columns as mdm infers them, for the tools that need a typed table. */
#define FLIGHTS_COLUMNS_SQLITE \
    "(\"date\" TIMESTAMP, delay INTEGER, distance INTEGER, origin TEXT, destination TEXT)"
#define FLIGHTS_COLUMNS_PG \
    "(\"date\" timestamp, delay bigint, distance bigint, origin text, destination text)"
#define FLIGHTS_HEADER "date,delay,distance,origin,destination"

/* One tool's measurements of one case, one slot per run. */
typedef struct series {
    const char *case_name; /* "ingest", "export-csv", "export-parquet" */
    const char *tool;
    const char *backend;
    double *wall_s;
    double *cpu_s;
    double *peak_mb;
    int nruns;
    bool failed;
    char why[256];
} series;

typedef struct bench_ctx {
    const char *mdm;   /* the mdm binary */
    const char *self;  /* this program, for --duckdb-child */
    char dir[PATH_MAX]; /* temporary directory for every database and export */
    char csv[PATH_MAX];
    long long rows;
    int runs;
    bool pg;
    bool pandas;
    char duck_source[PATH_MAX + 32]; /* a DuckDB file holding the rows, for COPY TO */
    char pg_env[5][320];        /* MDM_DATABASE_POSTGRESQL_* for mdm */
} bench_ctx;

static void series_init(series *s, const char *case_name, const char *tool, const char *backend,
                        int runs)
{
    memset(s, 0, sizeof *s);
    s->case_name = case_name;
    s->tool = tool;
    s->backend = backend;
    s->wall_s = calloc((size_t)runs, sizeof *s->wall_s);
    s->cpu_s = calloc((size_t)runs, sizeof *s->cpu_s);
    s->peak_mb = calloc((size_t)runs, sizeof *s->peak_mb);
    if (!s->wall_s || !s->cpu_s || !s->peak_mb) {
        fprintf(stderr, "bench_%s: out of memory\n", BENCH_NAME);
        exit(1);
    }
}

static void series_free(series *s)
{
    free(s->wall_s);
    free(s->cpu_s);
    free(s->peak_mb);
}

static void fail(series *s, const char *fmt, ...) MDM_PRINTF(2, 3);
static void fail(series *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
    s->failed = true;
    fprintf(stderr, "bench_%s: %s %s (%s): %s\n", BENCH_NAME, s->case_name, s->tool, s->backend,
            s->why);
}

/* Runs a child; on success adds its numbers to `s` and prints them. */
static bool measure_tool(series *s, const char *const argv[], const char *stdin_text,
                         const char *const env[])
{
    double wall = 0, cpu = 0, peak = 0;
    int status = bench_run_tool(argv, stdin_text, env, &wall, &cpu, &peak);
    if (status != 0) {
        fail(s, "%s exited with status %d", argv[0], status);
        return false;
    }
    s->wall_s[s->nruns] = wall;
    s->cpu_s[s->nruns] = cpu;
    s->peak_mb[s->nruns] = peak;
    s->nruns++;
    fprintf(stderr, "  %-14s %-11s %-16s %7.3f s (cpu %6.3f)  %6.1f MiB\n", s->case_name,
            s->backend, s->tool, wall, cpu, peak);
    return true;
}

/* Runs a child whose time does not count (setup, checks). */
static int run_untimed(const char *const argv[], const char *stdin_text, const char *const env[])
{
    double wall, cpu, peak;
    return bench_run_tool(argv, stdin_text, env, &wall, &cpu, &peak);
}

/* ------------------------------------------------------------------ files */

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            char child[PATH_MAX];
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                snprintf(child, sizeof child, "%s/%s", path, e->d_name);
                remove_tree(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Lines in a file (-1 when it cannot be read): the exports are checked against it. */
static long long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    static char buf[1 << 16];
    long long n = 0;
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < got; i++)
            n += buf[i] == '\n';
    fclose(f);
    return n;
}

/* A SQL string literal of `text` (quotes doubled) into buf. */
static void sql_literal(char *buf, size_t size, const char *text)
{
    size_t o = 0;
    if (o + 1 < size)
        buf[o++] = '\'';
    for (const char *p = text; *p && o + 3 < size; p++) {
        if (*p == '\'')
            buf[o++] = '\'';
        buf[o++] = *p;
    }
    if (o + 1 < size)
        buf[o++] = '\'';
    buf[o] = '\0';
}

/* ------------------------------------------------------------------ DuckDB */

static int duck_run(const char *db_path, const char *sql, long long *count)
{
    duckdb_database db = NULL;
    duckdb_connection con = NULL;
    duckdb_result result;
    int rc = 1;
    if (duckdb_open(db_path, &db) == DuckDBError) {
        fprintf(stderr, "bench_%s: cannot open DuckDB %s\n", BENCH_NAME, db_path ? db_path : ":memory:");
        return 1;
    }
    if (duckdb_connect(db, &con) == DuckDBError) {
        fprintf(stderr, "bench_%s: cannot connect to DuckDB %s\n", BENCH_NAME, db_path);
        goto cleanup;
    }
    if (duckdb_query(con, sql, &result) == DuckDBError) {
        fprintf(stderr, "bench_%s: DuckDB: %s in: %s\n", BENCH_NAME, duckdb_result_error(&result), sql);
        duckdb_destroy_result(&result);
        goto cleanup;
    }
    if (count)
        *count = duckdb_value_int64(&result, 0, 0);
    duckdb_destroy_result(&result);
    rc = 0;
cleanup:
    duckdb_disconnect(&con);
    duckdb_close(&db);
    return rc;
}

/* `bench_ingest --duckdb-child DB SQL`: DuckDB's side of a comparison, in a process of its
 * own so that its wall time includes opening the database, like mdm's, and its peak
 * memory is its own. */
static int duckdb_child_main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_%s --duckdb-child DB SQL\n", BENCH_NAME);
        return 2;
    }
    return duck_run(argv[2], argv[3], NULL);
}

/* Converts flights-3m.parquet to CSV once (cached by row count); fills ctx->rows. */
static int prepare_csv(bench_ctx *ctx, const char *repo, long long want_rows)
{
    char command[PATH_MAX + 64], data_dir[PATH_MAX], parquet[PATH_MAX + 32];
    char lit[2 * PATH_MAX + 8], sql[4 * PATH_MAX + 256];
    snprintf(command, sizeof command, "'%s/scripts/fetch-samples'", repo);
    bench_command_line(data_dir, sizeof data_dir, command);
    if (!data_dir[0]) {
        fprintf(stderr, "bench_%s: scripts/fetch-samples printed no directory\n", BENCH_NAME);
        return -1;
    }
    snprintf(parquet, sizeof parquet, "%s/flights-3m.parquet", data_dir);
    sql_literal(lit, sizeof lit, parquet);
    long long total = 0;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM read_parquet(%s)", lit);
    if (duck_run(NULL, sql, &total) != 0)
        return -1;
    ctx->rows = want_rows < total ? want_rows : total;
    if ((mkdir("bench", 0777) != 0 && errno != EEXIST) ||
        (mkdir("bench/results", 0777) != 0 && errno != EEXIST)) {
        fprintf(stderr, "bench_%s: cannot create bench/results: %s\n", BENCH_NAME, strerror(errno));
        return -1;
    }
    char *cwd = getcwd(NULL, 0);
    snprintf(ctx->csv, sizeof ctx->csv, "%s/bench/results/ingest-flights-%lld.csv",
             cwd ? cwd : ".", ctx->rows);
    free(cwd);
    if (count_lines(ctx->csv) == ctx->rows + 1)
        return 0;
    char tmp[PATH_MAX + 8], tmp_lit[2 * PATH_MAX + 24];
    snprintf(tmp, sizeof tmp, "%s.tmp", ctx->csv);
    sql_literal(tmp_lit, sizeof tmp_lit, tmp);
    fprintf(stderr, "bench_%s: converting %s (%lld rows) to %s\n", BENCH_NAME, parquet, ctx->rows,
            ctx->csv);
    /* Ordered by the file's own order so that a cut (--rows) is the first rows. */
    snprintf(sql, sizeof sql,
             "SET preserve_insertion_order = true; COPY (SELECT * FROM read_parquet(%s) LIMIT %lld) "
             "TO %s (HEADER)",
             lit, ctx->rows, tmp_lit);
    if (duck_run(NULL, sql, NULL) != 0)
        return -1;
    if (rename(tmp, ctx->csv) != 0) {
        fprintf(stderr, "bench_%s: cannot rename %s: %s\n", BENCH_NAME, tmp, strerror(errno));
        return -1;
    }
    char header[256] = "";
    FILE *f = fopen(ctx->csv, "r");
    if (f) {
        if (!fgets(header, sizeof header, f))
            header[0] = '\0';
        fclose(f);
    }
    header[strcspn(header, "\n")] = '\0';
    if (strcmp(header, FLIGHTS_HEADER) != 0) {
        fprintf(stderr, "bench_%s: %s starts with '%s', expected '%s' (the typed tables assume it)\n",
                BENCH_NAME, ctx->csv, header, FLIGHTS_HEADER);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ the tools */

static void mdm_env(const bench_ctx *ctx, const char *home, char *home_var, size_t size,
                    const char *env[7])
{
    snprintf(home_var, size, "MDM_HOME_DIR=%s", home);
    size_t n = 0;
    env[n++] = home_var;
    if (ctx->pg)
        for (size_t i = 0; i < 5; i++)
            env[n++] = ctx->pg_env[i];
    env[n] = NULL;
}

static const char *const psql_argv[] = {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", NULL};
static const char *const psql_env[] = {"PGOPTIONS=-c client_min_messages=warning", NULL};

/* `mdm dataset register` into a fresh home directory <dir>/home-<backend>. */
static void run_mdm_register(series *s, const bench_ctx *ctx)
{
    char home[PATH_MAX + 32], home_var[PATH_MAX + 64];
    const char *env[7];
    snprintf(home, sizeof home, "%s/home-%s", ctx->dir, s->backend);
    remove_tree(home);
    /* The datasets directory exists before mdm starts: at this commit a PostgreSQL
     * registration creates <datasets>/<name> with a plain mkdir (write_statistics_file
     * in src/dataset/register.c) and fails after loading when <datasets> is missing; the
     * file backends create it themselves. */
    char datasets[PATH_MAX + 48];
    snprintf(datasets, sizeof datasets, "%s/datasets", home);
    if (mkdir(home, 0777) != 0 || mkdir(datasets, 0777) != 0) {
        fail(s, "cannot create %s: %s", datasets, strerror(errno));
        return;
    }
    if (ctx->pg && strcmp(s->backend, "postgresql") == 0 &&
        run_untimed(psql_argv, "DROP SCHEMA IF EXISTS " MDM_PG_SCHEMA " CASCADE;\n", psql_env) != 0) {
        /* The previous run's schema, which a fresh home does not know: mdm would drop it
         * as an interrupted registration's leftovers, inside the timed run. */
        fail(s, "dropping %s failed", MDM_PG_SCHEMA);
        return;
    }
    mdm_env(ctx, home, home_var, sizeof home_var, env);
    const char *const argv[] = {ctx->mdm, "dataset", "register", DATASET, ctx->csv, "--backend",
                                s->backend, "--no-features", "--force", NULL};
    measure_tool(s, argv, NULL, env);
}

static long long sqlite_count(const char *db)
{
    char command[PATH_MAX + 128], line[64];
    snprintf(command, sizeof command, "sqlite3 -batch '%s' 'SELECT count(*) FROM " TABLE "'", db);
    bench_command_line(line, sizeof line, command);
    long long n = -1;
    return bench_parse_count(&n, line, 0) ? n : -1;
}

/* The PRAGMAs mdm applies to its SQLite connections (SPEC §1 defaults). */
#define SQLITE_PRAGMAS                                                                        \
    "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\nPRAGMA cache_size=-64000;\n"        \
    "PRAGMA temp_store=MEMORY;\nPRAGMA mmap_size=268435456;\n"

static void run_sqlite_shell(series *s, const bench_ctx *ctx)
{
    char db[PATH_MAX + 32], script[PATH_MAX + 512];
    snprintf(db, sizeof db, "%s/shell.sqlite", ctx->dir);
    remove_tree(db);
    const char *const argv[] = {"sqlite3", "-batch", "-bail", db, NULL};
    snprintf(script, sizeof script,
             SQLITE_PRAGMAS "CREATE TABLE " TABLE FLIGHTS_COLUMNS_SQLITE ";\n"
                            ".import --csv --skip 1 '%s' " TABLE "\n",
             ctx->csv);
    if (!measure_tool(s, argv, script, NULL))
        return;
    long long n = sqlite_count(db);
    if (n != ctx->rows)
        fail(s, ".import loaded %lld rows, expected %lld", n, ctx->rows);
    remove_tree(db);
}

static const char pandas_script[] =
    "import sys\n"
    "import pandas as pd\n"
    "from sqlalchemy import create_engine\n"
    "csv, db, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
    "engine = create_engine('sqlite:///' + db)\n"
    "rows = 0\n"
    "for i, df in enumerate(pd.read_csv(csv, chunksize=chunk, parse_dates=['date'])):\n"
    "    df.to_sql('" TABLE "', engine, if_exists='replace' if i == 0 else 'append', index=False)\n"
    "    rows += len(df)\n"
    "engine.dispose()\n"
    "print(rows)\n";

static bool pandas_available(void)
{
    char line[128];
    bench_command_line(line, sizeof line,
                       "/usr/bin/python3 -c 'import pandas, sqlalchemy; print(\"ok\", "
                       "pandas.__version__, sqlalchemy.__version__)' 2>/dev/null");
    if (strncmp(line, "ok ", 3) != 0)
        return false;
    fprintf(stderr, "bench_%s: pandas %s (Debian python3-pandas / python3-sqlalchemy)\n",
            BENCH_NAME, line + 3);
    return true;
}

static void run_pandas(series *s, const bench_ctx *ctx)
{
    char db[PATH_MAX + 32], chunk[32];
    snprintf(db, sizeof db, "%s/pandas.sqlite", ctx->dir);
    snprintf(chunk, sizeof chunk, "%d", PANDAS_CHUNK);
    remove_tree(db);
    const char *const argv[] = {"/usr/bin/python3", "-c", pandas_script, ctx->csv, db, chunk, NULL};
    if (!measure_tool(s, argv, NULL, NULL))
        return;
    long long n = sqlite_count(db);
    if (n != ctx->rows)
        fail(s, "to_sql loaded %lld rows, expected %lld", n, ctx->rows);
    remove_tree(db);
}

static void run_duckdb_csv(series *s, const bench_ctx *ctx)
{
    char db[PATH_MAX + 32], lit[2 * PATH_MAX + 8], sql[2 * PATH_MAX + 128];
    snprintf(db, sizeof db, "%s/read_csv.duckdb", ctx->dir);
    remove_tree(db);
    sql_literal(lit, sizeof lit, ctx->csv);
    snprintf(sql, sizeof sql, "CREATE TABLE " TABLE " AS SELECT * FROM read_csv(%s)", lit);
    const char *const argv[] = {ctx->self, "--duckdb-child", db, sql, NULL};
    if (!measure_tool(s, argv, NULL, NULL))
        return;
    long long n = -1;
    if (duck_run(db, "SELECT count(*) FROM " TABLE, &n) != 0 || n != ctx->rows)
        fail(s, "read_csv loaded %lld rows, expected %lld", n, ctx->rows);
    remove_tree(db);
}


static void run_psql(series *s, const bench_ctx *ctx)
{
    char script[PATH_MAX + 512], line[64];
    if (run_untimed(psql_argv,
                    "DROP SCHEMA IF EXISTS " PSQL_SCHEMA " CASCADE;\nCREATE SCHEMA " PSQL_SCHEMA
                    ";\nCREATE TABLE " PSQL_SCHEMA "." TABLE FLIGHTS_COLUMNS_PG ";\n",
                    psql_env) != 0) {
        fail(s, "creating the table failed");
        return;
    }
    snprintf(script, sizeof script,
             "\\copy " PSQL_SCHEMA "." TABLE " FROM '%s' WITH (FORMAT csv, HEADER true)\n", ctx->csv);
    if (measure_tool(s, psql_argv, script, psql_env)) {
        bench_command_line(line, sizeof line,
                           "psql -X -A -t -c 'SELECT count(*) FROM " PSQL_SCHEMA "." TABLE "'");
        long long n = -1;
        if (!bench_parse_count(&n, line, 0) || n != ctx->rows)
            fail(s, "\\copy loaded %lld rows, expected %lld", n, ctx->rows);
    }
    run_untimed(psql_argv, "DROP SCHEMA IF EXISTS " PSQL_SCHEMA " CASCADE;\n", psql_env);
}

/* psql reads the server from the libpq environment and mdm from its own config
 * variables, both taken from scripts/test-postgres' MDM_TEST_PG_*. */
static bool pg_environment(bench_ctx *ctx)
{
    static const char *const names[][3] = {
        {"MDM_TEST_PG_HOST", "PGHOST", "MDM_DATABASE_POSTGRESQL_HOST"},
        {"MDM_TEST_PG_PORT", "PGPORT", "MDM_DATABASE_POSTGRESQL_PORT"},
        {"MDM_TEST_PG_USER", "PGUSER", "MDM_DATABASE_POSTGRESQL_USER"},
        {"MDM_TEST_PG_PASSWORD", "PGPASSWORD", "MDM_DATABASE_POSTGRESQL_PASSWORD"},
        {"MDM_TEST_PG_DATABASE", "PGDATABASE", "MDM_DATABASE_POSTGRESQL_DATABASE"},
    };
    for (size_t i = 0; i < 5; i++) {
        const char *v = getenv(names[i][0]);
        if (!v) {
            fprintf(stderr, "bench_%s: %s is not set; PostgreSQL is skipped\n", BENCH_NAME,
                    names[i][0]);
            return false;
        }
        setenv(names[i][1], v, 1);
        snprintf(ctx->pg_env[i], sizeof ctx->pg_env[i], "%s=%s", names[i][2], v);
    }
    return true;
}

/* ------------------------------------------------------------------ export */

static void check_csv_export(series *s, const char *path, const bench_ctx *ctx)
{
    long long lines = count_lines(path);
    if (lines != ctx->rows + 1)
        fail(s, "%s has %lld lines, expected %lld", path, lines, ctx->rows + 1);
}

static void run_mdm_export(series *s, const bench_ctx *ctx, bool parquet)
{
    char home[PATH_MAX + 32], home_var[PATH_MAX + 64], out[PATH_MAX + 32], file[PATH_MAX + 64];
    const char *env[7];
    snprintf(home, sizeof home, "%s/home-%s", ctx->dir, s->backend);
    snprintf(out, sizeof out, "%s/export-mdm", ctx->dir);
    remove_tree(out);
    mkdir(out, 0777);
    mdm_env(ctx, home, home_var, sizeof home_var, env);
    const char *const argv[] = {ctx->mdm, "dataset", "export", DATASET, "-o", out, "-f",
                                parquet ? "parquet" : "csv", "-c", parquet ? "snappy" : "none",
                                "--table", TABLE, NULL};
    if (!measure_tool(s, argv, NULL, env))
        goto cleanup;
    if (parquet) {
        snprintf(file, sizeof file, "%s/" DATASET "_" TABLE ".parquet", out);
        char lit[2 * PATH_MAX + 160], sql[2 * PATH_MAX + 256];
        sql_literal(lit, sizeof lit, file);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM read_parquet(%s)", lit);
        long long n = -1;
        if (duck_run(NULL, sql, &n) != 0 || n != ctx->rows)
            fail(s, "%s holds %lld rows, expected %lld", file, n, ctx->rows);
    } else {
        snprintf(file, sizeof file, "%s/" DATASET "_" TABLE ".csv", out);
        check_csv_export(s, file, ctx);
    }
cleanup:
    remove_tree(out);
}

static void run_duckdb_export(series *s, const bench_ctx *ctx, bool parquet)
{
    char file[PATH_MAX + 32], lit[2 * PATH_MAX + 80], sql[2 * PATH_MAX + 160];
    snprintf(file, sizeof file, "%s/duckdb-export.%s", ctx->dir, parquet ? "parquet" : "csv");
    remove_tree(file);
    sql_literal(lit, sizeof lit, file);
    snprintf(sql, sizeof sql, "COPY " TABLE " TO %s (%s)", lit,
             parquet ? "FORMAT parquet, COMPRESSION snappy" : "HEADER");
    const char *const argv[] = {ctx->self, "--duckdb-child", ctx->duck_source, sql, NULL};
    if (measure_tool(s, argv, NULL, NULL) && !parquet)
        check_csv_export(s, file, ctx);
    remove_tree(file);
}

/* ------------------------------------------------------------------ report */

static void report_series(bench_report *rep, const series *s, long long rows)
{
    if (s->nruns == 0)
        return;
    char runs[16], nrows[32];
    snprintf(runs, sizeof runs, "%d", s->nruns);
    snprintf(nrows, sizeof nrows, "%lld", rows);
    double wall = bench_median(s->wall_s, (size_t)s->nruns);
    bench_report_add(rep, s->case_name, s->tool, "rows_per_s", (double)rows / wall, "rows/s",
                     "backend", s->backend, "rows", nrows, "runs", runs, NULL);
    bench_report_add(rep, s->case_name, s->tool, "wall_s", wall, "s", "backend", s->backend,
                     "rows", nrows, "runs", runs, NULL);
    bench_report_add(rep, s->case_name, s->tool, "cpu_s", bench_median(s->cpu_s, (size_t)s->nruns),
                     "s", "backend", s->backend, "rows", nrows, "runs", runs, NULL);
    bench_report_add(rep, s->case_name, s->tool, "peak_rss_mb",
                     bench_max(s->peak_mb, (size_t)s->nruns), "MiB", "backend", s->backend,
                     "rows", nrows, "runs", runs, NULL);
}

/* ratio = mdm's median wall time / the tool's (below 1: mdm is faster). */
static void report_ratio(bench_report *rep, const series *mdm, const series *tool)
{
    if (mdm->nruns == 0 || tool->nruns == 0 || mdm->failed || tool->failed)
        return;
    char name[96];
    snprintf(name, sizeof name, "%s/%s", mdm->tool, tool->tool);
    bench_report_add(rep, mdm->case_name, name, "ratio",
                     bench_median(mdm->wall_s, (size_t)mdm->nruns) /
                         bench_median(tool->wall_s, (size_t)tool->nruns),
                     "x", "backend", mdm->backend, NULL);
}

/* ------------------------------------------------------------------ main */

/* Finds <build>/mdm from this program's path and brings it up to date with cmake. */
static int find_mdm(char *mdm, size_t size, const char *self)
{
    char copy[PATH_MAX], build_dir[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", self);
    snprintf(build_dir, sizeof build_dir, "%s", dirname(dirname(copy)));
    if (snprintf(mdm, size, "%s/mdm", build_dir) >= (int)size) {
        fprintf(stderr, "bench_%s: path too long: %s\n", BENCH_NAME, build_dir);
        return -1;
    }
    char cache[PATH_MAX + 32], command[2 * PATH_MAX + 128];
    snprintf(cache, sizeof cache, "%s/CMakeCache.txt", build_dir);
    if (access(cache, R_OK) == 0) {
        /* scripts/bench builds only bench_<name>: the CLI it measures must be current. */
        snprintf(command, sizeof command, "cmake --build '%s' --target mdm -j 2 >&2", build_dir);
        fprintf(stderr, "bench_%s: %s\n", BENCH_NAME, command);
        if (system(command) != 0) {
            fprintf(stderr, "bench_%s: building mdm failed\n", BENCH_NAME);
            return -1;
        }
    }
    if (access(mdm, X_OK) != 0) {
        fprintf(stderr, "bench_%s: no mdm binary at %s (pass --mdm PATH)\n", BENCH_NAME, mdm);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--duckdb-child") == 0)
        return duckdb_child_main(argc, argv);

    /* --mdm PATH is this benchmark's own; the rest are the common options. */
    const char *mdm_arg = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    if (!rest)
        return 1;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--mdm") == 0 && i + 1 < argc)
            mdm_arg = argv[++i];
        else
            rest[nrest++] = argv[i];
    }
    bench_options opt = bench_parse_options(nrest, rest, BENCH_NAME, DEFAULT_ROWS, NULL);
    free(rest);

    int status = 1;
    bench_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.runs = opt.runs;
    char self[PATH_MAX], mdm[PATH_MAX], repo[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        fprintf(stderr, "bench_%s: cannot read /proc/self/exe\n", BENCH_NAME);
        return 1;
    }
    self[len] = '\0';
    ctx.self = self;
    if (mdm_arg) {
        snprintf(mdm, sizeof mdm, "%s", mdm_arg);
    } else if (find_mdm(mdm, sizeof mdm, self) != 0) {
        return 1;
    }
    ctx.mdm = mdm;
    /* The repository: this file's directory's parent (CMake compiles with full paths). */
    char source[PATH_MAX];
    snprintf(source, sizeof source, "%s", __FILE__);
    snprintf(repo, sizeof repo, "%s", dirname(dirname(source)));

    bench_report rep;
    bench_report_init(&rep, BENCH_NAME);
    enum { NBACKENDS = 3 };
    static const char *const backends[NBACKENDS] = {"sqlite", "duckdb", "postgresql"};
    static const char *const mdm_tools[NBACKENDS] = {"mdm-sqlite", "mdm-duckdb", "mdm-postgresql"};
    static const char *const base_tools[NBACKENDS] = {"sqlite3-shell", "duckdb-read_csv", "psql"};
    series ingest_mdm[NBACKENDS], ingest_tool[NBACKENDS], pandas;
    series export_mdm[2][NBACKENDS], export_duck[2];
    static const char *const export_cases[2] = {"export-csv", "export-parquet"};
    for (int b = 0; b < NBACKENDS; b++) {
        series_init(&ingest_mdm[b], "ingest", mdm_tools[b], backends[b], opt.runs);
        series_init(&ingest_tool[b], "ingest", base_tools[b], backends[b], opt.runs);
        for (int e = 0; e < 2; e++)
            series_init(&export_mdm[e][b], export_cases[e], mdm_tools[b], backends[b], opt.runs);
    }
    series_init(&pandas, "ingest", "pandas-to_sql", "sqlite", opt.runs);
    for (int e = 0; e < 2; e++)
        series_init(&export_duck[e], export_cases[e], "duckdb-copy", "duckdb", opt.runs);

    const char *tmp = getenv("TMPDIR");
    snprintf(ctx.dir, sizeof ctx.dir, "%s/mdm-bench-ingest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(ctx.dir)) {
        fprintf(stderr, "bench_%s: mkdtemp %s: %s\n", BENCH_NAME, ctx.dir, strerror(errno));
        goto cleanup_report;
    }
    if (prepare_csv(&ctx, repo, opt.rows) != 0)
        goto cleanup;

    if (getenv("MDM_TEST_PG_CONNINFO"))
        ctx.pg = pg_environment(&ctx);
    else
        fprintf(stderr, "bench_%s: MDM_TEST_PG_CONNINFO is not set; PostgreSQL is skipped "
                        "(scripts/bench runs this under scripts/test-postgres)\n", BENCH_NAME);
    ctx.pandas = pandas_available();
    if (!ctx.pandas)
        fprintf(stderr, "bench_%s: note: /usr/bin/python3 cannot import pandas and sqlalchemy; "
                        "the pandas comparison is skipped (apt-get install python3-pandas "
                        "python3-sqlalchemy)\n", BENCH_NAME);

    /* The rows in a DuckDB file, untimed, for DuckDB's side of the exports. */
    snprintf(ctx.duck_source, sizeof ctx.duck_source, "%s/export-source.duckdb", ctx.dir);
    {
        char lit[2 * PATH_MAX + 8], sql[2 * PATH_MAX + 128];
        sql_literal(lit, sizeof lit, ctx.csv);
        snprintf(sql, sizeof sql, "CREATE TABLE " TABLE " AS SELECT * FROM read_csv(%s)", lit);
        if (duck_run(ctx.duck_source, sql, NULL) != 0)
            goto cleanup;
    }

    char sqlite_version[128], psql_version[128];
    bench_command_line(sqlite_version, sizeof sqlite_version, "sqlite3 --version");
    bench_command_line(psql_version, sizeof psql_version, "psql --version");
    fprintf(stderr, "bench_%s: %s (%lld rows), %d runs, mdm %s, sqlite3 %.20s, DuckDB %s, %s\n",
            BENCH_NAME, ctx.csv, ctx.rows, opt.runs, ctx.mdm, sqlite_version,
            duckdb_library_version(), ctx.pg ? psql_version : "no PostgreSQL");

    for (int b = 0; b < NBACKENDS; b++) {
        if (b == 2 && !ctx.pg)
            continue;
        for (int run = 0; run < opt.runs; run++) {
            /* Alternate who goes first: mdm on even runs, the tools on odd ones. */
            for (int turn = 0; turn < 2; turn++) {
                bool mdm_turn = (turn == 0) == (run % 2 == 0);
                if (mdm_turn) {
                    if (!ingest_mdm[b].failed)
                        run_mdm_register(&ingest_mdm[b], &ctx);
                    continue;
                }
                if (!ingest_tool[b].failed) {
                    if (b == 0)
                        run_sqlite_shell(&ingest_tool[b], &ctx);
                    else if (b == 1)
                        run_duckdb_csv(&ingest_tool[b], &ctx);
                    else
                        run_psql(&ingest_tool[b], &ctx);
                }
                if (b == 0 && ctx.pandas && !pandas.failed)
                    run_pandas(&pandas, &ctx);
            }
        }
        if (ingest_mdm[b].nruns == 0 || ingest_mdm[b].failed)
            continue; /* nothing registered to export */
        for (int run = 0; run < opt.runs; run++) {
            for (int e = 0; e < 2; e++) {
                for (int turn = 0; turn < 2; turn++) {
                    bool mdm_turn = (turn == 0) == (run % 2 == 0);
                    if (mdm_turn && !export_mdm[e][b].failed)
                        run_mdm_export(&export_mdm[e][b], &ctx, e == 1);
                    /* DuckDB's COPY does not depend on mdm's backend: measured with
                     * SQLite's runs, so it alternates with mdm there. */
                    if (!mdm_turn && b == 0 && !export_duck[e].failed)
                        run_duckdb_export(&export_duck[e], &ctx, e == 1);
                }
            }
        }
    }
    if (ctx.pg) {
        /* Leave the server as it was: mdm's schema goes with the dataset. */
        char home[PATH_MAX + 32], home_var[PATH_MAX + 64];
        const char *env[7];
        snprintf(home, sizeof home, "%s/home-postgresql", ctx.dir);
        mdm_env(&ctx, home, home_var, sizeof home_var, env);
        const char *const remove_argv[] = {ctx.mdm, "dataset", "remove", DATASET, "--force", NULL};
        run_untimed(remove_argv, NULL, env);
    }

    for (int b = 0; b < NBACKENDS; b++) {
        report_series(&rep, &ingest_mdm[b], ctx.rows);
        report_series(&rep, &ingest_tool[b], ctx.rows);
        if (b == 0)
            report_series(&rep, &pandas, ctx.rows);
        report_ratio(&rep, &ingest_mdm[b], &ingest_tool[b]);
        if (b == 0)
            report_ratio(&rep, &ingest_mdm[b], &pandas);
    }
    for (int e = 0; e < 2; e++) {
        report_series(&rep, &export_duck[e], ctx.rows);
        for (int b = 0; b < NBACKENDS; b++) {
            report_series(&rep, &export_mdm[e][b], ctx.rows);
            report_ratio(&rep, &export_mdm[e][b], &export_duck[e]);
        }
    }
    bench_report_print(&rep);
    status = bench_report_write(&rep, opt.out) == 0 ? 0 : 1;
    for (int b = 0; b < NBACKENDS; b++)
        if (ingest_mdm[b].failed || ingest_tool[b].failed || export_mdm[0][b].failed ||
            export_mdm[1][b].failed)
            status = 1;
    if (pandas.failed || export_duck[0].failed || export_duck[1].failed)
        status = 1;
cleanup:
    remove_tree(ctx.dir);
cleanup_report:
    bench_report_free(&rep);
    for (int b = 0; b < NBACKENDS; b++) {
        series_free(&ingest_mdm[b]);
        series_free(&ingest_tool[b]);
        for (int e = 0; e < 2; e++)
            series_free(&export_mdm[e][b]);
    }
    series_free(&pandas);
    for (int e = 0; e < 2; e++)
        series_free(&export_duck[e]);
    return status;
}
