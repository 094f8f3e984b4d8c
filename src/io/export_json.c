/* JSON export: a records array (pandas orient="records"), one record per line, streamed
 * through an io_ostream. Value forms are listed in export.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "io/compress.h"
#include "io/export_internal.h"

typedef struct json_writer {
    io_writer base;
    io_ostream *out;
    char **keys;     /* per column: "name": already escaped */
    size_t *key_lens;
    bool any_record;
} json_writer;

/* Appends `s` as a JSON string: quotes, backslashes and control characters escaped;
 * everything else (UTF-8 included) as is. */
static void escape_into(strbuf *sb, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    strbuf_append_char(sb, '"');
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        strbuf_append_len(sb, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': strbuf_append(sb, "\\\""); break;
        case '\\': strbuf_append(sb, "\\\\"); break;
        case '\n': strbuf_append(sb, "\\n"); break;
        case '\r': strbuf_append(sb, "\\r"); break;
        case '\t': strbuf_append(sb, "\\t"); break;
        case '\b': strbuf_append(sb, "\\b"); break;
        case '\f': strbuf_append(sb, "\\f"); break;
        default: {
            char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], '\0'};
            strbuf_append(sb, u);
        }
        }
    }
    strbuf_append_len(sb, s + run, len - run);
    strbuf_append_char(sb, '"');
}

/* Text values: plain runs go straight out; only strings that need escapes take the
 * detour through a buffer. */
static int put_string(json_writer *jw, strbuf *scratch, const char *s, size_t len)
{
    bool plain = true;
    for (size_t i = 0; i < len && plain; i++) {
        unsigned char c = (unsigned char)s[i];
        plain = c >= 0x20 && c != '"' && c != '\\';
    }
    if (plain) {
        int rc = io_ostream_write(jw->out, "\"", 1);
        if (rc == 0)
            rc = io_ostream_write(jw->out, s, len);
        return rc ? rc : io_ostream_write(jw->out, "\"", 1);
    }
    strbuf_reset(scratch);
    escape_into(scratch, s, len);
    if (!strbuf_cstr(scratch))
        return MDM_ENOMEM;
    return io_ostream_write(jw->out, scratch->data, scratch->len);
}

static int json_start(io_writer *w)
{
    json_writer *jw = (json_writer *)w;
    jw->keys = calloc(w->nfields, sizeof *jw->keys);
    jw->key_lens = calloc(w->nfields, sizeof *jw->key_lens);
    if (!jw->keys || !jw->key_lens)
        return mdm_error_set(MDM_ENOMEM, "out of memory starting %s", w->path);
    for (size_t c = 0; c < w->nfields; c++) {
        strbuf sb = STRBUF_INIT;
        if (c > 0)
            strbuf_append_char(&sb, ',');
        escape_into(&sb, w->fields[c].name, strlen(w->fields[c].name));
        strbuf_append_char(&sb, ':');
        if (!strbuf_cstr(&sb))
            return MDM_ENOMEM;
        jw->key_lens[c] = sb.len;
        jw->keys[c] = strbuf_detach(&sb);
    }
    int rc = io_ostream_open(&jw->out, w->path, w->options.compression);
    return rc ? rc : io_ostream_write(jw->out, "[", 1);
}

static int json_write(io_writer *w, const mdm_batch *batch)
{
    json_writer *jw = (json_writer *)w;
    size_t nrows = mdm_batch_nrows(batch);
    char buf[IO_NUMBER_BUF];
    strbuf scratch = STRBUF_INIT;
    int rc = 0;
    for (size_t r = 0; r < nrows && rc == 0; r++) {
        rc = jw->any_record ? io_ostream_write(jw->out, ",\n{", 3)
                            : io_ostream_write(jw->out, "{", 1);
        jw->any_record = true;
        for (size_t c = 0; c < w->nfields && rc == 0; c++) {
            if ((rc = io_ostream_write(jw->out, jw->keys[c], jw->key_lens[c])))
                break;
            if (mdm_batch_is_null(batch, c, r)) {
                rc = io_ostream_write(jw->out, "null", 4);
                continue;
            }
            int n;
            switch (w->fields[c].type) {
            case MDM_TYPE_INT64:
                n = io_format_int64(buf, mdm_batch_int64(batch, c, r));
                rc = io_ostream_write(jw->out, buf, (size_t)n);
                break;
            case MDM_TYPE_FLOAT64: {
                double v = mdm_batch_float64(batch, c, r);
                if (!isfinite(v)) {
                    rc = io_ostream_write(jw->out, "null", 4);
                    break;
                }
                n = io_format_double(buf, v);
                rc = io_ostream_write(jw->out, buf, (size_t)n);
                break;
            }
            case MDM_TYPE_BOOL:
                rc = mdm_batch_bool(batch, c, r) ? io_ostream_write(jw->out, "true", 4)
                                                 : io_ostream_write(jw->out, "false", 5);
                break;
            case MDM_TYPE_DATE:
                buf[0] = '"';
                n = io_format_date(buf + 1, mdm_batch_date(batch, c, r)) + 1;
                buf[n++] = '"';
                rc = io_ostream_write(jw->out, buf, (size_t)n);
                break;
            case MDM_TYPE_TIMESTAMP:
                buf[0] = '"';
                n = io_format_timestamp(buf + 1, mdm_batch_timestamp(batch, c, r), 'T') + 1;
                buf[n++] = '"';
                rc = io_ostream_write(jw->out, buf, (size_t)n);
                break;
            case MDM_TYPE_TEXT: {
                size_t len;
                const char *s = mdm_batch_text(batch, c, r, &len);
                rc = put_string(jw, &scratch, s, len);
                break;
            }
            }
        }
        if (rc == 0)
            rc = io_ostream_write(jw->out, "}", 1);
    }
    strbuf_free(&scratch);
    return rc;
}

static int json_finish(io_writer *w)
{
    json_writer *jw = (json_writer *)w;
    io_ostream *out = jw->out;
    jw->out = NULL;
    int rc = io_ostream_write(out, "]\n", 2);
    if (rc) {
        io_ostream_abort(out);
        return rc;
    }
    return io_ostream_commit(out);
}

static void json_abort(io_writer *w)
{
    json_writer *jw = (json_writer *)w;
    io_ostream_abort(jw->out);
    jw->out = NULL;
}

static void json_free(io_writer *w)
{
    json_writer *jw = (json_writer *)w;
    json_abort(w);
    if (jw->keys)
        for (size_t c = 0; c < w->nfields; c++)
            free(jw->keys[c]);
    free(jw->keys);
    free(jw->key_lens);
}

static const io_writer_ops json_ops = {
    .start = json_start,
    .write = json_write,
    .finish = json_finish,
    .abort = json_abort,
    .free = json_free,
};

int io_json_writer_new(io_writer **out)
{
    json_writer *jw = calloc(1, sizeof *jw);
    if (!jw)
        return mdm_error_set(MDM_ENOMEM, "out of memory starting a JSON export");
    jw->base.ops = &json_ops;
    *out = &jw->base;
    return 0;
}
