/* Feeding batches to a DuckDB statement as an Arrow stream (duckdb_feed.h).
 *
 * The batches' rows are gathered into Arrow record batches of DuckDB's row group size
 * (arrow_build.h): DuckDB's INSERT and COPY keep order by batch index, and batches
 * smaller than a row group are merged and compressed again afterwards (registering the
 * 3M-row flights file: 0.80 s with full row groups, 1.0 s with 10,000-row arrays).
 * DuckDB's threads take the arrays one at a time from a bounded queue through the
 * stream's get_next; the statement runs on a thread of the feed's own. */
#include "storage/duckdb_feed.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "storage/arrow_build.h"

#define QUEUE_ARRAYS 4            /* arrays built ahead of DuckDB */
#define ROWS_PER_ARRAY 122880     /* DuckDB's row group size */
#define BYTES_PER_ARRAY (32 << 20) /* fewer rows when they are wide */

struct mdm_duckdb_feed {
    duckdb_connection con;
    char *sql;         /* the statement, the view's name in place of {batches} */
    char *what;        /* names the work in messages */
    mdm_field *fields; /* the stream's schema (names owned) */
    size_t ncols;
    arrow_builder *builder;
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

/* ------------------------------------------------------------------ the stream */

static int stream_schema(struct ArrowArrayStream *stream, struct ArrowSchema *out)
{
    mdm_duckdb_feed *f = stream->private_data;
    return arrow_schema_of(out, f->fields, f->ncols) ? 12 /* ENOMEM */ : 0;
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
    arrow_builder_free(f->builder);
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
    if (!rc)
        rc = arrow_builder_new(&f->builder, fields, nfields, ROWS_PER_ARRAY, BYTES_PER_ARRAY);
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

/* The array under way into the queue, waiting while the queue is full. */
static int enqueue(mdm_duckdb_feed *f)
{
    struct ArrowArray array;
    int rc = arrow_builder_finish(f->builder, &array);
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

int mdm_duckdb_feed_push(mdm_duckdb_feed *f, const mdm_batch *batch)
{
    size_t n = mdm_batch_nrows(batch);
    for (size_t from = 0; from < n;) {
        size_t taken;
        int rc = arrow_builder_append(f->builder, batch, from, n - from, &taken);
        if (!rc && arrow_builder_full(f->builder))
            rc = enqueue(f);
        if (rc)
            return rc;
        from += taken;
    }
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
    int rc = arrow_builder_rows(f->builder) ? enqueue(f) : 0;
    if (rc) {
        stop(f, true);
    } else {
        stop(f, false);
        rc = outcome(f);
    }
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
