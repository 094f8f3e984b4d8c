/* The registration pipeline's shared state and steps (register.h), split by idea:
 *   register.c          the pipeline: the steps in order, the record, the commit
 *   register_options.c  checking options against what the files hold
 *   register_load.c     loading one file into its table (and its statistics)
 *   register_columns.c  IDs, target, problem type, semantic types
 *   register_metadata.c the _columns and _statistics tables, statistics.json */
#ifndef MDM_DATASET_REGISTER_INTERNAL_H
#define MDM_DATASET_REGISTER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "dataset/catalog.h"
#include "dataset/discover.h"
#include "dataset/name_lock.h"
#include "dataset/register.h"
#include "dataset/replace.h"
#include "dataset/staging.h"
#include "dataset/stats.h"

typedef struct loaded_table {
    char *kind;              /* train, test, data, ... (also the table's name) */
    mdm_field *fields;       /* names owned */
    size_t nfields;
    stats_result *stats;
    uint64_t rows;
} loaded_table;

typedef struct reg {
    const mdm_config *cfg;
    const register_options *opt;
    mdm_strlist *notes;
    dataset_place place;     /* the name, normalized once, and its paths */
    const char *backend;     /* the registry's name: sqlite, duckdb, postgres */
    discovery found;
    name_lock *lock;
    staging *stage;
    char old_backend[16];    /* --force over a committed dataset: its backend, else "" */
    replace *replacing;      /* the old dataset, aside while the new one is promoted */
    loaded_table *tables;
    size_t ntables;
    dataset_info *info;
    dataset_strlist ignore;  /* --ignore-columns */
    bool *ignore_seen;       /* each found in some table */
} reg;

/* register.c: a line for the user; MDM_ECANCELED once the caller's token was tripped
 * (checked between batches and between steps). */
void register_note(reg *r, const char *fmt, ...) MDM_PRINTF(2, 3);
int register_cancelled(const reg *r);

/* register_options.c: what can be checked before reading any data (problem type, manual
 * files, formats), discovery of the files, --ignore-columns; then, once the tables are
 * loaded, that every named column exists. */
int register_prepare(reg *r);
int register_check_overrides(const reg *r);
int register_check_ignored(const reg *r);

/* register_load.c: reads file `index` into its table in the staging store, in one
 * transaction (with --dry-run: only through the statistics). */
int register_load_table(reg *r, size_t index);

/* register_columns.c */
const loaded_table *register_find_table(const reg *r, const char *kind);
/* Index of column `name` (exact, else ignoring ASCII case), or -1. */
long register_column_index(const loaded_table *t, const char *name);
/* Target, time, group and stratify columns, IDs and problem type into r->info. */
int register_detect(reg *r);
/* A column's semantic type: an override, else from its storage type and statistics. */
const char *register_semantic_of(const reg *r, const char *column, mdm_type type,
                                 const stats_column *c);

/* register_metadata.c: _columns and _statistics in the staging store, and the column
 * summaries of the record; metadata/statistics.json. */
int register_write_metadata_tables(reg *r, int64_t now);
int register_write_statistics_file(reg *r, const char *computed_at);

#endif
