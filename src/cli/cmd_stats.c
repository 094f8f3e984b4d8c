/* mdm dataset stats NAME [--full] [--export PATH] (SPEC §3): cached statistics from
 * registration, or recomputed over whole tables with --full. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/commands.h"

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
    mdm_catalog *cat = cli_catalog_open();
    if (!cat)
        return 1;
    mdm_dataset *ds = NULL;
    char *text = NULL;
    json_t *doc = NULL;
    mdm_stats_options so = {.full = full};
    int rc = mdm_dataset_open(&ds, cat, values[0]);
    if (!rc)
        rc = mdm_dataset_stats(&text, ds, &so);
    if (!rc) {
        json_error_t err;
        if (!(doc = json_loads(text, 0, &err)))
            rc = mdm_error_set(MDM_EINVALID, "statistics document: %s", err.text);
    }
    if (!rc && export_path) {
        rc = mdm_dataset_stats_export(ds, export_path, &so);
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
    json_decref(doc);
    free(text);
    mdm_dataset_close(ds);
    cli_catalog_close(cat);
    return rc;
}
