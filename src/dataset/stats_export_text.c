/* YAML (emitted from the JSON tree by libyaml), CSV (one row per column) and files for
 * dataset statistics (see stats_export.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "dataset/stats_export.h"

#include "dataset/catalog.h"

/* ------------------------------------------------------------------ YAML */

static int yaml_write(void *data, unsigned char *buffer, size_t size)
{
    strbuf *sb = data;
    strbuf_append_len(sb, (const char *)buffer, size);
    return !sb->oom;
}

/* A plain scalar that a YAML 1.1 reader (PyYAML) would resolve to a number, bool, null
 * or date must be quoted to stay a string. */
static bool yaml_string_needs_quotes(const char *s, size_t len)
{
    if (len == 0)
        return true;
    char c = s[0];
    if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' || c == '~')
        return true;
    static const char *const words[] = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strlen(words[i]) == len && strncasecmp(s, words[i], len) == 0)
            return true;
    return memchr(s, '\0', len) != NULL;
}

static int emit(yaml_emitter_t *e, yaml_event_t *ev, int ok)
{
    if (!ok || !yaml_emitter_emit(e, ev))
        return mdm_error_set(MDM_ERROR, "writing statistics as YAML failed: %s",
                             e->problem ? e->problem : "out of memory");
    return 0;
}

static int emit_scalar(yaml_emitter_t *e, const char *s, size_t len, bool is_string)
{
    yaml_event_t ev;
    yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;
    if (is_string)
        style = yaml_string_needs_quotes(s, len) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE;
    return emit(e, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)len,
                                                     1, 1, style));
}

static int emit_json(yaml_emitter_t *e, const json_t *j)
{
    yaml_event_t ev;
    char buf[64];
    int rc;
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        rc = emit(e, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE));
        for (void *it = json_object_iter((json_t *)j); !rc && it;
             it = json_object_iter_next((json_t *)j, it)) {
            rc = emit_scalar(e, json_object_iter_key(it), json_object_iter_key_len(it), true);
            if (!rc)
                rc = emit_json(e, json_object_iter_value(it));
        }
        return rc ? rc : emit(e, &ev, yaml_mapping_end_event_initialize(&ev));
    case JSON_ARRAY:
        rc = emit(e, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE));
        for (size_t i = 0; !rc && i < json_array_size(j); i++)
            rc = emit_json(e, json_array_get(j, i));
        return rc ? rc : emit(e, &ev, yaml_sequence_end_event_initialize(&ev));
    case JSON_STRING:
        return emit_scalar(e, json_string_value(j), json_string_length(j), true);
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(j));
        return emit_scalar(e, buf, strlen(buf), false);
    case JSON_REAL: {
        /* YAML 1.1 readers (PyYAML) see a float only with a '.': 1e+22 becomes 1.0e+22. */
        char digits[40];
        snprintf(digits, sizeof digits, "%.17g", json_real_value(j));
        char *exp = strchr(digits, 'e');
        if (strchr(digits, '.'))
            snprintf(buf, sizeof buf, "%s", digits);
        else if (exp)
            snprintf(buf, sizeof buf, "%.*s.0%s", (int)(exp - digits), digits, exp);
        else
            snprintf(buf, sizeof buf, "%s.0", digits);
        return emit_scalar(e, buf, strlen(buf), false);
    }
    case JSON_TRUE: return emit_scalar(e, "true", 4, false);
    case JSON_FALSE: return emit_scalar(e, "false", 5, false);
    case JSON_NULL: return emit_scalar(e, "null", 4, false);
    }
    return 0;
}

int stats_export_yaml_text(char **out, const stats_document *doc)
{
    *out = NULL;
    json_t *root = NULL;
    int rc = stats_export_json(&root, doc);
    if (rc)
        return rc;
    rc = stats_yaml_from_json(out, root);
    json_decref(root);
    return rc;
}

