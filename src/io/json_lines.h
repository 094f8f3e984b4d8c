/* JSON records arrays rewritten as newline-delimited records, so that DuckDB reads them
 * with bounded memory (its array reader holds the whole file in memory). */
#ifndef MDM_IO_JSON_LINES_H
#define MDM_IO_JSON_LINES_H

#include <stdint.h>

/* Streams the top-level array of `src` (plain or gzip, optional UTF-8 BOM) into `dst`,
 * one element per line with the blanks between tokens dropped; strings are copied
 * byte for byte. *records gets the number of elements. A file that is not one
 * well-formed top-level array (unclosed, unbalanced, data after it) is MDM_EINVALID
 * naming `src` and the line. */
int io_json_array_to_lines(const char *src, const char *dst, uint64_t *records);

#endif
