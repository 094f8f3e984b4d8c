/* How deeply a JSON file nests, checked before DuckDB reads it: DuckDB's JSON reader
 * recurses once per level and crashes (SIGSEGV) past some ten thousand levels, after
 * taking gigabytes; no table-shaped dataset nests more than a few levels. */
#ifndef MDM_IO_JSON_DEPTH_H
#define MDM_IO_JSON_DEPTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of arrays and objects accepted in a JSON input file, the top-level
 * records array or a JSON-lines record's object counting as one level. */
#define IO_JSON_MAX_DEPTH 64

/* A streaming scan: brackets inside strings (with their escapes) do not count. */
typedef struct json_depth_scan {
    long depth;       /* current nesting */
    uint64_t line;    /* 1-based line of the last byte fed */
    bool in_string, escape;
} json_depth_scan;

#define JSON_DEPTH_SCAN_INIT {0, 1, false, false}

/* Feeds n bytes. Returns false as soon as the nesting passes `limit` (s->line is then
 * the line of the bracket that went too deep), true otherwise. Unbalanced closing
 * brackets are not this scan's business (the JSON reader reports them). */
bool json_depth_feed(json_depth_scan *s, const unsigned char *buf, size_t n, long limit);

/* Reads `path` (plain or gzip) to its end, or to the first bracket past `limit`:
 * MDM_EINVALID "<path> line L: JSON nested deeper than LIMIT levels (mdm reads at most
 * LIMIT)", MDM_EIO when it cannot be read. */
int io_json_check_depth(const char *path, long limit);

#endif
