/* mdm dataset remove NAME [--force] [--dry-run] (SPEC §3). */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "dataset/catalog.h"
#include "dataset/name_lock.h"
#include "dataset/register.h"
#include "dataset/staging.h"

static _Thread_local unsigned long long tree_bytes;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path, (void)ftw;
    if (flag == FTW_F)
        tree_bytes += (unsigned long long)st->st_size;
    return 0;
}

/* "Are you sure?" on the terminal; anything but y/yes is no. */
static bool confirm(const char *question)
{
    fprintf(stderr, "%s [y/N]: ", question);
    fflush(stderr);
    char answer[16] = "";
    if (!fgets(answer, sizeof answer, stdin))
        return false;
    return strcmp(answer, "y\n") == 0 || strcmp(answer, "Y\n") == 0 || strcmp(answer, "yes\n") == 0;
}

int cli_dataset_remove(int argc, char **argv)
{
    bool force = false, dry_run = false;
    static const char *const args[] = {"NAME"};
    const char *values[1] = {NULL};
    const cli_opt opts[] = {
        {"--force", "-f", NULL, &force, "Do not ask for confirmation."},
        {"--dry-run", NULL, NULL, &dry_run, "Show what would be removed, remove nothing."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm dataset remove NAME [OPTIONS]",
                       .summary = "Remove a dataset: its registry entry, its data and (on "
                                  "PostgreSQL) its schema.",
                       .args = args, .values = values, .nargs = 1, .opts = opts};
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    mdm_config *cfg = cli_config_load();
    if (!cfg)
        return 1;
    dataset_info *d = NULL;
    char *yaml = NULL, *dir = NULL;
    name_lock *lock = NULL;
    int rc = catalog_load(&d, cfg, values[0]);
    if (!rc)
        rc = catalog_yaml_path(&yaml, cfg, d->name);
    if (!rc)
        rc = catalog_dataset_dir(&dir, cfg, d->name);
    if (rc) {
        rc = cli_fail_last();
        goto cleanup;
    }
    tree_bytes = 0;
    nftw(dir, add_size, 16, FTW_PHYS);
    printf("Dataset:     %s\n", d->name);
    printf("Config:      %s\n", yaml);
    printf("Directory:   %s (%.1f MB)\n", dir, (double)tree_bytes / 1e6);
    if (d->database.schema)
        printf("Schema:      %s (PostgreSQL %s)\n", d->database.schema,
               d->database.database ? d->database.database : "");
    if (dry_run) {
        puts("Dry run: nothing removed.");
        goto cleanup;
    }
    if (!force && mdm_config_bool(cfg, "cli.confirm_destructive") &&
        !confirm("Are you sure you want to remove this dataset?")) {
        puts("Cancelled.");
        goto cleanup;
    }
    /* The registry entry goes first (the dataset no longer exists), then its data. */
    if ((rc = name_lock_try(&lock, cfg, d->name, "removed")) || (rc = catalog_remove(cfg, d->name)) ||
        (rc = dataset_storage_remove(cfg, dataset_backend_registry_name(d->database.backend),
                                     d->name))) {
        rc = cli_fail_last();
        goto cleanup;
    }
    printf("Dataset '%s' removed\n", d->name);
cleanup:
    name_lock_release(lock);
    free(yaml);
    free(dir);
    dataset_info_free(d);
    cli_config_free(cfg);
    return rc;
}
