/* The dataset record: helpers, lifecycle, timestamps and text forms (see
 * dataset_info.h; the record <-> tree mapping is in dataset_info_tree.c). */
#include "dataset/dataset_info.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dataset/yaml_tree.h"
#include "mdm/mdm.h"

const char *const dataset_problem_types[] = {"binary_classification", "multiclass_classification",
                                             "regression", "time_series", "clustering", NULL};

int dataset_problem_type_check(const char *value)
{
    for (size_t i = 0; value && dataset_problem_types[i]; i++)
        if (strcmp(value, dataset_problem_types[i]) == 0)
            return 0;
    return mdm_error_set(MDM_EINVALID,
                         "Invalid problem type '%s'. Must be one of: binary_classification, "
                         "multiclass_classification, regression, time_series, clustering",
                         value ? value : "");
}

static int oom(void) { return mdm_error_set(MDM_ENOMEM, "out of memory in the dataset catalog"); }

/* ------------------------------------------------------------ field helpers */

int dataset_str_set(char **field, const char *value)
{
    char *copy = NULL;
    if (value && !(copy = strdup(value)))
        return oom();
    free(*field);
    *field = copy;
    return 0;
}

int dataset_strlist_add(dataset_strlist *list, const char *value)
{
    char **grown = realloc(list->items, (list->count + 1) * sizeof *grown);
    if (!grown)
        return oom();
    list->items = grown;
    if (!(list->items[list->count] = strdup(value)))
        return oom();
    list->count++;
    return 0;
}

void dataset_strlist_clear(dataset_strlist *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

int dataset_strlist_set_csv(dataset_strlist *list, const char *csv)
{
    dataset_strlist fresh = {0};
    const char *p = csv ? csv : "";
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a) {
            char *item = strndup(a, (size_t)(b - a));
            int rc = item ? dataset_strlist_add(&fresh, item) : oom();
            free(item);
            if (rc) {
                dataset_strlist_clear(&fresh);
                return rc;
            }
        }
        p = comma ? comma + 1 : end;
    }
    dataset_strlist_clear(list);
    *list = fresh;
    return 0;
}

bool dataset_strlist_contains(const dataset_strlist *list, const char *value, bool ignore_case)
{
    for (size_t i = 0; i < list->count; i++)
        if ((ignore_case ? strcasecmp : strcmp)(list->items[i], value) == 0)
            return true;
    return false;
}

static void strmap_clear(dataset_strmap *map)
{
    for (size_t i = 0; i < map->count; i++) {
        free(map->keys[i]);
        free(map->values[i]);
    }
    free(map->keys);
    free(map->values);
    memset(map, 0, sizeof *map);
}

int dataset_strmap_set(dataset_strmap *map, const char *key, const char *value)
{
    for (size_t i = 0; i < map->count; i++)
        if (strcmp(map->keys[i], key) == 0)
            return dataset_str_set(&map->values[i], value);
    char **keys = realloc(map->keys, (map->count + 1) * sizeof *keys);
    if (!keys)
        return oom();
    map->keys = keys;
    char **values = realloc(map->values, (map->count + 1) * sizeof *values);
    if (!values)
        return oom();
    map->values = values;
    char *k = strdup(key), *v = value ? strdup(value) : NULL;
    if (!k || (value && !v)) {
        free(k);
        free(v);
        return oom();
    }
    map->keys[map->count] = k;
    map->values[map->count] = v;
    map->count++;
    return 0;
}

const char *dataset_strmap_get(const dataset_strmap *map, const char *key)
{
    for (size_t i = 0; i < map->count; i++)
        if (strcmp(map->keys[i], key) == 0)
            return map->values[i];
    return NULL;
}

int dataset_statistics_set_rows(dataset_statistics *stats, const char *table, int64_t rows)
{
    for (size_t i = 0; i < stats->row_count_tables.count; i++)
        if (strcmp(stats->row_count_tables.items[i], table) == 0) {
            stats->row_counts[i] = rows;
            return 0;
        }
    int64_t *grown = realloc(stats->row_counts, (stats->row_count_tables.count + 1) * sizeof *grown);
    if (!grown)
        return oom();
    stats->row_counts = grown;
    grown[stats->row_count_tables.count] = rows;
    stats->present = true;
    return dataset_strlist_add(&stats->row_count_tables, table);
}

