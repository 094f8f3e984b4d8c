/* mdm dataset query NAME "SQL" [--format rich|json|csv] [--limit N] [-o FILE]: read-only
 * SQL on the dataset's engine (mdm_dataset_query), the result streamed batch by batch;
 * the column names are written even when no row matches. A refused statement (a write)
 * or an engine error is the API's message, exit 1. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/commands.h"

/* Widest a rich column gets from its first values. */
#define RICH_MAX_WIDTH 40

enum { FMT_RICH, FMT_JSON, FMT_CSV };

typedef struct query_out {
    FILE *f;
    int format;
    bool started;
    size_t ncols;
    int *widths;      /* rich */
    long long rows;
    bool header_only; /* --limit 0: the column names alone */
    char *buf;        /* one value's text */
    size_t cap;
} query_out;

/* A value's text (NULL -> ""), borrowed until the next call; NULL when out of memory. */
static const char *value_text(query_out *q, const mdm_batch *b, size_t c, size_t r, size_t *len)
{
    char tmp[64];
    const char *s = tmp;
    mdm_value v = mdm_batch_value(b, c, r);
    if (v.is_null) {
        *len = 0;
        return "";
    }
    switch (v.type) {
    case MDM_TYPE_INT64: snprintf(tmp, sizeof tmp, "%lld", (long long)v.v.i64); break;
    case MDM_TYPE_FLOAT64:
        snprintf(tmp, sizeof tmp, "%.15g", v.v.f64);
        if (strtod(tmp, NULL) != v.v.f64)
            snprintf(tmp, sizeof tmp, "%.17g", v.v.f64);
        break;
    case MDM_TYPE_BOOL: snprintf(tmp, sizeof tmp, "%s", v.v.b ? "true" : "false"); break;
    case MDM_TYPE_DATE: mdm_date_format(tmp, sizeof tmp, v.v.date); break;
    case MDM_TYPE_TIMESTAMP: mdm_timestamp_format(tmp, sizeof tmp, v.v.ts); break;
    default: *len = v.v.text.len; return v.v.text.ptr;
    }
    *len = strlen(s);
    if (*len + 1 > q->cap) {
        char *grown = realloc(q->buf, *len + 1);
        if (!grown)
            return NULL;
        q->buf = grown;
        q->cap = *len + 1;
    }
    memcpy(q->buf, s, *len + 1);
    return q->buf;
}

static void csv_field(FILE *f, const char *s, size_t len)
{
    if (len && strcspn(s, ",\"\r\n") == len && s[0] != ' ' && s[len - 1] != ' ') {
        fwrite(s, 1, len, f);
        return;
    }
    if (!len)
        return;
    putc('"', f);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            putc('"', f);
        putc(s[i], f);
    }
    putc('"', f);
}

