/* A byte-level scan of a JSON records array: strings (with their escapes) are copied as
 * they are, blanks outside strings are dropped, and the commas between top-level
 * elements become newlines. Validation beyond the brackets is left to DuckDB, which
 * reads the result. */
#include "io/json_lines.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "mdm/mdm.h"

typedef struct scan {
    const char *src;
    FILE *out;
    uint64_t line;   /* 1-based, of src */
    long depth;      /* 0 outside the array, 1 between its elements */
    bool in_string, escape, started, ended, element_open;
    uint64_t records;
} scan;

static int malformed(const scan *s, const char *what)
{
    return mdm_error_set(MDM_EINVALID, "%s line %llu: %s", s->src, (unsigned long long)s->line,
                         what);
}

static int end_element(scan *s)
{
    if (!s->element_open)
        return malformed(s, "empty element in the records array (two commas, or a comma before ']')");
    s->element_open = false;
    s->records++;
    return fputc('\n', s->out) == EOF ? MDM_EIO : 0;
}

/* Handles one chunk; `write_from` marks the start of the run of bytes that go out as
 * they are, flushed before anything that is dropped or replaced. */
static int scan_chunk(scan *s, const unsigned char *buf, size_t n)
{
    size_t run = 0;
#define FLUSH(upto)                                                                     \
    do {                                                                                \
        if ((upto) > run && fwrite(buf + run, 1, (upto) - run, s->out) != (upto) - run) \
            return MDM_EIO;                                                             \
    } while (0)
    for (size_t i = 0; i < n; i++) {
        unsigned char c = buf[i];
        if (c == '\n')
            s->line++;
        if (s->in_string) {
            if (s->escape)
                s->escape = false;
            else if (c == '\\')
                s->escape = true;
            else if (c == '"')
                s->in_string = false;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            FLUSH(i);
            run = i + 1;
            continue;
        }
        if (s->ended) {
            FLUSH(i);
            return malformed(s, "data after the end of the records array");
        }
        if (!s->started) {
            if (c != '[')
                return malformed(s, "a records array must start with '['");
            s->started = true;
            s->depth = 1;
            run = i + 1;
            continue;
        }
        int rc;
        if (s->depth == 1 && (c == ',' || c == ']')) {
            FLUSH(i);
            run = i + 1;
            if (c == ']') {
                s->ended = true;
                s->depth = 0;
                if (s->element_open && (rc = end_element(s)))
                    return rc;
                continue;
            }
            if ((rc = end_element(s)))
                return rc;
            continue;
        }
        s->element_open = true;
        if (c == '"')
            s->in_string = true;
        else if (c == '{' || c == '[')
            s->depth++;
        else if (c == '}' || c == ']')
            s->depth--;
    }
    FLUSH(n);
#undef FLUSH
    return 0;
}

int io_json_array_to_lines(const char *src, const char *dst, uint64_t *records)
{
    *records = 0;
    scan s = {.src = src, .line = 1};
    gzFile in = gzopen(src, "rb");
    if (!in)
        return mdm_error_set(MDM_EIO, "%s: cannot open: %s", src, strerror(errno));
    s.out = fopen(dst, "wb");
    if (!s.out) {
        gzclose(in);
        return mdm_error_set(MDM_EIO, "%s: cannot create a temporary file %s: %s", src, dst,
                             strerror(errno));
    }
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    unsigned char buf[1 << 16];
    bool first = true;
    int n, rc = 0;
    while (rc == 0 && (n = gzread(in, buf, sizeof buf)) > 0) {
        size_t skip = first && n >= 3 && memcmp(buf, bom, 3) == 0 ? 3 : 0;
        first = false;
        rc = scan_chunk(&s, buf + skip, (size_t)n - skip);
        if (rc == MDM_EIO)
            rc = mdm_error_set(MDM_EIO, "%s: cannot write the temporary file %s: %s", src, dst,
                               strerror(errno));
    }
    if (rc == 0 && n < 0) {
        int err = 0;
        rc = mdm_error_set(MDM_EINVALID, "%s: cannot read: %s", src, gzerror(in, &err));
    }
    if (rc == 0 && s.in_string)
        rc = malformed(&s, "end of file inside a string");
    if (rc == 0 && !s.ended)
        rc = malformed(&s, "end of file before the records array was closed with ']'");
    gzclose(in);
    if (fclose(s.out) != 0 && rc == 0)
        rc = mdm_error_set(MDM_EIO, "%s: cannot write the temporary file %s: %s", src, dst,
                           strerror(errno));
    *records = s.records;
    return rc;
}
