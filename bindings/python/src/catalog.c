/*
 * _mdm.Catalog: the datasets of one mdm home (mdm_catalog), for the Python layer.
 *
 * Records cross as their dataset_info.json text (the Python mdm's keys), parsed by the
 * Python layer. Every libmdm call runs with the GIL released; libmdm's error record is
 * per thread, and the thread that released the GIL is the one that reads it back.
 */
#include "ext.h"

#include <stdlib.h>

#define WITHOUT_GIL(stmt)      \
    do {                       \
        Py_BEGIN_ALLOW_THREADS \
        stmt;                  \
        Py_END_ALLOW_THREADS   \
    } while (0)

static int catalog_init(mdm_py_catalog *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"home", "settings", NULL};
    const char *home = NULL;
    PyObject *settings = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|zO", kwlist, &home, &settings))
        return -1;
    if (self->cat)
        return 0;
    mdm_config *cfg = NULL;
    int rc;
    WITHOUT_GIL(rc = mdm_config_load(&cfg, home));
    if (rc < 0) {
        mdm_py_raise(rc);
        return -1;
    }
    if (settings && settings != Py_None) {
        PyObject *items = PySequence_Fast(settings, "settings must be (key, value) pairs");
        if (!items)
            goto fail;
        for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(items); i++) {
            const char *key, *value;
            if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(items, i), "ss", &key, &value)) {
                Py_DECREF(items);
                goto fail;
            }
            if (!mdm_config_has(key)) {
                Py_DECREF(items);
                PyErr_Format(PyExc_KeyError, "unknown configuration key '%s'", key);
                goto fail;
            }
            rc = mdm_config_set(cfg, key, value);
            if (rc < 0) {
                Py_DECREF(items);
                mdm_py_raise(rc);
                goto fail;
            }
        }
        Py_DECREF(items);
    }
    WITHOUT_GIL(rc = mdm_catalog_open(&self->cat, cfg));
    if (rc < 0) {
        mdm_py_raise(rc);
        goto fail;
    }
    self->cfg = cfg;
    return 0;
fail:
    mdm_config_free(cfg);
    return -1;
}

