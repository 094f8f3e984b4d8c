/* Streaming CSV/TSV reader (see csv.h for what it decides).
 *
 * The file is read through zlib (gzread reads plain files as they are and inflates
 * gzip ones, found by their magic bytes) into one buffer of UTF-8 text: read directly
 * when the file is UTF-8 (validated, not copied), transcoded from a second buffer
 * otherwise. Records are parsed in place: fields point into the buffer and are cut with
 * a NUL written over the delimiter or line end; doubled quotes are unescaped in place
 * (the result is shorter). Nothing is written until the whole record is in the buffer,
 * so a record cut by the buffer's end is parsed again from its start after the rest is
 * read: the buffer grows only for records longer than it, up to max_record_bytes. */
#include "io/csv.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io/csv_sniff.h"
#include "io/text_decode.h"
#include "mdm/mdm.h"

enum {
    READ_CHUNK = 1 << 20,
    DEFAULT_SAMPLE = 64 << 10,
    DEFAULT_MAX_RECORD = 64 << 20,
};

/* Byte classes of the scanning loops. */
enum { C_PLAIN = 0, C_DELIM, C_QUOTE, C_LF, C_CR, C_NUL };

/* What parse_record found. */
enum { PR_EOF = 0, PR_RECORD = 1, PR_MORE = 2, PR_SKIP = 3 };

typedef struct span {
    size_t start, end; /* offsets into the buffer */
    bool quoted, escaped;
} span;

struct csv_reader {
    char *path;
    gzFile gz;
    uint64_t file_size, bytes_done;
    csv_dialect dialect;
    text_encoding enc;
    size_t max_record;
    unsigned char plain_class[256];  /* in an unquoted field: delimiter, line ends, NUL */
    unsigned char quoted_class[256]; /* in a quoted field: quote, line ends, NUL */

    char *buf;           /* cap + 1 bytes: room for a NUL after a last field at EOF */
    size_t cap;
    size_t pos;          /* start of the next record */
    size_t limit;        /* end of the bytes known to be valid UTF-8 */
    size_t end;          /* end of the bytes in the buffer */
    uint64_t buf_offset; /* offset in the (decompressed) file of buf[0], for UTF-8 */
    bool src_eof;        /* the file has no more bytes */
    bool eof;            /* ...and everything read is in buf */
    bool bad_byte;       /* buf[limit] is not valid UTF-8 */
    uint64_t line;       /* line number at pos */
    bool more_in_quote;  /* the last PR_MORE stopped inside a quoted field... */
    uint64_t more_quote_line; /* ...opened at this line */

    unsigned char *raw;  /* undecoded bytes of a single-byte encoding */
    size_t raw_cap, raw_pos, raw_len;

    span *spans;
    io_field *fields;
    size_t fields_cap;
    size_t ncols;

    bool has_header_record;
    io_record header;
    char *header_mem;
    bool have_pending; /* the first data record, read by open or rewind */
    bool at_end;           /* the last record was returned: csv_next keeps returning 0 */
    io_record pending;

    int failed; /* sticky error */
    char *failed_msg;
};

static int fail(csv_reader *r, int rc)
{
    if (r->failed == 0) {
        r->failed = rc;
        r->failed_msg = strdup(mdm_error_last()->message);
    }
    return rc;
}

static const char *size_text(char *out, size_t outsz, size_t bytes)
{
    if (bytes % (1 << 20) == 0)
        snprintf(out, outsz, "%zu MiB", bytes >> 20);
    else
        snprintf(out, outsz, "%zu bytes", bytes);
    return out;
}

/* Lines ended within buf[from, to): LF, CRLF and lone CR each end one. */
static uint64_t count_line_ends(const char *buf, size_t from, size_t to)
{
    uint64_t lines = 0;
    for (size_t i = from; i < to; i++) {
        if (buf[i] == '\n')
            lines++;
        else if (buf[i] == '\r' && !(i + 1 < to && buf[i + 1] == '\n'))
            lines++;
    }
    return lines;
}

