/*
 * Catalog.register: every option of `mdm dataset register`, with progress reported to a
 * Python callable and Ctrl-C (or an exception in that callable) cancelling cleanly.
 */
#include "ext.h"

typedef struct progress_ctx {
    PyObject *callback; /* may be NULL */
    mdm_cancel *cancel;
    PyObject *exc_type, *exc_value, *exc_tb; /* the first Python error, kept for the caller */
} progress_ctx;

static void on_progress(const mdm_register_progress *p, void *ctx_)
{
    progress_ctx *ctx = ctx_;
    PyGILState_STATE gil = PyGILState_Ensure();
    if (ctx->exc_type)
        goto out; /* already cancelling */
    if (ctx->callback) {
        PyObject *r = PyObject_CallFunction(
            ctx->callback, "snnKKKdO", p->table ? p->table : "", (Py_ssize_t)p->table_index,
            (Py_ssize_t)p->ntables, (unsigned long long)p->rows,
            (unsigned long long)p->bytes_done, (unsigned long long)p->bytes_total,
            p->elapsed_s, p->finished ? Py_True : Py_False);
        Py_XDECREF(r);
    }
    if (!PyErr_Occurred())
        PyErr_CheckSignals();
    if (PyErr_Occurred()) {
        PyErr_Fetch(&ctx->exc_type, &ctx->exc_value, &ctx->exc_tb);
        mdm_cancel_request(ctx->cancel);
    }
out:
    PyGILState_Release(gil);
}

PyObject *mdm_py_catalog_register(mdm_py_catalog *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {
        "name", "path", "backend", "target", "id_columns", "problem_type", "description",
        "tags", "time_column", "group_column", "categorical_columns", "datetime_columns",
        "numeric_columns", "text_columns", "stratify_column", "ignore_columns", "source",
        "train", "test", "validation", "submission", "dry_run", "skip_analysis", "force",
        "no_features", "progress", NULL};
    mdm_register_options o = {0};
    int dry_run = 0, skip_analysis = 0, force = 0, no_features = 0;
    PyObject *progress = Py_None;
    if (!PyArg_ParseTupleAndKeywords(
            args, kw, "s|zzzzzzzzzzzzzzzzzzzzppppO", kwlist, &o.name, &o.path, &o.backend,
            &o.target, &o.id_columns, &o.problem_type, &o.description, &o.tags,
            &o.time_column, &o.group_column, &o.categorical_columns, &o.datetime_columns,
            &o.numeric_columns, &o.text_columns, &o.stratify_column, &o.ignore_columns,
            &o.source, &o.train, &o.test, &o.validation, &o.submission, &dry_run,
            &skip_analysis, &force, &no_features, &progress))
        return NULL;
    if (!self->cat) {
        PyErr_SetString(mdm_py_MDMError, "the catalog is not open");
        return NULL;
    }
    if (progress != Py_None && !PyCallable_Check(progress)) {
        PyErr_SetString(PyExc_TypeError, "progress must be callable");
        return NULL;
    }
    o.dry_run = dry_run;
    o.skip_analysis = skip_analysis;
    o.force = force;
    o.no_features = no_features;
    progress_ctx ctx = {.callback = progress == Py_None ? NULL : progress};
    int rc = mdm_cancel_new(&ctx.cancel);
    if (rc < 0)
        return mdm_py_raise(rc);
    o.cancel = ctx.cancel;
    o.progress = on_progress;
    o.progress_ctx = &ctx;

    mdm_dataset_info *info = NULL;
    mdm_strlist notes = {0};
    Py_BEGIN_ALLOW_THREADS
    rc = mdm_dataset_register(&info, &notes, self->cat, &o);
    Py_END_ALLOW_THREADS
    mdm_cancel_free(ctx.cancel);

    PyObject *result = NULL;
    if (ctx.exc_type) {
        PyErr_Restore(ctx.exc_type, ctx.exc_value, ctx.exc_tb);
    } else if (rc < 0) {
        mdm_py_raise(rc);
    } else {
        PyObject *json = mdm_py_info_json(info);
        PyObject *list = PyList_New((Py_ssize_t)notes.count);
        for (size_t i = 0; list && i < notes.count; i++) {
            PyObject *s = PyUnicode_FromString(notes.items[i]);
            if (!s) {
                Py_CLEAR(list);
                break;
            }
            PyList_SET_ITEM(list, (Py_ssize_t)i, s);
        }
        if (json && list)
            result = Py_BuildValue("(NN)", json, list);
        else {
            Py_XDECREF(json);
            Py_XDECREF(list);
        }
    }
    mdm_dataset_info_free(info);
    mdm_strlist_free(&notes);
    return result;
}
