/* Streaming table statistics (see stats.h). Batches are processed in chunks of rows so
 * that every scratch array stays in cache; each chunk's numbers are summarised exactly
 * (two-pass moments) and merged into the running state with Pébay's pairwise formulas,
 * which keeps results independent of the batch size up to rounding. */
#include "dataset/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/stats_internal.h"

const double stats_percentile_levels[STATS_NPERCENTILES] = {0.01, 0.05, 0.25, 0.5,
                                                            0.75, 0.95, 0.99};
const char *const stats_percentile_names[STATS_NPERCENTILES] = {"p1",  "p5",  "p25", "p50",
                                                                "p75", "p95", "p99"};

void stats_options_default(stats_options *opts)
{
    *opts = (stats_options){
        .distinct_exact_cap = 10000,
        .hll_precision = 15,
        .topk_counters = 1024,
        .top_values = 10,
        .top_value_max_bytes = 1024,
        .quantile_exact_cap = 100000,
        .tdigest_compression = 200.0,
        .memory_budget = (size_t)64 << 20,
        .duplicate_memory = (size_t)64 << 20,
        .max_correlation_columns = 200,
        .high_correlation = 0.8,
    };
}

/* ------------------------------------------------------------------ moments */

/* Moments of n values, two-pass with the shift correction of the corrected two-pass
 * algorithm, so that a large mean does not swamp a small spread. */
static void moments_of(moments *out, const double *x, size_t n, bool higher)
{
    *out = (moments){0};
    if (n == 0)
        return;
    double dn = (double)n;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += x[i];
        s1 += x[i + 1];
        s2 += x[i + 2];
        s3 += x[i + 3];
    }
    for (; i < n; i++)
        s0 += x[i];
    double mean0 = ((s0 + s1) + (s2 + s3)) / dn;
    if (!isfinite(mean0)) { /* the sum overflowed: average the scaled values */
        mean0 = 0.0;
        for (i = 0; i < n; i++)
            mean0 += x[i] / dn;
    }
    double d1 = 0, d2 = 0, d3 = 0, d4 = 0;
    if (higher) {
        for (i = 0; i < n; i++) {
            double d = x[i] - mean0, dd = d * d;
            d1 += d;
            d2 += dd;
            d3 += dd * d;
            d4 += dd * dd;
        }
    } else {
        double e1 = 0, e2 = 0;
        for (i = 0; i + 2 <= n; i += 2) {
            double d = x[i] - mean0, e = x[i + 1] - mean0;
            d1 += d;
            d2 += d * d;
            e1 += e;
            e2 += e * e;
        }
        for (; i < n; i++) {
            double d = x[i] - mean0;
            d1 += d;
            d2 += d * d;
        }
        d1 += e1;
        d2 += e2;
    }
    double c = d1 / dn, c2 = c * c;
    out->n = n;
    out->mean = mean0 + c;
    out->m2 = d2 - c * d1;
    if (out->m2 < 0.0)
        out->m2 = 0.0;
    if (higher) {
        out->m3 = d3 - 3.0 * c * d2 + 3.0 * c2 * d1 - dn * c2 * c;
        out->m4 = d4 - 4.0 * c * d3 + 6.0 * c2 * d2 - 4.0 * c2 * c * d1 + dn * c2 * c2;
    }
}

/* Pébay, "Formulas for robust, one-pass parallel computation of covariances and
 * arbitrary-order statistical moments" (2008). */
static void moments_merge(moments *a, const moments *b)
{
    if (b->n == 0)
        return;
    if (a->n == 0) {
        *a = *b;
        return;
    }
    double na = (double)a->n, nb = (double)b->n, n = na + nb;
    double d = b->mean - a->mean, dn = d / n, dn2 = dn * dn;
    double m2 = a->m2 + b->m2 + d * dn * na * nb;
    double m3 = a->m3 + b->m3 + dn2 * d * na * nb * (na - nb) +
                3.0 * dn * (na * b->m2 - nb * a->m2);
    double m4 = a->m4 + b->m4 + dn2 * dn * d * na * nb * (na * na - na * nb + nb * nb) +
                6.0 * dn2 * (na * na * b->m2 + nb * nb * a->m2) + 4.0 * dn * (na * b->m3 - nb * a->m3);
    a->mean += dn * nb;
    a->m2 = m2;
    a->m3 = m3;
    a->m4 = m4;
    a->n += b->n;
}

