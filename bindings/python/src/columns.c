/*
 * Batches into NumPy arrays, column by column, without a Python object per number.
 *
 * Each column grows one C buffer of its final element type (int64, float64, uint8 for
 * bool, int64 nanoseconds for dates and timestamps, PyObject* for text, int32 codes for
 * categorical text) and, from its first NULL on, a byte mask. Numbers are copied from
 * the batch with the GIL released; only text needs the GIL, to create str objects, and
 * equal strings share one object through a per-column dictionary (which is also how a
 * low-cardinality column becomes codes + categories). At the end the numeric buffers
 * become the arrays' memory (a capsule owns them): nothing is copied.
 */
#include "ext.h"
#include "textdict.h"

#include <math.h>
#include <string.h>

#define NS_PER_DAY 86400000000000LL
#define DEDUP_MAX 65536     /* distinct strings kept for sharing per column */
#define CATEGORY_MAX 65536  /* beyond this many distinct values, text stays objects */

typedef struct column {
    char *name;
    mdm_type type;
    void *values;
    uint8_t *mask;      /* NULL until the first NULL */
    size_t nnull;
    bool as_codes;      /* text held as int32 codes into dict */
    bool dict_closed;   /* no more inserts (dedup limit reached) */
    mdm_py_text_dict dict;
} column;

struct mdm_py_columns {
    mdm_py_convert_opts opts;
    column *cols;
    size_t ncols;
    size_t nrows, cap;
    size_t hint;        /* rows expected, for the first allocation */
    bool ready;
};

static size_t elem_size(const column *c)
{
    switch (c->type) {
    case MDM_TYPE_BOOL:
        return 1;
    case MDM_TYPE_TEXT:
        return c->as_codes ? sizeof(int32_t) : sizeof(PyObject *);
    default:
        return 8;
    }
}

/* ------------------------------------------------------------------ setup and growth */

mdm_py_columns *mdm_py_columns_new(const mdm_py_convert_opts *opts)
{
    mdm_py_columns *cols = calloc(1, sizeof *cols);
    if (!cols)
        return NULL;
    cols->opts = *opts;
    if (cols->opts.cat_ratio <= 0)
        cols->opts.cat_ratio = 0.5;
    return cols;
}

/* Releases the values of every column (with the GIL: text holds references). */
static void release_values(mdm_py_columns *cols)
{
    for (size_t i = 0; i < cols->ncols; i++) {
        column *c = &cols->cols[i];
        if (c->type == MDM_TYPE_TEXT && !c->as_codes && c->values) {
            PyObject **objs = c->values;
            for (size_t r = 0; r < cols->nrows; r++)
                Py_XDECREF(objs[r]);
        }
        free(c->values);
        free(c->mask);
        c->values = NULL;
        c->mask = NULL;
        c->nnull = 0;
        mdm_py_dict_clear(&c->dict);
        c->as_codes = c->type == MDM_TYPE_TEXT && cols->opts.categorical;
        c->dict_closed = false;
    }
    cols->nrows = 0;
    cols->cap = 0;
}

void mdm_py_columns_free(mdm_py_columns *cols)
{
    if (!cols)
        return;
    release_values(cols);
    for (size_t i = 0; i < cols->ncols; i++)
        free(cols->cols[i].name);
    free(cols->cols);
    free(cols);
}

void mdm_py_columns_expect(mdm_py_columns *cols, int64_t rows)
{
    /* A first allocation of the whole table avoids copies as buffers grow; a count that
     * turns out low only means growing later. */
    cols->hint = rows > 0 && rows < ((int64_t)1 << 40) ? (size_t)rows : 0;
}

size_t mdm_py_columns_rows(const mdm_py_columns *cols)
{
    return cols->nrows;
}

int mdm_py_columns_setup(mdm_py_columns *cols, const mdm_field *fields, size_t n)
{
    if (cols->ready)
        return 0;
    cols->cols = calloc(n ? n : 1, sizeof *cols->cols);
    if (!cols->cols)
        return -1;
    for (size_t i = 0; i < n; i++) {
        column *c = &cols->cols[i];
        c->name = strdup(fields[i].name);
        if (!c->name)
            return -1;
        c->type = fields[i].type;
        c->as_codes = fields[i].type == MDM_TYPE_TEXT && cols->opts.categorical;
        cols->ncols = i + 1;
    }
    cols->ready = true;
    return 0;
}

