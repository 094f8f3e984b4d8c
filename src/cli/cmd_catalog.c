/* mdm dataset list | info | search | update: reading and editing the catalog. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"

/* 0 when `format` is one of the comma-and-space separated `allowed`, else 2 (usage). */
static int check_format(const char *format, const char *allowed)
{
    size_t n = strlen(format);
    for (const char *p = allowed; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, format, n) == 0)
            return 0;
        p += len;
        while (*p == ',' || *p == ' ')
            p++;
    }
    cli_fail("Invalid value for '--format': '%s' is not one of %s.", format, allowed);
    return 2;
}

/* The table kinds of a record, ", "-separated (malloc'd). */
static char *table_kinds(const mdm_dataset_info *d)
{
    return cli_join(d->tables.keys, d->tables.count, ", ");
}

static void csv_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\n\r")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
}

/* ------------------------------------------------------------------ list */

int cli_dataset_list(int argc, char **argv)
{
    const char *format = NULL, *filter = NULL, *sort_by = "name", *limit_text = NULL;
    const cli_opt opts[] = {
        {"--format", "-f", "TEXT", &format, "rich (default), json or csv."},
        {"--filter", NULL, "TEXT", &filter, "key=value[,key=value]; also != > < >= <= ~."},
        {"--sort-by", NULL, "TEXT", &sort_by, "name, registration_date, size or rows."},
        {"--limit", NULL, "INTEGER", &limit_text, "Show at most this many."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm dataset list [OPTIONS]",
                       .summary = "List registered datasets.", .opts = opts};
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    mdm_catalog *cat = cli_catalog_open();
    if (!cat)
        return 1;
    if (!format)
        format = mdm_config_str(mdm_catalog_config(cat), "cli.default_output_format");
    if (strcmp(format, "table") == 0)
        format = "rich";
    int rc = check_format(format, "rich, json, csv");
    long limit = 0;
    if (!rc && limit_text) {
        char *end;
        limit = strtol(limit_text, &end, 10);
        if (*end || limit < 0) {
            cli_fail("Invalid value for '--limit': '%s' is not a valid integer.", limit_text);
            rc = 2;
        }
    }
    mdm_dataset_info **infos = NULL;
    size_t n = 0;
    mdm_list_options q = {.filter = filter, .sort_by = sort_by, .limit = (size_t)limit};
    if (!rc && mdm_catalog_list(&infos, &n, cat, &q) != 0)
        rc = cli_fail_last();
    if (rc) {
        cli_catalog_close(cat);
        return rc;
    }
    if (strcmp(format, "json") == 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            char *text = NULL;
            json_error_t err;
            json_t *tree = mdm_dataset_info_to_json(&text, infos[i]) == 0
                               ? json_loads(text, 0, &err)
                               : NULL;
            if (tree)
                json_array_append_new(arr, tree);
            free(text);
        }
        cli_print_json(arr);
    } else if (strcmp(format, "csv") == 0) {
        cli_text tx = {0}; /* registry text is escaped on plain output (cli/output.h) */
        puts("name,problem_type,target,tables,rows,size_bytes,backend,registered_at");
        for (size_t i = 0; i < n; i++) {
            const mdm_dataset_info *d = infos[i];
            char *tables = table_kinds(d);
            char when[64] = "";
            if (d->has_registered_at)
                mdm_time_format(when, sizeof when, d->registered_at);
            csv_field(stdout, cli_safe(&tx, d->name));
            printf(",%s,", d->problem_type ? cli_safe(&tx, d->problem_type) : "");
            csv_field(stdout, d->target_column ? cli_safe(&tx, d->target_column) : "");
            putchar(',');
            csv_field(stdout, tables ? cli_safe(&tx, tables) : "");
            printf(",%lld,%lld,%s,%s\n", (long long)mdm_dataset_info_rows(d),
                   (long long)mdm_dataset_info_memory(d),
                   d->database.backend ? cli_safe(&tx, d->database.backend) : "", when);
            free(tables);
        }
        cli_text_free(&tx);
    } else if (n == 0) {
        puts("No datasets registered yet.");
    } else {
        cli_text tx = {0};
        printf("%-24s %-26s %-16s %-28s %12s %10s %-10s\n", "Name", "Problem Type", "Target",
               "Tables", "Total Rows", "MEM Size", "Backend");
        for (size_t i = 0; i < n; i++) {
            const mdm_dataset_info *d = infos[i];
            char *tables = table_kinds(d);
            char size[32], rows[32];
            cli_human_bytes(size, sizeof size, mdm_dataset_info_memory(d));
            int64_t r = mdm_dataset_info_rows(d);
            snprintf(rows, sizeof rows, r >= 0 ? "%lld" : "-", (long long)r);
            printf("%-24s %-26s %-16s %-28s %12s %10s %-10s\n", cli_safe(&tx, d->name),
                   d->problem_type ? cli_safe(&tx, d->problem_type) : "-",
                   d->target_column ? cli_safe(&tx, d->target_column) : "-",
                   tables && *tables ? cli_safe(&tx, tables) : "-", rows, size,
                   d->database.backend ? cli_safe(&tx, d->database.backend) : "-");
            free(tables);
        }
        cli_text_free(&tx);
    }
    mdm_dataset_infos_free(infos, n);
    cli_catalog_close(cat);
    return 0;
}