/* ------------------------------------------------------------------ quantiles */

static int quantiles_switch(quantiles *q, double compression)
{
    int rc = sketch_tdigest_init(&q->td, compression);
    if (rc)
        return rc;
    for (size_t i = 0; i < q->n && !rc; i++)
        rc = sketch_tdigest_add(&q->td, q->is_int ? (double)q->ints[i] : q->doubles[i]);
    free(q->ints);
    free(q->doubles);
    q->ints = NULL;
    q->doubles = NULL;
    q->sketching = true;
    return rc;
}

static int quantiles_reserve(quantiles *q)
{
    size_t cap = q->cap ? q->cap * 2 : 1024;
    if (cap > q->limit)
        cap = q->limit;
    void *p = q->is_int ? realloc(q->ints, cap * sizeof *q->ints)
                        : realloc(q->doubles, cap * sizeof *q->doubles);
    if (!p)
        return mdm_error_set(MDM_ENOMEM, "out of memory keeping %zu values for percentiles", cap);
    if (q->is_int)
        q->ints = p;
    else
        q->doubles = p;
    q->cap = cap;
    return 0;
}

static int quantiles_add(quantiles *q, double x, int64_t i, double compression)
{
    if (q->sketching)
        return sketch_tdigest_add(&q->td, x);
    if (q->n == q->cap) {
        int rc = q->n >= q->limit ? quantiles_switch(q, compression) : quantiles_reserve(q);
        if (rc)
            return rc;
        if (q->sketching)
            return sketch_tdigest_add(&q->td, x);
    }
    if (q->is_int)
        q->ints[q->n++] = i;
    else
        q->doubles[q->n++] = x;
    return 0;
}

/* Linear interpolation between closest ranks (pandas' default, Hyndman-Fan type 7). */
int stats_quantiles_compute(quantiles *q, double out[STATS_NPERCENTILES], bool *exact)
{
    *exact = !q->sketching;
    if (q->sketching) {
        int rc = sketch_tdigest_flush(&q->td);
        if (rc)
            return rc;
        for (int k = 0; k < STATS_NPERCENTILES; k++)
            out[k] = sketch_tdigest_quantile(&q->td, stats_percentile_levels[k]);
        return 0;
    }
    if (q->is_int)
        sketch_sort_int64(q->ints, q->n);
    else
        sketch_sort_doubles(q->doubles, q->n);
    for (int k = 0; k < STATS_NPERCENTILES; k++) {
        double h = (double)(q->n - 1) * stats_percentile_levels[k];
        size_t lo = (size_t)floor(h);
        size_t hi = lo + 1 < q->n ? lo + 1 : lo;
        double frac = h - (double)lo;
        if (q->is_int) {
            long double a = (long double)q->ints[lo], b = (long double)q->ints[hi];
            out[k] = (double)(a + (b - a) * (long double)frac);
        } else {
            double a = q->doubles[lo], b = q->doubles[hi];
            out[k] = frac == 0.0 ? a : a + (b - a) * frac;
        }
    }
    return 0;
}

static void quantiles_free(quantiles *q)
{
    free(q->ints);
    free(q->doubles);
    if (q->sketching)
        sketch_tdigest_free(&q->td);
    memset(q, 0, sizeof *q);
}

/* ------------------------------------------------------------------ per value kinds */

/* Strict order of fixed-width values, checked while it may still hold. */
#define TRACK_ORDER(c, val, last)                                                       \
    do {                                                                                \
        if ((c)->has_last) {                                                            \
            (c)->rising &= (val) > (last);                                              \
            (c)->falling &= (val) < (last);                                             \
        }                                                                               \
        (c)->has_last = true;                                                           \
        (last) = (val);                                                                 \
    } while (0)

static bool is_numeric(mdm_type t) { return t == MDM_TYPE_INT64 || t == MDM_TYPE_FLOAT64; }

