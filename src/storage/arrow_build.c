/* mdm batches as Arrow record batches (arrow_build.h). */
#include "storage/arrow_build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ schema */

static const char *arrow_format(mdm_type type, bool utf8)
{
    switch (type) {
    case MDM_TYPE_INT64: return "l";
    case MDM_TYPE_FLOAT64: return "g";
    case MDM_TYPE_BOOL: return "b";
    case MDM_TYPE_DATE: return "tdD";
    case MDM_TYPE_TIMESTAMP: return "tsu:";
    case MDM_TYPE_TEXT: return utf8 ? "u" : "U"; /* "U": no limit on an array's text */
    }
    return "n";
}

static void release_schema(struct ArrowSchema *s)
{
    for (int64_t i = 0; i < s->n_children; i++)
        free(s->children[i]);
    free(s->children);
    s->release = NULL;
}

static void release_child_schema(struct ArrowSchema *s) { s->release = NULL; }

int arrow_schema_of(struct ArrowSchema *out, const mdm_field *fields, size_t nfields)
{
    *out = (struct ArrowSchema){.format = "+s", .name = "", .release = release_schema};
    out->children = calloc(nfields ? nfields : 1, sizeof *out->children);
    if (!out->children)
        return MDM_ENOMEM;
    for (size_t c = 0; c < nfields; c++) {
        struct ArrowSchema *child = calloc(1, sizeof *child);
        if (!child) {
            release_schema(out);
            return MDM_ENOMEM;
        }
        *child = (struct ArrowSchema){.format = arrow_format(fields[c].type, false),
                                      .name = fields[c].name, .flags = ARROW_FLAG_NULLABLE,
                                      .release = release_child_schema};
        out->children[c] = child;
        out->n_children = (int64_t)c + 1;
    }
    return 0;
}

