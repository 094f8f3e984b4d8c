/* Turning the running statistics state into a stats_result (see stats.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/stats_internal.h"

static int copy_text(stats_scalar *out, const char *p, size_t len, size_t full_len)
{
    out->type = MDM_TYPE_TEXT;
    out->text = malloc(len + 1);
    if (!out->text)
        return mdm_error_set(MDM_ENOMEM, "out of memory copying a text value of %zu bytes", len);
    if (len)
        memcpy(out->text, p, len);
    out->text[len] = '\0';
    out->text_len = len;
    out->full_len = full_len;
    return 0;
}

static void fill_min_max(const column_state *c, stats_column *col, int *rc)
{
    col->has_min_max = c->any_minmax;
    if (!c->any_minmax)
        return;
    col->min.type = col->max.type = c->type;
    switch (c->type) {
    case MDM_TYPE_INT64:
        col->min.v.i64 = c->imin;
        col->max.v.i64 = c->imax;
        break;
    case MDM_TYPE_FLOAT64:
        col->min.v.f64 = c->fmin;
        col->max.v.f64 = c->fmax;
        break;
    case MDM_TYPE_BOOL:
        col->min.v.b = c->trues == c->count; /* false unless every value is true */
        col->max.v.b = c->trues > 0;
        break;
    case MDM_TYPE_DATE:
        col->min.v.date = (int32_t)c->imin;
        col->max.v.date = (int32_t)c->imax;
        col->range_days = c->imax - c->imin;
        break;
    case MDM_TYPE_TIMESTAMP:
        col->min.v.ts = c->imin;
        col->max.v.ts = c->imax;
        /* Unsigned difference: the span of two extreme timestamps does not fit int64. */
        col->range_days = (int64_t)(((uint64_t)c->imax - (uint64_t)c->imin) / 86400000000ULL);
        break;
    case MDM_TYPE_TEXT:
        *rc = copy_text(&col->min, c->tmin, c->tmin_len, c->tmin_len);
        if (!*rc)
            *rc = copy_text(&col->max, c->tmax, c->tmax_len, c->tmax_len);
        break;
    }
}

static void fill_moments(const stats *s, const column_state *c, stats_column *col)
{
    if (c->type == MDM_TYPE_BOOL) {
        double n = (double)c->count, t = (double)c->trues;
        col->moment_count = c->count;
        col->has_mean = c->count > 0;
        col->mean = c->count ? t / n : NAN;
        col->has_std = c->count > 1;
        col->variance = c->count > 1 ? t * (n - t) / (n * (n - 1.0)) : NAN;
        col->std = sqrt(col->variance);
        return;
    }
    if (c->type != MDM_TYPE_INT64 && c->type != MDM_TYPE_FLOAT64) {
        col->mean = col->std = col->variance = NAN;
        col->skewness = col->kurtosis = NAN;
        return;
    }
    const moments *m = &c->mom;
    double n = (double)m->n;
    col->moment_count = m->n;
    col->has_mean = m->n > 0;
    col->mean = m->n ? c->shift + m->mean : NAN;
    col->has_std = m->n > 1;
    col->variance = m->n > 1 ? m->m2 / (n - 1.0) : NAN;
    col->std = sqrt(col->variance);
    col->skewness = col->kurtosis = NAN;
    if (!s->full || m->n < 3)
        return;
    /* pandas' Series.skew / Series.kurt: bias-adjusted G1 and excess G2; 0 for a
     * constant column. */
    col->has_shape = true;
    col->skewness = m->m2 == 0.0 ? 0.0 : n * sqrt(n - 1.0) / (n - 2.0) * (m->m3 / pow(m->m2, 1.5));
    if (m->n >= 4) {
        if (m->m2 == 0.0) {
            col->kurtosis = 0.0;
        } else {
            double adj = 3.0 * (n - 1.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0));
            col->kurtosis = n * (n + 1.0) * (n - 1.0) * m->m4 /
                                ((n - 2.0) * (n - 3.0) * m->m2 * m->m2) - adj;
        }
    }
}

static int cmp_top(const void *pa, const void *pb)
{
    const stats_top_value *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    switch (a->value.type) {
    case MDM_TYPE_INT64: return (a->value.v.i64 > b->value.v.i64) - (a->value.v.i64 < b->value.v.i64);
    case MDM_TYPE_DATE: return (a->value.v.date > b->value.v.date) - (a->value.v.date < b->value.v.date);
    case MDM_TYPE_BOOL: return (int)a->value.v.b - (int)b->value.v.b;
    default: {
        size_t n = a->value.text_len < b->value.text_len ? a->value.text_len : b->value.text_len;
        int c = memcmp(a->value.text, b->value.text, n);
        if (c)
            return c;
        return (a->value.text_len > b->value.text_len) - (a->value.text_len < b->value.text_len);
    }
    }
}

