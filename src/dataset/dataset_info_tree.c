/* The dataset record <-> its JSON tree, in the on-disk key order of the Python tool
 * (see dataset_info.h). Both text forms (YAML, JSON) go through this tree. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataset/dataset_info.h"
#include "mdm/mdm.h"

static int oom(void) { return mdm_error_set(MDM_ENOMEM, "out of memory in the dataset catalog"); }

/* ------------------------------------------------------------ to tree */

typedef struct tree_writer {
    int rc;
    const char *what; /* field being written, for the error */
} tree_writer;

static void put(tree_writer *w, json_t *obj, const char *key, json_t *value)
{
    if (w->rc) {
        json_decref(value);
        return;
    }
    if (!value) {
        w->rc = mdm_error_set(MDM_EINVALID, "dataset field '%s' is not valid UTF-8", key);
        return;
    }
    if (json_object_set_new(obj, key, value) != 0)
        w->rc = oom();
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *list_tree(const dataset_strlist *list)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < list->count; i++)
        if (json_array_append_new(arr, json_string(list->items[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

static json_t *map_tree(const dataset_strmap *map)
{
    json_t *obj = json_object();
    for (size_t i = 0; obj && i < map->count; i++)
        if (json_object_set_new(obj, map->keys[i], str_or_null(map->values[i])) != 0) {
            json_decref(obj);
            return NULL;
        }
    return obj;
}

static json_t *time_or_null(bool has, int64_t micros)
{
    if (!has)
        return json_null();
    char buf[64];
    dataset_time_format(buf, sizeof buf, micros);
    return json_string(buf);
}

/* Copies every key of `extra` that `obj` does not have, except passwords. */
static void put_extra(tree_writer *w, json_t *obj, const json_t *extra)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)extra, key, value)
    {
        if (strcasecmp(key, "password") == 0 || json_object_get(obj, key))
            continue;
        put(w, obj, key, json_deep_copy(value));
    }
}

static json_t *database_tree(tree_writer *w, const dataset_database *db)
{
    json_t *obj = json_object();
    if (!obj) {
        w->rc = oom();
        return NULL;
    }
    put(w, obj, "backend", str_or_null(db->backend));
    if (db->path)
        put(w, obj, "path", json_string(db->path));
    if (db->host)
        put(w, obj, "host", json_string(db->host));
    if (db->port)
        put(w, obj, "port", json_integer(db->port));
    if (db->database)
        put(w, obj, "database", json_string(db->database));
    if (db->schema)
        put(w, obj, "schema", json_string(db->schema));
    if (db->user)
        put(w, obj, "user", json_string(db->user));
    put_extra(w, obj, db->extra);
    return obj;
}

static json_t *statistics_tree(tree_writer *w, const dataset_statistics *st)
{
    json_t *obj = json_object();
    if (!obj) {
        w->rc = oom();
        return NULL;
    }
    put(w, obj, "row_count", st->row_count >= 0 ? json_integer(st->row_count) : json_null());
    put(w, obj, "memory_size_bytes",
        st->memory_size_bytes >= 0 ? json_integer(st->memory_size_bytes) : json_null());
    put(w, obj, "computed_at", str_or_null(st->computed_at));
    if (st->row_count_tables.count) {
        json_t *tables = json_object();
        put(w, obj, "tables", tables);
        for (size_t i = 0; tables && !w->rc && i < st->row_count_tables.count; i++)
            put(w, tables, st->row_count_tables.items[i],
                json_pack("{sI}", "row_count", (json_int_t)st->row_counts[i]));
    }
    put_extra(w, obj, st->extra);
    return obj;
}

static json_t *columns_tree(tree_writer *w, const dataset_info *info)
{
    json_t *obj = json_object();
    if (!obj) {
        w->rc = oom();
        return NULL;
    }
    for (size_t t = 0; !w->rc && t < info->ncolumn_tables; t++) {
        const dataset_table_columns *tc = &info->columns[t];
        json_t *arr = json_array();
        put(w, obj, tc->table, arr);
        for (size_t i = 0; arr && !w->rc && i < tc->count; i++) {
            const dataset_column *c = &tc->columns[i];
            json_t *col = json_object();
            if (!col || json_array_append_new(arr, col) != 0) {
                w->rc = oom();
                break;
            }
            put(w, col, "name", str_or_null(c->name));
            put(w, col, "type", str_or_null(c->type));
            if (c->description)
                put(w, col, "description", json_string(c->description));
            put_extra(w, col, c->extra);
        }
    }
    return obj;
}

int dataset_info_to_tree(json_t **out, const dataset_info *info)
{
    *out = NULL;
    tree_writer w = {0};
    json_t *root = json_object();
    if (!root)
        return oom();
    put(&w, root, "name", str_or_null(info->name));
    put(&w, root, "display_name", str_or_null(info->display_name));
    put(&w, root, "description", str_or_null(info->description));
    put(&w, root, "database", database_tree(&w, &info->database));
    put(&w, root, "tables", map_tree(&info->tables));
    put(&w, root, "problem_type", str_or_null(info->problem_type));
    put(&w, root, "target_column", str_or_null(info->target_column));
    put(&w, root, "id_columns", list_tree(&info->id_columns));
    put(&w, root, "time_column", str_or_null(info->time_column));
    put(&w, root, "group_column", str_or_null(info->group_column));
    put(&w, root, "feature_tables", map_tree(&info->feature_tables));
    put(&w, root, "registered_at", time_or_null(info->has_registered_at, info->registered_at));
    put(&w, root, "last_updated_at",
        time_or_null(info->has_last_updated_at, info->last_updated_at));
    put(&w, root, "tags", list_tree(&info->tags));
    put(&w, root, "source", str_or_null(info->source));
    put(&w, root, "version", str_or_null(info->version ? info->version : DATASET_INFO_VERSION));
    json_t *metadata = json_object();
    put(&w, root, "metadata", metadata);
    if (metadata) {
        put(&w, metadata, "datetime_columns", list_tree(&info->datetime_columns));
        if (info->statistics.present)
            put(&w, metadata, "statistics", statistics_tree(&w, &info->statistics));
        if (info->ncolumn_tables)
            put(&w, metadata, "columns", columns_tree(&w, info));
        put_extra(&w, metadata, info->metadata_extra);
    }
    put_extra(&w, root, info->extra);
    if (w.rc) {
        json_decref(root);
        return w.rc;
    }
    *out = root;
    return 0;
}

/* ------------------------------------------------------------ from tree */

typedef struct tree_reader {
    const char *origin;
} tree_reader;

static int shape_error(const tree_reader *r, const char *key, const char *shape)
{
    return mdm_error_set(MDM_EINVALID, "%s: '%s' must be %s", r->origin, key, shape);
}

/* The text of a scalar (numbers and booleans as written by YAML/JSON); NULL for null. */
static int scalar_text(char **out, const tree_reader *r, const char *key, const json_t *v)
{
    char buf[64];
    const char *text = NULL;
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_NULL:
        return dataset_str_set(out, NULL);
    case JSON_STRING:
        text = json_string_value(v);
        break;
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        text = buf;
        break;
    case JSON_REAL:
        snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
        text = buf;
        break;
    case JSON_TRUE:
        text = "true";
        break;
    case JSON_FALSE:
        text = "false";
        break;
    default:
        return shape_error(r, key, "a single value");
    }
    return dataset_str_set(out, text);
}

