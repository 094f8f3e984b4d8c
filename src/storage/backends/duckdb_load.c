/* The DuckDB bulk load: batches become Arrow arrays in a queue that DuckDB reads as a
 * stream, through `INSERT INTO table SELECT * FROM <the stream's view>` running on a
 * thread of the load's own.
 *
 * Why not the appender: an appender writes on the caller's thread, and DuckDB then
 * analyses and compresses each full row group there, on one core (about 1 s of the
 * 3M-row flights file, most of a registration). An INSERT from an Arrow scan is a
 * parallel pipeline: DuckDB's threads take arrays from the stream in turn, and the
 * insert compresses row groups on all of them, keeping the stream's order (each array
 * gets a batch index, and the insert writes row groups in that order).
 *
 * The load runs inside the caller's transaction, on its connection: the INSERT thread
 * is the only user of the connection until load_end joins it (mdm_conn_load's
 * contract). An error inside DuckDB ends the INSERT; the next load_batch or load_end
 * reports it. Abandoning a load (rollback, reset, close) makes the stream fail, so the
 * INSERT ends with an error and its rows go with the transaction.
 *
 * Arrow C data interface (https://arrow.apache.org/docs/format/CDataInterface.html):
 * the structs below are the specification's, which DuckDB only declares. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "storage/backends/duckdb_internal.h"

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

struct ArrowArrayStream {
    int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
    int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
    const char *(*get_last_error)(struct ArrowArrayStream *);
    void (*release)(struct ArrowArrayStream *);
    void *private_data;
};

#define ARROW_FLAG_NULLABLE 2
#define QUEUE_ARRAYS 8 /* batches converted ahead of DuckDB */

struct duckdb_load {
    mdm_backend_conn *conn;
    char *table;
    mdm_field *fields; /* the first batch's columns (names owned): the stream's schema */
    size_t ncols;
    char view[64];
    struct ArrowArrayStream stream;

    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct ArrowArray queue[QUEUE_ARRAYS]; /* a ring of arrays DuckDB has not taken */
    size_t head, count;
    bool ended;     /* no more arrays will come */
    bool abandoned; /* the stream fails its next read */
    bool finished;  /* the INSERT thread is done; rc and message are its outcome */
    int rc;
    char message[1024];
};

/* ------------------------------------------------------------------ arrays */

/* A column: its buffers (validity, values, text bytes) freed by its release. */
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

/* Arrow's validity bitmap (bit set: a value) of a column with NULLs; NULL without. */
static int validity_of(uint8_t **out, int64_t *null_count, const uint8_t *nulls, size_t n)
{
    *out = NULL;
    *null_count = 0;
    for (size_t i = 0; i < n; i++)
        *null_count += nulls[i];
    if (*null_count == 0)
        return 0;
    uint8_t *bits = calloc((n + 7) / 8, 1);
    if (!bits)
        return MDM_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!nulls[i])
            bits[i / 8] |= (uint8_t)(1u << (i % 8));
    *out = bits;
    return 0;
}

