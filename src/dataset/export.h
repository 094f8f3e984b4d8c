/* Exporting a dataset (SPEC §5): <out>/<name>_metadata.json, then every table as
 * <out>/<name>_<kind>.<format>[.gz|.zip|.zst], streamed from the dataset's store. */
#ifndef MDM_DATASET_EXPORT_H
#define MDM_DATASET_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "mdm/mdm.h"

typedef struct export_options {
    const char *output_dir;  /* NULL: the current directory */
    const char *table;       /* a table kind or name; NULL: all */
    const char *format;      /* csv, json, parquet; NULL: export.default_format */
    const char *compression; /* NULL: export.compression */
    bool metadata_only;
    bool no_header;
} export_options;

/* Writes the files; *paths (caller frees each and the array) lists them in order. */
int dataset_export(char ***paths, size_t *npaths, const mdm_config *cfg, const char *name,
                   const export_options *opt);

#endif