/* ------------------------------------------------------------------ info */

static int64_t file_size(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

int cli_dataset_info(int argc, char **argv)
{
    bool details = false;
    const char *format = "rich";
    static const char *const args[] = {"NAME"};
    const char *values[1] = {NULL};
    const cli_opt opts[] = {
        {"--details", "-d", NULL, &details, "Show the columns of every table with their types."},
        {"--format", "-f", "TEXT", &format, "rich (default) or json."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm dataset info NAME [OPTIONS]",
                       .summary = "Show what the catalog knows about a dataset.",
                       .args = args, .values = values, .nargs = 1, .opts = opts};
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    if ((prc = check_format(format, "rich, json")))
        return prc;
    mdm_catalog *cat = cli_catalog_open();
    if (!cat)
        return 1;
    mdm_dataset_info *d = NULL;
    if (mdm_catalog_get(&d, cat, values[0]) != 0) {
        int rc = cli_fail_last();
        cli_catalog_close(cat);
        return rc;
    }
    if (strcmp(format, "json") == 0) {
        char *text = NULL;
        if (mdm_dataset_info_to_json(&text, d) == 0)
            fputs(text, stdout);
        putchar('\n');
        free(text);
    } else {
        /* Everything from the registry file is escaped (cli/output.h). */
        cli_text tx = {0};
#define SAFE(s) ((s) ? cli_safe(&tx, (s)) : "-")
        char size[32], when[64];
        cli_human_bytes(size, sizeof size, file_size(d->database.path));
        printf("Dataset: %s\n\n", SAFE(d->name));
        printf("  Description:   %s\n", SAFE(d->description));
        printf("  Problem Type:  %s\n", SAFE(d->problem_type));
        printf("  Target:        %s\n", SAFE(d->target_column));
        printf("  ID Columns:    ");
        for (size_t i = 0; i < d->id_columns.count; i++)
            printf("%s%s", i ? ", " : "", SAFE(d->id_columns.items[i]));
        printf("%s\n  Tags:          ", d->id_columns.count ? "" : "-");
        for (size_t i = 0; i < d->tags.count; i++)
            printf("%s%s", i ? ", " : "", SAFE(d->tags.items[i]));
        printf("%s\n", d->tags.count ? "" : "-");
        printf("  Source:        %s\n", SAFE(d->source));
        printf("  Backend:       %s\n", SAFE(d->database.backend));
        if (d->database.path)
            printf("  Database:      %s (%s)\n", SAFE(d->database.path), size);
        else if (d->database.schema)
            printf("  Database:      %s:%lld/%s, schema %s\n",
                   d->database.host ? cli_safe(&tx, d->database.host) : "",
                   (long long)d->database.port,
                   d->database.database ? cli_safe(&tx, d->database.database) : "",
                   SAFE(d->database.schema));
        printf("  Tables:\n");
        for (size_t i = 0; i < d->tables.count; i++) {
            long long rows = -1;
            for (size_t k = 0; k < d->statistics.row_count_tables.count; k++)
                if (strcmp(d->statistics.row_count_tables.items[k], d->tables.keys[i]) == 0)
                    rows = (long long)d->statistics.row_counts[k];
            printf("    %-20s %lld rows\n", SAFE(d->tables.keys[i]), rows);
        }
        if (d->has_registered_at) {
            mdm_time_format(when, sizeof when, d->registered_at);
            printf("  Registered:    %s\n", when);
        }
        if (d->has_last_updated_at) {
            mdm_time_format(when, sizeof when, d->last_updated_at);
            printf("  Last updated:  %s\n", when);
        }
        for (size_t t = 0; details && t < d->ncolumn_tables; t++) {
            const mdm_dataset_table_columns *tc = &d->columns[t];
            printf("\n  %s\n  %-32s %-10s %-12s %8s %10s\n", SAFE(tc->table), "Column", "Type",
                   "Semantic", "Null %", "Distinct");
            for (size_t c = 0; c < tc->count; c++) {
                json_t *x = tc->columns[c].extra;
                json_t *sem = x ? json_object_get(x, "semantic_type") : NULL;
                json_t *nr = x ? json_object_get(x, "null_ratio") : NULL;
                json_t *dist = x ? json_object_get(x, "distinct") : NULL;
                printf("  %-32s %-10s %-12s %8.1f %10lld\n", SAFE(tc->columns[c].name),
                       SAFE(tc->columns[c].type), SAFE(sem ? json_string_value(sem) : NULL),
                       nr ? 100 * json_number_value(nr) : 0.0,
                       dist ? (long long)json_integer_value(dist) : -1LL);
            }
        }
#undef SAFE
        cli_text_free(&tx);
    }
    mdm_dataset_info_free(d);
    cli_catalog_close(cat);
    return 0;
}

/* ------------------------------------------------------------------ search */

int cli_dataset_search(int argc, char **argv)
{
    bool pattern = false, case_sensitive = false, deep = false;
    const char *tag = NULL, *limit_text = NULL, *format = "rich";
    static const char *const args[] = {"[QUERY]"};
    const char *values[1] = {NULL};
    const cli_opt opts[] = {
        {"--pattern", NULL, NULL, &pattern, "QUERY is a glob over names (e.g. 'house*')."},
        {"--case-sensitive", NULL, NULL, &case_sensitive, "Match case exactly."},
        {"--tag", NULL, "TEXT", &tag, "Only datasets with this tag."},
        {"--deep", NULL, NULL, &deep, "Also search column names and descriptions."},
        {"--limit", NULL, "INTEGER", &limit_text, "Show at most this many."},
        {"--format", "-f", "TEXT", &format, "rich (default) or json."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm dataset search [QUERY] [OPTIONS]",
                       .summary = "Find datasets by name, description, tags or content.",
                       .args = args, .values = values, .nargs = 1, .opts = opts};
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    if ((prc = check_format(format, "rich, json")))
        return prc;
    if (!values[0] && !tag)
        return cli_fail("Provide a QUERY or --tag.");
    mdm_catalog *cat = cli_catalog_open();
    if (!cat)
        return 1;
    mdm_search_options o = {.query = values[0], .pattern = pattern,
                                .case_sensitive = case_sensitive, .tag = tag, .deep = deep,
                                .limit = limit_text ? (size_t)strtoul(limit_text, NULL, 10) : 0};
    mdm_search_match *m = NULL;
    size_t n = 0;
    int rc = 0;
    if (mdm_catalog_search(&m, &n, cat, &o) != 0) {
        rc = cli_fail_last();
    } else if (strcmp(format, "json") == 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:s?, s:s, s:s?}", "name", m[i].info->name,
                                                 "description", m[i].info->description,
                                                 "match", m[i].location, "detail", m[i].detail));
        cli_print_json(arr);
    } else {
        cli_text tx = {0}; /* registry text is escaped (cli/output.h) */
        printf("%-24s %-40s %-24s %s\n", "Name", "Description", "Tags", "Match Location");
        for (size_t i = 0; i < n; i++) {
            char *tags = cli_join(m[i].info->tags.items, m[i].info->tags.count, ", ");
            printf("%-24s %-40.40s %-24s %s%s%s\n", cli_safe(&tx, m[i].info->name),
                   m[i].info->description ? cli_safe(&tx, m[i].info->description) : "-",
                   tags && *tags ? cli_safe(&tx, tags) : "-", cli_safe(&tx, m[i].location),
                   m[i].detail ? ": " : "", m[i].detail ? cli_safe(&tx, m[i].detail) : "");
            free(tags);
        }
        cli_text_free(&tx);
        printf("\nFound %zu match(es)\n", n);
    }
    mdm_search_matches_free(m, n);
    cli_catalog_close(cat);
    return rc;
}