static void catalog_dealloc(mdm_py_catalog *self)
{
    if (self->cat) {
        mdm_catalog *cat = self->cat;
        self->cat = NULL;
        Py_BEGIN_ALLOW_THREADS
        mdm_catalog_free(cat);
        Py_END_ALLOW_THREADS
    }
    mdm_config_free(self->cfg);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int check_open(mdm_py_catalog *self)
{
    if (!self->cat) {
        PyErr_SetString(mdm_py_MDMError, "the catalog is not open");
        return -1;
    }
    return 0;
}

mdm_dataset *mdm_py_dataset_open(mdm_py_catalog *self, const char *name)
{
    if (check_open(self) < 0)
        return NULL;
    mdm_dataset *ds = NULL;
    int rc;
    WITHOUT_GIL(rc = mdm_dataset_open(&ds, self->cat, name));
    if (rc < 0) {
        mdm_py_raise(rc);
        return NULL;
    }
    return ds;
}

static void close_dataset(mdm_dataset *ds)
{
    Py_BEGIN_ALLOW_THREADS
    mdm_dataset_close(ds);
    Py_END_ALLOW_THREADS
}

PyObject *mdm_py_info_json(const mdm_dataset_info *info)
{
    char *json = NULL;
    int rc = mdm_dataset_info_to_json(&json, info);
    if (rc < 0)
        return mdm_py_raise(rc);
    PyObject *s = PyUnicode_FromString(json);
    free(json);
    return s;
}

/* ------------------------------------------------------------------ config */

static PyObject *catalog_home(mdm_py_catalog *self, PyObject *unused)
{
    if (check_open(self) < 0)
        return NULL;
    return PyUnicode_FromString(mdm_config_home(mdm_catalog_config(self->cat)));
}

static void add_item(const char *key, const char *value, void *ctx)
{
    PyObject *list = ctx;
    if (PyErr_Occurred())
        return;
    PyObject *t = Py_BuildValue("(ss)", key, value ? value : "null");
    if (t) {
        PyList_Append(list, t);
        Py_DECREF(t);
    }
}

static PyObject *catalog_config_items(mdm_py_catalog *self, PyObject *args)
{
    int mask = 1;
    if (check_open(self) < 0 || !PyArg_ParseTuple(args, "|p", &mask))
        return NULL;
    PyObject *list = PyList_New(0);
    if (!list)
        return NULL;
    mdm_config_foreach(mdm_catalog_config(self->cat), add_item, mask, list);
    if (PyErr_Occurred()) {
        Py_DECREF(list);
        return NULL;
    }
    return list;
}

/* ------------------------------------------------------------------ records */

static PyObject *catalog_exists(mdm_py_catalog *self, PyObject *args)
{
    const char *name;
    if (check_open(self) < 0 || !PyArg_ParseTuple(args, "s", &name))
        return NULL;
    bool exists = false;
    int rc;
    WITHOUT_GIL(rc = mdm_catalog_exists(&exists, self->cat, name));
    if (rc < 0)
        return mdm_py_raise(rc);
    return PyBool_FromLong(exists);
}

static PyObject *catalog_get(mdm_py_catalog *self, PyObject *args)
{
    const char *name;
    if (check_open(self) < 0 || !PyArg_ParseTuple(args, "s", &name))
        return NULL;
    mdm_dataset_info *info = NULL;
    int rc;
    WITHOUT_GIL(rc = mdm_catalog_get(&info, self->cat, name));
    if (rc < 0)
        return mdm_py_raise(rc);
    PyObject *json = mdm_py_info_json(info);
    mdm_dataset_info_free(info);
    return json;
}

static PyObject *infos_to_list(mdm_dataset_info **infos, size_t count)
{
    PyObject *list = PyList_New((Py_ssize_t)count);
    for (size_t i = 0; list && i < count; i++) {
        PyObject *json = mdm_py_info_json(infos[i]);
        if (!json) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, json);
    }
    mdm_dataset_infos_free(infos, count);
    return list;
}

static PyObject *catalog_list(mdm_py_catalog *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"filter", "sort_by", "limit", NULL};
    mdm_list_options opt = {0};
    Py_ssize_t limit = 0;
    if (check_open(self) < 0 ||
        !PyArg_ParseTupleAndKeywords(args, kw, "|zzn", kwlist, &opt.filter, &opt.sort_by,
                                     &limit))
        return NULL;
    opt.limit = limit > 0 ? (size_t)limit : 0;
    mdm_dataset_info **infos = NULL;
    size_t count = 0;
    int rc;
    WITHOUT_GIL(rc = mdm_catalog_list(&infos, &count, self->cat, &opt));
    if (rc < 0)
        return mdm_py_raise(rc);
    return infos_to_list(infos, count);
}

static PyObject *catalog_search(mdm_py_catalog *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"query", "pattern", "case_sensitive", "tag", "deep", "limit",
                             NULL};
    mdm_search_options opt = {0};
    int pattern = 0, case_sensitive = 0, deep = 0;
    Py_ssize_t limit = 0;
    if (check_open(self) < 0 ||
        !PyArg_ParseTupleAndKeywords(args, kw, "|zppzpn", kwlist, &opt.query, &pattern,
                                     &case_sensitive, &opt.tag, &deep, &limit))
        return NULL;
    opt.pattern = pattern;
    opt.case_sensitive = case_sensitive;
    opt.deep = deep;
    opt.limit = limit > 0 ? (size_t)limit : 0;
    mdm_search_match *matches = NULL;
    size_t count = 0;
    int rc;
    WITHOUT_GIL(rc = mdm_catalog_search(&matches, &count, self->cat, &opt));
    if (rc < 0)
        return mdm_py_raise(rc);
    PyObject *list = PyList_New((Py_ssize_t)count);
    for (size_t i = 0; list && i < count; i++) {
        PyObject *json = mdm_py_info_json(matches[i].info);
        PyObject *t = json ? Py_BuildValue("(Nsz)", json, matches[i].location,
                                           matches[i].detail)
                           : NULL;
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    mdm_search_matches_free(matches, count);
    return list;
}