static int read_str(char **out, const tree_reader *r, const json_t *obj, const char *key)
{
    return scalar_text(out, r, key, json_object_get(obj, key));
}

static int read_list(dataset_strlist *out, const tree_reader *r, const json_t *obj,
                     const char *key)
{
    const json_t *v = json_object_get(obj, key);
    dataset_strlist_clear(out);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_object(v))
        return shape_error(r, key, "a list");
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
        char *text = NULL;
        int rc = scalar_text(&text, r, key, item);
        if (!rc && text)
            rc = dataset_strlist_add(out, text);
        free(text);
        if (rc)
            return rc;
    }
    return 0;
}

static int read_map(dataset_strmap *out, const tree_reader *r, const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return shape_error(r, key, "a mapping");
    const char *k;
    json_t *item;
    json_object_foreach((json_t *)v, k, item)
    {
        char *text = NULL;
        int rc = scalar_text(&text, r, key, item);
        if (!rc)
            rc = dataset_strmap_set(out, k, text);
        free(text);
        if (rc)
            return rc;
    }
    return 0;
}

/* A count: an integer, a real, digits in a string (the Python tool's JSON wrote numpy
 * integers with str()), or null (-1). Counts are informational: anything else is a
 * warning and -1, never a reason to hide the dataset. */
