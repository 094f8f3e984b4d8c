/* Where a dataset is built before it exists (DESIGN.md, "Datasets"): registration
 * writes into a staging place, promotes it to the dataset's own place at the end, and
 * only then writes the registry YAML, the commit. A crash at any point leaves either the
 * committed dataset or leftovers that the next registration of the name removes.
 *
 *   file backends: <datasets_path>/.staging-<name>-<pid>/<name>.<ext>
 *                  promoted by renaming the directory to <datasets_path>/<name>/
 *   schema backends (PostgreSQL): the dataset "<name>.s<pid>" (schema
 *                  <database_prefix><name>.s<pid>; '.' never occurs in dataset names, so
 *                  no dataset can own it), promoted by the backend's dataset_rename to
 *                  <name>
 */
#ifndef MDM_DATASET_STAGING_H
#define MDM_DATASET_STAGING_H

#include <stdbool.h>

#include "mdm/mdm.h"

typedef struct staging staging;

/* Creates the staging place of dataset `name` (normalized) on `backend` and opens a
 * store on it, with the dataset namespace created. */
int staging_open(staging **out, const mdm_config *cfg, const char *backend, const char *name);
/* The store to write the dataset into (borrowed; valid until promote/discard). */
mdm_store *staging_store(staging *s);
/* Closes the staging store and moves it to the dataset's own place. The place must be
 * free (the caller removed any old dataset). On success `s` is freed. */
int staging_promote(staging *s);
/* Removes the staging place and frees `s` (NULL is fine). Errors are logged, not
 * returned: this runs on failure paths. */
void staging_discard(staging *s);

/* The dataset's own storage: <datasets_path>/<name>/ (whole directory) or the schema.
 * `exists` tells whether anything is there. */
int dataset_storage_exists(bool *exists, const mdm_config *cfg, const char *backend,
                           const char *name);
int dataset_storage_remove(const mdm_config *cfg, const char *backend, const char *name);

/* Server backends: renames the schema of dataset `from` to the schema of dataset `to`
 * ("titanic" to "titanic.t123": '.' never occurs in dataset names). *moved says
 * whether there was one to move. File backends: nothing to do. */
int dataset_schema_rename(bool *moved, const mdm_config *cfg, const char *backend,
                          const char *from, const char *to);

/* Removes staging places of `name` left by processes that are gone (a crash or kill
 * during registration). The caller holds the name's registration lock. */
int staging_cleanup(const mdm_config *cfg, const char *backend, const char *name);

#endif
