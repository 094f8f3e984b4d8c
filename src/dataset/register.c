/* Registering a dataset (register.h). The steps, each undone on failure:
 *   1. name, lock, discovery (nothing written yet);
 *   2. leftovers of interrupted registrations removed; an existing dataset refused, or
 *      removed with --force;
 *   3. every file loaded into a staging place (one transaction per table), statistics
 *      gathered while the batches pass;
 *   4. IDs, target, problem type; metadata tables;
 *   5. promotion of the staging place, metadata files, and the commit: the YAML. */
#include "dataset/register.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/fs.h"
#include "core/strbuf.h"
#include "dataset/catalog.h"
#include "dataset/detect.h"
#include "dataset/discover.h"
#include "dataset/name_lock.h"
#include "dataset/replace.h"
#include "dataset/staging.h"
#include "dataset/stats.h"
#include "dataset/stats_export.h"
#include "io/csv_source.h"
#include "io/reader.h"
#include "mdm/sys/backend.h"

/* How often a table's load reports its progress. */
#define PROGRESS_INTERVAL_NS 100000000ull

typedef struct loaded_table {
    char *kind;              /* train, test, data, ... (also the table's name) */
    mdm_field *fields;       /* names owned */
    size_t nfields;
    stats_result *stats;
    uint64_t rows;
} loaded_table;

typedef struct reg {
    const mdm_config *cfg;
    const register_options *opt;
    mdm_strlist *notes;
    char name[512];
    const char *backend;     /* the registry's name: sqlite, duckdb, postgres */
    discovery found;
    name_lock *lock;
    staging *stage;
    char old_backend[16];    /* --force over a committed dataset: its backend, else "" */
    replace *replacing;      /* the old dataset, aside while the new one is promoted */
    loaded_table *tables;
    size_t ntables;
    dataset_info *info;
    dataset_strlist ignore;  /* --ignore-columns */
    bool *ignore_seen;       /* each found in some table */
} reg;

const char *dataset_backend_registry_name(const char *backend)
{
    return backend && strcmp(backend, "postgresql") == 0 ? "postgres" : backend;
}

/* The name the registry YAML records: the Python tool's spelling. */
static const char *backend_yaml_name(const char *backend)
{
    return strcmp(backend, "postgres") == 0 ? "postgresql" : backend;
}

static void note(reg *r, const char *fmt, ...) MDM_PRINTF(2, 3);
static void note(reg *r, const char *fmt, ...)
{
    if (!r->notes)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    dataset_strlist_add(r->notes, buf);
}

/* MDM_ECANCELED once the caller's token was tripped: checked between batches and
 * between steps; the failure path then removes everything of the new dataset. */
static int cancelled(const reg *r)
{
    if (!mdm_cancel_requested(r->opt->cancel))
        return 0;
    return mdm_error_set(MDM_ECANCELED, "Registration of '%s' cancelled", r->name);
}

/* ------------------------------------------------------------------ loading */

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
    stats *st;
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
    return stats_add_batch(feed->st, batch);
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
            note(r, "%s: %s", f->path, h->warnings[i]);
        const csv_dialect *d = io_csv_reader_dialect(reader);
        if (d->transcoded)
            note(r, "%s: read as %s (not UTF-8)", f->path, d->encoding);
    }
    if ((rc = stats_new(&st, t->fields, t->nfields, false)))
        goto cleanup;
    if (!r->opt->skip_analysis) {
        feed.st = st;
        feed.keep = keep;
        feed.nkeep = nkeep;
        io_reader_set_observer(reader, feed_stats, &feed);
    }
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
        if ((rc = cancelled(r)))
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
    rc = stats_finish(st, &t->stats);
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
    return rc;
}

/* Reads one file into its table in the staging store, in one transaction (with
 * --dry-run: only through the statistics). A CSV file is read once with types inferred
 * from its first records, and again with types from every record when a later one did
 * not fit them (the first load is dropped: nothing is committed before the end). */
static int load_table(reg *r, size_t index)
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

/* ------------------------------------------------------------------ detection */