static int fill_top(const stats *s, const column_state *c, stats_column *col)
{
    if (c->count == 0)
        return 0;
    size_t want = s->opts.top_values;
    stats_top_value *all = NULL;
    size_t nall = 0;
    if (c->type == MDM_TYPE_BOOL) {
        all = calloc(2, sizeof *all);
        if (!all)
            return mdm_error_set(MDM_ENOMEM, "out of memory listing top values");
        uint64_t counts[2] = {c->count - c->trues, c->trues};
        for (int v = 0; v < 2; v++) {
            if (!counts[v])
                continue;
            all[nall].value.type = MDM_TYPE_BOOL;
            all[nall].value.v.b = v;
            all[nall].count = counts[v];
            nall++;
        }
        col->top_exact = true;
    } else if (c->topk_active && (c->type == MDM_TYPE_TEXT || col->distinct * 2 <= c->count)) {
        /* Numbers and dates get top values only when values repeat (categorical-ish):
         * the most frequent of an ID column says nothing. */
        const sketch_topk *tk = &c->topk;
        all = calloc(tk->used ? tk->used : 1, sizeof *all);
        if (!all)
            return mdm_error_set(MDM_ENOMEM, "out of memory listing top values");
        for (size_t i = 0; i < tk->used; i++) {
            const sketch_topk_item *it = &tk->items[i];
            stats_top_value *t = &all[nall++];
            t->count = it->count;
            t->max_overcount = it->error;
            t->value.type = c->type;
            if (c->type == MDM_TYPE_INT64) {
                memcpy(&t->value.v.i64, it->payload, sizeof t->value.v.i64);
            } else if (c->type == MDM_TYPE_DATE) {
                memcpy(&t->value.v.date, it->payload, sizeof t->value.v.date);
            } else {
                /* Point at the counter's copy while sorting; copied below. */
                t->value.text = it->payload;
                t->value.text_len = it->payload_len;
                t->value.full_len = it->value_len;
            }
        }
        col->top_exact = !tk->evicted;
    } else {
        return 0;
    }
    qsort(all, nall, sizeof *all, cmp_top);
    col->ntop = nall < want ? nall : want;
    col->top = calloc(col->ntop ? col->ntop : 1, sizeof *col->top);
    if (!col->top) {
        free(all);
        col->ntop = 0;
        return mdm_error_set(MDM_ENOMEM, "out of memory listing top values");
    }
    int rc = 0;
    for (size_t i = 0; i < col->ntop; i++) {
        col->top[i] = all[i];
        if (c->type == MDM_TYPE_TEXT) {
            col->top[i].value.text = NULL;
            if (!rc)
                rc = copy_text(&col->top[i].value, all[i].value.text, all[i].value.text_len,
                               all[i].value.full_len);
        }
    }
    free(all);
    col->has_top = true;
    return rc;
}

static int fill_column(stats *s, column_state *c, stats_column *col)
{
    int rc = 0;
    col->name = strdup(c->name);
    if (!col->name)
        return mdm_error_set(MDM_ENOMEM, "out of memory building statistics");
    col->type = c->type;
    col->count = c->count;
    col->null_count = c->nulls;
    col->null_ratio = s->rows ? (double)c->nulls / (double)s->rows : 0.0;
    if (c->type == MDM_TYPE_BOOL) {
        col->distinct = (uint64_t)(c->trues > 0) + (uint64_t)(c->count > c->trues);
        col->distinct_exact = true;
    } else if (c->set_active) {
        col->distinct = c->set.count;
        col->distinct_exact = true;
    } else {
        double est = sketch_hll_estimate(&c->hll);
        col->distinct = est > (double)c->count ? c->count : (uint64_t)llround(est);
        col->distinct_exact = false;
    }
    col->increasing = c->rising && c->count > 0;
    col->decreasing = c->falling && c->count > 0;
    if (col->increasing || col->decreasing) { /* strictly ordered values are all distinct */
        col->distinct = c->count;
        col->distinct_exact = true;
    }
    fill_min_max(c, col, &rc);
    if (rc)
        return rc;
    if (c->type == MDM_TYPE_TEXT && c->count) {
        col->min_length = c->min_len;
        col->max_length = c->max_len;
        col->mean_length = (double)c->total_len / (double)c->count;
    }
    col->nan_count = c->nan;
    col->posinf_count = c->posinf;
    col->neginf_count = c->neginf;
    col->true_count = c->trues;
    fill_moments(s, c, col);
    rc = fill_top(s, c, col);
    if (rc)
        return rc;
    for (int k = 0; k < STATS_NPERCENTILES; k++)
        col->percentiles[k] = NAN;
    if (s->full && (c->type == MDM_TYPE_INT64 || c->type == MDM_TYPE_FLOAT64) &&
        (c->q.n > 0 || c->q.sketching)) {
        rc = stats_quantiles_compute(&c->q, col->percentiles, &col->percentiles_exact);
        if (rc)
            return rc;
        col->has_percentiles = true;
    }
    return 0;
}

