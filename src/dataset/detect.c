/* ID, target and problem-type detection (SPEC §4 steps 4, 8, 9). */
#include "dataset/detect.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

bool detect_id_name(const char *name)
{
    size_t n = strlen(name);
    static const char *const exact[] = {"id", "index", "idx", "key", "pk"};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (strcasecmp(name, exact[i]) == 0)
            return true;
    static const char *const suffixes[] = {"_id", "_idx", "_key", "_pk"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (n > strlen(suffixes[i]) && ends_with(name, n, suffixes[i]))
            return true;
    return n > 3 && starts_with(name, "id_");
}

bool detect_is_id(const column_profile *c)
{
    if (detect_id_name(c->name))
        return true;
    /* "userid", "CustomerID": an identifier only if it identifies. */
    size_t n = strlen(c->name);
    return n > 2 && ends_with(c->name, n, "id") && c->all_unique && c->nulls == 0 && c->rows > 0;
}

const char *detect_submission_target(const char *const *header, size_t n)
{
    for (size_t i = n; i-- > 0;)
        if (!detect_id_name(header[i]))
            return header[i];
    return NULL;
}

static const char *const problem_names[] = {
    [PROBLEM_NONE] = "",
    [PROBLEM_BINARY] = "binary_classification",
    [PROBLEM_MULTICLASS] = "multiclass_classification",
    [PROBLEM_REGRESSION] = "regression",
    [PROBLEM_TIME_SERIES] = "time_series",
    [PROBLEM_CLUSTERING] = "clustering",
};

const char *problem_type_name(problem_type p)
{
    return p >= PROBLEM_NONE && p <= PROBLEM_CLUSTERING ? problem_names[p] : "";
}

int problem_type_parse(problem_type *out, const char *text)
{
    for (int p = PROBLEM_BINARY; p <= PROBLEM_CLUSTERING; p++)
        if (strcasecmp(text, problem_names[p]) == 0) {
            *out = (problem_type)p;
            return 0;
        }
    return mdm_error_set(MDM_EINVALID,
                         "Invalid problem type '%s'. Must be one of: binary_classification, "
                         "multiclass_classification, regression, time_series, clustering",
                         text);
}

static bool name_contains(const char *name, const char *const *words, size_t n)
{
    char lower[128];
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof lower; i++)
        lower[i] = (char)tolower((unsigned char)name[i]);
    lower[i] = '\0';
    for (size_t k = 0; k < n; k++)
        if (strstr(lower, words[k]))
            return true;
    return false;
}

problem_type detect_problem_type(const column_profile *t)
{
    static const char *const regression_words[] = {
        "price", "cost", "amount", "value", "score", "rating", "count", "sales", "age",
        "revenue", "salary", "income", "quantity", "demand", "duration", "temperature"};
    static const char *const class_words[] = {"class", "label", "target", "is_", "has_",
                                              "flag", "status"};
    bool numeric = t->type == MDM_TYPE_INT64 || t->type == MDM_TYPE_FLOAT64;
    bool exact = t->distinct <= t->distinct_cap;
    uint64_t non_null = t->rows - t->nulls;
    /* First match wins, in SPEC §4 step 9's order. */
    if (numeric && name_contains(t->name, regression_words,
                                 sizeof regression_words / sizeof regression_words[0]) &&
        !(exact && t->distinct <= 2))
        return PROBLEM_REGRESSION;
    if (exact && t->distinct == 2)
        return PROBLEM_BINARY;
    if (t->type == MDM_TYPE_BOOL)
        return PROBLEM_BINARY;
    if (exact && t->distinct < 20 && t->distinct * 10 < non_null)
        return PROBLEM_MULTICLASS;
    if (t->type == MDM_TYPE_TEXT && exact && t->distinct <= 20)
        return PROBLEM_MULTICLASS;
    if (numeric && t->only_zero_one)
        return PROBLEM_BINARY;
    if (t->type == MDM_TYPE_INT64 && exact && t->distinct <= 20)
        return PROBLEM_MULTICLASS;
    if (numeric)
        return PROBLEM_REGRESSION;
    if (name_contains(t->name, class_words, sizeof class_words / sizeof class_words[0]))
        return PROBLEM_MULTICLASS;
    return PROBLEM_NONE;
}
