/* mdm batches as Arrow record batches (the C data interface,
 * https://arrow.apache.org/docs/format/CDataInterface.html, whose structs are declared
 * here: DuckDB only forward-declares them).
 *
 * A builder gathers the rows of consecutive batches into one record batch of up to
 * `rows_per_array` rows (copies: the batches can go), so that a consumer such as
 * DuckDB gets arrays of the size it stores in one piece:
 *
 *   arrow_builder *b;  arrow_builder_new(&b, fields, n, 122880, 32 << 20);
 *   arrow_builder_append(b, batch, from, count, &taken);   appends up to the array's end
 *   if (arrow_builder_full(b)) arrow_builder_finish(b, &array);   the array is the caller's
 *
 * Types: int64 "l", float64 "g", bool "b" (bits), date "tdD", timestamp "tsu:" (mdm's
 * values are Arrow's: days and microseconds since 1970), text "U" (64-bit offsets; "u"
 * with arrow_builder_use_utf8). A column gets a validity bitmap only when it has a
 * NULL. */
#ifndef MDM_STORAGE_ARROW_BUILD_H
#define MDM_STORAGE_ARROW_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mdm/arrow.h"
#include "mdm/mdm.h"

/* The struct schema of `fields` (names borrowed: they must outlive the schema). */
int arrow_schema_of(struct ArrowSchema *out, const mdm_field *fields, size_t nfields);
/* The same, owning copies of the names (a schema that outlives its source, as a
 * stream's get_schema gives), with text as "u" (32-bit offsets) when `utf8`. */
int arrow_schema_new(struct ArrowSchema *out, const mdm_field *fields, size_t nfields,
                     bool utf8);

typedef struct arrow_builder arrow_builder;

/* Arrays of at most `rows_per_array` rows, fewer when a row is wide: about
 * `bytes_per_array` of values at most (a row at least). */
int arrow_builder_new(arrow_builder **out, const mdm_field *fields, size_t nfields,
                      size_t rows_per_array, size_t bytes_per_array);
void arrow_builder_free(arrow_builder *builder);
/* Text as "u" (utf8, 32-bit offsets) instead of "U", for consumers that want the
 * common form; an array then ends before its text passes 2 GiB. Before any append. */
void arrow_builder_use_utf8(arrow_builder *builder);
/* Appends rows [from, from + count) of `batch` (columns of the builder's types), as
 * many as fit in the array under way; *taken says how many. */
int arrow_builder_append(arrow_builder *builder, const mdm_batch *batch, size_t from,
                         size_t count, size_t *taken);
size_t arrow_builder_rows(const arrow_builder *builder);
bool arrow_builder_full(const arrow_builder *builder);
/* The rows gathered so far as a record batch (released by the caller); the builder
 * starts a new one. */
int arrow_builder_finish(arrow_builder *builder, struct ArrowArray *out);

#endif
