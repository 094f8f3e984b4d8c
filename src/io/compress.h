/* Output byte streams for exports: plain, gzip (zlib), zstd (libzstd) or a one-member zip
 * (libzip). Bytes go to a temporary name in the destination's directory; commit renames
 * it into place, abort (or any failure) removes it, so a reader of the destination sees
 * either nothing or the complete file. Memory stays bounded: one buffer plus the
 * compressor's state. */
#ifndef MDM_IO_COMPRESS_H
#define MDM_IO_COMPRESS_H

#include <stddef.h>

#include "mdm/mdm.h"

typedef enum io_compression {
    IO_COMPRESSION_NONE = 0,
    IO_COMPRESSION_GZIP,
    IO_COMPRESSION_ZIP,
    IO_COMPRESSION_ZSTD,
    IO_COMPRESSION_SNAPPY, /* Parquet only (DuckDB's COPY) */
    IO_COMPRESSION_LZ4,    /* Parquet only */
} io_compression;

/* "none", "gzip", "zip", "zstd", "snappy", "lz4". */
const char *io_compression_name(io_compression compression);
/* Case-insensitive; "gz" is accepted for gzip, "uncompressed" for none. An unknown name
 * is MDM_EINVALID: "Invalid compression 'x'. Must be one of: [...]". */
int io_compression_parse(io_compression *out, const char *name);

typedef struct io_ostream io_ostream;

/* Starts a stream whose bytes will end up at `path` (a file name ending in .gz, .zst or
 * .zip is the caller's choice; the zip member is named after `path` without ".zip").
 * Only none, gzip, zip and zstd are stream compressions: the others are MDM_EINVALID. */
int io_ostream_open(io_ostream **out, const char *path, io_compression compression);
int io_ostream_write(io_ostream *stream, const void *data, size_t len);
/* Flushes, finishes the compressed container, fsyncs and renames into place. Frees the
 * stream whatever the outcome; on failure nothing is left at `path` or beside it. */
int io_ostream_commit(io_ostream *stream);
/* Removes what was written and frees the stream. Accepts NULL. */
void io_ostream_abort(io_ostream *stream);

/* A fresh name for a temporary file beside `path` (same directory, hidden, unique in
 * this process and across processes): "<dir>/.<base>.<pid>.<n>.tmp". Caller frees. */
int io_temp_path_beside(char **out, const char *path, const char *what);

#endif
