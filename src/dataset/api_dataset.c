/* One dataset resolved once (mdm/dataset.h): open, its store, its tables, and reading
 * a table as typed batches. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/fs.h"
#include "core/strbuf.h"
#include "dataset/api.h"
#include "dataset/catalog.h"
#include "dataset/history.h"
#include "dataset/replace.h"
#include "mdm/sys/backend.h"

/* A file backend's engine creates a missing database file when it opens it: reading a
 * dataset whose file is gone (export, stats, ...) would then quietly make a new empty
 * one. It is an error instead, naming the file. */
static int check_database_file(const mdm_dataset *ds)
{
    const mdm_backend *be = mdm_backend_find(ds->backend);
    if (!be || !(mdm_backend_caps(be) & MDM_BACKEND_CAP_FILE))
        return 0;
    strbuf path = STRBUF_INIT;
    strbuf_appendf(&path, "%s/%s%s", ds->place.dir, ds->place.name, be->file_extension);
    if (!strbuf_cstr(&path))
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    int rc = 0;
    struct stat st;
    if (stat(path.data, &st) != 0)
        rc = errno == ENOENT
                 ? mdm_error_set(MDM_ENOTFOUND, "Dataset '%s': database file missing: %s",
                                 ds->place.name, path.data)
                 : mdm_error_set(MDM_EIO, "Dataset '%s': cannot check database file %s: %s",
                                 ds->place.name, path.data, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = mdm_error_set(MDM_EINVALID, "Dataset '%s': database file %s is not a regular file",
                           ds->place.name, path.data);
    strbuf_free(&path);
    return rc;
}

int mdm_dataset_open(mdm_dataset **out, mdm_catalog *cat, const char *name)
{
    *out = NULL;
    mdm_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    ds->cat = cat;
    pthread_mutex_init(&ds->store_lock, NULL);
    int rc = dataset_place_resolve(&ds->place, cat->cfg, name);
    /* A `register --force` that died half way left its old dataset aside: put the
     * dataset back in order before reading it. */
    if (!rc)
        rc = replace_settle(cat->cfg, &ds->place);
    if (!rc && (rc = catalog_load_at(&ds->info, &ds->place)) == MDM_ENOTFOUND)
        rc = mdm_error_set(MDM_ENOTFOUND, "Dataset '%s' not found", name);
    if (!rc) {
        ds->backend = api_record_backend(ds->info, cat->cfg);
        if (!mdm_backend_find(ds->backend))
            rc = mdm_error_set(MDM_ENOTFOUND, "Dataset '%s': unknown backend '%s'", ds->place.name,
                               ds->info->database.backend);
    }
    if (!rc)
        rc = check_database_file(ds);
    if (rc) {
        mdm_dataset_close(ds);
        return rc;
    }
    *out = ds;
    return 0;
}

void mdm_dataset_close(mdm_dataset *ds)
{
    if (!ds)
        return;
    mdm_store_free(ds->store);
    pthread_mutex_destroy(&ds->store_lock);
    dataset_info_free(ds->info);
    dataset_place_clear(&ds->place);
    free(ds);
}

const char *mdm_dataset_name(const mdm_dataset *ds) { return ds->place.name; }
const mdm_dataset_info *mdm_dataset_record(const mdm_dataset *ds) { return ds->info; }
const char *mdm_dataset_backend(const mdm_dataset *ds) { return ds->backend; }
const char *mdm_dataset_dir(const mdm_dataset *ds) { return ds->place.dir; }

int mdm_dataset_store(mdm_store **out, mdm_dataset *ds)
{
    *out = NULL;
    int rc = 0;
    pthread_mutex_lock(&ds->store_lock);
    if (!ds->store)
        rc = mdm_store_open_dataset(&ds->store, ds->backend, ds->place.name, ds->cat->cfg);
    *out = ds->store;
    pthread_mutex_unlock(&ds->store_lock);
    return rc;
}

int mdm_dataset_table_name(const char **out, const mdm_dataset *ds, const char *table)
{
    *out = NULL;
    const dataset_strmap *t = &ds->info->tables;
    for (size_t i = 0; table && i < t->count; i++)
        if (strcmp(t->keys[i], table) == 0 || strcmp(t->values[i], table) == 0) {
            *out = t->values[i];
            return 0;
        }
    for (size_t i = 0; table && i < t->count; i++)
        if (strcasecmp(t->keys[i], table) == 0 || strcasecmp(t->values[i], table) == 0) {
            *out = t->values[i];
            return 0;
        }
    strbuf names = STRBUF_INIT;
    for (size_t i = 0; i < t->count; i++)
        strbuf_appendf(&names, "%s%s", i ? ", " : "", t->keys[i]);
    int rc = mdm_error_set(MDM_ENOTFOUND, "Table '%s' not found in dataset '%s' (tables: %s)",
                           table ? table : "", ds->place.name, names.data ? names.data : "none");
    strbuf_free(&names);
    return rc;
}

int mdm_dataset_table_schema(mdm_field **fields, size_t *nfields, mdm_dataset *ds,
                             const char *table)
{
    *fields = NULL;
    *nfields = 0;
    const char *name;
    mdm_store *store = NULL;
    mdm_conn *conn = NULL;
    int rc = mdm_dataset_table_name(&name, ds, table);
    if (!rc)
        rc = mdm_dataset_store(&store, ds);
    if (!rc)
        rc = mdm_store_checkout(store, &conn);
    if (!rc)
        rc = mdm_conn_table_schema(conn, name, fields, nfields);
    if (conn)
        mdm_store_checkin(store, conn);
    return rc;
}

static int take_count(const mdm_batch *b, void *ctx)
{
    if (mdm_batch_nrows(b) > 0 && !mdm_batch_is_null(b, 0, 0))
        *(int64_t *)ctx = mdm_batch_int64(b, 0, 0);
    return 0;
}

int mdm_dataset_table_rows(int64_t *rows, mdm_dataset *ds, const char *table)
{
    *rows = 0;
    const char *name;
    mdm_store *store = NULL;
    mdm_conn *conn = NULL;
    strbuf sql = STRBUF_INIT;
    int rc = mdm_dataset_table_name(&name, ds, table);
    if (!rc) {
        strbuf_append(&sql, "SELECT COUNT(*) FROM ");
        strbuf_append_ident(&sql, name);
        rc = strbuf_cstr(&sql) ? 0 : MDM_ENOMEM;
    }
    if (!rc)
        rc = mdm_dataset_store(&store, ds);
    if (!rc)
        rc = mdm_store_checkout(store, &conn);
    if (!rc)
        rc = mdm_conn_execute(conn, sql.data, NULL, 0, take_count, rows, NULL);
    if (conn)
        mdm_store_checkin(store, conn);
    strbuf_free(&sql);
    return rc;
}

/* ------------------------------------------------------------------ reading */

typedef struct read_ctx {
    mdm_batch_sink sink;
    void *ctx;
    mdm_cancel *cancel;
    bool delivered;
} read_ctx;

static int deliver(const mdm_batch *batch, void *p)
{
    read_ctx *r = p;
    int rc = api_cancel_check(r->cancel, "read");
    if (rc)
        return rc;
    r->delivered = true;
    return r->sink(batch, r->ctx);
}

/* The requested columns (all when none are named) of `fields`, in the order asked. */
static int pick_fields(mdm_field **out, const mdm_field *fields, size_t n,
                       const mdm_table_read *req, const char *table)
{
    size_t want = req->columns ? req->ncolumns : n;
    mdm_field *picked = calloc(want ? want : 1, sizeof *picked);
    if (!picked)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    for (size_t i = 0; i < want; i++) {
        if (!req->columns) {
            picked[i] = fields[i];
            continue;
        }
        size_t k = 0;
        while (k < n && strcmp(fields[k].name, req->columns[i]) != 0)
            k++;
        if (k == n) {
            free(picked);
            return mdm_error_set(MDM_ENOTFOUND, "Column '%s' not found in table '%s'",
                                 req->columns[i], table);
        }
        picked[i] = fields[k];
    }
    *out = picked;
    return 0;
}

/* A zero-row batch with the result's column names and types, for a read that matched
 * no row: callers learn the shape of the table even then. */
static int deliver_empty(mdm_conn *conn, const char *table, const mdm_table_read *req,
                         read_ctx *r)
{
    mdm_field *fields = NULL, *picked = NULL;
    size_t n = 0;
    mdm_batch *empty = NULL;
    int rc = mdm_conn_table_schema(conn, table, &fields, &n);
    if (!rc)
        rc = pick_fields(&picked, fields, n, req, table);
    size_t want = req->columns ? req->ncolumns : n;
    if (!rc)
        rc = mdm_batch_new(&empty, picked, want, 0);
    if (!rc)
        rc = r->sink(empty, r->ctx);
    mdm_batch_free(empty);
    free(picked);
    mdm_fields_free(fields, n);
    return rc;
}

int mdm_dataset_read(mdm_dataset *ds, const mdm_table_read *req, mdm_batch_sink sink,
                     void *ctx)
{
    int64_t t0 = history_start();
    const char *table;
    mdm_store *store = NULL;
    mdm_conn *conn = NULL;
    if (req->offset < 0)
        return mdm_error_set(MDM_EINVALID, "read: offset must be 0 or more (got %lld)",
                             (long long)req->offset);
    int rc = mdm_dataset_table_name(&table, ds, req->table);
    if (!rc)
        rc = api_cancel_check(req->cancel, "read");
    if (!rc)
        rc = mdm_dataset_store(&store, ds);
    if (!rc)
        rc = mdm_store_checkout(store, &conn);
    read_ctx r = {.sink = sink, .ctx = ctx, .cancel = req->cancel};
    if (!rc) {
        mdm_read_request rr = {.table = table, .columns = req->columns,
                               .ncolumns = req->columns ? req->ncolumns : 0,
                               .limit = req->limit, .offset = req->offset,
                               .batch_rows = req->batch_rows};
        rc = mdm_conn_read(conn, &rr, deliver, &r);
    }
    if (!rc && !r.delivered)
        rc = deliver_empty(conn, table, req, &r);
    if (conn)
        mdm_store_checkin(store, conn);
    history_note(ds->cat->cfg, "dataset_read", ds->place.name, t0, -1, -1, rc);
    return rc;
}