static int invalid_utf8_error(csv_reader *r)
{
    uint64_t line = r->line + count_line_ends(r->buf, r->pos, r->limit);
    return mdm_error_set(MDM_EINVALID,
                         "%s line %llu: invalid UTF-8 at byte offset %llu; the file's encoding "
                         "could not be determined",
                         r->path, (unsigned long long)line,
                         (unsigned long long)(r->buf_offset + r->limit));
}

static int nul_error(const csv_reader *r, uint64_t line)
{
    return mdm_error_set(MDM_EINVALID, "%s: NUL byte at line %llu: not a text file?", r->path,
                         (unsigned long long)line);
}

static int read_error(const csv_reader *r)
{
    int errnum = 0;
    const char *msg = gzerror(r->gz, &errnum);
    if (errnum == Z_ERRNO)
        return mdm_error_set(MDM_EIO, "%s: cannot read: %s", r->path, strerror(errno));
    /* zlib names the stream "<fd:N>: " before its message; the path says it better. */
    const char *colon = strncmp(msg, "<fd:", 4) == 0 ? strstr(msg, ": ") : NULL;
    if (colon != NULL)
        msg = colon + 2;
    return mdm_error_set(MDM_EIO, "%s: cannot read: %s (a damaged or truncated gzip file?)",
                         r->path, msg);
}

/* Reads up to `want` bytes of the file into dst; sets src_eof at the end. */
static int read_source(csv_reader *r, void *dst, size_t want, size_t *got)
{
    if (want > INT_MAX)
        want = INT_MAX;
    int n = gzread(r->gz, dst, (unsigned)want);
    if (n < 0)
        return read_error(r);
    if ((size_t)n < want) {
        int errnum = 0;
        gzerror(r->gz, &errnum);
        if (errnum != Z_OK && errnum != Z_STREAM_END)
            return read_error(r);
        r->src_eof = true;
    }
    z_off_t offset = gzoffset(r->gz);
    if (offset >= 0)
        r->bytes_done = (uint64_t)offset;
    *got = (size_t)n;
    return 0;
}

/* Moves the unparsed bytes to the buffer's start and adds more from the file, growing
 * the buffer when one record fills most of it. */
static int refill(csv_reader *r)
{
    if (r->bad_byte || (r->eof && r->limit < r->end))
        return invalid_utf8_error(r);
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->end - r->pos);
        r->buf_offset += r->pos;
        r->limit -= r->pos;
        r->end -= r->pos;
        r->pos = 0;
    }
    /* Here the buffer holds one unfinished record. */
    if (r->end >= r->max_record) {
        char size[32];
        size_text(size, sizeof size, r->max_record);
        if (r->more_in_quote)
            return mdm_error_set(MDM_EINVALID,
                                 "%s line %llu: quoted field longer than %s (a closing quote "
                                 "missing?)",
                                 r->path, (unsigned long long)r->more_quote_line, size);
        return mdm_error_set(MDM_EINVALID, "%s line %llu: record longer than %s", r->path,
                             (unsigned long long)r->line, size);
    }
    if (r->cap - r->end < r->cap / 4) {
        size_t cap = r->cap * 2;
        char *grown = realloc(r->buf, cap + 1);
        if (grown == NULL)
            return mdm_error_set(MDM_ENOMEM, "%s: out of memory for a record of %zu bytes",
                                 r->path, r->end);
        r->buf = grown;
        r->cap = cap;
    }
    size_t room = r->cap - r->end;
    if (r->enc == TEXT_UTF8) {
        size_t got = 0;
        int rc = read_source(r, r->buf + r->end, room, &got);
        if (rc != 0)
            return rc;
        size_t from = r->limit;
        r->end += got;
        bool truncated;
        r->limit = from + utf8_valid_prefix((const unsigned char *)r->buf + from, r->end - from,
                                            &truncated);
        r->bad_byte = r->limit < r->end && !truncated;
        r->eof = r->src_eof;
        return 0;
    }
    size_t want = room / 3;
    if (r->raw_pos == r->raw_len && !r->src_eof) {
        size_t got = 0;
        int rc = read_source(r, r->raw, want < r->raw_cap ? want : r->raw_cap, &got);
        if (rc != 0)
            return rc;
        r->raw_pos = 0;
        r->raw_len = got;
    }
    size_t take = r->raw_len - r->raw_pos;
    if (take > want)
        take = want;
    r->end += single_byte_to_utf8(r->buf + r->end, r->raw + r->raw_pos, take, r->enc);
    r->raw_pos += take;
    r->limit = r->end;
    r->eof = r->src_eof && r->raw_pos == r->raw_len;
    return 0;
}