static int read_count(int64_t *out, const tree_reader *r, const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    *out = -1;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9.2e18) {
        *out = (int64_t)llround(json_real_value(v));
        return 0;
    }
    if (json_is_string(v)) {
        const char *text = json_string_value(v);
        char *end;
        errno = 0;
        long long n = strtoll(text, &end, 10);
        if (*text && !*end && !errno && n >= 0) {
            *out = n;
            return 0;
        }
    }
    char *shown = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    MDM_WARN("%s: '%s' value %.80s is not a whole number; ignored", r->origin, key,
             shown ? shown : "?");
    free(shown);
    return 0;
}

static int read_time(int64_t *micros, bool *has, const tree_reader *r, const json_t *obj,
                     const char *key)
{
    const json_t *v = json_object_get(obj, key);
    *has = false;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || dataset_time_parse(micros, json_string_value(v)) != 0) {
        /* Informational field: a bad value hides the date, not the dataset. */
        char *text = json_dumps(v, JSON_ENCODE_ANY);
        MDM_WARN("%s: '%s' value %s is not an ISO 8601 timestamp; ignored", r->origin, key,
                 text ? text : "?");
        free(text);
        return 0;
    }
    *has = true;
    return 0;
}

/* `obj` without `known` keys (and without passwords), or NULL when nothing is left. */
static json_t *leftover(const json_t *obj, const char *const *known)
{
    json_t *rest = json_object();
    if (!rest)
        return NULL;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        bool skip = strcasecmp(key, "password") == 0;
        for (size_t i = 0; !skip && known[i]; i++)
            skip = strcmp(key, known[i]) == 0;
        if (!skip)
            json_object_set(rest, key, value);
    }
    if (json_object_size(rest) == 0) {
        json_decref(rest);
        return NULL;
    }
    return rest;
}

static int read_database(dataset_database *db, const tree_reader *r, const json_t *root)
{
    const json_t *v = json_object_get(root, "database");
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return shape_error(r, "database", "a mapping");
    static const char *const known[] = {"backend", "path", "host", "port", "database",
                                        "schema", "user", NULL};
    int rc = read_str(&db->backend, r, v, "backend");
    if (!rc)
        rc = read_str(&db->path, r, v, "path");
    if (!rc)
        rc = read_str(&db->host, r, v, "host");
    if (!rc)
        rc = read_str(&db->database, r, v, "database");
    if (!rc)
        rc = read_str(&db->schema, r, v, "schema");
    if (!rc)
        rc = read_str(&db->user, r, v, "user");
    if (!rc) {
        int64_t port;
        const json_t *pv = json_object_get(v, "port");
        if (json_is_string(pv)) {
            char *end;
            port = strtoll(json_string_value(pv), &end, 10);
            if (*end)
                return shape_error(r, "database.port", "a port number");
        } else if ((rc = read_count(&port, r, v, "port")) != 0) {
            return rc;
        }
        db->port = port > 0 ? port : 0;
    }
    db->extra = leftover(v, known);
    return rc;
}

static int read_statistics(dataset_statistics *st, const tree_reader *r, const json_t *meta)
{
    const json_t *v = json_object_get(meta, "statistics");
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return shape_error(r, "metadata.statistics", "a mapping");
    st->present = true;
    int rc = read_count(&st->row_count, r, v, "row_count");
    if (!rc)
        rc = read_count(&st->memory_size_bytes, r, v, "memory_size_bytes");
    if (!rc)
        rc = read_str(&st->computed_at, r, v, "computed_at");
    const json_t *tables = json_object_get(v, "tables");
    if (!rc && tables && !json_is_object(tables))
        return shape_error(r, "metadata.statistics.tables", "a mapping");
    const char *kind;
    json_t *entry;
    json_object_foreach((json_t *)tables, kind, entry)
    {
        int64_t rows = -1;
        if (!json_is_object(entry))
            return shape_error(r, "metadata.statistics.tables", "a mapping of mappings");
        if ((rc = read_count(&rows, r, entry, "row_count")) != 0)
            return rc;
        if (rows >= 0 && (rc = dataset_statistics_set_rows(st, kind, rows)) != 0)
            return rc;
    }
    static const char *const known[] = {"row_count", "memory_size_bytes", "computed_at", "tables",
                                        NULL};
    st->extra = leftover(v, known);
    return rc;
}