static PyObject *catalog_update(mdm_py_catalog *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", "description", "target_column", "problem_type",
                             "id_columns", "tags", NULL};
    const char *name;
    mdm_dataset_changes ch = {0};
    if (check_open(self) < 0 ||
        !PyArg_ParseTupleAndKeywords(args, kw, "s|zzzzz", kwlist, &name, &ch.description,
                                     &ch.target_column, &ch.problem_type, &ch.id_columns,
                                     &ch.tags))
        return NULL;
    mdm_dataset_info *info = NULL;
    int rc;
    WITHOUT_GIL(rc = mdm_catalog_update(&info, self->cat, name, &ch));
    if (rc < 0)
        return mdm_py_raise(rc);
    PyObject *json = mdm_py_info_json(info);
    mdm_dataset_info_free(info);
    return json;
}

static PyObject *catalog_remove(mdm_py_catalog *self, PyObject *args)
{
    const char *name;
    if (check_open(self) < 0 || !PyArg_ParseTuple(args, "s", &name))
        return NULL;
    int rc;
    WITHOUT_GIL(rc = mdm_catalog_remove(self->cat, name));
    if (rc < 0)
        return mdm_py_raise(rc);
    Py_RETURN_NONE;
}

static PyObject *catalog_dataset_size(mdm_py_catalog *self, PyObject *args)
{
    const char *name;
    if (check_open(self) < 0 || !PyArg_ParseTuple(args, "s", &name))
        return NULL;
    uint64_t bytes = 0;
    int rc;
    WITHOUT_GIL(rc = mdm_catalog_dataset_size(&bytes, self->cat, name));
    if (rc < 0)
        return mdm_py_raise(rc);
    return PyLong_FromUnsignedLongLong(bytes);
}

/* ------------------------------------------------------------------ statistics, export */

static PyObject *catalog_stats(mdm_py_catalog *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", "full", "recompute", "export_path", NULL};
    const char *name, *path = NULL;
    int full = 0, recompute = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|ppz", kwlist, &name, &full, &recompute,
                                     &path))
        return NULL;
    mdm_dataset *ds = mdm_py_dataset_open(self, name);
    if (!ds)
        return NULL;
    mdm_stats_options opt = {.full = full, .recompute = recompute};
    char *json = NULL;
    int rc;
    if (path)
        WITHOUT_GIL(rc = mdm_dataset_stats_export(ds, path, &opt));
    else
        WITHOUT_GIL(rc = mdm_dataset_stats(&json, ds, &opt));
    PyObject *result = NULL;
    if (rc < 0)
        mdm_py_raise(rc);
    else if (path)
        result = PyUnicode_FromString(path);
    else
        result = PyUnicode_FromString(json);
    free(json);
    close_dataset(ds);
    return result;
}

static PyObject *catalog_export(mdm_py_catalog *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", "output_dir", "table", "format", "compression",
                             "metadata_only", "no_header", NULL};
    const char *name;
    mdm_export_options opt = {0};
    int metadata_only = 0, no_header = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|zzzzpp", kwlist, &name, &opt.output_dir,
                                     &opt.table, &opt.format, &opt.compression,
                                     &metadata_only, &no_header))
        return NULL;
    opt.metadata_only = metadata_only;
    opt.no_header = no_header;
    mdm_dataset *ds = mdm_py_dataset_open(self, name);
    if (!ds)
        return NULL;
    char **paths = NULL;
    size_t npaths = 0;
    int rc;
    WITHOUT_GIL(rc = mdm_dataset_export(&paths, &npaths, ds, &opt));
    close_dataset(ds);
    if (rc < 0)
        return mdm_py_raise(rc);
    PyObject *list = PyList_New((Py_ssize_t)npaths);
    for (size_t i = 0; list && i < npaths; i++) {
        PyObject *s = PyUnicode_DecodeFSDefault(paths[i]);
        if (!s) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, s);
    }
    mdm_paths_free(paths, npaths);
    return list;
}

