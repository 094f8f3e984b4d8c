/* Bounded-memory summaries behind the dataset statistics (see stats_sketch.h). */
#include "dataset/stats_sketch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mdm/mdm.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

uint64_t sketch_hash_bytes(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 8;
    while (p < n)
        p <<= 1;
    return p;
}

/* ------------------------------------------------------------------ hash set */

int sketch_hset_init(sketch_hset *set, size_t initial_slots)
{
    memset(set, 0, sizeof *set);
    size_t n = pow2_at_least(initial_slots);
    set->slots = calloc(n, sizeof *set->slots);
    if (!set->slots)
        return mdm_error_set(MDM_ENOMEM, "out of memory for a distinct-value set of %zu slots", n);
    set->mask = n - 1;
    return 0;
}

void sketch_hset_free(sketch_hset *set)
{
    free(set->slots);
    memset(set, 0, sizeof *set);
}

static int hset_grow(sketch_hset *set)
{
    size_t old_n = set->mask + 1, n = old_n * 2;
    uint64_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        return mdm_error_set(MDM_ENOMEM, "out of memory growing a distinct-value set to %zu slots", n);
    for (size_t i = 0; i < old_n; i++) {
        uint64_t h = set->slots[i];
        if (!h)
            continue;
        size_t j = (size_t)h & (n - 1);
        while (slots[j])
            j = (j + 1) & (n - 1);
        slots[j] = h;
    }
    free(set->slots);
    set->slots = slots;
    set->mask = n - 1;
    return 0;
}

int sketch_hset_add(sketch_hset *set, uint64_t h)
{
    if (h == 0) {
        if (set->has_zero)
            return 0;
        set->has_zero = true;
        set->count++;
        return 1;
    }
    size_t i = (size_t)h & set->mask;
    for (;;) {
        uint64_t s = set->slots[i];
        if (s == h)
            return 0;
        if (s == 0)
            break;
        i = (i + 1) & set->mask;
    }
    set->slots[i] = h;
    set->count++;
    if (set->count * 10 > (set->mask + 1) * 7) {
        int rc = hset_grow(set);
        if (rc)
            return rc;
    }
    return 1;
}

size_t sketch_hset_bytes(const sketch_hset *set)
{
    return set->slots ? (set->mask + 1) * sizeof *set->slots : 0;
}

/* ------------------------------------------------------------------ HyperLogLog */

int sketch_hll_init(sketch_hll *hll, unsigned precision)
{
    if (precision < 4 || precision > 18)
        return mdm_error_set(MDM_EINVALID, "HyperLogLog precision %u is outside 4..18", precision);
    hll->precision = precision;
    hll->registers = calloc((size_t)1 << precision, 1);
    if (!hll->registers)
        return mdm_error_set(MDM_ENOMEM, "out of memory for HyperLogLog registers");
    return 0;
}

void sketch_hll_free(sketch_hll *hll)
{
    free(hll->registers);
    hll->registers = NULL;
}

void sketch_hll_add_set(sketch_hll *hll, const sketch_hset *set)
{
    if (set->has_zero)
        sketch_hll_add(hll, 0);
    for (size_t i = 0; i <= set->mask; i++)
        if (set->slots[i])
            sketch_hll_add(hll, set->slots[i]);
}

static double hll_sigma(double x)
{
    if (x == 1.0)
        return INFINITY;
    double y = 1.0, z = x, previous;
    do {
        x *= x;
        previous = z;
        z += x * y;
        y += y;
    } while (z != previous);
    return z;
}

static double hll_tau(double x)
{
    if (x == 0.0 || x == 1.0)
        return 0.0;
    double y = 1.0, z = 1.0 - x, previous;
    do {
        x = sqrt(x);
        previous = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
    } while (z != previous);
    return z / 3.0;
}

double sketch_hll_estimate(const sketch_hll *hll)
{
    unsigned p = hll->precision, q = 64 - p;
    size_t m = (size_t)1 << p;
    uint64_t histogram[66] = {0};
    for (size_t i = 0; i < m; i++)
        histogram[hll->registers[i]]++;
    double md = (double)m;
    double z = md * hll_tau(1.0 - (double)histogram[q + 1] / md);
    for (unsigned k = q; k >= 1; k--)
        z = 0.5 * (z + (double)histogram[k]);
    z += md * hll_sigma((double)histogram[0] / md);
    return (0.5 / log(2.0)) * md * md / z;
}

