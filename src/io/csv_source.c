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

/* The first pass reads this much of the file to infer the types (a few tens of
 * milliseconds); the conversion checks the rest. */
#define SAMPLE_ROWS 100000
#define SAMPLE_BYTES ((uint64_t)16 << 20)

typedef struct csv_source {
    io_reader base; /* first: io_reader_* calls cast between the two */
    char *path;
    csv_reader *csv;
    io_header header;
    io_plan *plan;
    mdm_field *fields;
    size_t batch_rows;
    _Atomic uint64_t bytes_done; /* both passes */
    uint64_t sample_bytes;       /* read by the first pass */
    uint64_t file_bytes;

    /* Set when the plan came from a sample: the inferrer keeps watching the columns the
     * sample left open (planned as text, but a later value could type them). */
    io_inferrer *inferrer;
    size_t *open_cols, nopen;

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
    bool retype;                      /* a record did not fit the sampled plan */
    bool stop;                        /* the consumer closes early */
    int error_code;                   /* the parser's error, carried across threads */
    char error_message[1024];
} csv_source;

static csv_source *from_reader(io_reader *r) { return (csv_source *)r; }

/* At the end of a sampled read: did a column the sample left as text get a type? */
static bool sampled_open_column_typed(const csv_source *s)
{
    for (size_t i = 0; i < s->nopen; i++)
        if (io_inferrer_column_type(s->inferrer, s->open_cols[i]) != MDM_TYPE_TEXT)
            return true;
    return false;
}

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
        bool end = false, retype = false;
        while (mdm_batch_nrows(b) < s->batch_rows) {
            rc = csv_next(s->csv, &rec);
            if (rc != 1) {
                end = true; /* the end of the file (0) or an error (< 0) */
                break;
            }
            if (s->nopen && (rc = io_inferrer_observe_columns(s->inferrer, &rec, s->open_cols,
                                                              s->nopen)))
                break;
            /* csv_next gives every record the header's field count, so a conversion
             * error is a value that does not fit its column's type */
            if ((rc = io_convert_record(b, s->plan, &rec, s->path))) {
                retype = s->inferrer && rc == MDM_EINVALID;
                break;
            }
        }
        if (rc == 0 && end)
            retype = sampled_open_column_typed(s);
        if (retype) {
            MDM_DEBUG("%s: re-reading with types inferred from every row (%s)",
                          s->path, rc ? mdm_error_last()->message : "an open column got a type");
            rc = 0;
        } else if (rc == 0 && mdm_batch_nrows(b) > 0 && s->base.observer) {
            int orc = s->base.observer(b, s->base.observer_ctx);
            if (orc)
                rc = orc < 0 ? orc : MDM_ERROR;
        }
        if (rc < 0 || retype)
            end = true;
        atomic_store(&s->bytes_done, s->sample_bytes + csv_bytes_done(s->csv));

        pthread_mutex_lock(&s->lock);
        if (retype) {
            s->retype = true;
            s->free_list[s->nfree++] = slot;
        } else if (rc < 0) {
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
    /* Started on the first call, so that the observer is in place. */
    if (!s->thread_started) {
        if (pthread_create(&s->thread, NULL, parse_main, s) != 0)
            return mdm_error_set(MDM_ERROR, "%s: cannot start the parsing thread", s->path);
        s->thread_started = true;
    }
    pthread_mutex_lock(&s->lock);
    if (s->held >= 0) {
        s->free_list[s->nfree++] = s->held;
        s->held = -1;
        pthread_cond_broadcast(&s->changed);
    }
    while (s->nready == 0 && !s->done && !s->retype)
        pthread_cond_wait(&s->changed, &s->lock);
    int rc;
    if (s->retype) {
        rc = IO_READER_RETYPE;
    } else if (s->nready > 0) {
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
    io_inferrer_free(s->inferrer);
    free(s->open_cols);
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
    .calls_observer = true,
};

/* The first pass: the first records (every record when `exact`) through the inferrer. */
static int infer_types(csv_source *s, const mdm_config *cfg, bool exact)
{
    io_infer_options opts;
    if (cfg)
        io_infer_options_from_config(&opts, cfg);
    else
        io_infer_options_default(&opts);
    io_inferrer *inf = NULL;
    int rc = io_inferrer_new(&inf, s->header.count, &opts, s->path);
    io_record rec;
    uint64_t seen = 0;
    bool sampled = false;
    while (!rc && (rc = csv_next(s->csv, &rec)) == 1) {
        rc = io_inferrer_observe(inf, &rec);
        if (!rc && (++seen & 0x3FFF) == 0) {
            uint64_t done = csv_bytes_done(s->csv);
            atomic_store(&s->bytes_done, done);
            if (!exact && (seen >= SAMPLE_ROWS || done >= SAMPLE_BYTES)) {
                sampled = true;
                break;
            }
        }
    }
    if (rc > 0)
        rc = 0;
    if (rc == 0)
        rc = io_inferrer_finish(&s->plan, inf, (const char *const *)s->header.names);
    s->sample_bytes = csv_bytes_done(s->csv);
    s->file_bytes = csv_bytes_total(s->csv);
    atomic_store(&s->bytes_done, s->sample_bytes);
    if (rc == 0 && sampled) {
        s->open_cols = malloc((s->header.count ? s->header.count : 1) * sizeof *s->open_cols);
        if (!s->open_cols)
            rc = mdm_error_set(MDM_ENOMEM, "out of memory");
        for (size_t c = 0; rc == 0 && c < s->header.count; c++)
            if (io_inferrer_column_open(inf, c))
                s->open_cols[s->nopen++] = c;
        s->inferrer = inf; /* keeps watching the open columns */
        return rc;
    }
    io_inferrer_free(inf);
    return rc;
}

int io_csv_reader_open(io_reader **out, const char *path, io_format format,
                       const mdm_config *cfg, bool exact)
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
        rc = infer_types(s, cfg, exact);
    if (!rc)
        rc = io_plan_fields(&s->fields, s->plan);
    if (!rc)
        rc = csv_rewind(s->csv);
    for (int i = 0; !rc && i < NBATCHES; i++) {
        rc = mdm_batch_new(&s->batches[i], s->fields, s->plan->ncols, s->batch_rows);
        s->free_list[s->nfree++] = i;
    }
    if (rc) {
        source_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

const csv_dialect *io_csv_reader_dialect(io_reader *r) { return csv_dialect_of(from_reader(r)->csv); }
const io_header *io_csv_reader_header(io_reader *r) { return &from_reader(r)->header; }

void io_csv_reader_progress(io_reader *r, uint64_t *done, uint64_t *total)
{
    csv_source *s = from_reader(r);
    *done = atomic_load(&s->bytes_done);
    *total = s->sample_bytes + s->file_bytes;
}