/* Distinct values of the chunk's non-NULL hashes: exact set, then HyperLogLog. */
static int distinct_add(stats *s, column_state *c, const uint8_t *nulls, size_t n)
{
    const uint64_t *h = s->hashes;
    size_t r = 0;
    if (c->set_active) {
        for (; r < n; r++) {
            if (nulls[r])
                continue;
            int rc = sketch_hset_add(&c->set, h[r]);
            if (rc < 0)
                return rc;
            if (c->set.count > s->distinct_cap) {
                rc = sketch_hll_init(&c->hll, s->hll_precision);
                if (rc)
                    return rc;
                sketch_hll_add_set(&c->hll, &c->set);
                sketch_hset_free(&c->set);
                c->set_active = false;
                c->hll_active = true;
                r++;
                break;
            }
        }
    }
    if (c->hll_active)
        for (; r < n; r++)
            if (!nulls[r])
                sketch_hll_add(&c->hll, h[r]);
    /* Numbers and dates keep top values only while they look categorical. */
    if (c->topk_active && c->type != MDM_TYPE_TEXT &&
        (!c->set_active || c->set.count > s->topk_counters)) {
        sketch_topk_free(&c->topk);
        c->topk_active = false;
    }
    return 0;
}

static int topk_add_fixed(column_state *c, const uint64_t *hashes, const uint8_t *nulls,
                          const void *data, size_t width, size_t n)
{
    if (!c->topk_active)
        return 0;
    for (size_t r = 0; r < n; r++) {
        if (nulls[r])
            continue;
        int rc = sketch_topk_add(&c->topk, hashes[r], (const char *)data + r * width, width);
        if (rc)
            return rc;
    }
    return 0;
}

static int add_int64(stats *s, column_state *c, const int64_t *v, const uint8_t *nulls, size_t n)
{
    double *x = s->scratch;
    uint64_t *h = s->hashes;
    size_t k = 0;
    int64_t lo = c->imin, hi = c->imax;
    for (size_t r = 0; r < n; r++) {
        if (nulls[r]) {
            h[r] = c->null_hash;
            continue;
        }
        int64_t val = v[r];
        lo = val < lo ? val : lo;
        hi = val > hi ? val : hi;
        TRACK_ORDER(c, val, c->last_i);
        if (!c->shift_set) {
            c->shift = (double)val;
            c->shift_set = true;
        }
        x[k++] = (double)val - c->shift;
        h[r] = sketch_mix64((uint64_t)val);
    }
    if (k)
        c->any_minmax = true;
    c->imin = lo;
    c->imax = hi;
    c->count += k;
    moments m;
    moments_of(&m, x, k, s->full);
    moments_merge(&c->mom, &m);
    int rc = distinct_add(s, c, nulls, n);
    if (!rc)
        rc = topk_add_fixed(c, h, nulls, v, sizeof *v, n);
    if (!rc && s->full) {
        for (size_t r = 0; r < n && !rc; r++)
            if (!nulls[r])
                rc = quantiles_add(&c->q, (double)v[r], v[r], s->compression);
    }
    if (!rc && c->corr_index >= 0) {
        double *cv = corr_values(&s->corr, (size_t)c->corr_index);
        uint8_t *ok = corr_valid(&s->corr, (size_t)c->corr_index);
        for (size_t r = 0; r < n; r++) {
            cv[r] = nulls[r] ? 0.0 : (double)v[r] - c->shift;
            ok[r] = !nulls[r];
        }
    }
    return rc;
}

static uint64_t float_hash(double x)
{
    if (x == 0.0)
        x = 0.0; /* -0.0 and 0.0 are one value */
    if (isnan(x))
        return sketch_mix64(0x7ff8000000000000ULL);
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return sketch_mix64(bits);
}

