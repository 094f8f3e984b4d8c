/* Streaming CSV/TSV reader: plain or gzip files, dialect sniffing, RFC 4180 quoting,
 * UTF-8 checked (cp1252/latin-1 transcoded when the start of the file says so), memory
 * bounded by the longest record.
 *
 * Use:
 *     csv_reader *r; csv_options opt = CSV_OPTIONS_DEFAULT;
 *     if (csv_open(&r, path, &opt) != 0) ...mdm_error_last()...
 *     const io_record *names = csv_header(r);     NULL when the file has no header
 *     io_record rec; int rc;
 *     while ((rc = csv_next(r, &rec)) == 1) ...rec.fields[0 .. csv_ncolumns(r))...
 *     if (rc < 0) ...error...
 *     csv_rewind(r) reads the data records again; csv_close(r).
 *
 * What the reader decides (the inference and registration stages rely on it):
 * - The header is not returned by csv_next: csv_header() has it (names raw, as written:
 *   possibly empty or duplicated; naming them is the caller's business).
 * - Every record returned has exactly csv_ncolumns() fields. A record with more or fewer
 *   fields is an error naming the line and both counts, never padded or cut.
 * - Skipped, because they carry no value: completely empty lines (anywhere, as pandas
 *   does; in a one-column file too), and lines made only of delimiters whose field count
 *   differs from the header's (Excel's trailing ",,,," rows). A delimiter-only line with
 *   the right count is a record of missing values.
 * - An unquoted empty field is a missing value; a quoted one ("") is an empty string
 *   (io_field.quoted tells them apart). Nothing is trimmed: " 12 " stays " 12 ".
 * - A quote opens a quoted field only as the field's first byte; elsewhere it is an
 *   ordinary character (a"b stays a"b). After a closing quote only a delimiter or a line
 *   end may follow: "ab"c is an error (the quote inside should have been doubled).
 * - Line endings LF, CRLF and lone CR are all line ends, mixed in one file too; inside a
 *   quoted field they are kept as written and still counted as lines. A final line
 *   without a line end is a record.
 * - Errors (MDM_EINVALID unless said otherwise) are one line naming the file and the
 *   1-based line: NUL bytes, unterminated quotes (the line where the quote opened),
 *   ragged records, invalid UTF-8 (line and byte offset), records past
 *   max_record_bytes. Records before the bad spot are delivered first. */
#ifndef MDM_IO_CSV_H
#define MDM_IO_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/record.h"

typedef struct csv_options {
    char delimiter;          /* 0: sniffed (a .tsv or .tsv.gz name means tab) */
    char quote;              /* 0: sniffed ('"' unless the file clearly uses ') */
    int header;              /* -1: sniffed, 0: no header, 1: the first record names columns */
    const char *encoding;    /* NULL: detected; or "utf-8", "cp1252", "latin-1" (and aliases) */
    size_t sample_bytes;     /* bytes looked at to sniff and detect; 0: 64 KiB */
    size_t max_record_bytes; /* longest record accepted; 0: 64 MiB */
    bool no_quoting;         /* quotes are ordinary characters (TSV files written without
                                quoting, where a value may start with '"') */
} csv_options;

#define CSV_OPTIONS_DEFAULT {0, 0, -1, NULL, 0, 0, false}

typedef struct csv_dialect {
    char delimiter;
    char quote;              /* '\0' when quoting is off (no_quoting) */
    bool has_header;
    const char *encoding;    /* "utf-8", "cp1252" or "latin-1": what the bytes were */
    bool transcoded;         /* the file was not UTF-8 and is converted while read */
    bool had_bom;            /* a UTF-8 byte order mark was skipped */
    bool gzip;               /* the file is gzip-compressed (found by its magic bytes) */
    const char *line_ending; /* "LF", "CRLF", "CR", "mixed", or "none" (one line) */
} csv_dialect;

typedef struct csv_reader csv_reader;

/* Opens and sniffs `path` (opt may be NULL for the defaults). Errors: MDM_ENOTFOUND for
 * a missing file, MDM_EIO when it cannot be read, MDM_EINVALID for an empty file
 * ("<path>: the file is empty"), binary data, an undetermined encoding, a bad first
 * record. */
int csv_open(csv_reader **out, const char *path, const csv_options *opt);
const csv_dialect *csv_dialect_of(const csv_reader *r);
/* The header record (names borrowed, valid until csv_close), or NULL without one. */
const io_record *csv_header(const csv_reader *r);
/* Fields per record: the header's count, or the first record's without a header. */
size_t csv_ncolumns(const csv_reader *r);
/* 1: *out holds the next data record (its fields are valid until the next call to
 * csv_next, csv_rewind or csv_close); 0: end of file; <0: error (mdm_error_last()).
 * After an error the reader only returns that error again. */
int csv_next(csv_reader *r, io_record *out);
/* Goes back to the first data record (for a second pass). */
int csv_rewind(csv_reader *r);
/* Progress: bytes of the file read so far (compressed bytes for gzip) and its size. */
uint64_t csv_bytes_done(const csv_reader *r);
uint64_t csv_bytes_total(const csv_reader *r);
void csv_close(csv_reader *r);

#endif