bool mdm_py_columns_ready(const mdm_py_columns *cols)
{
    return cols->ready;
}

static int setup(mdm_py_columns *cols, const mdm_batch *batch)
{
    size_t n = mdm_batch_ncols(batch);
    mdm_field *fields = calloc(n ? n : 1, sizeof *fields);
    if (!fields)
        return -1;
    for (size_t i = 0; i < n; i++)
        fields[i] = *mdm_batch_field(batch, i);
    int rc = mdm_py_columns_setup(cols, fields, n);
    free(fields);
    return rc;
}

static int grow(mdm_py_columns *cols, size_t need)
{
    if (need <= cols->cap)
        return 0;
    size_t cap = cols->cap ? cols->cap : cols->hint > need ? cols->hint : 4096;
    while (cap < need)
        cap += cap / 2 + (cap < (1u << 20) ? cap / 2 : 0);
    for (size_t i = 0; i < cols->ncols; i++) {
        column *c = &cols->cols[i];
        void *v = realloc(c->values, cap * elem_size(c));
        if (!v)
            return -1;
        c->values = v;
        if (c->mask) {
            uint8_t *m = realloc(c->mask, cap);
            if (!m)
                return -1;
            memset(m + cols->cap, 0, cap - cols->cap);
            c->mask = m;
        }
    }
    cols->cap = cap;
    return 0;
}

static int ensure_mask(mdm_py_columns *cols, column *c)
{
    if (c->mask)
        return 0;
    c->mask = calloc(cols->cap ? cols->cap : 1, 1);
    return c->mask ? 0 : -1;
}

/* ------------------------------------------------------------------ appending */

/* Numbers, bools, dates, timestamps: no Python object, no GIL. */
static int append_plain(mdm_py_columns *cols, column *c, const mdm_batch *batch, size_t col,
                        size_t n)
{
    const uint8_t *nulls = mdm_batch_nulls(batch, col);
    const void *data = mdm_batch_data(batch, col);
    size_t at = cols->nrows;
    bool any_null = nulls && memchr(nulls, 1, n) != NULL;
    if (any_null) {
        if (ensure_mask(cols, c) < 0)
            return -1;
        memcpy(c->mask + at, nulls, n);
        for (size_t r = 0; r < n; r++)
            c->nnull += nulls[r] != 0;
    }
    switch (c->type) {
    case MDM_TYPE_INT64:
        memcpy((int64_t *)c->values + at, data, n * 8);
        break;
    case MDM_TYPE_FLOAT64: {
        double *v = (double *)c->values + at;
        memcpy(v, data, n * 8);
        if (any_null)
            for (size_t r = 0; r < n; r++)
                if (nulls[r])
                    v[r] = NAN;
        break;
    }
    case MDM_TYPE_BOOL: {
        uint8_t *v = (uint8_t *)c->values + at;
        const uint8_t *src = data;
        for (size_t r = 0; r < n; r++)
            v[r] = src[r] != 0 && !(any_null && nulls[r]);
        break;
    }
    case MDM_TYPE_DATE: {
        int64_t *v = (int64_t *)c->values + at;
        const int32_t *src = data;
        for (size_t r = 0; r < n; r++)
            v[r] = any_null && nulls[r] ? NPY_MIN_INT64 : (int64_t)src[r] * NS_PER_DAY;
        break;
    }
    case MDM_TYPE_TIMESTAMP: {
        int64_t *v = (int64_t *)c->values + at;
        const int64_t *src = data;
        for (size_t r = 0; r < n; r++) {
            if (any_null && nulls[r]) {
                v[r] = NPY_MIN_INT64;
                continue;
            }
            if (src[r] > INT64_MAX / 1000 || src[r] <= NPY_MIN_INT64 / 1000) {
                /* Outside datetime64[ns] (years 1678..2261): NaT, counted as NULL. */
                v[r] = NPY_MIN_INT64;
                if (ensure_mask(cols, c) < 0)
                    return -1;
                c->mask[at + r] = 1;
                c->nnull++;
                continue;
            }
            v[r] = src[r] * 1000;
        }
        break;
    }
    default:
        break;
    }
    return 0;
}

