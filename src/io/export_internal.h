/* Between export.c (the common writer: schema checks, dispatch, value text) and the
 * format writers export_csv.c, export_json.c, export_parquet.c. */
#ifndef MDM_IO_EXPORT_INTERNAL_H
#define MDM_IO_EXPORT_INTERNAL_H

#include "io/export.h"

typedef struct io_writer_ops {
    int (*start)(io_writer *writer); /* the common part is filled: open the output */
    int (*write)(io_writer *writer, const mdm_batch *batch);
    int (*finish)(io_writer *writer); /* completes the file; does not free */
    void (*abort)(io_writer *writer); /* removes what was written; does not free */
    void (*free)(io_writer *writer);  /* the format's own state */
} io_writer_ops;

/* The first member of every format's writer. */
struct io_writer {
    const io_writer_ops *ops;
    char *path;
    mdm_field *fields; /* names owned */
    size_t nfields;
    uint64_t rows;
    io_export_options options;
};

/* Each allocates its zeroed writer (io_writer first) and sets ops; export.c fills the
 * common part, then calls start. */
int io_csv_writer_new(io_writer **out);
int io_json_writer_new(io_writer **out);
int io_parquet_writer_new(io_writer **out);

/* Text forms shared by CSV and JSON; buffers of IO_NUMBER_BUF bytes. Return lengths. */
#define IO_NUMBER_BUF 48
int io_format_int64(char *buf, int64_t v);
/* Shortest round-trip form of a finite double, with ".0" added when it would read as
 * an integer. */
int io_format_double(char *buf, double v);
/* date "YYYY-MM-DD"; timestamp "YYYY-MM-DD<sep>HH:MM:SS[.ffffff]". */
int io_format_date(char *buf, int32_t days);
int io_format_timestamp(char *buf, int64_t micros, char separator);

#endif
