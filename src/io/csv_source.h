/* CSV and TSV files as an io_reader (reader.h): a first pass infers the column types
 * without loss (infer.h) from the first 100,000 records or 16 MB (all of them when
 * `exact`), a second pass converts every record into typed batches on a parsing thread
 * of its own, so that parsing the next batch overlaps writing the last. The parsing
 * thread also calls the reader's observer.
 *
 * After a sample the conversion is the check: a later value that does not parse as its
 * column's type ends the read with IO_READER_RETYPE. So does a column the sample left
 * as text for want of evidence (no value yet, dates that read under two layouts) when
 * the rest of the file gives it a type. Reading again with `exact` then gives the plan
 * a whole-file pass gives: sampling changes how fast, never what is loaded.
 *
 * Beyond the io_reader calls, registration can ask what the text file revealed: the
 * dialect, and the header names that had to change. */
#ifndef MDM_IO_CSV_SOURCE_H
#define MDM_IO_CSV_SOURCE_H

#include <stdint.h>

#include "io/csv.h"
#include "io/header.h"
#include "io/infer.h"
#include "io/reader.h"

int io_csv_reader_open(io_reader **out, const char *path, io_format format,
                       const mdm_config *cfg, bool exact);

/* Only for readers io_csv_reader_open made. Borrowed, valid until close. */
const csv_dialect *io_csv_reader_dialect(io_reader *reader);
const io_header *io_csv_reader_header(io_reader *reader);
/* Bytes read so far over both passes, and their total; callable from any thread. */
void io_csv_reader_progress(io_reader *reader, uint64_t *done, uint64_t *total);

#endif