static int add_float64(stats *s, column_state *c, const double *v, const uint8_t *nulls, size_t n)
{
    double *x = s->scratch;
    uint64_t *h = s->hashes;
    size_t k = 0;
    uint64_t nonnull = 0;
    double lo = c->fmin, hi = c->fmax;
    for (size_t r = 0; r < n; r++) {
        if (nulls[r]) {
            h[r] = c->null_hash;
            continue;
        }
        double val = v[r];
        nonnull++;
        h[r] = float_hash(val);
        if (isnan(val)) {
            c->nan++;
            c->rising = c->falling = false;
            continue;
        }
        TRACK_ORDER(c, val, c->last_f);
        lo = val < lo ? val : lo;
        hi = val > hi ? val : hi;
        if (isinf(val)) {
            if (val > 0)
                c->posinf++;
            else
                c->neginf++;
            continue;
        }
        if (!c->shift_set) {
            c->shift = val;
            c->shift_set = true;
        }
        x[k++] = val - c->shift;
    }
    if (nonnull > 0 && (lo <= hi))
        c->any_minmax = true;
    c->fmin = lo;
    c->fmax = hi;
    c->count += nonnull;
    moments m;
    moments_of(&m, x, k, s->full);
    moments_merge(&c->mom, &m);
    int rc = distinct_add(s, c, nulls, n);
    if (!rc && s->full)
        for (size_t r = 0; r < n && !rc; r++)
            if (!nulls[r] && isfinite(v[r]))
                rc = quantiles_add(&c->q, v[r], 0, s->compression);
    if (!rc && c->corr_index >= 0) {
        double *cv = corr_values(&s->corr, (size_t)c->corr_index);
        uint8_t *ok = corr_valid(&s->corr, (size_t)c->corr_index);
        for (size_t r = 0; r < n; r++) {
            bool usable = !nulls[r] && isfinite(v[r]);
            cv[r] = usable ? v[r] - c->shift : 0.0;
            ok[r] = usable;
        }
    }
    return rc;
}

static int add_bool(stats *s, column_state *c, const uint8_t *v, const uint8_t *nulls, size_t n)
{
    uint64_t *h = s->hashes;
    uint64_t k = 0, trues = 0;
    for (size_t r = 0; r < n; r++) {
        if (nulls[r]) {
            h[r] = c->null_hash;
            continue;
        }
        k++;
        trues += v[r] != 0;
        h[r] = sketch_mix64(v[r] != 0);
    }
    c->count += k;
    c->trues += trues;
    if (k)
        c->any_minmax = true;
    return 0;
}

/* Dates and timestamps: dates widen to int64, so that one min/max, order and hash path
 * serves both (`width` is 4 for int32 days, 8 for int64 microseconds). */
static int add_instants(stats *s, column_state *c, const void *v, size_t width,
                        const uint8_t *nulls, size_t n)
{
    uint64_t *h = s->hashes;
    int64_t lo = c->imin, hi = c->imax;
    size_t k = 0;
    for (size_t r = 0; r < n; r++) {
        if (nulls[r]) {
            h[r] = c->null_hash;
            continue;
        }
        int64_t val = width == 4 ? ((const int32_t *)v)[r] : ((const int64_t *)v)[r];
        k++;
        TRACK_ORDER(c, val, c->last_i);
        lo = val < lo ? val : lo;
        hi = val > hi ? val : hi;
        h[r] = sketch_mix64((uint64_t)val);
    }
    if (k)
        c->any_minmax = true;
    c->imin = lo;
    c->imax = hi;
    c->count += k;
    return distinct_add(s, c, nulls, n);
}

static int add_date(stats *s, column_state *c, const int32_t *v, const uint8_t *nulls, size_t n)
{
    int rc = add_instants(s, c, v, sizeof *v, nulls, n);
    return rc ? rc : topk_add_fixed(c, s->hashes, nulls, v, sizeof *v, n);
}

static int add_timestamp(stats *s, column_state *c, const int64_t *v, const uint8_t *nulls, size_t n)
{
    return add_instants(s, c, v, sizeof *v, nulls, n);
}

static int keep_text(char **buf, size_t *cap, size_t *len, const char *p, size_t n)
{
    if (n + 1 > *cap) {
        size_t want = n + 1 < 64 ? 64 : n + 1;
        char *b = realloc(*buf, want);
        if (!b)
            return mdm_error_set(MDM_ENOMEM, "out of memory keeping a text value of %zu bytes", n);
        *buf = b;
        *cap = want;
    }
    memcpy(*buf, p, n);
    (*buf)[n] = '\0';
    *len = n;
    return 0;
}