static size_t value_bytes(mdm_type t)
{
    switch (t) {
    case MDM_TYPE_BOOL: return 1;
    case MDM_TYPE_DATE: return 4;
    case MDM_TYPE_TEXT: return 0;
    default: return 8;
    }
}

static int fill_full(stats *s, stats_result *r)
{
    size_t k = s->corr.ncols;
    r->ncorr = k;
    r->corr_columns_skipped = s->corr_skipped;
    r->high_correlation = s->opts.high_correlation;
    r->corr_columns = calloc(k ? k : 1, sizeof *r->corr_columns);
    r->corr = calloc(k ? k * k : 1, sizeof *r->corr);
    r->corr_pairs = calloc(k ? k * k : 1, sizeof *r->corr_pairs);
    if (!r->corr_columns || !r->corr || !r->corr_pairs)
        return mdm_error_set(MDM_ENOMEM, "out of memory building the correlation matrix");
    for (size_t a = 0; a < k; a++) {
        size_t ca = s->corr_columns[a];
        r->corr_columns[a] = ca;
        const moments *m = &s->cols[ca].mom;
        r->corr[a * k + a] = m->n > 1 && m->m2 > 0.0 ? 1.0 : NAN;
        r->corr_pairs[a * k + a] = m->n;
        for (size_t b = a + 1; b < k; b++) {
            uint64_t pairs = 0;
            double v = corr_value(&s->corr, a, b, &pairs);
            r->corr[a * k + b] = r->corr[b * k + a] = v;
            r->corr_pairs[a * k + b] = r->corr_pairs[b * k + a] = pairs;
        }
    }
    r->duplicate_rows = sketch_dupcount_estimate(&s->dups);
    r->duplicates_exact = sketch_dupcount_exact(&s->dups);
    for (size_t i = 0; i < r->ncols; i++) {
        const stats_column *c = &r->columns[i];
        r->type_counts[c->type]++;
        if (c->distinct == 1)
            r->constant_columns++;
        if (r->rows > 0 && c->count == 0)
            r->all_null_columns++;
        /* Past the exact cap the count is an estimate: within 2% counts as unique. */
        if (c->count > 0 && (c->distinct_exact ? c->distinct == c->count
                                               : (double)c->distinct >= 0.98 * (double)c->count))
            r->unique_columns++;
        if (c->null_ratio > 0.5)
            r->high_null_columns++;
    }
    return 0;
}

int stats_finish(stats_result **out, stats *s)
{
    *out = NULL;
    int rc = 0;
    stats_result *r = calloc(1, sizeof *r);
    if (!r)
        return mdm_error_set(MDM_ENOMEM, "out of memory building statistics");
    r->full = s->full;
    r->rows = s->rows;
    r->columns = calloc(s->ncols ? s->ncols : 1, sizeof *r->columns);
    if (!r->columns) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory building statistics");
        goto cleanup;
    }
    r->ncols = s->ncols;
    for (size_t i = 0; i < s->ncols; i++) {
        column_state *c = &s->cols[i];
        rc = fill_column(s, c, &r->columns[i]);
        if (rc)
            goto cleanup;
        r->missing_cells += c->nulls;
        r->memory_bytes += c->type == MDM_TYPE_TEXT ? c->total_len : c->count * value_bytes(c->type);
    }
    double cells = (double)r->rows * (double)r->ncols;
    r->completeness = cells > 0 ? 1.0 - (double)r->missing_cells / cells : 1.0;
    r->rows_with_missing = s->rows_with_missing;
    r->complete_rows = s->rows - s->rows_with_missing;
    if (s->full) {
        rc = fill_full(s, r);
        if (rc)
            goto cleanup;
    }
    *out = r;
    r = NULL;
cleanup:
    stats_result_free(r);
    return rc;
}

static void scalar_free(stats_scalar *v) { free(v->text); }

void stats_result_free(stats_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->columns && i < r->ncols; i++) {
        stats_column *c = &r->columns[i];
        free(c->name);
        scalar_free(&c->min);
        scalar_free(&c->max);
        for (size_t t = 0; t < c->ntop; t++)
            scalar_free(&c->top[t].value);
        free(c->top);
    }
    free(r->columns);
    free(r->corr_columns);
    free(r->corr);
    free(r->corr_pairs);
    free(r);
}

double stats_result_correlation(const stats_result *r, size_t col_a, size_t col_b)
{
    long ia = -1, ib = -1;
    for (size_t k = 0; k < r->ncorr; k++) {
        if (r->corr_columns[k] == col_a)
            ia = (long)k;
        if (r->corr_columns[k] == col_b)
            ib = (long)k;
    }
    if (ia < 0 || ib < 0)
        return NAN;
    return r->corr[(size_t)ia * r->ncorr + (size_t)ib];
}