static const loaded_table *find_table(const reg *r, const char *kind)
{
    for (size_t i = 0; i < r->ntables; i++)
        if (strcmp(r->tables[i].kind, kind) == 0)
            return &r->tables[i];
    return NULL;
}

/* The table whose columns define the dataset: train, else data, else the first. */
static const loaded_table *main_table(const reg *r)
{
    const loaded_table *t = find_table(r, "train");
    if (!t)
        t = find_table(r, "data");
    return t ? t : &r->tables[0];
}

static long column_index(const loaded_table *t, const char *name)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (strcmp(t->fields[i].name, name) == 0)
            return (long)i;
    for (size_t i = 0; i < t->nfields; i++)
        if (strcasecmp(t->fields[i].name, name) == 0)
            return (long)i;
    return -1;
}

static int column_missing(const loaded_table *t, const char *what, const char *name)
{
    strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < t->nfields && i < 30; i++)
        strbuf_appendf(&sb, "%s%s", i ? ", " : "", t->fields[i].name);
    if (t->nfields > 30)
        strbuf_append(&sb, ", ...");
    int rc = mdm_error_set(MDM_EINVALID, "%s column '%s' not found in table '%s' (columns: %s)",
                           what, name, t->kind, sb.data ? sb.data : "");
    strbuf_free(&sb);
    return rc;
}

static column_profile profile_of(const loaded_table *t, size_t col)
{
    const stats_column *c = &t->stats->columns[col];
    bool numeric = c->type == MDM_TYPE_INT64 || c->type == MDM_TYPE_FLOAT64;
    bool zero_one = false;
    if (numeric && c->has_min_max && c->distinct <= 2) {
        double lo = c->type == MDM_TYPE_INT64 ? (double)c->min.v.i64 : c->min.v.f64;
        double hi = c->type == MDM_TYPE_INT64 ? (double)c->max.v.i64 : c->max.v.f64;
        zero_one = (lo == 0 || lo == 1) && (hi == 0 || hi == 1);
    }
    return (column_profile){
        .name = t->fields[col].name,
        .type = c->type,
        .rows = t->rows,
        .nulls = c->null_count,
        .distinct = c->distinct,
        /* Past the exact cap the count is an estimate: "more than the cap" is all the
         * detection rules need. */
        .distinct_cap = c->distinct_exact ? UINT64_MAX : c->distinct - 1,
        .all_unique = c->distinct_exact && c->distinct == c->count && c->count > 0,
        .only_zero_one = zero_one,
    };
}

static int resolve_column(reg *r, const loaded_table *t, const char *what, const char *given,
                          char **out)
{
    long i = column_index(t, given);
    if (i < 0)
        return column_missing(t, what, given);
    return dataset_str_set(out, t->fields[i].name);
}

