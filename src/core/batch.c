/* Typed column batches. Fixed-width columns are plain arrays; text columns keep
 * (offset, length) per row into one growing arena, each value NUL-terminated there so
 * that it can be handed to C string APIs without copying. */
#include "mdm/mdm.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct text_ref {
    size_t off;
    size_t len;
} text_ref;

typedef struct column {
    mdm_field field; /* name owned */
    uint8_t *nulls;
    void *data;      /* values, or text_ref[] for text */
    char *arena;     /* text bytes */
    size_t arena_len, arena_cap;
} column;

struct mdm_batch {
    size_t ncols, nrows, capacity;
    column *cols;
};

static size_t value_size(mdm_type t)
{
    switch (t) {
    case MDM_TYPE_INT64:
    case MDM_TYPE_TIMESTAMP: return sizeof(int64_t);
    case MDM_TYPE_FLOAT64: return sizeof(double);
    case MDM_TYPE_BOOL: return sizeof(uint8_t);
    case MDM_TYPE_DATE: return sizeof(int32_t);
    case MDM_TYPE_TEXT: return sizeof(text_ref);
    }
    return 0;
}

static int grow(mdm_batch *b, size_t capacity)
{
    for (size_t c = 0; c < b->ncols; c++) {
        column *col = &b->cols[c];
        uint8_t *nulls = realloc(col->nulls, capacity);
        if (!nulls)
            return mdm_error_set(MDM_ENOMEM, "out of memory growing a batch to %zu rows", capacity);
        col->nulls = nulls;
        void *data = realloc(col->data, capacity * value_size(col->field.type));
        if (!data)
            return mdm_error_set(MDM_ENOMEM, "out of memory growing a batch to %zu rows", capacity);
        col->data = data;
    }
    b->capacity = capacity;
    return 0;
}

