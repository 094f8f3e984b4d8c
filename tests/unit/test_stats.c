/* Streaming dataset statistics: results against naive computations on random data,
 * NULL/NaN/Inf handling, batch-size independence, sketches past their caps, the JSON,
 * YAML and CSV forms. The throughput measurement is bench/stats.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <yaml.h>

#include "dataset/stats.h"
#include "dataset/stats_export.h"
#include "dataset/stats_sketch.h"
#include "mdm/mdm.h"

/* ------------------------------------------------------------------ data */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static double rnd_unit(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

static double rnd_normal(void)
{
    double u = rnd_unit(), v = rnd_unit();
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* A table held in plain arrays, fed to stats in batches of any size. */
typedef struct column_data {
    mdm_type type;
    uint8_t *null;
    int64_t *i;   /* int64, bool, date, timestamp */
    double *f;
    char **t;
} column_data;

typedef struct table_data {
    size_t nrows, ncols;
    mdm_field *fields;
    column_data *cols;
} table_data;

static table_data *table_new(const mdm_field *fields, size_t ncols, size_t nrows)
{
    table_data *t = calloc(1, sizeof *t);
    t->nrows = nrows;
    t->ncols = ncols;
    t->fields = calloc(ncols, sizeof *t->fields);
    memcpy(t->fields, fields, ncols * sizeof *fields);
    t->cols = calloc(ncols, sizeof *t->cols);
    for (size_t c = 0; c < ncols; c++) {
        column_data *cd = &t->cols[c];
        cd->type = fields[c].type;
        cd->null = calloc(nrows ? nrows : 1, 1);
        cd->i = calloc(nrows ? nrows : 1, sizeof *cd->i);
        cd->f = calloc(nrows ? nrows : 1, sizeof *cd->f);
        cd->t = calloc(nrows ? nrows : 1, sizeof *cd->t);
    }
    return t;
}

static void table_free(table_data *t)
{
    for (size_t c = 0; c < t->ncols; c++) {
        for (size_t r = 0; r < t->nrows; r++)
            free(t->cols[c].t[r]);
        free(t->cols[c].null);
        free(t->cols[c].i);
        free(t->cols[c].f);
        free(t->cols[c].t);
    }
    free(t->cols);
    free(t->fields);
    free(t);
}

static void set_text(table_data *t, size_t c, size_t r, const char *s)
{
    free(t->cols[c].t[r]);
    t->cols[c].t[r] = strdup(s);
}

static void fill_batch(mdm_batch *b, const table_data *t, size_t from, size_t n)
{
    mdm_batch_clear(b);
    for (size_t k = 0; k < n; k++) {
        size_t row, r = from + k;
        assert_int_equal(mdm_batch_add_row(b, &row), 0);
        for (size_t c = 0; c < t->ncols; c++) {
            const column_data *cd = &t->cols[c];
            if (cd->null[r])
                continue;
            switch (cd->type) {
            case MDM_TYPE_INT64: mdm_batch_set_int64(b, c, row, cd->i[r]); break;
            case MDM_TYPE_FLOAT64: mdm_batch_set_float64(b, c, row, cd->f[r]); break;
            case MDM_TYPE_BOOL: mdm_batch_set_bool(b, c, row, cd->i[r] != 0); break;
            case MDM_TYPE_DATE: mdm_batch_set_date(b, c, row, (int32_t)cd->i[r]); break;
            case MDM_TYPE_TIMESTAMP: mdm_batch_set_timestamp(b, c, row, cd->i[r]); break;
            case MDM_TYPE_TEXT:
                assert_int_equal(mdm_batch_set_text(b, c, row, cd->t[r], strlen(cd->t[r])), 0);
                break;
            }
        }
    }
}

static stats_result *run_opts(const table_data *t, size_t batch_rows, bool full, const stats_options *opts)
{
    stats *s = NULL;
    assert_int_equal(stats_new_with(&s, t->fields, t->ncols, full, opts), 0);
    mdm_batch *b = NULL;
    assert_int_equal(mdm_batch_new(&b, t->fields, t->ncols, batch_rows), 0);
    for (size_t from = 0; from < t->nrows; from += batch_rows) {
        size_t n = t->nrows - from < batch_rows ? t->nrows - from : batch_rows;
        fill_batch(b, t, from, n);
        assert_int_equal(stats_add_batch(s, b), 0);
    }
    mdm_batch_free(b);
    stats_result *r = NULL;
    assert_int_equal(stats_finish(&r, s), 0);
    stats_free(s);
    return r;
}

static stats_result *run(const table_data *t, size_t batch_rows, bool full)
{
    stats_options opts;
    stats_options_default(&opts);
    return run_opts(t, batch_rows, full, &opts);
}

/* ------------------------------------------------------------------ naive references */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_f64(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Non-NULL finite values of a numeric column as doubles; caller frees. */
static double *finite_values(const table_data *t, size_t c, size_t *n)
{
    double *v = malloc((t->nrows + 1) * sizeof *v);
    *n = 0;
    for (size_t r = 0; r < t->nrows; r++) {
        if (t->cols[c].null[r])
            continue;
        double x = t->cols[c].type == MDM_TYPE_INT64 ? (double)t->cols[c].i[r] : t->cols[c].f[r];
        if (isfinite(x))
            v[(*n)++] = x;
    }
    return v;
}

static void naive_mean_std(const double *v, size_t n, double *mean, double *std)
{
    long double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    long double m = s / n, ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - m) * (v[i] - m);
    *mean = (double)m;
    *std = n > 1 ? (double)sqrtl(ss / (n - 1)) : NAN;
}

static void assert_rel(double got, double want, double tol)
{
    double scale = fabs(want) > 1e-300 ? fabs(want) : 1.0;
    if (!(fabs(got - want) / scale <= tol)) {
        print_error("got %.17g, want %.17g (relative error %.3g > %.3g)\n", got, want,
                    fabs(got - want) / scale, tol);
        fail();
    }
}

static size_t naive_distinct_i64(const table_data *t, size_t c)
{
    int64_t *v = malloc((t->nrows + 1) * sizeof *v);
    size_t n = 0, d = 0;
    for (size_t r = 0; r < t->nrows; r++)
        if (!t->cols[c].null[r])
            v[n++] = t->cols[c].i[r];
    qsort(v, n, sizeof *v, cmp_i64);
    for (size_t i = 0; i < n; i++)
        d += i == 0 || v[i] != v[i - 1];
    free(v);
    return d;
}

/* ------------------------------------------------------------------ a mixed table */

static const mdm_field mixed_fields[] = {
    {"id", MDM_TYPE_INT64},       {"price", MDM_TYPE_FLOAT64}, {"city", MDM_TYPE_TEXT},
    {"flag", MDM_TYPE_BOOL},      {"day", MDM_TYPE_DATE},      {"at", MDM_TYPE_TIMESTAMP},
    {"level", MDM_TYPE_INT64},    {"score", MDM_TYPE_FLOAT64},
};
#define MIXED_COLS (sizeof mixed_fields / sizeof *mixed_fields)

static table_data *mixed_table(size_t nrows)
{
    static const char *cities[] = {"Paris", "Łódź", "", "New York", "Zürich", "a,b", "x\"y", "東京"};
    table_data *t = table_new(mixed_fields, MIXED_COLS, nrows);
    for (size_t r = 0; r < nrows; r++) {
        t->cols[0].i[r] = (int64_t)(rnd() % 1000000) - 500000;
        t->cols[0].null[r] = rnd() % 10 == 0;
        /* A large mean and a small spread: a naive sum of squares would lose it. */
        t->cols[1].f[r] = 1e9 + rnd_normal();
        t->cols[1].null[r] = rnd() % 7 == 0;
        size_t k = rnd() % 64;
        set_text(t, 2, r, cities[k < 32 ? 0 : k < 48 ? 1 : k < 56 ? 2 : 3 + k % 5]);
        t->cols[2].null[r] = rnd() % 5 == 0;
        t->cols[3].i[r] = rnd() % 3 == 0;
        t->cols[3].null[r] = rnd() % 11 == 0;
        t->cols[4].i[r] = mdm_date_from_ymd(2020, 1, 1) + (int64_t)(rnd() % 1500);
        t->cols[4].null[r] = rnd() % 13 == 0;
        t->cols[5].i[r] = 1600000000000000LL + (int64_t)(rnd() % 100000000000000ULL);
        t->cols[5].null[r] = rnd() % 17 == 0;
        t->cols[6].i[r] = (int64_t)(rnd() % 5) * 10;
        t->cols[7].f[r] = 3.0 * t->cols[1].f[r] + 0.1 * rnd_normal();
        t->cols[7].null[r] = rnd() % 9 == 0;
    }
    return t;
}

static void basic_matches_naive(void **state)
{
    (void)state;
    table_data *t = mixed_table(50000);
    stats_result *r = run(t, 1000, false);
    assert_int_equal(r->rows, 50000);
    assert_int_equal(r->ncols, MIXED_COLS);
    uint64_t missing = 0;
    for (size_t c = 0; c < MIXED_COLS; c++) {
        const stats_column *sc = &r->columns[c];
        uint64_t nulls = 0;
        for (size_t row = 0; row < t->nrows; row++)
            nulls += t->cols[c].null[row];
        missing += nulls;
        assert_string_equal(sc->name, mixed_fields[c].name);
        assert_int_equal(sc->null_count, nulls);
        assert_int_equal(sc->count, t->nrows - nulls);
        assert_true(sc->null_ratio == (double)nulls / (double)t->nrows);
    }
    assert_int_equal(r->missing_cells, missing);
    assert_true(fabs(r->completeness - (1.0 - (double)missing / (50000.0 * MIXED_COLS))) < 1e-15);
    uint64_t rows_missing = 0;
    for (size_t row = 0; row < t->nrows; row++) {
        bool any = false;
        for (size_t c = 0; c < MIXED_COLS; c++)
            any |= t->cols[c].null[row] != 0;
        rows_missing += any;
    }
    assert_int_equal(r->rows_with_missing, rows_missing);
    assert_int_equal(r->complete_rows, 50000 - rows_missing);

    /* Numbers: mean/std to 1e-12, min/max exact, distinct exact under the cap. */
    size_t numeric[] = {0, 1, 6, 7};
    for (size_t k = 0; k < 4; k++) {
        size_t c = numeric[k], n;
        double *v = finite_values(t, c, &n), mean, std;
        naive_mean_std(v, n, &mean, &std);
        assert_rel(r->columns[c].mean, mean, 1e-12);
        assert_rel(r->columns[c].std, std, 1e-12);
        qsort(v, n, sizeof *v, cmp_f64);
        if (t->cols[c].type == MDM_TYPE_FLOAT64) {
            assert_true(r->columns[c].min.v.f64 == v[0]);
            assert_true(r->columns[c].max.v.f64 == v[n - 1]);
        }
        free(v);
    }
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t row = 0; row < t->nrows; row++)
        if (!t->cols[0].null[row]) {
            lo = t->cols[0].i[row] < lo ? t->cols[0].i[row] : lo;
            hi = t->cols[0].i[row] > hi ? t->cols[0].i[row] : hi;
        }
    assert_int_equal(r->columns[0].min.v.i64, lo);
    assert_int_equal(r->columns[0].max.v.i64, hi);
    /* id has ~48k distinct values: past the 10,000 cap, within 2%. */
    size_t id_distinct = naive_distinct_i64(t, 0);
    assert_false(r->columns[0].distinct_exact);
    assert_true(fabs((double)r->columns[0].distinct - (double)id_distinct) <= 0.02 * (double)id_distinct);
    /* level: 5 values, exact, with exact top values. */
    assert_true(r->columns[6].distinct_exact);
    assert_int_equal(r->columns[6].distinct, 5);
    assert_true(r->columns[6].has_top && r->columns[6].top_exact);
    assert_int_equal(r->columns[6].ntop, 5);
    uint64_t level_total = 0;
    for (size_t i = 0; i < 5; i++) {
        uint64_t want = 0;
        for (size_t row = 0; row < t->nrows; row++)
            want += t->cols[6].i[row] == r->columns[6].top[i].value.v.i64;
        assert_int_equal(r->columns[6].top[i].count, want);
        level_total += want;
        if (i)
            assert_true(r->columns[6].top[i - 1].count >= r->columns[6].top[i].count);
    }
    assert_int_equal(level_total, 50000);
    /* id is not categorical: no top values. */
    assert_false(r->columns[0].has_top);

    /* Text: lexicographic min/max, lengths, exact top values. */
    const stats_column *city = &r->columns[2];
    char **texts = malloc(t->nrows * sizeof *texts);
    size_t nt = 0, minl = SIZE_MAX, maxl = 0;
    for (size_t row = 0; row < t->nrows; row++)
        if (!t->cols[2].null[row]) {
            texts[nt++] = t->cols[2].t[row];
            size_t l = strlen(t->cols[2].t[row]);
            minl = l < minl ? l : minl;
            maxl = l > maxl ? l : maxl;
        }
    qsort(texts, nt, sizeof *texts, cmp_str);
    assert_string_equal(city->min.text, texts[0]);
    assert_string_equal(city->max.text, texts[nt - 1]);
    assert_int_equal(city->min_length, minl);
    assert_int_equal(city->max_length, maxl);
    assert_true(city->distinct_exact);
    assert_int_equal(city->distinct, 8);
    assert_true(city->top_exact);
    assert_int_equal(city->ntop, 8);
    for (size_t i = 0; i < city->ntop; i++) {
        uint64_t want = 0;
        for (size_t k = 0; k < nt; k++)
            want += strcmp(texts[k], city->top[i].value.text) == 0;
        assert_int_equal(city->top[i].count, want);
        assert_int_equal(city->top[i].max_overcount, 0);
    }
    assert_string_equal(city->top[0].value.text, "Paris");
    free(texts);

    /* Bool: counts, mean as the share of true. */
    uint64_t trues = 0, bools = 0;
    for (size_t row = 0; row < t->nrows; row++)
        if (!t->cols[3].null[row]) {
            bools++;
            trues += t->cols[3].i[row] != 0;
        }
    assert_int_equal(r->columns[3].true_count, trues);
    assert_int_equal(r->columns[3].distinct, 2);
    assert_rel(r->columns[3].mean, (double)trues / (double)bools, 1e-15);
    assert_true(r->columns[3].top_exact && r->columns[3].ntop == 2);

    /* Date and timestamp ranges. */
    int64_t dlo = INT64_MAX, dhi = INT64_MIN, tlo = INT64_MAX, thi = INT64_MIN;
    for (size_t row = 0; row < t->nrows; row++) {
        if (!t->cols[4].null[row]) {
            dlo = t->cols[4].i[row] < dlo ? t->cols[4].i[row] : dlo;
            dhi = t->cols[4].i[row] > dhi ? t->cols[4].i[row] : dhi;
        }
        if (!t->cols[5].null[row]) {
            tlo = t->cols[5].i[row] < tlo ? t->cols[5].i[row] : tlo;
            thi = t->cols[5].i[row] > thi ? t->cols[5].i[row] : thi;
        }
    }
    assert_int_equal(r->columns[4].min.v.date, dlo);
    assert_int_equal(r->columns[4].max.v.date, dhi);
    assert_int_equal(r->columns[4].range_days, dhi - dlo);
    assert_int_equal(r->columns[5].min.v.ts, tlo);
    assert_int_equal(r->columns[5].max.v.ts, thi);
    assert_int_equal(r->columns[5].range_days, (thi - tlo) / 86400000000LL);
    assert_true(r->columns[4].distinct_exact);
    assert_int_equal(r->columns[4].distinct, naive_distinct_i64(t, 4));

    uint64_t bytes = 0;
    for (size_t c = 0; c < MIXED_COLS; c++)
        for (size_t row = 0; row < t->nrows; row++) {
            if (t->cols[c].null[row])
                continue;
            mdm_type ty = t->cols[c].type;
            bytes += ty == MDM_TYPE_TEXT ? strlen(t->cols[c].t[row]) : ty == MDM_TYPE_BOOL ? 1 : ty == MDM_TYPE_DATE ? 4 : 8;
        }
    assert_int_equal(r->memory_bytes, bytes);
    assert_false(r->full);
    assert_false(r->columns[1].has_percentiles);
    stats_result_free(r);
    table_free(t);
}

/* ------------------------------------------------------------------ full */

static double naive_quantile(const double *sorted, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h), hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (h - (double)lo);
}

