/* Filters, sorting and the list query over the catalog (see catalog_query.h). */
#include "dataset/catalog_query.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mdm/mdm.h"

#define US_PER_S INT64_C(1000000)
#define US_PER_DAY (86400 * US_PER_S)

typedef enum { OP_EQ, OP_NE, OP_LIKE, OP_NOT_LIKE, OP_GT, OP_LT, OP_GE, OP_LE } filter_op;

typedef enum { KIND_TEXT, KIND_LIST, KIND_ROWS, KIND_SIZE, KIND_TIME, KIND_BOOL } key_kind;

typedef enum {
    F_NAME, F_DISPLAY_NAME, F_DESCRIPTION, F_PROBLEM_TYPE, F_TARGET, F_BACKEND, F_SOURCE,
    F_VERSION, F_TIME_COLUMN, F_GROUP_COLUMN, F_TAGS, F_ID_COLUMNS, F_TABLES, F_ROWS, F_SIZE,
    F_SIZE_MB, F_REGISTERED, F_UPDATED, F_HAS_KIND, F_HAS_TARGET, F_HAS_FEATURES,
} field_id;

static const struct {
    const char *name;
    field_id field;
    key_kind kind;
} filter_keys[] = {
    {"name", F_NAME, KIND_TEXT},
    {"display_name", F_DISPLAY_NAME, KIND_TEXT},
    {"description", F_DESCRIPTION, KIND_TEXT},
    {"problem_type", F_PROBLEM_TYPE, KIND_TEXT},
    {"target", F_TARGET, KIND_TEXT},
    {"target_column", F_TARGET, KIND_TEXT},
    {"backend", F_BACKEND, KIND_TEXT},
    {"source", F_SOURCE, KIND_TEXT},
    {"version", F_VERSION, KIND_TEXT},
    {"time_column", F_TIME_COLUMN, KIND_TEXT},
    {"group_column", F_GROUP_COLUMN, KIND_TEXT},
    {"tags", F_TAGS, KIND_LIST},
    {"tag", F_TAGS, KIND_LIST},
    {"id_columns", F_ID_COLUMNS, KIND_LIST},
    {"tables", F_TABLES, KIND_LIST},
    {"rows", F_ROWS, KIND_ROWS},
    {"row_count", F_ROWS, KIND_ROWS},
    {"size", F_SIZE, KIND_SIZE},
    {"memory_size", F_SIZE, KIND_SIZE},
    {"size_mb", F_SIZE_MB, KIND_SIZE},
    {"registered_at", F_REGISTERED, KIND_TIME},
    {"registration_date", F_REGISTERED, KIND_TIME},
    {"created_at", F_REGISTERED, KIND_TIME},
    {"last_updated_at", F_UPDATED, KIND_TIME},
    {"updated_at", F_UPDATED, KIND_TIME},
    {"has_target", F_HAS_TARGET, KIND_BOOL},
    {"has_features", F_HAS_FEATURES, KIND_BOOL},
};

typedef struct clause {
    field_id field;
    key_kind kind;
    filter_op op;
    char *key;      /* for has_<kind>: the kind */
    char *value;    /* text form */
    bool glob;      /* text value with * ? [ */
    double number;  /* rows / size in bytes */
    int64_t lo, hi; /* time: [lo, hi) */
    bool flag;      /* bool */
} clause;

typedef struct clause_group {
    clause *clauses;
    size_t count;
} clause_group;

struct catalog_filter {
    clause_group *groups; /* OR of ANDs */
    size_t count;
};

/* ------------------------------------------------------------ parsing */

static char *trimmed(const char *a, const char *b)
{
    while (a < b && isspace((unsigned char)*a))
        a++;
    while (b > a && isspace((unsigned char)b[-1]))
        b--;
    if (b - a >= 2 && (*a == '"' || *a == '\'') && b[-1] == *a) {
        a++;
        b--;
    }
    return strndup(a, (size_t)(b - a));
}

/* Finds the operator of a clause: the first one from the left, two-character ones
 * first at each position. */
