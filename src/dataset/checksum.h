/* Order-independent digests of a table's typed values, per column and for the whole
 * table, in one streaming pass over its batches (a batch observer beside the statistics
 * during registration, a full read for `mdm dataset verify`).
 *
 * Each value is hashed (XXH3-64) in a canonical typed form, seeded with its column's
 * position and type, so that the digest does not depend on how an engine represents the
 * value: int64 as 8 little-endian bytes, float64 as its bits (every NaN is one value, and
 * -0.0 is 0.0: SQLite keeps no sign of zero), bool one byte, text its bytes, date its days, timestamp its
 * microseconds, NULL a fixed tag. Per column the value hashes are summed modulo 2^64,
 * twice (the hashes, and a second mix of them): two independent sums, 128 bits. Per
 * row the value hashes are chained in column order into a row hash, and the table digest
 * is the same pair of sums over the row hashes: it changes when values move between rows
 * even when every column keeps its multiset of values (two values of one column swapped
 * between two rows). Sums do not depend on the order of the rows. */
#ifndef MDM_DATASET_CHECKSUM_H
#define MDM_DATASET_CHECKSUM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "mdm/mdm.h"

/* The algorithm's name, recorded beside the digests. */
#define CHECKSUM_ALGORITHM "xxh3-64-sum2"
/* Characters of a digest in hex (two 64-bit sums), without the terminator. */
#define CHECKSUM_HEX_LEN 32

typedef struct checksum checksum;

/* Starts digests over a table with these columns (copied). */
int checksum_new(checksum **out, const mdm_field *fields, size_t nfields);
void checksum_free(checksum *cs);
/* Adds a batch whose columns match the fields by position and type (MDM_EINVALID naming
 * the column otherwise). */
int checksum_add_batch(checksum *cs, const mdm_batch *batch);
uint64_t checksum_rows(const checksum *cs);
/* The digests so far as hex text (buf of CHECKSUM_HEX_LEN + 1): col (size_t)-1 is the
 * whole table's. */
void checksum_hex(const checksum *cs, size_t col, char *buf);
/* {"algorithm": "...", "rows": N, "table": "hex", "columns": {"name": "hex", ...}};
 * NULL when out of memory (error set). */
json_t *checksum_to_json(const checksum *cs);

#endif