static int text_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int add_text(stats *s, column_state *c, const mdm_batch *b, size_t col, size_t row0,
                    const uint8_t *nulls, size_t n)
{
    uint64_t *h = s->hashes;
    uint64_t minl = c->min_len, maxl = c->max_len, total = 0;
    size_t k = 0;
    int rc = 0;
    const char *prev = c->has_last ? c->last_t : NULL; /* the value before this one */
    size_t prev_len = c->last_t_len;
    for (size_t r = 0; r < n; r++) {
        if (nulls[r]) {
            h[r] = c->null_hash;
            continue;
        }
        size_t len;
        const char *p = mdm_batch_text(b, col, row0 + r, &len);
        uint64_t hv = sketch_hash_bytes(p, len);
        h[r] = hv;
        if (c->rising || c->falling) {
            if (prev) {
                int order = text_cmp(p, len, prev, prev_len);
                c->rising &= order > 0;
                c->falling &= order < 0;
            }
            prev = p;
            prev_len = len;
        }
        k++;
        total += len;
        minl = len < minl ? len : minl;
        maxl = len > maxl ? len : maxl;
        if (!c->any_minmax) {
            rc = keep_text(&c->tmin, &c->tmin_cap, &c->tmin_len, p, len);
            if (!rc)
                rc = keep_text(&c->tmax, &c->tmax_cap, &c->tmax_len, p, len);
            c->any_minmax = true;
        } else if (text_cmp(p, len, c->tmin, c->tmin_len) < 0) {
            rc = keep_text(&c->tmin, &c->tmin_cap, &c->tmin_len, p, len);
        } else if (text_cmp(p, len, c->tmax, c->tmax_len) > 0) {
            rc = keep_text(&c->tmax, &c->tmax_cap, &c->tmax_len, p, len);
        }
        if (!rc)
            rc = sketch_topk_add(&c->topk, hv, p, len);
        if (rc)
            return rc;
    }
    /* Keep the chunk's last value for the next chunk while the order may still hold. */
    if ((c->rising || c->falling) && prev && prev != c->last_t) {
        rc = keep_text(&c->last_t, &c->last_t_cap, &c->last_t_len, prev, prev_len);
        if (rc)
            return rc;
        c->has_last = true;
    }
    c->min_len = minl;
    c->max_len = maxl;
    c->total_len += total;
    c->count += k;
    return distinct_add(s, c, nulls, n);
}

/* ------------------------------------------------------------------ lifecycle */

static void column_free(column_state *c)
{
    free(c->name);
    if (c->set_active)
        sketch_hset_free(&c->set);
    if (c->hll_active)
        sketch_hll_free(&c->hll);
    if (c->topk_active)
        sketch_topk_free(&c->topk);
    free(c->tmin);
    free(c->tmax);
    free(c->last_t);
    quantiles_free(&c->q);
}

void stats_free(stats *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ncols; i++)
        column_free(&s->cols[i]);
    free(s->cols);
    free(s->scratch);
    free(s->hashes);
    free(s->row_hash);
    free(s->row_missing);
    if (s->full) {
        sketch_dupcount_free(&s->dups);
        corr_free(&s->corr);
    }
    free(s->corr_columns);
    free(s);
}

/* Caps shrink with the column count so that a very wide table stays within the memory
 * budget: a quarter each for the exact distinct sets, the HyperLogLog registers, the
 * percentile buffers or t-digests, and the top-k counters with their value copies. */
static void size_caps(stats *s)
{
    size_t ncols = s->ncols ? s->ncols : 1, quarter = s->opts.memory_budget / 4;
    size_t per_col = quarter / ncols;
    s->distinct_cap = s->opts.distinct_exact_cap;
    if (s->distinct_cap > per_col / 24) /* up to ~23 bytes per entry at 70% load */
        s->distinct_cap = per_col / 24 > 64 ? per_col / 24 : 64;
    s->hll_precision = s->opts.hll_precision;
    while (s->hll_precision > 10 && ((size_t)1 << s->hll_precision) > per_col)
        s->hll_precision--;
    s->quantile_cap = s->opts.quantile_exact_cap;
    if (s->quantile_cap > per_col / 8)
        s->quantile_cap = per_col / 8 > 1024 ? per_col / 8 : 1024;
    /* A t-digest holds about 112 bytes per unit of compression (centroids and buffer). */
    s->compression = s->opts.tdigest_compression;
    if (s->compression * 112.0 > (double)per_col)
        s->compression = (double)per_col / 112.0 > 50.0 ? (double)per_col / 112.0 : 50.0;
    /* A counter costs about 100 bytes of bookkeeping plus its value copy. */
    s->topk_counters = s->opts.topk_counters;
    if (s->topk_counters * 132 > per_col)
        s->topk_counters = per_col / 132 > 4 * s->opts.top_values ? per_col / 132 : 4 * s->opts.top_values;
    if (s->topk_counters < 1)
        s->topk_counters = 1;
    s->top_payload = s->opts.top_value_max_bytes;
    size_t per_counter = per_col / s->topk_counters;
    per_counter = per_counter > 100 ? per_counter - 100 : 0;
    if (s->top_payload > per_counter)
        s->top_payload = per_counter > 32 ? per_counter : 32;
}

