/* mdm dataset stats NAME [--full] [--export PATH] (SPEC §3): cached statistics from
 * registration, or recomputed over whole tables with --full. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "core/strbuf.h"
#include "dataset/catalog.h"
#include "dataset/register.h"
#include "dataset/stats.h"
#include "dataset/stats_export.h"

static int add_to_stats(const mdm_batch *b, void *ctx) { return stats_add_batch(ctx, b); }

/* Reads every table of the dataset through its store into statistics. */
static int compute(const mdm_config *cfg, const dataset_info *d, bool full, stats_result ***results)
{
    mdm_store *store = NULL;
    mdm_conn *conn = NULL;
    const char *backend = dataset_backend_registry_name(d->database.backend);
    int rc = mdm_store_open_dataset(&store, backend, d->name, cfg);
    if (!rc)
        rc = mdm_store_checkout(store, &conn);
    *results = calloc(d->tables.count + 1, sizeof **results);
    if (!rc && !*results)
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    for (size_t t = 0; !rc && t < d->tables.count; t++) {
        mdm_field *fields = NULL;
        size_t n = 0;
        stats *s = NULL;
        const char *table = d->tables.values[t];
        rc = mdm_conn_table_schema(conn, table, &fields, &n);
        if (!rc)
            rc = stats_new(&s, fields, n, full);
        mdm_read_request req = {.table = table, .limit = -1};
        if (!rc)
            rc = mdm_conn_read(conn, &req, add_to_stats, s);
        if (!rc)
            rc = stats_finish(s, &(*results)[t]);
        stats_free(s);
        mdm_fields_free(fields, n);
    }
    mdm_store_checkin(store, conn);
    mdm_store_free(store);
    return rc;
}

static void print_document(const json_t *doc, bool full)
{
    const json_t *summary = json_object_get(doc, "summary");
    printf("Statistics for '%s' (%s, computed %s)\n\n",
           json_string_value(json_object_get(doc, "dataset_name")),
           json_string_value(json_object_get(doc, "mode")),
           json_string_value(json_object_get(doc, "computed_at")));
    printf("  Tables:          %lld\n", (long long)json_integer_value(json_object_get(summary, "total_tables")));
    printf("  Rows:            %lld\n", (long long)json_integer_value(json_object_get(summary, "total_rows")));
    printf("  Columns:         %lld\n", (long long)json_integer_value(json_object_get(summary, "total_columns")));
    printf("  Completeness:    %.2f %%\n",
           100 * json_number_value(json_object_get(summary, "overall_completeness")));
    printf("  Missing cells:   %lld\n",
           (long long)json_integer_value(json_object_get(summary, "total_missing_cells")));
    const char *kind;
    json_t *table;
    json_object_foreach((json_t *)json_object_get(doc, "tables"), kind, table) {
        printf("\n  %s: %lld rows, %lld columns, %.2f %% complete\n", kind,
               (long long)json_integer_value(json_object_get(table, "row_count")),
               (long long)json_integer_value(json_object_get(table, "column_count")),
               100 * json_number_value(json_object_get(table, "completeness")));
        if (!full)
            continue;
        printf("  %-28s %-10s %10s %10s %14s %14s\n", "Column", "Type", "Non-null", "Unique",
               "Mean", "Std");
        const char *col;
        json_t *c;
        json_object_foreach(json_object_get(table, "columns"), col, c) {
            json_t *mean = json_object_get(c, "mean"), *std = json_object_get(c, "std");
            char m[32] = "-", s[32] = "-";
            if (json_is_number(mean))
                snprintf(m, sizeof m, "%.6g", json_number_value(mean));
            if (json_is_number(std))
                snprintf(s, sizeof s, "%.6g", json_number_value(std));
            printf("  %-28s %-10s %10lld %10lld %14s %14s\n", col,
                   json_string_value(json_object_get(c, "dtype")),
                   (long long)json_integer_value(json_object_get(c, "count")),
                   (long long)json_integer_value(json_object_get(c, "unique_count")), m, s);
        }
    }
}

