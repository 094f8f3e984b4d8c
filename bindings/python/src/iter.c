/*
 * Catalog.iter: a table streamed in chunks of `batch_size` rows, for tables larger than
 * memory. One producer thread runs the engine read (mdm_dataset_read pushes batches) and
 * fills one chunk at a time; it hands a full chunk over and waits until the consumer
 * took it, so at most two chunks exist at once. Dropping the iterator stops the read.
 */
#include "ext.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct batch_iter {
    PyObject_HEAD
    PyObject *catalog;        /* the Catalog whose handle `ds` came from: outlives it */
    mdm_dataset *ds;
    char *table;
    char **columns;
    size_t ncolumns;
    int64_t limit;
    size_t batch_size;
    mdm_py_convert_opts opts;
    PyObject *text_null;      /* kept alive for opts.text_null */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool started, joined;
    pid_t pid;                /* the producer lives in this process only */
    mdm_py_columns *filling;  /* the producer's chunk */
    mdm_py_columns *ready;    /* a chunk for the consumer */
    bool delivered;           /* a chunk (even empty) went out: the schema is known */
    bool stop, done;
    int rc;
    char message[1024];
    PyObject *exc_type, *exc_value, *exc_tb;
} batch_iter;

/* Producer side: waits until the slot is free, then hands `filling` over. */
static int hand_over(batch_iter *it)
{
    pthread_mutex_lock(&it->mu);
    while (it->ready && !it->stop)
        pthread_cond_wait(&it->cv, &it->mu);
    int stop = it->stop;
    if (!stop) {
        it->ready = it->filling;
        it->filling = NULL;
        it->delivered = true;
        pthread_cond_broadcast(&it->cv);
    }
    pthread_mutex_unlock(&it->mu);
    if (stop)
        return 1;
    it->filling = mdm_py_columns_new(&it->opts);
    return it->filling ? 0 : -1;
}

static void keep_python_error(batch_iter *it)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    if (PyErr_Occurred() && !it->exc_type)
        PyErr_Fetch(&it->exc_type, &it->exc_value, &it->exc_tb);
    PyErr_Clear();
    PyGILState_Release(gil);
}

static int iter_sink(const mdm_batch *batch, void *ctx)
{
    batch_iter *it = ctx;
    if (mdm_py_columns_append(it->filling, batch) < 0) {
        keep_python_error(it);
        return 1;
    }
    if (mdm_py_columns_rows(it->filling) >= it->batch_size) {
        int rc = hand_over(it);
        if (rc < 0) {
            PyGILState_STATE gil = PyGILState_Ensure();
            PyErr_NoMemory();
            PyGILState_Release(gil);
            keep_python_error(it);
        }
        return rc ? 1 : 0;
    }
    return 0;
}

static void *produce(void *arg)
{
    batch_iter *it = arg;
    mdm_table_read req = {.table = it->table, .columns = (const char *const *)it->columns,
                          .ncolumns = it->ncolumns, .limit = it->limit,
                          .batch_rows = it->batch_size < 65536 ? it->batch_size : 65536};
    int rc = mdm_dataset_read(it->ds, &req, iter_sink, it);
    if (rc < 0)
        snprintf(it->message, sizeof it->message, "%s", mdm_error_last()->message);
    /* The last partial chunk, or an empty one when nothing went out (the schema). */
    if (rc == 0 && it->filling &&
        (mdm_py_columns_rows(it->filling) > 0 || !it->delivered))
        rc = hand_over(it) < 0 ? MDM_ENOMEM : 0;
    pthread_mutex_lock(&it->mu);
    it->rc = rc;
    it->done = true;
    pthread_cond_broadcast(&it->cv);
    pthread_mutex_unlock(&it->mu);
    return NULL;
}

/* Stops and joins the producer. With the GIL released (it may need the GIL). */
static void stop_producer(batch_iter *it)
{
    if (!it->started || it->joined)
        return;
    if (it->pid != getpid()) {
        /* A fork child: the producer thread stayed in the parent. */
        it->joined = true;
        return;
    }
    pthread_mutex_lock(&it->mu);
    it->stop = true;
    pthread_cond_broadcast(&it->cv);
    pthread_mutex_unlock(&it->mu);
    Py_BEGIN_ALLOW_THREADS
    pthread_join(it->thread, NULL);
    Py_END_ALLOW_THREADS
    it->joined = true;
}

