/*
 * mdm._mdm: module definition. The Python layer (the mdm package) builds on these:
 * Catalog (catalog.c, reader.c, register.c, iter.c) and the exception classes
 * (errors.c).
 */
#define MDM_PY_IMPORT_ARRAY
#include "ext.h"

static PyObject *mod_version(PyObject *self, PyObject *unused)
{
    return PyUnicode_FromString(mdm_version());
}

static PyObject *mod_normalize_name(PyObject *self, PyObject *args)
{
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name))
        return NULL;
    char out[512];
    int rc = mdm_dataset_name_normalize(out, sizeof out, name);
    if (rc < 0)
        return mdm_py_raise(rc);
    return PyUnicode_FromString(out);
}

static PyObject *mod_problem_types(PyObject *self, PyObject *unused)
{
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list && mdm_problem_types[i]; i++) {
        PyObject *s = PyUnicode_FromString(mdm_problem_types[i]);
        if (!s || PyList_Append(list, s) < 0) {
            Py_XDECREF(s);
            Py_CLEAR(list);
            break;
        }
        Py_DECREF(s);
    }
    return list;
}

static PyMethodDef module_methods[] = {
    {"version", mod_version, METH_NOARGS, "libmdm's version string."},
    {"normalize_name", mod_normalize_name, METH_VARARGS,
     "normalize_name(name) -> the dataset name as mdm stores it (lower-case)."},
    {"problem_types", mod_problem_types, METH_NOARGS, "The accepted problem types."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_mdm",
    "C extension of the mdm package: libmdm's catalog and reads into NumPy arrays.", -1,
    module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__mdm(void);
PyMODINIT_FUNC PyInit__mdm(void)
{
    import_array();
    if (PyType_Ready(&mdm_py_CatalogType) < 0 || PyType_Ready(&mdm_py_BatchIterType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    if (mdm_py_errors_init(m) < 0)
        goto fail;
    Py_INCREF(&mdm_py_CatalogType);
    if (PyModule_AddObject(m, "Catalog", (PyObject *)&mdm_py_CatalogType) < 0) {
        Py_DECREF(&mdm_py_CatalogType);
        goto fail;
    }
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
