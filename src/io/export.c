/* The format-independent half of the export writers: names of formats and
 * compressions, which combinations exist, schema checks on every batch, dispatch to
 * the format, and the text forms of values that CSV and JSON share. */
#include "io/export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/export_internal.h"

static const char *const format_names[] = {
    [IO_EXPORT_CSV] = "csv",
    [IO_EXPORT_JSON] = "json",
    [IO_EXPORT_PARQUET] = "parquet",
};

int io_export_format_parse(io_export_format *out, const char *name)
{
    for (int f = IO_EXPORT_CSV; f <= IO_EXPORT_PARQUET; f++) {
        if (strcasecmp(name, format_names[f]) == 0) {
            *out = (io_export_format)f;
            return 0;
        }
    }
    return mdm_error_set(MDM_EINVALID, "Invalid format '%s'. Must be one of: [csv, parquet, json]",
                         name);
}

const char *io_export_format_name(io_export_format format)
{
    return format >= IO_EXPORT_CSV && format <= IO_EXPORT_PARQUET ? format_names[format] : "?";
}

int io_export_resolve_compression(io_compression *out, io_export_format format,
                                  io_compression requested)
{
    if (format == IO_EXPORT_PARQUET) {
        if (requested == IO_COMPRESSION_ZIP) {
            /* zip is the config default: a Parquet export with defaults must work. */
            MDM_WARN("zip compression does not apply to Parquet files; using snappy "
                     "(Parquet compressions: none, snappy, gzip, zstd, lz4)");
            *out = IO_COMPRESSION_SNAPPY;
            return 0;
        }
        *out = requested;
        return 0;
    }
    if (format != IO_EXPORT_CSV && format != IO_EXPORT_JSON)
        return mdm_error_set(MDM_EINVALID, "Invalid format '%d'. Must be one of: [csv, parquet, json]",
                             (int)format);
    if (requested == IO_COMPRESSION_SNAPPY || requested == IO_COMPRESSION_LZ4)
        return mdm_error_set(MDM_EINVALID,
                             "Compression '%s' is not available for %s files. Must be one of: "
                             "[none, zip, gzip, zstd]",
                             io_compression_name(requested), io_export_format_name(format));
    *out = requested;
    return 0;
}

const char *io_export_extension(io_export_format format, io_compression compression)
{
    if (format == IO_EXPORT_PARQUET)
        return ".parquet";
    bool csv = format == IO_EXPORT_CSV;
    switch (compression) {
    case IO_COMPRESSION_GZIP: return csv ? ".csv.gz" : ".json.gz";
    case IO_COMPRESSION_ZIP: return csv ? ".csv.zip" : ".json.zip";
    case IO_COMPRESSION_ZSTD: return csv ? ".csv.zst" : ".json.zst";
    default: return csv ? ".csv" : ".json";
    }
}

static void writer_free(io_writer *w)
{
    if (w->ops && w->ops->free)
        w->ops->free(w);
    if (w->fields) {
        for (size_t i = 0; i < w->nfields; i++)
            free((char *)w->fields[i].name);
        free(w->fields);
    }
    free(w->path);
    free(w);
}