int stats_yaml_from_json(char **out, const json_t *root)
{
    *out = NULL;
    strbuf sb = STRBUF_INIT;
    yaml_emitter_t e;
    yaml_event_t ev;
    int rc = 0;
    if (!yaml_emitter_initialize(&e))
        return mdm_error_set(MDM_ENOMEM, "out of memory writing statistics as YAML");
    yaml_emitter_set_output(&e, yaml_write, &sb);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, -1);
    rc = emit(&e, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
    if (!rc)
        rc = emit(&e, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
    if (!rc)
        rc = emit_json(&e, root);
    if (!rc)
        rc = emit(&e, &ev, yaml_document_end_event_initialize(&ev, 1));
    if (!rc)
        rc = emit(&e, &ev, yaml_stream_end_event_initialize(&ev));
    if (!rc && !yaml_emitter_flush(&e))
        rc = mdm_error_set(MDM_ERROR, "writing statistics as YAML failed while flushing");
    yaml_emitter_delete(&e);
    if (!rc && (sb.oom || !strbuf_cstr(&sb)))
        rc = mdm_error_set(MDM_ENOMEM, "out of memory writing statistics as YAML");
    if (rc) {
        strbuf_free(&sb);
        return rc;
    }
    *out = strbuf_detach(&sb);
    return 0;
}

/* ------------------------------------------------------------------ CSV */

static void csv_cell(strbuf *sb, const char *s, size_t len)
{
    bool quote = len > 0 && (s[0] == ' ' || s[len - 1] == ' ');
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        strbuf_append_len(sb, s, len);
        return;
    }
    strbuf_append_char(sb, '"');
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            strbuf_append_char(sb, '"');
        strbuf_append_char(sb, s[i]);
    }
    strbuf_append_char(sb, '"');
}

static void csv_text(strbuf *sb, const char *s)
{
    strbuf_append_char(sb, ',');
    csv_cell(sb, s, strlen(s));
}

static void csv_u64(strbuf *sb, uint64_t v) { strbuf_appendf(sb, ",%llu", (unsigned long long)v); }

static void csv_double(strbuf *sb, bool present, double v)
{
    strbuf_append_char(sb, ',');
    if (!present)
        return;
    if (isnan(v))
        strbuf_append(sb, "NaN");
    else if (isinf(v))
        strbuf_append(sb, v > 0 ? "Infinity" : "-Infinity");
    else
        strbuf_appendf(sb, "%.17g", v);
}

/* The CSV is one C string: a NUL byte in a text value shows as U+2400 (␀), and bytes
 * that are not UTF-8 as U+FFFD, as the JSON form does. */
static void csv_clean(strbuf *out, const char *p, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = stats_utf8_sequence((const unsigned char *)p + i, len - i);
        if (n == 1 && p[i] == '\0') {
            strbuf_append(out, "\xE2\x90\x80");
        } else if (n) {
            strbuf_append_len(out, p + i, n);
        } else {
            strbuf_append(out, "\xEF\xBF\xBD");
            n = 1;
        }
        i += n;
    }
}

static void csv_scalar(strbuf *sb, bool present, const stats_scalar *v)
{
    strbuf_append_char(sb, ',');
    if (!present)
        return;
    strbuf raw = STRBUF_INIT, cell = STRBUF_INIT;
    stats_scalar_append(&raw, v);
    csv_clean(&cell, raw.data ? raw.data : "", raw.len);
    if (raw.oom || cell.oom)
        sb->oom = true;
    if (cell.len == 0) /* an empty string, told apart from an empty (absent) cell */
        strbuf_append(sb, "\"\"");
    else
        csv_cell(sb, cell.data, cell.len);
    strbuf_free(&raw);
    strbuf_free(&cell);
}

