/* Checking a registration's options (register_internal.h): what can be checked before
 * any data is read comes first; column names once the tables are loaded. */
#include <stdlib.h>
#include <string.h>

#include "dataset/register_internal.h"

int register_prepare(reg *r)
{
    const register_options *opt = r->opt;
    int rc = 0;
    if (opt->problem_type && (rc = dataset_problem_type_check(opt->problem_type)))
        return rc;
    bool manual = opt->train || opt->test || opt->validation || opt->submission;
    if (manual && !opt->train)
        return mdm_error_set(MDM_EINVALID, "--no-auto needs --train");
    if (manual && opt->path)
        return mdm_error_set(MDM_EINVALID, "--no-auto takes its files from --train/--test/"
                                           "--validation/--submission, not from PATH");
    if (manual) {
        const char *const files[4] = {opt->train, opt->test, opt->validation, opt->submission};
        rc = discover_files(&r->found, files);
    } else {
        rc = discover(&r->found, opt->path ? opt->path : ".");
    }
    if (rc)
        return rc;
    if (opt->ignore_columns) {
        if ((rc = dataset_strlist_set_csv(&r->ignore, opt->ignore_columns)))
            return rc;
        r->ignore_seen = calloc(r->ignore.count + 1, sizeof *r->ignore_seen);
        if (!r->ignore_seen)
            return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->found.nfiles; i++)
        if (r->found.files[i].format == IO_FORMAT_EXCEL)
            return mdm_error_set(MDM_ENOTSUP,
                                 "%s: Excel files are not supported; save the sheet as CSV",
                                 r->found.files[i].path);
    return 0;
}

int register_check_ignored(const reg *r)
{
    for (size_t i = 0; i < r->ignore.count; i++)
        if (!r->ignore_seen[i])
            return mdm_error_set(MDM_EINVALID, "--ignore-columns: column '%s' is in no table",
                                 r->ignore.items[i]);
    return 0;
}

/* Every column override must name a column of some table. */
int register_check_overrides(const reg *r)
{
    const char *lists[] = {r->opt->categorical_columns, r->opt->datetime_columns,
                           r->opt->numeric_columns, r->opt->text_columns};
    const char *flags[] = {"--categorical-columns", "--datetime-columns", "--numeric-columns",
                           "--text-columns"};
    for (size_t i = 0; i < 4; i++) {
        dataset_strlist l = {0};
        if (!lists[i] || dataset_strlist_set_csv(&l, lists[i]) != 0)
            continue;
        int rc = 0;
        for (size_t k = 0; !rc && k < l.count; k++) {
            bool found = false;
            for (size_t t = 0; t < r->ntables && !found; t++)
                found = register_column_index(&r->tables[t], l.items[k]) >= 0;
            if (!found)
                rc = mdm_error_set(MDM_EINVALID, "%s: column '%s' is in no table", flags[i],
                                   l.items[k]);
        }
        dataset_strlist_clear(&l);
        if (rc)
            return rc;
    }
    return 0;
}
