/* Loading one file into its table of the staging store (register_internal.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataset/checksum.h"
#include "dataset/register_internal.h"
#include "io/csv_source.h"
#include "io/reader.h"

/* How often a table's load reports its progress. */
#define PROGRESS_INTERVAL_NS 100000000ull

static int copy_fields(loaded_table *t, const mdm_field *fields, size_t n)
{
    t->fields = calloc(n ? n : 1, sizeof *t->fields);
    if (!t->fields)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    t->nfields = n;
    for (size_t i = 0; i < n; i++) {
        t->fields[i].type = fields[i].type;
        if (!(t->fields[i].name = strdup(fields[i].name)))
            return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    return 0;
}

static void report(reg *r, const char *table, size_t index, uint64_t rows, io_reader *reader,
                   bool csv, uint64_t start_ns, bool finished)
{
    if (!r->opt->progress)
        return;
    register_progress p = {.table = table, .table_index = index, .ntables = r->found.nfiles,
                           .rows = rows, .elapsed_s = (double)(mdm_now_ns() - start_ns) / 1e9,
                           .finished = finished};
    if (csv && reader)
        io_csv_reader_progress(reader, &p.bytes_done, &p.bytes_total);
    r->opt->progress(&p, r->opt->progress_ctx);
}

/* Which columns of a file are kept (--ignore-columns leaves some out). */
static int plan_columns(reg *r, const mdm_field *fields, size_t n, size_t **keep, size_t *nkeep)
{
    *keep = malloc((n ? n : 1) * sizeof **keep);
    if (!*keep)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    *nkeep = 0;
    for (size_t c = 0; c < n; c++) {
        bool ignored = false;
        for (size_t i = 0; i < r->ignore.count; i++)
            if (strcasecmp(fields[c].name, r->ignore.items[i]) == 0) {
                ignored = r->ignore_seen[i] = true;
            }
        if (!ignored)
            (*keep)[(*nkeep)++] = c;
    }
    if (*nkeep == 0)
        return mdm_error_set(MDM_EINVALID, "--ignore-columns leaves no column to register");
    return 0;
}

/* The kept columns of `src` into `dst` (same rows). */
static int project(mdm_batch *dst, const mdm_batch *src, const size_t *keep, size_t nkeep)
{
    mdm_batch_clear(dst);
    for (size_t row = 0; row < mdm_batch_nrows(src); row++) {
        size_t r;
        int rc = mdm_batch_add_row(dst, &r);
        for (size_t k = 0; !rc && k < nkeep; k++) {
            mdm_value v = mdm_batch_value(src, keep[k], row);
            rc = mdm_batch_set_value(dst, k, r, &v);
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* Statistics on the reader's parsing thread (io_reader_set_observer), over the kept
 * columns, with a batch of its own for projecting them. */
typedef struct stats_feed {
    stats *st;              /* NULL: --skip-analysis */
    checksum *cs;           /* the digests (checksum.h), on the same batches */
    mdm_batch *projected;
    const size_t *keep;
    size_t nkeep;
} stats_feed;

static int feed_stats(const mdm_batch *batch, void *ctx)
{
    stats_feed *feed = ctx;
    if (feed->projected) {
        int rc = project(feed->projected, batch, feed->keep, feed->nkeep);
        if (rc)
            return rc;
        batch = feed->projected;
    }
    int rc = feed->st ? stats_add_batch(feed->st, batch) : 0;
    return rc ? rc : checksum_add_batch(feed->cs, batch);
}

/* metadata.checksums.<table> of the record: the table's digests. */
static int record_checksums(reg *r, const char *table, const checksum *cs)
{
    json_t *doc = checksum_to_json(cs);
    if (!doc)
        return MDM_ENOMEM;
    if (!r->info->metadata_extra && !(r->info->metadata_extra = json_object()))
        goto nomem;
    json_t *all = json_object_get(r->info->metadata_extra, "checksums");
    if (!json_is_object(all)) {
        if (!(all = json_object()) || json_object_set_new(r->info->metadata_extra, "checksums", all))
            goto nomem;
    }
    if (json_object_set_new(all, table, doc))
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    return 0;
nomem:
    json_decref(doc);
    return mdm_error_set(MDM_ENOMEM, "out of memory");
}

static void loaded_table_reset(loaded_table *t)
{
    if (t->fields)
        for (size_t i = 0; i < t->nfields; i++)
            free((char *)t->fields[i].name);
    free(t->fields);
    t->fields = NULL;
    t->nfields = 0;
    t->rows = 0;
}

/* One read of a file into its table. IO_READER_RETYPE: the types inferred from the
 * first records did not hold; the table is gone again and `t` is reset. */
static int load_table_once(reg *r, size_t index, loaded_table *t, bool exact)
{
    const source_file *f = &r->found.files[index];
    io_reader *reader = NULL;
    bool csv = f->format == IO_FORMAT_CSV || f->format == IO_FORMAT_TSV;
    stats *st = NULL;
    checksum *cs = NULL;
    stats_feed feed = {0};
    mdm_conn *conn = NULL;
    bool created = false;
    size_t *keep = NULL, nkeep = 0;
    mdm_batch *projected = NULL;
    bool write = !r->opt->dry_run;
    uint64_t start = mdm_now_ns(), last_report = start;
    int rc = exact ? io_reader_open_exact(&reader, f->path, f->format, r->cfg)
                   : io_reader_open(&reader, f->path, f->format, r->cfg);
    if (rc)
        goto cleanup;
    size_t n = 0;
    const mdm_field *fields = io_reader_schema(reader, &n);
    if ((rc = plan_columns(r, fields, n, &keep, &nkeep)))
        goto cleanup;
    mdm_field *kept = malloc(nkeep * sizeof *kept);
    if (!kept) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t k = 0; k < nkeep; k++)
        kept[k] = fields[keep[k]];
    rc = copy_fields(t, kept, nkeep);
    if (!rc && nkeep < n && !(rc = mdm_batch_new(&projected, kept, nkeep, 0)))
        rc = mdm_batch_new(&feed.projected, kept, nkeep, 0);
    free(kept);
    if (rc)
        goto cleanup;
    if (csv && !exact) {
        const io_header *h = io_csv_reader_header(reader);
        for (size_t i = 0; i < h->nwarnings; i++)
            register_note(r, "%s: %s", f->path, h->warnings[i]);
        const csv_dialect *d = io_csv_reader_dialect(reader);
        if (d->transcoded)
            register_note(r, "%s: read as %s (not UTF-8)", f->path, d->encoding);
    }
    if ((rc = stats_new(&st, t->fields, t->nfields, false)))
        goto cleanup;
    if ((rc = checksum_new(&cs, t->fields, t->nfields)))
        goto cleanup;
    feed.st = r->opt->skip_analysis ? NULL : st;
    feed.cs = cs;
    feed.keep = keep;
    feed.nkeep = nkeep;
    io_reader_set_observer(reader, feed_stats, &feed);
    if (write) {
        if ((rc = mdm_store_checkout(staging_store(r->stage), &conn)) ||
            (rc = mdm_conn_table_create(conn, t->kind, t->fields, t->nfields)))
            goto cleanup;
        created = true;
        if ((rc = mdm_conn_begin(conn)) || (rc = mdm_conn_load_begin(conn, t->kind)))
            goto cleanup;
    }
    const mdm_batch *batch;
    bool first = true;
    while ((rc = io_reader_next(reader, &batch)) == 1) {
        if ((rc = register_cancelled(r)))
            goto cleanup;
        if (projected) {
            if ((rc = project(projected, batch, keep, nkeep)))
                goto cleanup;
            batch = projected;
        }
        if (write && (rc = mdm_conn_load(conn, batch)))
            goto cleanup;
        t->rows += mdm_batch_nrows(batch);
        /* After the first batch, then at most every PROGRESS_INTERVAL_NS. */
        uint64_t now = mdm_now_ns();
        if (first || now - last_report > PROGRESS_INTERVAL_NS) {
            report(r, t->kind, index, t->rows, reader, csv, start, false);
            last_report = now;
            first = false;
        }
    }
    if (rc != 0)
        goto cleanup;
    if (write && ((rc = mdm_conn_load_end(conn)) || (rc = mdm_conn_commit(conn))))
        goto cleanup;
    rc = stats_finish(&t->stats, st);
    if (!rc)
        rc = record_checksums(r, t->kind, cs);
    report(r, t->kind, index, t->rows, reader, csv, start, true);
cleanup:
    /* the parsing thread stops before the statistics it feeds are freed */
    io_reader_close(reader);
    if (rc && conn) {
        mdm_conn_rollback(conn);
        if (rc == IO_READER_RETYPE && created) {
            int drc = mdm_conn_table_drop(conn, t->kind);
            if (drc)
                rc = drc;
        }
    }
    if (conn)
        mdm_store_checkin(staging_store(r->stage), conn);
    if (rc == IO_READER_RETYPE)
        loaded_table_reset(t);
    mdm_batch_free(projected);
    mdm_batch_free(feed.projected);
    free(keep);
    stats_free(st);
    checksum_free(cs);
    return rc;
}

/* Reads one file into its table in the staging store, in one transaction (with
 * --dry-run: only through the statistics). A CSV file is read once with types inferred
 * from its first records, and again with types from every record when a later one did
 * not fit them (the first load is dropped: nothing is committed before the end). */
int register_load_table(reg *r, size_t index)
{
    const source_file *f = &r->found.files[index];
    loaded_table *t = &r->tables[r->ntables];
    memset(t, 0, sizeof *t);
    if (!(t->kind = strdup(f->table)))
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    r->ntables++;
    int rc = load_table_once(r, index, t, false);
    if (rc == IO_READER_RETYPE)
        rc = load_table_once(r, index, t, true);
    return rc;
}