int stats_new(stats **out, const mdm_field *fields, size_t nfields, bool full)
{
    stats_options opts;
    stats_options_default(&opts);
    return stats_new_with(out, fields, nfields, full, &opts);
}

int stats_new_with(stats **out, const mdm_field *fields, size_t nfields, bool full,
                   const stats_options *opts)
{
    *out = NULL;
    int rc = 0;
    stats *s = calloc(1, sizeof *s);
    if (!s)
        return mdm_error_set(MDM_ENOMEM, "out of memory starting statistics");
    s->opts = *opts;
    s->full = full;
    s->cols = calloc(nfields ? nfields : 1, sizeof *s->cols);
    s->scratch = malloc(CHUNK_ROWS * sizeof *s->scratch);
    s->hashes = malloc(CHUNK_ROWS * sizeof *s->hashes);
    s->row_hash = malloc(CHUNK_ROWS * sizeof *s->row_hash);
    s->row_missing = malloc(CHUNK_ROWS);
    s->corr_columns = calloc(nfields ? nfields : 1, sizeof *s->corr_columns);
    if (!s->cols || !s->scratch || !s->hashes || !s->row_hash || !s->row_missing ||
        !s->corr_columns) {
        free(s->cols);
        s->cols = NULL;
        rc = mdm_error_set(MDM_ENOMEM, "out of memory starting statistics");
        goto cleanup;
    }
    s->ncols = nfields;
    size_caps(s);
    size_t ncorr = 0;
    for (size_t i = 0; i < nfields; i++) {
        column_state *c = &s->cols[i];
        c->corr_index = -1;
        c->type = fields[i].type;
        if (c->type < MDM_TYPE_INT64 || c->type > MDM_TYPE_TIMESTAMP) {
            rc = mdm_error_set(MDM_EINVALID, "statistics: column '%s' has an unknown type %d",
                               fields[i].name ? fields[i].name : "", (int)c->type);
            goto cleanup;
        }
        c->name = strdup(fields[i].name ? fields[i].name : "");
        if (!c->name) {
            rc = mdm_error_set(MDM_ENOMEM, "out of memory starting statistics");
            goto cleanup;
        }
        c->null_hash = sketch_mix64(0x6e756c6c00000000ULL + i); /* "null" + position */
        c->rising = c->falling = c->type != MDM_TYPE_BOOL;
        c->imin = INT64_MAX;
        c->imax = INT64_MIN;
        c->fmin = INFINITY;
        c->fmax = -INFINITY;
        c->min_len = UINT64_MAX;
        if (c->type != MDM_TYPE_BOOL) {
            rc = sketch_hset_init(&c->set, 64);
            if (rc)
                goto cleanup;
            c->set_active = true;
        }
        if (c->type == MDM_TYPE_TEXT || c->type == MDM_TYPE_INT64 || c->type == MDM_TYPE_DATE) {
            rc = sketch_topk_init(&c->topk, s->topk_counters, s->top_payload);
            if (rc)
                goto cleanup;
            c->topk_active = true;
        }
        if (full && is_numeric(c->type)) {
            c->q.is_int = c->type == MDM_TYPE_INT64;
            c->q.limit = s->quantile_cap;
            if (ncorr < s->opts.max_correlation_columns) {
                c->corr_index = (int)ncorr;
                s->corr_columns[ncorr++] = i;
            } else {
                s->corr_skipped++;
            }
        }
    }
    if (ncorr < 2) { /* a correlation needs two columns */
        for (size_t k = 0; k < ncorr; k++)
            s->cols[s->corr_columns[k]].corr_index = -1;
        ncorr = 0;
    }
    if (full) {
        rc = sketch_dupcount_init(&s->dups, s->opts.duplicate_memory);
        if (!rc)
            rc = corr_init(&s->corr, ncorr, CHUNK_ROWS);
        if (rc) {
            s->full = false; /* nothing to free beyond what init cleaned */
            goto cleanup;
        }
    }
    *out = s;
    s = NULL;
cleanup:
    stats_free(s);
    return rc;
}

