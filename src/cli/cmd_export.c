/* mdm dataset export NAME, mdm batch export NAMES... (SPEC §3, §5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/commands.h"

/* Opens `name` and exports it. */
static int export_one(char ***paths, size_t *n, mdm_catalog *cat, const char *name,
                      const mdm_export_options *o)
{
    mdm_dataset *ds = NULL;
    int rc = mdm_dataset_open(&ds, cat, name);
    if (!rc)
        rc = mdm_dataset_export(paths, n, ds, o);
    mdm_dataset_close(ds);
    return rc;
}

#define EXPORT_OPTIONS(o)                                                                  \
    {"--output-dir", "-o", "DIR", &(o).output_dir, "Where to write (default: here)."},     \
        {"--format", "-f", "TEXT", &(o).format, "csv, parquet or json (default: config)."}, \
        {"--compression", "-c", "TEXT", &(o).compression,                                  \
         "none, zip, gzip, zstd; Parquet: snappy, gzip, zstd, lz4."},                      \
        {"--metadata-only", NULL, NULL, &(o).metadata_only, "Only <name>_metadata.json."}

int cli_dataset_export(int argc, char **argv)
{
    mdm_export_options o = {0};
    static const char *const args[] = {"NAME"};
    const char *values[1] = {NULL};
    const cli_opt opts[] = {
        EXPORT_OPTIONS(o),
        {"--table", NULL, "TEXT", &o.table, "Only this table (kind or name)."},
        {"--no-header", NULL, NULL, &o.no_header, "CSV without the header line."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm dataset export NAME [OPTIONS]",
                       .summary = "Write a dataset's tables and metadata to files.",
                       .args = args, .values = values, .nargs = 1, .opts = opts};
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    mdm_catalog *cat = cli_catalog_open();
    if (!cat)
        return 1;
    char **paths = NULL;
    size_t n = 0;
    int rc = export_one(&paths, &n, cat, values[0], &o);
    if (rc) {
        rc = cli_fail_last();
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", paths[i]);
        fprintf(stderr, "Exported %zu file(s)\n", n);
    }
    mdm_paths_free(paths, n);
    cli_catalog_close(cat);
    return rc;
}

int cli_batch_export(int argc, char **argv)
{
    const char *names[256];
    size_t nnames = 0;
    for (int i = 1; i < argc && argv[i][0] != '-' && nnames < 256; i++)
        names[nnames++] = argv[i];
    mdm_export_options o = {.output_dir = "exports"};
    const cli_opt opts[] = {EXPORT_OPTIONS(o), {NULL, NULL, NULL, NULL, NULL}};
    cli_command cmd = {.usage = "mdm batch export NAMES... [OPTIONS]",
                       .summary = "Export several datasets, each to <output-dir>/<name>/.",
                       .opts = opts};
    int prc = cli_parse(&cmd, argc - (int)nnames, argv + nnames);
    if (prc)
        return prc < 0 ? 0 : prc;
    if (nnames == 0) {
        cli_fail("Missing argument 'NAMES...'.");
        return 2;
    }
    mdm_catalog *cat = cli_catalog_open();
    if (!cat)
        return 1;
    mkdir(o.output_dir, 0755);
    size_t ok = 0, failed = 0;
    for (size_t i = 0; i < nnames; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", o.output_dir, names[i]);
        mdm_export_options one = o;
        one.output_dir = dir;
        bool exists = false;
        if (mdm_catalog_exists(&exists, cat, names[i]) != 0 || !exists) {
            fprintf(stderr, "Warning: dataset '%s' not found\n", names[i]);
            failed++;
            continue;
        }
        char **paths = NULL;
        size_t n = 0;
        if (export_one(&paths, &n, cat, names[i], &one) == 0) {
            printf("%s: %zu file(s) in %s\n", names[i], n, dir);
            ok++;
        } else {
            fprintf(stderr, "Error: %s: %s\n", names[i], mdm_error_last()->message);
            failed++;
        }
        mdm_paths_free(paths, n);
    }
    printf("\nSummary: %zu succeeded, %zu failed\n", ok, failed);
    cli_catalog_close(cat);
    return 0;
}
