/* Exporting a dataset (export.h). */
#include "dataset/export.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/strbuf.h"
#include "core/fs.h"
#include "dataset/dataset_info.h"
#include "io/export.h"

static int add_path(char ***paths, size_t *n, const char *path)
{
    char **grown = realloc(*paths, (*n + 1) * sizeof *grown);
    if (!grown)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    *paths = grown;
    if (!(grown[*n] = strdup(path)))
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    (*n)++;
    return 0;
}

/* <out>/<name>_metadata.json: the registry record, the export time, cached statistics. */
static int write_metadata(const dataset_info *d, const char *dataset_dir, const char *path)
{
    json_t *doc = json_object(), *record = NULL;
    int rc = dataset_info_to_tree(&record, d);
    char when[64];
    dataset_time_format(when, sizeof when, dataset_time_now());
    if (!rc) {
        json_object_set_new(doc, "dataset_name", json_string(d->name));
        json_object_set_new(doc, "export_timestamp", json_string(when));
        json_object_set_new(doc, "dataset_info", record);
        strbuf sb = STRBUF_INIT;
        strbuf_appendf(&sb, "%s/metadata/statistics.json", dataset_dir);
        json_error_t err;
        json_t *stats = strbuf_cstr(&sb) ? json_load_file(sb.data, 0, &err) : NULL;
        if (stats)
            json_object_set_new(doc, "statistics", stats);
        strbuf_free(&sb);
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        rc = text ? mdm_fs_write_atomic(path, text, strlen(text))
                  : mdm_error_set(MDM_ENOMEM, "out of memory");
        free(text);
    }
    json_decref(doc);
    return rc;
}

static int has_a_row(const mdm_batch *b, void *ctx)
{
    *(bool *)ctx = mdm_batch_nrows(b) > 0;
    return 1; /* one batch is enough */
}

/* The writer's sink, stopping at a cancellation. */
typedef struct write_ctx {
    io_writer *w;
    mdm_cancel *cancel;
} write_ctx;

static int write_batch(const mdm_batch *b, void *ctx)
{
    write_ctx *wc = ctx;
    if (mdm_cancel_requested(wc->cancel))
        return mdm_error_set(MDM_ECANCELED, "export cancelled");
    return io_writer_sink(b, wc->w);
}

int dataset_export(char ***paths, size_t *npaths, const mdm_config *cfg, const dataset_info *d,
                   mdm_store *store, const char *dataset_dir, const export_options *opt)
{
    *paths = NULL;
    *npaths = 0;
    mdm_conn *conn = NULL;
    strbuf path = STRBUF_INIT;
    const char *out = opt->output_dir ? opt->output_dir : ".";
    io_export_options wo = {.header = !opt->no_header, .cfg = cfg};
    io_compression requested;
    int rc = io_export_format_parse(
        &wo.format, opt->format ? opt->format : mdm_config_str(cfg, "export.default_format"));
    if (!rc)
        rc = io_compression_parse(&requested, opt->compression
                                                  ? opt->compression
                                                  : mdm_config_str(cfg, "export.compression"));
    /* zip is the configured default for every format: a Parquet export that did not ask
     * for it gets Parquet's own default quietly; `-c zip` still hears why not. */
    if (!rc && !opt->compression && wo.format == IO_EXPORT_PARQUET &&
        requested == IO_COMPRESSION_ZIP)
        requested = IO_COMPRESSION_SNAPPY;
    if (!rc)
        rc = io_export_resolve_compression(&wo.compression, wo.format, requested);
    /* The table asked for: by kind ("train") or by table name. */
    long only = -1;
    for (size_t t = 0; !rc && opt->table && t < d->tables.count; t++)
        if (strcasecmp(d->tables.keys[t], opt->table) == 0 ||
            strcasecmp(d->tables.values[t], opt->table) == 0)
            only = (long)t;
    if (!rc && opt->table && only < 0)
        rc = mdm_error_set(MDM_ENOTFOUND, "Table '%s' not found in dataset", opt->table);
    if (!rc && mkdir(out, 0755) != 0 && errno != EEXIST)
        rc = mdm_error_set(MDM_EIO, "cannot create %s: %s", out, strerror(errno));
    if (rc)
        goto cleanup;

    if (opt->metadata_only || mdm_config_bool(cfg, "export.include_metadata")) {
        strbuf_appendf(&path, "%s/%s_metadata.json", out, d->name);
        if (!strbuf_cstr(&path) || (rc = write_metadata(d, dataset_dir, path.data)) ||
            (rc = add_path(paths, npaths, path.data)))
            goto cleanup;
    }
    if (opt->metadata_only)
        goto cleanup;

    if ((rc = mdm_store_checkout(store, &conn)))
        goto cleanup;
    for (size_t t = 0; t < d->tables.count; t++) {
        if (only >= 0 && (long)t != only)
            continue;
        const char *table = d->tables.values[t];
        mdm_field *fields = NULL;
        size_t n = 0;
        if ((rc = mdm_conn_table_schema(conn, table, &fields, &n)))
            goto cleanup;
        /* Empty tables are skipped (SPEC §5). */
        bool any = false;
        mdm_read_request probe = {.table = table, .limit = 1};
        rc = mdm_conn_read(conn, &probe, has_a_row, &any);
        if (rc < 0 || !any) {
            mdm_fields_free(fields, n);
            if (rc < 0)
                goto cleanup;
            rc = 0;
            continue;
        }
        strbuf_reset(&path);
        strbuf_appendf(&path, "%s/%s_%s%s", out, d->name, d->tables.keys[t],
                       io_export_extension(wo.format, wo.compression));
        io_writer *w = NULL;
        rc = strbuf_cstr(&path) ? io_writer_open(&w, path.data, fields, n, &wo) : MDM_ENOMEM;
        mdm_fields_free(fields, n);
        if (rc)
            goto cleanup;
        mdm_read_request req = {.table = table, .limit = -1};
        write_ctx wc = {.w = w, .cancel = opt->cancel};
        rc = mdm_conn_read(conn, &req, write_batch, &wc);
        if (rc) {
            io_writer_abort(w);
            goto cleanup;
        }
        if ((rc = io_writer_finish(w)) || (rc = add_path(paths, npaths, path.data)))
            goto cleanup;
    }
cleanup:
    if (conn)
        mdm_store_checkin(store, conn);
    strbuf_free(&path);
    return rc;
}
