/* Large table pages streamed: the table is read as an Arrow stream (the engine runs on
 * the stream's producer thread) and each batch is encoded when libmicrohttpd asks for
 * more bytes, so memory stays at one batch whatever the page size. */
#include "server/stream.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/encode.h"

typedef struct page_stream {
    handles *hs;
    handle_ref *ref;
    struct ArrowArrayStream st;
    struct ArrowSchema schema;
    mdm_field *fields;
    size_t ncols;
    mdm_batch *batch;
    page_encoder enc;
    size_t pos; /* bytes of enc.out already handed to MHD */
    int64_t limit, offset;
    bool done;
} page_stream;

static bool type_of(mdm_type *t, const char *format)
{
    static const struct {
        const char *fmt;
        mdm_type type;
    } map[] = {{"l", MDM_TYPE_INT64}, {"g", MDM_TYPE_FLOAT64}, {"b", MDM_TYPE_BOOL},
               {"u", MDM_TYPE_TEXT},  {"tdD", MDM_TYPE_DATE},  {"tsu:", MDM_TYPE_TIMESTAMP}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(format, map[i].fmt) == 0) {
            *t = map[i].type;
            return true;
        }
    return false;
}

static bool valid(const struct ArrowArray *a, int64_t i)
{
    const uint8_t *bits = a->n_buffers > 0 ? a->buffers[0] : NULL;
    i += a->offset;
    return !bits || (bits[i >> 3] >> (i & 7)) & 1;
}

/* One Arrow struct batch into s->batch. */
static int fill_batch(page_stream *s, const struct ArrowArray *arr)
{
    mdm_batch_clear(s->batch);
    for (int64_t r = 0; r < arr->length; r++) {
        size_t row;
        int rc = mdm_batch_add_row(s->batch, &row);
        if (rc)
            return rc;
        for (size_t c = 0; c < s->ncols; c++) {
            const struct ArrowArray *a = arr->children[c];
            int64_t i = r + arr->offset;
            if (!valid(a, i))
                continue; /* rows start NULL */
            int64_t k = i + a->offset;
            switch (s->fields[c].type) {
            case MDM_TYPE_INT64:
                mdm_batch_set_int64(s->batch, c, row, ((const int64_t *)a->buffers[1])[k]);
                break;
            case MDM_TYPE_FLOAT64:
                mdm_batch_set_float64(s->batch, c, row, ((const double *)a->buffers[1])[k]);
                break;
            case MDM_TYPE_BOOL: {
                const uint8_t *b = a->buffers[1];
                mdm_batch_set_bool(s->batch, c, row, (b[k >> 3] >> (k & 7)) & 1);
                break;
            }
            case MDM_TYPE_DATE:
                mdm_batch_set_date(s->batch, c, row, ((const int32_t *)a->buffers[1])[k]);
                break;
            case MDM_TYPE_TIMESTAMP:
                mdm_batch_set_timestamp(s->batch, c, row, ((const int64_t *)a->buffers[1])[k]);
                break;
            case MDM_TYPE_TEXT: {
                const int32_t *off = a->buffers[1];
                const char *data = a->buffers[2];
                rc = mdm_batch_set_text(s->batch, c, row, data + off[k], (size_t)(off[k + 1] - off[k]));
                if (rc)
                    return rc;
                break;
            }
            }
        }
    }
    return 0;
}

static ssize_t produce(void *cls, uint64_t pos, char *out, size_t max)
{
    page_stream *s = cls;
    while (s->pos == s->enc.out.len) {
        if (s->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        s->enc.out.len = 0;
        s->pos = 0;
        struct ArrowArray arr = {0};
        if (s->st.get_next(&s->st, &arr) != 0) {
            const char *e = s->st.get_last_error(&s->st);
            MDM_WARN("streamed page ended early: %s", e ? e : "unknown error");
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (!arr.release) {
            page_encode_finish(&s->enc, s->limit, s->offset);
            s->done = true;
            continue;
        }
        int rc = fill_batch(s, &arr);
        arr.release(&arr);
        if (!rc)
            rc = page_encode_batch(s->batch, &s->enc);
        if (rc) {
            MDM_WARN("streamed page ended early: %s", mdm_error_last()->message);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    size_t n = s->enc.out.len - s->pos;
    if (n > max)
        n = max;
    memcpy(out, s->enc.out.data + s->pos, n);
    s->pos += n;
    return (ssize_t)n;
}

static void release(void *cls)
{
    page_stream *s = cls;
    if (s->st.release)
        s->st.release(&s->st);
    if (s->schema.release)
        s->schema.release(&s->schema);
    mdm_batch_free(s->batch);
    free(s->fields);
    buf_free(&s->enc.out);
    handles_put(s->hs, s->ref);
    free(s);
}

int page_stream_start(struct MHD_Response **out, handles *hs, handle_ref *ref, mdm_dataset *ds,
                      const mdm_table_read *rd, bool csv)
{
    page_stream *s = calloc(1, sizeof *s);
    if (!s)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    s->hs = hs;
    s->enc.csv = csv;
    s->limit = rd->limit;
    s->offset = rd->offset;
    int rc = mdm_dataset_read_arrow(&s->st, ds, rd);
    if (rc) {
        free(s);
        return rc;
    }
    if (s->st.get_schema(&s->st, &s->schema) != 0) {
        rc = mdm_error_set(MDM_EBACKEND, "%s", s->st.get_last_error(&s->st));
        goto fail;
    }
    s->ncols = (size_t)s->schema.n_children;
    s->fields = calloc(s->ncols ? s->ncols : 1, sizeof *s->fields);
    if (!s->fields) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t c = 0; c < s->ncols; c++) {
        s->fields[c].name = s->schema.children[c]->name;
        if (!type_of(&s->fields[c].type, s->schema.children[c]->format)) {
            rc = mdm_error_set(MDM_ENOTSUP, "Arrow format '%s' of column '%s'",
                               s->schema.children[c]->format, s->fields[c].name);
            goto fail;
        }
    }
    rc = mdm_batch_new(&s->batch, s->fields, s->ncols, 1024);
    if (rc)
        goto fail;
    /* The header goes out even when no row follows. */
    page_encode_batch(s->batch, &s->enc);
    *out = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, produce, s, release);
    if (!*out) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
        goto fail;
    }
    s->ref = ref; /* the stream owns the reference from here */
    return 0;
fail:
    s->ref = NULL;
    release(s);
    return rc;
}
