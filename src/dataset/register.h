/* Registering a dataset (SPEC §4): find its files, read them into typed tables in a
 * staging place, work out IDs, target and problem type, keep statistics, promote the
 * staging place, and commit by writing the registry YAML. Any failure or kill leaves
 * either the whole dataset or nothing; the next registration of the name cleans up. */
#ifndef MDM_DATASET_REGISTER_H
#define MDM_DATASET_REGISTER_H

#include <stdbool.h>
#include <stdint.h>

#include "dataset/dataset_info.h"
#include "mdm/mdm.h"

typedef struct register_progress {
    const char *table;     /* the table being loaded */
    size_t table_index, ntables;
    uint64_t rows;         /* rows of this table written so far */
    uint64_t bytes_done;   /* of this file, when the reader knows (else 0) */
    uint64_t bytes_total;
    double elapsed_s;      /* since this table started */
    bool finished;         /* the table is complete */
} register_progress;

typedef void (*register_progress_fn)(const register_progress *p, void *ctx);

typedef struct register_options {
    const char *name;          /* as the user wrote it */
    const char *path;          /* a file or directory; NULL: "." */
    const char *backend;       /* sqlite, duckdb, postgresql; NULL: database.default_backend */
    const char *target;        /* checked against the train (or only) table */
    const char *id_columns;    /* comma-separated; NULL: detected */
    const char *problem_type;  /* checked; NULL: detected from the target */
    const char *description;
    const char *tags;          /* comma-separated */
    const char *time_column;   /* checked like the target */
    const char *group_column;
    /* Semantic type overrides (comma-separated column names). Storage types never
     * change: a value is never converted to a type that would alter it. */
    const char *categorical_columns;
    const char *datetime_columns;
    const char *numeric_columns;
    const char *text_columns;
    const char *stratify_column; /* checked like the target, recorded */
    const char *ignore_columns;  /* comma-separated columns left out of every table */
    const char *source;          /* recorded as the source instead of the path */
    /* Manual registration (--no-auto): these files become the tables, no discovery.
     * `train` is required; `path` must then be NULL. */
    const char *train, *test, *validation, *submission;
    bool dry_run;              /* read and analyse everything, write nothing */
    bool skip_analysis;        /* no statistics: faster; IDs by name only, no problem type
                                  unless given; `dataset stats` computes them later */
    bool force;                /* replace an existing dataset of this name */
    register_progress_fn progress;
    void *progress_ctx;
} register_options;

/* What registration found that the user should hear about (one line each). */
typedef struct register_notes {
    char **lines;
    size_t count;
} register_notes;

void register_notes_free(register_notes *notes);

/* Registers; *out gets the committed record (with dry_run: the record it would commit,
 * and nothing is written). Errors name the file, line, column or
 * value; SPEC §3's messages where it has them ("Dataset 'x' already exists", "Path does
 * not exist: ...", "No data files found in ..."). */
int dataset_register(dataset_info **out, register_notes *notes, const mdm_config *cfg,
                     const register_options *opt);

/* The backend names users write (postgresql) to the registry's (postgres). */
const char *dataset_backend_registry_name(const char *backend);

#endif
