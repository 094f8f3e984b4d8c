/* An Arrow C stream fed by a producer thread (arrow_stream.h). */
#include "storage/arrow_stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_ARRAYS 2          /* record batches waiting for the consumer */
#define ROWS_PER_ARRAY 65536    /* at most; a batch of the producer is cut to this */
#define BYTES_PER_ARRAY (64 << 20)

typedef struct stream {
    arrow_producer produce;
    void *ctx;
    void (*free_ctx)(void *);
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;

    /* The schema: set once by the producer's first batch, under the lock. */
    bool have_schema;
    mdm_field *fields;
    size_t ncols;
    arrow_builder *builder; /* the producer's thread only */

    struct ArrowArray queue[QUEUE_ARRAYS];
    size_t head, count;
    bool finished;          /* the producer has returned */
    int rc;                 /* its outcome */
    char message[1024];
    atomic_bool released;   /* the consumer is gone: stop */
    char last_error[1024];  /* get_last_error's answer (the consumer's side) */
} stream;

bool arrow_stream_released(void *sink_ctx)
{
    return atomic_load(&((stream *)sink_ctx)->released);
}

/* ------------------------------------------------------------------ the producer's side */

static int take_schema(stream *s, const mdm_batch *batch)
{
    size_t n = mdm_batch_ncols(batch);
    mdm_field *fields = calloc(n ? n : 1, sizeof *fields);
    if (!fields)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t c = 0; !rc && c < n; c++) {
        fields[c].type = mdm_batch_field(batch, c)->type;
        if (!(fields[c].name = strdup(mdm_batch_field(batch, c)->name)))
            rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    if (!rc && !(rc = arrow_builder_new(&s->builder, fields, n, ROWS_PER_ARRAY,
                                        BYTES_PER_ARRAY)))
        arrow_builder_use_utf8(s->builder);
    if (rc) {
        mdm_fields_free(fields, n);
        return rc;
    }
    pthread_mutex_lock(&s->lock);
    s->fields = fields;
    s->ncols = n;
    s->have_schema = true;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static int check_types(const stream *s, const mdm_batch *batch)
{
    if (mdm_batch_ncols(batch) != s->ncols)
        return mdm_error_set(MDM_EINVALID, "the result's batches differ in their number of "
                                           "columns (%zu, then %zu)",
                             s->ncols, mdm_batch_ncols(batch));
    for (size_t c = 0; c < s->ncols; c++) {
        mdm_type t = mdm_batch_field(batch, c)->type;
        if (t != s->fields[c].type)
            return mdm_error_set(MDM_EINVALID,
                                 "column '%s' changed type from %s to %s part way through the "
                                 "result, which an Arrow stream cannot follow; cast it in the "
                                 "query",
                                 s->fields[c].name, mdm_type_name(s->fields[c].type),
                                 mdm_type_name(t));
    }
    return 0;
}

/* The array under way into the queue, waiting while the queue is full. */
static int hand_over(stream *s)
{
    struct ArrowArray array;
    int rc = arrow_builder_finish(s->builder, &array);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->lock);
    while (s->count == QUEUE_ARRAYS && !atomic_load(&s->released))
        pthread_cond_wait(&s->changed, &s->lock);
    if (atomic_load(&s->released)) {
        pthread_mutex_unlock(&s->lock);
        array.release(&array);
        return ARROW_STREAM_RELEASED;
    }
    s->queue[(s->head + s->count) % QUEUE_ARRAYS] = array;
    s->count++;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static int stream_sink(const mdm_batch *batch, void *p)
{
    stream *s = p;
    if (atomic_load(&s->released))
        return ARROW_STREAM_RELEASED;
    int rc = s->have_schema ? check_types(s, batch) : take_schema(s, batch);
    size_t n = mdm_batch_nrows(batch);
    for (size_t from = 0; !rc && from < n;) {
        size_t taken;
        rc = arrow_builder_append(s->builder, batch, from, n - from, &taken);
        if (!rc && arrow_builder_full(s->builder))
            rc = hand_over(s);
        from += taken;
    }
    if (!rc && arrow_builder_rows(s->builder))
        rc = hand_over(s);
    return rc;
}

static void *producer_main(void *arg)
{
    stream *s = arg;
    int rc = s->produce(s->ctx, stream_sink, s);
    arrow_builder_free(s->builder);
    s->builder = NULL;
    pthread_mutex_lock(&s->lock);
    s->finished = true;
    s->rc = rc < 0 ? rc : 0;
    if (rc < 0)
        snprintf(s->message, sizeof s->message, "%s", mdm_error_last()->message);
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ------------------------------------------------------------------ the consumer's side */

static int get_schema(struct ArrowArrayStream *self, struct ArrowSchema *out)
{
    stream *s = self->private_data;
    /* Set before the stream was handed out, and never changed after. */
    if (arrow_schema_new(out, s->fields, s->ncols, true)) {
        snprintf(s->last_error, sizeof s->last_error, "%s", mdm_error_last()->message);
        return ENOMEM;
    }
    return 0;
}

static int get_next(struct ArrowArrayStream *self, struct ArrowArray *out)
{
    stream *s = self->private_data;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    while (s->count == 0 && !s->finished)
        pthread_cond_wait(&s->changed, &s->lock);
    if (s->count > 0) {
        *out = s->queue[s->head];
        s->head = (s->head + 1) % QUEUE_ARRAYS;
        s->count--;
        pthread_cond_broadcast(&s->changed);
    } else {
        memset(out, 0, sizeof *out); /* no release: the end of the stream */
        if (s->rc) {
            snprintf(s->last_error, sizeof s->last_error, "%s", s->message);
            rc = EIO;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static const char *get_last_error(struct ArrowArrayStream *self)
{
    stream *s = self->private_data;
    return s->last_error[0] ? s->last_error : NULL;
}

static void stream_free(stream *s)
{
    for (size_t i = 0; i < s->count; i++) {
        struct ArrowArray *a = &s->queue[(s->head + i) % QUEUE_ARRAYS];
        if (a->release)
            a->release(a);
    }
    mdm_fields_free(s->fields, s->ncols);
    if (s->free_ctx)
        s->free_ctx(s->ctx);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->changed);
    free(s);
}

/* Stops the producer (its sink refuses, a query polling arrow_stream_released is
 * interrupted) and waits for it to end. */
static void stop_and_join(stream *s)
{
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->released, true);
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
}

static void release(struct ArrowArrayStream *self)
{
    stream *s = self->private_data;
    stop_and_join(s);
    stream_free(s);
    self->release = NULL;
    self->private_data = NULL;
}

int arrow_stream_start(struct ArrowArrayStream *out, arrow_producer produce, void *ctx,
                       void (*free_ctx)(void *ctx))
{
    memset(out, 0, sizeof *out);
    stream *s = calloc(1, sizeof *s);
    if (!s) {
        if (free_ctx)
            free_ctx(ctx);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    s->produce = produce;
    s->ctx = ctx;
    s->free_ctx = free_ctx;
    atomic_init(&s->released, false);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    if (pthread_create(&s->thread, NULL, producer_main, s) != 0) {
        stream_free(s);
        return mdm_error_set(MDM_ERROR, "cannot start the thread of an Arrow stream");
    }
    pthread_mutex_lock(&s->lock);
    while (!s->have_schema && !s->finished)
        pthread_cond_wait(&s->changed, &s->lock);
    bool failed = !s->have_schema && s->rc;
    pthread_mutex_unlock(&s->lock);
    if (failed) {
        pthread_join(s->thread, NULL);
        int rc = mdm_error_set(s->rc, "%s", s->message);
        stream_free(s);
        return rc;
    }
    *out = (struct ArrowArrayStream){.get_schema = get_schema, .get_next = get_next,
                                     .get_last_error = get_last_error, .release = release,
                                     .private_data = s};
    return 0;
}