/* Text held as codes overflowed CATEGORY_MAX (or is not categorical after all): becomes
 * one object per row, sharing the dictionary's strings. With the GIL. */
static int codes_to_objects(mdm_py_columns *cols, column *c, size_t upto)
{
    PyObject **objs = calloc(cols->cap ? cols->cap : 1, sizeof *objs);
    if (!objs)
        return -1;
    const int32_t *codes = c->values;
    PyObject *null_obj = cols->opts.text_null ? cols->opts.text_null : Py_None;
    for (size_t r = 0; r < upto; r++) {
        PyObject *o = codes[r] < 0 ? null_obj : c->dict.entries[codes[r]].obj;
        Py_INCREF(o);
        objs[r] = o;
    }
    free(c->values);
    c->values = objs;
    c->as_codes = false;
    c->dict_closed = c->dict.n >= DEDUP_MAX;
    return 0;
}

/* With the GIL. */
static int append_text(mdm_py_columns *cols, column *c, const mdm_batch *batch, size_t col,
                       size_t n)
{
    mdm_py_text_dict *d = &c->dict;
    if (!d->slots && mdm_py_dict_grow_slots(d) < 0)
        goto nomem;
    PyObject *null_obj = cols->opts.text_null ? cols->opts.text_null : Py_None;
    for (size_t r = 0; r < n; r++) {
        size_t at = cols->nrows + r;
        if (mdm_batch_is_null(batch, col, r)) {
            if (ensure_mask(cols, c) < 0)
                goto nomem;
            c->mask[at] = 1;
            c->nnull++;
            if (c->as_codes) {
                ((int32_t *)c->values)[at] = -1;
            } else {
                Py_INCREF(null_obj);
                ((PyObject **)c->values)[at] = null_obj;
            }
            continue;
        }
        size_t len;
        const char *s = mdm_batch_text(batch, col, r, &len);
        uint64_t h = mdm_py_hash_bytes(s, len);
        size_t slot;
        long idx = mdm_py_dict_find(d, s, len, h, &slot);
        PyObject *obj;
        if (idx >= 0) {
            obj = d->entries[idx].obj;
            Py_INCREF(obj);
        } else {
            obj = PyUnicode_DecodeUTF8(s, (Py_ssize_t)len, "replace");
            if (!obj)
                return -1;
            if (c->as_codes && d->n >= CATEGORY_MAX) {
                if (codes_to_objects(cols, c, at) < 0) {
                    Py_DECREF(obj);
                    goto nomem;
                }
            }
            if (!c->dict_closed) {
                Py_INCREF(obj);
                idx = mdm_py_dict_add(d, s, len, h, slot, obj);
                if (idx < 0) {
                    Py_DECREF(obj);
                    Py_DECREF(obj);
                    goto nomem;
                }
                if (!c->as_codes && d->n >= DEDUP_MAX)
                    c->dict_closed = true;
            }
        }
        if (c->as_codes) {
            ((int32_t *)c->values)[at] = (int32_t)idx;
            Py_DECREF(obj); /* the dictionary holds it */
        } else {
            ((PyObject **)c->values)[at] = obj;
        }
    }
    return 0;
nomem:
    PyErr_NoMemory();
    return -1;
}