static void full_matches_naive(void **state)
{
    (void)state;
    table_data *t = mixed_table(20000);
    stats_result *r = run(t, 3000, true);
    assert_true(r->full);
    /* Percentiles exact under 100k values; skewness and kurtosis as pandas computes. */
    size_t numeric[] = {0, 1, 6, 7};
    for (size_t k = 0; k < 4; k++) {
        size_t c = numeric[k], n;
        double *v = finite_values(t, c, &n);
        qsort(v, n, sizeof *v, cmp_f64);
        const stats_column *sc = &r->columns[c];
        assert_true(sc->has_percentiles && sc->percentiles_exact);
        for (int p = 0; p < STATS_NPERCENTILES; p++)
            assert_rel(sc->percentiles[p], naive_quantile(v, n, stats_percentile_levels[p]), 1e-15);
        /* Shifted by the first value and in long double, so that the reference is the
         * more accurate side for data like 1e9 + noise. */
        long double mean = 0, m2 = 0, m3 = 0, m4 = 0, shift = v[0];
        for (size_t i = 0; i < n; i++)
            mean += v[i] - shift;
        mean /= n;
        for (size_t i = 0; i < n; i++) {
            long double d = (v[i] - shift) - mean;
            m2 += d * d;
            m3 += d * d * d;
            m4 += d * d * d * d;
        }
        double dn = (double)n;
        double skew = (double)(dn * sqrt(dn - 1) / (dn - 2) * (m3 / powl(m2, 1.5L)));
        double kurt = (double)(dn * (dn + 1) * (dn - 1) * m4 / ((dn - 2) * (dn - 3) * m2 * m2) -
                               3 * (dn - 1) * (dn - 1) / ((dn - 2) * (dn - 3)));
        assert_true(sc->has_shape);
        assert_true(fabs(sc->skewness - skew) < 1e-9 * (1 + fabs(skew)));
        assert_true(fabs(sc->kurtosis - kurt) < 1e-9 * (1 + fabs(kurt)));
        free(v);
    }
    /* Correlations over complete pairs. */
    assert_int_equal(r->ncorr, 4);
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 4; b++) {
            if (a == b)
                continue;
            size_t ca = numeric[a], cb = numeric[b];
            long double sa = 0, sb = 0, n = 0;
            for (size_t row = 0; row < t->nrows; row++) {
                if (t->cols[ca].null[row] || t->cols[cb].null[row])
                    continue;
                sa += ca == 1 || ca == 7 ? t->cols[ca].f[row] : (double)t->cols[ca].i[row];
                sb += cb == 1 || cb == 7 ? t->cols[cb].f[row] : (double)t->cols[cb].i[row];
                n++;
            }
            long double ma = sa / n, mb = sb / n, cab = 0, caa = 0, cbb = 0;
            for (size_t row = 0; row < t->nrows; row++) {
                if (t->cols[ca].null[row] || t->cols[cb].null[row])
                    continue;
                long double x = (ca == 1 || ca == 7 ? t->cols[ca].f[row] : (double)t->cols[ca].i[row]) - ma;
                long double y = (cb == 1 || cb == 7 ? t->cols[cb].f[row] : (double)t->cols[cb].i[row]) - mb;
                cab += x * y;
                caa += x * x;
                cbb += y * y;
            }
            double want = (double)(cab / sqrtl(caa * cbb));
            double got = stats_result_correlation(r, ca, cb);
            assert_true(fabs(got - want) < 1e-10);
        }
    assert_true(stats_result_correlation(r, 1, 7) > 0.99);
    assert_true(isnan(stats_result_correlation(r, 2, 7))); /* text is not in the matrix */
    /* Profiling summary. */
    assert_int_equal(r->type_counts[MDM_TYPE_INT64], 2);
    assert_int_equal(r->type_counts[MDM_TYPE_TEXT], 1);
    assert_int_equal(r->all_null_columns, 0);
    stats_result_free(r);
    table_free(t);
}

