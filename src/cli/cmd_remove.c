/* mdm dataset remove NAME [--force] [--dry-run] (SPEC §3). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/commands.h"

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
    mdm_catalog *cat = cli_catalog_open();
    if (!cat)
        return 1;
    const mdm_config *cfg = mdm_catalog_config(cat);
    mdm_dataset_info *d = NULL;
    uint64_t bytes = 0;
    char name[512];
    int rc = mdm_catalog_get(&d, cat, values[0]);
    /* A registry file that exists but cannot be read is removed all the same. */
    bool unreadable = rc && rc != MDM_ENOTFOUND && rc != MDM_ENOMEM &&
                      mdm_dataset_name_normalize(name, sizeof name, values[0]) == 0;
    if (unreadable) {
        fprintf(stderr, "Warning: %s\n", mdm_error_last()->message);
        rc = 0;
    } else if (!rc) {
        snprintf(name, sizeof name, "%s", d->name);
    }
    if (!rc)
        rc = mdm_catalog_dataset_size(&bytes, cat, name);
    if (rc) {
        rc = cli_fail_last();
        goto cleanup;
    }
    printf("Dataset:     %s\n", name);
    printf("Config:      %s/%s.yaml%s\n", mdm_config_path(cfg, "configs_path"), name,
           unreadable ? " (unreadable)" : "");
    printf("Directory:   %s/%s (%.1f MB)\n", mdm_config_path(cfg, "datasets_path"), name,
           (double)bytes / 1e6);
    if (d && d->database.schema)
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
    if ((rc = mdm_catalog_remove(cat, name))) {
        rc = cli_fail_last();
        goto cleanup;
    }
    printf("Dataset '%s' removed\n", name);
cleanup:
    mdm_dataset_info_free(d);
    cli_catalog_close(cat);
    return rc;
}