int mdm_py_columns_append(mdm_py_columns *cols, const mdm_batch *batch)
{
    int rc = 0;
    PyGILState_STATE gil;
    if (!cols->ready && setup(cols, batch) < 0)
        goto nomem_nogil;
    if (mdm_batch_ncols(batch) != cols->ncols) {
        gil = PyGILState_Ensure();
        PyErr_SetString(mdm_py_MDMError, "a batch changed its columns mid-read");
        PyGILState_Release(gil);
        return -1;
    }
    size_t n = mdm_batch_nrows(batch);
    if (n == 0)
        return 0; /* the columns are known now; nothing else to do */
    if (grow(cols, cols->nrows + n) < 0)
        goto nomem_nogil;
    bool has_text = false;
    for (size_t i = 0; i < cols->ncols; i++) {
        column *c = &cols->cols[i];
        if (c->type == MDM_TYPE_TEXT) {
            has_text = true;
            if (!c->as_codes) /* so that a failure half way can release exactly */
                memset((PyObject **)c->values + cols->nrows, 0, n * sizeof(PyObject *));
        }
        else if (append_plain(cols, &cols->cols[i], batch, i, n) < 0)
            goto nomem_nogil;
    }
    /* The GIL once per batch: text objects, and Ctrl-C. */
    gil = PyGILState_Ensure();
    if (has_text)
        for (size_t i = 0; i < cols->ncols && rc == 0; i++)
            if (cols->cols[i].type == MDM_TYPE_TEXT)
                rc = append_text(cols, &cols->cols[i], batch, i, n);
    if (rc == 0 && PyErr_CheckSignals() < 0)
        rc = -1;
    if (rc == 0)
        cols->nrows += n;
    else {
        /* Rows [nrows, nrows+n) may hold references: drop them so release_values
         * (which stops at nrows) leaks nothing. */
        for (size_t i = 0; i < cols->ncols; i++) {
            column *c = &cols->cols[i];
            if (c->type != MDM_TYPE_TEXT || c->as_codes)
                continue;
            PyObject **objs = c->values;
            for (size_t r = cols->nrows; r < cols->nrows + n; r++) {
                Py_XDECREF(objs[r]);
                objs[r] = NULL;
            }
        }
    }
    PyGILState_Release(gil);
    return rc;
nomem_nogil:
    gil = PyGILState_Ensure();
    PyErr_NoMemory();
    PyGILState_Release(gil);
    return -1;
}

/* ------------------------------------------------------------------ to NumPy */

static void free_capsule(PyObject *capsule)
{
    free(PyCapsule_GetPointer(capsule, "mdm.buffer"));
}

/* An array over `data` (malloc'd, `n` elements of `descr`), which it then owns. Steals
 * `descr` and `data` (freed on failure too). */
static PyObject *adopt(void *data, size_t n, PyArray_Descr *descr)
{
    if (!data)
        data = malloc(1);
    if (!data || !descr) {
        free(data);
        Py_XDECREF(descr);
        return PyErr_NoMemory();
    }
    npy_intp dims[1] = {(npy_intp)n};
    PyObject *arr = PyArray_NewFromDescr(&PyArray_Type, descr, 1, dims, NULL, data,
                                         NPY_ARRAY_CARRAY, NULL);
    if (!arr) {
        free(data);
        return NULL;
    }
    PyObject *capsule = PyCapsule_New(data, "mdm.buffer", free_capsule);
    if (!capsule) {
        free(data);
        Py_DECREF(arr);
        return NULL;
    }
    if (PyArray_SetBaseObject((PyArrayObject *)arr, capsule) < 0) {
        Py_DECREF(capsule);
        Py_DECREF(arr);
        return NULL;
    }
    return arr;
}

static PyArray_Descr *datetime_ns(void)
{
    PyArray_Descr *descr = NULL;
    PyObject *spec = PyUnicode_FromString("M8[ns]");
    if (!spec)
        return NULL;
    if (!PyArray_DescrConverter(spec, &descr))
        descr = NULL;
    Py_DECREF(spec);
    return descr;
}

/* An object array taking over `objs[0..n)` (their references). */
static PyObject *object_array(PyObject **objs, size_t n)
{
    npy_intp dims[1] = {(npy_intp)n};
    PyObject *arr = PyArray_SimpleNew(1, dims, NPY_OBJECT);
    if (!arr)
        return NULL;
    if (n)
        memcpy(PyArray_DATA((PyArrayObject *)arr), objs, n * sizeof *objs);
    return arr;
}

