/* CSV export: RFC 4180 with minimal quoting, LF line ends, through an io_ostream (plain,
 * gzip, zip or zstd). Value forms are listed in export.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/compress.h"
#include "io/export_internal.h"

typedef struct csv_writer {
    io_writer base;
    io_ostream *out;
} csv_writer;

static bool needs_quotes(const char *s, size_t len)
{
    if (len == 0)
        return true; /* "" is the empty string; an empty field is NULL */
    if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t')
        return true;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == ',' || c == '"' || c == '\n' || c == '\r')
            return true;
    }
    return false;
}

static int put_text(io_ostream *out, const char *s, size_t len)
{
    if (!needs_quotes(s, len))
        return io_ostream_write(out, s, len);
    int rc = io_ostream_write(out, "\"", 1);
    const char *run = s;
    const char *end = s + len;
    while (rc == 0) {
        const char *q = memchr(run, '"', (size_t)(end - run));
        if (!q) {
            rc = io_ostream_write(out, run, (size_t)(end - run));
            break;
        }
        rc = io_ostream_write(out, run, (size_t)(q - run) + 1); /* through the quote */
        if (rc == 0)
            rc = io_ostream_write(out, "\"", 1);                 /* doubled */
        run = q + 1;
    }
    return rc ? rc : io_ostream_write(out, "\"", 1);
}

static int put_float(io_ostream *out, double v)
{
    if (isnan(v))
        return io_ostream_write(out, "NaN", 3);
    if (isinf(v))
        return v > 0 ? io_ostream_write(out, "inf", 3) : io_ostream_write(out, "-inf", 4);
    char buf[IO_NUMBER_BUF];
    int n = io_format_double(buf, v);
    return io_ostream_write(out, buf, (size_t)n);
}

static int csv_start(io_writer *w)
{
    csv_writer *cw = (csv_writer *)w;
    int rc = io_ostream_open(&cw->out, w->path, w->options.compression);
    if (rc || !w->options.header)
        return rc;
    for (size_t c = 0; c < w->nfields && rc == 0; c++) {
        if (c > 0)
            rc = io_ostream_write(cw->out, ",", 1);
        if (rc == 0)
            rc = put_text(cw->out, w->fields[c].name, strlen(w->fields[c].name));
    }
    return rc ? rc : io_ostream_write(cw->out, "\n", 1);
}

static int csv_write(io_writer *w, const mdm_batch *batch)
{
    csv_writer *cw = (csv_writer *)w;
    size_t nrows = mdm_batch_nrows(batch);
    size_t ncols = w->nfields;
    char buf[IO_NUMBER_BUF];
    int rc = 0;
    for (size_t r = 0; r < nrows && rc == 0; r++) {
        for (size_t c = 0; c < ncols && rc == 0; c++) {
            if (c > 0 && (rc = io_ostream_write(cw->out, ",", 1)))
                break;
            if (mdm_batch_is_null(batch, c, r))
                continue;
            int n;
            switch (w->fields[c].type) {
            case MDM_TYPE_INT64:
                n = io_format_int64(buf, mdm_batch_int64(batch, c, r));
                rc = io_ostream_write(cw->out, buf, (size_t)n);
                break;
            case MDM_TYPE_FLOAT64:
                rc = put_float(cw->out, mdm_batch_float64(batch, c, r));
                break;
            case MDM_TYPE_BOOL:
                rc = mdm_batch_bool(batch, c, r) ? io_ostream_write(cw->out, "True", 4)
                                                 : io_ostream_write(cw->out, "False", 5);
                break;
            case MDM_TYPE_DATE:
                n = io_format_date(buf, mdm_batch_date(batch, c, r));
                rc = io_ostream_write(cw->out, buf, (size_t)n);
                break;
            case MDM_TYPE_TIMESTAMP:
                n = io_format_timestamp(buf, mdm_batch_timestamp(batch, c, r), ' ');
                rc = io_ostream_write(cw->out, buf, (size_t)n);
                break;
            case MDM_TYPE_TEXT: {
                size_t len;
                const char *s = mdm_batch_text(batch, c, r, &len);
                rc = put_text(cw->out, s, len);
                break;
            }
            }
        }
        if (rc == 0)
            rc = io_ostream_write(cw->out, "\n", 1);
    }
    return rc;
}

static int csv_finish(io_writer *w)
{
    csv_writer *cw = (csv_writer *)w;
    io_ostream *out = cw->out;
    cw->out = NULL;
    return io_ostream_commit(out);
}

static void csv_abort(io_writer *w)
{
    csv_writer *cw = (csv_writer *)w;
    io_ostream_abort(cw->out);
    cw->out = NULL;
}

static const io_writer_ops csv_ops = {
    .start = csv_start,
    .write = csv_write,
    .finish = csv_finish,
    .abort = csv_abort,
    .free = csv_abort, /* a writer freed unfinished leaves nothing behind */
};

int io_csv_writer_new(io_writer **out)
{
    csv_writer *cw = calloc(1, sizeof *cw);
    if (!cw)
        return mdm_error_set(MDM_ENOMEM, "out of memory starting a CSV export");
    cw->base.ops = &csv_ops;
    *out = &cw->base;
    return 0;
}