static PyObject *iter_next(batch_iter *it)
{
    if (!it->started)
        return NULL;
    if (it->pid != getpid()) {
        PyErr_SetString(mdm_py_MDMError, "this iterator belongs to the parent process");
        return NULL;
    }
    mdm_py_columns *chunk = NULL;
    bool done = false;
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        pthread_mutex_lock(&it->mu);
        if (!it->ready && !it->done) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 100000000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&it->cv, &it->mu, &until);
        }
        if (it->ready) {
            chunk = it->ready;
            it->ready = NULL;
            pthread_cond_broadcast(&it->cv);
        } else if (it->done) {
            done = true;
        }
        pthread_mutex_unlock(&it->mu);
        Py_END_ALLOW_THREADS
        if (chunk || done)
            break;
        if (PyErr_CheckSignals() < 0)
            return NULL;
    }
    if (chunk) {
        PyObject *cols = mdm_py_columns_finish(chunk);
        mdm_py_columns_free(chunk);
        return cols;
    }
    stop_producer(it);
    if (it->exc_type) {
        PyErr_Restore(it->exc_type, it->exc_value, it->exc_tb);
        it->exc_type = it->exc_value = it->exc_tb = NULL;
        return NULL;
    }
    if (it->rc < 0) {
        int rc = it->rc;
        it->rc = 0;
        return mdm_py_raise_msg(rc, it->message);
    }
    return NULL; /* StopIteration */
}

static void iter_dealloc(batch_iter *it)
{
    stop_producer(it);
    mdm_py_columns_free(it->ready);
    mdm_py_columns_free(it->filling);
    if (it->ds) {
        Py_BEGIN_ALLOW_THREADS
        mdm_dataset_close(it->ds);
        Py_END_ALLOW_THREADS
    }
    Py_XDECREF(it->catalog);
    free(it->table);
    for (size_t i = 0; i < it->ncolumns; i++)
        free(it->columns[i]);
    free(it->columns);
    Py_XDECREF(it->text_null);
    Py_XDECREF(it->exc_type);
    Py_XDECREF(it->exc_value);
    Py_XDECREF(it->exc_tb);
    pthread_mutex_destroy(&it->mu);
    pthread_cond_destroy(&it->cv);
    Py_TYPE(it)->tp_free((PyObject *)it);
}

PyTypeObject mdm_py_BatchIterType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mdm._mdm.BatchIter",
    .tp_basicsize = sizeof(batch_iter),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Chunks of a table as column lists (see Catalog.iter).",
    .tp_dealloc = (destructor)iter_dealloc,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)iter_next,
};

PyObject *mdm_py_catalog_iter(mdm_py_catalog *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", "table", "batch_size", "columns", "limit", "nullable",
                             "categorical", "cat_ratio", "text_null", NULL};
    const char *name, *table;
    Py_ssize_t batch_size;
    PyObject *columns = NULL, *text_null = Py_None;
    long long limit = -1;
    int nullable = 0, categorical = 0;
    double cat_ratio = 0.5;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "ssn|OLppdO", kwlist, &name, &table,
                                     &batch_size, &columns, &limit, &nullable, &categorical,
                                     &cat_ratio, &text_null))
        return NULL;
    if (batch_size <= 0) {
        PyErr_SetString(PyExc_ValueError, "batch_size must be > 0");
        return NULL;
    }
    batch_iter *it = PyObject_New(batch_iter, &mdm_py_BatchIterType);
    if (!it)
        return NULL;
    memset((char *)it + sizeof(PyObject), 0, sizeof *it - sizeof(PyObject));
    pthread_mutex_init(&it->mu, NULL);
    pthread_cond_init(&it->cv, NULL);
    it->batch_size = (size_t)batch_size;
    it->limit = limit;
    it->text_null = text_null == Py_None ? NULL : text_null;
    Py_XINCREF(it->text_null);
    it->opts = (mdm_py_convert_opts){.nullable = nullable, .categorical = categorical,
                                     .cat_ratio = cat_ratio, .text_null = it->text_null};
    const char **names = NULL;
    size_t n = 0;
    PyObject *keep = NULL;
    if (mdm_py_parse_columns(columns, &names, &n, &keep) < 0)
        goto fail;
    if (n) {
        it->columns = calloc(n, sizeof *it->columns);
        if (!it->columns)
            goto nomem;
        for (size_t i = 0; i < n; i++) {
            it->columns[i] = strdup(names[i]);
            if (!it->columns[i])
                goto nomem;
            it->ncolumns = i + 1;
        }
    }
    free(names);
    names = NULL;
    Py_CLEAR(keep);
    it->table = strdup(table);
    it->filling = mdm_py_columns_new(&it->opts);
    if (!it->table || !it->filling)
        goto nomem;
    it->ds = mdm_py_dataset_open(self, name);
    if (!it->ds)
        goto fail;
    it->catalog = (PyObject *)self;
    Py_INCREF(it->catalog);
    /* The table must exist now, not at the first next(). */
    const char *real;
    int rc = mdm_dataset_table_name(&real, it->ds, table);
    if (rc < 0) {
        mdm_py_raise(rc);
        goto fail;
    }
    it->pid = getpid();
    if (pthread_create(&it->thread, NULL, produce, it) != 0) {
        PyErr_SetString(mdm_py_MDMError, "could not start the reading thread");
        goto fail;
    }
    it->started = true;
    return (PyObject *)it;
nomem:
    PyErr_NoMemory();
fail:
    free(names);
    Py_XDECREF(keep);
    Py_DECREF(it);
    return NULL;
}
