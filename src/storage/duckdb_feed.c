/* Feeding batches to a DuckDB statement as an Arrow stream (duckdb_feed.h).
 *
 * Arrow C data interface (https://arrow.apache.org/docs/format/CDataInterface.html):
 * the structs below are the specification's, which DuckDB only declares. A batch
 * becomes a struct array owning copies of its values; DuckDB's threads take the arrays
 * one at a time from a bounded queue through the stream's get_next, and the statement
 * runs on a thread of the feed's own. */
#include "storage/duckdb_feed.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"

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

struct mdm_duckdb_feed {
    duckdb_connection con;
    char *sql;         /* the statement, the view's name in place of {batches} */
    char *what;        /* names the work in messages */
    mdm_field *fields; /* the stream's schema (names owned) */
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
    bool finished;  /* the statement is done; rc and message are its outcome */
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
    mdm_duckdb_feed *f = stream->private_data;
    *out = (struct ArrowSchema){.format = "+s", .name = "", .n_children = (int64_t)f->ncols,
                                .release = release_schema};
    out->children = calloc(f->ncols ? f->ncols : 1, sizeof *out->children);
    if (!out->children)
        return 12; /* ENOMEM */
    for (size_t c = 0; c < f->ncols; c++) {
        struct ArrowSchema *child = calloc(1, sizeof *child);
        if (!child) {
            out->n_children = (int64_t)c;
            release_schema(out);
            return 12;
        }
        *child = (struct ArrowSchema){.format = arrow_format(f->fields[c].type),
                                      .name = f->fields[c].name, .flags = ARROW_FLAG_NULLABLE,
                                      .release = release_child_schema};
        out->children[c] = child;
    }
    return 0;
}