static int detect(reg *r)
{
    const loaded_table *main = main_table(r);
    dataset_info *info = r->info;
    int rc = 0;
    /* Target: given, or the last non-ID column of a Kaggle sample submission. */
    if (r->opt->target) {
        rc = resolve_column(r, main, "Target", r->opt->target, &info->target_column);
    } else if (r->found.kaggle) {
        const loaded_table *sub = find_table(r, "sample_submission");
        if (sub) {
            const char **names = malloc((sub->nfields + 1) * sizeof *names);
            for (size_t i = 0; names && i < sub->nfields; i++)
                names[i] = sub->fields[i].name;
            const char *target = names ? detect_submission_target(names, sub->nfields) : NULL;
            if (target && column_index(main, target) >= 0)
                rc = resolve_column(r, main, "Target", target, &info->target_column);
            else if (target)
                note(r, "the sample submission's target '%s' is not a column of '%s'", target,
                     main->kind);
            /* The submission's ID column should be in the test table. */
            const loaded_table *test = find_table(r, "test");
            for (size_t i = 0; test && names && i < sub->nfields; i++)
                if (detect_id_name(names[i]) && column_index(test, names[i]) < 0)
                    note(r, "the sample submission's ID column '%s' is not in the test table",
                         names[i]);
            free(names);
        }
    }
    if (!rc && r->opt->time_column)
        rc = resolve_column(r, main, "Time", r->opt->time_column, &info->time_column);
    if (!rc && r->opt->group_column)
        rc = resolve_column(r, main, "Group", r->opt->group_column, &info->group_column);
    if (!rc && r->opt->stratify_column) {
        char *col = NULL;
        rc = resolve_column(r, main, "Stratify", r->opt->stratify_column, &col);
        if (!rc) {
            if (!info->extra)
                info->extra = json_object();
            json_object_set_new(info->extra, "stratify_column", json_string(col));
        }
        free(col);
    }
    if (rc)
        return rc;

    /* ID columns: as given (each checked), else by name and uniqueness. */
    if (r->opt->id_columns) {
        dataset_strlist given = {0};
        rc = dataset_strlist_set_csv(&given, r->opt->id_columns);
        for (size_t i = 0; !rc && i < given.count; i++) {
            char *col = NULL;
            rc = resolve_column(r, main, "ID", given.items[i], &col);
            if (!rc)
                rc = dataset_strlist_add(&info->id_columns, col);
            free(col);
        }
        dataset_strlist_clear(&given);
    } else {
        for (size_t i = 0; !rc && i < main->nfields; i++) {
            column_profile p = profile_of(main, i);
            if (info->target_column && strcmp(p.name, info->target_column) == 0)
                continue;
            if (detect_is_id(&p))
                rc = dataset_strlist_add(&info->id_columns, p.name);
        }
    }
    if (rc)
        return rc;

    /* Problem type: given (checked), else from the target. */
    if (r->opt->problem_type) {
        if ((rc = dataset_problem_type_check(r->opt->problem_type)))
            return rc;
        problem_type p;
        if ((rc = problem_type_parse(&p, r->opt->problem_type)))
            return rc;
        rc = dataset_str_set(&info->problem_type, problem_type_name(p));
    } else if (info->target_column && !r->opt->skip_analysis) {
        column_profile p = profile_of(main, (size_t)column_index(main, info->target_column));
        problem_type t = detect_problem_type(&p);
        if (t != PROBLEM_NONE)
            rc = dataset_str_set(&info->problem_type, problem_type_name(t));
    }
    return rc;
}

/* ------------------------------------------------------------------ metadata */

static const char *semantic_of(const reg *r, const char *column, mdm_type type, const stats_column *c)
{
    const struct {
        const char *list;
        const char *semantic;
    } overrides[] = {{r->opt->categorical_columns, "categorical"},
                     {r->opt->datetime_columns, "datetime"},
                     {r->opt->numeric_columns, "numeric"},
                     {r->opt->text_columns, "text"}};
    for (size_t i = 0; i < 4; i++) {
        dataset_strlist l = {0};
        if (overrides[i].list && dataset_strlist_set_csv(&l, overrides[i].list) == 0) {
            bool hit = dataset_strlist_contains(&l, column, true);
            dataset_strlist_clear(&l);
            if (hit)
                return overrides[i].semantic;
        }
    }
    switch (type) {
    case MDM_TYPE_INT64:
    case MDM_TYPE_FLOAT64: return "numeric";
    case MDM_TYPE_BOOL: return "categorical";
    case MDM_TYPE_DATE:
    case MDM_TYPE_TIMESTAMP: return "datetime";
    case MDM_TYPE_TEXT:
        break;
    }
    int64_t threshold =
        mdm_config_int(r->cfg, "feature_engineering.type_detection.categorical_threshold");
    return c->distinct_exact && (int64_t)c->distinct <= threshold ? "categorical" : "text";
}

/* Every column override must name a column of some table. */
static int check_overrides(const reg *r)
{
    const char *lists[] = {r->opt->categorical_columns, r->opt->datetime_columns,
                           r->opt->numeric_columns, r->opt->text_columns};
    const char *flags[] = {"--categorical-columns", "--datetime-columns", "--numeric-columns",
                           "--text-columns"};
    for (size_t i = 0; i < 4; i++) {
        dataset_strlist l = {0};
        if (!lists[i] || dataset_strlist_set_csv(&l, lists[i]) != 0)
            continue;
        int rc = 0;
        for (size_t k = 0; !rc && k < l.count; k++) {
            bool found = false;
            for (size_t t = 0; t < r->ntables && !found; t++)
                found = column_index(&r->tables[t], l.items[k]) >= 0;
            if (!found)
                rc = mdm_error_set(MDM_EINVALID, "%s: column '%s' is in no table", flags[i],
                                   l.items[k]);
        }
        dataset_strlist_clear(&l);
        if (rc)
            return rc;
    }
    return 0;
}

