/* Reading tables and executing SQL on DuckDB: prepared statements with bound
 * parameters, streamed results delivered as batches (duckdb_result.c converts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "storage/backends/duckdb_internal.h"

#define DEFAULT_BATCH_ROWS 10000

/* ------------------------------------------------------------ read */

/* Whether result column `c` has a type mdm has no name for (LIST, INTERVAL, ...), which
 * then reaches mdm through a cast to text. A type not known before the parameters are
 * bound (INVALID) is left alone. */
static bool column_needs_cast(duckdb_prepared_statement stmt, idx_t c)
{
    duckdb_logical_type lt = duckdb_prepared_statement_column_logical_type(stmt, c);
    mdm_type t;
    bool cast = duckdb_get_type_id(lt) != DUCKDB_TYPE_INVALID &&
                mdm_duckdb_type_to_mdm(&t, lt) != 0;
    duckdb_destroy_logical_type(&lt);
    return cast;
}

static bool needs_casts(duckdb_prepared_statement stmt)
{
    for (idx_t c = 0; c < duckdb_prepared_statement_column_count(stmt); c++)
        if (column_needs_cast(stmt, c))
            return true;
    return false;
}

/* SELECT <columns> FROM table [WHERE (...)] [LIMIT ?] [OFFSET ?]. `columns` are the
 * requested names (NULL: *); with `probe`, the columns are that statement's, and those
 * of types mdm has no name for are cast to text. */
static const char *read_sql(strbuf *sql, const mdm_read_request *req,
                            duckdb_prepared_statement probe)
{
    strbuf_reset(sql);
    strbuf_append(sql, "SELECT ");
    size_t ncols = probe ? duckdb_prepared_statement_column_count(probe) : req->ncolumns;
    if (ncols == 0)
        strbuf_append_char(sql, '*');
    for (size_t c = 0; c < ncols; c++) {
        if (c)
            strbuf_append(sql, ", ");
        if (!probe) {
            strbuf_append_ident(sql, req->columns[c]);
            continue;
        }
        const char *name = duckdb_prepared_statement_column_name(probe, c);
        bool cast = column_needs_cast(probe, c);
        if (cast)
            strbuf_append(sql, "CAST(");
        strbuf_append_ident(sql, name ? name : "");
        if (cast) {
            strbuf_append(sql, " AS VARCHAR) AS ");
            strbuf_append_ident(sql, name ? name : "");
        }
        if (name)
            duckdb_free((void *)name);
    }
    strbuf_append(sql, " FROM ");
    strbuf_append_ident(sql, req->table);
    /* The newline ends a trailing -- comment of the filter. */
    if (req->where && *req->where)
        strbuf_appendf(sql, " WHERE (%s\n)", req->where);
    if (req->limit >= 0)
        strbuf_append(sql, " LIMIT ?");
    if (req->offset > 0)
        strbuf_append(sql, " OFFSET ?");
    return strbuf_cstr(sql);
}

int mdm_duckdb_read(mdm_backend_conn *conn, const mdm_read_request *req, mdm_batch_sink sink,
                    void *ctx)
{
    duckdb_prepared_statement stmt = NULL, plain = NULL;
    duckdb_result res;
    bool have_result = false;
    strbuf sql = STRBUF_INIT;
    const char *text = read_sql(&sql, req, NULL);
    int rc = text ? 0 : MDM_ENOMEM;
    if (!rc)
        rc = mdm_duckdb_prepare(&stmt, conn, text, MDM_ENOTFOUND, "cannot read table '%s'",
                                req->table);
    /* Columns of types mdm has no name for (LIST, INTERVAL, ...): again, cast to text. */
    if (!rc && needs_casts(stmt)) {
        plain = stmt;
        stmt = NULL;
        text = read_sql(&sql, req, plain);
        rc = text ? mdm_duckdb_prepare(&stmt, conn, text, MDM_ENOTFOUND,
                                       "cannot read table '%s'", req->table)
                  : MDM_ENOMEM;
    }
    if (rc)
        goto cleanup;
    idx_t expected = req->nparams + (req->limit >= 0) + (req->offset > 0);
    if (duckdb_nparams(stmt) != expected) {
        rc = mdm_error_set(MDM_EINVALID,
                           "cannot read table '%s': the filter has %llu parameters but %zu were "
                           "given",
                           req->table,
                           (unsigned long long)(duckdb_nparams(stmt) - (expected - req->nparams)),
                           req->nparams);
        goto cleanup;
    }
    if ((rc = mdm_duckdb_bind(stmt, req->params, req->nparams, 0)))
        goto cleanup;
    idx_t at = req->nparams + 1;
    if (req->limit >= 0 && duckdb_bind_int64(stmt, at++, req->limit) != DuckDBSuccess) {
        rc = mdm_duckdb_fail(MDM_EINVALID, duckdb_prepare_error(stmt), "cannot bind the limit");
        goto cleanup;
    }
    if (req->offset > 0 && duckdb_bind_int64(stmt, at, req->offset) != DuckDBSuccess) {
        rc = mdm_duckdb_fail(MDM_EINVALID, duckdb_prepare_error(stmt), "cannot bind the offset");
        goto cleanup;
    }
    have_result = true;
    if (duckdb_execute_prepared_streaming(stmt, &res) != DuckDBSuccess) {
        const char *err = duckdb_result_error(&res);
        rc = mdm_duckdb_fail(mdm_duckdb_classify(err, MDM_EBACKEND), err,
                             "cannot read table '%s' in %s", req->table, conn->path);
        goto cleanup;
    }
    char what[512];
    snprintf(what, sizeof what, "cannot read table '%s' in %.300s", req->table, conn->path);
    rc = mdm_duckdb_deliver(&res, req->batch_rows ? req->batch_rows : DEFAULT_BATCH_ROWS, sink,
                            ctx, what);
cleanup:
    if (have_result)
        duckdb_destroy_result(&res);
    duckdb_destroy_prepare(&plain);
    duckdb_destroy_prepare(&stmt);
    strbuf_free(&sql);
    return rc;
}