/* Past the exact buffer the t-digest answers within a small rank error. */
static void percentiles_sketch_error(void **state)
{
    (void)state;
    const size_t n = 600000;
    mdm_field f[] = {{"lognormal", MDM_TYPE_FLOAT64}, {"uniform", MDM_TYPE_INT64}};
    table_data *t = table_new(f, 2, n);
    for (size_t r = 0; r < n; r++) {
        t->cols[0].f[r] = exp(rnd_normal());
        t->cols[1].i[r] = (int64_t)(rnd() % 1000000000);
    }
    stats_result *res = run(t, 10000, true);
    for (size_t c = 0; c < 2; c++) {
        size_t nv;
        double *v = finite_values(t, c, &nv);
        qsort(v, nv, sizeof *v, cmp_f64);
        const stats_column *sc = &res->columns[c];
        assert_false(sc->percentiles_exact);
        for (int p = 0; p < STATS_NPERCENTILES; p++) {
            double got = sc->percentiles[p];
            /* Rank of the answer in the sorted data vs the rank asked for. */
            size_t lo = 0, hi = nv;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (v[mid] < got)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            double rank_error = fabs((double)lo / (double)nv - stats_percentile_levels[p]);
            if (rank_error > 0.002) {
                print_error("column %zu %s: rank error %.5f\n", c, stats_percentile_names[p], rank_error);
                fail();
            }
        }
        free(v);
    }
    stats_result_free(res);
    table_free(t);
}