static void scalar_text(strbuf *sb, const stats_column *c, const stats_scalar *v)
{
    if (c->has_min_max)
        stats_scalar_append(sb, v);
}

static const mdm_field columns_fields[] = {
    {"table", MDM_TYPE_TEXT},         {"column", MDM_TYPE_TEXT},
    {"dtype", MDM_TYPE_TEXT},         {"semantic_type", MDM_TYPE_TEXT},
    {"nullable", MDM_TYPE_BOOL},      {"is_unique", MDM_TYPE_BOOL},
    {"missing_count", MDM_TYPE_INT64}, {"missing_ratio", MDM_TYPE_FLOAT64},
    {"cardinality", MDM_TYPE_INT64},  {"min", MDM_TYPE_TEXT},
    {"max", MDM_TYPE_TEXT},           {"mean", MDM_TYPE_FLOAT64},
    {"std", MDM_TYPE_FLOAT64},
};

static const mdm_field statistics_fields[] = {
    {"table", MDM_TYPE_TEXT},          {"row_count", MDM_TYPE_INT64},
    {"column_count", MDM_TYPE_INT64},  {"memory_bytes", MDM_TYPE_INT64},
    {"missing_cells", MDM_TYPE_INT64}, {"completeness", MDM_TYPE_FLOAT64},
    {"numeric_columns", MDM_TYPE_TEXT}, {"categorical_columns", MDM_TYPE_TEXT},
    {"datetime_columns", MDM_TYPE_TEXT}, {"text_columns", MDM_TYPE_TEXT},
    {"computed_at", MDM_TYPE_TIMESTAMP},
};

/* _columns and _statistics in the dataset's own database, and the column summaries of
 * the registry record. */