/* ------------------------------------------------------------------ top-k */

#define NIL UINT32_MAX

int sketch_topk_init(sketch_topk *topk, size_t capacity, size_t max_payload)
{
    memset(topk, 0, sizeof *topk);
    if (capacity == 0 || capacity > UINT32_MAX / 4)
        return mdm_error_set(MDM_EINVALID, "top-k capacity %zu is out of range", capacity);
    size_t index_slots = pow2_at_least(capacity * 2);
    topk->items = calloc(capacity, sizeof *topk->items);
    topk->buckets = calloc(capacity + 1, sizeof *topk->buckets);
    topk->index = calloc(index_slots, sizeof *topk->index);
    if (!topk->items || !topk->buckets || !topk->index) {
        sketch_topk_free(topk);
        return mdm_error_set(MDM_ENOMEM, "out of memory for %zu top-k counters", capacity);
    }
    for (size_t b = 0; b <= capacity; b++)
        topk->buckets[b].next = b < capacity ? (uint32_t)(b + 1) : NIL;
    topk->free_bucket = 0;
    topk->min_bucket = NIL;
    topk->index_mask = index_slots - 1;
    topk->capacity = capacity;
    topk->max_payload = max_payload;
    return 0;
}

void sketch_topk_free(sketch_topk *topk)
{
    if (topk->items)
        for (size_t i = 0; i < topk->used; i++)
            free(topk->items[i].payload);
    free(topk->items);
    free(topk->buckets);
    free(topk->index);
    memset(topk, 0, sizeof *topk);
}

static size_t topk_find_slot(const sketch_topk *topk, uint64_t key)
{
    size_t i = (size_t)key & topk->index_mask;
    for (;;) {
        uint32_t e = topk->index[i];
        if (e == 0 || topk->items[e - 1].key == key)
            return i;
        i = (i + 1) & topk->index_mask;
    }
}

/* Backward-shift deletion keeps linear probing correct without tombstones. */
static void topk_index_remove(sketch_topk *topk, size_t slot)
{
    size_t mask = topk->index_mask, hole = slot, i = slot;
    topk->index[hole] = 0;
    for (;;) {
        i = (i + 1) & mask;
        uint32_t e = topk->index[i];
        if (e == 0)
            return;
        size_t home = (size_t)topk->items[e - 1].key & mask;
        /* Move e into the hole unless its home lies cyclically in (hole, i]. */
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            topk->index[hole] = e;
            topk->index[i] = 0;
            hole = i;
        }
    }
}

/* A bucket for `count` right after bucket `after` (NIL: at the head). */
static uint32_t bucket_insert(sketch_topk *topk, uint32_t after, uint64_t count)
{
    uint32_t b = topk->free_bucket; /* never exhausted: at most capacity + 1 in use */
    sketch_topk_bucket *nb = &topk->buckets[b];
    topk->free_bucket = nb->next;
    nb->count = count;
    nb->first = NIL;
    nb->prev = after;
    nb->next = after == NIL ? topk->min_bucket : topk->buckets[after].next;
    if (nb->next != NIL)
        topk->buckets[nb->next].prev = b;
    if (after == NIL)
        topk->min_bucket = b;
    else
        topk->buckets[after].next = b;
    return b;
}

static void bucket_remove(sketch_topk *topk, uint32_t b)
{
    sketch_topk_bucket *ob = &topk->buckets[b];
    if (ob->prev != NIL)
        topk->buckets[ob->prev].next = ob->next;
    else
        topk->min_bucket = ob->next;
    if (ob->next != NIL)
        topk->buckets[ob->next].prev = ob->prev;
    ob->next = topk->free_bucket;
    topk->free_bucket = b;
}

static void item_attach(sketch_topk *topk, uint32_t i, uint32_t b)
{
    sketch_topk_item *it = &topk->items[i];
    sketch_topk_bucket *bk = &topk->buckets[b];
    it->bucket = b;
    it->prev = NIL;
    it->next = bk->first;
    if (bk->first != NIL)
        topk->items[bk->first].prev = i;
    bk->first = i;
    it->count = bk->count;
}

/* Detaches item i from its bucket; the bucket stays even when it becomes empty. */
static void item_detach(sketch_topk *topk, uint32_t i)
{
    sketch_topk_item *it = &topk->items[i];
    if (it->prev != NIL)
        topk->items[it->prev].next = it->next;
    else
        topk->buckets[it->bucket].first = it->next;
    if (it->next != NIL)
        topk->items[it->next].prev = it->prev;
}

