/*
 * A whole table read as N row ranges at once (as ConnectorX partitions a query): each
 * range is an ordinary mdm_dataset_read (offset + limit, insertion order) on its own
 * thread and its own pooled connection, filling its own column buffers; the buffers are
 * then joined in range order. The engines' row decoding, which dominates a read, then
 * uses every core; text still takes the GIL per batch to create its str objects.
 */
#include "ext.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct part {
    mdm_dataset *ds;
    mdm_table_read req;
    mdm_py_columns *cols;
    int rc;
    char message[1024];
    PyObject *exc_type, *exc_value, *exc_tb;
} part;

/* The sink of a range: a Python error raised on a worker thread is kept for the caller
 * (the worker's thread state goes away with its GIL hold). */
static int part_sink(const mdm_batch *batch, void *ctx)
{
    part *p = ctx;
    if (mdm_py_columns_append(p->cols, batch) == 0)
        return 0;
    PyGILState_STATE gil = PyGILState_Ensure();
    if (PyErr_Occurred() && !p->exc_type)
        PyErr_Fetch(&p->exc_type, &p->exc_value, &p->exc_tb);
    PyErr_Clear();
    PyGILState_Release(gil);
    return 1;
}

static void run_part(part *p)
{
    p->rc = mdm_dataset_read(p->ds, &p->req, part_sink, p);
    if (p->rc < 0)
        snprintf(p->message, sizeof p->message, "%s", mdm_error_last()->message);
}

static void *part_thread(void *arg)
{
    run_part(arg);
    return NULL;
}

PyObject *mdm_py_read_parallel(mdm_dataset *ds, const mdm_table_read *req,
                               const mdm_py_convert_opts *opts, int64_t rows, int nparts)
{
    part parts[MDM_PY_MAX_PARTS];
    pthread_t threads[MDM_PY_MAX_PARTS];
    bool started[MDM_PY_MAX_PARTS] = {false};
    if (nparts > MDM_PY_MAX_PARTS)
        nparts = MDM_PY_MAX_PARTS;
    memset(parts, 0, sizeof parts);
    int64_t per = rows / nparts;
    for (int i = 0; i < nparts; i++) {
        parts[i].ds = ds;
        parts[i].req = *req;
        parts[i].req.offset = per * i;
        /* The last range reads to the end, whatever the count said. */
        parts[i].req.limit = i == nparts - 1 ? -1 : per;
        parts[i].cols = mdm_py_columns_new(opts);
        if (!parts[i].cols) {
            for (int j = 0; j < i; j++)
                mdm_py_columns_free(parts[j].cols);
            return PyErr_NoMemory();
        }
        mdm_py_columns_expect(parts[i].cols, i == nparts - 1 ? rows - per * i : per);
    }
    Py_BEGIN_ALLOW_THREADS
    for (int i = 1; i < nparts; i++)
        started[i] = pthread_create(&threads[i], NULL, part_thread, &parts[i]) == 0;
    run_part(&parts[0]);
    for (int i = 1; i < nparts; i++) {
        if (started[i])
            pthread_join(threads[i], NULL);
        else
            run_part(&parts[i]); /* no thread: read this range here */
    }
    Py_END_ALLOW_THREADS

    PyObject *result = NULL;
    int failed = -1;
    for (int i = 0; i < nparts && failed < 0; i++)
        if (parts[i].exc_type || parts[i].rc != 0)
            failed = i;
    if (failed >= 0) {
        part *p = &parts[failed];
        if (p->exc_type) {
            PyErr_Restore(p->exc_type, p->exc_value, p->exc_tb);
            p->exc_type = p->exc_value = p->exc_tb = NULL;
        } else if (!PyErr_Occurred()) {
            mdm_py_raise_msg(p->rc < 0 ? p->rc : MDM_ERROR, p->message);
        }
    } else {
        mdm_py_columns *all[MDM_PY_MAX_PARTS];
        for (int i = 0; i < nparts; i++)
            all[i] = parts[i].cols;
        /* The first range's columns grow to hold them all (freed with the parts). */
        mdm_py_columns *joined = mdm_py_columns_join(all, (size_t)nparts);
        if (joined)
            result = mdm_py_columns_finish(joined);
    }
    for (int i = 0; i < nparts; i++) {
        Py_XDECREF(parts[i].exc_type);
        Py_XDECREF(parts[i].exc_value);
        Py_XDECREF(parts[i].exc_tb);
        mdm_py_columns_free(parts[i].cols);
    }
    return result;
}
