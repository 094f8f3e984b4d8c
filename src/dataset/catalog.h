/* The dataset catalog: config/datasets/NAME.yaml (the registry, authoritative) and its
 * copy datasets/NAME/dataset_info.json.
 *
 * A dataset exists exactly when its YAML exists: writing the YAML (atomically: temp file
 * in the same directory, fsync, rename, fsync of the directory) is the commit of a
 * registration, and unlinking it is the commit of a removal. Names are case-insensitive:
 * every function normalizes with mdm_dataset_name_normalize.
 *
 * Writers (commit, update, remove) do not lock: the caller holds the dataset's name lock
 * (name_lock.h) around its whole read-modify-write, because a command does more than the
 * catalog part (staging, dropping a PostgreSQL schema). Readers need no lock: they only
 * ever see a whole old file or a whole new one. */
#ifndef MDM_DATASET_CATALOG_H
#define MDM_DATASET_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataset/dataset_info.h"
#include "mdm/mdm.h"

/* One dataset's places in the home, resolved once (the name normalized, the paths made)
 * and handed to every step that needs them instead of (config, name). */
typedef struct dataset_place {
    char name[512];            /* normalized */
    char *yaml;                /* <configs_path>/<name>.yaml: the registry record */
    char *dir;                 /* <datasets_path>/<name> */
    char *json;                /* <dir>/dataset_info.json */
    const char *configs_path;  /* borrowed from the config */
} dataset_place;

/* Normalizes `name` (MDM_EINVALID naming the rule when it cannot be a dataset name) and
 * fills `out`; release with dataset_place_clear. */
int dataset_place_resolve(dataset_place *out, const mdm_config *cfg, const char *name);
void dataset_place_clear(dataset_place *p);

/* The catalog operations below, on a resolved place. */
int catalog_exists_at(bool *exists, const dataset_place *p);
int catalog_load_at(dataset_info **out, const dataset_place *p);
/* info->name must be p->name. */
int catalog_commit_at(const dataset_place *p, const dataset_info *info);

/* Where things are, for a normalized or raw name (normalized here). Caller frees *out. */
int catalog_yaml_path(char **out, const mdm_config *cfg, const char *name);
int catalog_json_path(char **out, const mdm_config *cfg, const char *name);
/* <datasets_path>/<name> */
int catalog_dataset_dir(char **out, const mdm_config *cfg, const char *name);

/* Fills `db` (whose strings are replaced) with where dataset `name` lives on `backend`
 * ("sqlite", "duckdb", "postgresql" or "postgres"): backend as the Python tool names it
 * ("postgresql"), and the file <datasets_path>/<name>/<name>.<ext> or the server's
 * host, port, database (database.postgresql.database), schema (<database_prefix><name>)
 * and user from config. Never a password. An unknown backend is MDM_ENOTFOUND. */
int catalog_database_for(dataset_database *db, const mdm_config *cfg, const char *backend,
                         const char *name);

/* Writes `data` to `path` atomically: a temp file beside it, write, fsync, rename over
 * `path`, fsync of the directory. On failure `path` is untouched and no temp file is
 * left behind (unless the process dies, see catalog_commit). */
int catalog_write_atomic(const char *path, const char *data, size_t len);

/* The commit of a registration (or of any change): writes
 * <datasets_path>/<name>/dataset_info.json (the directory is created if missing), then
 * <configs_path>/<name>.yaml, both atomically. info->name must be normalized (it is
 * checked). A crash before the YAML rename leaves no YAML: the dataset does not exist
 * and the JSON copy is a leftover of the data directory. Temp files of dead processes
 * (".<name>.yaml.tmp.<pid>.*") are removed first. */
int catalog_commit(const dataset_info *info, const mdm_config *cfg);

/* True when the dataset is registered (its YAML exists). */
int catalog_exists(bool *exists, const mdm_config *cfg, const char *name);

/* Loads one dataset. MDM_ENOTFOUND "Dataset 'x' not found" when it has no YAML; a
 * corrupt YAML is MDM_EINVALID naming the file and line. */
int catalog_load(dataset_info **out, const mdm_config *cfg, const char *name);

/* One registry file as read by catalog_list_entries. */
typedef struct catalog_entry {
    dataset_info *info;
    char *path;      /* the YAML file */
    char *text;      /* its text, when asked for (search), else NULL */
} catalog_entry;

/* Every dataset, parsed in parallel by performance.max_concurrent_operations threads,
 * sorted by name. Files that cannot be read or parsed are skipped with a warning naming
 * the file and the problem (logged), never an error. A missing configs directory is an
 * empty catalog. `keep_text` keeps each file's text (for content search). */
int catalog_list_entries(catalog_entry **out, size_t *count, const mdm_config *cfg,
                         bool keep_text);
void catalog_entries_free(catalog_entry *entries, size_t count);

/* Same as catalog_list_entries, records only. Free with catalog_infos_free. */
int catalog_list(dataset_info ***out, size_t *count, const mdm_config *cfg);
void catalog_infos_free(dataset_info **infos, size_t count);

/* Removes the dataset from the catalog: unlinks the YAML (the commit, made durable),
 * then removes <datasets_path>/<name>/ recursively (symlinks are removed, never
 * followed). Storage outside that directory (a PostgreSQL schema) is the caller's.
 * MDM_ENOTFOUND when neither exists. */
int catalog_remove(const mdm_config *cfg, const char *name);

/* Bytes of the files under <datasets_path>/<name>/ (apparent sizes, symlinks not
 * followed; 0 when the directory does not exist), for `info`, `remove` and `mdm info`. */
int catalog_dataset_size(uint64_t *bytes, const mdm_config *cfg, const char *name);

/* `dataset update`: each non-NULL field replaces the stored one. Empty lists/strings
 * clear. problem_type is validated; the target, when the catalog has column summaries,
 * must be a column of one of the tables. Sets last_updated_at and commits. Nothing to
 * change is MDM_EINVALID "No updates specified". *out (may be NULL) gets the result. */
typedef mdm_dataset_changes catalog_changes;

int catalog_update(dataset_info **out, const mdm_config *cfg, const char *name,
                   const catalog_changes *changes);

/* Test hook: called at each step of catalog_write_atomic ("temp-written": the temp file
 * is complete and synced; "renamed": it replaced the target, the directory is not yet
 * synced) with the target's path, and by catalog_commit ("json-written", between the
 * JSON copy and the YAML) with the JSON's path. A non-zero
 * return makes the operation fail there as if the disk had failed, leaving what a crash
 * at that moment would leave (the temp file too). NULL removes it. */
typedef int (*catalog_fault_hook)(const char *step, const char *path, void *ctx);
void catalog_set_fault_hook(catalog_fault_hook hook, void *ctx);

#endif