/* count + 1 for item i: into the next bucket when it holds count + 1, else a new one. */
static void item_increment(sketch_topk *topk, uint32_t i)
{
    uint32_t b = topk->items[i].bucket;
    uint64_t count = topk->buckets[b].count + 1;
    uint32_t next = topk->buckets[b].next;
    uint32_t target = next != NIL && topk->buckets[next].count == count ? next : bucket_insert(topk, b, count);
    item_detach(topk, i);
    item_attach(topk, i, target);
    if (topk->buckets[b].first == NIL)
        bucket_remove(topk, b);
}

static int topk_set_payload(sketch_topk *topk, sketch_topk_item *item, const void *value, size_t len)
{
    size_t keep = len < topk->max_payload ? len : topk->max_payload;
    /* A cut text value ends on a UTF-8 character boundary (fixed-width values are never
     * cut: max_payload is at least their width). */
    while (keep < len && keep > 0 && (((const unsigned char *)value)[keep] & 0xC0) == 0x80)
        keep--;
    if (keep + 1 > item->payload_cap) {
        size_t cap = keep + 1 < 32 ? 32 : keep + 1;
        char *p = realloc(item->payload, cap);
        if (!p)
            return mdm_error_set(MDM_ENOMEM, "out of memory keeping a top value of %zu bytes", keep);
        item->payload = p;
        item->payload_cap = cap;
    }
    if (keep)
        memcpy(item->payload, value, keep);
    item->payload[keep] = '\0';
    item->payload_len = keep;
    item->value_len = len;
    return 0;
}

/* The stream-summary order over the counts so far, for the first eviction. */
typedef struct count_index {
    uint64_t count;
    uint32_t item;
} count_index;

static int cmp_count_index(const void *a, const void *b)
{
    const count_index *x = a, *y = b;
    return x->count < y->count ? -1 : x->count > y->count;
}

static int topk_order(sketch_topk *topk)
{
    count_index *order = malloc((topk->used ? topk->used : 1) * sizeof *order);
    if (!order)
        return mdm_error_set(MDM_ENOMEM, "out of memory ordering top-k counters");
    for (size_t i = 0; i < topk->used; i++)
        order[i] = (count_index){topk->items[i].count, (uint32_t)i};
    qsort(order, topk->used, sizeof *order, cmp_count_index);
    uint32_t last = NIL;
    for (size_t i = 0; i < topk->used; i++) {
        if (last == NIL || topk->buckets[last].count != order[i].count)
            last = bucket_insert(topk, last, order[i].count);
        item_attach(topk, order[i].item, last);
    }
    free(order);
    topk->ordered = true;
    return 0;
}

int sketch_topk_add(sketch_topk *topk, uint64_t key, const void *value, size_t len)
{
    size_t slot = topk_find_slot(topk, key);
    uint32_t e = topk->index[slot];
    if (e) {
        if (topk->ordered)
            item_increment(topk, e - 1);
        else
            topk->items[e - 1].count++;
        return 0;
    }
    if (topk->used < topk->capacity) {
        uint32_t idx = (uint32_t)topk->used;
        sketch_topk_item *item = &topk->items[idx];
        int rc = topk_set_payload(topk, item, value, len);
        if (rc)
            return rc;
        item->key = key;
        item->error = 0;
        item->count = 1;
        if (topk->ordered) {
            uint32_t head = topk->min_bucket;
            uint32_t b = head != NIL && topk->buckets[head].count == 1 ? head
                                                                        : bucket_insert(topk, NIL, 1);
            item_attach(topk, idx, b);
        }
        topk->used++;
        topk->index[slot] = idx + 1;
        return 0;
    }
    if (!topk->ordered) {
        int rc = topk_order(topk);
        if (rc)
            return rc;
    }
    /* Evict a counter with the smallest count: the newcomer may have occurred up to that
     * many times before (its possible overcount). */
    uint32_t idx = topk->buckets[topk->min_bucket].first;
    sketch_topk_item *item = &topk->items[idx];
    int rc = topk_set_payload(topk, item, value, len);
    if (rc)
        return rc;
    topk_index_remove(topk, topk_find_slot(topk, item->key));
    item->key = key;
    item->error = item->count;
    topk->index[topk_find_slot(topk, key)] = idx + 1;
    topk->evicted = true;
    item_increment(topk, idx);
    return 0;
}

/* ------------------------------------------------------------------ sorting */

