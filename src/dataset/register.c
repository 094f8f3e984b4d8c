/* The registration pipeline (register.h). The steps, each undone on failure:
 *   1. name, options, discovery (nothing written yet; register_options.c);
 *   2. the name's lock; leftovers of interrupted registrations removed; an existing
 *      dataset refused, or kept in place with --force (replace.h);
 *   3. every file loaded into a staging place (one transaction per table), statistics
 *      gathered while the batches pass (register_load.c);
 *   4. IDs, target, problem type (register_columns.c); metadata tables
 *      (register_metadata.c);
 *   5. the old dataset (--force) moved aside, promotion of the staging place, metadata
 *      files, and the commit: the YAML; then the old dataset's trash is deleted.
 * The caller's cancellation token is checked between batches and between steps. */
#include "dataset/register_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/catalog.h"
#include "mdm/sys/backend.h"

const char *dataset_backend_registry_name(const char *backend)
{
    return backend && strcmp(backend, "postgresql") == 0 ? "postgres" : backend;
}

void register_note(reg *r, const char *fmt, ...)
{
    if (!r->notes)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    dataset_strlist_add(r->notes, buf);
}

/* MDM_ECANCELED once the caller's token was tripped: checked between batches and
 * between steps; the failure path then removes everything of the new dataset. */
int register_cancelled(const reg *r)
{
    if (!mdm_cancel_requested(r->opt->cancel))
        return 0;
    return mdm_error_set(MDM_ECANCELED, "Registration of '%s' cancelled", r->place.name);
}

/* ------------------------------------------------------------------ the record */

static int fill_info(reg *r, int64_t now, const char *computed_at)
{
    dataset_info *info = r->info;
    int rc = dataset_str_set(&info->name, r->place.name);
    if (!rc)
        rc = dataset_str_set(&info->display_name, r->opt->name);
    if (!rc)
        rc = dataset_str_set(&info->description, r->opt->description);
    if (!rc)
        rc = dataset_str_set(&info->source, r->opt->source ? r->opt->source : r->found.root);
    if (!rc)
        rc = catalog_database_for(&info->database, r->cfg, r->backend, r->place.name);
    if (!rc && r->opt->tags)
        rc = dataset_strlist_set_csv(&info->tags, r->opt->tags);
    info->registered_at = info->last_updated_at = now;
    info->has_registered_at = info->has_last_updated_at = true;
    int64_t total = 0, memory = 0;
    for (size_t i = 0; !rc && i < r->ntables; i++) {
        rc = dataset_strmap_set(&info->tables, r->tables[i].kind, r->tables[i].kind);
        if (!rc)
            rc = dataset_statistics_set_rows(&info->statistics, r->tables[i].kind,
                                             (int64_t)r->tables[i].rows);
        const char *k = r->tables[i].kind;
        /* SPEC §4.11: the row count covers the data tables, not the submission. */
        if (strcmp(k, "sample_submission") != 0)
            total += (int64_t)r->tables[i].rows;
        memory += (int64_t)r->tables[i].stats->memory_bytes;
    }
    info->statistics.present = true;
    info->statistics.row_count = total;
    info->statistics.memory_size_bytes = r->opt->skip_analysis ? -1 : memory;
    if (!rc)
        rc = dataset_str_set(&info->statistics.computed_at, computed_at);
    return rc;
}

/* ------------------------------------------------------------------ the steps */

static bool is_server(const char *backend)
{
    const mdm_backend *b = mdm_backend_find(backend);
    return b && !b->file_extension;
}

/* Removes what interrupted registrations of this name left, and refuses an existing
 * dataset unless replacing it: then it stays in place, readable, until the new one
 * commits (replace.h). Runs under the name's lock. */
static int clear_the_way(reg *r)
{
    bool committed = false;
    int rc = replace_recover(r->cfg, &r->place);
    if (!rc)
        rc = catalog_exists_at(&committed, &r->place);
    if (rc)
        return rc;
    if (committed && !r->opt->force)
        return mdm_error_set(MDM_EEXISTS, "Dataset '%s' already exists", r->place.name);
    bool exists = false;
    if (committed) {
        dataset_info *old = NULL;
        const char *old_backend = r->backend;
        if (catalog_load_at(&old, &r->place) == 0 && old->database.backend)
            old_backend = dataset_backend_registry_name(old->database.backend);
        snprintf(r->old_backend, sizeof r->old_backend, "%s", old_backend);
        dataset_info_free(old);
        mdm_error_clear();
        if (!mdm_backend_find(r->old_backend))
            return mdm_error_set(MDM_ENOTFOUND, "Dataset '%s': unknown backend '%s'", r->place.name,
                                 r->old_backend);
        /* A schema of the new backend that no record owns (an old crash), when the old
         * dataset lives elsewhere: the promotion needs its place. */
        if (strcmp(r->old_backend, r->backend) != 0 && is_server(r->backend) &&
            (rc = dataset_storage_exists(&exists, r->cfg, r->backend, r->place.name)) == 0 && exists)
            rc = dataset_storage_remove(r->cfg, r->backend, r->place.name);
    } else if ((rc = dataset_storage_exists(&exists, r->cfg, r->backend, r->place.name)) == 0 &&
               exists) {
        /* Storage without a registry record is a leftover: a crash after the promotion. */
        register_note(r, "removed what an interrupted registration of '%s' left", r->place.name);
        rc = dataset_storage_remove(r->cfg, r->backend, r->place.name);
    }
    if (!rc)
        rc = staging_cleanup(r->cfg, r->backend, r->place.name);
    return rc;
}

