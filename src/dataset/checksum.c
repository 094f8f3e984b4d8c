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

static inline void sum2_add(sum2 *s, uint64_t h)
{
    s->a += h;
    s->b += fmix64(h ^ SECOND_KEY);
}

static inline uint64_t hash_u64(uint64_t v, uint64_t seed)
{
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(v >> (8 * i));
    return XXH3_64bits_withSeed(le, sizeof le, seed);
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

/* The canonical hash of row `r`'s value of column `c` (not NULL). */
static inline uint64_t value_hash(const checksum *cs, const mdm_batch *batch, size_t c,
                                  const void *data, size_t r)
{
    uint64_t seed = cs->seeds[c];
    switch (cs->fields[c].type) {
    case MDM_TYPE_INT64:
    case MDM_TYPE_TIMESTAMP:
        return hash_u64((uint64_t)((const int64_t *)data)[r], seed);
    case MDM_TYPE_FLOAT64: {
        double d = ((const double *)data)[r];
        uint64_t bits;
        if (d != d)
            bits = 0x7ff8000000000000ull; /* every NaN is one value */
        else if (d == 0)
            bits = 0; /* SQLite stores -0.0 as the integer 0: the sign of zero is lost */
        else
            memcpy(&bits, &d, sizeof bits);
        return hash_u64(bits, seed);
    }
    case MDM_TYPE_BOOL: {
        unsigned char b = ((const uint8_t *)data)[r] ? 1 : 0;
        return XXH3_64bits_withSeed(&b, 1, seed);
    }
    case MDM_TYPE_DATE:
        return hash_u64((uint64_t)(int64_t)((const int32_t *)data)[r], seed);
    case MDM_TYPE_TEXT:
    default: {
        size_t len = 0;
        const char *s = mdm_batch_text(batch, c, r, &len);
        return XXH3_64bits_withSeed(s, len, seed);
    }
    }
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
    for (size_t c = 0; c < cs->nfields; c++) {
        const uint8_t *nulls = mdm_batch_nulls(batch, c);
        const void *data = mdm_batch_data(batch, c);
        sum2 col = cs->columns[c];
        for (size_t r = 0; r < nrows; r++) {
            uint64_t h = nulls && nulls[r] ? cs->null_hash[c] : value_hash(cs, batch, c, data, r);
            sum2_add(&col, h);
            /* chained in column order: the row's tuple, not its multiset of values */
            cs->row_hash[r] = fmix64(cs->row_hash[r] ^ h) + h;
        }
        cs->columns[c] = col;
    }
    for (size_t r = 0; r < nrows; r++)
        sum2_add(&cs->table, cs->row_hash[r]);
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
