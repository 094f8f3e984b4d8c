/*
 * Reading tables and queries into column arrays (Catalog.read, Catalog.query), and the
 * table's shape (schema, row count, table name). The engine read runs with the GIL
 * released; the sink (columns.c) takes it only to create text objects.
 */
#include "ext.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The sink: a non-zero return stops the read with a Python exception set. */
static int to_columns(const mdm_batch *batch, void *ctx)
{
    return mdm_py_columns_append(ctx, batch) < 0 ? 1 : 0;
}

int mdm_py_parse_columns(PyObject *seq, const char ***names, size_t *count, PyObject **keep)
{
    *names = NULL;
    *count = 0;
    *keep = NULL;
    if (!seq || seq == Py_None)
        return 0;
    if (PyUnicode_Check(seq)) {
        PyErr_SetString(PyExc_TypeError, "columns must be a list of names, not a str");
        return -1;
    }
    PyObject *fast = PySequence_Fast(seq, "columns must be a list of names");
    if (!fast)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    const char **out = calloc(n ? (size_t)n : 1, sizeof *out);
    if (!out) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        out[i] = PyUnicode_Check(item) ? PyUnicode_AsUTF8(item) : NULL;
        if (!out[i]) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "column names must be str");
            free(out);
            Py_DECREF(fast);
            return -1;
        }
    }
    *names = out;
    *count = (size_t)n;
    *keep = fast;
    return 0;
}

static int parse_opts(mdm_py_convert_opts *opts, int nullable, int categorical,
                      double cat_ratio, PyObject *text_null)
{
    opts->nullable = nullable;
    opts->categorical = categorical;
    opts->cat_ratio = cat_ratio;
    opts->text_null = text_null == Py_None ? NULL : text_null;
    return 0;
}

/* No batch came (nothing matched): the columns from the table's schema, in the order
 * asked for. */
static int schema_columns(mdm_py_columns *cols, mdm_dataset *ds, const mdm_table_read *req)
{
    mdm_field *fields = NULL, *picked = NULL;
    size_t n = 0, npicked = 0;
    int rc = mdm_dataset_table_schema(&fields, &n, ds, req->table);
    if (rc < 0) {
        mdm_py_raise(rc);
        return -1;
    }
    picked = calloc(n ? n : 1, sizeof *picked);
    if (!picked) {
        mdm_fields_free(fields, n);
        PyErr_NoMemory();
        return -1;
    }
    if (!req->columns) {
        memcpy(picked, fields, n * sizeof *fields);
        npicked = n;
    }
    for (size_t i = 0; req->columns && i < req->ncolumns; i++)
        for (size_t j = 0; j < n; j++)
            if (strcmp(req->columns[i], fields[j].name) == 0 && npicked < n)
                picked[npicked++] = fields[j];
    rc = mdm_py_columns_setup(cols, picked, npicked);
    free(picked);
    mdm_fields_free(fields, n);
    if (rc < 0)
        PyErr_NoMemory();
    return rc;
}

/* Whole tables of at least this many rows are read as row ranges in parallel. */
#define PARALLEL_MIN_ROWS 1000000

/* How many ranges a read may use: `threads` when given (1: one), else one per core (at
 * most 4) for a whole-table read on SQLite and PostgreSQL. Categorical text needs one
 * dictionary: one range. */
static int ranges(int *nparts, mdm_dataset *ds, const mdm_table_read *req,
                  const mdm_py_convert_opts *opts, int threads)
{
    *nparts = 1;
    if (threads < 0) {
        PyErr_SetString(PyExc_ValueError, "threads must be >= 0");
        return -1;
    }
    if (req->limit >= 0 || req->offset > 0 || opts->categorical || threads == 1)
        return 0;
    /* DuckDB scans with all cores already. */
    if (threads == 0 && strcmp(mdm_dataset_backend(ds), "duckdb") == 0)
        return 0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n = threads > 1 ? threads : (int)(cpus < 1 ? 1 : cpus > 4 ? 4 : cpus);
    *nparts = n > MDM_PY_MAX_PARTS ? MDM_PY_MAX_PARTS : n;
    return 0;
}