int mdm_batch_new(mdm_batch **out, const mdm_field *fields, size_t nfields, size_t capacity)
{
    *out = NULL;
    mdm_batch *b = calloc(1, sizeof *b);
    if (!b)
        return mdm_error_set(MDM_ENOMEM, "out of memory creating a batch");
    b->cols = calloc(nfields ? nfields : 1, sizeof *b->cols);
    if (!b->cols) {
        free(b);
        return mdm_error_set(MDM_ENOMEM, "out of memory creating a batch");
    }
    b->ncols = nfields;
    for (size_t c = 0; c < nfields; c++) {
        if (fields[c].type < MDM_TYPE_INT64 || fields[c].type > MDM_TYPE_TIMESTAMP) {
            mdm_batch_free(b);
            return mdm_error_set(MDM_EINVALID, "column '%s' has an unknown type %d",
                                 fields[c].name ? fields[c].name : "", (int)fields[c].type);
        }
        b->cols[c].field.type = fields[c].type;
        b->cols[c].field.name = strdup(fields[c].name ? fields[c].name : "");
        if (!b->cols[c].field.name) {
            mdm_batch_free(b);
            return mdm_error_set(MDM_ENOMEM, "out of memory creating a batch");
        }
    }
    int rc = grow(b, capacity ? capacity : 1024);
    if (rc) {
        mdm_batch_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void mdm_batch_free(mdm_batch *b)
{
    if (!b)
        return;
    for (size_t c = 0; c < b->ncols; c++) {
        free((char *)b->cols[c].field.name);
        free(b->cols[c].nulls);
        free(b->cols[c].data);
        free(b->cols[c].arena);
    }
    free(b->cols);
    free(b);
}

void mdm_batch_clear(mdm_batch *b)
{
    b->nrows = 0;
    for (size_t c = 0; c < b->ncols; c++)
        b->cols[c].arena_len = 0;
}

size_t mdm_batch_ncols(const mdm_batch *b) { return b->ncols; }
size_t mdm_batch_nrows(const mdm_batch *b) { return b->nrows; }

const mdm_field *mdm_batch_field(const mdm_batch *b, size_t col)
{
    assert(col < b->ncols);
    return &b->cols[col].field;
}

long mdm_batch_find(const mdm_batch *b, const char *name)
{
    for (size_t c = 0; c < b->ncols; c++)
        if (strcmp(b->cols[c].field.name, name) == 0)
            return (long)c;
    return -1;
}

int mdm_batch_add_row(mdm_batch *b, size_t *row)
{
    if (b->nrows == b->capacity) {
        int rc = grow(b, b->capacity * 2);
        if (rc)
            return rc;
    }
    size_t r = b->nrows++;
    for (size_t c = 0; c < b->ncols; c++) {
        b->cols[c].nulls[r] = 1;
        if (b->cols[c].field.type == MDM_TYPE_TEXT)
            ((text_ref *)b->cols[c].data)[r] = (text_ref){0, 0};
    }
    *row = r;
    return 0;
}

static column *cell(mdm_batch *b, size_t col, size_t row, mdm_type type)
{
    assert(col < b->ncols && row < b->nrows);
    assert(b->cols[col].field.type == type);
    (void)type;
    b->cols[col].nulls[row] = 0;
    return &b->cols[col];
}

void mdm_batch_set_null(mdm_batch *b, size_t col, size_t row)
{
    assert(col < b->ncols && row < b->nrows);
    b->cols[col].nulls[row] = 1;
}

void mdm_batch_set_int64(mdm_batch *b, size_t col, size_t row, int64_t v)
{
    ((int64_t *)cell(b, col, row, MDM_TYPE_INT64)->data)[row] = v;
}

void mdm_batch_set_float64(mdm_batch *b, size_t col, size_t row, double v)
{
    ((double *)cell(b, col, row, MDM_TYPE_FLOAT64)->data)[row] = v;
}

void mdm_batch_set_bool(mdm_batch *b, size_t col, size_t row, bool v)
{
    ((uint8_t *)cell(b, col, row, MDM_TYPE_BOOL)->data)[row] = v ? 1 : 0;
}

void mdm_batch_set_date(mdm_batch *b, size_t col, size_t row, int32_t days)
{
    ((int32_t *)cell(b, col, row, MDM_TYPE_DATE)->data)[row] = days;
}

void mdm_batch_set_timestamp(mdm_batch *b, size_t col, size_t row, int64_t micros)
{
    ((int64_t *)cell(b, col, row, MDM_TYPE_TIMESTAMP)->data)[row] = micros;
}

int mdm_batch_set_text(mdm_batch *b, size_t col, size_t row, const char *s, size_t len)
{
    assert(col < b->ncols && row < b->nrows && b->cols[col].field.type == MDM_TYPE_TEXT);
    column *c = &b->cols[col];
    size_t need = c->arena_len + len + 1;
    if (need > c->arena_cap) {
        size_t cap = c->arena_cap ? c->arena_cap : 4096;
        while (cap < need)
            cap *= 2;
        char *arena = realloc(c->arena, cap);
        if (!arena)
            return mdm_error_set(MDM_ENOMEM, "out of memory storing text in column '%s'",
                                 c->field.name);
        c->arena = arena;
        c->arena_cap = cap;
    }
    if (len)
        memcpy(c->arena + c->arena_len, s, len);
    c->arena[c->arena_len + len] = '\0';
    ((text_ref *)c->data)[row] = (text_ref){c->arena_len, len};
    c->arena_len = need;
    c->nulls[row] = 0;
    return 0;
}

int mdm_batch_set_value(mdm_batch *b, size_t col, size_t row, const mdm_value *v)
{
    assert(col < b->ncols);
    if (v->type != b->cols[col].field.type)
        return mdm_error_set(MDM_EINVALID, "value of type %s does not fit column '%s' of type %s",
                             mdm_type_name(v->type), b->cols[col].field.name,
                             mdm_type_name(b->cols[col].field.type));
    if (v->is_null) {
        mdm_batch_set_null(b, col, row);
        return 0;
    }
    switch (v->type) {
    case MDM_TYPE_INT64: mdm_batch_set_int64(b, col, row, v->v.i64); break;
    case MDM_TYPE_FLOAT64: mdm_batch_set_float64(b, col, row, v->v.f64); break;
    case MDM_TYPE_BOOL: mdm_batch_set_bool(b, col, row, v->v.b); break;
    case MDM_TYPE_DATE: mdm_batch_set_date(b, col, row, v->v.date); break;
    case MDM_TYPE_TIMESTAMP: mdm_batch_set_timestamp(b, col, row, v->v.ts); break;
    case MDM_TYPE_TEXT: return mdm_batch_set_text(b, col, row, v->v.text.ptr, v->v.text.len);
    }
    return 0;
}

static const column *get(const mdm_batch *b, size_t col, size_t row, mdm_type type)
{
    assert(col < b->ncols && row < b->nrows);
    assert(b->cols[col].field.type == type);
    (void)type;
    return &b->cols[col];
}

bool mdm_batch_is_null(const mdm_batch *b, size_t col, size_t row)
{
    assert(col < b->ncols && row < b->nrows);
    return b->cols[col].nulls[row] != 0;
}

int64_t mdm_batch_int64(const mdm_batch *b, size_t col, size_t row)
{
    return ((const int64_t *)get(b, col, row, MDM_TYPE_INT64)->data)[row];
}

double mdm_batch_float64(const mdm_batch *b, size_t col, size_t row)
{
    return ((const double *)get(b, col, row, MDM_TYPE_FLOAT64)->data)[row];
}

bool mdm_batch_bool(const mdm_batch *b, size_t col, size_t row)
{
    return ((const uint8_t *)get(b, col, row, MDM_TYPE_BOOL)->data)[row] != 0;
}

int32_t mdm_batch_date(const mdm_batch *b, size_t col, size_t row)
{
    return ((const int32_t *)get(b, col, row, MDM_TYPE_DATE)->data)[row];
}

int64_t mdm_batch_timestamp(const mdm_batch *b, size_t col, size_t row)
{
    return ((const int64_t *)get(b, col, row, MDM_TYPE_TIMESTAMP)->data)[row];
}

const char *mdm_batch_text(const mdm_batch *b, size_t col, size_t row, size_t *len)
{
    const column *c = get(b, col, row, MDM_TYPE_TEXT);
    text_ref ref = ((const text_ref *)c->data)[row];
    if (len)
        *len = ref.len;
    if (c->nulls[row] || !c->arena)
        return "";
    return c->arena + ref.off;
}

mdm_value mdm_batch_value(const mdm_batch *b, size_t col, size_t row)
{
    mdm_type t = b->cols[col].field.type;
    if (mdm_batch_is_null(b, col, row))
        return mdm_value_null(t);
    mdm_value v = {.type = t};
    switch (t) {
    case MDM_TYPE_INT64: v.v.i64 = mdm_batch_int64(b, col, row); break;
    case MDM_TYPE_FLOAT64: v.v.f64 = mdm_batch_float64(b, col, row); break;
    case MDM_TYPE_BOOL: v.v.b = mdm_batch_bool(b, col, row); break;
    case MDM_TYPE_DATE: v.v.date = mdm_batch_date(b, col, row); break;
    case MDM_TYPE_TIMESTAMP: v.v.ts = mdm_batch_timestamp(b, col, row); break;
    case MDM_TYPE_TEXT: v.v.text.ptr = mdm_batch_text(b, col, row, &v.v.text.len); break;
    }
    return v;
}

const uint8_t *mdm_batch_nulls(const mdm_batch *b, size_t col)
{
    assert(col < b->ncols);
    return b->cols[col].nulls;
}

const void *mdm_batch_data(const mdm_batch *b, size_t col)
{
    assert(col < b->ncols);
    return b->cols[col].field.type == MDM_TYPE_TEXT ? NULL : b->cols[col].data;
}