/* ------------------------------------------------------------------ update */

int cli_dataset_update(int argc, char **argv)
{
    mdm_dataset_changes ch = {0};
    static const char *const args[] = {"NAME"};
    const char *values[1] = {NULL};
    const cli_opt opts[] = {
        {"--description", "-d", "TEXT", &ch.description, "New description."},
        {"--target", "-t", "TEXT", &ch.target_column, "New target column."},
        {"--problem-type", NULL, "TEXT", &ch.problem_type, "New problem type."},
        {"--id-columns", NULL, "TEXT", &ch.id_columns, "New ID columns, comma-separated."},
        {"--tags", NULL, "TEXT", &ch.tags, "New tags, comma-separated (replaces)."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm dataset update NAME [OPTIONS]",
                       .summary = "Change a dataset's description, target, problem type, IDs or tags.",
                       .args = args, .values = values, .nargs = 1, .opts = opts};
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    if (!ch.description && !ch.target_column && !ch.problem_type && !ch.id_columns && !ch.tags) {
        puts("No updates specified");
        return 0;
    }
    mdm_catalog *cat = cli_catalog_open();
    if (!cat)
        return 1;
    mdm_dataset_info *d = NULL;
    int rc = 0;
    if (mdm_catalog_update(&d, cat, values[0], &ch) != 0)
        rc = cli_fail_last();
    else
        printf("Dataset '%s' updated\n", d->name);
    mdm_dataset_info_free(d);
    cli_catalog_close(cat);
    return rc;
}