int stats_export_csv_text(char **out, const stats_document *doc)
{
    *out = NULL;
    strbuf sb = STRBUF_INIT;
    strbuf_append(&sb, "table,column,type,count,nulls,null_ratio,distinct,distinct_exact,min,max,"
                       "mean,std,min_length,max_length");
    for (int k = 0; k < STATS_NPERCENTILES; k++)
        strbuf_appendf(&sb, ",%s", stats_percentile_names[k]);
    strbuf_append(&sb, ",skewness,kurtosis,top_value,top_count\r\n");
    for (size_t t = 0; t < doc->ntables; t++) {
        const stats_table_entry *e = &doc->tables[t];
        const char *table = e->kind ? e->kind : e->table ? e->table : "";
        for (size_t i = 0; i < e->result->ncols; i++) {
            const stats_column *c = &e->result->columns[i];
            csv_cell(&sb, table, strlen(table));
            csv_text(&sb, c->name);
            csv_text(&sb, mdm_type_name(c->type));
            csv_u64(&sb, c->count);
            csv_u64(&sb, c->null_count);
            csv_double(&sb, true, c->null_ratio);
            csv_u64(&sb, c->distinct);
            csv_text(&sb, c->distinct_exact ? "true" : "false");
            csv_scalar(&sb, c->has_min_max, &c->min);
            csv_scalar(&sb, c->has_min_max, &c->max);
            bool moments = c->type == MDM_TYPE_INT64 || c->type == MDM_TYPE_FLOAT64 || c->type == MDM_TYPE_BOOL;
            csv_double(&sb, moments && c->has_mean, c->mean);
            csv_double(&sb, moments && c->has_std, c->std);
            bool text = c->type == MDM_TYPE_TEXT && c->count > 0;
            strbuf_append_char(&sb, ',');
            if (text)
                strbuf_appendf(&sb, "%llu", (unsigned long long)c->min_length);
            strbuf_append_char(&sb, ',');
            if (text)
                strbuf_appendf(&sb, "%llu", (unsigned long long)c->max_length);
            for (int k = 0; k < STATS_NPERCENTILES; k++)
                csv_double(&sb, c->has_percentiles, c->percentiles[k]);
            csv_double(&sb, c->has_shape, c->skewness);
            csv_double(&sb, c->has_shape && !isnan(c->kurtosis), c->kurtosis);
            csv_scalar(&sb, c->ntop > 0, c->ntop ? &c->top[0].value : NULL);
            strbuf_append_char(&sb, ',');
            if (c->ntop)
                strbuf_appendf(&sb, "%llu", (unsigned long long)c->top[0].count);
            strbuf_append(&sb, "\r\n");
        }
    }
    if (sb.oom || !strbuf_cstr(&sb)) {
        strbuf_free(&sb);
        return mdm_error_set(MDM_ENOMEM, "out of memory writing statistics as CSV");
    }
    *out = strbuf_detach(&sb);
    return 0;
}

/* ------------------------------------------------------------------ files */

static bool has_extension(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

int stats_export_file(const char *path, const stats_document *doc)
{
    char *text = NULL;
    int rc;
    if (has_extension(path, ".yaml") || has_extension(path, ".yml"))
        rc = stats_export_yaml_text(&text, doc);
    else if (has_extension(path, ".csv"))
        rc = stats_export_csv_text(&text, doc);
    else
        rc = stats_export_json_text(&text, doc);
    if (!rc)
        rc = catalog_write_atomic(path, text, strlen(text));
    free(text);
    return rc;
}

int stats_export_tree_file(const char *path, const json_t *root)
{
    if (has_extension(path, ".csv"))
        return mdm_error_set(MDM_ENOTSUP, "%s: CSV statistics are written from results", path);
    char *text = NULL;
    int rc = 0;
    if (has_extension(path, ".yaml") || has_extension(path, ".yml")) {
        rc = stats_yaml_from_json(&text, root);
    } else if (!(text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                             JSON_REAL_PRECISION(17)))) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory writing statistics as JSON");
    }
    if (!rc)
        rc = catalog_write_atomic(path, text, strlen(text));
    free(text);
    return rc;
}
