/* The SQLite bulk path: a prepared multi-row INSERT, cached on the connection, stepped
 * inside one transaction (or a SAVEPOINT in the caller's). Values are bound straight
 * from the batch's arrays; text is bound SQLITE_STATIC since the batch outlives every
 * step, and dates and timestamps are formatted into a scratch area that does too. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "storage/backends/sqlite_internal.h"

/* Rows per multi-row INSERT. Measured on 5-column rows (timestamp, two integers, two
 * short texts): 1 row ~1.3M rows/s, 8 ~1.6-2.4M, 32-128 ~2.5-2.7M, 512 slower again
 * (~1.3-1.8M): past a few dozen rows the per-step overhead is amortised. */
#define MULTI_ROWS_MAX 64
/* Wide tables get fewer rows per statement: each parameter costs memory in the
 * prepared statement, and with hundreds of columns a row amortises the step anyway. */
#define MULTI_PARAMS_MAX 4096

/* ------------------------------------------------------------------ date/time text */

static char *put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* "YYYY-MM-DD" at p; false when the year has no four-digit form. */
static bool put_ymd(char *p, int32_t days)
{
    int y, m, d;
    mdm_date_to_ymd(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        return false;
    p = put2(p, y / 100);
    p = put2(p, y % 100);
    *p++ = '-';
    p = put2(p, m);
    *p++ = '-';
    put2(p, d);
    return true;
}

size_t mdm_sqlite_format_date(char *buf, int32_t days)
{
    if (!put_ymd(buf, days))
        return 0;
    buf[10] = '\0';
    return 10;
}

size_t mdm_sqlite_format_timestamp(char *buf, int64_t micros)
{
    const int64_t per_day = 86400LL * 1000000LL;
    int64_t days = micros / per_day, rest = micros % per_day;
    if (rest < 0) {
        rest += per_day;
        days--;
    }
    if (!put_ymd(buf, (int32_t)days))
        return 0;
    int secs = (int)(rest / 1000000), frac = (int)(rest % 1000000);
    char *p = buf + 10;
    *p++ = ' ';
    p = put2(p, secs / 3600);
    *p++ = ':';
    p = put2(p, secs / 60 % 60);
    *p++ = ':';
    p = put2(p, secs % 60);
    /* Same form as mdm_timestamp_format: a fraction only when there is one. */
    if (frac) {
        *p++ = '.';
        for (int i = 5; i >= 0; i--, frac /= 10)
            p[i] = (char)('0' + frac % 10);
        p += 6;
    }
    *p = '\0';
    return (size_t)(p - buf);
}

/* ------------------------------------------------------------------ the cache */

void mdm_sqlite_insert_cache_clear(sqlite_insert_cache *cache)
{
    sqlite3_finalize(cache->multi);
    sqlite3_finalize(cache->single);
    mdm_fields_free(cache->fields, cache->ncols);
    free(cache->table);
    free(cache->single_sql);
    free(cache->scratch);
    memset(cache, 0, sizeof *cache);
}

static int prepare_persistent(mdm_backend_conn *c, sqlite3_stmt **out, const char *sql)
{
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    if (rc != SQLITE_OK) {
        *out = NULL;
        return mdm_sqlite_failf(c, rc, "cannot prepare an INSERT of %zu rows",
                                c->insert.multi_rows);
    }
    return 0;
}

/* INSERT INTO "t" VALUES (?, ...), ... with `rows` rows. */
static char *insert_sql(const char *table, size_t ncols, size_t rows)
{
    strbuf sb = STRBUF_INIT;
    strbuf_append(&sb, "INSERT INTO ");
    strbuf_append_ident(&sb, table);
    strbuf_append(&sb, " VALUES ");
    for (size_t r = 0; r < rows; r++) {
        strbuf_append(&sb, r ? ",(" : "(");
        for (size_t col = 0; col < ncols; col++)
            strbuf_append(&sb, col ? ",?" : "?");
        strbuf_append_char(&sb, ')');
    }
    return strbuf_detach(&sb);
}

/* Fills the cache for `table` from its current schema. */
static int cache_build(mdm_backend_conn *c, const char *table, int version)
{
    sqlite_insert_cache *k = &c->insert;
    mdm_sqlite_insert_cache_clear(k);
    char *multi_sql = NULL;
    int rc = mdm_sqlite_table_schema(c, table, &k->fields, &k->ncols);
    if (rc)
        goto cleanup;
    if (!(k->table = strdup(table))) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory preparing an INSERT");
        goto cleanup;
    }
    k->schema_version = version;
    size_t max_vars = (size_t)sqlite3_limit(c->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1);
    if (max_vars > MULTI_PARAMS_MAX)
        max_vars = MULTI_PARAMS_MAX;
    k->multi_rows = max_vars / k->ncols;
    if (k->multi_rows > MULTI_ROWS_MAX)
        k->multi_rows = MULTI_ROWS_MAX;
    size_t datetime_cols = 0;
    for (size_t i = 0; i < k->ncols; i++)
        datetime_cols += k->fields[i].type == MDM_TYPE_DATE ||
                         k->fields[i].type == MDM_TYPE_TIMESTAMP;
    k->scratch_size = (k->multi_rows ? k->multi_rows : 1) * datetime_cols * MDM_SQLITE_DATETIME_MAX;
    if (k->scratch_size && !(k->scratch = malloc(k->scratch_size))) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory preparing an INSERT");
        goto cleanup;
    }
    if (!(k->single_sql = insert_sql(table, k->ncols, 1))) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    if ((rc = prepare_persistent(c, &k->single, k->single_sql)))
        goto cleanup;
    if (k->multi_rows > 1) {
        if (!(multi_sql = insert_sql(table, k->ncols, k->multi_rows))) {
            rc = MDM_ENOMEM;
            goto cleanup;
        }
        rc = prepare_persistent(c, &k->multi, multi_sql);
    }
