/* What the catalog knows about one dataset (SPEC §4 step 11): the record behind
 * config/datasets/NAME.yaml and datasets/NAME/dataset_info.json, and its two text forms.
 *
 * The keys are those the Python mdm writes (pydantic DatasetInfo, field order kept), so
 * that either tool reads the other's files. Keys we do not know are kept in `extra`
 * objects and written back unchanged. A database password is never kept: it is dropped
 * when read and never written. Strings are UTF-8, owned by the struct (malloc); NULL
 * means null/absent (an empty string is a value). */
#ifndef MDM_DATASET_INFO_H
#define MDM_DATASET_INFO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mdm/dataset.h"

#define DATASET_INFO_VERSION "1.0.0"

/* Problem types accepted by --problem-type and update (SPEC §3). */
#define dataset_problem_types mdm_problem_types /* NULL-terminated (dataset.h) */
/* MDM_EINVALID naming the allowed values unless `value` is one of them. */
int dataset_problem_type_check(const char *value);

/* The record types are the public ones (mdm/dataset.h): nothing is copied between the
 * library and its callers. */
typedef mdm_strlist dataset_strlist;
typedef mdm_strmap dataset_strmap;
typedef mdm_dataset_database dataset_database;
typedef mdm_dataset_column dataset_column;
typedef mdm_dataset_table_columns dataset_table_columns;
typedef mdm_dataset_statistics dataset_statistics;
typedef mdm_dataset_info dataset_info;

/* A new record with version "1.0.0", unknown statistics, and empty lists and maps. */
int dataset_info_new(dataset_info **out);
void dataset_info_free(dataset_info *info);
int dataset_info_clone(dataset_info **out, const dataset_info *info);

/* Field helpers: copy `value` (NULL clears). */
int dataset_str_set(char **field, const char *value);
int dataset_strlist_add(dataset_strlist *list, const char *value);
void dataset_strlist_clear(dataset_strlist *list);
/* Replaces the list with the comma-separated items of `csv` (trimmed, empties dropped). */
int dataset_strlist_set_csv(dataset_strlist *list, const char *csv);
bool dataset_strlist_contains(const dataset_strlist *list, const char *value, bool ignore_case);
/* Sets key -> value, replacing an existing key's value in place. */
int dataset_strmap_set(dataset_strmap *map, const char *key, const char *value);
const char *dataset_strmap_get(const dataset_strmap *map, const char *key);
/* Adds (or replaces) a table's row count in statistics. */
int dataset_statistics_set_rows(dataset_statistics *stats, const char *table, int64_t rows);
/* Adds a column summary to `table` (created on first use). */
int dataset_info_add_column(dataset_info *info, const char *table, const char *name,
                            const char *type, const char *description);
const dataset_table_columns *dataset_info_columns(const dataset_info *info, const char *table);

/* Timestamps as the Python tool writes them: "2024-01-15T10:30:00.123456+00:00".
 * Parsing accepts 'T' or ' ', 0-9 fraction digits, and Z / +HH:MM / +HHMM / +HH or no
 * zone (taken as UTC). Returns MDM_EINVALID without setting the error record. */
int dataset_time_format(char *buf, size_t size, int64_t micros);
int dataset_time_parse(int64_t *micros, const char *text);
int64_t dataset_time_now(void);

/* The record as a JSON tree in the on-disk key order (caller json_decref's), and back.
 * from_tree tolerates unknown keys (kept) and a scalar where a list is expected (a
 * one-item list); a wrong shape for a known key is MDM_EINVALID "<origin>: '<key>' must
 * be ...". A missing name is an error unless `fallback_name` is given. */
int dataset_info_to_tree(json_t **out, const dataset_info *info);
int dataset_info_from_tree(dataset_info **out, const json_t *tree, const char *origin,
                           const char *fallback_name);

/* Text forms: YAML (registry) and JSON (dataset_info.json, 2-space indent). Caller frees
 * *out. `origin` names the text in errors. */
int dataset_info_to_yaml(char **out, size_t *len, const dataset_info *info);
int dataset_info_from_yaml(dataset_info **out, const char *text, size_t len, const char *origin,
                           const char *fallback_name);
int dataset_info_to_json(char **out, size_t *len, const dataset_info *info);
int dataset_info_from_json(dataset_info **out, const char *text, size_t len, const char *origin,
                           const char *fallback_name);

/* Total rows when statistics know it, else -1; memory bytes likewise. */
int64_t dataset_info_rows(const dataset_info *info);
int64_t dataset_info_size(const dataset_info *info);

#endif