static dataset_table_columns *find_columns(const dataset_info *info, const char *table)
{
    for (size_t i = 0; i < info->ncolumn_tables; i++)
        if (strcmp(info->columns[i].table, table) == 0)
            return &info->columns[i];
    return NULL;
}

const dataset_table_columns *dataset_info_columns(const dataset_info *info, const char *table)
{
    return find_columns(info, table);
}

int dataset_info_add_column(dataset_info *info, const char *table, const char *name,
                            const char *type, const char *description)
{
    dataset_table_columns *tc = find_columns(info, table);
    if (!tc) {
        dataset_table_columns *grown =
            realloc(info->columns, (info->ncolumn_tables + 1) * sizeof *grown);
        if (!grown)
            return oom();
        info->columns = grown;
        tc = &grown[info->ncolumn_tables];
        memset(tc, 0, sizeof *tc);
        if (!(tc->table = strdup(table)))
            return oom();
        info->ncolumn_tables++;
    }
    dataset_column *cols = realloc(tc->columns, (tc->count + 1) * sizeof *cols);
    if (!cols)
        return oom();
    tc->columns = cols;
    dataset_column *c = &cols[tc->count];
    memset(c, 0, sizeof *c);
    tc->count++;
    if (dataset_str_set(&c->name, name) || dataset_str_set(&c->type, type) ||
        dataset_str_set(&c->description, description))
        return MDM_ENOMEM;
    return 0;
}

/* ------------------------------------------------------------ lifecycle */

int dataset_info_new(dataset_info **out)
{
    dataset_info *info = calloc(1, sizeof *info);
    if (!info)
        return oom();
    info->statistics.row_count = -1;
    info->statistics.memory_size_bytes = -1;
    if (!(info->version = strdup(DATASET_INFO_VERSION))) {
        free(info);
        return oom();
    }
    *out = info;
    return 0;
}

static void columns_free(dataset_table_columns *tables, size_t n)
{
    for (size_t t = 0; t < n; t++) {
        for (size_t i = 0; i < tables[t].count; i++) {
            dataset_column *c = &tables[t].columns[i];
            free(c->name);
            free(c->type);
            free(c->description);
            json_decref(c->extra);
        }
        free(tables[t].columns);
        free(tables[t].table);
    }
    free(tables);
}

void dataset_info_free(dataset_info *info)
{
    if (!info)
        return;
    free(info->name);
    free(info->display_name);
    free(info->description);
    dataset_database *db = &info->database;
    free(db->backend);
    free(db->path);
    free(db->host);
    free(db->database);
    free(db->schema);
    free(db->user);
    json_decref(db->extra);
    strmap_clear(&info->tables);
    free(info->problem_type);
    free(info->target_column);
    dataset_strlist_clear(&info->id_columns);
    free(info->time_column);
    free(info->group_column);
    strmap_clear(&info->feature_tables);
    dataset_strlist_clear(&info->tags);
    free(info->source);
    free(info->version);
    dataset_strlist_clear(&info->datetime_columns);
    free(info->statistics.computed_at);
    dataset_strlist_clear(&info->statistics.row_count_tables);
    free(info->statistics.row_counts);
    json_decref(info->statistics.extra);
    columns_free(info->columns, info->ncolumn_tables);
    json_decref(info->metadata_extra);
    json_decref(info->extra);
    free(info);
}

int dataset_info_clone(dataset_info **out, const dataset_info *info)
{
    json_t *tree = NULL;
    int rc = dataset_info_to_tree(&tree, info);
    if (!rc)
        rc = dataset_info_from_tree(out, tree, "dataset record", NULL);
    json_decref(tree);
    return rc;
}

int64_t dataset_info_rows(const dataset_info *info)
{
    return info->statistics.present ? info->statistics.row_count : -1;
}