static int fill_column(struct ArrowArray *a, const mdm_batch *batch, size_t col)
{
    size_t n = mdm_batch_nrows(batch);
    column_buffers *b = calloc(1, sizeof *b);
    if (!b)
        return MDM_ENOMEM;
    *a = (struct ArrowArray){.length = (int64_t)n, .n_buffers = 2, .buffers = b->buffers,
                             .release = release_column, .private_data = b};
    const uint8_t *nulls = mdm_batch_nulls(batch, col);
    uint8_t *validity = NULL;
    if (validity_of(&validity, &a->null_count, nulls, n))
        return MDM_ENOMEM;
    b->owned[0] = validity;
    b->buffers[0] = validity;
    mdm_type type = mdm_batch_field(batch, col)->type;
    const void *data = mdm_batch_data(batch, col);
    size_t width = type == MDM_TYPE_DATE ? 4 : 8;
    switch (type) {
    case MDM_TYPE_INT64:
    case MDM_TYPE_FLOAT64:
    case MDM_TYPE_DATE:
    case MDM_TYPE_TIMESTAMP:
        /* mdm's layouts are Arrow's: int64, double, days and microseconds since 1970 */
        if (!(b->owned[1] = malloc(n * width + 1)))
            return MDM_ENOMEM;
        memcpy(b->owned[1], data, n * width);
        break;
    case MDM_TYPE_BOOL: {
        uint8_t *bits = calloc((n + 7) / 8 + 1, 1);
        if (!(b->owned[1] = bits))
            return MDM_ENOMEM;
        for (size_t i = 0; i < n; i++)
            if (((const uint8_t *)data)[i])
                bits[i / 8] |= (uint8_t)(1u << (i % 8));
        break;
    }
    case MDM_TYPE_TEXT: {
        int64_t *offsets = malloc((n + 1) * sizeof *offsets);
        if (!(b->owned[1] = offsets))
            return MDM_ENOMEM;
        size_t total = 0, len;
        for (size_t i = 0; i < n; i++)
            if (!nulls[i]) {
                mdm_batch_text(batch, col, i, &len);
                total += len;
            }
        char *chars = malloc(total + 1);
        if (!(b->owned[2] = chars))
            return MDM_ENOMEM;
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
            offsets[i] = (int64_t)at;
            if (nulls[i])
                continue;
            const char *s = mdm_batch_text(batch, col, i, &len);
            memcpy(chars + at, s, len);
            at += len;
        }
        offsets[n] = (int64_t)at;
        a->n_buffers = 3;
        b->buffers[2] = chars;
        break;
    }
    }
    b->buffers[1] = b->owned[1];
    return 0;
}

/* The batch as an Arrow record batch that owns copies of its values. */
static int batch_to_arrow(struct ArrowArray *out, const mdm_batch *batch)
{
    size_t ncols = mdm_batch_ncols(batch);
    batch_buffers *b = calloc(1, sizeof *b);
    if (!b)
        return mdm_error_set(MDM_ENOMEM, "out of memory converting a batch for DuckDB");
    *out = (struct ArrowArray){.length = (int64_t)mdm_batch_nrows(batch), .n_buffers = 1,
                               .buffers = b->validity, .n_children = (int64_t)ncols,
                               .release = release_batch, .private_data = b};
    b->children = calloc(ncols ? ncols : 1, sizeof *b->children);
    b->child_ptrs = calloc(ncols ? ncols : 1, sizeof *b->child_ptrs);
    int rc = b->children && b->child_ptrs ? 0 : MDM_ENOMEM;
    if (!rc) {
        b->ncols = ncols;
        out->children = b->child_ptrs;
    }
    for (size_t c = 0; !rc && c < ncols; c++) {
        b->child_ptrs[c] = &b->children[c];
        rc = fill_column(&b->children[c], batch, c);
    }
    if (rc) {
        release_batch(out);
        return mdm_error_set(MDM_ENOMEM, "out of memory converting a batch for DuckDB");
    }
    return 0;
}

/* ------------------------------------------------------------------ the stream */