static PyObject *finish_column(mdm_py_columns *cols, column *c)
{
    size_t n = cols->nrows;
    bool nullable = cols->opts.nullable;
    PyObject *values = NULL, *mask = Py_None, *categories = Py_None;
    Py_INCREF(Py_None);
    Py_INCREF(Py_None);

    if (c->nnull == 0) {
        free(c->mask);
        c->mask = NULL;
    }
    /* Give back what growth (or a high count) reserved beyond the rows. */
    if (c->values && n > 0 && cols->cap > n + n / 8) {
        void *v = realloc(c->values, n * elem_size(c));
        if (v)
            c->values = v;
        if (c->mask && (v = realloc(c->mask, n)))
            c->mask = v;
    }
    switch (c->type) {
    case MDM_TYPE_INT64:
        if (c->nnull && !nullable) {
            /* pandas.read_sql's answer: float64 with NaN, converted in place. */
            int64_t *iv = c->values;
            double *dv = c->values;
            for (size_t r = 0; r < n; r++)
                dv[r] = c->mask[r] ? NAN : (double)iv[r];
            values = adopt(c->values, n, PyArray_DescrFromType(NPY_FLOAT64));
        } else {
            values = adopt(c->values, n, PyArray_DescrFromType(NPY_INT64));
        }
        break;
    case MDM_TYPE_FLOAT64:
        values = adopt(c->values, n, PyArray_DescrFromType(NPY_FLOAT64));
        break;
    case MDM_TYPE_BOOL:
        if (c->nnull && !nullable) {
            /* object: True, False, None */
            PyObject **objs = malloc((n ? n : 1) * sizeof *objs);
            if (!objs) {
                values = PyErr_NoMemory();
                break;
            }
            const uint8_t *bv = c->values;
            for (size_t r = 0; r < n; r++) {
                objs[r] = c->mask[r] ? Py_None : bv[r] ? Py_True : Py_False;
                Py_INCREF(objs[r]);
            }
            values = object_array(objs, n);
            if (!values)
                for (size_t r = 0; r < n; r++)
                    Py_DECREF(objs[r]);
            free(objs);
            free(c->values);
        } else {
            values = adopt(c->values, n, PyArray_DescrFromType(NPY_BOOL));
        }
        break;
    case MDM_TYPE_DATE:
    case MDM_TYPE_TIMESTAMP:
        values = adopt(c->values, n, datetime_ns());
        break;
    case MDM_TYPE_TEXT:
        if (c->as_codes && (double)c->dict.n > cols->opts.cat_ratio * (double)n && n > 0 &&
            codes_to_objects(cols, c, n) < 0) {
            values = PyErr_NoMemory();
            break;
        }
        if (c->as_codes) {
            values = adopt(c->values, n, PyArray_DescrFromType(NPY_INT32));
            PyObject **objs = malloc((c->dict.n ? c->dict.n : 1) * sizeof *objs);
            if (!objs)
                break;
            for (size_t i = 0; i < c->dict.n; i++) {
                objs[i] = c->dict.entries[i].obj;
                Py_INCREF(objs[i]);
            }
            Py_DECREF(categories);
            categories = object_array(objs, c->dict.n);
            if (!categories)
                for (size_t i = 0; i < c->dict.n; i++)
                    Py_DECREF(objs[i]);
            free(objs);
        } else {
            values = object_array(c->values, n);
            if (values && n) /* the array holds the references now */
                memset(c->values, 0, n * sizeof(PyObject *));
            else
                for (size_t r = 0; r < n; r++)
                    Py_CLEAR(((PyObject **)c->values)[r]);
            free(c->values);
        }
        break;
    default:
        PyErr_Format(mdm_py_MDMError, "column '%s' has an unknown type", c->name);
        free(c->values);
    }
    c->values = NULL;
    if (values && c->mask && nullable && c->type != MDM_TYPE_TEXT) {
        Py_DECREF(mask);
        mask = adopt(c->mask, n, PyArray_DescrFromType(NPY_BOOL));
        c->mask = NULL;
    }
    if (!values || !mask || !categories) {
        Py_XDECREF(values);
        Py_XDECREF(mask);
        Py_XDECREF(categories);
        return NULL;
    }
    return Py_BuildValue("(ssNNN)", c->name, mdm_type_name(c->type), values, mask,
                         categories);
}

