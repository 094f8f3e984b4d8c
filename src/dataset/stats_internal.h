/* Running state of the table statistics, shared by stats.c (accumulation) and
 * stats_result.c (turning it into a stats_result). Private to src/dataset. */
#ifndef MDM_DATASET_STATS_INTERNAL_H
#define MDM_DATASET_STATS_INTERNAL_H

#include "dataset/stats.h"
#include "dataset/stats_corr.h"
#include "dataset/stats_sketch.h"

#define CHUNK_ROWS 4096

typedef struct moments {
    uint64_t n;
    double mean, m2, m3, m4; /* sums of powers of deviations from the mean */
} moments;

typedef struct quantiles {
    bool is_int;
    int64_t *ints;
    double *doubles;
    size_t n, cap, limit;
    bool sketching;
    sketch_tdigest td;
} quantiles;

typedef struct column_state {
    char *name;
    mdm_type type;
    uint64_t count, nulls;
    uint64_t null_hash;     /* stands for NULL in row hashes */

    sketch_hset set;        /* exact distinct, until distinct_cap */
    bool set_active;
    sketch_hll hll;
    bool hll_active;

    bool any_minmax;
    int64_t imin, imax;     /* int64, date, timestamp */
    double fmin, fmax;      /* float64 (non-NaN) */
    char *tmin, *tmax;      /* text */
    size_t tmin_len, tmax_len, tmin_cap, tmax_cap;
    uint64_t min_len, max_len, total_len;

    uint64_t nan, posinf, neginf, trues;
    /* Order of the non-NULL values so far: strictly rising or falling values are all
     * distinct, which proves uniqueness (ID columns) past the exact distinct cap. */
    bool rising, falling, has_last;
    int64_t last_i;         /* int64, date, timestamp */
    double last_f;
    char *last_t;           /* text: a copy of the last value */
    size_t last_t_len, last_t_cap;
    /* Moments and correlations see value - shift, where shift is the first finite value:
     * for data like 1e9 + noise the running means then stay small and keep their
     * precision when chunks are merged (the shifted-data algorithm). */
    bool shift_set;
    double shift;
    moments mom;            /* of the shifted values */

    sketch_topk topk;
    bool topk_active;

    quantiles q;
    int corr_index;         /* position in the correlation matrix or -1 */
} column_state;

struct stats {
    stats_options opts;
    bool full;
    size_t ncols;
    column_state *cols;
    uint64_t rows, rows_with_missing;
    size_t distinct_cap, quantile_cap, top_payload, topk_counters; /* after size_caps */
    double compression;
    unsigned hll_precision;

    double *scratch;        /* CHUNK_ROWS values of one column */
    uint64_t *hashes;       /* CHUNK_ROWS value hashes of one column */
    uint64_t *row_hash;     /* CHUNK_ROWS running row hashes (full) */
    uint8_t *row_missing;   /* CHUNK_ROWS: some column NULL */

    sketch_dupcount dups;
    corr_state corr;
    size_t *corr_columns;
    size_t corr_skipped;
};

/* Percentiles of the kept values (exact, type 7) or of the t-digest. Sorts the kept
 * values in place, which leaves the state usable. */
int stats_quantiles_compute(quantiles *q, double out[STATS_NPERCENTILES], bool *exact);

#endif