#define DEFINE_SORT(name, type)                                                         \
    static void name(type *v, size_t n)                                                        \
    {                                                                                   \
        while (n > 24) {                                                                \
            type a = v[0], b = v[n / 2], c = v[n - 1];                                  \
            type pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b)); \
            size_t i = 0, j = n - 1;                                                    \
            for (;;) {                                                                  \
                while (v[i] < pivot)                                                    \
                    i++;                                                                \
                while (pivot < v[j])                                                    \
                    j--;                                                                \
                if (i >= j)                                                             \
                    break;                                                              \
                type t = v[i];                                                          \
                v[i] = v[j];                                                            \
                v[j] = t;                                                               \
                i++;                                                                    \
                j--;                                                                    \
            }                                                                           \
            /* Recurse into the smaller side, loop on the larger: O(log n) stack. */    \
            size_t left = j + 1;                                                        \
            if (left < n - left) {                                                      \
                name(v, left);                                                          \
                v += left;                                                              \
                n -= left;                                                              \
            } else {                                                                    \
                name(v + left, n - left);                                               \
                n = left;                                                               \
            }                                                                           \
        }                                                                               \
        for (size_t i = 1; i < n; i++) {                                                \
            type x = v[i];                                                              \
            size_t j = i;                                                               \
            while (j > 0 && x < v[j - 1]) {                                             \
                v[j] = v[j - 1];                                                        \
                j--;                                                                    \
            }                                                                           \
            v[j] = x;                                                                   \
        }                                                                               \
    }

DEFINE_SORT(quicksort_doubles, double)
DEFINE_SORT(quicksort_int64, int64_t)

/* LSD radix sort of unsigned keys, a byte at a time; passes where every key has the same
 * byte (the sign and exponent bytes of similar doubles, the high bytes of small ints) are
 * skipped. About 3x faster than comparison sorting for the t-digest's buffers. */
