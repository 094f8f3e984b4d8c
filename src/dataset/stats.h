/* Statistics over whole tables in one streaming pass: typed batches flow through
 * stats_add_batch (during registration, or a read of the table for `mdm dataset stats`)
 * and stats_finish turns the running state into a stats_result. Memory stays bounded
 * whatever the row count: exact structures switch to sketches past their caps, and the
 * result says which numbers are exact.
 *
 * Basic (always): per column count, nulls, distinct (exact up to a cap, then
 * HyperLogLog), min/max, mean/std, text lengths, top values, date ranges; per table rows,
 * columns, memory estimate, completeness, missing cells, rows with missing values.
 * Full (`full` = true) adds percentiles, skewness, kurtosis, correlations, duplicate rows
 * and a profiling summary.
 *
 * Numbers: NULLs are never values. For float64, NaN counts as a non-null value
 * (`count`, `nan_count`, one distinct value) but is left out of min/max and every moment;
 * ±Inf count as values and take part in min/max, while mean, std, skewness, kurtosis,
 * percentiles and correlations use the finite values only (`moment_count` of them).
 * -0.0 and 0.0 are one distinct value. std is the sample standard deviation (n - 1);
 * skewness and kurtosis are the bias-adjusted G1 and excess G2 (as pandas computes them).
 * Text min/max compare bytes (UTF-8 code point order); lengths are in bytes. */
#ifndef MDM_DATASET_STATS_H
#define MDM_DATASET_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mdm/mdm.h"

typedef struct stats_options {
    size_t distinct_exact_cap;     /* exact distinct counting up to this many values (10000) */
    unsigned hll_precision;        /* HyperLogLog registers 2^p past the cap (15: 0.57% error) */
    size_t topk_counters;          /* space-saving counters (1024): exact top values up to
                                      that many distinct values */
    size_t top_values;             /* top values reported (10) */
    size_t top_value_max_bytes;    /* bytes of a text top value kept for display (1024) */
    size_t quantile_exact_cap;     /* exact percentiles up to this many values (100000) */
    double tdigest_compression;    /* t-digest compression past the cap (200) */
    size_t memory_budget;          /* bytes shared by the per-column structures (64 MB): caps
                                      shrink for wide tables so that the total stays within */
    size_t duplicate_memory;       /* bytes for exact duplicate-row detection (64 MB) */
    size_t max_correlation_columns;/* numeric columns in the correlation matrix (200) */
    double high_correlation;       /* |r| above this is reported as a pair (0.8) */
} stats_options;

void stats_options_default(stats_options *opts);

/* A typed, non-NULL value: min, max, top value. Text is owned (NUL-terminated). */
typedef struct stats_scalar {
    mdm_type type;
    union {
        int64_t i64;
        double f64;
        bool b;
        int32_t date;
        int64_t ts;
    } v;
    char *text;
    size_t text_len;    /* bytes kept in `text` */
    size_t full_len;    /* the value's length; > text_len when only a prefix was kept */
} stats_scalar;

typedef struct stats_top_value {
    stats_scalar value;
    uint64_t count;
    uint64_t max_overcount; /* 0 when exact; else count may be this much too high */
} stats_top_value;

enum { STATS_NPERCENTILES = 7 };
extern const double stats_percentile_levels[STATS_NPERCENTILES];     /* 0.01 .. 0.99 */
extern const char *const stats_percentile_names[STATS_NPERCENTILES]; /* "p1" .. "p99" */

typedef struct stats_column {
    char *name;
    mdm_type type;
    uint64_t count;        /* non-NULL values */
    uint64_t null_count;
    double null_ratio;     /* null_count / rows; 0 for an empty table */
    uint64_t distinct;     /* non-NULL distinct values */
    bool distinct_exact;   /* false: HyperLogLog estimate */
    /* Every non-NULL value strictly greater (smaller) than the one before, in table
     * order: then the values are all distinct, exactly, whatever their number (ID
     * columns). NaN breaks the order. */
    bool increasing, decreasing;

    bool has_min_max;      /* false when no comparable value was seen */
    stats_scalar min, max; /* numbers, dates, timestamps, bools; text lexicographic */
    int64_t range_days;    /* date/timestamp: whole days from min to max */

    uint64_t min_length, max_length; /* text, bytes */
    double mean_length;

    uint64_t nan_count, posinf_count, neginf_count; /* float64 */
    uint64_t true_count;                            /* bool */

    uint64_t moment_count; /* values behind mean/std (finite numbers, bools as 0/1) */
    bool has_mean;
    double mean;
    bool has_std;          /* needs two values */
    double std, variance;

    bool has_top;          /* text, bool, and int64/date columns with few distinct values */
    bool top_exact;
    stats_top_value *top;  /* most frequent first; ties by value */
    size_t ntop;

    /* full */
    bool has_shape;        /* skewness needs 3 values, kurtosis 4 (else NaN) */
    double skewness, kurtosis;
    bool has_percentiles;  /* int64/float64 with at least one finite value */
    bool percentiles_exact;
    double percentiles[STATS_NPERCENTILES];
} stats_column;

typedef struct stats_result {
    bool full;
    uint64_t rows;
    size_t ncols;
    stats_column *columns;
    uint64_t memory_bytes;     /* sum of non-NULL value sizes (text: bytes) */
    uint64_t missing_cells;
    double completeness;       /* 1 - missing / (rows * columns); 1 when there are no cells */
    uint64_t rows_with_missing, complete_rows;

    /* full */
    size_t ncorr;              /* numeric columns in the matrix */
    size_t *corr_columns;      /* their indexes into columns */
    double *corr;              /* ncorr x ncorr, row-major; NaN where undefined */
    uint64_t *corr_pairs;      /* ncorr x ncorr complete pairs behind each r */
    size_t corr_columns_skipped; /* numeric columns past max_correlation_columns */
    double high_correlation;   /* threshold used for high pairs */
    uint64_t duplicate_rows;   /* rows equal to an earlier row */
    bool duplicates_exact;
    size_t type_counts[MDM_TYPE_TIMESTAMP + 1]; /* indexed by mdm_type */
    size_t constant_columns;   /* exactly one distinct non-NULL value */
    size_t all_null_columns;   /* rows > 0 and every value NULL */
    size_t unique_columns;     /* every non-NULL value distinct (ID-like) */
    size_t high_null_columns;  /* more than half NULL */
} stats_result;

typedef struct stats stats;

/* Starts statistics over a table with these columns (copied). */
int stats_new(stats **out, const mdm_field *fields, size_t nfields, bool full);
int stats_new_with(stats **out, const mdm_field *fields, size_t nfields, bool full,
                   const stats_options *opts);
/* Adds a batch whose columns match the fields by position and type (MDM_EINVALID
 * naming the column otherwise). */
int stats_add_batch(stats *s, const mdm_batch *batch);
/* Computes the result; the running state stays valid (more batches may follow). */
int stats_finish(stats_result **out, stats *s);
void stats_free(stats *s);
void stats_result_free(stats_result *r);

/* Correlation of two result columns (indexes into r->columns); NaN when not computed. */
double stats_result_correlation(const stats_result *r, size_t col_a, size_t col_b);

#endif