static int grow_fields(csv_reader *r)
{
    size_t cap = r->fields_cap ? r->fields_cap * 2 : 64;
    span *spans = realloc(r->spans, cap * sizeof *spans);
    if (spans == NULL)
        return mdm_error_set(MDM_ENOMEM, "%s: out of memory for %zu fields", r->path, cap);
    r->spans = spans;
    io_field *fields = realloc(r->fields, cap * sizeof *fields);
    if (fields == NULL)
        return mdm_error_set(MDM_ENOMEM, "%s: out of memory for %zu fields", r->path, cap);
    r->fields = fields;
    r->fields_cap = cap;
    return 0;
}

static int junk_after_quote_error(const csv_reader *r, uint64_t line, size_t field,
                                  unsigned char byte)
{
    char shown[16];
    if (byte >= 0x20 && byte < 0x7F)
        snprintf(shown, sizeof shown, "'%c'", byte);
    else
        snprintf(shown, sizeof shown, "byte 0x%02X", byte);
    return mdm_error_set(MDM_EINVALID,
                         "%s line %llu: field %zu: unexpected %s after the closing quote (a "
                         "quote inside a quoted field must be doubled)",
                         r->path, (unsigned long long)line, field, shown);
}

/* Removes one quote of each doubled pair in buf[start, end); returns the new end. */
static size_t unescape_quotes(char *buf, size_t start, size_t end, char quote)
{
    size_t out = start;
    for (size_t i = start; i < end; i++) {
        buf[out++] = buf[i];
        if (buf[i] == quote)
            i++; /* the second of the pair */
    }
    return out;
}

/* Parses the record at r->pos. Writes into the buffer (NULs, unescaping) only once the
 * record is complete, so PR_MORE leaves it as it was. */