/* ------------------------------------------------------------ execute */

/* For a single SELECT whose result has columns of types mdm has no name for (LIST,
 * STRUCT, INTERVAL, BLOB, ...): the same query with those columns cast to text, by
 * position. NULL when the query cannot be wrapped. */
/* Length of `sql` without what follows its last token: spaces, comments and the
 * closing semicolon. Quoted strings and identifiers count as tokens. A scan this simple
 * can be fooled (dollar quoting); the wrapped query then fails to prepare and the
 * reader's own error is reported instead. */
static size_t statement_length(const char *sql)
{
    size_t end = 0;
    const char *p = sql;
    while (*p) {
        if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*') {
            const char *close = strstr(p + 2, "*/");
            p = close ? close + 2 : p + strlen(p);
        } else if (*p == '\'' || *p == '"') {
            char quote = *p++;
            while (*p && !(*p == quote && p[1] != quote))
                p += *p == quote ? 2 : 1;
            if (*p)
                p++;
            end = (size_t)(p - sql);
        } else if (*p == ';' || *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
            p++;
        } else {
            end = (size_t)(++p - sql);
        }
    }
    return end;
}

static char *wrap_with_casts(duckdb_prepared_statement stmt, const char *sql)
{
    if (duckdb_prepared_statement_type(stmt) != DUCKDB_STATEMENT_TYPE_SELECT)
        return NULL;
    size_t len = statement_length(sql);
    strbuf sb = STRBUF_INIT;
    strbuf_append(&sb, "SELECT ");
    idx_t n = duckdb_prepared_statement_column_count(stmt);
    for (idx_t c = 0; c < n; c++) {
        bool cast = column_needs_cast(stmt, c);
        const char *name = duckdb_prepared_statement_column_name(stmt, c);
        strbuf_appendf(&sb, "%s%s#%llu%s AS ", c ? ", " : "", cast ? "CAST(" : "",
                       (unsigned long long)c + 1, cast ? " AS VARCHAR)" : "");
        strbuf_append_ident(&sb, name ? name : "");
        if (name)
            duckdb_free((void *)name);
    }
    /* The newline ends a trailing -- comment of the original. */
    strbuf_append(&sb, " FROM (");
    strbuf_append_len(&sb, sql, len);
    strbuf_append(&sb, "\n)");
    return strbuf_detach(&sb);
}

/* Whether the session is inside an explicit transaction, after SQL given to execute
 * began or ended one. DuckDB says so nowhere directly, and a probing BEGIN would abort
 * an open transaction; but outside one every statement gets a new transaction id. An
 * aborted transaction fails both probes and counts as open: it needs a ROLLBACK. */
static void learn_transaction_state(mdm_backend_conn *conn)
{
    int64_t ids[2] = {0, 0};
    bool failed = false;
    for (int i = 0; i < 2; i++) {
        duckdb_result res;
        if (duckdb_query(conn->con, "SELECT txid_current()", &res) != DuckDBSuccess)
            failed = true;
        else
            ids[i] = duckdb_value_int64(&res, 0, 0);
        duckdb_destroy_result(&res);
    }
    conn->in_transaction = failed || ids[0] == ids[1];
}

/* Runs one prepared statement: binds its share of the parameters, streams rows to the
 * sink and adds changed rows to *changes. */
