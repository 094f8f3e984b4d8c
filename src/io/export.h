/* Export writers: a schema and typed batches in, one CSV, JSON or Parquet file out.
 *
 * Streamed with bounded memory; the file appears at its path only when finished
 * (temporary name beside it, renamed at the end; removed on error or abort). Naming
 * (<out>/<name>_<kind>.<ext>, SPEC §5) is the caller's: io_export_extension gives ext.
 *
 * Value forms (the same for CSV and JSON unless said):
 *   int64       decimal digits
 *   float64     the shortest text that reads back as the same double, laid out as
 *               Python's repr() (what pandas writes): always with a '.' or an
 *               exponent so it stays a float ("1.0", "0.1", "1e-05", "1e+16");
 *               CSV: NaN, inf, -inf; JSON: NaN and ±Inf become null (JSON has no
 *               such numbers)
 *   bool        CSV: True/False (what pandas' to_csv writes; pandas, DuckDB and mdm
 *               read both spellings); JSON: true/false
 *   date        YYYY-MM-DD
 *   timestamp   CSV: YYYY-MM-DD HH:MM:SS[.ffffff]; JSON: YYYY-MM-DDTHH:MM:SS[.ffffff]
 *   text        as is (UTF-8). CSV quotes (RFC 4180, "" inside) a field holding the
 *               delimiter, a quote, CR or LF, or leading/trailing spaces or tabs, and
 *               writes the empty string as "" so that it stays distinct from NULL.
 *   NULL        CSV: empty field; JSON: null
 * CSV lines end with LF (as pandas writes them). JSON is a records array (pandas
 * orient="records"), one record per line.
 */
#ifndef MDM_IO_EXPORT_H
#define MDM_IO_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "io/compress.h"
#include "mdm/mdm.h"

typedef enum io_export_format {
    IO_EXPORT_CSV = 1,
    IO_EXPORT_JSON,
    IO_EXPORT_PARQUET,
} io_export_format;

/* Case-insensitive. Unknown: MDM_EINVALID "Invalid format 'x'. Must be one of: [csv,
 * parquet, json]" (SPEC §5). */
int io_export_format_parse(io_export_format *out, const char *name);
const char *io_export_format_name(io_export_format format);

/* The compression actually used for `requested` with `format`:
 *   csv, json: none, zip, gzip, zstd; anything else is MDM_EINVALID naming those.
 *   parquet:   snappy, gzip, zstd, lz4 as given; none writes uncompressed Parquet;
 *              zip (the config default) logs a warning and uses snappy (SPEC §5). */
int io_export_resolve_compression(io_compression *out, io_export_format format,
                                  io_compression requested);
/* ".csv", ".csv.gz", ".csv.zip", ".csv.zst", ".json...", ".parquet" (compression
 * lives inside Parquet files). `compression` is a resolved one. */
const char *io_export_extension(io_export_format format, io_compression compression);

typedef struct io_export_options {
    io_export_format format;
    io_compression compression; /* resolved (io_export_resolve_compression) */
    bool header;                /* CSV: write the header line (--no-header clears it) */
    /* Parquet: database.duckdb.memory_limit, threads (0 = cores), temp_directory.
     * NULL: DuckDB's defaults. */
    const mdm_config *cfg;
} io_export_options;

typedef struct io_writer io_writer;

/* `fields` are copied. An unresolved combination of format and compression is
 * MDM_EINVALID. */
int io_writer_open(io_writer **out, const char *path, const mdm_field *fields,
                   size_t nfields, const io_export_options *options);
/* The batch's columns must match the writer's fields by position and type. */
int io_writer_write(io_writer *writer, const mdm_batch *batch);
/* mdm_batch_sink over io_writer_write, for mdm_conn_read(..., io_writer_sink, writer). */
int io_writer_sink(const mdm_batch *batch, void *writer);
uint64_t io_writer_rows(const io_writer *writer);
/* Completes the file at its path and frees the writer, whatever the outcome (on
 * failure nothing is left behind). */
int io_writer_finish(io_writer *writer);
/* Removes everything written and frees the writer. Accepts NULL. */
void io_writer_abort(io_writer *writer);

#endif
