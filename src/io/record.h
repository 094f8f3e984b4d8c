/* One parsed record of a text file (CSV/TSV): the fields as bytes, before any type is
 * decided. Readers produce records; type inference and conversion consume them. */
#ifndef MDM_IO_RECORD_H
#define MDM_IO_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct io_field {
    const char *ptr; /* valid UTF-8 (readers transcode), NUL-terminated, borrowed */
    size_t len;
    bool quoted;     /* it was written between quotes: "" is an empty string, while an
                        empty unquoted field is a missing value */
} io_field;

typedef struct io_record {
    io_field *fields;
    size_t nfields;
    uint64_t line;   /* 1-based line of the file where the record starts */
} io_record;

#endif
