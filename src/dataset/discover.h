/* Finding a dataset's files (SPEC §4 steps 3-5): a single file, a directory of files,
 * or a Kaggle competition folder. */
#ifndef MDM_DATASET_DISCOVER_H
#define MDM_DATASET_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "io/reader.h"

typedef struct source_file {
    char *path;   /* absolute, symlinks resolved */
    char *table;  /* train, test, validation, sample_submission, data, or the file's stem */
    io_format format;
    bool gzip;    /* by name; readers also check the magic bytes */
} source_file;

typedef struct discovery {
    char *root;             /* the absolute path given */
    bool is_directory;
    bool kaggle;            /* sample_submission.csv beside train/test/... */
    source_file *files;     /* sorted by table name */
    size_t nfiles;
    char **skipped;         /* files in the directory that are not data (for a note) */
    size_t nskipped;
} discovery;

/* Fills *out. Errors (MDM_ENOTFOUND / MDM_EINVALID), with SPEC's messages:
 * "Path does not exist: <abs>", "No data files found in <path>", and two files for one
 * table ("two files would both be table 'train': a.csv and a.parquet"). */
int discover(discovery *out, const char *path);
void discovery_free(discovery *d);
/* Manual registration: `files` are the train, test, validation and sample_submission
 * files (NULL: none); each must exist and be a data file. */
int discover_files(discovery *out, const char *const files[4]);

/* The format of a file by its name (also .parquet.snappy, .pq); false when it is not a
 * data file. Excel files are found so that registration can say they are unsupported. */
bool source_format_of(const char *name, io_format *format, bool *gzip, size_t *stem_len);

#endif