/* ------------------------------------------------------------------ batch independence */

static void assert_same_results(const stats_result *a, const stats_result *b)
{
    assert_int_equal(a->rows, b->rows);
    assert_int_equal(a->missing_cells, b->missing_cells);
    assert_int_equal(a->rows_with_missing, b->rows_with_missing);
    assert_int_equal(a->memory_bytes, b->memory_bytes);
    assert_int_equal(a->duplicate_rows, b->duplicate_rows);
    for (size_t c = 0; c < a->ncols; c++) {
        const stats_column *x = &a->columns[c], *y = &b->columns[c];
        assert_int_equal(x->count, y->count);
        assert_int_equal(x->null_count, y->null_count);
        assert_int_equal(x->distinct, y->distinct);
        assert_int_equal(x->has_min_max, y->has_min_max);
        if (x->type == MDM_TYPE_TEXT && x->has_min_max) {
            assert_string_equal(x->min.text, y->min.text);
            assert_string_equal(x->max.text, y->max.text);
        } else {
            assert_memory_equal(&x->min.v, &y->min.v, sizeof x->min.v);
            assert_memory_equal(&x->max.v, &y->max.v, sizeof x->max.v);
        }
        if (x->has_mean) {
            /* Relative to the spread: a mean near 0 has no relative precision of its own. */
            double scale = fabs(x->mean) + (x->has_std ? x->std : 0.0);
            assert_true(fabs(x->mean - y->mean) <= 1e-13 * scale);
            if (x->has_std)
                assert_rel(x->std, y->std, 1e-11);
        }
        if (x->has_shape) {
            assert_true(fabs(x->skewness - y->skewness) < 1e-8);
            assert_true(fabs(x->kurtosis - y->kurtosis) < 1e-8);
        }
        for (int p = 0; p < STATS_NPERCENTILES && x->has_percentiles; p++)
            assert_true(x->percentiles[p] == y->percentiles[p]);
        assert_int_equal(x->ntop, y->ntop);
        for (size_t i = 0; i < x->ntop; i++)
            assert_int_equal(x->top[i].count, y->top[i].count);
    }
    for (size_t i = 0; i < a->ncorr * a->ncorr; i++)
        assert_true(fabs(a->corr[i] - b->corr[i]) < 1e-10 || (isnan(a->corr[i]) && isnan(b->corr[i])));
}

static void batch_size_does_not_matter(void **state)
{
    (void)state;
    table_data *t = mixed_table(30000);
    stats_result *one = run(t, 30000, true);
    stats_result *small = run(t, 7, true);
    stats_result *odd = run(t, 4999, true);
    assert_same_results(one, small);
    assert_same_results(one, odd);
    stats_result_free(one);
    stats_result_free(small);
    stats_result_free(odd);
    table_free(t);
}

/* ------------------------------------------------------------------ edges */

static void empty_table_and_all_null_column(void **state)
{
    (void)state;
    table_data *t = table_new(mixed_fields, MIXED_COLS, 0);
    stats_result *r = run(t, 100, true);
    assert_int_equal(r->rows, 0);
    assert_true(r->completeness == 1.0);
    for (size_t c = 0; c < MIXED_COLS; c++) {
        assert_int_equal(r->columns[c].count, 0);
        assert_int_equal(r->columns[c].distinct, 0);
        assert_false(r->columns[c].has_min_max);
        assert_false(r->columns[c].has_mean);
        assert_false(r->columns[c].has_percentiles);
    }
    assert_int_equal(r->all_null_columns, 0);
    json_t *j = NULL;
    assert_int_equal(stats_export_table_json(&j, "t", r), 0);
    json_decref(j);
    stats_result_free(r);
    table_free(t);

    /* Every value NULL in every column. */
    t = table_new(mixed_fields, MIXED_COLS, 1000);
    for (size_t c = 0; c < MIXED_COLS; c++)
        memset(t->cols[c].null, 1, 1000);
    r = run(t, 128, true);
    assert_int_equal(r->missing_cells, 1000 * MIXED_COLS);
    assert_true(r->completeness == 0.0);
    assert_int_equal(r->complete_rows, 0);
    assert_int_equal(r->all_null_columns, MIXED_COLS);
    assert_int_equal(r->duplicate_rows, 999); /* all rows are alike */
    for (size_t c = 0; c < MIXED_COLS; c++) {
        assert_true(r->columns[c].null_ratio == 1.0);
        assert_false(r->columns[c].has_min_max);
        assert_false(r->columns[c].has_top);
    }
    char *text = NULL;
    stats_table_entry e = {"data", "data", r};
    stats_document doc = {"empty", "2026-01-01T00:00:00", true, &e, 1};
    assert_int_equal(stats_export_json_text(&text, &doc), 0);
    free(text);
    assert_int_equal(stats_export_yaml_text(&text, &doc), 0);
    free(text);
    assert_int_equal(stats_export_csv_text(&text, &doc), 0);
    free(text);
    stats_result_free(r);
    table_free(t);
}

/* NaN is a non-NULL value left out of min/max and moments; ±Inf are values in min/max
 * but not in moments; -0.0 equals 0.0. */
