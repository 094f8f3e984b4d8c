/* Order-independent digests of a table's typed values (checksum.h). */
#include "dataset/checksum.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* The two sums of one digest. */
typedef struct sum2 {
    uint64_t a, b;
} sum2;

struct checksum {
    mdm_field *fields;   /* names owned */
    size_t nfields;
    uint64_t *seeds;     /* per column: position and type */
    uint64_t *null_hash; /* per column: the hash of its NULL */
    sum2 *columns;
    sum2 table;
    uint64_t rows;
    uint64_t *row_hash;  /* per row of the current batch */
    size_t row_cap;
};

/* The value hash of a NULL is that of this tag under the column's seed. */
static const char NULL_TAG[] = "\0mdm-null";
/* Keeps the second sum independent of the first. */
#define SECOND_KEY 0x9e3779b97f4a7c15ull
/* The multiplier of the per-row chain (odd). */
#define ROW_KEY 0xc2b2ae3d27d4eb4full

/* MurmurHash3's finalizer: a bijection that mixes every bit into every other. */
static inline uint64_t fmix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* The second sum is over a nonlinear function of the hash (an xorshift and a multiply):
 * one multiply per value, where a full fmix64 showed in the registration's profile. */
static inline void sum2_add(sum2 *s, uint64_t h)
{
    s->a += h;
    s->b += (h ^ (h >> 29)) * SECOND_KEY;
}

static inline uint64_t hash_u64(uint64_t v, uint64_t seed)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v); /* the bytes hashed are little-endian everywhere */
#endif
    return XXH3_64bits_withSeed(&v, sizeof v, seed);
}