static int run_statement(mdm_backend_conn *conn, duckdb_prepared_statement stmt,
                         const mdm_value *params, size_t nparams, size_t first_param,
                         mdm_batch_sink sink, void *ctx, int64_t *changes)
{
    duckdb_result res;
    int rc = mdm_duckdb_bind(stmt, params + first_param, nparams, first_param);
    if (rc)
        return rc;
    if (duckdb_execute_prepared_streaming(stmt, &res) != DuckDBSuccess) {
        const char *err = duckdb_result_error(&res);
        rc = mdm_duckdb_fail(mdm_duckdb_classify(err, MDM_EBACKEND), err, "SQL failed in %s",
                             conn->path);
        duckdb_destroy_result(&res);
        return rc;
    }
    switch (duckdb_result_return_type(res)) {
    case DUCKDB_RESULT_TYPE_CHANGED_ROWS: {
        /* One row, one BIGINT column: the count. */
        duckdb_data_chunk chunk = duckdb_fetch_chunk(res);
        if (chunk && duckdb_data_chunk_get_size(chunk) > 0) {
            duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, 0);
            if (changes)
                *changes += ((const int64_t *)duckdb_vector_get_data(vec))[0];
        }
        if (chunk)
            duckdb_destroy_data_chunk(&chunk);
        break;
    }
    case DUCKDB_RESULT_TYPE_QUERY_RESULT:
        if (sink) {
            char what[512];
            snprintf(what, sizeof what, "SQL failed in %.400s", conn->path);
            rc = mdm_duckdb_deliver(&res, DEFAULT_BATCH_ROWS, sink, ctx, what);
        }
        break;
    default: break;
    }
    duckdb_destroy_result(&res);
    return rc;
}

int mdm_duckdb_execute(mdm_backend_conn *conn, const char *sql, const mdm_value *params,
                       size_t nparams, mdm_batch_sink sink, void *ctx, int64_t *changes)
{
    if (!sql)
        return mdm_error_set(MDM_EINVALID, "execute needs SQL text");
    int rc = 0;
    duckdb_extracted_statements extracted = NULL;
    duckdb_prepared_statement stmt = NULL;
    char *wrapped = NULL;
    idx_t count = duckdb_extract_statements(conn->con, sql, &extracted);
    if (count == 0) {
        const char *err = duckdb_extract_statements_error(extracted);
        rc = err ? mdm_duckdb_fail(MDM_EBACKEND, err, "SQL failed in %s", conn->path)
                 : mdm_error_set(MDM_EINVALID, "execute needs at least one SQL statement");
        goto cleanup;
    }
    /* Parameters are handed out to the statements in order. */
    size_t used = 0;
    for (idx_t i = 0; i < count && !rc; i++) {
        if (duckdb_prepare_extracted_statement(conn->con, extracted, i, &stmt) != DuckDBSuccess) {
            const char *err = duckdb_prepare_error(stmt);
            rc = mdm_duckdb_fail(mdm_duckdb_classify(err, MDM_EBACKEND), err,
                                 "SQL failed in %s", conn->path);
            break;
        }
        size_t want = duckdb_nparams(stmt);
        if (used + want > nparams) {
            rc = mdm_error_set(MDM_EINVALID, "the SQL has more than the %zu parameters given",
                               nparams);
            break;
        }
        if (i + 1 == count && used + want != nparams) {
            rc = mdm_error_set(MDM_EINVALID, "the SQL has %zu parameters but %zu were given",
                               used + want, nparams);
            break;
        }
        if (sink && count == 1 && needs_casts(stmt) &&
            (wrapped = wrap_with_casts(stmt, sql))) {
            duckdb_prepared_statement cast_stmt = NULL;
            if (duckdb_prepare(conn->con, wrapped, &cast_stmt) == DuckDBSuccess &&
                duckdb_nparams(cast_stmt) == want &&
                duckdb_prepared_statement_column_count(cast_stmt) ==
                    duckdb_prepared_statement_column_count(stmt)) {
                duckdb_destroy_prepare(&stmt);
                stmt = cast_stmt;
            } else {
                /* The result reader names the column it cannot represent. */
                duckdb_destroy_prepare(&cast_stmt);
            }
        }
        bool transaction_statement =
            duckdb_prepared_statement_type(stmt) == DUCKDB_STATEMENT_TYPE_TRANSACTION;
        rc = run_statement(conn, stmt, params, want, used, sink, ctx, changes);
        if (transaction_statement)
            learn_transaction_state(conn);
        used += want;
        duckdb_destroy_prepare(&stmt);
    }
cleanup:
    duckdb_destroy_prepare(&stmt);
    duckdb_destroy_extracted(&extracted);
    free(wrapped);
    return rc;
}