static void nan_and_infinities(void **state)
{
    (void)state;
    mdm_field f[] = {{"x", MDM_TYPE_FLOAT64}};
    double values[] = {1.0, NAN, INFINITY, -INFINITY, -0.0, 0.0, 2.0, NAN, 3.0};
    size_t n = sizeof values / sizeof *values;
    table_data *t = table_new(f, 1, n + 1);
    for (size_t r = 0; r < n; r++)
        t->cols[0].f[r] = values[r];
    t->cols[0].null[n] = 1;
    stats_result *r = run(t, 4, true);
    const stats_column *c = &r->columns[0];
    assert_int_equal(c->count, n);
    assert_int_equal(c->null_count, 1);
    assert_int_equal(c->nan_count, 2);
    assert_int_equal(c->posinf_count, 1);
    assert_int_equal(c->neginf_count, 1);
    assert_true(isinf(c->min.v.f64) && c->min.v.f64 < 0);
    assert_true(isinf(c->max.v.f64) && c->max.v.f64 > 0);
    assert_int_equal(c->moment_count, 5);      /* 1, -0, 0, 2, 3 */
    assert_rel(c->mean, 6.0 / 5.0, 1e-15);
    assert_int_equal(c->distinct, 7);          /* 1, NaN, inf, -inf, 0 (= -0), 2, 3 */
    assert_true(c->percentiles[3] == 1.0);
    /* JSON has no NaN or Infinity: strings; YAML keeps the same document, and a float
     * without a '.' gets one so that YAML 1.1 readers still see a float. */
    stats_table_entry e = {"data", "data", r};
    stats_document doc = {"nan", "2026-01-01T00:00:00", true, &e, 1};
    char *text = NULL;
    assert_int_equal(stats_export_json_text(&text, &doc), 0);
    assert_non_null(strstr(text, "\"max\": \"Infinity\""));
    assert_non_null(strstr(text, "\"min\": \"-Infinity\""));
    free(text);
    stats_result_free(r);
    table_free(t);

    t = table_new(f, 1, 2);
    t->cols[0].f[0] = 1e22;
    t->cols[0].f[1] = 2.0;
    r = run(t, 2, false);
    e.result = r;
    assert_int_equal(stats_export_yaml_text(&text, &doc), 0);
    assert_non_null(strstr(text, "max: 1.0e+22\n"));
    assert_non_null(strstr(text, "min: 2.0\n"));
    free(text);
    stats_result_free(r);
    table_free(t);
}

static void duplicate_rows(void **state)
{
    (void)state;
    mdm_field f[] = {{"a", MDM_TYPE_INT64}, {"b", MDM_TYPE_TEXT}};
    size_t n = 200000;
    table_data *t = table_new(f, 2, n);
    uint64_t want = 0;
    for (size_t r = 0; r < n; r++) {
        bool dup = r >= 1000 && rnd() % 4 == 0;
        size_t src = dup ? rnd() % r : r;
        /* The row is a copy of row `src` (itself possibly a copy); NULLs included. */
        int64_t key = dup ? t->cols[0].i[src] : (int64_t)r;
        t->cols[0].i[r] = key;
        t->cols[0].null[r] = dup ? t->cols[0].null[src] : r % 97 == 0;
        char buf[32];
        snprintf(buf, sizeof buf, "v%lld", (long long)key);
        set_text(t, 1, r, dup ? t->cols[1].t[src] : buf);
        want += dup;
    }
    /* Original rows differ in b even where a is NULL; copies repeat both. */
    stats_result *r = run(t, 8192, true);
    assert_true(r->duplicates_exact);
    assert_int_equal(r->duplicate_rows, want);
    stats_result_free(r);

    stats_options opts;
    stats_options_default(&opts);
    opts.duplicate_memory = 64 << 10; /* forces hash-space sampling */
    r = run_opts(t, 8192, true, &opts);
    assert_false(r->duplicates_exact);
    double err = fabs((double)r->duplicate_rows - (double)want) / (double)want;
    print_message("duplicates: exact %llu, sampled estimate %llu (%.2f%% off)\n",
                  (unsigned long long)want, (unsigned long long)r->duplicate_rows, err * 100);
    assert_true(err < 0.15);
    stats_result_free(r);
    table_free(t);
}

static void text_edge_cases(void **state)
{
    (void)state;
    mdm_field f[] = {{"t", MDM_TYPE_TEXT}};
    const char *v[] = {"b", "", "ab", "a", "\xC3\xA9", "abc", "a"};
    size_t n = sizeof v / sizeof *v;
    table_data *t = table_new(f, 1, n + 2);
    for (size_t r = 0; r < n; r++)
        set_text(t, 0, r, v[r]);
    t->cols[0].null[n] = t->cols[0].null[n + 1] = 1;
    stats_result *r = run(t, 3, false);
    const stats_column *c = &r->columns[0];
    assert_int_equal(c->count, n);
    assert_int_equal(c->null_count, 2);
    assert_int_equal(c->distinct, 6); /* "" is a value, not NULL */
    assert_string_equal(c->min.text, "");
    assert_string_equal(c->max.text, "\xC3\xA9");
    assert_int_equal(c->min_length, 0);
    assert_int_equal(c->max_length, 3);
    assert_string_equal(c->top[0].value.text, "a");
    assert_int_equal(c->top[0].count, 2);
    stats_result_free(r);
    table_free(t);

    /* A NUL byte and bytes that are not UTF-8 (possible through the C API) keep every
     * form valid: JSON escapes NUL and replaces bad bytes with U+FFFD, CSV shows NUL as ␀. */
    stats *s = NULL;
    mdm_batch *b = NULL;
    assert_int_equal(stats_new(&s, f, 1, true), 0);
    assert_int_equal(mdm_batch_new(&b, f, 1, 4), 0);
    size_t row;
    assert_int_equal(mdm_batch_add_row(b, &row), 0);
    assert_int_equal(mdm_batch_set_text(b, 0, row, "a\0b", 3), 0);
    assert_int_equal(mdm_batch_add_row(b, &row), 0);
    assert_int_equal(mdm_batch_set_text(b, 0, row, "\xff\xfe", 2), 0);
    assert_int_equal(stats_add_batch(s, b), 0);
    assert_int_equal(stats_finish(&r, s), 0);
    assert_int_equal(r->columns[0].min.text_len, 3);
    stats_table_entry e = {"data", "data", r};
    stats_document doc = {"odd", NULL, true, &e, 1};
    char *text = NULL;
    assert_int_equal(stats_export_json_text(&text, &doc), 0);
    json_error_t err;
    json_t *root = json_loads(text, JSON_ALLOW_NUL, &err);
    assert_non_null(root);
    json_decref(root);
    free(text);
    assert_int_equal(stats_export_yaml_text(&text, &doc), 0);
    assert_non_null(strstr(text, "\"a\\0b\""));
    free(text);
    assert_int_equal(stats_export_csv_text(&text, &doc), 0);
    assert_non_null(strstr(text, "a\xE2\x90\x80" "b"));
    assert_non_null(strstr(text, "\xEF\xBF\xBD\xEF\xBF\xBD"));
    free(text);
    stats_result_free(r);
    stats_free(s);
    mdm_batch_free(b);
}

/* Many distinct texts: approximate distinct within 2%, space-saving top values find the
 * heavy hitters with bounded overcount. */