static int write_metadata_tables(reg *r, int64_t now)
{
    mdm_conn *conn = NULL;
    mdm_batch *cols = NULL, *st = NULL;
    strbuf sb = STRBUF_INIT;
    int rc = mdm_store_checkout(staging_store(r->stage), &conn);
    if (!rc)
        rc = mdm_conn_table_create(conn, "_columns", columns_fields, 13);
    if (!rc)
        rc = mdm_conn_table_create(conn, "_statistics", statistics_fields, 11);
    if (!rc)
        rc = mdm_batch_new(&cols, columns_fields, 13, 64);
    if (!rc)
        rc = mdm_batch_new(&st, statistics_fields, 11, r->ntables);
    for (size_t t = 0; !rc && t < r->ntables; t++) {
        const loaded_table *lt = &r->tables[t];
        strbuf kinds[4] = {STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT};
        for (size_t c = 0; !rc && c < lt->nfields; c++) {
            const stats_column *sc = &lt->stats->columns[c];
            const char *semantic = semantic_of(r, lt->fields[c].name, lt->fields[c].type, sc);
            int k = strcmp(semantic, "numeric") == 0       ? 0
                    : strcmp(semantic, "categorical") == 0 ? 1
                    : strcmp(semantic, "datetime") == 0    ? 2
                                                           : 3;
            strbuf_appendf(&kinds[k], "%s%s", kinds[k].len ? "," : "", lt->fields[c].name);
            size_t row;
            if ((rc = mdm_batch_add_row(cols, &row)))
                break;
            const char *dtype = mdm_type_name(lt->fields[c].type);
            mdm_batch_set_text(cols, 0, row, lt->kind, strlen(lt->kind));
            mdm_batch_set_text(cols, 1, row, lt->fields[c].name, strlen(lt->fields[c].name));
            mdm_batch_set_text(cols, 2, row, dtype, strlen(dtype));
            mdm_batch_set_text(cols, 3, row, semantic, strlen(semantic));
            bool analysed = !r->opt->skip_analysis; /* else the figures stay NULL */
            if (analysed) {
                mdm_batch_set_bool(cols, 4, row, sc->null_count > 0);
                mdm_batch_set_bool(cols, 5, row, sc->distinct_exact && sc->distinct == sc->count);
                mdm_batch_set_int64(cols, 6, row, (int64_t)sc->null_count);
                mdm_batch_set_float64(cols, 7, row, sc->null_ratio);
                mdm_batch_set_int64(cols, 8, row, (int64_t)sc->distinct);
                if (sc->has_min_max) {
                    strbuf_reset(&sb);
                    scalar_text(&sb, sc, &sc->min);
                    mdm_batch_set_text(cols, 9, row, sb.data ? sb.data : "", sb.len);
                    strbuf_reset(&sb);
                    scalar_text(&sb, sc, &sc->max);
                    mdm_batch_set_text(cols, 10, row, sb.data ? sb.data : "", sb.len);
                }
                if (sc->has_mean)
                    mdm_batch_set_float64(cols, 11, row, sc->mean);
                if (sc->has_std)
                    mdm_batch_set_float64(cols, 12, row, sc->std);
            }
            if (!rc)
                rc = dataset_info_add_column(r->info, lt->kind, lt->fields[c].name, dtype, NULL);
            if (!rc) {
                /* The record's column summary; the accessor is const for readers only. */
                dataset_table_columns *tc =
                    (dataset_table_columns *)dataset_info_columns(r->info, lt->kind);
                tc->columns[tc->count - 1].extra =
                    analysed ? json_pack("{s:s, s:f, s:I, s:b}", "semantic_type", semantic,
                                         "null_ratio", sc->null_ratio, "distinct",
                                         (json_int_t)sc->distinct, "distinct_exact",
                                         sc->distinct_exact)
                             : json_pack("{s:s}", "semantic_type", semantic);
            }
            if (!rc && strcmp(semantic, "datetime") == 0 &&
                !dataset_strlist_contains(&r->info->datetime_columns, lt->fields[c].name, false))
                rc = dataset_strlist_add(&r->info->datetime_columns, lt->fields[c].name);
        }
        size_t row;
        if (!rc && !(rc = mdm_batch_add_row(st, &row))) {
            mdm_batch_set_text(st, 0, row, lt->kind, strlen(lt->kind));
            mdm_batch_set_int64(st, 1, row, (int64_t)lt->rows);
            mdm_batch_set_int64(st, 2, row, (int64_t)lt->nfields);
            if (!r->opt->skip_analysis) {
                mdm_batch_set_int64(st, 3, row, (int64_t)lt->stats->memory_bytes);
                mdm_batch_set_int64(st, 4, row, (int64_t)lt->stats->missing_cells);
                mdm_batch_set_float64(st, 5, row, lt->stats->completeness);
            }
            for (int k = 0; k < 4; k++)
                mdm_batch_set_text(st, 6 + (size_t)k, row, kinds[k].data ? kinds[k].data : "",
                                   kinds[k].len);
            mdm_batch_set_timestamp(st, 10, row, now);
        }
        for (int k = 0; k < 4; k++)
            strbuf_free(&kinds[k]);
    }
    if (!rc)
        rc = mdm_conn_append(conn, "_columns", cols);
    if (!rc)
        rc = mdm_conn_append(conn, "_statistics", st);
    if (!rc) {
        char *json = NULL;
        size_t len = 0;
        rc = dataset_info_to_json(&json, &len, r->info);
        if (!rc)
            rc = mdm_conn_metadata_set(conn, "dataset_info", json);
        free(json);
    }
    strbuf_free(&sb);
    mdm_batch_free(cols);
    mdm_batch_free(st);
    mdm_store_checkin(staging_store(r->stage), conn);
    return rc;
}

