/* The statistics document as a JSON tree (see stats_export.h); stats_export_text.c
 * turns it into YAML and writes CSV and files. */
#include "dataset/stats_export.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* ------------------------------------------------------------------ values */

/* Valid UTF-8 as is; otherwise each invalid byte becomes U+FFFD so that the document
 * stays valid (text that reaches mdm is UTF-8, so this is a guard, not a path). */
size_t stats_utf8_sequence(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

static char *utf8_sanitize(const char *p, size_t len, size_t *out_len)
{
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = stats_utf8_sequence((const unsigned char *)p + i, len - i);
        if (n) {
            memcpy(out + o, p + i, n);
            o += n;
            i += n;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

static json_t *text_json(const char *p, size_t len)
{
    json_t *j = json_stringn(p, len);
    if (j)
        return j;
    size_t n;
    char *clean = utf8_sanitize(p, len, &n);
    if (!clean)
        return NULL;
    j = json_stringn(clean, n);
    free(clean);
    return j;
}

/* Object keys: JSON readers such as jansson refuse NUL in a key, so NUL shows as U+2400
 * (␀) there; the exact value stays in top_values. */
static json_t *key_json(const char *p, size_t len)
{
    if (!memchr(p, '\0', len))
        return text_json(p, len);
    strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\0')
            strbuf_append(&sb, "\xE2\x90\x80");
        else
            strbuf_append_char(&sb, p[i]);
    }
    json_t *j = sb.oom ? NULL : text_json(sb.data, sb.len);
    strbuf_free(&sb);
    return j;
}

static json_t *real_json(double x)
{
    if (isnan(x))
        return json_string("NaN");
    if (isinf(x))
        return json_string(x > 0 ? "Infinity" : "-Infinity");
    return json_real(x);
}

static json_t *count_json(uint64_t n)
{
    return json_integer(n > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)n);
}

void stats_timestamp_iso(char *buf, size_t size, int64_t micros)
{
    mdm_timestamp_format(buf, size, micros);
    char *space = strchr(buf, ' ');
    if (space)
        *space = 'T';
}

/* Text of a value for keys and CSV cells: the value itself, "…"-terminated when cut. */
void stats_scalar_append(strbuf *sb, const stats_scalar *v)
{
    char buf[64];
    switch (v->type) {
    case MDM_TYPE_INT64: strbuf_appendf(sb, "%lld", (long long)v->v.i64); break;
    case MDM_TYPE_FLOAT64:
        if (isnan(v->v.f64))
            strbuf_append(sb, "NaN");
        else if (isinf(v->v.f64))
            strbuf_append(sb, v->v.f64 > 0 ? "Infinity" : "-Infinity");
        else
            strbuf_appendf(sb, "%.17g", v->v.f64);
        break;
    case MDM_TYPE_BOOL: strbuf_append(sb, v->v.b ? "true" : "false"); break;
    case MDM_TYPE_DATE:
        mdm_date_format(buf, sizeof buf, v->v.date);
        strbuf_append(sb, buf);
        break;
    case MDM_TYPE_TIMESTAMP:
        stats_timestamp_iso(buf, sizeof buf, v->v.ts);
        strbuf_append(sb, buf);
        break;
    case MDM_TYPE_TEXT:
        strbuf_append_len(sb, v->text, v->text_len);
        if (v->full_len > v->text_len)
            strbuf_append(sb, "\xE2\x80\xA6");
        break;
    }
}

static json_t *scalar_json(const stats_scalar *v)
{
    switch (v->type) {
    case MDM_TYPE_INT64: return json_integer(v->v.i64);
    case MDM_TYPE_FLOAT64: return real_json(v->v.f64);
    case MDM_TYPE_BOOL: return json_boolean(v->v.b);
    default: {
        strbuf sb = STRBUF_INIT;
        stats_scalar_append(&sb, v);
        json_t *j = sb.oom ? NULL : text_json(sb.data ? sb.data : "", sb.len);
        strbuf_free(&sb);
        return j;
    }
    }
}

/* ------------------------------------------------------------------ JSON tree */

static void put(json_t *obj, const char *key, json_t *value, bool *bad)
{
    if (!value || json_object_set_new(obj, key, value))
        *bad = true;
}

/* Keys that come from names (columns, tables): sanitised like value_counts keys, so an
 * odd name can never make the document fail. */
static void put_name(json_t *obj, const char *name, json_t *value, bool *bad)
{
    json_t *key = key_json(name, strlen(name));
    if (!key || !value ||
        json_object_setn_new(obj, json_string_value(key), json_string_length(key), value))
        *bad = true;
    if (!key)
        json_decref(value);
    json_decref(key);
}

static void put_top_values(json_t *col, const stats_column *c, bool full, bool *bad)
{
    json_t *list = json_array(), *unique = json_array(), *counts = json_object();
    if (!list || !unique || !counts) {
        json_decref(list);
        json_decref(unique);
        json_decref(counts);
        *bad = true;
        return;
    }
    for (size_t i = 0; i < c->ntop; i++) {
        const stats_top_value *t = &c->top[i];
        strbuf sb = STRBUF_INIT;
        stats_scalar_append(&sb, &t->value);
        const char *text = sb.data ? sb.data : "";
        json_t *item = json_object();
        if (!item || sb.oom) {
            *bad = true;
            json_decref(item);
            strbuf_free(&sb);
            continue;
        }
        put(item, "value", scalar_json(&t->value), bad);
        put(item, "count", count_json(t->count), bad);
        if (t->max_overcount)
            put(item, "max_overcount", count_json(t->max_overcount), bad);
        if (t->value.type == MDM_TYPE_TEXT && t->value.full_len > t->value.text_len)
            put(item, "length", count_json(t->value.full_len), bad);
        if (json_array_append_new(list, item) || json_array_append_new(unique, text_json(text, sb.len)))
            *bad = true;
        json_t *key = key_json(text, sb.len);
        if (!key || json_object_setn_new(counts, json_string_value(key), json_string_length(key),
                                         count_json(t->count)))
            *bad = true;
        json_decref(key);
        strbuf_free(&sb);
    }
    put(col, "top_values", list, bad);
    put(col, "top_values_exact", json_boolean(c->top_exact), bad);
    put(col, "unique_values", unique, bad);
    put(col, "value_counts", counts, bad);
    if (full && c->ntop > 0 && c->type == MDM_TYPE_TEXT) {
        put(col, "cardinality", real_json(c->count ? (double)c->distinct / (double)c->count : NAN), bad);
        put(col, "most_frequent", scalar_json(&c->top[0].value), bad);
        put(col, "most_frequent_count", count_json(c->top[0].count), bad);
    }
}

static json_t *column_json(const stats_result *r, const stats_column *c, bool *bad)
{
    json_t *col = json_object();
    if (!col) {
        *bad = true;
        return NULL;
    }
    bool numeric = c->type == MDM_TYPE_INT64 || c->type == MDM_TYPE_FLOAT64 || c->type == MDM_TYPE_BOOL;
    put(col, "dtype", json_string(mdm_type_name(c->type)), bad);
    put(col, "count", count_json(c->count), bad);
    put(col, "null_count", count_json(c->null_count), bad);
    put(col, "null_percentage", real_json(c->null_ratio * 100.0), bad);
    put(col, "unique_count", count_json(c->distinct), bad);
    put(col, "unique_count_exact", json_boolean(c->distinct_exact), bad);
    if (c->type != MDM_TYPE_BOOL) {
        put(col, "monotonic_increasing", json_boolean(c->increasing), bad);
        put(col, "monotonic_decreasing", json_boolean(c->decreasing), bad);
    }
    if (c->has_min_max) {
        put(col, "min", scalar_json(&c->min), bad);
        put(col, "max", scalar_json(&c->max), bad);
    }
    if ((c->type == MDM_TYPE_DATE || c->type == MDM_TYPE_TIMESTAMP) && c->has_min_max)
        put(col, "range_days", json_integer(c->range_days), bad);
    if (c->type == MDM_TYPE_TEXT && c->count) {
        put(col, "min_length", count_json(c->min_length), bad);
        put(col, "max_length", count_json(c->max_length), bad);
        put(col, "mean_length", real_json(c->mean_length), bad);
    }
    if (c->type == MDM_TYPE_FLOAT64) {
        put(col, "nan_count", count_json(c->nan_count), bad);
        put(col, "posinf_count", count_json(c->posinf_count), bad);
        put(col, "neginf_count", count_json(c->neginf_count), bad);
    }
    if (c->type == MDM_TYPE_BOOL) {
        put(col, "true_count", count_json(c->true_count), bad);
        put(col, "false_count", count_json(c->count - c->true_count), bad);
    }
    if (numeric && c->has_mean) {
        put(col, "mean", real_json(c->mean), bad);
        put(col, "std", real_json(c->has_std ? c->std : NAN), bad);
        if (c->type == MDM_TYPE_FLOAT64)
            put(col, "finite_count", count_json(c->moment_count), bad);
    }
    if (c->has_percentiles) {
        put(col, "median", real_json(c->percentiles[3]), bad);
        json_t *p = json_object();
        for (int k = 0; p && k < STATS_NPERCENTILES; k++)
            put(p, stats_percentile_names[k], real_json(c->percentiles[k]), bad);
        put(col, "percentiles", p, bad);
        put(col, "percentiles_exact", json_boolean(c->percentiles_exact), bad);
    }
    if (c->has_shape) {
        put(col, "skewness", real_json(c->skewness), bad);
        put(col, "kurtosis", real_json(c->kurtosis), bad);
    }
    if (c->has_top)
        put_top_values(col, c, r->full, bad);
    return col;
}

static json_t *missing_json(const stats_result *r, bool *bad)
{
    json_t *m = json_object(), *cols = json_object();
    if (!m || !cols) {
        json_decref(m);
        json_decref(cols);
        *bad = true;
        return NULL;
    }
    double cells = (double)r->rows * (double)r->ncols;
    put(m, "total_missing_cells", count_json(r->missing_cells), bad);
    put(m, "total_missing_percentage",
        real_json(cells > 0 ? (double)r->missing_cells / cells * 100.0 : 0.0), bad);
    for (size_t i = 0; i < r->ncols; i++) {
        const stats_column *c = &r->columns[i];
        if (!c->null_count)
            continue;
        json_t *e = json_object();
        if (!e) {
            *bad = true;
            continue;
        }
        put(e, "count", count_json(c->null_count), bad);
        put(e, "percentage", real_json(c->null_ratio * 100.0), bad);
        put_name(cols, c->name, e, bad);
    }
    put(m, "columns_with_missing", cols, bad);
    put(m, "rows_with_missing", count_json(r->rows_with_missing), bad);
    put(m, "complete_rows", count_json(r->complete_rows), bad);
    return m;
}

static json_t *correlations_json(const stats_result *r, bool *bad)
{
    json_t *o = json_object(), *names = json_array(), *matrix = json_object(), *high = json_array();
    if (!o || !names || !matrix || !high) {
        json_decref(o);
        json_decref(names);
        json_decref(matrix);
        json_decref(high);
        *bad = true;
        return NULL;
    }
    size_t k = r->ncorr;
    for (size_t a = 0; a < k; a++) {
        const char *na = r->columns[r->corr_columns[a]].name;
        if (json_array_append_new(names, key_json(na, strlen(na))))
            *bad = true;
        json_t *row = json_object();
        for (size_t b = 0; row && b < k; b++)
            put_name(row, r->columns[r->corr_columns[b]].name, real_json(r->corr[a * k + b]), bad);
        put_name(matrix, na, row, bad);
        for (size_t b = a + 1; b < k; b++) {
            double v = r->corr[a * k + b];
            if (!(fabs(v) > r->high_correlation))
                continue;
            json_t *pair = json_object();
            if (!pair) {
                *bad = true;
                continue;
            }
            put(pair, "column1", key_json(na, strlen(na)), bad);
            put(pair, "column2", key_json(r->columns[r->corr_columns[b]].name, strlen(r->columns[r->corr_columns[b]].name)), bad);
            put(pair, "correlation", real_json(v), bad);
            put(pair, "pairs", count_json(r->corr_pairs[a * k + b]), bad);
            if (json_array_append_new(high, pair))
                *bad = true;
        }
    }
    put(o, "numeric_columns", names, bad);
    put(o, "correlation_matrix", matrix, bad);
    put(o, "high_correlations", high, bad);
    put(o, "threshold", real_json(r->high_correlation), bad);
    put(o, "columns_skipped", count_json(r->corr_columns_skipped), bad);
    return o;
}

static json_t *profiling_json(const stats_result *r, bool *bad)
{
    json_t *o = json_object(), *types = json_object();
    if (!o || !types) {
        json_decref(o);
        json_decref(types);
        *bad = true;
        return NULL;
    }
    for (int t = MDM_TYPE_INT64; t <= MDM_TYPE_TIMESTAMP; t++)
        put(types, mdm_type_name((mdm_type)t), count_json(r->type_counts[t]), bad);
    put(o, "type_counts", types, bad);
    put(o, "numeric_columns", count_json(r->type_counts[MDM_TYPE_INT64] + r->type_counts[MDM_TYPE_FLOAT64]), bad);
    put(o, "constant_columns", count_json(r->constant_columns), bad);
    put(o, "all_null_columns", count_json(r->all_null_columns), bad);
    put(o, "unique_columns", count_json(r->unique_columns), bad);
    put(o, "high_null_columns", count_json(r->high_null_columns), bad);
    return o;
}

static json_t *table_json(const char *table, const stats_result *r, bool *bad)
{
    json_t *t = json_object(), *cols = json_object();
    if (!t || !cols) {
        json_decref(t);
        json_decref(cols);
        *bad = true;
        return NULL;
    }
    if (table)
        put(t, "table_name", key_json(table, strlen(table)), bad);
    put(t, "row_count", count_json(r->rows), bad);
    put(t, "column_count", count_json(r->ncols), bad);
    for (size_t i = 0; i < r->ncols; i++)
        put_name(cols, r->columns[i].name, column_json(r, &r->columns[i], bad), bad);
    put(t, "columns", cols, bad);
    put(t, "missing_values", missing_json(r, bad), bad);
    put(t, "completeness", real_json(r->completeness), bad);
    put(t, "estimated_memory_usage", count_json(r->memory_bytes), bad);
    if (r->full) {
        put(t, "correlations", correlations_json(r, bad), bad);
        json_t *q = json_object();
        if (q) {
            put(q, "completeness", real_json(r->completeness), bad);
            put(q, "duplicate_rows", count_json(r->duplicate_rows), bad);
            put(q, "duplicate_percentage",
                real_json(r->rows ? (double)r->duplicate_rows / (double)r->rows * 100.0 : 0.0), bad);
            put(q, "duplicates_exact", json_boolean(r->duplicates_exact), bad);
        }
        put(t, "data_quality", q, bad);
        put(t, "profiling", profiling_json(r, bad), bad);
    }
    return t;
}

int stats_export_table_json(json_t **out, const char *table, const stats_result *r)
{
    bool bad = false;
    *out = table_json(table, r, &bad);
    if (bad) {
        json_decref(*out);
        *out = NULL;
        return mdm_error_set(MDM_ENOMEM, "out of memory building the statistics of table '%s'",
                             table ? table : "");
    }
    return 0;
}

int stats_export_json(json_t **out, const stats_document *doc)
{
    *out = NULL;
    bool bad = false;
    json_t *root = json_object(), *tables = json_object();
    if (!root || !tables) {
        json_decref(root);
        json_decref(tables);
        return mdm_error_set(MDM_ENOMEM, "out of memory building statistics");
    }
    char now[40];
    const char *computed_at = doc->computed_at;
    if (!computed_at) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        stats_timestamp_iso(now, sizeof now, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
        computed_at = now;
    }
    put(root, "dataset_name", key_json(doc->dataset_name ? doc->dataset_name : "", doc->dataset_name ? strlen(doc->dataset_name) : 0), &bad);
    put(root, "computed_at", json_string(computed_at), &bad);
    put(root, "mode", json_string(doc->full ? "full" : "basic"), &bad);
    uint64_t rows = 0, columns = 0, missing = 0;
    double cells = 0;
    for (size_t i = 0; i < doc->ntables; i++) {
        const stats_table_entry *e = &doc->tables[i];
        const char *kind = e->kind ? e->kind : e->table;
        put_name(tables, kind ? kind : "", table_json(e->table, e->result, &bad), &bad);
        rows += e->result->rows;
        columns += e->result->ncols;
        missing += e->result->missing_cells;
        cells += (double)e->result->rows * (double)e->result->ncols;
    }
    put(root, "tables", tables, &bad);
    json_t *summary = json_object();
    if (summary) {
        put(summary, "total_rows", count_json(rows), &bad);
        put(summary, "total_columns", count_json(columns), &bad);
        put(summary, "total_tables", count_json(doc->ntables), &bad);
        put(summary, "total_missing_cells", count_json(missing), &bad);
        put(summary, "overall_completeness", real_json(cells > 0 ? 1.0 - (double)missing / cells : 1.0), &bad);
    }
    put(root, "summary", summary, &bad);
    if (bad) {
        json_decref(root);
        return mdm_error_set(MDM_ENOMEM, "out of memory building statistics");
    }
    *out = root;
    return 0;
}

int stats_export_json_text(char **out, const stats_document *doc)
{
    *out = NULL;
    json_t *root;
    int rc = stats_export_json(&root, doc);
    if (rc)
        return rc;
    *out = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!*out)
        return mdm_error_set(MDM_ENOMEM, "out of memory writing statistics as JSON");
    return 0;
}