static void reg_free(reg *r)
{
    for (size_t i = 0; i < r->ntables; i++) {
        free(r->tables[i].kind);
        mdm_fields_free(r->tables[i].fields, r->tables[i].nfields);
        stats_result_free(r->tables[i].stats);
    }
    free(r->tables);
    dataset_strlist_clear(&r->ignore);
    free(r->ignore_seen);
    staging_discard(r->stage);
    /* A replacement that did not commit puts the old dataset back. */
    replace_undo(r->replacing, r->backend);
    name_lock_release(r->lock);
    discovery_free(&r->found);
    dataset_info_free(r->info);
    dataset_place_clear(&r->place);
}

int dataset_register(dataset_info **out, mdm_strlist *notes, const mdm_config *cfg,
                     const register_options *opt)
{
    *out = NULL;
    reg r = {.cfg = cfg, .opt = opt, .notes = notes};
    int rc = dataset_place_resolve(&r.place, cfg, opt->name);
    if (rc)
        return rc;
    r.backend = dataset_backend_registry_name(
        opt->backend ? opt->backend : mdm_config_str(cfg, "database.default_backend"));
    /* What can be checked before reading any data is checked first. */
    if (!mdm_backend_find(r.backend))
        rc = MDM_ENOTFOUND;
    else
        rc = register_prepare(&r);
    if (rc)
        goto cleanup;
    /* A registration of the same name under way elsewhere: wait for it (up to
     * database.connection_timeout), then this one sees its result ("already exists"). */
    if ((rc = register_cancelled(&r)))
        goto cleanup;
    if (!opt->dry_run) {
        if ((rc = name_lock_acquire(&r.lock, cfg, r.place.name, "registered",
                                    (uint64_t)mdm_config_int(cfg, "database.connection_timeout") *
                                        1000)))
            goto cleanup;
        if ((rc = clear_the_way(&r)))
            goto cleanup;
    } else {
        bool exists = false;
        if ((rc = catalog_exists_at(&exists, &r.place)))
            goto cleanup;
        if (exists && !opt->force) {
            rc = mdm_error_set(MDM_EEXISTS, "Dataset '%s' already exists", r.place.name);
            goto cleanup;
        }
    }
    if ((rc = dataset_info_new(&r.info)))
        goto cleanup;
    if (!opt->dry_run && (rc = staging_open(&r.stage, cfg, r.backend, r.place.name)))
        goto cleanup;
    r.tables = calloc(r.found.nfiles, sizeof *r.tables);
    if (!r.tables) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < r.found.nfiles; i++)
        if ((rc = register_cancelled(&r)) || (rc = register_load_table(&r, i)))
            goto cleanup;
    if ((rc = register_check_ignored(&r)) || (rc = register_cancelled(&r)) ||
        (rc = register_check_overrides(&r)) || (rc = register_detect(&r)))
        goto cleanup;
    int64_t now = dataset_time_now();
    char computed_at[64];
    dataset_time_format(computed_at, sizeof computed_at, now);
    if ((rc = fill_info(&r, now, computed_at)))
        goto cleanup;
    if (opt->dry_run) {
        /* What would be committed, for the caller to show; nothing was written. */
        for (size_t t = 0; t < r.ntables; t++)
            for (size_t c = 0; c < r.tables[t].nfields; c++)
                dataset_info_add_column(r.info, r.tables[t].kind, r.tables[t].fields[c].name,
                                        mdm_type_name(r.tables[t].fields[c].type), NULL);
        *out = r.info;
        r.info = NULL;
        goto cleanup;
    }
    if ((rc = register_write_metadata_tables(&r, now)) || (rc = register_cancelled(&r)))
        goto cleanup;
    /* From here on the new dataset is complete: the old one (--force) goes aside only
     * now, and comes back if anything below fails before the commit. */
    if (r.old_backend[0] && (rc = replace_begin(&r.replacing, cfg, &r.place, r.old_backend)))
        goto cleanup;
    if ((rc = staging_promote(r.stage)))
        goto cleanup;
    r.stage = NULL;
    /* The commit: nothing before it makes the dataset visible; on failure after the
     * promotion the storage is a leftover that the next registration removes. */
    if ((!opt->skip_analysis && (rc = register_write_statistics_file(&r, computed_at))) ||
        (rc = catalog_commit_at(&r.place, r.info))) {
        /* A YAML that reached its place (only its directory's sync failed) is the
         * commit: then the storage is the dataset's and stays. */
        bool committed = false;
        if (!r.replacing && catalog_exists_at(&committed, &r.place) == 0 && !committed)
            dataset_storage_remove(cfg, r.backend, r.place.name);
        goto cleanup;
    }
    replace_finish(r.replacing);
    r.replacing = NULL;
    *out = r.info;
    r.info = NULL;
cleanup:
    reg_free(&r);
    return rc;
}
