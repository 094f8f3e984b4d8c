/* Registering a dataset (SPEC §4): find its files, read them into typed tables in a
 * staging place, work out IDs, target and problem type, keep statistics, promote the
 * staging place, and commit by writing the registry YAML. Any failure or kill leaves
 * either the whole dataset or nothing; the next registration of the name cleans up. */
#ifndef MDM_DATASET_REGISTER_H
#define MDM_DATASET_REGISTER_H

#include <stdbool.h>
#include <stdint.h>

#include "dataset/dataset_info.h"
#include "mdm/dataset.h"
#include "mdm/mdm.h"

/* The public option and progress records (mdm/dataset.h): every option of `register`,
 * a progress callback, and a cancellation token checked between batches and between
 * steps (MDM_ECANCELED, and nothing of the new dataset is left). */
typedef mdm_register_progress register_progress;
typedef mdm_register_progress_fn register_progress_fn;
typedef mdm_register_options register_options;

/* Registers; *out gets the committed record (with dry_run: the record it would commit,
 * and nothing is written). Errors name the file, line, column or
 * value; SPEC §3's messages where it has them ("Dataset 'x' already exists", "Path does
 * not exist: ...", "No data files found in ..."). */
int dataset_register(dataset_info **out, mdm_strlist *notes, const mdm_config *cfg,
                     const register_options *opt);

/* The backend names users write (postgresql) to the registry's (postgres). */
const char *dataset_backend_registry_name(const char *backend);

#endif