cleanup:
    free(multi_sql);
    if (rc)
        mdm_sqlite_insert_cache_clear(k);
    return rc;
}

/* The batch's columns against the table's, by position and type. */
static int check_shape(const sqlite_insert_cache *k, const char *table, const mdm_batch *b)
{
    size_t ncols = mdm_batch_ncols(b);
    if (ncols != k->ncols)
        return mdm_error_set(MDM_EINVALID, "the batch has %zu columns but table '%s' has %zu",
                             ncols, table, k->ncols);
    for (size_t i = 0; i < ncols; i++) {
        const mdm_field *f = mdm_batch_field(b, i);
        if (f->type != k->fields[i].type)
            return mdm_error_set(MDM_EINVALID,
                                 "column %zu '%s' of table '%s' is %s but the batch gives %s "
                                 "(batch column '%s')",
                                 i + 1, k->fields[i].name, table,
                                 mdm_type_name(k->fields[i].type), mdm_type_name(f->type),
                                 f->name);
    }
    return 0;
}

/* ------------------------------------------------------------------ binding */

static int out_of_range(const sqlite_insert_cache *k, const char *table, size_t col, size_t row,
                        const char *what)
{
    return mdm_error_set(MDM_EINVALID,
                         "table '%s' column '%s' row %zu: the %s is outside the years "
                         "0000-9999 that SQLite stores as text",
                         table, k->fields[col].name, row, what);
}

/* Binds rows [first, first + nrows) of the batch to `st`, row-major parameters. Column
 * by column, so that the type switch runs once per column. */
