/*
 * Exceptions: MDMError and the Python mdm's subclasses, raised with libmdm's message.
 * Each instance carries `code` (the short name, "ENOTFOUND") for programs that branch.
 */
#include "ext.h"

PyObject *mdm_py_MDMError;
static PyObject *ConfigError, *StorageError, *DatasetError, *ValidationError,
    *FeatureEngineeringError, *ExportError, *BackendError;

static PyObject *new_class(PyObject *module, const char *name, PyObject *bases,
                           const char *doc)
{
    char qualified[128];
    snprintf(qualified, sizeof qualified, "mdm.%s", name);
    PyObject *cls = PyErr_NewExceptionWithDoc(qualified, doc, bases, NULL);
    if (!cls)
        return NULL;
    Py_INCREF(cls);
    if (PyModule_AddObject(module, name, cls) < 0) {
        Py_DECREF(cls);
        Py_DECREF(cls);
        return NULL;
    }
    return cls;
}

int mdm_py_errors_init(PyObject *module)
{
    mdm_py_MDMError = new_class(module, "MDMError", NULL, "Base exception for all mdm errors.");
    if (!mdm_py_MDMError)
        return -1;
    ConfigError = new_class(module, "ConfigError", mdm_py_MDMError,
                            "Configuration file or value is wrong.");
    StorageError = new_class(module, "StorageError", mdm_py_MDMError,
                             "The storage (files, database engine) failed.");
    DatasetError = new_class(module, "DatasetError", mdm_py_MDMError,
                             "No such dataset or table, or it already exists.");
    FeatureEngineeringError = new_class(module, "FeatureEngineeringError", mdm_py_MDMError,
                                        "Feature generation failed.");
    ExportError = new_class(module, "ExportError", mdm_py_MDMError, "Export failed.");
    if (!ConfigError || !StorageError || !DatasetError || !FeatureEngineeringError ||
        !ExportError)
        return -1;
    /* ValidationError is also a ValueError; BackendError a StorageError. */
    PyObject *bases = PyTuple_Pack(2, mdm_py_MDMError, PyExc_ValueError);
    if (!bases)
        return -1;
    ValidationError = new_class(module, "ValidationError", bases,
                                "A bad argument, value or input.");
    Py_DECREF(bases);
    BackendError = new_class(module, "BackendError", StorageError,
                             "The database engine reported an error or is unreachable.");
    return ValidationError && BackendError ? 0 : -1;
}

static PyObject *class_of(int code)
{
    switch (code) {
    case MDM_ENOTFOUND:
    case MDM_EEXISTS:
        return DatasetError;
    case MDM_EINVALID:
        return ValidationError;
    case MDM_ECONFIG:
        return ConfigError;
    case MDM_EBACKEND:
    case MDM_ECONNECT:
        return BackendError;
    case MDM_EIO:
    case MDM_ETIMEOUT:
    case MDM_EBUSY:
    case MDM_ENOTSUP:
    case MDM_ECLOSED:
    case MDM_ECONSTRAINT:
        return StorageError;
    default:
        return mdm_py_MDMError;
    }
}

PyObject *mdm_py_raise_msg(int code, const char *message)
{
    if (PyErr_Occurred())
        return NULL; /* a Python error (KeyboardInterrupt, MemoryError) wins */
    if (code == MDM_ENOMEM)
        return PyErr_NoMemory();
    if (!message || !*message)
        message = mdm_error_name(code);
    PyObject *exc = PyObject_CallFunction(class_of(code), "s", message);
    if (!exc)
        return NULL;
    PyObject *name = PyUnicode_FromString(mdm_error_name(code));
    if (!name || PyObject_SetAttrString(exc, "code", name) < 0) {
        Py_XDECREF(name);
        Py_DECREF(exc);
        return NULL;
    }
    Py_DECREF(name);
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return NULL;
}

PyObject *mdm_py_raise(int code)
{
    const mdm_error *err = mdm_error_last();
    return mdm_py_raise_msg(code, err->message[0] ? err->message : NULL);
}