int cli_dataset_stats(int argc, char **argv)
{
    bool full = false;
    const char *export_path = NULL, *format = "rich";
    static const char *const args[] = {"NAME"};
    const char *values[1] = {NULL};
    const cli_opt opts[] = {
        {"--full", NULL, NULL, &full, "Recompute with percentiles, skew, kurtosis, correlations, duplicates."},
        {"--export", NULL, "PATH", &export_path, "Write them to PATH (.yaml, .csv, else JSON)."},
        {"--format", "-f", "TEXT", &format, "rich (default) or json."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm dataset stats NAME [OPTIONS]",
                       .summary = "Show a dataset's statistics, computed over whole tables.",
                       .args = args, .values = values, .nargs = 1, .opts = opts};
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    if (strcmp(format, "rich") != 0 && strcmp(format, "json") != 0) {
        cli_fail("Invalid value for '--format': '%s' is not one of rich, json.", format);
        return 2;
    }
    mdm_config *cfg = cli_config_load();
    if (!cfg)
        return 1;
    dataset_info *d = NULL;
    stats_result **results = NULL;
    json_t *doc = NULL;
    char *dir = NULL;
    strbuf cache = STRBUF_INIT;
    int rc = catalog_load(&d, cfg, values[0]);
    if (!rc)
        rc = catalog_dataset_dir(&dir, cfg, d->name);
    if (!rc) {
        strbuf_appendf(&cache, "%s/metadata/statistics.json", dir);
        rc = strbuf_cstr(&cache) ? 0 : MDM_ENOMEM;
    }
    struct stat st;
    bool cached = !rc && !full && stat(cache.data, &st) == 0;
    if (cached) {
        json_error_t err;
        doc = json_load_file(cache.data, 0, &err);
        cached = doc != NULL; /* unreadable: recompute */
    }
    stats_table_entry *entries = NULL;
    stats_document sd = {0};
    if (!rc && !cached) {
        rc = compute(cfg, d, full, &results);
        entries = calloc(d->tables.count + 1, sizeof *entries);
        for (size_t t = 0; !rc && entries && t < d->tables.count; t++)
            entries[t] = (stats_table_entry){d->tables.keys[t], d->tables.values[t], results[t]};
        sd = (stats_document){.dataset_name = d->name, .full = full, .tables = entries,
                              .ntables = d->tables.count};
        if (!rc)
            rc = stats_export_json(&doc, &sd);
        /* Keep it for next time. */
        char *metadir = !rc ? strndup(cache.data, cache.len - strlen("/statistics.json")) : NULL;
        if (metadir && (mkdir(metadir, 0755) == 0 || errno == EEXIST))
            stats_export_file(cache.data, &sd);
        free(metadir);
    }
    if (!rc && export_path) {
        if (cached) {
            /* JSON and YAML come from the cached document; CSV from fresh results. */
            const char *dot = strrchr(export_path, '.');
            if (dot && strcmp(dot, ".csv") == 0) {
                rc = compute(cfg, d, false, &results);
                entries = calloc(d->tables.count + 1, sizeof *entries);
                for (size_t t = 0; !rc && entries && t < d->tables.count; t++)
                    entries[t] = (stats_table_entry){d->tables.keys[t], d->tables.values[t], results[t]};
                sd = (stats_document){.dataset_name = d->name, .full = false, .tables = entries,
                                      .ntables = d->tables.count};
                if (!rc)
                    rc = stats_export_file(export_path, &sd);
            } else {
                rc = stats_export_tree_file(export_path, doc);
            }
        } else {
            rc = stats_export_file(export_path, &sd);
        }
        if (!rc)
            fprintf(stderr, "Statistics written to %s\n", export_path);
    }
    if (rc) {
        rc = cli_fail_last();
    } else if (strcmp(format, "json") == 0) {
        cli_print_json(json_incref(doc));
    } else {
        print_document(doc, full);
    }
    for (size_t t = 0; results && d && t < d->tables.count; t++)
        stats_result_free(results[t]);
    free(results);
    free(entries);
    json_decref(doc);
    strbuf_free(&cache);
    free(dir);
    dataset_info_free(d);
    cli_config_free(cfg);
    return rc;
}