PyObject *mdm_py_catalog_read(mdm_py_catalog *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", "table", "columns", "limit", "offset", "nullable",
                             "categorical", "cat_ratio", "text_null", "batch_rows",
                             "threads", NULL};
    const char *name, *table;
    PyObject *columns = NULL, *text_null = Py_None;
    long long limit = -1, offset = 0;
    int nullable = 0, categorical = 0;
    double cat_ratio = 0.5;
    Py_ssize_t batch_rows = 0;
    int threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "ss|OLLppdOni", kwlist, &name, &table,
                                     &columns, &limit, &offset, &nullable, &categorical,
                                     &cat_ratio, &text_null, &batch_rows, &threads))
        return NULL;
    if (offset < 0) {
        PyErr_SetString(PyExc_ValueError, "offset must be >= 0");
        return NULL;
    }
    mdm_table_read req = {.table = table, .limit = limit, .offset = offset,
                          .batch_rows = batch_rows > 0 ? (size_t)batch_rows : 0};
    PyObject *keep = NULL;
    const char **names = NULL;
    if (mdm_py_parse_columns(columns, &names, &req.ncolumns, &keep) < 0)
        return NULL;
    req.columns = names;

    mdm_py_convert_opts opts;
    parse_opts(&opts, nullable, categorical, cat_ratio, text_null);
    PyObject *result = NULL;
    mdm_py_columns *cols = NULL;
    mdm_dataset *ds = mdm_py_dataset_open(self, name);
    if (!ds)
        goto done;
    int nparts = 1;
    if (ranges(&nparts, ds, &req, &opts, threads) < 0)
        goto done;
    /* The row count sizes the buffers once (and decides on ranges): asked for whenever
     * the engine keeps it cheaply or ranges may follow. */
    int64_t rows = -1;
    if (req.limit < 0 && (nparts > 1 || strcmp(mdm_dataset_backend(ds), "duckdb") == 0)) {
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = mdm_dataset_table_rows(&rows, ds, req.table);
        Py_END_ALLOW_THREADS
        if (rc < 0) {
            mdm_py_raise(rc);
            goto done;
        }
        if (req.offset > 0)
            rows = rows > req.offset ? rows - req.offset : 0;
    }
    if (nparts > 1 && rows >= nparts * 2 && (threads > 1 || rows >= PARALLEL_MIN_ROWS)) {
        result = mdm_py_read_parallel(ds, &req, &opts, rows, nparts);
        goto done;
    }
    cols = mdm_py_columns_new(&opts);
    if (!cols) {
        PyErr_NoMemory();
        goto done;
    }
    if (rows > 0 && rows <= 100000000)
        mdm_py_columns_expect(cols, rows);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = mdm_dataset_read(ds, &req, to_columns, cols);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        mdm_py_raise(rc);
    else if (rc > 0 || PyErr_Occurred())
        ; /* the sink's Python exception */
    else if (!mdm_py_columns_ready(cols) && schema_columns(cols, ds, &req) < 0)
        ;
    else
        result = mdm_py_columns_finish(cols);
done:
    mdm_py_columns_free(cols);
    if (ds) {
        Py_BEGIN_ALLOW_THREADS
        mdm_dataset_close(ds);
        Py_END_ALLOW_THREADS
    }
    free(names);
    Py_XDECREF(keep);
    return result;
}