static const char *find_op(const char *s, filter_op *op, size_t *op_len)
{
    static const struct {
        const char *text;
        filter_op op;
    } ops[] = {{"!=", OP_NE}, {"!~", OP_NOT_LIKE}, {">=", OP_GE}, {"<=", OP_LE},
               {"=", OP_EQ},  {"~", OP_LIKE},      {">", OP_GT},  {"<", OP_LT}};
    for (const char *p = s; *p; p++)
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (strncmp(p, ops[i].text, strlen(ops[i].text)) == 0) {
                *op = ops[i].op;
                *op_len = strlen(ops[i].text);
                return p;
            }
    return NULL;
}

/* A number with an optional unit from `units` (name, multiplier), case-insensitive. */
typedef struct unit {
    const char *name;
    double factor;
} unit;

static bool parse_scaled(double *out, const char *text, const unit *units, double default_factor)
{
    errno = 0;
    char *end;
    double v = strtod(text, &end);
    if (end == text || errno || !isfinite(v))
        return false;
    while (isspace((unsigned char)*end))
        end++;
    double factor = default_factor;
    if (*end) {
        bool found = false;
        for (size_t i = 0; units[i].name; i++)
            if (strcasecmp(end, units[i].name) == 0) {
                factor = units[i].factor;
                found = true;
                break;
            }
        if (!found)
            return false;
    }
    *out = v * factor;
    return true;
}

static const unit row_units[] = {{"k", 1e3}, {"m", 1e6}, {"b", 1e9}, {NULL, 0}};
static const unit size_units[] = {
    {"b", 1},
    {"kb", 1024.0},
    {"kib", 1024.0},
    {"k", 1024.0},
    {"mb", 1048576.0},
    {"mib", 1048576.0},
    {"m", 1048576.0},
    {"gb", 1073741824.0},
    {"gib", 1073741824.0},
    {"g", 1073741824.0},
    {"tb", 1099511627776.0},
    {"tib", 1099511627776.0},
    {"t", 1099511627776.0},
    {NULL, 0},
};

/* Time values as [lo, hi): a day for a date, one microsecond for an instant. */
static bool parse_time_value(int64_t *lo, int64_t *hi, const char *text, int64_t now)
{
    int64_t today = now - ((now % US_PER_DAY) + US_PER_DAY) % US_PER_DAY;
    if (strcasecmp(text, "now") == 0) {
        *lo = now;
        *hi = now + 1;
        return true;
    }
    if (strcasecmp(text, "today") == 0 || strcasecmp(text, "yesterday") == 0) {
        *lo = today - (strcasecmp(text, "yesterday") == 0 ? US_PER_DAY : 0);
        *hi = *lo + US_PER_DAY;
        return true;
    }
    int32_t days;
    if (strlen(text) == 10 && mdm_date_parse(&days, text, 10) == 0) {
        *lo = (int64_t)days * US_PER_DAY;
        *hi = *lo + US_PER_DAY;
        return true;
    }
    int64_t at;
    if (dataset_time_parse(&at, text) == 0) {
        *lo = at;
        *hi = at + 1;
        return true;
    }
    static const unit ages[] = {{"s", 1},        {"sec", 1},       {"min", 60},
                                {"m", 60},       {"h", 3600},      {"d", 86400},
                                {"w", 604800},   {"y", 31536000},  {NULL, 0}};
    double seconds;
    if (!isdigit((unsigned char)text[0]) || !parse_scaled(&seconds, text, ages, -1) || seconds < 0)
        return false;
    *lo = now - (int64_t)(seconds * (double)US_PER_S);
    *hi = *lo + 1;
    return true;
}

static bool parse_bool_value(bool *out, const char *text)
{
    static const char *const yes[] = {"true", "yes", "1", "y", "on", NULL};
    static const char *const no[] = {"false", "no", "0", "n", "off", NULL};
    for (size_t i = 0; yes[i]; i++)
        if (strcasecmp(text, yes[i]) == 0)
            return (*out = true);
    for (size_t i = 0; no[i]; i++)
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return true;
        }
    return false;
}

static int clause_error(const char *text, const char *why)
{
    return mdm_error_set(MDM_EINVALID, "Invalid filter '%s': %s", text, why);
}

