/* Column names from a file's header row.
 *
 * Names are kept as written (no trimming, case kept) except where they could not be
 * used as identifiers in every backend:
 *   - a name that is empty or only white space becomes `Unnamed: <i>` (0-based index of
 *     the column, as pandas does);
 *   - control characters and bytes that are not UTF-8 become '_';
 *   - a name longer than 63 bytes (PostgreSQL's limit) is cut at a UTF-8 boundary;
 *   - duplicates become `a`, `a.1`, `a.2`, ... with pandas' rule, which also steps
 *     around a name already taken (`a, a, a.1` -> `a, a.1, a.1.1`). Names are compared
 *     ignoring ASCII case, because SQLite and DuckDB refuse columns `A` and `a` in one
 *     table (pandas compares exactly). A suffix that would pass 63 bytes shortens the
 *     base instead.
 * Every change but pandas' plain de-duplication is reported as a warning line the
 * caller can print ("column 3: ..."); de-duplications are reported too.
 * Without a header row the names are column_1 .. column_N (1-based like the lines of
 * a file; pandas would use 0 .. N-1, which are poor SQL identifiers). */
#ifndef MDM_IO_HEADER_H
#define MDM_IO_HEADER_H

#include <stddef.h>

#include "io/record.h"

typedef struct io_header {
    char **names; /* count names, each passes mdm_ident_check */
    size_t count;
    char **warnings; /* one line each, without a trailing newline */
    size_t nwarnings;
} io_header;

/* Names from the raw fields of a header record. On error *out is empty. */
int io_header_from_fields(io_header *out, const io_field *fields, size_t nfields);
/* column_1 .. column_<ncols>. */
int io_header_default(io_header *out, size_t ncols);
void io_header_free(io_header *header);

#endif
