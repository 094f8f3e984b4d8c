/* CSV and TSV files as an io_reader (reader.h): a first pass infers the column types
 * without loss (infer.h), a second pass converts records into typed batches on a
 * parsing thread of its own, so that parsing the next batch overlaps writing the last.
 *
 * Beyond the io_reader calls, registration can ask what the text file revealed: the
 * plan (semantic types, distinct counts, uniqueness), the dialect, and the header
 * names that had to change. */
#ifndef MDM_IO_CSV_SOURCE_H
#define MDM_IO_CSV_SOURCE_H

#include <stdint.h>

#include "io/csv.h"
#include "io/header.h"
#include "io/infer.h"
#include "io/reader.h"

int io_csv_reader_open(io_reader **out, const char *path, io_format format,
                       const mdm_config *cfg);

/* Only for readers io_csv_reader_open made. Borrowed, valid until close. */
const io_plan *io_csv_reader_plan(io_reader *reader);
const csv_dialect *io_csv_reader_dialect(io_reader *reader);
const io_header *io_csv_reader_header(io_reader *reader);
/* Bytes read so far over both passes, and their total (twice the file's size);
 * callable from any thread. */
void io_csv_reader_progress(io_reader *reader, uint64_t *done, uint64_t *total);

#endif
