/* A dataset's statistics document and its export (mdm/dataset.h): the cached
 * metadata/statistics.json written at registration, or statistics recomputed over whole
 * tables (and cached again). Also the dataset export. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/strbuf.h"
#include "dataset/history.h"
#include "dataset/api.h"
#include "dataset/export.h"
#include "dataset/stats.h"
#include "dataset/stats_export.h"

typedef struct computed {
    stats_result **results;      /* per table of the record */
    stats_table_entry *entries;
    stats_document doc;
    size_t ntables;
} computed;

static void computed_free(computed *c)
{
    for (size_t t = 0; c->results && t < c->ntables; t++)
        stats_result_free(c->results[t]);
    free(c->results);
    free(c->entries);
    memset(c, 0, sizeof *c);
}

typedef struct feed {
    stats *st;
    mdm_cancel *cancel;
} feed;

static int add_to_stats(const mdm_batch *b, void *ctx)
{
    feed *f = ctx;
    int rc = api_cancel_check(f->cancel, "statistics");
    return rc ? rc : stats_add_batch(f->st, b);
}

/* Reads every table of the dataset through its store into statistics. */
static int compute(computed *c, mdm_dataset *ds, bool full)
{
    const dataset_info *d = ds->info;
    mdm_store *store = NULL;
    mdm_conn *conn = NULL;
    memset(c, 0, sizeof *c);
    c->ntables = d->tables.count;
    c->results = calloc(c->ntables + 1, sizeof *c->results);
    c->entries = calloc(c->ntables + 1, sizeof *c->entries);
    int rc = c->results && c->entries ? 0 : mdm_error_set(MDM_ENOMEM, "out of memory");
    if (!rc)
        rc = mdm_dataset_store(&store, ds);
    if (!rc)
        rc = mdm_store_checkout(store, &conn);
    for (size_t t = 0; !rc && t < c->ntables; t++) {
        mdm_field *fields = NULL;
        size_t n = 0;
        stats *s = NULL;
        const char *table = d->tables.values[t];
        rc = mdm_conn_table_schema(conn, table, &fields, &n);
        if (!rc)
            rc = stats_new(&s, fields, n, full);
        mdm_read_request req = {.table = table, .limit = -1};
        feed f = {.st = s};
        if (!rc)
            rc = mdm_conn_read(conn, &req, add_to_stats, &f);
        if (!rc)
            rc = stats_finish(&c->results[t], s);
        stats_free(s);
        mdm_fields_free(fields, n);
        c->entries[t] = (stats_table_entry){d->tables.keys[t], table, c->results[t]};
    }
    if (conn)
        mdm_store_checkin(store, conn);
    c->doc = (stats_document){.dataset_name = d->name, .full = full, .tables = c->entries,
                              .ntables = c->ntables};
    if (rc)
        computed_free(c);
    return rc;
}

static int cache_path(strbuf *sb, const mdm_dataset *ds)
{
    strbuf_appendf(sb, "%s/metadata/statistics.json", ds->place.dir);
    return strbuf_cstr(sb) ? 0 : MDM_ENOMEM;
}

/* The cached document, or NULL when there is none (or it cannot be read). */
static json_t *load_cached(const mdm_dataset *ds)
{
    strbuf path = STRBUF_INIT;
    json_t *doc = NULL;
    if (cache_path(&path, ds) == 0 && mdm_fs_exists(path.data)) {
        json_error_t err;
        doc = json_load_file(path.data, 0, &err);
    }
    strbuf_free(&path);
    return doc;
}

/* Recomputes, keeps the result as the cached document (best effort), and returns it
 * as a tree. */
static int recompute(json_t **doc, computed *c, mdm_dataset *ds, bool full)
{
    int rc = compute(c, ds, full);
    if (!rc)
        rc = stats_export_json(doc, &c->doc);
    if (rc)
        return rc;
    strbuf dir = STRBUF_INIT, path = STRBUF_INIT;
    strbuf_appendf(&dir, "%s/metadata", ds->place.dir);
    if (strbuf_cstr(&dir) && cache_path(&path, ds) == 0 && mdm_mkdirs(dir.data) == 0 &&
        stats_export_file(path.data, &c->doc) != 0)
        MDM_WARN("cannot cache statistics: %s", mdm_error_last()->message);
    strbuf_free(&dir);
    strbuf_free(&path);
    return 0;
}

int mdm_dataset_stats(char **json, mdm_dataset *ds, const mdm_stats_options *opt)
{
    int64_t t0 = history_start();
    *json = NULL;
    bool full = opt && opt->full, fresh = full || (opt && opt->recompute);
    json_t *doc = fresh ? NULL : load_cached(ds);
    computed c = {0};
    int rc = doc ? 0 : recompute(&doc, &c, ds, full);
    if (!rc && !(*json = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)))
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    json_decref(doc);
    computed_free(&c);
    history_note(ds->cat->cfg, "dataset_stats", ds->place.name, t0, mdm_dataset_info_rows(ds->info), -1, rc);
    return rc;
}

int mdm_dataset_stats_export(mdm_dataset *ds, const char *path, const mdm_stats_options *opt)
{
    bool full = opt && opt->full, fresh = full || (opt && opt->recompute);
    json_t *doc = fresh ? NULL : load_cached(ds);
    computed c = {0};
    int rc = 0;
    const char *dot = strrchr(path, '.');
    if (doc && !(dot && strcmp(dot, ".csv") == 0)) {
        /* JSON and YAML come from the cached document itself. */
        rc = stats_export_tree_file(path, doc);
    } else {
        /* CSV is written from results: fresh ones. */
        json_t *made = NULL;
        rc = doc ? compute(&c, ds, false) : recompute(&made, &c, ds, full);
        json_decref(made);
        if (!rc)
            rc = stats_export_file(path, &c.doc);
    }
    json_decref(doc);
    computed_free(&c);
    return rc;
}

int mdm_dataset_export(char ***paths, size_t *npaths, mdm_dataset *ds,
                       const mdm_export_options *opt)
{
    int64_t t0 = history_start();
    mdm_export_options none = {0};
    mdm_store *store = NULL;
    *paths = NULL;
    *npaths = 0;
    int rc = mdm_dataset_store(&store, ds);
    rc = rc ? rc : dataset_export(paths, npaths, ds->cat->cfg, ds->info, store, ds->place.dir,
                                  opt ? opt : &none);
    history_note(ds->cat->cfg, "dataset_export", ds->place.name, t0, opt && opt->table ? -1 : mdm_dataset_info_rows(ds->info), rc ? -1 : history_files_bytes(*paths, *npaths), rc);
    return rc;
}