int io_writer_open(io_writer **out, const char *path, const mdm_field *fields,
                   size_t nfields, const io_export_options *options)
{
    *out = NULL;
    io_compression resolved;
    int rc = io_export_resolve_compression(&resolved, options->format, options->compression);
    if (rc)
        return rc;
    if (resolved != options->compression)
        return mdm_error_set(MDM_EINVALID, "%s: compression '%s' for %s must be resolved first",
                             path, io_compression_name(options->compression),
                             io_export_format_name(options->format));
    if (nfields == 0)
        return mdm_error_set(MDM_EINVALID, "%s: nothing to export: the table has no columns",
                             path);

    io_writer *w = NULL;
    switch (options->format) {
    case IO_EXPORT_CSV: rc = io_csv_writer_new(&w); break;
    case IO_EXPORT_JSON: rc = io_json_writer_new(&w); break;
    case IO_EXPORT_PARQUET: rc = io_parquet_writer_new(&w); break;
    }
    if (rc)
        return rc;
    w->options = *options;
    w->path = strdup(path);
    w->fields = calloc(nfields, sizeof *w->fields);
    if (!w->path || !w->fields) {
        writer_free(w);
        return mdm_error_set(MDM_ENOMEM, "out of memory opening %s", path);
    }
    w->nfields = nfields;
    for (size_t i = 0; i < nfields; i++) {
        w->fields[i].type = fields[i].type;
        w->fields[i].name = strdup(fields[i].name ? fields[i].name : "");
        if (!w->fields[i].name) {
            writer_free(w);
            return mdm_error_set(MDM_ENOMEM, "out of memory opening %s", path);
        }
    }
    if ((rc = w->ops->start(w))) {
        writer_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

int io_writer_write(io_writer *w, const mdm_batch *batch)
{
    if (mdm_batch_ncols(batch) != w->nfields)
        return mdm_error_set(MDM_EINVALID, "%s: a batch of %zu columns for a file of %zu",
                             w->path, mdm_batch_ncols(batch), w->nfields);
    for (size_t c = 0; c < w->nfields; c++) {
        const mdm_field *f = mdm_batch_field(batch, c);
        if (f->type != w->fields[c].type)
            return mdm_error_set(MDM_EINVALID, "%s: column '%s' is %s in the batch but %s in the file",
                                 w->path, w->fields[c].name, mdm_type_name(f->type),
                                 mdm_type_name(w->fields[c].type));
    }
    if (mdm_batch_nrows(batch) == 0)
        return 0;
    int rc = w->ops->write(w, batch);
    if (rc == 0)
        w->rows += mdm_batch_nrows(batch);
    return rc;
}

int io_writer_sink(const mdm_batch *batch, void *writer)
{
    return io_writer_write(writer, batch);
}

uint64_t io_writer_rows(const io_writer *w) { return w->rows; }

int io_writer_finish(io_writer *w)
{
    int rc = w->ops->finish(w);
    writer_free(w);
    return rc;
}

void io_writer_abort(io_writer *w)
{
    if (!w)
        return;
    w->ops->abort(w);
    writer_free(w);
}

/* ------------------------------------------------------------------ value text */

int io_format_int64(char *buf, int64_t v)
{
    char tmp[24];
    int n = 0;
    /* Through the unsigned magnitude, so INT64_MIN needs no special case. */
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag);
    int len = 0;
    if (v < 0)
        buf[len++] = '-';
    while (n > 0)
        buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

/* Writes `digits` (significant, no trailing zeros, at least one) with decimal exponent
 * `exp` the way Python's repr() does, which is what pandas writes: positional from
 * 1e-4 up to below 1e16, else d.ddde+XX. Returns the length. */
static int render_repr(char *buf, const char *digits, int ndigits, int exp, bool negative)
{
    char *p = buf;
    if (negative)
        *p++ = '-';
    if (exp < -4 || exp >= 16) {
        *p++ = digits[0];
        if (ndigits > 1) {
            *p++ = '.';
            memcpy(p, digits + 1, (size_t)ndigits - 1);
            p += ndigits - 1;
        }
        p += sprintf(p, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp >= 0) {
        for (int i = 0; i <= exp; i++)
            *p++ = i < ndigits ? digits[i] : '0';
        if (ndigits > exp + 1) {
            *p++ = '.';
            memcpy(p, digits + exp + 1, (size_t)(ndigits - exp - 1));
            p += ndigits - exp - 1;
        }
    } else {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -exp - 1; i++)
            *p++ = '0';
        memcpy(p, digits, (size_t)ndigits);
        p += ndigits;
    }
    *p = '\0';
    return (int)(p - buf);
}

/* Rounds the 17 significant digits of `d17` to `keep` digits into out (up when
 * `up`), adjusting *exp on a carry (9.99 -> 10.0). Returns the digit count without
 * trailing zeros. */
static int round_digits(char *out, const char *d17, int keep, bool up, int *exp)
{
    memcpy(out, d17, (size_t)keep);
    if (up) {
        int i = keep - 1;
        while (i >= 0 && out[i] == '9')
            out[i--] = '0';
        if (i >= 0) {
            out[i]++;
        } else { /* all nines: 1 followed by zeros, one decade up */
            out[0] = '1';
            memset(out + 1, '0', (size_t)keep - 1);
            (*exp)++;
        }
    }
    int n = keep;
    while (n > 1 && out[n - 1] == '0')
        n--;
    return n;
}

int io_format_double(char *buf, double v)
{
    int n;
    if (!isfinite(v)) {
        n = snprintf(buf, IO_NUMBER_BUF, "%g", v);
    } else if (fpclassify(v) == FP_SUBNORMAL) {
        /* Subnormals carry fewer digits than normal doubles: search from 1 (always
         * below 1e-4, so "%g" writes them as Python does). */
        for (int precision = 1; precision <= 17; precision++) {
            n = snprintf(buf, IO_NUMBER_BUF, "%.*g", precision, v);
            if (precision == 17 || strtod(buf, NULL) == v)
                break;
        }
    } else {
        /* One correctly rounded 17-digit rendering ("d.dddddddddddddddde+XX"), then
         * its roundings to 15 and 16 digits, each kept only if it reads back as
         * exactly `v` (printf's "%.15g", "%.16g", "%.17g" in one call instead of
         * three). A normal double has more than 15 significant digits, so a text
         * shorter than 15 digits that reads back is the 15-digit one without its
         * trailing zeros. */
        char e17[40];
        snprintf(e17, sizeof e17, "%.16e", v);
        bool negative = e17[0] == '-';
        const char *m = e17 + negative;
        char d17[17];
        d17[0] = m[0];
        memcpy(d17 + 1, m + 2, 16);
        int exp17 = atoi(m + 19);
        char digits[18], candidate[IO_NUMBER_BUF];
        n = 0;
        for (int keep = 15; keep <= 16 && n == 0; keep++) {
            bool half = d17[keep] == '5';
            for (int i = keep + 1; i < 17 && half; i++)
                half = d17[i] == '0';
            int exp = exp17;
            int nd;
            if (half) {
                /* The 17-digit text may itself be rounded: let printf round the exact
                 * value to `keep` digits. */
                char ek[40];
                snprintf(ek, sizeof ek, "%.*e", keep - 1, v);
                const char *mk = ek + negative;
                digits[0] = mk[0];
                memcpy(digits + 1, mk + 2, (size_t)keep - 1);
                exp = atoi(mk + keep + 2);
                nd = keep;
                while (nd > 1 && digits[nd - 1] == '0')
                    nd--;
            } else {
                nd = round_digits(digits, d17, keep, d17[keep] >= '5', &exp);
            }
            int len = render_repr(candidate, digits, nd, exp, negative);
            if (strtod(candidate, NULL) == v) {
                memcpy(buf, candidate, (size_t)len + 1);
                n = len;
            }
        }
        if (n == 0) {
            int nd = 17;
            while (nd > 1 && d17[nd - 1] == '0')
                nd--;
            n = render_repr(buf, d17, nd, exp17, negative);
        }
    }
    if (!strpbrk(buf, ".eEn")) { /* "n": nan, inf */
        buf[n++] = '.';
        buf[n++] = '0';
        buf[n] = '\0';
    }
    return n;
}

static char *put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

int io_format_date(char *buf, int32_t days)
{
    int y, m, d;
    mdm_date_to_ymd(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        return mdm_date_format(buf, IO_NUMBER_BUF, days);
    char *p = buf;
    p = put2(p, y / 100);
    p = put2(p, y % 100);
    *p++ = '-';
    p = put2(p, m);
    *p++ = '-';
    p = put2(p, d);
    *p = '\0';
    return (int)(p - buf);
}

int io_format_timestamp(char *buf, int64_t micros, char separator)
{
    const int64_t per_day = 86400LL * 1000000LL;
    int64_t days = micros / per_day;
    int64_t rest = micros % per_day;
    if (rest < 0) {
        rest += per_day;
        days--;
    }
    int n = io_format_date(buf, (int32_t)days);
    char *p = buf + n;
    int64_t secs = rest / 1000000;
    int frac = (int)(rest % 1000000);
    *p++ = separator;
    p = put2(p, (int)(secs / 3600));
    *p++ = ':';
    p = put2(p, (int)(secs / 60 % 60));
    *p++ = ':';
    p = put2(p, (int)(secs % 60));
    if (frac) {
        *p++ = '.';
        for (int div = 100000; div >= 1; div /= 10)
            *p++ = (char)('0' + frac / div % 10);
    }
    *p = '\0';
    return (int)(p - buf);
}