static void text_past_caps(void **state)
{
    (void)state;
    mdm_field f[] = {{"t", MDM_TYPE_TEXT}};
    size_t n = 300000;
    table_data *t = table_new(f, 1, n);
    for (size_t r = 0; r < n; r++) {
        char buf[48];
        if (r % 10 < 3)
            snprintf(buf, sizeof buf, "heavy-%zu", r % 3);
        else
            snprintf(buf, sizeof buf, "value-%llu", (unsigned long long)(rnd() % 100000));
        set_text(t, 0, r, buf);
    }
    stats_result *r = run(t, 10000, false);
    const stats_column *c = &r->columns[0];
    char **sorted = malloc(n * sizeof *sorted);
    memcpy(sorted, t->cols[0].t, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_str);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || strcmp(sorted[i], sorted[i - 1]) != 0;
    free(sorted);
    assert_false(c->distinct_exact);
    assert_true(fabs((double)c->distinct - (double)distinct) <= 0.02 * (double)distinct);
    assert_false(c->top_exact);
    assert_true(c->ntop == 10);
    for (size_t i = 0; i < 3; i++) {
        assert_true(strncmp(c->top[i].value.text, "heavy-", 6) == 0);
        assert_true(c->top[i].count >= 30000 && c->top[i].count - c->top[i].max_overcount <= 30000);
    }
    stats_result_free(r);
    table_free(t);
}

static void mismatched_batch_is_rejected(void **state)
{
    (void)state;
    mdm_field f[] = {{"a", MDM_TYPE_INT64}, {"b", MDM_TYPE_TEXT}};
    mdm_field g[] = {{"a", MDM_TYPE_INT64}, {"b", MDM_TYPE_FLOAT64}};
    stats *s = NULL;
    mdm_batch *b = NULL;
    assert_int_equal(stats_new(&s, f, 2, false), 0);
    assert_int_equal(mdm_batch_new(&b, g, 2, 4), 0);
    assert_int_equal(stats_add_batch(s, b), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "'b'"));
    mdm_batch_free(b);
    assert_int_equal(mdm_batch_new(&b, g, 1, 4), 0);
    assert_int_equal(stats_add_batch(s, b), MDM_EINVALID);
    mdm_batch_free(b);
    stats_free(s);
}

/* Strictly ordered values (IDs) are all distinct: exact past the distinct cap. */
static void ordered_ids_are_exactly_unique(void **state)
{
    (void)state;
    mdm_field f[] = {{"id", MDM_TYPE_INT64}, {"user", MDM_TYPE_TEXT}, {"down", MDM_TYPE_FLOAT64},
                     {"shuffled", MDM_TYPE_INT64}, {"day", MDM_TYPE_DATE}};
    size_t n = 50000;
    table_data *t = table_new(f, 5, n);
    for (size_t r = 0; r < n; r++) {
        char buf[32];
        snprintf(buf, sizeof buf, "user_%06zu", r);
        t->cols[0].i[r] = (int64_t)r * 3;
        t->cols[0].null[r] = r % 10 == 5; /* NULLs do not break the order */
        set_text(t, 1, r, buf);
        t->cols[2].f[r] = -(double)r;
        t->cols[3].i[r] = (int64_t)((r * 7919) % n);
        t->cols[4].i[r] = (int64_t)(r % 20000); /* rises, then repeats */
    }
    stats_result *r = run(t, 999, false);
    assert_true(r->columns[0].increasing && r->columns[0].distinct_exact);
    assert_int_equal(r->columns[0].distinct, r->columns[0].count);
    assert_true(r->columns[1].increasing && r->columns[1].distinct_exact);
    assert_int_equal(r->columns[1].distinct, n);
    assert_true(r->columns[2].decreasing && !r->columns[2].increasing);
    assert_int_equal(r->columns[2].distinct, n);
    assert_false(r->columns[3].increasing || r->columns[3].decreasing);
    assert_false(r->columns[3].distinct_exact); /* all distinct, but nothing proves it */
    assert_false(r->columns[4].increasing);
    assert_false(r->columns[4].distinct_exact);
    stats_result_free(r);
    table_free(t);
}

/* 3,000 columns: the per-column caps shrink to keep the total within the memory budget,
 * the numbers stay right, and the result says where it had to estimate. */
static void wide_table_stays_bounded(void **state)
{
    (void)state;
    const size_t ncols = 3000, nrows = 1000;
    mdm_field *f = calloc(ncols, sizeof *f);
    char (*names)[16] = calloc(ncols, sizeof *names);
    for (size_t c = 0; c < ncols; c++) {
        snprintf(names[c], sizeof names[c], "c%zu", c);
        f[c].name = names[c];
        f[c].type = c % 3 == 0 ? MDM_TYPE_TEXT : c % 3 == 1 ? MDM_TYPE_INT64 : MDM_TYPE_FLOAT64;
    }
    table_data *t = table_new(f, ncols, nrows);
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++) {
            if (c % 3 == 0) {
                char buf[24];
                snprintf(buf, sizeof buf, "t%zu", r % 30); /* fewer than the ~40 counters left per column */
                set_text(t, c, r, buf);
            } else {
                t->cols[c].i[r] = (int64_t)((r * 7919) % 1000); /* 1,000 distinct, unordered */
                t->cols[c].f[r] = (double)(r % 7);
            }
        }
    stats_result *r = run(t, 1000, false);
    for (size_t c = 0; c < 6; c++) {
        const stats_column *sc = &r->columns[c];
        assert_int_equal(sc->count, nrows);
        if (c % 3 == 0) {
            assert_int_equal(sc->distinct, 30);
            assert_true(sc->distinct_exact && sc->top_exact);
        } else if (c % 3 == 1) {
            assert_false(sc->distinct_exact); /* 1,000 values > the cap for 3,000 columns */
            assert_true(fabs((double)sc->distinct - 1000.0) < 0.05 * 1000.0);
            assert_rel(sc->mean, 499.5, 1e-15);
        } else {
            assert_int_equal(sc->distinct, 7);
        }
    }
    stats_result_free(r);
    table_free(t);
    free(f);
    free(names);
}

/* Random schemas, sizes, batch splits and awkward values (extremes, NaN, ±Inf, -0.0,
 * empty and long text, stray bytes): invariants hold, every export form is produced and
 * the JSON parses, and one batch or many give the same counts. */