static int read_columns(dataset_info *info, const tree_reader *r, const json_t *meta)
{
    const json_t *v = json_object_get(meta, "columns");
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return shape_error(r, "metadata.columns", "a mapping of table -> list of columns");
    const char *table;
    json_t *list;
    json_object_foreach((json_t *)v, table, list)
    {
        if (!json_is_array(list))
            return shape_error(r, "metadata.columns", "a mapping of table -> list of columns");
        for (size_t i = 0; i < json_array_size(list); i++) {
            const json_t *col = json_array_get(list, i);
            if (!json_is_object(col) || !json_is_string(json_object_get(col, "name")))
                return shape_error(r, "metadata.columns", "a list of {name, type} mappings");
            char *type = NULL, *description = NULL;
            int rc = read_str(&type, r, col, "type");
            if (!rc)
                rc = read_str(&description, r, col, "description");
            if (!rc)
                rc = dataset_info_add_column(info, table,
                                             json_string_value(json_object_get(col, "name")),
                                             type, description);
            free(type);
            free(description);
            if (rc)
                return rc;
            static const char *const known[] = {"name", "type", "description", NULL};
            /* The entry just added: the last column of the table's list. */
            dataset_table_columns *tc = (dataset_table_columns *)dataset_info_columns(info, table);
            tc->columns[tc->count - 1].extra = leftover(col, known);
        }
    }
    return 0;
}

static int read_metadata(dataset_info *info, const tree_reader *r, const json_t *root)
{
    const json_t *meta = json_object_get(root, "metadata");
    if (!meta || json_is_null(meta))
        return 0;
    if (!json_is_object(meta))
        return shape_error(r, "metadata", "a mapping");
    int rc = read_list(&info->datetime_columns, r, meta, "datetime_columns");
    if (!rc)
        rc = read_statistics(&info->statistics, r, meta);
    if (!rc)
        rc = read_columns(info, r, meta);
    static const char *const known[] = {"datetime_columns", "statistics", "columns", NULL};
    info->metadata_extra = leftover(meta, known);
    return rc;
}

int dataset_info_from_tree(dataset_info **out, const json_t *tree, const char *origin,
                           const char *fallback_name)
{
    *out = NULL;
    tree_reader r = {.origin = origin};
    if (!json_is_object(tree))
        return mdm_error_set(MDM_EINVALID, "%s: the document must be a mapping", origin);
    dataset_info *info;
    int rc = dataset_info_new(&info);
    if (rc)
        return rc;
    free(info->version);
    info->version = NULL;
    rc = read_str(&info->name, &r, tree, "name");
    if (!rc && !info->name) {
        if (fallback_name)
            rc = dataset_str_set(&info->name, fallback_name);
        else
            rc = mdm_error_set(MDM_EINVALID, "%s: 'name' is missing", origin);
    }
    if (!rc)
        rc = read_str(&info->display_name, &r, tree, "display_name");
    if (!rc)
        rc = read_str(&info->description, &r, tree, "description");
    if (!rc)
        rc = read_database(&info->database, &r, tree);
    if (!rc)
        rc = read_map(&info->tables, &r, tree, "tables");
    if (!rc)
        rc = read_str(&info->problem_type, &r, tree, "problem_type");
    if (!rc)
        rc = read_str(&info->target_column, &r, tree, "target_column");
    if (!rc)
        rc = read_list(&info->id_columns, &r, tree, "id_columns");
    if (!rc)
        rc = read_str(&info->time_column, &r, tree, "time_column");
    if (!rc)
        rc = read_str(&info->group_column, &r, tree, "group_column");
    if (!rc)
        rc = read_map(&info->feature_tables, &r, tree, "feature_tables");
    if (!rc)
        rc = read_time(&info->registered_at, &info->has_registered_at, &r, tree, "registered_at");
    if (!rc)
        rc = read_time(&info->last_updated_at, &info->has_last_updated_at, &r, tree,
                       "last_updated_at");
    if (!rc)
        rc = read_list(&info->tags, &r, tree, "tags");
    if (!rc)
        rc = read_str(&info->source, &r, tree, "source");
    if (!rc)
        rc = read_str(&info->version, &r, tree, "version");
    if (!rc && !info->version)
        rc = dataset_str_set(&info->version, DATASET_INFO_VERSION);
    if (!rc)
        rc = read_metadata(info, &r, tree);
    if (rc) {
        dataset_info_free(info);
        return rc;
    }
    static const char *const known[] = {
        "name",          "display_name",  "description",    "database",     "tables",
        "problem_type",  "target_column", "id_columns",     "time_column",  "group_column",
        "feature_tables", "registered_at", "last_updated_at", "tags",        "source",
        "version",       "metadata",      NULL};
    info->extra = leftover(tree, known);
    *out = info;
    return 0;
}