/* <datasets_path>/<name>/metadata/statistics.json: what `mdm dataset stats` reads. */
static int write_statistics_file(reg *r, const char *computed_at)
{
    char *dir = NULL;
    int rc = catalog_dataset_dir(&dir, r->cfg, r->name);
    if (rc)
        return rc;
    strbuf path = STRBUF_INIT;
    strbuf_appendf(&path, "%s/metadata", dir);
    /* On a fresh home a PostgreSQL dataset is the first to need <datasets_path>. */
    rc = strbuf_cstr(&path) ? mdm_mkdirs(path.data) : MDM_ENOMEM;
    stats_table_entry *entries = calloc(r->ntables + 1, sizeof *entries);
    if (!rc && !entries)
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < r->ntables; i++)
        entries[i] = (stats_table_entry){r->tables[i].kind, r->tables[i].kind, r->tables[i].stats};
    if (!rc) {
        strbuf_append(&path, "/statistics.json");
        stats_document doc = {.dataset_name = r->name, .computed_at = computed_at, .full = false,
                              .tables = entries, .ntables = r->ntables};
        rc = strbuf_cstr(&path) ? stats_export_file(path.data, &doc) : MDM_ENOMEM;
    }
    free(entries);
    strbuf_free(&path);
    free(dir);
    return rc;
}

/* ------------------------------------------------------------------ the record */

static int fill_info(reg *r, int64_t now, const char *computed_at)
{
    dataset_info *info = r->info;
    const mdm_backend *be = mdm_backend_find(r->backend);
    int rc = dataset_str_set(&info->name, r->name);
    if (!rc)
        rc = dataset_str_set(&info->display_name, r->opt->name);
    if (!rc)
        rc = dataset_str_set(&info->description, r->opt->description);
    if (!rc)
        rc = dataset_str_set(&info->source, r->opt->source ? r->opt->source : r->found.root);
    if (!rc)
        rc = dataset_str_set(&info->database.backend, backend_yaml_name(r->backend));
    if (!rc && be->file_extension) {
        strbuf sb = STRBUF_INIT;
        strbuf_appendf(&sb, "%s/%s/%s%s", mdm_config_path(r->cfg, "datasets_path"), r->name,
                       r->name, be->file_extension);
        rc = strbuf_cstr(&sb) ? dataset_str_set(&info->database.path, sb.data) : MDM_ENOMEM;
        strbuf_free(&sb);
    } else if (!rc) {
        strbuf sb = STRBUF_INIT;
        strbuf_appendf(&sb, "%s%s", mdm_config_str(r->cfg, "database.postgresql.database_prefix"),
                       r->name);
        rc = dataset_str_set(&info->database.host, mdm_config_str(r->cfg, "database.postgresql.host"));
        info->database.port = mdm_config_int(r->cfg, "database.postgresql.port");
        if (!rc)
            rc = dataset_str_set(&info->database.database,
                                 mdm_config_str(r->cfg, "database.postgresql.database"));
        if (!rc)
            rc = dataset_str_set(&info->database.user, mdm_config_str(r->cfg, "database.postgresql.user"));
        if (!rc)
            rc = strbuf_cstr(&sb) ? dataset_str_set(&info->database.schema, sb.data) : MDM_ENOMEM;
        strbuf_free(&sb);
    }
    if (!rc && r->opt->tags)
        rc = dataset_strlist_set_csv(&info->tags, r->opt->tags);
    info->registered_at = info->last_updated_at = now;
    info->has_registered_at = info->has_last_updated_at = true;
    int64_t total = 0, memory = 0;
    for (size_t i = 0; !rc && i < r->ntables; i++) {
        rc = dataset_strmap_set(&info->tables, r->tables[i].kind, r->tables[i].kind);
        if (!rc)
            rc = dataset_statistics_set_rows(&info->statistics, r->tables[i].kind,
                                             (int64_t)r->tables[i].rows);
        const char *k = r->tables[i].kind;
        /* SPEC §4.11: the row count covers the data tables, not the submission. */
        if (strcmp(k, "sample_submission") != 0)
            total += (int64_t)r->tables[i].rows;
        memory += (int64_t)r->tables[i].stats->memory_bytes;
    }
    info->statistics.present = true;
    info->statistics.row_count = total;
    info->statistics.memory_size_bytes = r->opt->skip_analysis ? -1 : memory;
    if (!rc)
        rc = dataset_str_set(&info->statistics.computed_at, computed_at);
    return rc;
}

/* ------------------------------------------------------------------ the steps */

static bool is_server(const char *backend)
{
    const mdm_backend *b = mdm_backend_find(backend);
    return b && !b->file_extension;
}