int64_t dataset_info_size(const dataset_info *info)
{
    return info->statistics.present ? info->statistics.memory_size_bytes : -1;
}

/* ------------------------------------------------------------ timestamps */

int64_t dataset_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int dataset_time_format(char *buf, size_t size, int64_t micros)
{
    char plain[48];
    mdm_timestamp_format(plain, sizeof plain, micros); /* "YYYY-MM-DD HH:MM:SS[.ffffff]" */
    plain[10] = 'T';
    return snprintf(buf, size, "%s+00:00", plain);
}

int dataset_time_parse(int64_t *micros, const char *text)
{
    if (!text)
        return MDM_EINVALID;
    size_t len = strlen(text);
    int64_t offset_s = 0;
    if (len > 10 && (text[len - 1] == 'Z' || text[len - 1] == 'z')) {
        len--;
    } else if (len > 16) {
        /* A zone starts at the last '+' or '-' after the time of day. */
        const char *sign = NULL;
        for (const char *p = text + 16; *p; p++)
            if (*p == '+' || *p == '-')
                sign = p;
        if (sign) {
            const char *z = sign + 1;
            int hh = 0, mm = 0;
            size_t zl = strlen(z);
            bool ok = false;
            if (zl == 2 && isdigit((unsigned char)z[0]) && isdigit((unsigned char)z[1])) {
                hh = (z[0] - '0') * 10 + z[1] - '0';
                ok = true;
            } else if ((zl == 5 && z[2] == ':') || zl == 4) {
                const char *m = z + (zl == 5 ? 3 : 2);
                ok = isdigit((unsigned char)z[0]) && isdigit((unsigned char)z[1]) &&
                     isdigit((unsigned char)m[0]) && isdigit((unsigned char)m[1]);
                hh = (z[0] - '0') * 10 + z[1] - '0';
                mm = (m[0] - '0') * 10 + m[1] - '0';
            }
            if (!ok || hh > 23 || mm > 59)
                return MDM_EINVALID;
            offset_s = (hh * 3600 + mm * 60) * (*sign == '-' ? -1 : 1);
            len = (size_t)(sign - text);
        }
    }
    int64_t local;
    if (mdm_timestamp_parse(&local, text, len) != 0)
        return MDM_EINVALID;
    *micros = local - offset_s * 1000000;
    return 0;
}

/* ------------------------------------------------------------ text forms */

int dataset_info_to_yaml(char **out, size_t *len, const dataset_info *info)
{
    json_t *tree;
    int rc = dataset_info_to_tree(&tree, info);
    if (rc)
        return rc;
    rc = yaml_tree_emit(out, len, tree);
    json_decref(tree);
    return rc;
}

int dataset_info_from_yaml(dataset_info **out, const char *text, size_t len, const char *origin,
                           const char *fallback_name)
{
    json_t *tree;
    int rc = yaml_tree_parse(&tree, text, len, origin);
    if (rc)
        return rc;
    rc = dataset_info_from_tree(out, tree, origin, fallback_name);
    json_decref(tree);
    return rc;
}

int dataset_info_to_json(char **out, size_t *len, const dataset_info *info)
{
    json_t *tree;
    int rc = dataset_info_to_tree(&tree, info);
    if (rc)
        return rc;
    char *text = json_dumps(tree, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(tree);
    if (!text)
        return oom();
    size_t n = strlen(text);
    char *with_newline = realloc(text, n + 2);
    if (!with_newline) {
        free(text);
        return oom();
    }
    with_newline[n] = '\n';
    with_newline[n + 1] = '\0';
    *out = with_newline;
    if (len)
        *len = n + 1;
    return 0;
}

int dataset_info_from_json(dataset_info **out, const char *text, size_t len, const char *origin,
                           const char *fallback_name)
{
    json_error_t err;
    json_t *tree = json_loadb(text, len, JSON_DECODE_ANY, &err);
    if (!tree)
        return mdm_error_set(MDM_EINVALID, "%s line %d column %d: %s", origin, err.line,
                             err.column, err.text);
    int rc = dataset_info_from_tree(out, tree, origin, fallback_name);
    json_decref(tree);
    return rc;
}
