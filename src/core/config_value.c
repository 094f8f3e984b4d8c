/* Configuration values: text (from YAML, the environment or `mdm config set`) coerced
 * to a key's kind and checked against its constraint, and the canonical text back. */
#include "core/config_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Integer bounds at or beyond this magnitude mean "no bound": the schema writes int64's
 * limits as BIG (9.2e18), which a double cannot hold exactly. */
#define INT_UNBOUNDED 9.0e18
/* Bounds at or beyond this magnitude are enforced but not worth describing. */
#define UNDESCRIBED 1.0e9

static const char *const secret_mask = "********";

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Copies `text` without surrounding white space into a new string. */
static char *trimmed_copy(const char *text)
{
    while (is_space(*text))
        text++;
    size_t len = strlen(text);
    while (len > 0 && is_space(text[len - 1]))
        len--;
    return strndup(text, len);
}

static void append_number(strbuf *sb, double v, bool integral)
{
    if (integral)
        strbuf_appendf(sb, "%lld", (long long)v);
    else
        strbuf_appendf(sb, "%g", v);
}

/* " >= 100", " between 1 and 65535" or "" for an unbounded integer or number. */
static void append_range(strbuf *sb, const config_key *k, bool integral)
{
    if (!k->has_range)
        return;
    bool has_min = fabs(k->min) < UNDESCRIBED, has_max = fabs(k->max) < UNDESCRIBED;
    if (has_min && has_max) {
        strbuf_append(sb, " between ");
        append_number(sb, k->min, integral);
        strbuf_append(sb, " and ");
        append_number(sb, k->max, integral);
    } else if (has_min) {
        strbuf_append(sb, " >= ");
        append_number(sb, k->min, integral);
    } else if (has_max) {
        strbuf_append(sb, " <= ");
        append_number(sb, k->max, integral);
    }
}

void config_value_describe(strbuf *sb, long idx)
{
    const config_key *k = &mdm_config_keys[idx];
    switch (k->kind) {
    case CFG_BOOL:
        strbuf_append(sb, "true or false");
        break;
    case CFG_INT:
        strbuf_append(sb, "an integer");
        append_range(sb, k, true);
        break;
    case CFG_FLOAT:
        strbuf_append(sb, "a number");
        append_range(sb, k, false);
        break;
    case CFG_STRING:
        strbuf_append(sb, k->nullable ? "a string or null" : "a string");
        break;
    case CFG_ENUM:
        strbuf_append(sb, "one of ");
        for (size_t c = 0; k->choices[c]; c++)
            strbuf_appendf(sb, "%s%s", c ? ", " : "", k->choices[c]);
        break;
    case CFG_INT_LIST:
        strbuf_append(sb, "a non-empty list of integers");
        append_range(sb, k, true);
        strbuf_append(sb, " (e.g. 5,10)");
        break;
    }
}

/* Base-10 int64 without anything around it: "1.5", "0x10", "1e3" and overflow fail.
 * Returns 0, -1 for not an integer, ERANGE for overflow. */
static int parse_int64(int64_t *out, const char *s)
{
    const char *digits = (*s == '-' || *s == '+') ? s + 1 : s;
    if (*digits < '0' || *digits > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0')
        return -1;
    if (errno == ERANGE)
        return ERANGE;
    *out = v;
    return 0;
}

/* Checks an integer against the key's range; on failure says which bound it broke. */
static int check_int_range(const config_key *k, int64_t v, const char *what, strbuf *why)
{
    if (!k->has_range)
        return 0;
    if (fabs(k->min) < INT_UNBOUNDED && (double)v < k->min) {
        strbuf_appendf(why, "must be %s >= ", what);
        append_number(why, k->min, true);
        return -1;
    }
    if (fabs(k->max) < INT_UNBOUNDED && (double)v > k->max) {
        strbuf_appendf(why, "must be %s <= ", what);
        append_number(why, k->max, true);
        return -1;
    }
    return 0;
}

static int parse_int_value(config_value *out, long idx, const char *text, strbuf *why)
{
    const config_key *k = &mdm_config_keys[idx];
    int64_t v = 0;
    int rc = parse_int64(&v, text);
    if (rc != 0) {
        strbuf_append(why, "must be ");
        config_value_describe(why, idx);
        if (rc == ERANGE)
            strbuf_append(why, " (the value overflows a 64-bit integer)");
        return -1;
    }
    if (check_int_range(k, v, "an integer", why))
        return -1;
    out->i = v;
    return 0;
}

static int parse_float_value(config_value *out, long idx, const char *text, strbuf *why)
{
    const config_key *k = &mdm_config_keys[idx];
    errno = 0;
    char *end = NULL;
    double v = strtod(text, &end);
    /* strtod also takes hex floats, "nan" and "inf": none is a sensible setting. */
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v) ||
        strpbrk(text, "xX") != NULL) {
        strbuf_append(why, "must be ");
        config_value_describe(why, idx);
        return -1;
    }
    if (k->has_range && (v < k->min || v > k->max)) {
        strbuf_appendf(why, "must be a number %s ", v < k->min ? ">=" : "<=");
        append_number(why, v < k->min ? k->min : k->max, false);
        return -1;
    }
    out->f = v;
    return 0;
}

static int parse_bool_value(config_value *out, const char *text, strbuf *why)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            out->b = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            out->b = false;
            return 0;
        }
    }
    strbuf_append(why, "must be true or false");
    return -1;
}