/* Each child is one block, its name after the struct: release_schema frees both. */
int arrow_schema_new(struct ArrowSchema *out, const mdm_field *fields, size_t nfields,
                     bool utf8)
{
    *out = (struct ArrowSchema){.format = "+s", .name = "", .release = release_schema};
    out->children = calloc(nfields ? nfields : 1, sizeof *out->children);
    if (!out->children)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    for (size_t c = 0; c < nfields; c++) {
        size_t len = strlen(fields[c].name);
        struct ArrowSchema *child = malloc(sizeof *child + len + 1);
        if (!child) {
            release_schema(out);
            return mdm_error_set(MDM_ENOMEM, "out of memory");
        }
        char *name = (char *)(child + 1);
        memcpy(name, fields[c].name, len + 1);
        *child = (struct ArrowSchema){.format = arrow_format(fields[c].type, utf8), .name = name,
                                      .flags = ARROW_FLAG_NULLABLE,
                                      .release = release_child_schema};
        out->children[c] = child;
        out->n_children = (int64_t)c + 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ arrays */

/* A column's buffers (validity, values or offsets, text bytes), freed by its release. */
typedef struct column_buffers {
    const void *buffers[3];
    void *owned[3];
} column_buffers;

static void release_column(struct ArrowArray *a)
{
    column_buffers *b = a->private_data;
    if (b)
        for (int i = 0; i < 3; i++)
            free(b->owned[i]);
    free(b);
    a->release = NULL;
}

/* A record batch: a struct array whose children are the columns. */
typedef struct batch_buffers {
    const void *validity[1];
    struct ArrowArray *children;
    struct ArrowArray **child_ptrs;
    size_t ncols;
} batch_buffers;

static void release_batch(struct ArrowArray *a)
{
    batch_buffers *b = a->private_data;
    if (b) {
        for (size_t c = 0; c < b->ncols; c++)
            if (b->children[c].release)
                b->children[c].release(&b->children[c]);
        free(b->children);
        free(b->child_ptrs);
    }
    free(b);
    a->release = NULL;
}

/* ------------------------------------------------------------------ the builder */

typedef struct column_build {
    mdm_type type;
    uint8_t *validity;  /* NULL until the array's first NULL */
    int64_t null_count;
    void *values;       /* fixed-width values, bool bits, or int64 text offsets */
    char *chars;        /* text bytes */
    size_t chars_len, chars_cap;
} column_build;

struct arrow_builder {
    size_t ncols;
    bool utf8;  /* text offsets are int32 */
    size_t max_rows, max_bytes;
    size_t cap;  /* rows of the array under way: set at its first append */
    size_t rows;
    column_build *cols;
};

static size_t value_width(mdm_type type, bool utf8)
{
    switch (type) {
    case MDM_TYPE_DATE: return 4;
    case MDM_TYPE_BOOL: return 0; /* bits */
    case MDM_TYPE_TEXT: return utf8 ? 4 : 8; /* offsets */
    default: return 8;            /* int64, float64, timestamp */
    }
}

static void column_reset(column_build *col, bool free_buffers)
{
    if (free_buffers) {
        free(col->validity);
        free(col->values);
        free(col->chars);
    }
    mdm_type type = col->type;
    *col = (column_build){.type = type};
}

int arrow_builder_new(arrow_builder **out, const mdm_field *fields, size_t nfields,
                      size_t rows_per_array, size_t bytes_per_array)
{
    *out = NULL;
    arrow_builder *b = calloc(1, sizeof *b);
    if (!b || !(b->cols = calloc(nfields ? nfields : 1, sizeof *b->cols))) {
        free(b);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    b->ncols = nfields;
    b->max_rows = rows_per_array ? rows_per_array : 1;
    b->max_bytes = bytes_per_array;
    for (size_t c = 0; c < nfields; c++)
        b->cols[c].type = fields[c].type;
    *out = b;
    return 0;
}

void arrow_builder_free(arrow_builder *b)
{
    if (!b)
        return;
    for (size_t c = 0; c < b->ncols; c++)
        column_reset(&b->cols[c], true);
    free(b->cols);
    free(b);
}

void arrow_builder_use_utf8(arrow_builder *b) { b->utf8 = true; }

size_t arrow_builder_rows(const arrow_builder *b) { return b->rows; }
bool arrow_builder_full(const arrow_builder *b) { return b->cap && b->rows == b->cap; }

/* The array's row count, from the first batch's row width, and its value buffers. */
static int start_array(arrow_builder *b, const mdm_batch *batch)
{
    size_t n = mdm_batch_nrows(batch), row_bytes = 1;
    for (size_t c = 0; c < b->ncols; c++) {
        row_bytes += value_width(b->cols[c].type, b->utf8) + 1;
        if (b->cols[c].type == MDM_TYPE_TEXT && n) {
            size_t len, sum = 0;
            for (size_t r = 0; r < n; r++)
                if (!mdm_batch_is_null(batch, c, r)) {
                    mdm_batch_text(batch, c, r, &len);
                    sum += len;
                }
            row_bytes += sum / n;
        }
    }
    size_t cap = b->max_bytes / row_bytes;
    b->cap = cap < 1 ? 1 : cap > b->max_rows ? b->max_rows : cap;
    for (size_t c = 0; c < b->ncols; c++) {
        column_build *col = &b->cols[c];
        size_t width = value_width(col->type, b->utf8);
        size_t bytes = col->type == MDM_TYPE_BOOL ? (b->cap + 7) / 8
                       : col->type == MDM_TYPE_TEXT ? (b->cap + 1) * width
                                                    : b->cap * width;
        if (!(col->values = col->type == MDM_TYPE_BOOL ? calloc(bytes, 1) : malloc(bytes)))
            return mdm_error_set(MDM_ENOMEM, "out of memory building a batch for DuckDB");
    }
    return 0;
}

static int grow_chars(column_build *col, size_t need)
{
    if (col->chars_len + need <= col->chars_cap)
        return 0;
    size_t cap = col->chars_cap ? col->chars_cap : 4096;
    while (cap < col->chars_len + need)
        cap *= 2;
    char *chars = realloc(col->chars, cap);
    if (!chars)
        return mdm_error_set(MDM_ENOMEM, "out of memory building a batch for DuckDB");
    col->chars = chars;
    col->chars_cap = cap;
    return 0;
}

static int append_column(column_build *col, size_t at, const mdm_batch *batch, size_t c,
                         size_t from, size_t n, size_t cap, bool utf8)
{
    const uint8_t *nulls = mdm_batch_nulls(batch, c) + from;
    if (!col->validity && memchr(nulls, 1, n)) {
        if (!(col->validity = malloc((cap + 7) / 8)))
            return mdm_error_set(MDM_ENOMEM, "out of memory building a batch for DuckDB");
        memset(col->validity, 0xFF, (cap + 7) / 8); /* the rows so far had values */
    }
    if (col->validity)
        for (size_t i = 0; i < n; i++)
            if (nulls[i]) {
                col->validity[(at + i) / 8] &= (uint8_t)~(1u << ((at + i) % 8));
                col->null_count++;
            }
    const void *data = mdm_batch_data(batch, c);
    switch (col->type) {
    case MDM_TYPE_INT64:
    case MDM_TYPE_FLOAT64:
    case MDM_TYPE_TIMESTAMP:
        memcpy((char *)col->values + at * 8, (const char *)data + from * 8, n * 8);
        break;
    case MDM_TYPE_DATE:
        memcpy((char *)col->values + at * 4, (const char *)data + from * 4, n * 4);
        break;
    case MDM_TYPE_BOOL: {
        uint8_t *bits = col->values;
        for (size_t i = 0; i < n; i++)
            if (((const uint8_t *)data)[from + i])
                bits[(at + i) / 8] |= (uint8_t)(1u << ((at + i) % 8));
        break;
    }
    case MDM_TYPE_TEXT: {
        for (size_t i = 0; i < n; i++) {
            if (utf8)
                ((int32_t *)col->values)[at + i] = (int32_t)col->chars_len;
            else
                ((int64_t *)col->values)[at + i] = (int64_t)col->chars_len;
            if (nulls[i])
                continue;
            size_t len;
            const char *s = mdm_batch_text(batch, c, from + i, &len);
            int rc = grow_chars(col, len + 1);
            if (rc)
                return rc;
            memcpy(col->chars + col->chars_len, s, len);
            col->chars_len += len;
        }
        break;
    }
    }
    return 0;
}

/* With 32-bit offsets, an array's text stays under 2 GiB: fewer rows are taken (and the
 * array counts as full) when the next ones would pass it. */
static int fit_utf8(arrow_builder *b, const mdm_batch *batch, size_t from, size_t *n)
{
    size_t fit = *n;
    for (size_t c = 0; fit > 0 && c < b->ncols; c++) {
        if (b->cols[c].type != MDM_TYPE_TEXT)
            continue;
        size_t total = b->cols[c].chars_len, len;
        for (size_t i = 0; i < fit; i++) {
            if (mdm_batch_is_null(batch, c, from + i))
                continue;
            mdm_batch_text(batch, c, from + i, &len);
            if ((total += len) > INT32_MAX) {
                fit = i;
                break;
            }
        }
        if (fit == 0 && b->rows == 0)
            return mdm_error_set(MDM_ECONSTRAINT, "column '%s': a text value of 2 GiB or more "
                                                  "cannot be an Arrow utf8 value",
                                 mdm_batch_field(batch, c)->name);
    }
    if (fit < *n) {
        b->cap = b->rows + fit;
        *n = fit;
    }
    return 0;
}

int arrow_builder_append(arrow_builder *b, const mdm_batch *batch, size_t from, size_t count,
                         size_t *taken)
{
    *taken = 0;
    int rc = 0;
    if (!b->cap && count && (rc = start_array(b, batch)))
        return rc;
    size_t n = b->cap - b->rows < count ? b->cap - b->rows : count;
    if (b->utf8 && (rc = fit_utf8(b, batch, from, &n)))
        return rc;
    for (size_t c = 0; !rc && c < b->ncols; c++)
        rc = append_column(&b->cols[c], b->rows, batch, c, from, n, b->cap, b->utf8);
    if (rc)
        return rc;
    b->rows += n;
    *taken = n;
    return 0;
}

int arrow_builder_finish(arrow_builder *b, struct ArrowArray *out)
{
    batch_buffers *bb = calloc(1, sizeof *bb);
    if (!bb)
        return mdm_error_set(MDM_ENOMEM, "out of memory building a batch for DuckDB");
    *out = (struct ArrowArray){.length = (int64_t)b->rows, .n_buffers = 1,
                               .buffers = bb->validity, .n_children = (int64_t)b->ncols,
                               .release = release_batch, .private_data = bb};
    bb->children = calloc(b->ncols ? b->ncols : 1, sizeof *bb->children);
    bb->child_ptrs = calloc(b->ncols ? b->ncols : 1, sizeof *bb->child_ptrs);
    if (!bb->children || !bb->child_ptrs) {
        release_batch(out);
        return mdm_error_set(MDM_ENOMEM, "out of memory building a batch for DuckDB");
    }
    bb->ncols = b->ncols;
    out->children = bb->child_ptrs;
    for (size_t c = 0; c < b->ncols; c++) {
        column_build *col = &b->cols[c];
        column_buffers *cb = calloc(1, sizeof *cb);
        if (!cb) {
            release_batch(out);
            return mdm_error_set(MDM_ENOMEM, "out of memory building a batch for DuckDB");
        }
        if (col->type == MDM_TYPE_TEXT && col->values && b->utf8)
            ((int32_t *)col->values)[b->rows] = (int32_t)col->chars_len;
        else if (col->type == MDM_TYPE_TEXT && col->values)
            ((int64_t *)col->values)[b->rows] = (int64_t)col->chars_len;
        /* An empty array (no rows yet) still needs value buffers. */
        if (!col->values && !(col->values = calloc(1, 16))) {
            free(cb);
            release_batch(out);
            return mdm_error_set(MDM_ENOMEM, "out of memory building a batch for DuckDB");
        }
        cb->owned[0] = col->validity;
        cb->owned[1] = col->values;
        cb->owned[2] = col->chars;
        cb->buffers[0] = col->validity;
        cb->buffers[1] = col->values;
        cb->buffers[2] = col->chars ? col->chars : (const void *)"";
        bb->children[c] = (struct ArrowArray){
            .length = (int64_t)b->rows, .null_count = col->null_count,
            .n_buffers = col->type == MDM_TYPE_TEXT ? 3 : 2, .buffers = cb->buffers,
            .release = release_column, .private_data = cb};
        bb->child_ptrs[c] = &bb->children[c];
        column_reset(col, false); /* the buffers are the array's now */
    }
    b->rows = 0;
    b->cap = 0;
    return 0;
}
