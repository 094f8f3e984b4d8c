/* Streaming dataset statistics (src/dataset/stats.c): how fast stats_add_batch and
 * stats_finish go over prebuilt batches, basic and --full, on two tables of 1,000,000
 * rows (--rows): 7 columns (int64, two float64 with 5% NULLs in one, date, bool, a
 * 20-value category and a high-cardinality name), and the 5 columns without text.
 *
 * Only the statistics are timed: the batches are built once, before any run. The
 * result's row count is checked, so a run that loses rows fails the benchmark.
 * (This measurement used to be printed, unasserted, by tests/unit/test_stats.c.) */
#include <math.h>

#include "bench_util.h"

#include "dataset/stats.h"

enum { BATCH_ROWS = 10000, MAX_RUNS = 64 };

static const mdm_field fields[] = {
    {"i", MDM_TYPE_INT64}, {"x", MDM_TYPE_FLOAT64}, {"y", MDM_TYPE_FLOAT64},
    {"d", MDM_TYPE_DATE},  {"b", MDM_TYPE_BOOL},    {"cat", MDM_TYPE_TEXT},
    {"name", MDM_TYPE_TEXT}};
enum { NCOLS = sizeof fields / sizeof *fields, NUMERIC_COLS = 5 };

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Standard normal (Box-Muller). */
static double rnd_normal(void)
{
    double u1 = ((double)(rnd() >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (double)(rnd() >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static void die(const char *what)
{
    fprintf(stderr, "bench_stats: %s: %s\n", what, mdm_error_last()->message);
    exit(1);
}

/* The first `ncols` columns of `fields`, `rows` rows in batches of BATCH_ROWS. */
static mdm_batch **make_batches(size_t ncols, long long rows, size_t *nbatches)
{
    size_t nb = (size_t)((rows + BATCH_ROWS - 1) / BATCH_ROWS);
    mdm_batch **batches = calloc(nb, sizeof *batches);
    if (!batches)
        die("batches");
    long long left = rows;
    for (size_t k = 0; k < nb; k++, left -= BATCH_ROWS) {
        size_t n = left < BATCH_ROWS ? (size_t)left : BATCH_ROWS;
        if (mdm_batch_new(&batches[k], fields, ncols, n) != 0)
            die("batch");
        for (size_t i = 0; i < n; i++) {
            size_t row;
            if (mdm_batch_add_row(batches[k], &row) != 0)
                die("batch row");
            mdm_batch *b = batches[k];
            mdm_batch_set_int64(b, 0, row, (int64_t)(rnd() % 100000000));
            double x = rnd_normal();
            mdm_batch_set_float64(b, 1, row, x);
            if (rnd() % 20)
                mdm_batch_set_float64(b, 2, row, x * 2 + rnd_normal());
            mdm_batch_set_date(b, 3, row, 18000 + (int32_t)(rnd() % 3000));
            mdm_batch_set_bool(b, 4, row, rnd() & 1);
            if (ncols > NUMERIC_COLS) {
                char buf[32];
                int len = snprintf(buf, sizeof buf, "category-%d", (int)(rnd() % 20));
                if (mdm_batch_set_text(b, 5, row, buf, (size_t)len) != 0)
                    die("text");
                len = snprintf(buf, sizeof buf, "name-%llu", (unsigned long long)(rnd() % 5000000));
                if (mdm_batch_set_text(b, 6, row, buf, (size_t)len) != 0)
                    die("text");
            }
        }
    }
    *nbatches = nb;
    return batches;
}

/* One statistics pass; returns its wall time in seconds. */
static double run_once(mdm_batch **batches, size_t nb, size_t ncols, bool full, long long rows)
{
    stats *s = NULL;
    if (stats_new(&s, fields, ncols, full) != 0)
        die("stats_new");
    double t0 = bench_now_s();
    for (size_t k = 0; k < nb; k++)
        if (stats_add_batch(s, batches[k]) != 0)
            die("stats_add_batch");
    stats_result *r = NULL;
    if (stats_finish(&r, s) != 0)
        die("stats_finish");
    double secs = bench_now_s() - t0;
    if (r->rows != (uint64_t)rows || r->ncols != ncols) {
        fprintf(stderr, "bench_stats: the result has %llu rows x %zu columns, expected %lld x %zu\n",
                (unsigned long long)r->rows, r->ncols, rows, ncols);
        exit(1);
    }
    stats_result_free(r);
    stats_free(s);
    return secs;
}

int main(int argc, char **argv)
{
    bench_options opt = bench_parse_options(argc, argv, "stats", 1000000, NULL);
    int runs = opt.runs < MAX_RUNS ? opt.runs : MAX_RUNS;
    char rows_text[32], runs_text[16];
    snprintf(rows_text, sizeof rows_text, "%lld", opt.rows);
    snprintf(runs_text, sizeof runs_text, "%d", runs);

    bench_report report;
    bench_report_init(&report, "stats");
    const struct {
        const char *name;
        size_t ncols;
    } tables[] = {{"mixed", NCOLS}, {"numeric", NUMERIC_COLS}};
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++) {
        size_t nb = 0;
        mdm_batch **batches = make_batches(tables[t].ncols, opt.rows, &nb);
        for (int full = 0; full <= 1; full++) {
            double wall[MAX_RUNS];
            for (int r = 0; r < runs; r++) {
                wall[r] = run_once(batches, nb, tables[t].ncols, full, opt.rows);
                fprintf(stderr, "bench_stats: %s %s run %d: %.3f s\n", tables[t].name,
                        full ? "full" : "basic", r + 1, wall[r]);
            }
            double secs = bench_median(wall, (size_t)runs);
            char case_name[64], cols_text[16];
            snprintf(case_name, sizeof case_name, "%s-%s", tables[t].name, full ? "full" : "basic");
            snprintf(cols_text, sizeof cols_text, "%zu", tables[t].ncols);
            bench_report_add(&report, case_name, "mdm", "wall_s", secs, "s", "rows", rows_text,
                             "columns", cols_text, "runs", runs_text, NULL);
            bench_report_add(&report, case_name, "mdm", "rows_per_s", (double)opt.rows / secs,
                             "rows/s", "rows", rows_text, "columns", cols_text, "runs", runs_text,
                             NULL);
            bench_report_add(&report, case_name, "mdm", "values_per_s",
                             (double)opt.rows * (double)tables[t].ncols / secs, "values/s", "rows",
                             rows_text, "columns", cols_text, "runs", runs_text, NULL);
        }
        for (size_t k = 0; k < nb; k++)
            mdm_batch_free(batches[k]);
        free(batches);
    }
    bench_report_print(&report);
    int rc = bench_report_write(&report, opt.out) == 0 ? 0 : 1;
    bench_report_free(&report);
    return rc;
}