static void radix_sort_u64(uint64_t *v, uint64_t *tmp, size_t n)
{
    size_t counts[8][256];
    memset(counts, 0, sizeof counts);
    for (size_t i = 0; i < n; i++) {
        uint64_t x = v[i];
        for (int b = 0; b < 8; b++)
            counts[b][(x >> (8 * b)) & 0xFF]++;
    }
    uint64_t *src = v, *dst = tmp;
    for (int b = 0; b < 8; b++) {
        int shift = 8 * b;
        if (counts[b][(src[0] >> shift) & 0xFF] == n)
            continue;
        size_t offsets[256], sum = 0;
        for (int d = 0; d < 256; d++) {
            offsets[d] = sum;
            sum += counts[b][d];
        }
        for (size_t i = 0; i < n; i++)
            dst[offsets[(src[i] >> shift) & 0xFF]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
}

#define SIGN_BIT 0x8000000000000000ULL

void sketch_sort_doubles(double *v, size_t n)
{
    uint64_t *keys = n >= 256 ? malloc(2 * n * sizeof *keys) : NULL;
    if (!keys) {
        quicksort_doubles(v, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        keys[i] = (bits & SIGN_BIT) ? ~bits : bits | SIGN_BIT; /* IEEE order as unsigned */
    }
    radix_sort_u64(keys, keys + n, n);
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = (keys[i] & SIGN_BIT) ? keys[i] & ~SIGN_BIT : ~keys[i];
        double x;
        memcpy(&x, &bits, sizeof x);
        v[i] = x;
    }
    free(keys);
}

void sketch_sort_int64(int64_t *v, size_t n)
{
    uint64_t *keys = n >= 256 ? malloc(2 * n * sizeof *keys) : NULL;
    if (!keys) {
        quicksort_int64(v, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        keys[i] = (uint64_t)v[i] ^ SIGN_BIT;
    radix_sort_u64(keys, keys + n, n);
    for (size_t i = 0; i < n; i++)
        v[i] = (int64_t)(keys[i] ^ SIGN_BIT);
    free(keys);
}

/* ------------------------------------------------------------------ t-digest */

int sketch_tdigest_init(sketch_tdigest *td, double compression)
{
    memset(td, 0, sizeof *td);
    td->compression = compression;
    /* The k1 scale function allows at most about compression/2 * pi centroids. */
    td->cap_centroids = (size_t)(compression * 2.0) + 16;
    td->cap_buffer = (size_t)(compression * 10.0);
    td->means = malloc(td->cap_centroids * sizeof *td->means);
    td->weights = malloc(td->cap_centroids * sizeof *td->weights);
    td->buffer = malloc(td->cap_buffer * sizeof *td->buffer);
    if (!td->means || !td->weights || !td->buffer) {
        sketch_tdigest_free(td);
        return mdm_error_set(MDM_ENOMEM, "out of memory for a quantile sketch");
    }
    td->min = INFINITY;
    td->max = -INFINITY;
    return 0;
}

void sketch_tdigest_free(sketch_tdigest *td)
{
    free(td->means);
    free(td->weights);
    free(td->buffer);
    memset(td, 0, sizeof *td);
}

int sketch_tdigest_add(sketch_tdigest *td, double x)
{
    if (td->nbuffer == td->cap_buffer) {
        int rc = sketch_tdigest_flush(td);
        if (rc)
            return rc;
    }
    td->buffer[td->nbuffer++] = x;
    if (x < td->min)
        td->min = x;
    if (x > td->max)
        td->max = x;
    return 0;
}

/* k1 scale: k(q) = compression / (2 pi) * asin(2q - 1); the largest q reachable from
 * q0 within one unit of k bounds how much weight a centroid may hold. */
static double tdigest_q_limit(double compression, double q0)
{
    double k = compression / (2.0 * M_PI) * asin(2.0 * q0 - 1.0) + 1.0;
    if (k >= compression / 4.0)
        return 1.0;
    return (sin(k * 2.0 * M_PI / compression) + 1.0) / 2.0;
}

int sketch_tdigest_flush(sketch_tdigest *td)
{
    if (td->nbuffer == 0)
        return 0;
    sketch_sort_doubles(td->buffer, td->nbuffer);
    size_t nold = td->ncentroids;
    double total = td->total_weight + (double)td->nbuffer;
    /* Merge the old centroids (sorted) with the sorted buffer into new centroids. The old
     * arrays are read while the new ones are written, so copy them aside first. */
    double *old_means = malloc((nold + 1) * sizeof *old_means);
    double *old_weights = malloc((nold + 1) * sizeof *old_weights);
    if (!old_means || !old_weights) {
        free(old_means);
        free(old_weights);
        return mdm_error_set(MDM_ENOMEM, "out of memory merging a quantile sketch");
    }
    memcpy(old_means, td->means, nold * sizeof *old_means);
    memcpy(old_weights, td->weights, nold * sizeof *old_weights);

    size_t i = 0, j = 0, out = 0;
    double cur_mean = 0.0, cur_weight = 0.0, weight_before = 0.0;
    double limit = 0.0;
    while (i < nold || j < td->nbuffer) {
        double m, w;
        if (j >= td->nbuffer || (i < nold && old_means[i] <= td->buffer[j])) {
            m = old_means[i];
            w = old_weights[i];
            i++;
        } else {
            m = td->buffer[j++];
            w = 1.0;
        }
        if (cur_weight == 0.0) {
            cur_mean = m;
            cur_weight = w;
            limit = total * tdigest_q_limit(td->compression, weight_before / total);
            continue;
        }
        if (weight_before + cur_weight + w <= limit) {
            cur_weight += w;
            cur_mean += (m - cur_mean) * w / cur_weight;
        } else {
            if (out == td->cap_centroids) {
                free(old_means);
                free(old_weights);
                return mdm_error_set(MDM_ERROR, "quantile sketch overflowed its %zu centroids",
                                     td->cap_centroids);
            }
            td->means[out] = cur_mean;
            td->weights[out] = cur_weight;
            out++;
            weight_before += cur_weight;
            cur_mean = m;
            cur_weight = w;
            limit = total * tdigest_q_limit(td->compression, weight_before / total);
        }
    }
    if (cur_weight > 0.0) {
        if (out == td->cap_centroids) {
            free(old_means);
            free(old_weights);
            return mdm_error_set(MDM_ERROR, "quantile sketch overflowed its %zu centroids",
                                 td->cap_centroids);
        }
        td->means[out] = cur_mean;
        td->weights[out] = cur_weight;
        out++;
    }
    free(old_means);
    free(old_weights);
    td->ncentroids = out;
    td->total_weight = total;
    td->nbuffer = 0;
    return 0;
}

double sketch_tdigest_quantile(const sketch_tdigest *td, double q)
{
    size_t n = td->ncentroids;
    if (n == 0)
        return NAN;
    if (q <= 0.0)
        return td->min;
    if (q >= 1.0)
        return td->max;
    double total = td->total_weight;
    double target = q * total;
    if (n == 1)
        return td->means[0];
    /* Each centroid's mass is centred on its mean; between centres interpolate linearly;
     * before the first and after the last, towards the exact min and max. */
    double first_center = td->weights[0] / 2.0;
    if (target < first_center) {
        if (td->weights[0] <= 1.0)
            return td->means[0];
        return td->min + (td->means[0] - td->min) * (target / first_center);
    }
    double last_center = total - td->weights[n - 1] / 2.0;
    if (target > last_center) {
        if (td->weights[n - 1] <= 1.0)
            return td->means[n - 1];
        return td->means[n - 1] +
               (td->max - td->means[n - 1]) * ((target - last_center) / (total - last_center));
    }
    double center = first_center;
    for (size_t i = 0; i + 1 < n; i++) {
        double next_center = center + td->weights[i] / 2.0 + td->weights[i + 1] / 2.0;
        if (target <= next_center) {
            double span = next_center - center;
            double t = span > 0.0 ? (target - center) / span : 0.0;
            return td->means[i] + (td->means[i + 1] - td->means[i]) * t;
        }
        center = next_center;
    }
    return td->means[n - 1];
}

/* ------------------------------------------------------------------ duplicates */

int sketch_dupcount_init(sketch_dupcount *dc, size_t max_bytes)
{
    memset(dc, 0, sizeof *dc);
    size_t max_slots = 1024;
    while (max_slots * 2 * sizeof *dc->slots <= max_bytes)
        max_slots *= 2;
    dc->max_slots = max_slots;
    size_t n = 1024;
    dc->slots = calloc(n, sizeof *dc->slots);
    if (!dc->slots)
        return mdm_error_set(MDM_ENOMEM, "out of memory for the duplicate-row counter");
    dc->mask = n - 1;
    return 0;
}

void sketch_dupcount_free(sketch_dupcount *dc)
{
    free(dc->slots);
    memset(dc, 0, sizeof *dc);
}

static bool dup_sampled(const sketch_dupcount *dc, uint64_t h)
{
    return dc->level == 0 || (h >> (64 - dc->level)) == 0;
}

/* Rebuilds into `n` slots keeping only sampled hashes. */
static int dup_rebuild(sketch_dupcount *dc, size_t n)
{
    sketch_dup_slot *slots = calloc(n, sizeof *slots);
    if (!slots)
        return mdm_error_set(MDM_ENOMEM, "out of memory growing the duplicate-row counter");
    uint64_t duplicates = dc->zero_count > 1 ? dc->zero_count - 1 : 0;
    size_t used = 0;
    for (size_t i = 0; i <= dc->mask; i++) {
        sketch_dup_slot e = dc->slots[i];
        if (!e.key || !dup_sampled(dc, e.key))
            continue;
        size_t j = (size_t)e.key & (n - 1);
        while (slots[j].key)
            j = (j + 1) & (n - 1);
        slots[j] = e;
        duplicates += e.count - 1;
        used++;
    }
    free(dc->slots);
    dc->slots = slots;
    dc->mask = n - 1;
    dc->used = used;
    dc->duplicates_sampled = duplicates;
    return 0;
}

int sketch_dupcount_add(sketch_dupcount *dc, uint64_t h)
{
    if (!dup_sampled(dc, h))
        return 0;
    if (h == 0) {
        if (dc->zero_count++)
            dc->duplicates_sampled++;
        return 0;
    }
    size_t i = (size_t)h & dc->mask;
    while (dc->slots[i].key) {
        if (dc->slots[i].key == h) {
            dc->slots[i].count++;
            dc->duplicates_sampled++;
            return 0;
        }
        i = (i + 1) & dc->mask;
    }
    dc->slots[i].key = h;
    dc->slots[i].count = 1;
    dc->used++;
    while (dc->used * 10 > (dc->mask + 1) * 7) {
        size_t n = dc->mask + 1;
        if (n < dc->max_slots) {
            n *= 2;
        } else {
            if (dc->level >= 63)
                break;
            dc->level++; /* keep half of the hash space */
        }
        int rc = dup_rebuild(dc, n);
        if (rc)
            return rc;
    }
    return 0;
}

uint64_t sketch_dupcount_estimate(const sketch_dupcount *dc)
{
    if (dc->level == 0)
        return dc->duplicates_sampled;
    return (uint64_t)ldexp((double)dc->duplicates_sampled, (int)dc->level);
}
