/* Every input format as a source of typed batches: registration opens a reader, asks
 * for its schema, pulls batches until the end and closes it, whatever the format.
 *
 *   io_reader *r;
 *   if ((rc = io_reader_open(&r, path, format, cfg))) ...
 *   size_t n; const mdm_field *fields = io_reader_schema(r, &n);
 *   const mdm_batch *batch;
 *   while ((rc = io_reader_next(r, &batch)) == 1) ... use batch ...
 *   io_reader_close(r);            rc == 0: the end; rc < 0: an error (message set)
 *
 * A batch has at most the reader's batch size in rows (performance.batch_size) and is
 * borrowed: it stays valid until the next io_reader_next or io_reader_close. A format's
 * reader embeds io_reader as its first member and fills `ops` (see duckdb_reader.c). */
#ifndef MDM_IO_READER_H
#define MDM_IO_READER_H

#include <stddef.h>

#include "mdm/mdm.h"

typedef enum io_format {
    IO_FORMAT_CSV = 1, /* .csv, .csv.gz */
    IO_FORMAT_TSV,     /* .tsv, .tsv.gz */
    IO_FORMAT_PARQUET, /* .parquet */
    IO_FORMAT_JSON,    /* .json, .jsonl, .ndjson (also .gz): records array or one per line */
    IO_FORMAT_EXCEL,   /* .xlsx, .xls: recognised only to refuse them clearly */
} io_format;

typedef struct io_reader io_reader;

typedef struct io_reader_ops {
    const mdm_field *(*schema)(io_reader *reader, size_t *nfields);
    int (*next)(io_reader *reader, const mdm_batch **batch); /* 1 batch, 0 end, <0 error */
    void (*close)(io_reader *reader);                         /* frees everything */
} io_reader_ops;

struct io_reader {
    const io_reader_ops *ops;
};

/* The format of a file from its name (case-insensitive extension, a final .gz
 * looked through). Unknown: MDM_EINVALID naming the supported extensions. */
int io_format_from_path(io_format *out, const char *path);
const char *io_format_name(io_format format); /* "csv", "tsv", "parquet", "json", "excel" */

/* Opens the reader for `format`: CSV/TSV through csv_source.h, Parquet and JSON
 * through DuckDB (duckdb_reader.h); Excel is MDM_ENOTSUP "<path>: Excel files are not
 * supported; save the sheet as CSV". */
int io_reader_open(io_reader **out, const char *path, io_format format, const mdm_config *cfg);

static inline const mdm_field *io_reader_schema(io_reader *reader, size_t *nfields)
{
    return reader->ops->schema(reader, nfields);
}
static inline int io_reader_next(io_reader *reader, const mdm_batch **batch)
{
    return reader->ops->next(reader, batch);
}
static inline void io_reader_close(io_reader *reader)
{
    if (reader)
        reader->ops->close(reader);
}

#endif
