/* Parquet and JSON files read through DuckDB's readers, delivered as typed batches
 * (an io_reader, see reader.h). */
#ifndef MDM_IO_DUCKDB_READER_H
#define MDM_IO_DUCKDB_READER_H

#include "io/reader.h"

/* `format` is IO_FORMAT_PARQUET or IO_FORMAT_JSON (Excel: the "not supported" error).
 * `cfg` (may be NULL: batches of 10000 rows, DuckDB's defaults) gives
 * performance.batch_size and database.duckdb.{memory_limit, threads, temp_directory}.
 * Errors name the file: "x.parquet: not a Parquet file (...)". */
int io_duckdb_reader_open(io_reader **out, const char *path, io_format format,
                          const mdm_config *cfg);

#endif
