/* Streaming Pearson correlations (see stats_corr.h). */
#include "dataset/stats_corr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mdm/mdm.h"

static size_t pair_index(size_t ncols, size_t a, size_t b)
{
    /* Upper triangle, a < b, row by row. */
    return a * ncols - a * (a + 1) / 2 + (b - a - 1);
}

int corr_init(corr_state *cs, size_t ncols, size_t chunk_rows)
{
    memset(cs, 0, sizeof *cs);
    cs->ncols = ncols;
    cs->chunk_rows = chunk_rows;
    if (ncols < 2)
        return 0;
    size_t npairs = ncols * (ncols - 1) / 2;
    cs->pairs = calloc(npairs, sizeof *cs->pairs);
    cs->values = malloc(ncols * chunk_rows * sizeof *cs->values);
    cs->valid = malloc(ncols * chunk_rows);
    if (!cs->pairs || !cs->values || !cs->valid) {
        corr_free(cs);
        return mdm_error_set(MDM_ENOMEM, "out of memory for correlations over %zu columns", ncols);
    }
    return 0;
}

void corr_free(corr_state *cs)
{
    free(cs->pairs);
    free(cs->values);
    free(cs->valid);
    memset(cs, 0, sizeof *cs);
}

static void pair_merge(corr_pair *p, const corr_pair *q)
{
    if (q->n == 0)
        return;
    if (p->n == 0) {
        *p = *q;
        return;
    }
    double n1 = (double)p->n, n2 = (double)q->n, n = n1 + n2;
    double da = q->mean_a - p->mean_a, db = q->mean_b - p->mean_b;
    double f = n1 * n2 / n;
    p->co += q->co + da * db * f;
    p->m2_a += q->m2_a + da * da * f;
    p->m2_b += q->m2_b + db * db * f;
    p->mean_a += da * n2 / n;
    p->mean_b += db * n2 / n;
    p->n += q->n;
}

/* Column summary of a chunk when every row is valid: mean and centred values. */
typedef struct column_chunk {
    bool all_valid;
    double mean, m2;
} column_chunk;

void corr_add_chunk(corr_state *cs, size_t nrows)
{
    size_t k = cs->ncols;
    if (k < 2 || nrows == 0)
        return;
    column_chunk summary[k];
    for (size_t c = 0; c < k; c++) {
        const uint8_t *valid = corr_valid(cs, c);
        double *x = corr_values(cs, c);
        bool all = true;
        for (size_t r = 0; r < nrows; r++)
            all &= valid[r] != 0;
        summary[c].all_valid = all;
        if (!all)
            continue;
        double sum = 0.0;
        for (size_t r = 0; r < nrows; r++)
            sum += x[r];
        double mean = sum / (double)nrows, d1 = 0.0, d2 = 0.0;
        for (size_t r = 0; r < nrows; r++) {
            double d = x[r] - mean;
            d1 += d;
            d2 += d * d;
        }
        double shift = d1 / (double)nrows;
        summary[c].mean = mean + shift;
        summary[c].m2 = d2 - shift * d1;
        /* Centre in place: the pair loop becomes a dot product. The raw values are not
         * needed again for this chunk. */
        for (size_t r = 0; r < nrows; r++)
            x[r] -= summary[c].mean;
    }
    for (size_t a = 0; a < k; a++) {
        for (size_t b = a + 1; b < k; b++) {
            corr_pair chunk = {0};
            const double *xa = corr_values(cs, a), *xb = corr_values(cs, b);
            if (summary[a].all_valid && summary[b].all_valid) {
                double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
                size_t r = 0;
                for (; r + 4 <= nrows; r += 4) {
                    s0 += xa[r] * xb[r];
                    s1 += xa[r + 1] * xb[r + 1];
                    s2 += xa[r + 2] * xb[r + 2];
                    s3 += xa[r + 3] * xb[r + 3];
                }
                for (; r < nrows; r++)
                    s0 += xa[r] * xb[r];
                chunk = (corr_pair){nrows, summary[a].mean, summary[b].mean,
                                    summary[a].m2, summary[b].m2, (s0 + s1) + (s2 + s3)};
            } else {
                /* Values of an all-valid column were centred; add its mean back. */
                double off_a = summary[a].all_valid ? summary[a].mean : 0.0;
                double off_b = summary[b].all_valid ? summary[b].mean : 0.0;
                const uint8_t *va = corr_valid(cs, a), *vb = corr_valid(cs, b);
                uint64_t n = 0;
                double sa = 0.0, sb = 0.0;
                for (size_t r = 0; r < nrows; r++) {
                    if (va[r] & vb[r]) {
                        n++;
                        sa += xa[r] + off_a;
                        sb += xb[r] + off_b;
                    }
                }
                if (n == 0)
                    continue;
                double ma = sa / (double)n, mb = sb / (double)n;
                double da1 = 0, db1 = 0, daa = 0, dbb = 0, dab = 0;
                for (size_t r = 0; r < nrows; r++) {
                    if (va[r] & vb[r]) {
                        double da = xa[r] + off_a - ma, db = xb[r] + off_b - mb;
                        da1 += da;
                        db1 += db;
                        daa += da * da;
                        dbb += db * db;
                        dab += da * db;
                    }
                }
                double ca = da1 / (double)n, cb = db1 / (double)n;
                chunk = (corr_pair){n, ma + ca, mb + cb, daa - ca * da1, dbb - cb * db1,
                                    dab - ca * db1};
            }
            pair_merge(&cs->pairs[pair_index(k, a, b)], &chunk);
        }
    }
}

double corr_value(const corr_state *cs, size_t a, size_t b, uint64_t *pairs)
{
    if (a > b) {
        size_t t = a;
        a = b;
        b = t;
    }
    const corr_pair *p = &cs->pairs[pair_index(cs->ncols, a, b)];
    if (pairs)
        *pairs = p->n;
    if (p->n < 2 || !(p->m2_a > 0.0) || !(p->m2_b > 0.0))
        return NAN;
    double r = p->co / sqrt(p->m2_a * p->m2_b);
    /* Rounding can push |r| a hair past 1. */
    if (r > 1.0)
        r = 1.0;
    if (r < -1.0)
        r = -1.0;
    return r;
}
