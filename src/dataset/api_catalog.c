/* The public catalog API (mdm/dataset.h): a catalog of one home, and the commands that
 * read or change its records. Commands that change a dataset take its name lock here,
 * so that no front end can forget it. */
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "dataset/api.h"
#include "dataset/catalog.h"
#include "dataset/catalog_query.h"
#include "dataset/history.h"
#include "dataset/name_lock.h"
#include "dataset/register.h"
#include "dataset/replace.h"
#include "dataset/staging.h"
#include "mdm/sys/backend.h"

int mdm_catalog_open(mdm_catalog **out, const mdm_config *cfg)
{
    *out = NULL;
    mdm_catalog *cat = calloc(1, sizeof *cat);
    if (!cat)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    int rc = mdm_config_clone(&cat->cfg, cfg);
    if (rc) {
        free(cat);
        return rc;
    }
    cat->configs_path = mdm_config_path(cat->cfg, "configs_path");
    cat->datasets_path = mdm_config_path(cat->cfg, "datasets_path");
    *out = cat;
    return 0;
}

void mdm_catalog_free(mdm_catalog *cat)
{
    if (!cat)
        return;
    mdm_config_free(cat->cfg);
    free(cat);
}

const mdm_config *mdm_catalog_config(const mdm_catalog *cat) { return cat->cfg; }

const char *api_record_backend(const dataset_info *info, const mdm_config *cfg)
{
    const char *b = info && info->database.backend
                        ? info->database.backend
                        : mdm_config_str(cfg, "database.default_backend");
    return dataset_backend_registry_name(b);
}

int mdm_catalog_exists(bool *exists, mdm_catalog *cat, const char *name)
{
    return catalog_exists(exists, cat->cfg, name);
}

int mdm_catalog_get(mdm_dataset_info **out, mdm_catalog *cat, const char *name)
{
    return catalog_load(out, cat->cfg, name);
}

int mdm_catalog_list(mdm_dataset_info ***out, size_t *count, mdm_catalog *cat,
                     const mdm_list_options *opt)
{
    mdm_list_options all = {0};
    return catalog_query_list(out, count, cat->cfg, opt ? opt : &all);
}

int mdm_catalog_search(mdm_search_match **out, size_t *count, mdm_catalog *cat,
                       const mdm_search_options *opt)
{
    catalog_search_options o = {.query = opt->query, .pattern = opt->pattern,
                                .case_sensitive = opt->case_sensitive, .tag = opt->tag,
                                .deep = opt->deep, .limit = opt->limit};
    return catalog_search(out, count, cat->cfg, &o);
}

void mdm_search_matches_free(mdm_search_match *matches, size_t count)
{
    catalog_matches_free(matches, count);
}

/* Waits for the name's lock as long as a database connection may take. */
static int lock_name(name_lock **out, mdm_catalog *cat, const char *name, const char *operation)
{
    uint64_t timeout_ms = (uint64_t)mdm_config_int(cat->cfg, "database.connection_timeout") * 1000;
    return name_lock_acquire(out, cat->cfg, name, operation, timeout_ms);
}

int mdm_catalog_update(mdm_dataset_info **out, mdm_catalog *cat, const char *name,
                       const mdm_dataset_changes *changes)
{
    int64_t t0 = history_start();
    if (out)
        *out = NULL;
    if (!changes->description && !changes->target_column && !changes->problem_type &&
        !changes->id_columns && !changes->tags)
        return mdm_error_set(MDM_EINVALID, "No updates specified");
    dataset_place place;
    name_lock *lock = NULL;
    int rc = dataset_place_resolve(&place, cat->cfg, name);
    if (rc)
        return rc;
    if (!(rc = lock_name(&lock, cat, place.name, "updated")))
        rc = replace_recover(cat->cfg, &place);
    if (!rc)
        rc = catalog_update(out, cat->cfg, name, changes);
    name_lock_release(lock);
    dataset_place_clear(&place);
    history_note(cat->cfg, "dataset_update", name, t0, -1, -1, rc);
    return rc;
}

int mdm_catalog_remove(mdm_catalog *cat, const char *name)
{
    int64_t t0 = history_start();
    dataset_place place;
    int rc = dataset_place_resolve(&place, cat->cfg, name);
    if (rc)
        return rc;
    name_lock *lock = NULL;
    dataset_info *info = NULL;
    if ((rc = name_lock_try(&lock, cat->cfg, place.name, "removed")) ||
        (rc = replace_recover(cat->cfg, &place)))
        goto cleanup;
    rc = catalog_load_at(&info, &place);
    if (rc == MDM_ENOMEM)
        goto cleanup;
    /* A registry file that cannot be read (corrupt YAML, a FIFO, ...) is removed too:
     * otherwise nothing could ever remove that dataset. Its backend is unknown then. */
    char *unreadable = NULL;
    if (rc && rc != MDM_ENOTFOUND && !(unreadable = strdup(mdm_error_last()->message))) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    /* The registry entry goes first (the dataset no longer exists), then its data. */
    if ((rc = catalog_remove(cat->cfg, place.name))) {
        free(unreadable);
        goto cleanup;
    }
    if (unreadable) {
        const char *prefix = mdm_config_str(cat->cfg, "database.postgresql.database_prefix");
        MDM_WARN("Dataset '%s': its registry file could not be read (%s); removed it and "
                 "%s/%s, but storage on a server backend cannot be identified from it and "
                 "was left in place (on PostgreSQL: schema '%s%s')",
                 place.name, unreadable, mdm_config_path(cat->cfg, "datasets_path"), place.name,
                 prefix ? prefix : "", place.name);
        free(unreadable);
    }
    const char *backend = api_record_backend(info, cat->cfg);
    if (info && mdm_backend_find(backend))
        rc = dataset_storage_remove(cat->cfg, backend, place.name);
cleanup:
    dataset_info_free(info);
    name_lock_release(lock);
    history_note(cat->cfg, "dataset_remove", place.name, t0, -1, -1, rc);
    dataset_place_clear(&place);
    return rc;
}

int mdm_catalog_dataset_size(uint64_t *bytes, mdm_catalog *cat, const char *name)
{
    return catalog_dataset_size(bytes, cat->cfg, name);
}

int mdm_catalog_storage_size(uint64_t *bytes, mdm_catalog *cat)
{
    return mdm_fs_tree_size(bytes, cat->datasets_path);
}
