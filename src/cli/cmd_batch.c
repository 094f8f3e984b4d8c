/* mdm batch export | stats | remove NAMES...: the single-dataset commands over several
 * datasets. An unknown name is a warning and counts as failed; the others go on. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/commands.h"

enum { MAX_NAMES = 256 };

/* Splits argv into dataset names and the options that follow them. */
static size_t take_names(int argc, char **argv, const char **names)
{
    size_t n = 0;
    for (int i = 1; i < argc && argv[i][0] != '-' && n < MAX_NAMES; i++)
        names[n++] = argv[i];
    return n;
}

static bool known(mdm_catalog *cat, const char *name)
{
    bool exists = false;
    return mdm_catalog_exists(&exists, cat, name) == 0 && exists;
}

static void summary(size_t ok, size_t failed)
{
    printf("\nSummary: %zu succeeded, %zu failed\n", ok, failed);
}

static int batch_stats(int argc, char **argv)
{
    const char *names[MAX_NAMES];
    size_t n = take_names(argc, argv, names);
    bool full = false;
    const char *dir = NULL;
    const cli_opt opts[] = {
        {"--full", NULL, NULL, &full, "Full statistics."},
        {"--export", NULL, "DIR", &dir, "Write DIR/<name>_stats.json for each."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm batch stats NAMES... [OPTIONS]",
                       .summary = "Show (and export) the statistics of several datasets.",
                       .opts = opts};
    int prc = cli_parse(&cmd, argc - (int)n, argv + n);
    if (prc)
        return prc < 0 ? 0 : prc;
    if (n == 0) {
        cli_fail("Missing argument 'NAMES...'.");
        return 2;
    }
    if (dir)
        mkdir(dir, 0755);
    mdm_catalog *cat = cli_catalog_open();
    if (!cat)
        return 1;
    size_t ok = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!known(cat, names[i])) {
            fprintf(stderr, "Warning: dataset '%s' not found\n", names[i]);
            failed++;
            continue;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s_stats.json", dir ? dir : ".", names[i]);
        char *args[6] = {"stats", (char *)names[i]};
        int na = 2;
        if (full)
            args[na++] = "--full";
        if (dir) {
            args[na++] = "--export";
            args[na++] = path;
        }
        if (cli_dataset_stats(na, args) == 0)
            ok++;
        else
            failed++;
        putchar('\n');
    }
    summary(ok, failed);
    cli_catalog_close(cat);
    return 0;
}

static int batch_remove(int argc, char **argv)
{
    const char *names[MAX_NAMES];
    size_t n = take_names(argc, argv, names);
    bool force = false, dry_run = false;
    const cli_opt opts[] = {
        {"--force", "-f", NULL, &force, "Do not ask for confirmation."},
        {"--dry-run", NULL, NULL, &dry_run, "Show what would be removed, remove nothing."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm batch remove NAMES... [OPTIONS]",
                       .summary = "Remove several datasets after one confirmation.", .opts = opts};
    int prc = cli_parse(&cmd, argc - (int)n, argv + n);
    if (prc)
        return prc < 0 ? 0 : prc;
    if (n == 0) {
        cli_fail("Missing argument 'NAMES...'.");
        return 2;
    }
    mdm_catalog *cat = cli_catalog_open();
    if (!cat)
        return 1;
    unsigned long long total = 0;
    size_t present = 0, failed = 0;
    bool here[MAX_NAMES];
    for (size_t i = 0; i < n; i++) {
        here[i] = known(cat, names[i]);
        if (!here[i]) {
            fprintf(stderr, "Warning: dataset '%s' not found\n", names[i]);
            failed++;
            continue;
        }
        uint64_t bytes = 0;
        mdm_catalog_dataset_size(&bytes, cat, names[i]);
        printf("  %-32s %10.1f MB\n", names[i], (double)bytes / 1e6);
        total += bytes;
        present++;
    }
    printf("  %-32s %10.1f MB\n", "Total", (double)total / 1e6);
    size_t ok = 0;
    if (dry_run) {
        puts("Dry run: nothing removed.");
    } else if (present > 0) {
        bool go = force || !mdm_config_bool(mdm_catalog_config(cat), "cli.confirm_destructive");
        if (!go) {
            fprintf(stderr, "Remove these %zu datasets? [y/N]: ", present);
            char answer[16] = "";
            go = fgets(answer, sizeof answer, stdin) &&
                 (strcmp(answer, "y\n") == 0 || strcmp(answer, "yes\n") == 0);
        }
        if (!go) {
            puts("Cancelled.");
        } else {
            for (size_t i = 0; i < n; i++) {
                if (!here[i])
                    continue;
                char *args[] = {"remove", (char *)names[i], "--force"};
                if (cli_dataset_remove(3, args) == 0)
                    ok++;
                else
                    failed++;
            }
            summary(ok, failed);
        }
    }
    cli_catalog_close(cat);
    return 0;
}

static void usage(void)
{
    puts("Usage: mdm batch COMMAND NAMES... [OPTIONS]\n"
         "\n"
         "  Run a dataset command over several datasets.\n"
         "\n"
         "Commands:\n"
         "  export  Export each to <output-dir>/<name>/ (-o, -f, -c, --metadata-only).\n"
         "  stats   Statistics of each (--full, --export DIR).\n"
         "  remove  Remove them after one confirmation (--force, --dry-run).");
}

int cli_batch(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "export") == 0)
        return cli_batch_export(argc - 1, argv + 1);
    if (strcmp(argv[1], "stats") == 0)
        return batch_stats(argc - 1, argv + 1);
    if (strcmp(argv[1], "remove") == 0)
        return batch_remove(argc - 1, argv + 1);
    cli_fail("No such command 'batch %s'. Try 'mdm batch --help'.", argv[1]);
    return 2;
}
