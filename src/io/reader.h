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
 * reader embeds io_reader as its first member and fills `ops` (see duckdb_reader.c).
 *
 * Types: a CSV reader infers them from the first records (csv_source.h) and checks
 * every later record against them. When a later record does not fit, io_reader_next
 * returns IO_READER_RETYPE instead of a batch: the caller throws away what it wrote and
 * reads the file again through io_reader_open_exact, which infers from every record
 * before the first batch and never returns IO_READER_RETYPE. */
#ifndef MDM_IO_READER_H
#define MDM_IO_READER_H

#include <stdbool.h>
#include <stddef.h>

#include "mdm/mdm.h"

typedef enum io_format {
    IO_FORMAT_CSV = 1, /* .csv, .csv.gz */
    IO_FORMAT_TSV,     /* .tsv, .tsv.gz */
    IO_FORMAT_PARQUET, /* .parquet */
    IO_FORMAT_JSON,    /* .json, .jsonl, .ndjson (also .gz): records array or one per line */
    IO_FORMAT_EXCEL,   /* .xlsx, .xls: recognised only to refuse them clearly */
} io_format;

/* io_reader_next: the types inferred from the first records do not hold for a later
 * one (the message, at debug level in the log, names it). */
#define IO_READER_RETYPE 2

typedef struct io_reader io_reader;

/* Sees every batch before the consumer gets it; a non-zero return is an error that
 * ends the read (io_reader_next returns it). */
typedef int (*io_batch_observer)(const mdm_batch *batch, void *ctx);

typedef struct io_reader_ops {
    const mdm_field *(*schema)(io_reader *reader, size_t *nfields);
    int (*next)(io_reader *reader, const mdm_batch **batch); /* 1 batch, 0 end, <0 error */
    void (*close)(io_reader *reader);                         /* frees everything */
    bool calls_observer; /* next() calls the observer itself (on a thread of its own) */
} io_reader_ops;

struct io_reader {
    const io_reader_ops *ops;
    io_batch_observer observer;
    void *observer_ctx;
};

/* The format of a file from its name (case-insensitive extension, a final .gz
 * looked through). Unknown: MDM_EINVALID naming the supported extensions. */
int io_format_from_path(io_format *out, const char *path);
const char *io_format_name(io_format format); /* "csv", "tsv", "parquet", "json", "excel" */

/* Opens the reader for `format`: CSV/TSV through csv_source.h, Parquet and JSON
 * through DuckDB (duckdb_reader.h); Excel is MDM_ENOTSUP "<path>: Excel files are not
 * supported; save the sheet as CSV". */
int io_reader_open(io_reader **out, const char *path, io_format format, const mdm_config *cfg);
/* As io_reader_open, with CSV types inferred from every record first. */
int io_reader_open_exact(io_reader **out, const char *path, io_format format,
                         const mdm_config *cfg);

/* Sets the observer, before the first io_reader_next. A reader with a parsing thread
 * calls it there, so that work on every batch (statistics) overlaps the consumer's;
 * the observer's state must not be touched by others until the read ends (0, an
 * error, IO_READER_RETYPE) or the reader is closed. */
static inline void io_reader_set_observer(io_reader *reader, io_batch_observer observer,
                                          void *ctx)
{
    reader->observer = observer;
    reader->observer_ctx = ctx;
}

static inline const mdm_field *io_reader_schema(io_reader *reader, size_t *nfields)
{
    return reader->ops->schema(reader, nfields);
}
static inline int io_reader_next(io_reader *reader, const mdm_batch **batch)
{
    int rc = reader->ops->next(reader, batch);
    if (rc == 1 && reader->observer && !reader->ops->calls_observer) {
        int orc = reader->observer(*batch, reader->observer_ctx);
        if (orc)
            return orc < 0 ? orc : MDM_ERROR;
    }
    return rc;
}
static inline void io_reader_close(io_reader *reader)
{
    if (reader)
        reader->ops->close(reader);
}

#endif