static void random_tables_keep_invariants(void **state)
{
    (void)state;
    for (int round = 0; round < 40; round++) {
        size_t ncols = 1 + rnd() % 10, nrows = rnd() % 3000;
        mdm_field f[10];
        char names[10][24];
        for (size_t c = 0; c < ncols; c++) {
            snprintf(names[c], sizeof names[c], "c%zu", c);
            f[c].name = names[c];
            f[c].type = (mdm_type)(MDM_TYPE_INT64 + rnd() % 6);
        }
        table_data *t = table_new(f, ncols, nrows);
        uint64_t domain = 1 + rnd() % 2000;
        for (size_t r = 0; r < nrows; r++)
            for (size_t c = 0; c < ncols; c++) {
                column_data *cd = &t->cols[c];
                cd->null[r] = rnd() % 5 == 0;
                uint64_t k = rnd() % domain;
                switch (cd->type) {
                case MDM_TYPE_INT64:
                    cd->i[r] = k == 0 ? INT64_MIN : k == 1 ? INT64_MAX : (int64_t)k - 500;
                    break;
                case MDM_TYPE_FLOAT64: {
                    double special[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0, 1e308, -1e308, 5e-324};
                    cd->f[r] = k < 8 ? special[k] : (double)k / 7.0;
                    break;
                }
                case MDM_TYPE_BOOL: cd->i[r] = (int64_t)(k & 1); break;
                case MDM_TYPE_DATE: cd->i[r] = (int64_t)k * 37 - 40000; break;
                case MDM_TYPE_TIMESTAMP: cd->i[r] = (int64_t)k * 86400123456LL - 1000000000000000LL; break;
                case MDM_TYPE_TEXT: {
                    if (k == 0) {
                        char *big = malloc(5001);
                        memset(big, 'x', 5000);
                        big[5000] = '\0';
                        free(cd->t[r]);
                        cd->t[r] = big;
                    } else {
                        char buf[32];
                        snprintf(buf, sizeof buf, k == 1 ? "" : k == 2 ? "\xff\xc3" : "s%llu", (unsigned long long)k);
                        set_text(t, c, r, buf);
                    }
                    break;
                }
                }
            }
        bool full = rnd() & 1;
        stats_options opts;
        stats_options_default(&opts);
        if (rnd() & 1) { /* small caps: the sketches take over early */
            opts.distinct_exact_cap = 50;
            opts.quantile_exact_cap = 100;
            opts.topk_counters = 16;
            opts.duplicate_memory = 16 << 10;
        }
        size_t batch = 1 + rnd() % 700;
        stats_result *a = run_opts(t, batch, full, &opts);
        stats_result *b = run_opts(t, nrows ? nrows : 1, full, &opts);
        assert_int_equal(a->rows, nrows);
        for (size_t c = 0; c < ncols; c++) {
            const stats_column *x = &a->columns[c], *y = &b->columns[c];
            assert_int_equal(x->count + x->null_count, nrows);
            assert_true(x->distinct <= x->count);
            assert_int_equal(x->count, y->count);
            assert_int_equal(x->distinct, y->distinct);
            assert_true(x->distinct > 0 || x->count == 0);
            if (x->has_min_max && x->type == MDM_TYPE_INT64)
                assert_true(x->min.v.i64 <= x->max.v.i64);
            if (x->has_min_max && x->type == MDM_TYPE_FLOAT64)
                assert_true(x->min.v.f64 <= x->max.v.f64);
            if (x->has_percentiles)
                for (int p = 1; p < STATS_NPERCENTILES; p++)
                    assert_true(x->percentiles[p - 1] <= x->percentiles[p] || isnan(x->percentiles[p]));
            uint64_t top_total = 0;
            for (size_t i = 0; i < x->ntop; i++)
                top_total += x->top[i].count - x->top[i].max_overcount;
            assert_true(top_total <= x->count);
        }
        stats_table_entry e = {"data", "data", a};
        stats_document doc = {"random", NULL, full, &e, 1};
        char *text = NULL;
        assert_int_equal(stats_export_json_text(&text, &doc), 0);
        json_error_t err;
        json_t *root = json_loads(text, 0, &err);
        if (!root)
            print_error("round %d: %s at line %d\n", round, err.text, err.line);
        assert_non_null(root);
        json_decref(root);
        free(text);
        assert_int_equal(stats_export_yaml_text(&text, &doc), 0);
        free(text);
        assert_int_equal(stats_export_csv_text(&text, &doc), 0);
        free(text);
        stats_result_free(a);
        stats_result_free(b);
        table_free(t);
    }
}

/* ------------------------------------------------------------------ export */

static void exports_round_trip(void **state)
{
    (void)state;
    table_data *t = mixed_table(5000);
    /* An extreme int64; the means and stds below need all 17 digits to round-trip. */
    t->cols[0].i[1] = INT64_MIN;
    t->cols[0].null[1] = 0;
    stats_result *r = run(t, 1000, true);
    stats_table_entry e = {"train", "train", r};
    stats_document doc = {"shop", "2026-11-23T19:00:00", true, &e, 1};

    char *text = NULL;
    assert_int_equal(stats_export_json_text(&text, &doc), 0);
    json_error_t err;
    json_t *root = json_loads(text, 0, &err);
    assert_non_null(root);
    free(text);
    assert_string_equal(json_string_value(json_object_get(root, "mode")), "full");
    json_t *train = json_object_get(json_object_get(root, "tables"), "train");
    assert_int_equal(json_integer_value(json_object_get(train, "row_count")), 5000);
    json_t *cols = json_object_get(train, "columns");
    json_t *score = json_object_get(cols, "score");
    assert_true(json_real_value(json_object_get(score, "mean")) == r->columns[7].mean);
    assert_true(json_real_value(json_object_get(score, "max")) == r->columns[7].max.v.f64);
    assert_true(json_real_value(json_object_get(score, "std")) == r->columns[7].std);
    json_t *id = json_object_get(cols, "id");
    assert_true(json_integer_value(json_object_get(id, "min")) == INT64_MIN);
    json_t *day = json_object_get(cols, "day");
    char buf[16];
    mdm_date_format(buf, sizeof buf, r->columns[4].min.v.date);
    assert_string_equal(json_string_value(json_object_get(day, "min")), buf);
    assert_non_null(strchr(json_string_value(json_object_get(json_object_get(cols, "at"), "max")), 'T'));
    json_t *city = json_object_get(cols, "city");
    assert_true(json_integer_value(json_object_get(json_object_get(city, "value_counts"), "Paris")) ==
                (json_int_t)r->columns[2].top[0].count);
    json_t *high = json_object_get(json_object_get(train, "correlations"), "high_correlations");
    assert_int_equal(json_array_size(high), 1); /* price ~ score */
    assert_string_equal(json_string_value(json_object_get(json_array_get(high, 0), "column1")), "price");
    assert_non_null(json_object_get(json_object_get(train, "data_quality"), "duplicate_rows"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "summary"), "total_rows")), 5000);
    json_decref(root);

    /* YAML parses and holds the same numbers. */
    assert_int_equal(stats_export_yaml_text(&text, &doc), 0);
    yaml_parser_t parser;
    yaml_document_t ydoc;
    assert_true(yaml_parser_initialize(&parser));
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    assert_true(yaml_parser_load(&parser, &ydoc));
    assert_non_null(yaml_document_get_root_node(&ydoc));
    yaml_document_delete(&ydoc);
    yaml_parser_delete(&parser);
    assert_non_null(strstr(text, "row_count: 5000\n"));
    assert_non_null(strstr(text, "dataset_name: shop\n"));
    assert_non_null(strstr(text, "min: \"")); /* dates stay strings */
    free(text);

    /* CSV: a header and one row per column of every table; RFC 4180 quoting. */
    mdm_field odd[] = {{"we\"ird, name", MDM_TYPE_TEXT}};
    table_data *t2 = table_new(odd, 1, 1);
    set_text(t2, 0, 0, "x\"y");
    stats_result *r2 = run(t2, 10, false);
    stats_table_entry two[] = {{"train", "train", r}, {"test", "test", r2}};
    stats_document doc2 = {"shop", NULL, true, two, 2};
    assert_int_equal(stats_export_csv_text(&text, &doc2), 0);
    size_t lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, MIXED_COLS + 2);
    assert_non_null(strstr(text, "\r\ntrain,city,text,"));
    assert_non_null(strstr(text, "\r\ntest,\"we\"\"ird, name\",text,1,0,0,1,true,\"x\"\"y\",\"x\"\"y\","));
    free(text);
    stats_result_free(r2);
    table_free(t2);

    char dir[] = "/tmp/mdm_stats_XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *names[] = {"s.json", "s.yaml", "s.csv"};
    for (size_t i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        assert_int_equal(stats_export_file(path, &doc), 0);
        assert_int_equal(access(path, R_OK), 0);
        unlink(path);
    }
    rmdir(dir);
    char bad[] = "/nonexistent-dir/x.json";
    assert_int_equal(stats_export_file(bad, &doc), MDM_EIO);
    assert_non_null(strstr(mdm_error_last()->message, bad));
    stats_result_free(r);
    table_free(t);
}