/* Called by DuckDB's threads, one at a time: the next array, waiting for the pusher. */
static int stream_next(struct ArrowArrayStream *stream, struct ArrowArray *out)
{
    mdm_duckdb_feed *f = stream->private_data;
    pthread_mutex_lock(&f->lock);
    while (f->count == 0 && !f->ended && !f->abandoned)
        pthread_cond_wait(&f->changed, &f->lock);
    int rc = 0;
    if (f->abandoned) {
        rc = 5; /* EIO: the statement fails */
    } else if (f->count > 0) {
        *out = f->queue[f->head];
        f->head = (f->head + 1) % QUEUE_ARRAYS;
        f->count--;
        pthread_cond_broadcast(&f->changed);
    } else {
        memset(out, 0, sizeof *out); /* released: the end of the stream */
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

static const char *stream_error(struct ArrowArrayStream *stream)
{
    (void)stream;
    return "mdm abandoned the batch stream";
}

static void stream_release(struct ArrowArrayStream *stream) { stream->release = NULL; }

/* ------------------------------------------------------------------ the statement */

static void *statement_main(void *arg)
{
    mdm_duckdb_feed *f = arg;
    char message[1024] = "";
    int rc = 0;
    duckdb_result res;
    if (duckdb_arrow_scan(f->con, f->view, (duckdb_arrow_stream)&f->stream) != DuckDBSuccess) {
        rc = MDM_EBACKEND;
        snprintf(message, sizeof message, "%s: DuckDB refused the batch stream", f->what);
    } else {
        if (duckdb_query(f->con, f->sql, &res) != DuckDBSuccess) {
            const char *err = duckdb_result_error(&res);
            rc = MDM_EBACKEND;
            if (err && (strstr(err, "Out of Memory") || strstr(err, "out of memory")))
                rc = MDM_ENOMEM;
            snprintf(message, sizeof message, "%s: %s", f->what, err ? err : "unknown error");
            for (char *p = message; *p; p++)
                if (*p == '\n')
                    *p = ' ';
        }
        duckdb_destroy_result(&res);
        char drop[96];
        snprintf(drop, sizeof drop, "DROP VIEW IF EXISTS \"%s\"", f->view);
        duckdb_query(f->con, drop, &res); /* the view is temporary anyway */
        duckdb_destroy_result(&res);
    }
    pthread_mutex_lock(&f->lock);
    f->finished = true;
    f->rc = rc;
    snprintf(f->message, sizeof f->message, "%s", message);
    pthread_cond_broadcast(&f->changed);
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

/* The statement's outcome as this thread's error. */
static int outcome(mdm_duckdb_feed *f)
{
    return f->rc ? mdm_error_set(f->rc, "%s", f->message) : 0;
}

static void feed_free(mdm_duckdb_feed *f)
{
    for (size_t i = 0; i < f->count; i++) {
        struct ArrowArray *a = &f->queue[(f->head + i) % QUEUE_ARRAYS];
        if (a->release)
            a->release(a);
    }
    for (size_t c = 0; f->fields && c < f->ncols; c++)
        free((char *)f->fields[c].name);
    free(f->fields);
    free(f->sql);
    free(f->what);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->changed);
    free(f);
}

int mdm_duckdb_feed_start(mdm_duckdb_feed **out, duckdb_connection con, const mdm_field *fields,
                          size_t nfields, const char *sql, const char *what)
{
    *out = NULL;
    mdm_duckdb_feed *f = calloc(1, sizeof *f);
    if (!f)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->changed, NULL);
    f->con = con;
    f->ncols = nfields;
    snprintf(f->view, sizeof f->view, "mdm_batches_%p", (void *)f);
    int rc = 0;
    f->fields = calloc(nfields ? nfields : 1, sizeof *f->fields);
    f->what = strdup(what ? what : "DuckDB");
    if (!f->fields || !f->what)
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    for (size_t c = 0; !rc && c < nfields; c++) {
        f->fields[c].type = fields[c].type;
        if (!(f->fields[c].name = strdup(fields[c].name)))
            rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    /* The statement with the view's quoted name in place of {batches}. */
    const char *at = strstr(sql, "{batches}");
    if (!rc && !at)
        rc = mdm_error_set(MDM_EINVALID, "a feed statement must read {batches}");
    if (!rc) {
        strbuf sb = STRBUF_INIT;
        strbuf_append_len(&sb, sql, (size_t)(at - sql));
        strbuf_appendf(&sb, "\"%s\"", f->view);
        strbuf_append(&sb, at + strlen("{batches}"));
        if (!(f->sql = strbuf_detach(&sb)))
            rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    f->stream = (struct ArrowArrayStream){.get_schema = stream_schema, .get_next = stream_next,
                                          .get_last_error = stream_error,
                                          .release = stream_release, .private_data = f};
    if (!rc && pthread_create(&f->thread, NULL, statement_main, f) != 0)
        rc = mdm_error_set(MDM_ERROR, "%s: cannot start a thread", f->what);
    if (rc) {
        feed_free(f);
        return rc;
    }
    f->started = true;
    *out = f;
    return 0;
}

int mdm_duckdb_feed_push(mdm_duckdb_feed *f, const mdm_batch *batch)
{
    if (mdm_batch_nrows(batch) == 0)
        return 0;
    struct ArrowArray array;
    int rc = batch_to_arrow(&array, batch);
    if (rc)
        return rc;
    pthread_mutex_lock(&f->lock);
    while (f->count == QUEUE_ARRAYS && !f->finished)
        pthread_cond_wait(&f->changed, &f->lock);
    if (f->finished) {
        /* The statement ended before the stream did: it failed. */
        pthread_mutex_unlock(&f->lock);
        array.release(&array);
        return f->rc ? outcome(f)
                     : mdm_error_set(MDM_EBACKEND, "%s: DuckDB stopped reading early", f->what);
    }
    f->queue[(f->head + f->count) % QUEUE_ARRAYS] = array;
    f->count++;
    pthread_cond_broadcast(&f->changed);
    pthread_mutex_unlock(&f->lock);
    return 0;
}

/* Ends the stream (or fails it) and waits for the statement. */
static void stop(mdm_duckdb_feed *f, bool abandon)
{
    pthread_mutex_lock(&f->lock);
    if (abandon)
        f->abandoned = true;
    else
        f->ended = true;
    pthread_cond_broadcast(&f->changed);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
}

int mdm_duckdb_feed_finish(mdm_duckdb_feed *f)
{
    stop(f, false);
    int rc = outcome(f);
    feed_free(f);
    return rc;
}

void mdm_duckdb_feed_abandon(mdm_duckdb_feed *f)
{
    if (!f)
        return;
    stop(f, true);
    feed_free(f);
}
