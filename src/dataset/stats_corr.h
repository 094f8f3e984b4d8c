/* Streaming Pearson correlations between numeric columns over complete pairs (rows
 * where both values are non-NULL and finite). Each chunk of rows is summarised with a
 * two-pass computation and merged with Chan et al.'s pairwise update, so the result does
 * not depend on how rows are split into batches (up to rounding) and stays accurate for
 * large means. */
#ifndef MDM_DATASET_STATS_CORR_H
#define MDM_DATASET_STATS_CORR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct corr_pair {
    uint64_t n;
    double mean_a, mean_b;
    double m2_a, m2_b, co; /* sums of squared deviations and of cross products */
} corr_pair;

typedef struct corr_state {
    size_t ncols;        /* columns in the matrix */
    size_t chunk_rows;   /* rows per chunk */
    corr_pair *pairs;    /* ncols * (ncols - 1) / 2, upper triangle row by row */
    double *values;      /* ncols x chunk_rows: the chunk's values as doubles */
    uint8_t *valid;      /* ncols x chunk_rows: 1 = non-NULL and finite */
    size_t nrows;        /* rows in the current chunk */
} corr_state;

int corr_init(corr_state *cs, size_t ncols, size_t chunk_rows);
void corr_free(corr_state *cs);
/* The chunk buffers of column k; fill rows [0, nrows) then call corr_add_chunk. */
static inline double *corr_values(corr_state *cs, size_t k) { return cs->values + k * cs->chunk_rows; }
static inline uint8_t *corr_valid(corr_state *cs, size_t k) { return cs->valid + k * cs->chunk_rows; }
void corr_add_chunk(corr_state *cs, size_t nrows);
/* r between columns a and b of the matrix (a != b); NaN when undefined (fewer than two
 * pairs or a constant side). *pairs gets the complete pairs used. */
double corr_value(const corr_state *cs, size_t a, size_t b, uint64_t *pairs);

#endif