/* Removes what interrupted registrations of this name left, and refuses an existing
 * dataset unless replacing it: then it stays in place, readable, until the new one
 * commits (replace.h). Runs under the name's lock. */
static int clear_the_way(reg *r)
{
    bool committed = false;
    int rc = replace_recover(r->cfg, r->name);
    if (!rc)
        rc = catalog_exists(&committed, r->cfg, r->name);
    if (rc)
        return rc;
    if (committed && !r->opt->force)
        return mdm_error_set(MDM_EEXISTS, "Dataset '%s' already exists", r->name);
    bool exists = false;
    if (committed) {
        dataset_info *old = NULL;
        const char *old_backend = r->backend;
        if (catalog_load(&old, r->cfg, r->name) == 0 && old->database.backend)
            old_backend = dataset_backend_registry_name(old->database.backend);
        snprintf(r->old_backend, sizeof r->old_backend, "%s", old_backend);
        dataset_info_free(old);
        mdm_error_clear();
        if (!mdm_backend_find(r->old_backend))
            return mdm_error_set(MDM_ENOTFOUND, "Dataset '%s': unknown backend '%s'", r->name,
                                 r->old_backend);
        /* A schema of the new backend that no record owns (an old crash), when the old
         * dataset lives elsewhere: the promotion needs its place. */
        if (strcmp(r->old_backend, r->backend) != 0 && is_server(r->backend) &&
            (rc = dataset_storage_exists(r->cfg, r->backend, r->name, &exists)) == 0 && exists)
            rc = dataset_storage_remove(r->cfg, r->backend, r->name);
    } else if ((rc = dataset_storage_exists(r->cfg, r->backend, r->name, &exists)) == 0 &&
               exists) {
        /* Storage without a registry record is a leftover: a crash after the promotion. */
        note(r, "removed what an interrupted registration of '%s' left", r->name);
        rc = dataset_storage_remove(r->cfg, r->backend, r->name);
    }
    if (!rc)
        rc = staging_cleanup(r->cfg, r->backend, r->name);
    return rc;
}

static void reg_free(reg *r)
{
    for (size_t i = 0; i < r->ntables; i++) {
        free(r->tables[i].kind);
        mdm_fields_free(r->tables[i].fields, r->tables[i].nfields);
        stats_result_free(r->tables[i].stats);
    }
    free(r->tables);
    dataset_strlist_clear(&r->ignore);
    free(r->ignore_seen);
    staging_discard(r->stage);
    /* A replacement that did not commit puts the old dataset back. */
    replace_undo(r->replacing, r->backend);
    name_lock_release(r->lock);
    discovery_free(&r->found);
    dataset_info_free(r->info);
}