static void json_field(FILE *f, const mdm_batch *b, size_t c, size_t r, const char *s, size_t len)
{
    mdm_value v = mdm_batch_value(b, c, r);
    json_t *j = NULL;
    if (v.is_null)
        j = json_null();
    else if (v.type == MDM_TYPE_INT64)
        j = json_integer((json_int_t)v.v.i64);
    else if (v.type == MDM_TYPE_FLOAT64)
        j = isfinite(v.v.f64) ? json_real(v.v.f64) : json_null();
    else if (v.type == MDM_TYPE_BOOL)
        j = json_boolean(v.v.b);
    else
        j = json_stringn_nocheck(s, len);
    if (j)
        json_dumpf(j, f, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(j);
}

static int header(query_out *q, const mdm_batch *b)
{
    q->ncols = mdm_batch_ncols(b);
    if (!(q->widths = calloc(q->ncols ? q->ncols : 1, sizeof *q->widths)))
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    for (size_t c = 0; c < q->ncols; c++) {
        const mdm_field *fd = mdm_batch_field(b, c);
        if (q->format == FMT_CSV) {
            if (c)
                putc(',', q->f);
            csv_field(q->f, fd->name, strlen(fd->name));
        } else if (q->format == FMT_JSON) {
            json_t *j = json_pack("{s:s, s:s}", "name", fd->name, "type", mdm_type_name(fd->type));
            fputs(c ? ", " : "{\"columns\": [", q->f);
            json_dumpf(j, q->f, JSON_COMPACT);
            json_decref(j);
        } else {
            size_t w = strlen(fd->name);
            for (size_t r = 0; r < mdm_batch_nrows(b); r++) {
                size_t len = 0;
                if (mdm_batch_is_null(b, c, r))
                    len = 4; /* NULL */
                else
                    value_text(q, b, c, r, &len);
                if (len > w)
                    w = len;
            }
            q->widths[c] = (int)(w > RICH_MAX_WIDTH ? RICH_MAX_WIDTH : w);
            fprintf(q->f, "%s%-*s", c ? "  " : "", q->widths[c], fd->name);
        }
    }
    if (q->format == FMT_JSON) {
        fputs(q->ncols ? "],\n \"rows\": [" : "{\"columns\": [],\n \"rows\": [", q->f);
    } else if (q->format == FMT_RICH) {
        putc('\n', q->f);
        for (size_t c = 0; c < q->ncols; c++) {
            fputs(c ? "  " : "", q->f);
            for (int i = 0; i < q->widths[c]; i++)
                putc('-', q->f);
        }
        putc('\n', q->f);
    } else {
        putc('\n', q->f);
    }
    return 0;
}

static int write_batch(const mdm_batch *b, void *ctx)
{
    query_out *q = ctx;
    if (!q->started) {
        int rc = header(q, b);
        if (rc)
            return rc;
        q->started = true;
    }
    for (size_t r = 0; !q->header_only && r < mdm_batch_nrows(b); r++, q->rows++) {
        if (q->format == FMT_JSON)
            fputs(q->rows ? ",\n  [" : "\n  [", q->f);
        for (size_t c = 0; c < q->ncols; c++) {
            size_t len = 0;
            const char *s = value_text(q, b, c, r, &len);
            if (!s)
                return mdm_error_set(MDM_ENOMEM, "out of memory");
            if (q->format == FMT_CSV) {
                if (c)
                    putc(',', q->f);
                csv_field(q->f, s, len);
            } else if (q->format == FMT_JSON) {
                if (c)
                    fputs(", ", q->f);
                json_field(q->f, b, c, r, s, len);
            } else {
                if (mdm_batch_is_null(b, c, r)) {
                    s = "NULL";
                    len = 4;
                }
                fprintf(q->f, "%s%-*.*s", c ? "  " : "", q->widths[c],
                        (int)(len > RICH_MAX_WIDTH ? RICH_MAX_WIDTH : len), s);
            }
        }
        fputs(q->format == FMT_JSON ? "]" : "\n", q->f);
    }
    if (ferror(q->f))
        return mdm_error_set(MDM_EIO, "writing the result: %s", strerror(errno));
    return 0;
}

int cli_dataset_query(int argc, char **argv)
{
    const char *format = "rich", *limit_text = NULL, *output = NULL;
    static const char *const args[] = {"NAME", "SQL"};
    const char *values[2] = {NULL, NULL};
    const cli_opt opts[] = {
        {"--format", "-f", "TEXT", &format, "rich (default), json or csv."},
        {"--limit", "-n", "N", &limit_text, "At most N rows."},
        {"--output", "-o", "FILE", &output, "Write the result to FILE instead of stdout."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm dataset query NAME SQL [OPTIONS]",
                       .summary = "Run read-only SQL on a dataset's engine; tables are named as "
                                  "in the dataset (train, test, ...).",
                       .args = args, .values = values, .nargs = 2, .opts = opts};
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    query_out q = {.f = stdout};
    if (strcmp(format, "rich") == 0) {
        q.format = FMT_RICH;
    } else if (strcmp(format, "json") == 0) {
        q.format = FMT_JSON;
    } else if (strcmp(format, "csv") == 0) {
        q.format = FMT_CSV;
    } else {
        cli_fail("Invalid value for '--format': '%s' is not one of rich, json, csv.", format);
        return 2;
    }
    mdm_query_options qo = {.limit = -1};
    if (limit_text) {
        char *end = NULL;
        errno = 0;
        long long n = strtoll(limit_text, &end, 10);
        if (errno || !*limit_text || *end || n < 0) {
            cli_fail("Invalid value for '--limit': '%s' is not a non-negative integer.", limit_text);
            return 2;
        }
        /* the API reads 0 as no limit: one row is asked for and none written */
        qo.limit = n ? n : 1;
        q.header_only = n == 0;
    }
    mdm_catalog *cat = cli_catalog_open();
    if (!cat)
        return 1;
    mdm_dataset *ds = NULL;
    int rc = mdm_dataset_open(&ds, cat, values[0]);
    if (!rc && output && !(q.f = fopen(output, "w")))
        rc = mdm_error_set(MDM_EIO, "%s: %s", output, strerror(errno));
    if (!rc)
        rc = mdm_dataset_query(ds, values[1], &qo, write_batch, &q);
    if (!rc && q.format == FMT_JSON)
        fprintf(q.f, "%s],\n \"row_count\": %lld}\n", q.rows ? "\n " : "", q.rows);
    else if (!rc && q.format == FMT_RICH && q.f == stdout)
        fprintf(stderr, "(%lld row%s)\n", q.rows, q.rows == 1 ? "" : "s");
    if (q.f && q.f != stdout && fclose(q.f) && !rc)
        rc = mdm_error_set(MDM_EIO, "%s: %s", output, strerror(errno));
    else if (q.f == stdout)
        fflush(stdout);
    if (!rc && output)
        fprintf(stderr, "%lld rows written to %s\n", q.rows, output);
    if (rc)
        rc = cli_fail_last();
    free(q.widths);
    free(q.buf);
    mdm_dataset_close(ds);
    cli_catalog_close(cat);
    return rc;
}