static int parse_record(csv_reader *r, io_record *out)
{
    char *buf = r->buf;
    const unsigned char *pc = r->plain_class, *qc = r->quoted_class;
    const char quote = r->dialect.quote;
    const bool quoting = quote != '\0';
    const size_t lim = r->limit;
    const bool at_eof = r->eof && r->limit == r->end;
    size_t p = r->pos, nf = 0;
    uint64_t line = r->line;
    bool content = false; /* some field is quoted or not empty */
    size_t term_len = 0;

    r->more_in_quote = false;
    if (p == lim)
        return at_eof ? PR_EOF : PR_MORE;
    for (;;) {
        if (nf == r->fields_cap && grow_fields(r) != 0)
            return MDM_ENOMEM;
        span *f = &r->spans[nf++];
        if (p < lim && buf[p] == quote && quoting) {
            uint64_t open_line = line;
            r->more_in_quote = true; /* for the message when the record is too long */
            r->more_quote_line = open_line;
            size_t q = p + 1;
            bool escaped = false;
            for (;;) {
                while (q < lim && qc[(unsigned char)buf[q]] == C_PLAIN)
                    q++;
                if (q == lim) {
                    if (at_eof)
                        return mdm_error_set(MDM_EINVALID,
                                             "%s line %llu: unterminated quoted field (the "
                                             "quote opened here is still open at the end of "
                                             "the file, line %llu)",
                                             r->path, (unsigned long long)open_line,
                                             (unsigned long long)line);
                    return PR_MORE;
                }
                int cls = qc[(unsigned char)buf[q]];
                if (cls == C_QUOTE) {
                    if (q + 1 == lim && !at_eof)
                        return PR_MORE;
                    if (q + 1 < lim && buf[q + 1] == quote) {
                        escaped = true;
                        q += 2;
                        continue;
                    }
                    break; /* the closing quote */
                }
                if (cls == C_NUL)
                    return nul_error(r, line);
                if (cls == C_CR) {
                    if (q + 1 == lim && !at_eof)
                        return PR_MORE;
                    q += q + 1 < lim && buf[q + 1] == '\n' ? 2 : 1;
                } else {
                    q++;
                }
                line++;
            }
            r->more_in_quote = false;
            f->start = p + 1;
            f->end = q;
            f->quoted = true;
            f->escaped = escaped;
            content = true;
            p = q + 1;
            if (p < lim && pc[(unsigned char)buf[p]] == C_PLAIN)
                return junk_after_quote_error(r, line, nf, (unsigned char)buf[p]);
        } else {
            size_t q = p;
            while (q < lim && pc[(unsigned char)buf[q]] == C_PLAIN)
                q++;
            f->start = p;
            f->end = q;
            f->quoted = false;
            f->escaped = false;
            content |= q > p;
            p = q;
        }
        if (p == lim) {
            if (!at_eof)
                return PR_MORE;
            break; /* the last line has no line end */
        }
        int cls = pc[(unsigned char)buf[p]];
        if (cls == C_DELIM) {
            p++;
            continue;
        }
        if (cls == C_NUL)
            return nul_error(r, line);
        if (cls == C_CR) {
            if (p + 1 == lim && !at_eof)
                return PR_MORE;
            term_len = p + 1 < lim && buf[p + 1] == '\n' ? 2 : 1;
        } else {
            term_len = 1;
        }
        break;
    }

    uint64_t start_line = r->line;
    r->pos = p + term_len;
    r->line = line + (term_len > 0);
    if (!content && (nf == 1 || (r->ncols > 0 && nf != r->ncols)))
        return PR_SKIP; /* an empty or delimiter-only line: see csv.h */
    if (r->ncols > 0 && nf != r->ncols)
        return mdm_error_set(MDM_EINVALID, "%s line %llu: %zu fields, but the %s has %zu",
                             r->path, (unsigned long long)start_line, nf,
                             r->dialect.has_header ? "header" : "first record", r->ncols);
    for (size_t i = 0; i < nf; i++) {
        span *f = &r->spans[i];
        size_t end = f->escaped ? unescape_quotes(buf, f->start, f->end, quote) : f->end;
        buf[end] = '\0';
        r->fields[i].ptr = buf + f->start;
        r->fields[i].len = end - f->start;
        r->fields[i].quoted = f->quoted;
    }
    out->fields = r->fields;
    out->nfields = nf;
    out->line = start_line;
    return PR_RECORD;
}

static int next_record(csv_reader *r, io_record *out)
{
    for (;;) {
        int rc = parse_record(r, out);
        if (rc == PR_SKIP)
            continue;
        if (rc == PR_MORE) {
            rc = refill(r);
            if (rc == 0)
                continue;
        }
        return rc;
    }
}

static void set_classes(csv_reader *r)
{
    memset(r->plain_class, C_PLAIN, sizeof r->plain_class);
    r->plain_class[(unsigned char)r->dialect.delimiter] = C_DELIM;
    r->plain_class['\n'] = C_LF;
    r->plain_class['\r'] = C_CR;
    r->plain_class[0] = C_NUL;
    memset(r->quoted_class, C_PLAIN, sizeof r->quoted_class);
    if (r->dialect.quote != '\0')
        r->quoted_class[(unsigned char)r->dialect.quote] = C_QUOTE;
    r->quoted_class['\n'] = C_LF;
    r->quoted_class['\r'] = C_CR;
    r->quoted_class[0] = C_NUL;
}