PyObject *mdm_py_catalog_query(mdm_py_catalog *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", "sql", "limit", "timeout_ms", "nullable",
                             "categorical", "cat_ratio", "text_null", NULL};
    const char *name, *sql;
    long long limit = 0;
    unsigned long long timeout_ms = 0;
    int nullable = 0, categorical = 0;
    double cat_ratio = 0.5;
    PyObject *text_null = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "ss|LKppdO", kwlist, &name, &sql, &limit,
                                     &timeout_ms, &nullable, &categorical, &cat_ratio,
                                     &text_null))
        return NULL;
    mdm_query_options qo = {.limit = limit, .timeout_ms = timeout_ms};
    mdm_py_convert_opts opts;
    parse_opts(&opts, nullable, categorical, cat_ratio, text_null);
    mdm_dataset *ds = mdm_py_dataset_open(self, name);
    if (!ds)
        return NULL;
    PyObject *result = NULL;
    mdm_py_columns *cols = mdm_py_columns_new(&opts);
    if (!cols) {
        PyErr_NoMemory();
    } else {
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = mdm_dataset_query(ds, sql, &qo, to_columns, cols);
        Py_END_ALLOW_THREADS
        if (rc < 0)
            mdm_py_raise(rc);
        else if (rc == 0 && !PyErr_Occurred())
            result = mdm_py_columns_finish(cols);
    }
    mdm_py_columns_free(cols);
    Py_BEGIN_ALLOW_THREADS
    mdm_dataset_close(ds);
    Py_END_ALLOW_THREADS
    return result;
}

PyObject *mdm_py_catalog_schema(mdm_py_catalog *self, PyObject *args)
{
    const char *name, *table;
    if (!PyArg_ParseTuple(args, "ss", &name, &table))
        return NULL;
    mdm_dataset *ds = mdm_py_dataset_open(self, name);
    if (!ds)
        return NULL;
    mdm_field *fields = NULL;
    size_t n = 0;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = mdm_dataset_table_schema(&fields, &n, ds, table);
    mdm_dataset_close(ds);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return mdm_py_raise(rc);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *t = Py_BuildValue("(ss)", fields[i].name, mdm_type_name(fields[i].type));
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    mdm_fields_free(fields, n);
    return list;
}

PyObject *mdm_py_catalog_table_rows(mdm_py_catalog *self, PyObject *args)
{
    const char *name, *table;
    if (!PyArg_ParseTuple(args, "ss", &name, &table))
        return NULL;
    mdm_dataset *ds = mdm_py_dataset_open(self, name);
    if (!ds)
        return NULL;
    int64_t rows = 0;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = mdm_dataset_table_rows(&rows, ds, table);
    mdm_dataset_close(ds);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return mdm_py_raise(rc);
    return PyLong_FromLongLong(rows);
}

PyObject *mdm_py_catalog_table_name(mdm_py_catalog *self, PyObject *args)
{
    const char *name, *table;
    if (!PyArg_ParseTuple(args, "ss", &name, &table))
        return NULL;
    mdm_dataset *ds = mdm_py_dataset_open(self, name);
    if (!ds)
        return NULL;
    const char *real = NULL;
    int rc = mdm_dataset_table_name(&real, ds, table);
    PyObject *result = rc < 0 ? mdm_py_raise(rc) : PyUnicode_FromString(real);
    Py_BEGIN_ALLOW_THREADS
    mdm_dataset_close(ds);
    Py_END_ALLOW_THREADS
    return result;
}

/* The floor for benchmarks: the same engine read into a sink that only counts rows. */
static int count_rows(const mdm_batch *batch, void *ctx)
{
    *(uint64_t *)ctx += mdm_batch_nrows(batch);
    return 0;
}

PyObject *mdm_py_catalog_read_null(mdm_py_catalog *self, PyObject *args)
{
    const char *name, *table;
    if (!PyArg_ParseTuple(args, "ss", &name, &table))
        return NULL;
    mdm_dataset *ds = mdm_py_dataset_open(self, name);
    if (!ds)
        return NULL;
    mdm_table_read req = {.table = table, .limit = -1};
    uint64_t rows = 0;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = mdm_dataset_read(ds, &req, count_rows, &rows);
    mdm_dataset_close(ds);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return mdm_py_raise(rc);
    return PyLong_FromUnsignedLongLong(rows);
}