static int parse_clause(clause *c, const char *text, int64_t now)
{
    filter_op op;
    size_t op_len;
    const char *at = find_op(text, &op, &op_len);
    if (!at)
        return clause_error(text, "expected KEY=VALUE (operators: = != ~ !~ > < >= <=)");
    char *key = trimmed(text, at);
    c->value = trimmed(at + op_len, text + strlen(text));
    c->op = op;
    if (!key || !c->value) {
        free(key);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    for (char *p = key; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    int rc = 0;
    bool known = false;
    for (size_t i = 0; i < sizeof filter_keys / sizeof filter_keys[0]; i++)
        if (strcmp(key, filter_keys[i].name) == 0) {
            c->field = filter_keys[i].field;
            c->kind = filter_keys[i].kind;
            known = true;
            break;
        }
    if (!known && strncmp(key, "has_", 4) == 0 && key[4]) {
        c->field = F_HAS_KIND;
        c->kind = KIND_BOOL;
        known = true;
    }
    c->key = key;
    if (!known)
        return clause_error(text, "unknown key; known keys: name, display_name, description, "
                                  "problem_type, target, backend, source, version, "
                                  "time_column, group_column, tags, id_columns, tables, rows, "
                                  "size, size_mb, registered_at, last_updated_at, has_<table "
                                  "kind>, has_target, has_features");
    bool ordering = op == OP_GT || op == OP_LT || op == OP_GE || op == OP_LE;
    bool like = op == OP_LIKE || op == OP_NOT_LIKE;
    switch (c->kind) {
    case KIND_TEXT:
    case KIND_LIST:
        if (c->kind == KIND_LIST && ordering)
            return clause_error(text, "a list can be compared with = != ~ !~ only");
        c->glob = strpbrk(c->value, "*?[") != NULL;
        break;
    case KIND_ROWS:
    case KIND_SIZE:
        if (like)
            return clause_error(text, "~ and !~ apply to text; use = != > < >= <=");
        if (c->kind == KIND_ROWS && !parse_scaled(&c->number, c->value, row_units, 1))
            rc = clause_error(text, "expected a number of rows such as 1500, 10k or 2M");
        else if (c->kind == KIND_SIZE &&
                 !parse_scaled(&c->number, c->value, size_units,
                               c->field == F_SIZE_MB ? 1048576.0 : 1))
            rc = clause_error(text, "expected a size such as 1048576, 500KB, 10MB or 1.5GB");
        break;
    case KIND_TIME:
        if (!like && !parse_time_value(&c->lo, &c->hi, c->value, now))
            rc = clause_error(text, "expected a date (2024-01-15), a timestamp, today, "
                                    "yesterday, now or an age such as 7d, 12h, 2w");
        break;
    case KIND_BOOL:
        if (op != OP_EQ && op != OP_NE)
            return clause_error(text, "has_* compares with = or != only");
        if (!parse_bool_value(&c->flag, c->value))
            rc = clause_error(text, "expected true or false");
        break;
    }
    return rc;
}

void catalog_filter_free(catalog_filter *filter)
{
    if (!filter)
        return;
    for (size_t g = 0; g < filter->count; g++) {
        for (size_t i = 0; i < filter->groups[g].count; i++) {
            free(filter->groups[g].clauses[i].key);
            free(filter->groups[g].clauses[i].value);
        }
        free(filter->groups[g].clauses);
    }
    free(filter->groups);
    free(filter);
}

int catalog_filter_parse(catalog_filter **out, const char *text, int64_t now_us)
{
    *out = NULL;
    catalog_filter *f = calloc(1, sizeof *f);
    char *copy = strdup(text ? text : "");
    int rc = 0;
    if (!f || !copy) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
        goto cleanup;
    }
    char *group_save = NULL;
    for (char *group = strtok_r(copy, "|", &group_save); group;
         group = strtok_r(NULL, "|", &group_save)) {
        clause_group *groups = realloc(f->groups, (f->count + 1) * sizeof *groups);
        if (!groups) {
            rc = mdm_error_set(MDM_ENOMEM, "out of memory");
            goto cleanup;
        }
        f->groups = groups;
        clause_group *g = &groups[f->count++];
        memset(g, 0, sizeof *g);
        char *clause_save = NULL;
        for (char *part = strtok_r(group, ",", &clause_save); part;
             part = strtok_r(NULL, ",", &clause_save)) {
            const char *p = part;
            while (isspace((unsigned char)*p))
                p++;
            if (!*p)
                continue;
            clause *clauses = realloc(g->clauses, (g->count + 1) * sizeof *clauses);
            if (!clauses) {
                rc = mdm_error_set(MDM_ENOMEM, "out of memory");
                goto cleanup;
            }
            g->clauses = clauses;
            clause *c = &clauses[g->count++];
            memset(c, 0, sizeof *c);
            if ((rc = parse_clause(c, p, now_us)) != 0)
                goto cleanup;
        }
    }
cleanup:
    free(copy);
    if (rc) {
        catalog_filter_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

/* ------------------------------------------------------------ matching */

static bool text_equal(const clause *c, const char *value)
{
    if (c->glob)
        return fnmatch(c->value, value, FNM_CASEFOLD) == 0;
    return strcasecmp(c->value, value) == 0;
}

static bool text_like(const clause *c, const char *value)
{
    if (c->glob)
        return fnmatch(c->value, value, FNM_CASEFOLD) == 0;
    return strcasestr(value, c->value) != NULL;
}

static bool match_text(const clause *c, const char *value)
{
    if (!value)
        return c->op == OP_NE || c->op == OP_NOT_LIKE;
    int cmp = strcasecmp(value, c->value);
    switch (c->op) {
    case OP_EQ:
        return text_equal(c, value);
    case OP_NE:
        return !text_equal(c, value);
    case OP_LIKE:
        return text_like(c, value);
    case OP_NOT_LIKE:
        return !text_like(c, value);
    case OP_GT:
        return cmp > 0;
    case OP_LT:
        return cmp < 0;
    case OP_GE:
        return cmp >= 0;
    case OP_LE:
        return cmp <= 0;
    }
    return false;
}

static bool match_list(const clause *c, char *const *items, size_t count)
{
    bool like = c->op == OP_LIKE || c->op == OP_NOT_LIKE;
    bool any = false;
    for (size_t i = 0; i < count && !any; i++)
        any = like ? text_like(c, items[i]) : text_equal(c, items[i]);
    return (c->op == OP_EQ || c->op == OP_LIKE) ? any : !any;
}

static bool match_number(const clause *c, double value)
{
    if (value < 0) /* unknown */
        return c->op == OP_NE;
    switch (c->op) {
    case OP_EQ:
        return value == c->number;
    case OP_NE:
        return value != c->number;
    case OP_GT:
        return value > c->number;
    case OP_LT:
        return value < c->number;
    case OP_GE:
        return value >= c->number;
    case OP_LE:
        return value <= c->number;
    default:
        return false;
    }
}

static bool match_time(const clause *c, bool has, int64_t t)
{
    if (!has)
        return c->op == OP_NE || c->op == OP_NOT_LIKE;
    if (c->op == OP_LIKE || c->op == OP_NOT_LIKE) {
        char text[64];
        dataset_time_format(text, sizeof text, t);
        return (strcasestr(text, c->value) != NULL) == (c->op == OP_LIKE);
    }
    switch (c->op) {
    case OP_EQ:
        return t >= c->lo && t < c->hi;
    case OP_NE:
        return !(t >= c->lo && t < c->hi);
    case OP_GT:
        return t >= c->hi;
    case OP_GE:
        return t >= c->lo;
    case OP_LT:
        return t < c->lo;
    case OP_LE:
        return t < c->hi;
    default:
        return false;
    }
}

static const char *text_field(const dataset_info *info, field_id field)
{
    switch (field) {
    case F_NAME:
        return info->name;
    case F_DISPLAY_NAME:
        return info->display_name;
    case F_DESCRIPTION:
        return info->description;
    case F_PROBLEM_TYPE:
        return info->problem_type;
    case F_TARGET:
        return info->target_column;
    case F_BACKEND:
        return info->database.backend;
    case F_SOURCE:
        return info->source;
    case F_VERSION:
        return info->version;
    case F_TIME_COLUMN:
        return info->time_column;
    case F_GROUP_COLUMN:
        return info->group_column;
    default:
        return NULL;
    }
}

static bool has_table_kind(const dataset_info *info, const char *kind)
{
    for (size_t i = 0; i < info->tables.count; i++)
        if (strcasecmp(info->tables.keys[i], kind) == 0)
            return true;
    return false;
}

static bool match_clause(const clause *c, const dataset_info *info)
{
    switch (c->kind) {
    case KIND_TEXT:
        return match_text(c, text_field(info, c->field));
    case KIND_LIST:
        if (c->field == F_TAGS)
            return match_list(c, info->tags.items, info->tags.count);
        if (c->field == F_ID_COLUMNS)
            return match_list(c, info->id_columns.items, info->id_columns.count);
        return match_list(c, info->tables.keys, info->tables.count);
    case KIND_ROWS:
        return match_number(c, (double)dataset_info_rows(info));
    case KIND_SIZE:
        return match_number(c, (double)dataset_info_size(info));
    case KIND_TIME:
        return c->field == F_REGISTERED
                   ? match_time(c, info->has_registered_at, info->registered_at)
                   : match_time(c, info->has_last_updated_at, info->last_updated_at);
    case KIND_BOOL: {
        bool actual;
        if (c->field == F_HAS_TARGET)
            actual = info->target_column && *info->target_column;
        else if (c->field == F_HAS_FEATURES)
            actual = info->feature_tables.count > 0;
        else
            actual = has_table_kind(info, c->key + 4);
        return (actual == c->flag) == (c->op == OP_EQ);
    }
    }
    return false;
}

bool catalog_filter_match(const catalog_filter *filter, const dataset_info *info)
{
    if (!filter || filter->count == 0)
        return true;
    for (size_t g = 0; g < filter->count; g++) {
        bool all = true;
        for (size_t i = 0; i < filter->groups[g].count && all; i++)
            all = match_clause(&filter->groups[g].clauses[i], info);
        if (all)
            return true;
    }
    return false;
}

/* ------------------------------------------------------------ sorting */

void catalog_sort_parse(catalog_sort *out, const char *text)
{
    static const struct {
        const char *name;
        catalog_sort_key key;
        bool descending;
    } keys[] = {
        {"name", CATALOG_SORT_NAME, false},
        {"registration_date", CATALOG_SORT_REGISTERED, true},
        {"registered_at", CATALOG_SORT_REGISTERED, true},
        {"created_at", CATALOG_SORT_REGISTERED, true},
        {"last_updated_at", CATALOG_SORT_UPDATED, true},
        {"updated_at", CATALOG_SORT_UPDATED, true},
        {"size", CATALOG_SORT_SIZE, true},
        {"size_mb", CATALOG_SORT_SIZE, true},
        {"memory_size", CATALOG_SORT_SIZE, true},
        {"rows", CATALOG_SORT_ROWS, true},
        {"row_count", CATALOG_SORT_ROWS, true},
        {"problem_type", CATALOG_SORT_PROBLEM_TYPE, false},
        {"backend", CATALOG_SORT_BACKEND, false},
    };
    out->key = CATALOG_SORT_NAME;
    out->descending = false;
    if (!text || !*text)
        return;
    char key[64];
    snprintf(key, sizeof key, "%s", text);
    int direction = 0; /* 0: the key's default, 1: ascending, -1: descending */
    char *colon = strchr(key, ':');
    if (colon) {
        *colon = '\0';
        if (strcasecmp(colon + 1, "asc") == 0)
            direction = 1;
        else if (strcasecmp(colon + 1, "desc") == 0)
            direction = -1;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcasecmp(key, keys[i].name) == 0) {
            out->key = keys[i].key;
            out->descending = direction ? direction < 0 : keys[i].descending;
            return;
        }
    MDM_WARN("Unknown sort key '%s'; sorting by name (known: name, registration_date, "
             "last_updated_at, size, rows, problem_type, backend)",
             text);
}

/* -1/0/1 comparing a and b that may be missing; missing sorts last in both directions. */
static int compare_present(bool has_a, bool has_b, int natural, bool descending, int *out)
{
    if (!has_a || !has_b) {
        *out = has_a == has_b ? 0 : has_a ? -1 : 1;
        return 1;
    }
    *out = descending ? -natural : natural;
    return 0;
}

static int compare_i64(int64_t a, int64_t b) { return (a > b) - (a < b); }

static int compare_text(const char *a, const char *b)
{
    int cmp = strcasecmp(a, b);
    return cmp ? cmp : strcmp(a, b);
}

static int compare_infos(const void *pa, const void *pb, void *ctx)
{
    const dataset_info *a = *(dataset_info *const *)pa, *b = *(dataset_info *const *)pb;
    const catalog_sort *sort = ctx;
    int result = 0;
    switch (sort->key) {
    case CATALOG_SORT_NAME:
        result = compare_text(a->name, b->name);
        return sort->descending ? -result : result;
    case CATALOG_SORT_REGISTERED:
        compare_present(a->has_registered_at, b->has_registered_at,
                        compare_i64(a->registered_at, b->registered_at), sort->descending, &result);
        break;
    case CATALOG_SORT_UPDATED:
        compare_present(a->has_last_updated_at, b->has_last_updated_at,
                        compare_i64(a->last_updated_at, b->last_updated_at), sort->descending,
                        &result);
        break;
    case CATALOG_SORT_SIZE:
        compare_present(dataset_info_size(a) >= 0, dataset_info_size(b) >= 0,
                        compare_i64(dataset_info_size(a), dataset_info_size(b)), sort->descending,
                        &result);
        break;
    case CATALOG_SORT_ROWS:
        compare_present(dataset_info_rows(a) >= 0, dataset_info_rows(b) >= 0,
                        compare_i64(dataset_info_rows(a), dataset_info_rows(b)), sort->descending,
                        &result);
        break;
    case CATALOG_SORT_PROBLEM_TYPE:
        compare_present(a->problem_type != NULL, b->problem_type != NULL,
                        a->problem_type && b->problem_type
                            ? compare_text(a->problem_type, b->problem_type)
                            : 0,
                        sort->descending, &result);
        break;
    case CATALOG_SORT_BACKEND:
        compare_present(a->database.backend != NULL, b->database.backend != NULL,
                        a->database.backend && b->database.backend
                            ? compare_text(a->database.backend, b->database.backend)
                            : 0,
                        sort->descending, &result);
        break;
    }
    return result ? result : compare_text(a->name, b->name);
}

void catalog_sort_infos(dataset_info **infos, size_t count, const catalog_sort *sort)
{
    if (count > 1)
        qsort_r(infos, count, sizeof *infos, compare_infos, (void *)sort);
}

/* ------------------------------------------------------------ list query */

int catalog_query_list(dataset_info ***out, size_t *count, const mdm_config *cfg,
                       const catalog_query *query)
{
    *out = NULL;
    *count = 0;
    catalog_filter *filter = NULL;
    int rc = 0;
    if (query->filter && *query->filter &&
        (rc = catalog_filter_parse(&filter, query->filter, dataset_time_now())) != 0)
        return rc;
    dataset_info **infos;
    size_t n;
    if ((rc = catalog_list(&infos, &n, cfg)) != 0) {
        catalog_filter_free(filter);
        return rc;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (catalog_filter_match(filter, infos[i]))
            infos[kept++] = infos[i];
        else
            dataset_info_free(infos[i]);
    }
    catalog_filter_free(filter);
    catalog_sort sort;
    catalog_sort_parse(&sort, query->sort_by);
    catalog_sort_infos(infos, kept, &sort);
    if (query->limit && kept > query->limit) {
        for (size_t i = query->limit; i < kept; i++)
            dataset_info_free(infos[i]);
        kept = query->limit;
    }
    *out = infos;
    *count = kept;
    return 0;
}
