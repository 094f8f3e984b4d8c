/* `dataset search` over the catalog (see catalog_search_options in catalog_query.h). */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/strbuf.h"
#include "dataset/catalog_query.h"

typedef struct matcher {
    const char *query;
    bool pattern;
    bool case_sensitive;
} matcher;

/* Substring, or a glob over the whole value in pattern mode. */
static bool matches(const matcher *m, const char *value)
{
    if (!value)
        return false;
    if (m->pattern)
        return fnmatch(m->query, value, m->case_sensitive ? 0 : FNM_CASEFOLD) == 0;
    return (m->case_sensitive ? strstr(value, m->query) : strcasestr(value, m->query)) != NULL;
}

static bool any_matches(const matcher *m, char *const *items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (matches(m, items[i]))
            return true;
    return false;
}

/* "table.column" of the first column whose name or description matches, or NULL. */
static char *column_match(const matcher *m, const dataset_info *info)
{
    for (size_t t = 0; t < info->ncolumn_tables; t++) {
        const dataset_table_columns *tc = &info->columns[t];
        for (size_t i = 0; i < tc->count; i++)
            if (matches(m, tc->columns[i].name) || matches(m, tc->columns[i].description)) {
                strbuf sb = STRBUF_INIT;
                strbuf_appendf(&sb, "%s.%s", tc->table, tc->columns[i].name);
                return strbuf_cstr(&sb) ? strbuf_detach(&sb) : NULL;
            }
    }
    return NULL;
}

/* The registry text to search: the file as written, unless it holds a password (files
 * of the Python tool do), then the record as we would write it, which never does. */
static const char *searchable_text(catalog_entry *e)
{
    if (!e->text || !strcasestr(e->text, "password"))
        return e->text;
    char *clean = NULL;
    if (dataset_info_to_yaml(&clean, NULL, e->info) != 0) {
        MDM_WARN("Search: cannot render dataset '%s': %s", e->info->name,
                 mdm_error_last()->message);
        return NULL;
    }
    free(e->text);
    e->text = clean;
    return clean;
}

/* Where the query matches `e`, or NULL; *detail gets the column for "columns". */
static const char *locate(const matcher *m, catalog_entry *e, const catalog_search_options *opts,
                          char **detail)
{
    dataset_info *info = e->info;
    if (matches(m, info->name))
        return "name";
    if (m->pattern && matches(m, info->display_name))
        return "name";
    if (matches(m, info->description))
        return "description";
    if (any_matches(m, info->tags.items, info->tags.count))
        return "tags";
    if (opts->deep) {
        if (info->ncolumn_tables == 0 && opts->load_columns &&
            opts->load_columns(info, opts->ctx) != 0) {
            MDM_WARN("Deep search: cannot read the columns of dataset '%s': %s", info->name,
                     mdm_error_last()->message);
            mdm_error_clear();
        }
        if ((*detail = column_match(m, info)) != NULL)
            return "columns";
    }
    if (!m->pattern && matches(m, searchable_text(e)))
        return "content";
    return NULL;
}

int catalog_search(catalog_match **out, size_t *count, const mdm_config *cfg,
                   const catalog_search_options *opts)
{
    *out = NULL;
    *count = 0;
    bool has_query = opts->query && *opts->query, has_tag = opts->tag && *opts->tag;
    if (!has_query && !has_tag)
        return mdm_error_set(MDM_EINVALID, "Provide a search query or --tag");
    catalog_entry *entries;
    size_t n;
    int rc = catalog_list_entries(&entries, &n, cfg, has_query && !opts->pattern);
    if (rc)
        return rc;
    catalog_match *found = calloc(n ? n : 1, sizeof *found);
    if (!found) {
        catalog_entries_free(entries, n);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    matcher m = {.query = opts->query, .pattern = opts->pattern,
                 .case_sensitive = opts->case_sensitive};
    size_t kept = 0;
    for (size_t i = 0; i < n && (!opts->limit || kept < opts->limit); i++) {
        catalog_entry *e = &entries[i];
        if (has_tag && !dataset_strlist_contains(&e->info->tags, opts->tag, !opts->case_sensitive))
            continue;
        const char *location = "tag";
        char *detail = NULL;
        if (has_query && !(location = locate(&m, e, opts, &detail)))
            continue;
        found[kept].info = e->info;
        found[kept].location = location;
        found[kept].detail = detail;
        e->info = NULL;
        kept++;
    }
    catalog_entries_free(entries, n);
    *out = found;
    *count = kept;
    return 0;
}

void catalog_matches_free(catalog_match *matches, size_t count)
{
    for (size_t i = 0; matches && i < count; i++) {
        dataset_info_free(matches[i].info);
        free(matches[i].detail);
    }
    free(matches);
}