/* ------------------------------------------------------------------ sketches */

static void sketches_against_references(void **state)
{
    (void)state;
    /* Sorting: the radix path (n >= 256) and the small path agree with qsort, including
     * negatives, infinities, signed zeros and extreme integers. */
    for (size_t n = 1; n <= 5000; n = n * 3 + 7) {
        double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
        int64_t *ia = malloc(n * sizeof *ia), *ib = malloc(n * sizeof *ib);
        for (size_t i = 0; i < n; i++) {
            uint64_t k = rnd() % 10;
            a[i] = k == 0 ? -INFINITY : k == 1 ? INFINITY : k == 2 ? -0.0 : k == 3 ? 0.0
                 : rnd_normal() * pow(10.0, (double)(rnd() % 40) - 20.0);
            ia[i] = k == 0 ? INT64_MIN : k == 1 ? INT64_MAX : (int64_t)rnd();
        }
        memcpy(b, a, n * sizeof *a);
        memcpy(ib, ia, n * sizeof *ia);
        sketch_sort_doubles(a, n);
        qsort(b, n, sizeof *b, cmp_f64);
        sketch_sort_int64(ia, n);
        qsort(ib, n, sizeof *ib, cmp_i64);
        for (size_t i = 0; i < n; i++) {
            assert_true(a[i] == b[i]);
            assert_true(ia[i] == ib[i]);
        }
        free(a);
        free(b);
        free(ia);
        free(ib);
    }

    /* HyperLogLog over a range of cardinalities (precision 15: 0.57% standard error). */
    size_t cards[] = {1, 10, 1000, 30000, 200000, 2000000};
    for (size_t k = 0; k < sizeof cards / sizeof *cards; k++) {
        sketch_hll hll;
        assert_int_equal(sketch_hll_init(&hll, 15), 0);
        for (size_t i = 0; i < cards[k]; i++) {
            sketch_hll_add(&hll, sketch_mix64(i));
            sketch_hll_add(&hll, sketch_mix64(i)); /* repeats change nothing */
        }
        double est = sketch_hll_estimate(&hll);
        assert_true(fabs(est - (double)cards[k]) <= 0.03 * (double)cards[k] + 0.5);
        sketch_hll_free(&hll);
    }

    /* Space-saving: exact while the keys fit the counters (plain counts, no order)... */
    sketch_topk tk;
    assert_int_equal(sketch_topk_init(&tk, 8, 16), 0);
    for (uint64_t i = 0; i < 800; i++) {
        uint64_t v = i % 8 < 5 ? i % 8 : 0; /* 0 gets 4 of every 8, 1..4 one each */
        assert_int_equal(sketch_topk_add(&tk, sketch_mix64(v), &v, sizeof v), 0);
    }
    assert_false(tk.evicted);
    assert_int_equal(tk.used, 5);
    for (size_t i = 0; i < tk.used; i++) {
        uint64_t v;
        memcpy(&v, tk.items[i].payload, sizeof v);
        assert_int_equal(tk.items[i].count, v == 0 ? 400 : 100);
        assert_int_equal(tk.items[i].error, 0);
    }
    sketch_topk_free(&tk);

    /* ...then counts never under-count and over-count by at most max_overcount. */
    assert_int_equal(sketch_topk_init(&tk, 8, 16), 0);
    uint64_t truth[100] = {0};
    for (size_t i = 0; i < 20000; i++) {
        uint64_t v = rnd() % 3 == 0 ? rnd() % 3 : rnd() % 100;
        truth[v]++;
        assert_int_equal(sketch_topk_add(&tk, sketch_mix64(v), &v, sizeof v), 0);
    }
    assert_true(tk.evicted);
    for (size_t i = 0; i < tk.used; i++) {
        uint64_t v;
        memcpy(&v, tk.items[i].payload, sizeof v);
        assert_true(tk.items[i].count >= truth[v]);
        assert_true(tk.items[i].count - tk.items[i].error <= truth[v]);
    }
    for (uint64_t v = 0; v < 3; v++) { /* the heavy hitters are kept */
        bool found = false;
        for (size_t i = 0; i < tk.used; i++)
            found |= memcmp(tk.items[i].payload, &v, sizeof v) == 0;
        assert_true(found);
    }
    sketch_topk_free(&tk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(basic_matches_naive),
        cmocka_unit_test(full_matches_naive),
        cmocka_unit_test(percentiles_sketch_error),
        cmocka_unit_test(batch_size_does_not_matter),
        cmocka_unit_test(empty_table_and_all_null_column),
        cmocka_unit_test(nan_and_infinities),
        cmocka_unit_test(duplicate_rows),
        cmocka_unit_test(text_edge_cases),
        cmocka_unit_test(text_past_caps),
        cmocka_unit_test(mismatched_batch_is_rejected),
        cmocka_unit_test(ordered_ids_are_exactly_unique),
        cmocka_unit_test(wide_table_stays_bounded),
        cmocka_unit_test(random_tables_keep_invariants),
        cmocka_unit_test(exports_round_trip),
        cmocka_unit_test(sketches_against_references),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
