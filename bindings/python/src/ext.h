/*
 * mdm._mdm — the C extension of the mdm Python package: shared declarations.
 *
 * Only the public headers include/mdm/mdm.h and include/mdm/dataset.h are used. Every
 * call into libmdm that may wait (engine reads, registration, export) runs with the GIL
 * released; the GIL is taken back only to create Python objects.
 */
#ifndef MDM_PY_EXT_H
#define MDM_PY_EXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL mdm_py_ARRAY_API
#ifndef MDM_PY_IMPORT_ARRAY
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

#include "mdm/dataset.h"
#include "mdm/mdm.h"

/* ------------------------------------------------------------------ errors (errors.c) */

/* The exception classes: MDMError and the Python mdm's subclasses. */
extern PyObject *mdm_py_MDMError;

int mdm_py_errors_init(PyObject *module);
/* Raises the exception matching `code` with mdm_error_last()'s message (or `fallback`
 * when the record is empty). Returns NULL for `return mdm_py_raise(rc);`. */
PyObject *mdm_py_raise(int code);
/* Same, from a code and a message captured earlier (another thread's record). */
PyObject *mdm_py_raise_msg(int code, const char *message);

/* ------------------------------------------------------------------ columns (columns.c) */

/* How columns become arrays. */
typedef struct mdm_py_convert_opts {
    bool nullable;      /* keep masks (pandas' nullable dtypes) instead of NaN/None */
    bool categorical;   /* text of low cardinality as codes + categories */
    double cat_ratio;   /* categorical when distinct <= cat_ratio * rows */
    PyObject *text_null; /* what a NULL text becomes (borrowed; NULL: None) */
} mdm_py_convert_opts;

/* Accumulates batches column by column into C buffers. */
typedef struct mdm_py_columns mdm_py_columns;

mdm_py_columns *mdm_py_columns_new(const mdm_py_convert_opts *opts);
void mdm_py_columns_free(mdm_py_columns *cols);
/* Appends a batch. Called WITHOUT the GIL; takes it briefly for text columns. Returns 0,
 * or non-zero with a Python exception set (the sink's stop value). */
int mdm_py_columns_append(mdm_py_columns *cols, const mdm_batch *batch);
size_t mdm_py_columns_rows(const mdm_py_columns *cols);
/* How many rows are coming (a count), to allocate once. */
void mdm_py_columns_expect(mdm_py_columns *cols, int64_t rows);
/* Sets the columns without a batch (a read that delivered none); 0 or -1 (no memory). */
int mdm_py_columns_setup(mdm_py_columns *cols, const mdm_field *fields, size_t n);
bool mdm_py_columns_ready(const mdm_py_columns *cols);
/* Joins the ranges of a read, in order, into the first range that has columns, which
 * is returned (it still belongs to `parts`; the others are emptied). With the GIL; text
 * references move. Not for categorical columns. NULL with an exception set. */
mdm_py_columns *mdm_py_columns_join(mdm_py_columns **parts, size_t n);

/* ------------------------------------------------------------------ parallel.c */

#define MDM_PY_MAX_PARTS 8
/* Reads the whole table as `nparts` row ranges on as many threads (`rows` from the
 * engine's count), then joins them. Called with the GIL. */
PyObject *mdm_py_read_parallel(mdm_dataset *ds, const mdm_table_read *req,
                               const mdm_py_convert_opts *opts, int64_t rows, int nparts);
/* Hands the buffers to NumPy (with the GIL): a list of tuples
 * (name, mdm type name, values ndarray, mask ndarray or None, categories or None).
 * Empties `cols` (it can accumulate again, same columns). */
PyObject *mdm_py_columns_finish(mdm_py_columns *cols);

/* ------------------------------------------------------------------ catalog (catalog.c) */

typedef struct mdm_py_catalog {
    PyObject_HEAD
    mdm_catalog *cat;
    mdm_config *cfg;
} mdm_py_catalog;

extern PyTypeObject mdm_py_CatalogType;
extern PyTypeObject mdm_py_BatchIterType;

/* Reads (reader.c): methods of Catalog. */
PyObject *mdm_py_catalog_read(mdm_py_catalog *self, PyObject *args, PyObject *kw);
PyObject *mdm_py_catalog_query(mdm_py_catalog *self, PyObject *args, PyObject *kw);
PyObject *mdm_py_catalog_iter(mdm_py_catalog *self, PyObject *args, PyObject *kw);
PyObject *mdm_py_catalog_schema(mdm_py_catalog *self, PyObject *args);
PyObject *mdm_py_catalog_table_rows(mdm_py_catalog *self, PyObject *args);
PyObject *mdm_py_catalog_table_name(mdm_py_catalog *self, PyObject *args);
PyObject *mdm_py_catalog_read_null(mdm_py_catalog *self, PyObject *args);
/* Registration (register.c). */
PyObject *mdm_py_catalog_register(mdm_py_catalog *self, PyObject *args, PyObject *kw);

/* A Python list of column names as borrowed UTF-8 pointers (valid while *keep lives;
 * free *names). None gives no names. */
int mdm_py_parse_columns(PyObject *seq, const char ***names, size_t *count, PyObject **keep);

/* Opens a dataset with the GIL released; NULL with an exception set. */
mdm_dataset *mdm_py_dataset_open(mdm_py_catalog *self, const char *name);
/* A record as its dataset_info.json text (a Python str); NULL with an exception. */
PyObject *mdm_py_info_json(const mdm_dataset_info *info);

#endif /* MDM_PY_EXT_H */
