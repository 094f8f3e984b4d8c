/* Result batches as JSON ({"columns":[...],"rows":[[...]]}) or CSV (RFC 4180). */
#include "server/encode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_header(page_encoder *e, const mdm_batch *batch)
{
    buf_puts(&e->out, "{\"columns\":[");
    for (size_t c = 0; c < e->ncols; c++) {
        const mdm_field *f = mdm_batch_field(batch, c);
        if (c)
            buf_putc(&e->out, ',');
        buf_puts(&e->out, "{\"name\":");
        buf_json_str(&e->out, f->name, strlen(f->name));
        buf_printf(&e->out, ",\"type\":\"%s\"}", mdm_type_name(f->type));
    }
    buf_puts(&e->out, "],\"rows\":[");
}

static void csv_field(buf *b, const char *s, size_t n)
{
    bool quote = n == 0 || strpbrk(s, ",\"\r\n") != NULL || memchr(s, '\0', n) != NULL;
    if (!quote) {
        buf_put(b, s, n);
        return;
    }
    buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            buf_putc(b, '"');
        buf_putc(b, s[i]);
    }
    buf_putc(b, '"');
}

static void csv_header(page_encoder *e, const mdm_batch *batch)
{
    for (size_t c = 0; c < e->ncols; c++) {
        const char *name = mdm_batch_field(batch, c)->name;
        if (c)
            buf_putc(&e->out, ',');
        csv_field(&e->out, name, strlen(name));
    }
    buf_puts(&e->out, "\r\n");
}

/* The shortest %g form that reads back as the same double. */
static int format_double(char *tmp, size_t size, double v)
{
    int n = snprintf(tmp, size, "%.15g", v);
    if (strtod(tmp, NULL) != v)
        n = snprintf(tmp, size, "%.17g", v);
    return n;
}

static void put_value(page_encoder *e, const mdm_batch *batch, size_t c, size_t r)
{
    buf *b = &e->out;
    if (mdm_batch_is_null(batch, c, r)) {
        if (!e->csv)
            buf_puts(b, "null");
        return;
    }
    char tmp[64];
    int n;
    switch (mdm_batch_field(batch, c)->type) {
    case MDM_TYPE_INT64:
        buf_printf(b, "%lld", (long long)mdm_batch_int64(batch, c, r));
        return;
    case MDM_TYPE_FLOAT64: {
        double v = mdm_batch_float64(batch, c, r);
        const char *special = isnan(v) ? "NaN" : isinf(v) ? (v > 0 ? "Infinity" : "-Infinity") : NULL;
        if (special) {
            if (e->csv)
                buf_puts(b, special);
            else
                buf_printf(b, "\"%s\"", special);
            return;
        }
        n = format_double(tmp, sizeof tmp, v);
        buf_put(b, tmp, (size_t)n);
        return;
    }
    case MDM_TYPE_BOOL:
        buf_puts(b, mdm_batch_bool(batch, c, r) ? "true" : "false");
        return;
    case MDM_TYPE_DATE:
        n = mdm_date_format(tmp, sizeof tmp, mdm_batch_date(batch, c, r));
        break;
    case MDM_TYPE_TIMESTAMP:
        n = mdm_timestamp_format(tmp, sizeof tmp, mdm_batch_timestamp(batch, c, r));
        if (n > 10 && tmp[10] == ' ')
            tmp[10] = 'T';
        break;
    case MDM_TYPE_TEXT:
    default: {
        size_t len;
        const char *s = mdm_batch_text(batch, c, r, &len);
        if (e->csv)
            csv_field(b, s, len);
        else
            buf_json_str(b, s, len);
        return;
    }
    }
    if (e->csv)
        buf_put(b, tmp, (size_t)n);
    else
        buf_json_str(b, tmp, (size_t)n);
}

int page_encode_batch(const mdm_batch *batch, void *ctx)
{
    page_encoder *e = ctx;
    if (!e->started) {
        e->ncols = mdm_batch_ncols(batch);
        if (e->csv)
            csv_header(e, batch);
        else
            json_header(e, batch);
        e->started = true;
    }
    size_t nrows = mdm_batch_nrows(batch);
    for (size_t r = 0; r < nrows; r++) {
        if (!e->csv) {
            buf_puts(&e->out, e->any_row ? ",[" : "[");
        }
        for (size_t c = 0; c < e->ncols; c++) {
            if (c)
                buf_putc(&e->out, ',');
            put_value(e, batch, c, r);
        }
        buf_puts(&e->out, e->csv ? "\r\n" : "]");
        e->any_row = true;
    }
    e->rows += nrows;
    if (e->out.failed)
        return mdm_error_set(MDM_ENOMEM, "out of memory building the response");
    if (e->max_bytes && e->out.len > e->max_bytes)
        return mdm_error_set(MDM_ECONSTRAINT,
                             "the response passed %llu bytes: ask for fewer rows or columns",
                             (unsigned long long)e->max_bytes);
    return 0;
}

void page_encode_finish(page_encoder *e, int64_t limit, int64_t offset)
{
    if (e->csv)
        return;
    if (!e->started)
        buf_puts(&e->out, "{\"columns\":[],\"rows\":[");
    buf_puts(&e->out, "]");
    if (limit >= 0)
        buf_printf(&e->out, ",\"limit\":%lld", (long long)limit);
    if (offset >= 0)
        buf_printf(&e->out, ",\"offset\":%lld", (long long)offset);
    buf_puts(&e->out, "}");
}