int checksum_new(checksum **out, const mdm_field *fields, size_t nfields)
{
    *out = NULL;
    checksum *cs = calloc(1, sizeof *cs);
    if (!cs)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    size_t n = nfields ? nfields : 1;
    cs->fields = calloc(n, sizeof *cs->fields);
    cs->seeds = calloc(n, sizeof *cs->seeds);
    cs->null_hash = calloc(n, sizeof *cs->null_hash);
    cs->columns = calloc(n, sizeof *cs->columns);
    if (!cs->fields || !cs->seeds || !cs->null_hash || !cs->columns) {
        checksum_free(cs);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    cs->nfields = nfields;
    for (size_t c = 0; c < nfields; c++) {
        cs->fields[c].type = fields[c].type;
        if (!(cs->fields[c].name = strdup(fields[c].name))) {
            checksum_free(cs);
            return mdm_error_set(MDM_ENOMEM, "out of memory");
        }
        cs->seeds[c] = ((uint64_t)(c + 1) << 8) | (uint64_t)fields[c].type;
        cs->null_hash[c] = XXH3_64bits_withSeed(NULL_TAG, sizeof NULL_TAG - 1, cs->seeds[c]);
    }
    *out = cs;
    return 0;
}

void checksum_free(checksum *cs)
{
    if (!cs)
        return;
    if (cs->fields)
        for (size_t c = 0; c < cs->nfields; c++)
            free((char *)cs->fields[c].name);
    free(cs->fields);
    free(cs->seeds);
    free(cs->null_hash);
    free(cs->columns);
    free(cs->row_hash);
    free(cs);
}

/* A float64's canonical bits: every NaN is one value, and -0.0 is 0.0 (SQLite stores
 * -0.0 as the integer 0: the sign of zero does not survive every engine). */
static inline uint64_t float_bits(double d)
{
    uint64_t bits;
    if (d != d)
        return 0x7ff8000000000000ull;
    if (d == 0)
        return 0;
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

/* Adds h, the hash of row r's value of one column, to the column's sums and the row's
 * chain (the row's tuple in column order, not its multiset of values; mixed once per
 * row in checksum_add_batch). */
#define TAKE(h)                                                                                do {                                                                                           uint64_t h_ = (h), x_ = rows[r];                                                           sum2_add(&col, h_);                                                                        rows[r] = ((x_ << 23) | (x_ >> 41)) * ROW_KEY + h_;                                    } while (0)

/* One column of a batch: a loop per type, NULLs as their tag's hash. */
static void add_column(checksum *cs, const mdm_batch *batch, size_t c, size_t nrows)
{
    const uint8_t *nulls = mdm_batch_nulls(batch, c);
    const void *data = mdm_batch_data(batch, c);
    uint64_t seed = cs->seeds[c], null_hash = cs->null_hash[c];
    uint64_t *rows = cs->row_hash;
    sum2 col = cs->columns[c];
    switch (cs->fields[c].type) {
    case MDM_TYPE_INT64:
    case MDM_TYPE_TIMESTAMP:
        for (size_t r = 0; r < nrows; r++)
            TAKE(nulls && nulls[r] ? null_hash : hash_u64((uint64_t)((const int64_t *)data)[r], seed));
        break;
    case MDM_TYPE_FLOAT64:
        for (size_t r = 0; r < nrows; r++)
            TAKE(nulls && nulls[r] ? null_hash : hash_u64(float_bits(((const double *)data)[r]), seed));
        break;
    case MDM_TYPE_DATE:
        for (size_t r = 0; r < nrows; r++)
            TAKE(nulls && nulls[r] ? null_hash
                                   : hash_u64((uint64_t)(int64_t)((const int32_t *)data)[r], seed));
        break;
    case MDM_TYPE_BOOL:
        for (size_t r = 0; r < nrows; r++) {
            unsigned char b = ((const uint8_t *)data)[r] ? 1 : 0;
            TAKE(nulls && nulls[r] ? null_hash : XXH3_64bits_withSeed(&b, 1, seed));
        }
        break;
    case MDM_TYPE_TEXT:
    default:
        for (size_t r = 0; r < nrows; r++) {
            if (nulls && nulls[r]) {
                TAKE(null_hash);
                continue;
            }
            size_t len = 0;
            const char *s = mdm_batch_text(batch, c, r, &len);
            TAKE(XXH3_64bits_withSeed(s, len, seed));
        }
        break;
    }
    cs->columns[c] = col;
}

int checksum_add_batch(checksum *cs, const mdm_batch *batch)
{
    size_t nrows = mdm_batch_nrows(batch);
    if (mdm_batch_ncols(batch) != cs->nfields)
        return mdm_error_set(MDM_EINVALID, "checksum: a batch of %zu columns for a table of %zu",
                             mdm_batch_ncols(batch), cs->nfields);
    for (size_t c = 0; c < cs->nfields; c++)
        if (mdm_batch_field(batch, c)->type != cs->fields[c].type)
            return mdm_error_set(MDM_EINVALID, "checksum: column '%s' is %s, expected %s",
                                 cs->fields[c].name, mdm_type_name(mdm_batch_field(batch, c)->type),
                                 mdm_type_name(cs->fields[c].type));
    if (nrows > cs->row_cap) {
        uint64_t *grown = realloc(cs->row_hash, nrows * sizeof *grown);
        if (!grown)
            return mdm_error_set(MDM_ENOMEM, "out of memory");
        cs->row_hash = grown;
        cs->row_cap = nrows;
    }
    if (nrows)
        memset(cs->row_hash, 0, nrows * sizeof *cs->row_hash);
    for (size_t c = 0; c < cs->nfields; c++)
        add_column(cs, batch, c, nrows);
    for (size_t r = 0; r < nrows; r++)
        sum2_add(&cs->table, fmix64(cs->row_hash[r]));
    cs->rows += nrows;
    return 0;
}

uint64_t checksum_rows(const checksum *cs)
{
    return cs->rows;
}

void checksum_hex(const checksum *cs, size_t col, char *buf)
{
    const sum2 *s = col == (size_t)-1 ? &cs->table : &cs->columns[col];
    snprintf(buf, CHECKSUM_HEX_LEN + 1, "%016" PRIx64 "%016" PRIx64, s->a, s->b);
}

json_t *checksum_to_json(const checksum *cs)
{
    char hex[CHECKSUM_HEX_LEN + 1];
    json_t *cols = json_object();
    for (size_t c = 0; cols && c < cs->nfields; c++) {
        checksum_hex(cs, c, hex);
        if (json_object_set_new(cols, cs->fields[c].name, json_string(hex))) {
            json_decref(cols);
            cols = NULL;
        }
    }
    checksum_hex(cs, (size_t)-1, hex);
    json_t *doc = cols ? json_pack("{s:s, s:I, s:s, s:o}", "algorithm", CHECKSUM_ALGORITHM, "rows",
                                   (json_int_t)cs->rows, "table", hex, "columns", cols)
                       : NULL;
    if (!doc)
        mdm_error_set(MDM_ENOMEM, "out of memory");
    return doc;
}