static int keep_header(csv_reader *r, const io_record *rec)
{
    size_t bytes = 0;
    for (size_t i = 0; i < rec->nfields; i++)
        bytes += rec->fields[i].len + 1;
    r->header_mem = malloc(bytes ? bytes : 1);
    r->header.fields = malloc(rec->nfields * sizeof *r->header.fields);
    if (r->header_mem == NULL || r->header.fields == NULL)
        return mdm_error_set(MDM_ENOMEM, "%s: out of memory for the header", r->path);
    char *p = r->header_mem;
    for (size_t i = 0; i < rec->nfields; i++) {
        memcpy(p, rec->fields[i].ptr, rec->fields[i].len + 1);
        r->header.fields[i] = rec->fields[i];
        r->header.fields[i].ptr = p;
        p += rec->fields[i].len + 1;
    }
    r->header.nfields = rec->nfields;
    r->header.line = rec->line;
    r->has_header_record = true;
    return 0;
}

/* Reads the first record: the header, or the first data record kept for csv_next. On
 * the first call (from open) it also fixes the column count. */
static int read_first_record(csv_reader *r)
{
    io_record rec;
    bool opening = r->ncols == 0;
    int rc = next_record(r, &rec);
    if (rc < 0)
        return rc;
    if (rc == PR_EOF)
        return mdm_error_set(MDM_EINVALID, "%s: the file has no records (only empty lines)",
                             r->path);
    r->ncols = rec.nfields;
    if (!r->dialect.has_header) {
        r->pending = rec;
        r->have_pending = true;
        return 0;
    }
    return opening ? keep_header(r, &rec) : 0;
}

/* Starts reading at the file's beginning, with the encoding and dialect known. */
static int start_reading(csv_reader *r)
{
    if (gzrewind(r->gz) != 0)
        return read_error(r);
    r->pos = r->limit = r->end = 0;
    r->buf_offset = 0;
    r->src_eof = r->eof = r->bad_byte = false;
    r->raw_pos = r->raw_len = 0;
    r->line = 1;
    r->have_pending = false;
    int rc = refill(r);
    if (rc != 0)
        return rc;
    if (r->dialect.had_bom)
        r->pos = 3;
    return read_first_record(r);
}

static bool name_says_tab(const char *path)
{
    size_t n = strlen(path);
    return (n >= 4 && strcasecmp(path + n - 4, ".tsv") == 0) ||
           (n >= 7 && strcasecmp(path + n - 7, ".tsv.gz") == 0);
}

static int check_options(const char *path, const csv_options *opt, text_encoding *enc)
{
    char d = opt->delimiter, q = opt->quote;
    if (d == '\n' || d == '\r' || (d != 0 && d == q) || q == '\n' || q == '\r')
        return mdm_error_set(MDM_EINVALID,
                             "%s: the delimiter and quote must differ and not be line ends",
                             path);
    if (opt->encoding != NULL && text_encoding_parse(enc, opt->encoding) != 0)
        return mdm_error_set(MDM_EINVALID,
                             "%s: unsupported encoding '%s' (known: utf-8, cp1252, latin-1)",
                             path, opt->encoding);
    return 0;
}