static int add_column_chunk(stats *s, const mdm_batch *b, size_t col, size_t row0, size_t n)
{
    column_state *c = &s->cols[col];
    const uint8_t *nulls = mdm_batch_nulls(b, col) + row0;
    const void *data = mdm_batch_data(b, col);
    size_t nn = 0;
    for (size_t r = 0; r < n; r++)
        nn += nulls[r];
    c->nulls += nn;
    int rc = 0;
    switch (c->type) {
    case MDM_TYPE_INT64: rc = add_int64(s, c, (const int64_t *)data + row0, nulls, n); break;
    case MDM_TYPE_FLOAT64: rc = add_float64(s, c, (const double *)data + row0, nulls, n); break;
    case MDM_TYPE_BOOL: rc = add_bool(s, c, (const uint8_t *)data + row0, nulls, n); break;
    case MDM_TYPE_DATE: rc = add_date(s, c, (const int32_t *)data + row0, nulls, n); break;
    case MDM_TYPE_TIMESTAMP: rc = add_timestamp(s, c, (const int64_t *)data + row0, nulls, n); break;
    case MDM_TYPE_TEXT: rc = add_text(s, c, b, col, row0, nulls, n); break;
    }
    if (rc)
        return rc;
    if (nn)
        for (size_t r = 0; r < n; r++)
            s->row_missing[r] |= nulls[r];
    if (s->full) {
        /* An XXH64-style round per value keeps the row hash order-sensitive, and a
         * difference in any one column always changes it. */
        const uint64_t *h = s->hashes;
        for (size_t r = 0; r < n; r++) {
            uint64_t acc = s->row_hash[r] ^ h[r];
            acc = (acc << 31) | (acc >> 33);
            s->row_hash[r] = acc * 0x9E3779B185EBCA87ULL;
        }
    }
    return 0;
}

int stats_add_batch(stats *s, const mdm_batch *b)
{
    if (mdm_batch_ncols(b) != s->ncols)
        return mdm_error_set(MDM_EINVALID, "statistics: batch has %zu columns, the table has %zu",
                             mdm_batch_ncols(b), s->ncols);
    for (size_t i = 0; i < s->ncols; i++) {
        const mdm_field *f = mdm_batch_field(b, i);
        if (f->type != s->cols[i].type)
            return mdm_error_set(MDM_EINVALID,
                                 "statistics: column %zu '%s' is %s in the batch but %s in the table",
                                 i + 1, s->cols[i].name, mdm_type_name(f->type),
                                 mdm_type_name(s->cols[i].type));
    }
    size_t rows = mdm_batch_nrows(b);
    for (size_t row0 = 0; row0 < rows; row0 += CHUNK_ROWS) {
        size_t n = rows - row0 < CHUNK_ROWS ? rows - row0 : CHUNK_ROWS;
        memset(s->row_missing, 0, n);
        if (s->full)
            for (size_t r = 0; r < n; r++)
                s->row_hash[r] = 0x27D4EB2F165667C5ULL;
        for (size_t col = 0; col < s->ncols; col++) {
            int rc = add_column_chunk(s, b, col, row0, n);
            if (rc)
                return rc;
        }
        uint64_t missing = 0;
        for (size_t r = 0; r < n; r++)
            missing += s->row_missing[r];
        s->rows_with_missing += missing;
        s->rows += n;
        if (s->full) {
            uint64_t *h = s->row_hash;
            for (size_t r = 0; r < n; r++)
                h[r] = sketch_mix64(h[r] ^ s->ncols);
            for (size_t r = 0; r < n; r++) {
                if (r + 8 < n)
                    sketch_dupcount_prefetch(&s->dups, h[r + 8]);
                int rc = sketch_dupcount_add(&s->dups, h[r]);
                if (rc)
                    return rc;
            }
            corr_add_chunk(&s->corr, n);
        }
    }
    return 0;
}
