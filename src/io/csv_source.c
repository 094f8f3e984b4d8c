/* CSV/TSV files as a source of typed batches (csv_source.h). */
#include "io/csv_source.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/convert.h"

/* Batches in flight: one with the consumer, one being filled, one ready. */
#define NBATCHES 3

typedef struct csv_source {
    io_reader base; /* first: io_reader_* calls cast between the two */
    char *path;
    csv_reader *csv;
    io_header header;
    io_plan *plan;
    mdm_field *fields;
    size_t batch_rows;
    _Atomic uint64_t bytes_done; /* both passes */
    uint64_t file_bytes;

    /* Hand-over between the parsing thread and the consumer, under `lock`. */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    mdm_batch *batches[NBATCHES];
    int free_list[NBATCHES], nfree;   /* batches the parser may fill */
    int ready[NBATCHES], nready;      /* filled batches, in order */
    int held;                         /* the consumer's batch, or -1 */
    bool done;                        /* the parser reached the end or an error */
    bool stop;                        /* the consumer closes early */
    int error_code;                   /* the parser's error, carried across threads */
    char error_message[1024];
} csv_source;

static csv_source *from_reader(io_reader *r) { return (csv_source *)r; }

static void *parse_main(void *arg)
{
    csv_source *s = arg;
    int rc = 0;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (s->nfree == 0 && !s->stop)
            pthread_cond_wait(&s->changed, &s->lock);
        if (s->stop) {
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        int slot = s->free_list[--s->nfree];
        pthread_mutex_unlock(&s->lock);

        mdm_batch *b = s->batches[slot];
        mdm_batch_clear(b);
        io_record rec;
        bool end = false;
        while (mdm_batch_nrows(b) < s->batch_rows) {
            rc = csv_next(s->csv, &rec);
            if (rc == 1)
                rc = io_convert_record(b, s->plan, &rec, s->path);
            else
                end = true; /* the end of the file (0) or an error (< 0) */
            if (rc != 0 || end)
                break;
        }
        if (rc < 0)
            end = true;
        atomic_store(&s->bytes_done, s->file_bytes + csv_bytes_done(s->csv));

        pthread_mutex_lock(&s->lock);
        if (rc < 0) {
            s->error_code = rc;
            snprintf(s->error_message, sizeof s->error_message, "%s", mdm_error_last()->message);
            s->free_list[s->nfree++] = slot; /* a half-converted batch is not delivered */
        } else if (mdm_batch_nrows(b) > 0) {
            s->ready[s->nready++] = slot;
        } else {
            s->free_list[s->nfree++] = slot;
        }
        if (end)
            s->done = true;
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);
        if (end)
            return NULL;
    }
}

static const mdm_field *source_schema(io_reader *r, size_t *nfields)
{
    csv_source *s = from_reader(r);
    *nfields = s->plan->ncols;
    return s->fields;
}

static int source_next(io_reader *r, const mdm_batch **out)
{
    csv_source *s = from_reader(r);
    *out = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->held >= 0) {
        s->free_list[s->nfree++] = s->held;
        s->held = -1;
        pthread_cond_broadcast(&s->changed);
    }
    while (s->nready == 0 && !s->done)
        pthread_cond_wait(&s->changed, &s->lock);
    int rc;
    if (s->nready > 0) {
        s->held = s->ready[0];
        memmove(s->ready, s->ready + 1, (size_t)(--s->nready) * sizeof s->ready[0]);
        *out = s->batches[s->held];
        rc = 1;
    } else if (s->error_code) {
        rc = mdm_error_set(s->error_code, "%s", s->error_message);
    } else {
        rc = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static void source_close(io_reader *r)
{
    csv_source *s = from_reader(r);
    if (s->thread_started) {
        pthread_mutex_lock(&s->lock);
        s->stop = true;
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
    }
    for (int i = 0; i < NBATCHES; i++)
        mdm_batch_free(s->batches[i]);
    csv_close(s->csv);
    io_header_free(&s->header);
    io_plan_free(s->plan);
    free(s->fields);
    free(s->path);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->changed);
    free(s);
}

static const io_reader_ops csv_source_ops = {
    .schema = source_schema,
    .next = source_next,
    .close = source_close,
};

/* The first pass: every record through the inferrer. */
static int infer_types(csv_source *s, const mdm_config *cfg)
{
    io_infer_options opts;
    if (cfg)
        io_infer_options_from_config(&opts, cfg);
    else
        io_infer_options_default(&opts);
    io_inferrer *inf = NULL;
    int rc = io_inferrer_new(&inf, s->header.count, &opts, s->path);
    io_record rec;
    while (!rc && (rc = csv_next(s->csv, &rec)) == 1) {
        rc = io_inferrer_observe(inf, &rec);
        if (!rc && (rec.line & 0x3FFF) == 0)
            atomic_store(&s->bytes_done, csv_bytes_done(s->csv));
    }
    if (rc == 0)
        rc = io_inferrer_finish(&s->plan, inf, (const char *const *)s->header.names);
    io_inferrer_free(inf);
    s->file_bytes = csv_bytes_total(s->csv);
    atomic_store(&s->bytes_done, s->file_bytes);
    return rc;
}

int io_csv_reader_open(io_reader **out, const char *path, io_format format,
                       const mdm_config *cfg)
{
    *out = NULL;
    csv_source *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    s->base.ops = &csv_source_ops;
    s->held = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    s->batch_rows = cfg ? (size_t)mdm_config_int(cfg, "performance.batch_size") : 10000;
    csv_options opt = CSV_OPTIONS_DEFAULT;
    if (format == IO_FORMAT_TSV)
        opt.delimiter = '\t';
    int rc = csv_open(&s->csv, path, &opt);
    if (!rc) {
        const io_record *h = csv_header(s->csv);
        rc = h ? io_header_from_fields(&s->header, h->fields, h->nfields)
               : io_header_default(&s->header, csv_ncolumns(s->csv));
    }
    if (!rc)
        rc = infer_types(s, cfg);
    if (!rc)
        rc = io_plan_fields(&s->fields, s->plan);
    if (!rc)
        rc = csv_rewind(s->csv);
    for (int i = 0; !rc && i < NBATCHES; i++) {
        rc = mdm_batch_new(&s->batches[i], s->fields, s->plan->ncols, s->batch_rows);
        s->free_list[s->nfree++] = i;
    }
    if (!rc) {
        if (pthread_create(&s->thread, NULL, parse_main, s) != 0)
            rc = mdm_error_set(MDM_ERROR, "%s: cannot start the parsing thread", path);
        else
            s->thread_started = true;
    }
    if (rc) {
        source_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

const io_plan *io_csv_reader_plan(io_reader *r) { return from_reader(r)->plan; }
const csv_dialect *io_csv_reader_dialect(io_reader *r) { return csv_dialect_of(from_reader(r)->csv); }
const io_header *io_csv_reader_header(io_reader *r) { return &from_reader(r)->header; }

void io_csv_reader_progress(io_reader *r, uint64_t *done, uint64_t *total)
{
    csv_source *s = from_reader(r);
    *done = atomic_load(&s->bytes_done);
    *total = 2 * s->file_bytes;
}
