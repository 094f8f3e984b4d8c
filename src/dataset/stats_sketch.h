/* Bounded-memory summaries for streaming statistics: a set of 64-bit hashes (exact
 * distinct counts), HyperLogLog (approximate distinct counts), space-saving top-k
 * (heavy hitters), a merging t-digest (quantiles) and a duplicate-row counter that
 * samples the hash space once its table is full. Every structure here is fed 64-bit
 * hashes or doubles; the caller owns the meaning of the values. */
#ifndef MDM_DATASET_STATS_SKETCH_H
#define MDM_DATASET_STATS_SKETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ hashing */

/* A bijective 64-bit mix (murmur3's finalizer): equal inputs, equal hashes; different
 * inputs, different hashes. Used for fixed-width values. */
static inline uint64_t sketch_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* XXH3 64-bit hash of bytes (text values, rows). */
uint64_t sketch_hash_bytes(const void *data, size_t len);

/* ------------------------------------------------------------------ hash set */

/* Open-addressing set of 64-bit hashes; grows by doubling at 70% load. */
typedef struct sketch_hset {
    uint64_t *slots; /* 0 = empty; the hash 0 itself is kept in has_zero */
    size_t mask;
    size_t count;
    bool has_zero;
} sketch_hset;

int sketch_hset_init(sketch_hset *set, size_t initial_slots);
void sketch_hset_free(sketch_hset *set);
/* 1 when `h` was new, 0 when already present, MDM_ENOMEM. */
int sketch_hset_add(sketch_hset *set, uint64_t h);
size_t sketch_hset_bytes(const sketch_hset *set);

/* ------------------------------------------------------------------ HyperLogLog */

/* HyperLogLog with one byte per register, estimated with Ertl's improved estimator
 * ("New cardinality estimation algorithms for HyperLogLog sketches", 2017), which needs
 * no empirical bias tables and is accurate over the whole range. Standard error
 * 1.04 / sqrt(2^precision): 0.57% at precision 15. */
typedef struct sketch_hll {
    uint8_t *registers;
    unsigned precision;
} sketch_hll;

int sketch_hll_init(sketch_hll *hll, unsigned precision);
void sketch_hll_free(sketch_hll *hll);
static inline void sketch_hll_add(sketch_hll *hll, uint64_t h)
{
    unsigned p = hll->precision;
    size_t index = (size_t)(h >> (64 - p));
    uint64_t rest = h << p;
    uint8_t rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1) : (uint8_t)(64 - p + 1);
    if (rank > hll->registers[index])
        hll->registers[index] = rank;
}
void sketch_hll_add_set(sketch_hll *hll, const sketch_hset *set);
double sketch_hll_estimate(const sketch_hll *hll);

/* ------------------------------------------------------------------ top-k */

/* Space-saving (Metwally et al.): `capacity` counters; a new key takes the counter with
 * the smallest count and inherits it as its possible overcount (`error`). Exact as long
 * as no counter was ever evicted, i.e. while distinct keys <= capacity. Each counter
 * keeps a copy of the value's bytes (at most `max_payload` of them) for reporting.
 * Until the first eviction the counters are plain counts; the stream-summary order
 * that finds the smallest one is built then, once (most columns never need it). */
typedef struct sketch_topk_item {
    uint64_t key;
    uint64_t count;
    uint64_t error;   /* count may exceed the true count by at most this */
    char *payload;    /* NUL-terminated copy */
    size_t payload_len;    /* bytes kept */
    size_t value_len;      /* the value's full length (> payload_len when cut) */
    size_t payload_cap;
    uint32_t bucket;       /* the bucket of items with this count */
    uint32_t prev, next;   /* siblings in that bucket */
} sketch_topk_item;

/* Items with equal counts share a bucket; buckets form a list in ascending count order
 * (Metwally's stream-summary), so a count goes up and the smallest is found in O(1). */
typedef struct sketch_topk_bucket {
    uint64_t count;
    uint32_t first;        /* an item of the bucket */
    uint32_t prev, next;   /* neighbouring buckets (free list through next) */
} sketch_topk_bucket;

typedef struct sketch_topk {
    sketch_topk_item *items;
    sketch_topk_bucket *buckets; /* capacity + 1 */
    uint32_t min_bucket;         /* head of the bucket list */
    uint32_t free_bucket;        /* head of the free list */
    uint32_t *index;  /* key -> item index + 1 (0 = empty), linear probing */
    size_t index_mask;
    size_t capacity, used;
    size_t max_payload;
    bool ordered;                /* items are in buckets (from the first eviction on) */
    bool evicted;
} sketch_topk;

int sketch_topk_init(sketch_topk *topk, size_t capacity, size_t max_payload);
void sketch_topk_free(sketch_topk *topk);
/* Counts one occurrence of the value identified by `key`; `value` (len bytes) is copied
 * when a counter is (re)assigned to the key. */
int sketch_topk_add(sketch_topk *topk, uint64_t key, const void *value, size_t len);

/* ------------------------------------------------------------------ t-digest */

/* Merging t-digest (Dunning & Ertl) with the k1 (arcsine) scale function: dense
 * centroids at the tails, so p1 and p99 stay accurate. Values are buffered, sorted and
 * merged; memory is O(compression). */
typedef struct sketch_tdigest {
    double compression;
    double *means, *weights;
    size_t ncentroids, cap_centroids;
    double *buffer;
    size_t nbuffer, cap_buffer;
    double total_weight; /* centroids only */
    double min, max;
} sketch_tdigest;

int sketch_tdigest_init(sketch_tdigest *td, double compression);
void sketch_tdigest_free(sketch_tdigest *td);
int sketch_tdigest_add(sketch_tdigest *td, double x);
/* Folds the buffer into the centroids. */
int sketch_tdigest_flush(sketch_tdigest *td);
/* Quantile q in [0,1] after a flush; NaN when empty. */
double sketch_tdigest_quantile(const sketch_tdigest *td, double q);

/* In-place ascending sorts (no NaN in the doubles). */
void sketch_sort_doubles(double *v, size_t n);
void sketch_sort_int64(int64_t *v, size_t n);

/* ------------------------------------------------------------------ duplicates */

/* Counts rows whose hash was seen before. Exact while the distinct row hashes fit in
 * `max_bytes`; past that it keeps only hashes whose top `level` bits are zero (equal rows
 * share a hash, so every duplicate of a kept row is kept) and scales the count by
 * 2^level: an unbiased estimate in bounded memory. */
typedef struct sketch_dup_slot {
    uint64_t key;     /* 0 = empty; hash 0 is counted in zero_count */
    uint64_t count;
} sketch_dup_slot;

typedef struct sketch_dupcount {
    sketch_dup_slot *slots;
    size_t mask, used, max_slots;
    unsigned level;
    uint64_t duplicates_sampled;
    uint64_t zero_count;
} sketch_dupcount;

int sketch_dupcount_init(sketch_dupcount *dc, size_t max_bytes);
void sketch_dupcount_free(sketch_dupcount *dc);
int sketch_dupcount_add(sketch_dupcount *dc, uint64_t h);
/* Hints the cache about a hash that will be added soon (the table is far larger than
 * the caches, so each add is otherwise a wait on memory). */
static inline void sketch_dupcount_prefetch(const sketch_dupcount *dc, uint64_t h)
{
    __builtin_prefetch(&dc->slots[(size_t)h & dc->mask]);
}
uint64_t sketch_dupcount_estimate(const sketch_dupcount *dc);
static inline bool sketch_dupcount_exact(const sketch_dupcount *dc) { return dc->level == 0; }

#endif
