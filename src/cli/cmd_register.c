/* mdm dataset register NAME [PATH] (SPEC §3). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/progress.h"

static void print_summary(const mdm_dataset_info *info, bool dry_run)
{
    bool tty = isatty(STDOUT_FILENO);
    if (!dry_run)
        printf("%s Dataset '%s' registered successfully!\n\n", tty ? "\xe2\x9c\x93" : "OK:",
               info->name);
    printf("  Target:        %s\n", info->target_column ? info->target_column : "-");
    printf("  Problem Type:  %s\n", info->problem_type ? info->problem_type : "-");
    printf("  ID Columns:    ");
    for (size_t i = 0; i < info->id_columns.count; i++)
        printf("%s%s", i ? ", " : "", info->id_columns.items[i]);
    printf("%s\n", info->id_columns.count ? "" : "-");
    printf("  Tables:        ");
    for (size_t i = 0; i < info->tables.count; i++)
        printf("%s%s", i ? ", " : "", info->tables.keys[i]);
    printf("\n  Backend:       %s\n", info->database.backend);

    /* The first 20 columns of train (or data): type and share of NULLs. */
    const char *kind = mdm_strmap_get(&info->tables, "train") ? "train"
                       : mdm_strmap_get(&info->tables, "data") ? "data"
                       : info->tables.count ? info->tables.keys[0] : NULL;
    const mdm_dataset_table_columns *cols = kind ? mdm_dataset_info_columns(info, kind) : NULL;
    if (cols) {
        printf("\n  %-32s %-10s %s\n", "Column", "Type", "Null %");
        for (size_t i = 0; i < cols->count && i < 20; i++) {
            json_t *nr = cols->columns[i].extra ? json_object_get(cols->columns[i].extra, "null_ratio") : NULL;
            printf("  %-32s %-10s %6.1f\n", cols->columns[i].name, cols->columns[i].type,
                   nr ? 100.0 * json_number_value(nr) : 0.0);
        }
        if (cols->count > 20)
            printf("  ... and %zu more columns\n", cols->count - 20);
    }
    int64_t rows = mdm_dataset_info_rows(info);
    if (rows >= 0)
        printf("\n  Total rows: %lld\n", (long long)rows);
}

int cli_dataset_register(int argc, char **argv)
{
    mdm_register_options o = {0};
    bool no_features = false, no_auto = false;
    static const char *const args[] = {"NAME", "[PATH]"};
    const char *values[2] = {NULL, NULL};
    const cli_opt opts[] = {
        {"--target", "-t", "TEXT", &o.target, "Target column (checked against the data)."},
        {"--id-columns", NULL, "TEXT", &o.id_columns, "ID columns, comma-separated."},
        {"--problem-type", NULL, "TEXT", &o.problem_type,
         "binary_classification, multiclass_classification, regression, time_series or clustering."},
        {"--description", "-d", "TEXT", &o.description, "Dataset description."},
        {"--tags", NULL, "TEXT", &o.tags, "Tags, comma-separated."},
        {"--time-column", NULL, "TEXT", &o.time_column, "Time column for time series."},
        {"--group-column", NULL, "TEXT", &o.group_column, "Group column for time series."},
        {"--backend", NULL, "TEXT", &o.backend, "sqlite, duckdb or postgresql (default: config)."},
        {"--force", "-f", NULL, &o.force, "Replace the dataset if it exists."},
        {"--no-features", NULL, NULL, &no_features, "Skip feature generation."},
        {"--categorical-columns", NULL, "TEXT", &o.categorical_columns, "Columns to treat as categorical."},
        {"--datetime-columns", NULL, "TEXT", &o.datetime_columns, "Columns to treat as datetime."},
        {"--numeric-columns", NULL, "TEXT", &o.numeric_columns, "Columns to treat as numeric."},
        {"--text-columns", NULL, "TEXT", &o.text_columns, "Columns to treat as text."},
        {"--ignore-columns", NULL, "TEXT", &o.ignore_columns, "Columns to leave out, comma-separated."},
        {"--stratify-column", NULL, "TEXT", &o.stratify_column, "Column to stratify splits by (checked)."},
        {"--source", NULL, "TEXT", &o.source, "Where the data came from (recorded instead of PATH)."},
        {"--dry-run", NULL, NULL, &o.dry_run, "Read and analyse everything, register nothing."},
        {"--skip-analysis", NULL, NULL, &o.skip_analysis, "No statistics while loading (faster)."},
        {"--no-auto", NULL, NULL, &no_auto, "Name the files yourself with --train and the others."},
        {"--train", NULL, "FILE", &o.train, "With --no-auto: the training file (required)."},
        {"--test", NULL, "FILE", &o.test, "With --no-auto: the test file."},
        {"--validation", NULL, "FILE", &o.validation, "With --no-auto: the validation file."},
        {"--submission", NULL, "FILE", &o.submission, "With --no-auto: the sample submission file."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {
        .usage = "mdm dataset register NAME [PATH] [OPTIONS]",
        .summary = "Register the dataset in PATH (a file or a directory; default: the current "
                   "directory) under NAME.",
        .args = args, .values = values, .nargs = 2, .opts = opts,
    };
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    o.name = values[0];
    bool manual_files = o.train || o.test || o.validation || o.submission;
    if (no_auto) {
        if (!o.train || !o.target) {
            cli_fail("--no-auto needs --train and --target");
            return 2;
        }
        if (values[1]) {
            cli_fail("--no-auto takes its files from --train/--test/--validation/--submission; "
                     "PATH is not allowed");
            return 2;
        }
    } else if (manual_files) {
        cli_fail("--train, --test, --validation and --submission need --no-auto");
        return 2;
    } else {
        o.path = values[1] ? values[1] : ".";
    }
    o.no_features = no_features;
    o.progress = cli_progress_register;

    mdm_catalog *cat = cli_catalog_open();
    if (!cat)
        return 1;
    mdm_dataset_info *info = NULL;
    mdm_strlist notes = {0};
    int rc = mdm_dataset_register(&info, &notes, cat, &o);
    for (size_t i = 0; i < notes.count; i++)
        fprintf(stderr, "Note: %s\n", notes.items[i]);
    mdm_strlist_free(&notes);
    if (rc) {
        rc = cli_fail_last();
    } else if (o.dry_run) {
        printf("Dry run: nothing was registered. Dataset '%s' would be:\n\n", info->name);
        print_summary(info, true);
    } else {
        print_summary(info, false);
    }
    mdm_dataset_info_free(info);
    cli_catalog_close(cat);
    return rc;
}
