/* mdm dataset verify NAME [--table T] [--format rich|json]: the tables read again
 * through the engine and compared with the digests recorded at registration. Exit 0
 * when every table verifies, 1 naming what differs. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/commands.h"

static json_t *result_json(const mdm_verify_result *res)
{
    json_t *tables = json_array();
    for (size_t i = 0; tables && i < res->count; i++) {
        const mdm_verify_table *t = &res->tables[i];
        json_t *cols = json_array();
        for (size_t c = 0; cols && c < t->columns.count; c++)
            json_array_append_new(cols, json_string(t->columns.items[c]));
        json_array_append_new(
            tables, json_pack("{s:s, s:s, s:I, s:I, s:b, s:o}", "table", t->table, "status",
                              t->recorded ? "recorded" : t->ok ? "verified" : "mismatch",
                              "expected_rows", (json_int_t)t->expected_rows, "actual_rows",
                              (json_int_t)t->actual_rows, "table_digest_differs",
                              t->table_differs, "columns_differ", cols ? cols : json_array()));
    }
    return json_pack("{s:b, s:o}", "ok", res->ok, "tables", tables ? tables : json_array());
}

static void print_rich(const char *name, const mdm_verify_result *res)
{
    for (size_t i = 0; i < res->count; i++) {
        const mdm_verify_table *t = &res->tables[i];
        if (t->recorded) {
            printf("%s.%s: no checksums were recorded; recorded them now (%lld rows)\n", name,
                   t->table, (long long)t->actual_rows);
        } else if (t->ok) {
            printf("%s.%s: verified (%lld rows)\n", name, t->table, (long long)t->actual_rows);
        } else {
            printf("%s.%s: MISMATCH", name, t->table);
            if (t->expected_rows != t->actual_rows)
                printf(" rows %lld, recorded %lld (%+lld)", (long long)t->actual_rows,
                       (long long)t->expected_rows, (long long)(t->actual_rows - t->expected_rows));
            if (t->columns.count) {
                printf("%scolumns differ:", t->expected_rows != t->actual_rows ? "; " : " ");
                for (size_t c = 0; c < t->columns.count; c++)
                    printf("%s %s", c ? "," : "", t->columns.items[c]);
            } else if (t->table_differs) {
                printf("%svalues moved between rows (every column keeps its values)",
                       t->expected_rows != t->actual_rows ? "; " : " ");
            }
            putchar('\n');
        }
    }
}

int cli_dataset_verify(int argc, char **argv)
{
    const char *table = NULL, *format = "rich";
    static const char *const args[] = {"NAME"};
    const char *values[1] = {NULL};
    const cli_opt opts[] = {
        {"--table", NULL, "TEXT", &table, "Only this table (kind or name)."},
        {"--format", "-f", "TEXT", &format, "rich (default) or json."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm dataset verify NAME [OPTIONS]",
                       .summary = "Check a dataset's tables against the checksums recorded at "
                                  "registration (recorded now when there are none).",
                       .args = args, .values = values, .nargs = 1, .opts = opts};
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    if (strcmp(format, "rich") != 0 && strcmp(format, "json") != 0) {
        cli_fail("Invalid value for '--format': '%s' is not one of rich, json.", format);
        return 2;
    }
    mdm_catalog *cat = cli_catalog_open();
    if (!cat)
        return 1;
    mdm_dataset *ds = NULL;
    mdm_verify_result *res = NULL;
    int rc = mdm_dataset_open(&ds, cat, values[0]);
    if (!rc)
        rc = mdm_dataset_verify(&res, ds, table);
    if (rc) {
        rc = cli_fail_last();
    } else {
        if (strcmp(format, "json") == 0)
            cli_print_json(result_json(res));
        else
            print_rich(mdm_dataset_name(ds), res);
        rc = res->ok ? 0 : 1;
    }
    mdm_verify_result_free(res);
    mdm_dataset_close(ds);
    cli_catalog_close(cat);
    return rc;
}
