/* Filters, sorting and search over the catalog: the logic of `dataset list --filter
 * --sort-by --limit` and `dataset search`.
 *
 * Filter language (`--filter`):
 *   clause  := KEY OP VALUE            OP: =  !=  ~  !~  >  <  >=  <=
 *   filter  := clause {',' clause}     ',' is AND
 *              {'|' clause {',' clause}}   '|' is OR; AND binds tighter
 * Values are trimmed (quotes around them are dropped) and cannot contain ',' or '|'. Every comparison of text ignores
 * ASCII case. Text: `=` is equality, or a whole-value glob when the value has * ? or [
 * (`name=titanic*`); `~` is a substring test, or a glob when the value has those
 * characters. Lists (tags, id_columns, tables): `=`/`~` hold when any item matches;
 * `!=`/`!~` when none does. Numbers: rows accepts 1500, 10k, 2M; size accepts bytes or
 * a unit (10MB, 1.5GB, 512KiB; 1 KB = 1024 bytes); size_mb takes megabytes. Times:
 * registered_at (also registration_date, created_at) and last_updated_at accept an ISO
 * date (a whole UTC day: `registered_at=2024-01-15`, `>2024-01-15` is after that day), an
 * ISO timestamp, `today`, `yesterday`, `now`, or an age: 30s 15min 12h 7d 2w 1y, meaning
 * that long ago (`registered_at>7d`: registered in the last 7 days). has_<kind>
 * (has_test, has_validation, ...), has_target and has_features take true/false.
 * A dataset missing the value (no statistics, no target) fails every clause except
 * `!=` and `!~`. Unknown keys and bad values are MDM_EINVALID naming the clause. */
#ifndef MDM_DATASET_CATALOG_QUERY_H
#define MDM_DATASET_CATALOG_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataset/catalog.h"
#include "dataset/dataset_info.h"

typedef struct catalog_filter catalog_filter;

/* Parses a filter; relative times are taken against `now_us` (dataset_time_now()). */
int catalog_filter_parse(catalog_filter **out, const char *text, int64_t now_us);
void catalog_filter_free(catalog_filter *filter);
bool catalog_filter_match(const catalog_filter *filter, const dataset_info *info);

typedef enum catalog_sort_key {
    CATALOG_SORT_NAME,
    CATALOG_SORT_REGISTERED,
    CATALOG_SORT_UPDATED,
    CATALOG_SORT_SIZE,
    CATALOG_SORT_ROWS,
    CATALOG_SORT_PROBLEM_TYPE,
    CATALOG_SORT_BACKEND,
} catalog_sort_key;

typedef struct catalog_sort {
    catalog_sort_key key;
    bool descending;
} catalog_sort;

/* name (ascending), registration_date / registered_at / created_at, last_updated_at,
 * size / size_mb, rows / row_count (those descending: newest, biggest first),
 * problem_type, backend; ":asc" or ":desc" overrides the direction. NULL or "" is name.
 * An unknown key sorts by name with a warning (the Python tool fell back silently). */
void catalog_sort_parse(catalog_sort *out, const char *text);
/* Sorts in place; missing values go last whatever the direction; ties by name. */
void catalog_sort_infos(dataset_info **infos, size_t count, const catalog_sort *sort);

/* `dataset list`: every dataset matching `filter` (NULL: all), sorted, at most `limit`
 * (0: no limit). Free with catalog_infos_free. */
typedef mdm_list_options catalog_query;

int catalog_query_list(dataset_info ***out, size_t *count, const mdm_config *cfg,
                       const catalog_query *query);

/* `dataset search`. A query matches, in this order: the name (substring; a glob over the
 * whole name with `pattern`), then the description, the tags, then with `deep` the
 * column names and descriptions, then anywhere in the registry YAML text (substring mode
 * only; the text includes column summaries the catalog keeps). Case-insensitive (ASCII) unless `case_sensitive`. With `tag`, only
 * datasets carrying that tag; a tag alone matches them all. Neither query nor tag is
 * MDM_EINVALID. Results come in name order, at most `limit` (0: all). */
typedef struct catalog_search_options {
    const char *query;
    bool pattern;
    bool case_sensitive;
    const char *tag;
    bool deep;
    size_t limit;
    /* For `deep`: fills info's column summaries when the catalog has none (e.g. from
     * the dataset's _columns table); may be NULL. A failure is logged and the dataset
     * searched without columns. */
    int (*load_columns)(dataset_info *info, void *ctx);
    void *ctx;
} catalog_search_options;

/* location: "name", "description", "tags", "content", "columns", "tag"; detail: what
 * matched for "columns" ("train.passenger_id"), else NULL. */
typedef mdm_search_match catalog_match;

int catalog_search(catalog_match **out, size_t *count, const mdm_config *cfg,
                   const catalog_search_options *options);
void catalog_matches_free(catalog_match *matches, size_t count);

#endif