static int open_file(csv_reader *r, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return mdm_error_set(MDM_ENOTFOUND, "%s: no such file", path);
        return mdm_error_set(MDM_EIO, "%s: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        return mdm_error_set(MDM_EINVALID, "%s: is a directory, not a file", path);
    if (S_ISREG(st.st_mode) && st.st_size == 0)
        return mdm_error_set(MDM_EINVALID, "%s: the file is empty", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mdm_error_set(MDM_EIO, "%s: cannot open: %s", path, strerror(errno));
    r->gz = gzdopen(fd, "rb");
    if (r->gz == NULL) {
        close(fd);
        return mdm_error_set(MDM_ENOMEM, "%s: out of memory opening the file", path);
    }
    gzbuffer(r->gz, 256 << 10);
    r->file_size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    return 0;
}

/* Looks at the first bytes: byte order mark, encoding; switches to transcoding when the
 * file is not UTF-8. */
static int detect_encoding(csv_reader *r, bool encoding_given, size_t sample)
{
    const unsigned char *b = (const unsigned char *)r->buf;
    if (encoding_given && r->enc != TEXT_UTF8)
        goto transcode; /* the caller said so: no byte order mark to look for */
    if (r->end >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF)))
        return mdm_error_set(MDM_EINVALID,
                             "%s: UTF-16 text (byte order mark %02X %02X) is not supported; "
                             "convert it to UTF-8",
                             r->path, b[0], b[1]);
    if (r->end >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
        r->dialect.had_bom = true;
        r->pos = 3;
    }
    if (r->end == r->pos)
        return mdm_error_set(MDM_EINVALID, "%s: the file is empty", r->path);
    if (!encoding_given && !r->dialect.had_bom) {
        size_t n = r->end - r->pos;
        if (n > sample)
            n = sample;
        bool whole = r->eof && r->pos + n == r->end;
        switch (text_guess_encoding(b + r->pos, n, whole)) {
        case TEXT_GUESS_UTF8: break;
        case TEXT_GUESS_CP1252: r->enc = TEXT_CP1252; break;
        case TEXT_GUESS_BINARY:
            return mdm_error_set(MDM_EINVALID,
                                 "%s: not a text file (control bytes in its first %zu bytes)",
                                 r->path, n);
        case TEXT_GUESS_UNKNOWN: {
            bool truncated;
            r->limit = r->pos + utf8_valid_prefix(b + r->pos, n, &truncated);
            return invalid_utf8_error(r);
        }
        }
    }
    if (r->enc == TEXT_UTF8)
        return 0;
transcode:
    r->raw_cap = READ_CHUNK;
    r->raw = malloc(r->raw_cap);
    if (r->raw == NULL)
        return mdm_error_set(MDM_ENOMEM, "%s: out of memory", r->path);
    return 0;
}

/* Bytes to sniff: `sample`, stretched (within what was read) to hold a few whole lines
 * when the first lines are longer than that, as in files of thousands of columns. */
static size_t sample_length(const csv_reader *r, size_t sample)
{
    enum { LINES_WANTED = 5 };
    size_t available = r->limit - r->pos;
    if (available <= sample)
        return available;
    int lines = 0;
    for (size_t i = r->pos; i < r->limit; i++) {
        if ((r->buf[i] == '\n' || r->buf[i] == '\r') && ++lines == LINES_WANTED) {
            size_t n = i + 1 - r->pos;
            return n > sample ? n : sample;
        }
    }
    return available;
}