static const char *arrow_format(mdm_type type)
{
    switch (type) {
    case MDM_TYPE_INT64: return "l";
    case MDM_TYPE_FLOAT64: return "g";
    case MDM_TYPE_BOOL: return "b";
    case MDM_TYPE_DATE: return "tdD";
    case MDM_TYPE_TIMESTAMP: return "tsu:";
    case MDM_TYPE_TEXT: return "U"; /* 64-bit offsets: no limit on a batch's text */
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

static int stream_schema(struct ArrowArrayStream *stream, struct ArrowSchema *out)
{
    duckdb_load *l = stream->private_data;
    *out = (struct ArrowSchema){.format = "+s", .name = "", .n_children = (int64_t)l->ncols,
                                .release = release_schema};
    out->children = calloc(l->ncols ? l->ncols : 1, sizeof *out->children);
    if (!out->children)
        return 12; /* ENOMEM */
    for (size_t c = 0; c < l->ncols; c++) {
        struct ArrowSchema *child = calloc(1, sizeof *child);
        if (!child) {
            out->n_children = (int64_t)c;
            release_schema(out);
            return 12;
        }
        *child = (struct ArrowSchema){.format = arrow_format(l->fields[c].type),
                                      .name = l->fields[c].name, .flags = ARROW_FLAG_NULLABLE,
                                      .release = release_child_schema};
        out->children[c] = child;
    }
    return 0;
}

/* Called by DuckDB's threads, one at a time: the next array, waiting for the loader. */
static int stream_next(struct ArrowArrayStream *stream, struct ArrowArray *out)
{
    duckdb_load *l = stream->private_data;
    pthread_mutex_lock(&l->lock);
    while (l->count == 0 && !l->ended && !l->abandoned)
        pthread_cond_wait(&l->changed, &l->lock);
    int rc = 0;
    if (l->abandoned) {
        rc = 5; /* EIO: the INSERT fails */
    } else if (l->count > 0) {
        *out = l->queue[l->head];
        l->head = (l->head + 1) % QUEUE_ARRAYS;
        l->count--;
        pthread_cond_broadcast(&l->changed);
    } else {
        memset(out, 0, sizeof *out); /* released: the end of the stream */
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

static const char *stream_error(struct ArrowArrayStream *stream)
{
    (void)stream;
    return "mdm abandoned the load";
}

static void stream_release(struct ArrowArrayStream *stream) { stream->release = NULL; }

/* ------------------------------------------------------------------ the INSERT thread */

static void *insert_main(void *arg)
{
    duckdb_load *l = arg;
    mdm_backend_conn *conn = l->conn;
    char message[1024] = "";
    int rc = 0;
    if (duckdb_arrow_scan(conn->con, l->view, (duckdb_arrow_stream)&l->stream) != DuckDBSuccess) {
        rc = MDM_EBACKEND;
        snprintf(message, sizeof message, "cannot load table '%s' in %s: DuckDB refused the "
                 "batch stream", l->table, conn->path);
    } else {
        strbuf sql = STRBUF_INIT;
        strbuf_append(&sql, "INSERT INTO ");
        strbuf_append_ident(&sql, l->table);
        strbuf_appendf(&sql, " SELECT * FROM \"%s\"", l->view);
        duckdb_result res;
        if (!strbuf_cstr(&sql)) {
            rc = MDM_ENOMEM;
            snprintf(message, sizeof message, "out of memory");
        } else if (duckdb_query(conn->con, sql.data, &res) != DuckDBSuccess) {
            const char *err = duckdb_result_error(&res);
            rc = mdm_duckdb_classify(err, MDM_EBACKEND);
            snprintf(message, sizeof message, "cannot load table '%s' in %s: %s", l->table,
                     conn->path, err ? err : "unknown error");
            for (char *p = message; *p; p++)
                if (*p == '\n')
                    *p = ' ';
            duckdb_destroy_result(&res);
        } else {
            duckdb_destroy_result(&res);
        }
        strbuf_free(&sql);
        char drop[96];
        snprintf(drop, sizeof drop, "DROP VIEW IF EXISTS \"%s\"", l->view);
        duckdb_query(conn->con, drop, &res); /* the view is temporary anyway */
        duckdb_destroy_result(&res);
    }
    pthread_mutex_lock(&l->lock);
    l->finished = true;
    l->rc = rc;
    snprintf(l->message, sizeof l->message, "%s", message);
    pthread_cond_broadcast(&l->changed);
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

/* The INSERT's outcome as this thread's error. */
static int insert_outcome(duckdb_load *l)
{
    return l->rc ? mdm_error_set(l->rc, "%s", l->message) : 0;
}

static int start_insert(duckdb_load *l, const mdm_batch *batch)
{
    l->ncols = mdm_batch_ncols(batch);
    if (!(l->fields = calloc(l->ncols ? l->ncols : 1, sizeof *l->fields)))
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    for (size_t c = 0; c < l->ncols; c++) {
        const mdm_field *f = mdm_batch_field(batch, c);
        l->fields[c].type = f->type;
        if (!(l->fields[c].name = strdup(f->name)))
            return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    l->stream = (struct ArrowArrayStream){.get_schema = stream_schema, .get_next = stream_next,
                                          .get_last_error = stream_error,
                                          .release = stream_release, .private_data = l};
    snprintf(l->view, sizeof l->view, "mdm_load_%p", (void *)l);
    if (pthread_create(&l->thread, NULL, insert_main, l) != 0)
        return mdm_error_set(MDM_ERROR, "cannot start the load of table '%s'", l->table);
    l->started = true;
    return 0;
}

/* ------------------------------------------------------------------ the load calls */

void mdm_duckdb_load_free(mdm_backend_conn *conn)
{
    duckdb_load *l = conn->load;
    if (!l)
        return;
    if (l->started) {
        pthread_mutex_lock(&l->lock);
        if (!l->ended)
            l->abandoned = true;
        pthread_cond_broadcast(&l->changed);
        pthread_mutex_unlock(&l->lock);
        pthread_join(l->thread, NULL);
    }
    for (size_t i = 0; i < l->count; i++) {
        struct ArrowArray *a = &l->queue[(l->head + i) % QUEUE_ARRAYS];
        if (a->release)
            a->release(a);
    }
    for (size_t c = 0; l->fields && c < l->ncols; c++)
        free((char *)l->fields[c].name);
    free(l->fields);
    free(l->table);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->changed);
    free(l);
    conn->load = NULL;
}

int mdm_duckdb_load_begin(mdm_backend_conn *conn, const char *table)
{
    mdm_duckdb_load_free(conn);
    duckdb_load *l = calloc(1, sizeof *l);
    if (!l || !(l->table = strdup(table))) {
        free(l);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    l->conn = conn;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->changed, NULL);
    conn->load = l;
    return 0;
}

int mdm_duckdb_load_batch(mdm_backend_conn *conn, const mdm_batch *batch)
{
    duckdb_load *l = conn->load;
    if (!l)
        return mdm_error_set(MDM_EINVALID, "no bulk load is open on this connection");
    int rc = mdm_duckdb_check_batch(conn, l->table, batch, !l->started);
    if (!rc && l->started) {
        if (mdm_batch_ncols(batch) != l->ncols)
            rc = mdm_error_set(MDM_EINVALID, "cannot load table '%s': the batch has %zu columns, "
                               "the load's first batch %zu", l->table, mdm_batch_ncols(batch),
                               l->ncols);
        for (size_t c = 0; !rc && c < l->ncols; c++)
            if (mdm_batch_field(batch, c)->type != l->fields[c].type)
                rc = mdm_error_set(MDM_EINVALID, "cannot load table '%s': batch column %zu is "
                                   "%s, in the load's first batch %s", l->table, c + 1,
                                   mdm_type_name(mdm_batch_field(batch, c)->type),
                                   mdm_type_name(l->fields[c].type));
    }
    struct ArrowArray array;
    if (rc || (rc = batch_to_arrow(&array, batch)))
        return rc;
    if (!l->started && (rc = start_insert(l, batch))) {
        array.release(&array);
        return rc;
    }
    pthread_mutex_lock(&l->lock);
    while (l->count == QUEUE_ARRAYS && !l->finished)
        pthread_cond_wait(&l->changed, &l->lock);
    if (l->finished) {
        /* The INSERT ended before the stream did: it failed. */
        pthread_mutex_unlock(&l->lock);
        array.release(&array);
        return l->rc ? insert_outcome(l)
                     : mdm_error_set(MDM_EBACKEND, "cannot load table '%s': DuckDB stopped "
                                     "reading early", l->table);
    }
    l->queue[(l->head + l->count) % QUEUE_ARRAYS] = array;
    l->count++;
    pthread_cond_broadcast(&l->changed);
    pthread_mutex_unlock(&l->lock);
    return 0;
}

int mdm_duckdb_load_end(mdm_backend_conn *conn)
{
    duckdb_load *l = conn->load;
    if (!l)
        return mdm_error_set(MDM_EINVALID, "no bulk load is open on this connection");
    int rc = 0;
    if (l->started) {
        pthread_mutex_lock(&l->lock);
        l->ended = true;
        pthread_cond_broadcast(&l->changed);
        while (!l->finished)
            pthread_cond_wait(&l->changed, &l->lock);
        pthread_mutex_unlock(&l->lock);
        rc = insert_outcome(l);
    }
    mdm_duckdb_load_free(conn);
    return rc;
}
