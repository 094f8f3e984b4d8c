/* Exporting a dataset (SPEC §5): <out>/<name>_metadata.json, then every table as
 * <out>/<name>_<kind>.<format>[.gz|.zip|.zst], streamed from the dataset's store. */
#ifndef MDM_DATASET_EXPORT_H
#define MDM_DATASET_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "dataset/dataset_info.h"
#include "mdm/dataset.h"

typedef mdm_export_options export_options;

/* Writes the files; *paths (caller frees each and the array) lists them in order. */
/* `d` is the record, `store` the dataset's store, `dataset_dir` its directory (for the
 * cached statistics that go into the metadata file). */
int dataset_export(char ***paths, size_t *npaths, const mdm_config *cfg, const dataset_info *d,
                   mdm_store *store, const char *dataset_dir, const export_options *opt);

#endif