static PyMethodDef catalog_methods[] = {
    {"home", (PyCFunction)catalog_home, METH_NOARGS, "The mdm home directory."},
    {"config_items", (PyCFunction)catalog_config_items, METH_VARARGS,
     "config_items(mask=True) -> [(key, value)] of every configuration key."},
    {"exists", (PyCFunction)catalog_exists, METH_VARARGS, "exists(name) -> bool"},
    {"get", (PyCFunction)catalog_get, METH_VARARGS, "get(name) -> dataset_info.json text"},
    {"list", (PyCFunction)catalog_list, METH_VARARGS | METH_KEYWORDS,
     "list(filter=None, sort_by=None, limit=0) -> [json]"},
    {"search", (PyCFunction)catalog_search, METH_VARARGS | METH_KEYWORDS,
     "search(query, pattern, case_sensitive, tag, deep, limit) -> [(json, where, detail)]"},
    {"update", (PyCFunction)catalog_update, METH_VARARGS | METH_KEYWORDS,
     "update(name, description=, target_column=, problem_type=, id_columns=, tags=)"},
    {"remove", (PyCFunction)catalog_remove, METH_VARARGS, "remove(name)"},
    {"dataset_size", (PyCFunction)catalog_dataset_size, METH_VARARGS,
     "dataset_size(name) -> bytes of its files"},
    {"stats", (PyCFunction)catalog_stats, METH_VARARGS | METH_KEYWORDS,
     "stats(name, full=False, recompute=False, export_path=None) -> JSON text"},
    {"export", (PyCFunction)catalog_export, METH_VARARGS | METH_KEYWORDS,
     "export(name, output_dir, table, format, compression, metadata_only, no_header)"},
    {"register", (PyCFunction)mdm_py_catalog_register, METH_VARARGS | METH_KEYWORDS,
     "register(name, path, **options) -> (json, notes)"},
    {"read", (PyCFunction)mdm_py_catalog_read, METH_VARARGS | METH_KEYWORDS,
     "read(name, table, columns=None, limit=-1, offset=0, nullable=False, "
     "categorical=False) -> [(column, type, values, mask, categories)]"},
    {"query", (PyCFunction)mdm_py_catalog_query, METH_VARARGS | METH_KEYWORDS,
     "query(name, sql, limit=0, timeout_ms=0, nullable=False, categorical=False)"},
    {"iter", (PyCFunction)mdm_py_catalog_iter, METH_VARARGS | METH_KEYWORDS,
     "iter(name, table, batch_size, columns=None, ...) -> iterator of column lists"},
    {"schema", (PyCFunction)mdm_py_catalog_schema, METH_VARARGS,
     "schema(name, table) -> [(column, type)]"},
    {"table_rows", (PyCFunction)mdm_py_catalog_table_rows, METH_VARARGS,
     "table_rows(name, table) -> int"},
    {"table_name", (PyCFunction)mdm_py_catalog_table_name, METH_VARARGS,
     "table_name(name, table) -> the table behind a kind"},
    {"read_null", (PyCFunction)mdm_py_catalog_read_null, METH_VARARGS,
     "read_null(name, table) -> rows: the engine read alone (a benchmark's floor)"},
    {NULL, NULL, 0, NULL},
};

PyTypeObject mdm_py_CatalogType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mdm._mdm.Catalog",
    .tp_basicsize = sizeof(mdm_py_catalog),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Catalog(home=None, settings=None): the datasets of one mdm home.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)catalog_init,
    .tp_dealloc = (destructor)catalog_dealloc,
    .tp_methods = catalog_methods,
};