int dataset_register(dataset_info **out, mdm_strlist *notes, const mdm_config *cfg,
                     const register_options *opt)
{
    *out = NULL;
    reg r = {.cfg = cfg, .opt = opt, .notes = notes};
    int rc = mdm_dataset_name_normalize(r.name, sizeof r.name, opt->name);
    if (rc)
        return rc;
    r.backend = dataset_backend_registry_name(
        opt->backend ? opt->backend : mdm_config_str(cfg, "database.default_backend"));
    if (!mdm_backend_find(r.backend))
        return MDM_ENOTFOUND;
    /* What can be checked before reading any data is checked first. */
    if (opt->problem_type && (rc = dataset_problem_type_check(opt->problem_type)))
        return rc;
    bool manual = opt->train || opt->test || opt->validation || opt->submission;
    if (manual && !opt->train)
        return mdm_error_set(MDM_EINVALID, "--no-auto needs --train");
    if (manual && opt->path)
        return mdm_error_set(MDM_EINVALID, "--no-auto takes its files from --train/--test/"
                                           "--validation/--submission, not from PATH");
    if (manual) {
        const char *const files[4] = {opt->train, opt->test, opt->validation, opt->submission};
        rc = discover_files(&r.found, files);
    } else {
        rc = discover(&r.found, opt->path ? opt->path : ".");
    }
    if (rc)
        goto cleanup;
    if (opt->ignore_columns) {
        if ((rc = dataset_strlist_set_csv(&r.ignore, opt->ignore_columns)))
            goto cleanup;
        r.ignore_seen = calloc(r.ignore.count + 1, sizeof *r.ignore_seen);
        if (!r.ignore_seen) {
            rc = mdm_error_set(MDM_ENOMEM, "out of memory");
            goto cleanup;
        }
    }
    for (size_t i = 0; i < r.found.nfiles; i++)
        if (r.found.files[i].format == IO_FORMAT_EXCEL) {
            rc = mdm_error_set(MDM_ENOTSUP,
                               "%s: Excel files are not supported; save the sheet as CSV",
                               r.found.files[i].path);
            goto cleanup;
        }
    /* A registration of the same name under way elsewhere: wait for it (up to
     * database.connection_timeout), then this one sees its result ("already exists"). */
    if ((rc = cancelled(&r)))
        goto cleanup;
    if (!opt->dry_run) {
        if ((rc = name_lock_acquire(&r.lock, cfg, r.name, "registered",
                                    (uint64_t)mdm_config_int(cfg, "database.connection_timeout") *
                                        1000)))
            goto cleanup;
        if ((rc = clear_the_way(&r)))
            goto cleanup;
    } else {
        bool exists = false;
        if ((rc = catalog_exists(&exists, cfg, r.name)))
            goto cleanup;
        if (exists && !opt->force) {
            rc = mdm_error_set(MDM_EEXISTS, "Dataset '%s' already exists", r.name);
            goto cleanup;
        }
    }
    if ((rc = dataset_info_new(&r.info)))
        goto cleanup;
    if (!opt->dry_run && (rc = staging_open(&r.stage, cfg, r.backend, r.name)))
        goto cleanup;
    r.tables = calloc(r.found.nfiles, sizeof *r.tables);
    if (!r.tables) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < r.found.nfiles; i++)
        if ((rc = cancelled(&r)) || (rc = load_table(&r, i)))
            goto cleanup;
    for (size_t i = 0; i < r.ignore.count; i++)
        if (!r.ignore_seen[i]) {
            rc = mdm_error_set(MDM_EINVALID, "--ignore-columns: column '%s' is in no table",
                               r.ignore.items[i]);
            goto cleanup;
        }
    if ((rc = cancelled(&r)) || (rc = check_overrides(&r)) || (rc = detect(&r)))
        goto cleanup;
    int64_t now = dataset_time_now();
    char computed_at[64];
    dataset_time_format(computed_at, sizeof computed_at, now);
    if ((rc = fill_info(&r, now, computed_at)))
        goto cleanup;
    if (opt->dry_run) {
        /* What would be committed, for the caller to show; nothing was written. */
        for (size_t t = 0; t < r.ntables; t++)
            for (size_t c = 0; c < r.tables[t].nfields; c++)
                dataset_info_add_column(r.info, r.tables[t].kind, r.tables[t].fields[c].name,
                                        mdm_type_name(r.tables[t].fields[c].type), NULL);
        *out = r.info;
        r.info = NULL;
        goto cleanup;
    }
    if ((rc = write_metadata_tables(&r, now)) || (rc = cancelled(&r)))
        goto cleanup;
    /* From here on the new dataset is complete: the old one (--force) goes aside only
     * now, and comes back if anything below fails before the commit. */
    if (r.old_backend[0] && (rc = replace_begin(&r.replacing, cfg, r.name, r.old_backend)))
        goto cleanup;
    if ((rc = staging_promote(r.stage)))
        goto cleanup;
    r.stage = NULL;
    /* The commit: nothing before it makes the dataset visible; on failure after the
     * promotion the storage is a leftover that the next registration removes. */
    if ((!opt->skip_analysis && (rc = write_statistics_file(&r, computed_at))) ||
        (rc = catalog_commit(r.info, cfg))) {
        if (!r.replacing)
            dataset_storage_remove(cfg, r.backend, r.name);
        goto cleanup;
    }
    replace_finish(r.replacing);
    r.replacing = NULL;
    *out = r.info;
    r.info = NULL;
cleanup:
    reg_free(&r);
    return rc;
}