static int parse_enum_value(config_value *out, long idx, const char *text, strbuf *why)
{
    const config_key *k = &mdm_config_keys[idx];
    for (size_t c = 0; k->choices[c]; c++)
        if (strcasecmp(k->choices[c], text) == 0) {
            out->choice = c;
            return 0;
        }
    strbuf_append(why, "must be ");
    config_value_describe(why, idx);
    return -1;
}

/* Adds one list element after checking it. */
static int push_list_item(config_value *out, long idx, const char *item, strbuf *why)
{
    const config_key *k = &mdm_config_keys[idx];
    int64_t v = 0;
    if (parse_int64(&v, item) != 0) {
        strbuf_append(why, "must be ");
        config_value_describe(why, idx);
        return -1;
    }
    if (check_int_range(k, v, "a list of integers, each", why))
        return -1;
    int64_t *grown = realloc(out->list, (out->list_len + 1) * sizeof *grown);
    if (!grown) {
        strbuf_append(why, "out of memory");
        return -1;
    }
    out->list = grown;
    out->list[out->list_len++] = v;
    return 0;
}

static int finish_list(config_value *out, long idx, strbuf *why)
{
    if (out->list_len > 0)
        return 0;
    strbuf_append(why, "must be ");
    config_value_describe(why, idx);
    return -1;
}

/* "5,10", "5, 10", "[5,10]" or a single "5"; an empty item ("5,,10") is an error. */
static int parse_list_text(config_value *out, long idx, char *text, strbuf *why)
{
    size_t len = strlen(text);
    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        text[len - 1] = '\0';
        text++;
    }
    for (char *item = text;;) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        char *trimmed = trimmed_copy(item);
        if (!trimmed) {
            strbuf_append(why, "out of memory");
            return -1;
        }
        int rc = push_list_item(out, idx, trimmed, why);
        free(trimmed);
        if (rc)
            return -1;
        if (!comma)
            break;
        item = comma + 1;
    }
    return finish_list(out, idx, why);
}

static void append_null_error(strbuf *why, long idx)
{
    strbuf_append(why, "must be ");
    config_value_describe(why, idx);
    strbuf_append(why, ", not null");
}

int config_value_parse(config_value *out, long idx, const char *text, bool is_null, strbuf *why)
{
    const config_key *k = &mdm_config_keys[idx];
    memset(out, 0, sizeof *out);
    if (is_null || !text) {
        if (!k->nullable) {
            append_null_error(why, idx);
            return -1;
        }
        out->is_null = true;
        return 0;
    }
    if (k->kind == CFG_STRING) {
        out->s = strdup(text);
        if (!out->s) {
            strbuf_append(why, "out of memory");
            return -1;
        }
        return 0;
    }
    char *value = trimmed_copy(text);
    if (!value) {
        strbuf_append(why, "out of memory");
        return -1;
    }
    int rc = -1;
    switch (k->kind) {
    case CFG_BOOL: rc = parse_bool_value(out, value, why); break;
    case CFG_INT: rc = parse_int_value(out, idx, value, why); break;
    case CFG_FLOAT: rc = parse_float_value(out, idx, value, why); break;
    case CFG_ENUM: rc = parse_enum_value(out, idx, value, why); break;
    case CFG_INT_LIST: rc = parse_list_text(out, idx, value, why); break;
    case CFG_STRING: break; /* handled above */
    }
    free(value);
    if (rc)
        config_value_free(out);
    return rc;
}

int config_value_parse_list(config_value *out, long idx, const char *const *items, size_t nitems,
                            strbuf *why)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < nitems; i++) {
        char *item = trimmed_copy(items[i]);
        int rc = item ? push_list_item(out, idx, item, why) : -1;
        if (!item)
            strbuf_append(why, "out of memory");
        free(item);
        if (rc) {
            config_value_free(out);
            return -1;
        }
    }
    if (finish_list(out, idx, why)) {
        config_value_free(out);
        return -1;
    }
    return 0;
}

/* Shortest text that reads back as the same double, always with a '.' or exponent so
 * that it still reads as a number of the float kind ("3.0", not "3"). */
static void append_double(strbuf *sb, double v)
{
    char buf[64];
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".eEn"))
        strcat(buf, ".0");
    strbuf_append(sb, buf);
}

void config_value_format(strbuf *sb, long idx, const config_value *value, bool mask)
{
    const config_key *k = &mdm_config_keys[idx];
    if (value->is_null) {
        strbuf_append(sb, "null");
        return;
    }
    if (mask && k->secret) {
        strbuf_append(sb, secret_mask);
        return;
    }
    switch (k->kind) {
    case CFG_BOOL: strbuf_append(sb, value->b ? "true" : "false"); break;
    case CFG_INT: strbuf_appendf(sb, "%lld", (long long)value->i); break;
    case CFG_FLOAT: append_double(sb, value->f); break;
    case CFG_ENUM: strbuf_append(sb, k->choices[value->choice]); break;
    case CFG_STRING: strbuf_append(sb, value->s); break;
    case CFG_INT_LIST:
        for (size_t i = 0; i < value->list_len; i++)
            strbuf_appendf(sb, "%s%lld", i ? "," : "", (long long)value->list[i]);
        break;
    }
}

void config_value_free(config_value *value)
{
    free(value->s);
    free(value->list);
    memset(value, 0, sizeof *value);
}