PyObject *mdm_py_columns_finish(mdm_py_columns *cols)
{
    PyObject *list = PyList_New(0);
    if (!list)
        goto fail;
    for (size_t i = 0; i < cols->ncols; i++) {
        PyObject *t = finish_column(cols, &cols->cols[i]);
        if (!t || PyList_Append(list, t) < 0) {
            Py_XDECREF(t);
            goto fail;
        }
        Py_DECREF(t);
    }
    /* Every buffer was handed over; what is left (masks, dictionaries) goes. */
    for (size_t i = 0; i < cols->ncols; i++)
        cols->cols[i].values = NULL;
    release_values(cols);
    return list;
fail:
    Py_XDECREF(list);
    release_values(cols);
    return NULL;
}

/* ------------------------------------------------------------------ joining ranges */

static int check_parts(mdm_py_columns **parts, size_t n, mdm_py_columns **first,
                       size_t *total)
{
    *first = NULL;
    *total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!parts[i]->ready)
            continue;
        if (!*first)
            *first = parts[i];
        if (parts[i]->ncols != (*first)->ncols || parts[i]->opts.categorical) {
            PyErr_SetString(mdm_py_MDMError, "the ranges of a read disagree on the columns");
            return -1;
        }
        for (size_t c = 0; c < (*first)->ncols; c++)
            if (parts[i]->cols[c].type != (*first)->cols[c].type) {
                PyErr_SetString(mdm_py_MDMError, "the ranges of a read disagree on the types");
                return -1;
            }
        *total += parts[i]->nrows;
    }
    if (!*first) {
        PyErr_SetString(mdm_py_MDMError, "the read delivered no columns");
        return -1;
    }
    return 0;
}

/* Appends column c of every later range to the first's buffers, which grow in place
 * (large blocks are remapped, not copied); each range's buffer goes as soon as it is
 * copied, so the peak stays near one table plus one range. */
static int join_column(mdm_py_columns **parts, size_t n, mdm_py_columns *dst, size_t c,
                       size_t total)
{
    column *dc = &dst->cols[c];
    size_t esize = elem_size(dc), at = dst->nrows;
    void *v = realloc(dc->values, (total ? total : 1) * esize);
    if (!v)
        return -1;
    dc->values = v;
    bool nulls = false;
    for (size_t i = 0; i < n; i++)
        nulls |= parts[i]->ready && parts[i]->cols[c].nnull > 0;
    if (nulls) {
        uint8_t *m = dc->mask ? realloc(dc->mask, total ? total : 1) : calloc(total ? total : 1, 1);
        if (!m)
            return -1;
        if (dc->mask)
            memset(m + dst->nrows, 0, total - dst->nrows);
        dc->mask = m;
    }
    for (size_t i = 0; i < n; i++) {
        mdm_py_columns *src = parts[i];
        if (src == dst || !src->ready || src->nrows == 0)
            continue;
        column *sc = &src->cols[c];
        size_t sn = src->nrows;
        memcpy((char *)dc->values + at * esize, sc->values, sn * esize);
        if (sc->mask)
            memcpy(dc->mask + at, sc->mask, sn);
        dc->nnull += sc->nnull;
        free(sc->values); /* text: the references moved with the pointers */
        sc->values = NULL;
        at += sn;
    }
    return 0;
}

mdm_py_columns *mdm_py_columns_join(mdm_py_columns **parts, size_t n)
{
    mdm_py_columns *dst;
    size_t total;
    if (check_parts(parts, n, &dst, &total) < 0)
        return NULL;
    for (size_t c = 0; c < dst->ncols; c++)
        if (join_column(parts, n, dst, c, total) < 0) {
            /* Columns joined so far hold references of other ranges' rows beyond
             * dst->nrows; those ranges no longer do. Drop them here. */
            for (size_t k = 0; k < c; k++) {
                column *dc = &dst->cols[k];
                if (dc->type == MDM_TYPE_TEXT)
                    for (size_t r = dst->nrows; r < total; r++)
                        Py_CLEAR(((PyObject **)dc->values)[r]);
            }
            PyErr_NoMemory();
            return NULL;
        }
    dst->nrows = total;
    dst->cap = total;
    for (size_t i = 0; i < n; i++)
        if (parts[i] != dst && parts[i]->ready)
            parts[i]->nrows = 0; /* emptied */
    return dst;
}
