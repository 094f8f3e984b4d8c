/* IDs, target, problem type and semantic types of a registration
 * (register_internal.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/strbuf.h"
#include "dataset/detect.h"
#include "dataset/register_internal.h"
#include "io/infer.h"

const loaded_table *register_find_table(const reg *r, const char *kind)
{
    for (size_t i = 0; i < r->ntables; i++)
        if (strcmp(r->tables[i].kind, kind) == 0)
            return &r->tables[i];
    return NULL;
}

/* The table whose columns define the dataset: train, else data, else the first. */
static const loaded_table *main_table(const reg *r)
{
    const loaded_table *t = register_find_table(r, "train");
    if (!t)
        t = register_find_table(r, "data");
    return t ? t : &r->tables[0];
}

long register_column_index(const loaded_table *t, const char *name)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (strcmp(t->fields[i].name, name) == 0)
            return (long)i;
    for (size_t i = 0; i < t->nfields; i++)
        if (strcasecmp(t->fields[i].name, name) == 0)
            return (long)i;
    return -1;
}

static int column_missing(const loaded_table *t, const char *what, const char *name)
{
    strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < t->nfields && i < 30; i++)
        strbuf_appendf(&sb, "%s%s", i ? ", " : "", t->fields[i].name);
    if (t->nfields > 30)
        strbuf_append(&sb, ", ...");
    int rc = mdm_error_set(MDM_EINVALID, "%s column '%s' not found in table '%s' (columns: %s)",
                           what, name, t->kind, sb.data ? sb.data : "");
    strbuf_free(&sb);
    return rc;
}

static column_profile profile_of(const loaded_table *t, size_t col)
{
    const stats_column *c = &t->stats->columns[col];
    bool numeric = c->type == MDM_TYPE_INT64 || c->type == MDM_TYPE_FLOAT64;
    bool zero_one = false;
    if (numeric && c->has_min_max && c->distinct <= 2) {
        double lo = c->type == MDM_TYPE_INT64 ? (double)c->min.v.i64 : c->min.v.f64;
        double hi = c->type == MDM_TYPE_INT64 ? (double)c->max.v.i64 : c->max.v.f64;
        zero_one = (lo == 0 || lo == 1) && (hi == 0 || hi == 1);
    }
    return (column_profile){
        .name = t->fields[col].name,
        .type = c->type,
        .rows = t->rows,
        .nulls = c->null_count,
        .distinct = c->distinct,
        /* Past the exact cap the count is an estimate: "more than the cap" is all the
         * detection rules need. */
        .distinct_cap = c->distinct_exact ? UINT64_MAX : c->distinct - 1,
        .all_unique = c->distinct_exact && c->distinct == c->count && c->count > 0,
        .only_zero_one = zero_one,
    };
}

static int resolve_column(reg *r, const loaded_table *t, const char *what, const char *given,
                          char **out)
{
    long i = register_column_index(t, given);
    if (i < 0)
        return column_missing(t, what, given);
    return dataset_str_set(out, t->fields[i].name);
}

int register_detect(reg *r)
{
    const loaded_table *main = main_table(r);
    dataset_info *info = r->info;
    int rc = 0;
    /* Target: given, or the last non-ID column of a Kaggle sample submission. */
    if (r->opt->target) {
        rc = resolve_column(r, main, "Target", r->opt->target, &info->target_column);
    } else if (r->found.kaggle) {
        const loaded_table *sub = register_find_table(r, "sample_submission");
        if (sub) {
            const char **names = malloc((sub->nfields + 1) * sizeof *names);
            for (size_t i = 0; names && i < sub->nfields; i++)
                names[i] = sub->fields[i].name;
            const char *target = names ? detect_submission_target(names, sub->nfields) : NULL;
            if (target && register_column_index(main, target) >= 0)
                rc = resolve_column(r, main, "Target", target, &info->target_column);
            else if (target)
                register_note(r, "the sample submission's target '%s' is not a column of '%s'", target,
                     main->kind);
            /* The submission's ID column should be in the test table. */
            const loaded_table *test = register_find_table(r, "test");
            for (size_t i = 0; test && names && i < sub->nfields; i++)
                if (detect_id_name(names[i]) && register_column_index(test, names[i]) < 0)
                    register_note(r, "the sample submission's ID column '%s' is not in the test table",
                         names[i]);
            free(names);
        }
    }
    if (!rc && r->opt->time_column)
        rc = resolve_column(r, main, "Time", r->opt->time_column, &info->time_column);
    if (!rc && r->opt->group_column)
        rc = resolve_column(r, main, "Group", r->opt->group_column, &info->group_column);
    if (!rc && r->opt->stratify_column) {
        char *col = NULL;
        rc = resolve_column(r, main, "Stratify", r->opt->stratify_column, &col);
        if (!rc) {
            if (!info->extra)
                info->extra = json_object();
            json_object_set_new(info->extra, "stratify_column", json_string(col));
        }
        free(col);
    }
    if (rc)
        return rc;

    /* ID columns: as given (each checked), else by name and uniqueness. */
    if (r->opt->id_columns) {
        dataset_strlist given = {0};
        rc = dataset_strlist_set_csv(&given, r->opt->id_columns);
        for (size_t i = 0; !rc && i < given.count; i++) {
            char *col = NULL;
            rc = resolve_column(r, main, "ID", given.items[i], &col);
            if (!rc)
                rc = dataset_strlist_add(&info->id_columns, col);
            free(col);
        }
        dataset_strlist_clear(&given);
    } else {
        for (size_t i = 0; !rc && i < main->nfields; i++) {
            column_profile p = profile_of(main, i);
            if (info->target_column && strcmp(p.name, info->target_column) == 0)
                continue;
            if (detect_is_id(&p))
                rc = dataset_strlist_add(&info->id_columns, p.name);
        }
    }
    if (rc)
        return rc;

    /* Problem type: given (checked), else from the target. */
    if (r->opt->problem_type) {
        if ((rc = dataset_problem_type_check(r->opt->problem_type)))
            return rc;
        problem_type p;
        if ((rc = problem_type_parse(&p, r->opt->problem_type)))
            return rc;
        rc = dataset_str_set(&info->problem_type, problem_type_name(p));
    } else if (info->target_column && !r->opt->skip_analysis) {
        column_profile p = profile_of(main, (size_t)register_column_index(main, info->target_column));
        problem_type t = detect_problem_type(&p);
        if (t != PROBLEM_NONE)
            rc = dataset_str_set(&info->problem_type, problem_type_name(t));
    }
    return rc;
}

/* A column's semantic type: the user's overrides first, then the one rule of
 * io_semantic_of. */
const char *register_semantic_of(const reg *r, const char *column, mdm_type type, const stats_column *c)
{
    const struct {
        const char *list;
        const char *semantic;
    } overrides[] = {{r->opt->categorical_columns, "categorical"},
                     {r->opt->datetime_columns, "datetime"},
                     {r->opt->numeric_columns, "numeric"},
                     {r->opt->text_columns, "text"}};
    for (size_t i = 0; i < 4; i++) {
        dataset_strlist l = {0};
        if (overrides[i].list && dataset_strlist_set_csv(&l, overrides[i].list) == 0) {
            bool hit = dataset_strlist_contains(&l, column, true);
            dataset_strlist_clear(&l);
            if (hit)
                return overrides[i].semantic;
        }
    }
    int64_t threshold =
        mdm_config_int(r->cfg, "feature_engineering.type_detection.categorical_threshold");
    return io_semantic_name(io_semantic_of(type, c->distinct, c->distinct_exact,
                                           threshold < 0 ? 0 : (uint64_t)threshold));
}