static int bind_rows(mdm_backend_conn *c, sqlite3_stmt *st, const char *table,
                     const mdm_batch *b, size_t first, size_t nrows)
{
    const sqlite_insert_cache *k = &c->insert;
    size_t ncols = k->ncols;
    char *scratch = k->scratch;
    int src = SQLITE_OK;
    for (size_t col = 0; col < ncols && src == SQLITE_OK; col++) {
        const uint8_t *nulls = mdm_batch_nulls(b, col) + first;
        const void *data = mdm_batch_data(b, col);
        mdm_type type = k->fields[col].type;
        for (size_t i = 0; i < nrows && src == SQLITE_OK; i++) {
            int p = (int)(i * ncols + col + 1);
            size_t row = first + i;
            if (nulls[i]) {
                src = sqlite3_bind_null(st, p);
                continue;
            }
            switch (type) {
            case MDM_TYPE_INT64:
                src = sqlite3_bind_int64(st, p, ((const int64_t *)data)[row]);
                break;
            case MDM_TYPE_FLOAT64:
                src = sqlite3_bind_double(st, p, ((const double *)data)[row]);
                break;
            case MDM_TYPE_BOOL:
                src = sqlite3_bind_int(st, p, ((const uint8_t *)data)[row] != 0);
                break;
            case MDM_TYPE_DATE: {
                size_t len = mdm_sqlite_format_date(scratch, ((const int32_t *)data)[row]);
                if (!len)
                    return out_of_range(k, table, col, row, "date");
                src = sqlite3_bind_text(st, p, scratch, (int)len, SQLITE_STATIC);
                scratch += MDM_SQLITE_DATETIME_MAX;
                break;
            }
            case MDM_TYPE_TIMESTAMP: {
                size_t len = mdm_sqlite_format_timestamp(scratch, ((const int64_t *)data)[row]);
                if (!len)
                    return out_of_range(k, table, col, row, "timestamp");
                src = sqlite3_bind_text(st, p, scratch, (int)len, SQLITE_STATIC);
                scratch += MDM_SQLITE_DATETIME_MAX;
                break;
            }
            case MDM_TYPE_TEXT: {
                size_t len;
                const char *s = mdm_batch_text(b, col, row, &len);
                if (len > INT_MAX)
                    return mdm_error_set(MDM_ECONSTRAINT,
                                         "table '%s' column '%s' row %zu: text of %zu bytes is "
                                         "longer than SQLite stores",
                                         table, k->fields[col].name, row, len);
                src = sqlite3_bind_text(st, p, s, (int)len, SQLITE_STATIC);
                break;
            }
            }
        }
    }
    if (src != SQLITE_OK)
        return mdm_sqlite_failf(c, src, "cannot bind a value for table '%.100s'", table);
    return 0;
}

static int insert_rows(mdm_backend_conn *c, sqlite3_stmt *st, const char *table,
                       const mdm_batch *b, size_t first, size_t nrows)
{
    int rc = bind_rows(c, st, table, b, first, nrows);
    if (rc)
        return rc;
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = mdm_sqlite_failf(c, src, "cannot append to table '%.100s'", table);
    sqlite3_reset(st);
    return rc;
}

int mdm_sqlite_append(mdm_backend_conn *c, const char *table, const mdm_batch *batch)
{
    bool own;
    char what[200];
    snprintf(what, sizeof what, "cannot start appending to table '%.100s'", table);
    int rc = mdm_sqlite_atomic_begin(c, &own, what);
    if (rc)
        return rc;
    sqlite_insert_cache *k = &c->insert;
    int version;
    if ((rc = mdm_sqlite_schema_version(c, &version)))
        goto cleanup;
    if ((!k->table || strcmp(k->table, table) != 0 || k->schema_version != version) &&
        (rc = cache_build(c, table, version)))
        goto cleanup;
    if ((rc = check_shape(k, table, batch)))
        goto cleanup;

    size_t nrows = mdm_batch_nrows(batch), row = 0;
    if (c->echo) {
        strbuf sb = STRBUF_INIT;
        strbuf_appendf(&sb, "%s -- %zu rows", k->single_sql, nrows);
        if (strbuf_cstr(&sb))
            mdm_sqlite_echo(c, sb.data);
        strbuf_free(&sb);
    }
    if (k->multi)
        for (; nrows - row >= k->multi_rows && !rc; row += k->multi_rows)
            rc = insert_rows(c, k->multi, table, batch, row, k->multi_rows);
    for (; row < nrows && !rc; row++)
        rc = insert_rows(c, k->single, table, batch, row, 1);
cleanup:
    /* The batch's memory is the caller's again: no pointer into it stays bound. */
    if (k->multi)
        sqlite3_clear_bindings(k->multi);
    if (k->single)
        sqlite3_clear_bindings(k->single);
    return mdm_sqlite_atomic_end(c, own, rc);
}
