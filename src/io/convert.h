/* Conversion of text records to typed rows, by the plan type inference made.
 *
 * Each field is parsed by its column's type with the same exact parsers inference used
 * (parse_value.h): int64 by a hand-written parser with an overflow check, float64 by a
 * fast exact path for up to 15 digits and strtod otherwise (every double round-trips),
 * bool, and dates/timestamps in the column's layout. An empty unquoted field is NULL;
 * in typed columns the missing-value markers are NULL too; text is copied as written.
 * A field that does not parse (the file changed since the inference pass) is an
 * MDM_EINVALID error naming the source, line, column and value: nothing is coerced. */
#ifndef MDM_IO_CONVERT_H
#define MDM_IO_CONVERT_H

#include "io/infer.h"
#include "io/record.h"
#include "mdm/mdm.h"

/* Appends the record as one row of `batch`, whose columns are the plan's fields (see
 * io_plan_fields). Fields missing from a short record are NULL; extra fields are an
 * error. On error the batch holds a partial last row: discard the batch. `source`
 * names the file in messages (may be NULL). */
int io_convert_record(mdm_batch *batch, const io_plan *plan, const io_record *rec,
                      const char *source);

#endif