int csv_open(csv_reader **out, const char *path, const csv_options *opt)
{
    static const csv_options defaults = CSV_OPTIONS_DEFAULT;
    int rc;
    *out = NULL;
    if (opt == NULL)
        opt = &defaults;
    text_encoding enc = TEXT_UTF8;
    rc = check_options(path, opt, &enc);
    if (rc != 0)
        return rc;
    csv_reader *r = calloc(1, sizeof *r);
    if (r == NULL || (r->path = strdup(path)) == NULL) {
        free(r);
        return mdm_error_set(MDM_ENOMEM, "%s: out of memory", path);
    }
    r->max_record = opt->max_record_bytes ? opt->max_record_bytes : DEFAULT_MAX_RECORD;
    size_t sample = opt->sample_bytes ? opt->sample_bytes : DEFAULT_SAMPLE;
    r->cap = READ_CHUNK;
    r->buf = malloc(r->cap + 1);
    if (r->buf == NULL) {
        rc = mdm_error_set(MDM_ENOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    rc = open_file(r, path);
    if (rc != 0)
        goto cleanup;

    /* First look, as raw bytes. */
    r->line = 1;
    r->enc = TEXT_UTF8;
    rc = refill(r);
    if (rc != 0)
        goto cleanup;
    if (r->end == 0) {
        rc = mdm_error_set(MDM_EINVALID, "%s: the file is empty", path);
        goto cleanup;
    }
    r->dialect.gzip = gzdirect(r->gz) == 0;
    r->enc = enc;
    rc = detect_encoding(r, opt->encoding != NULL, sample);
    if (rc != 0)
        goto cleanup;
    r->dialect.encoding = text_encoding_name(r->enc);
    r->dialect.transcoded = r->enc != TEXT_UTF8;
    if (r->enc != TEXT_UTF8) {
        /* Read the start again, through the transcoder. */
        if (gzrewind(r->gz) != 0) {
            rc = read_error(r);
            goto cleanup;
        }
        r->pos = r->limit = r->end = 0;
        r->src_eof = r->eof = r->bad_byte = false;
        rc = refill(r);
        if (rc != 0)
            goto cleanup;
    }

    /* Sniff the dialect on the first decoded bytes. */
    size_t n = sample_length(r, sample);
    bool whole = r->eof && r->pos + n == r->end;
    char delimiter = opt->delimiter;
    if (delimiter == 0 && name_says_tab(path))
        delimiter = '\t';
    csv_sniff_result sniffed;
    rc = csv_sniff(&sniffed, r->buf + r->pos, n, whole, delimiter, opt->quote, opt->no_quoting,
                   opt->header);
    if (rc != 0)
        goto cleanup;
    r->dialect.delimiter = sniffed.delimiter;
    r->dialect.quote = sniffed.quote;
    r->dialect.has_header = sniffed.has_header;
    r->dialect.line_ending = sniffed.line_ending;
    set_classes(r);

    rc = start_reading(r);
cleanup:
    if (rc != 0) {
        csv_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

const csv_dialect *csv_dialect_of(const csv_reader *r) { return &r->dialect; }

const io_record *csv_header(const csv_reader *r)
{
    return r->has_header_record ? &r->header : NULL;
}

size_t csv_ncolumns(const csv_reader *r) { return r->ncols; }

int csv_next(csv_reader *r, io_record *out)
{
    if (r->failed != 0)
        return mdm_error_set(r->failed, "%s", r->failed_msg ? r->failed_msg : "read failed");
    if (r->have_pending) {
        r->have_pending = false;
        *out = r->pending;
        return 1;
    }
    if (r->at_end)
        return 0;
    int rc = next_record(r, out);
    if (rc == 0)
        r->at_end = true;
    return rc < 0 ? fail(r, rc) : rc;
}

int csv_rewind(csv_reader *r)
{
    if (r->failed != 0)
        return mdm_error_set(r->failed, "%s", r->failed_msg ? r->failed_msg : "read failed");
    r->at_end = false;
    int rc = start_reading(r);
    return rc < 0 ? fail(r, rc) : 0;
}

uint64_t csv_bytes_done(const csv_reader *r)
{
    return r->bytes_done < r->file_size || r->file_size == 0 ? r->bytes_done : r->file_size;
}

uint64_t csv_bytes_total(const csv_reader *r) { return r->file_size; }

void csv_close(csv_reader *r)
{
    if (r == NULL)
        return;
    if (r->gz != NULL)
        gzclose(r->gz);
    free(r->path);
    free(r->buf);
    free(r->raw);
    free(r->spans);
    free(r->fields);
    free(r->header.fields);
    free(r->header_mem);
    free(r->failed_msg);
    free(r);
}
