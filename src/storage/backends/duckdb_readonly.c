/* DuckDB: read-only queries (the `query` slot).
 *
 * The text must hold one statement whose prepared type is SELECT (which covers VALUES,
 * WITH, FROM-first queries, DESCRIBE, SUMMARIZE ...) or EXPLAIN without ANALYZE (which
 * would run the statement). It then runs through execute (results streamed, columns of
 * types mdm has no name for cast to text), while a watchdog interrupts the connection
 * at the deadline or when the caller cancels. The row limit is the streaming fetch
 * stopping (mdm_conn_query's sink). */
#include <stdio.h>
#include <string.h>

#include "storage/backends/duckdb_internal.h"
#include "storage/backends/query_support.h"

static const char *statement_name(duckdb_statement_type type)
{
    switch (type) {
    case DUCKDB_STATEMENT_TYPE_INSERT: return "INSERT";
    case DUCKDB_STATEMENT_TYPE_UPDATE: return "UPDATE";
    case DUCKDB_STATEMENT_TYPE_DELETE: return "DELETE";
    case DUCKDB_STATEMENT_TYPE_PREPARE: return "PREPARE";
    case DUCKDB_STATEMENT_TYPE_CREATE:
    case DUCKDB_STATEMENT_TYPE_CREATE_FUNC: return "CREATE";
    case DUCKDB_STATEMENT_TYPE_EXECUTE: return "EXECUTE";
    case DUCKDB_STATEMENT_TYPE_ALTER: return "ALTER";
    case DUCKDB_STATEMENT_TYPE_TRANSACTION: return "transaction control";
    case DUCKDB_STATEMENT_TYPE_COPY: return "COPY";
    case DUCKDB_STATEMENT_TYPE_ANALYZE: return "ANALYZE";
    case DUCKDB_STATEMENT_TYPE_VARIABLE_SET:
    case DUCKDB_STATEMENT_TYPE_SET: return "SET";
    case DUCKDB_STATEMENT_TYPE_DROP: return "DROP";
    case DUCKDB_STATEMENT_TYPE_EXPORT: return "EXPORT";
    case DUCKDB_STATEMENT_TYPE_PRAGMA: return "PRAGMA";
    case DUCKDB_STATEMENT_TYPE_VACUUM: return "VACUUM";
    case DUCKDB_STATEMENT_TYPE_CALL: return "CALL";
    case DUCKDB_STATEMENT_TYPE_LOAD: return "LOAD";
    case DUCKDB_STATEMENT_TYPE_ATTACH: return "ATTACH";
    case DUCKDB_STATEMENT_TYPE_DETACH: return "DETACH";
    default: return "this statement";
    }
}

static int refuse(const char *what)
{
    return mdm_error_set(MDM_EINVALID, "query is read-only: %s is not allowed", what);
}

/* One statement that only reads, or the reason it is refused. */
static int check_statement(mdm_backend_conn *conn, const char *sql)
{
    duckdb_extracted_statements extracted = NULL;
    duckdb_prepared_statement stmt = NULL;
    int rc = 0;
    idx_t count = duckdb_extract_statements(conn->con, sql, &extracted);
    if (count == 0) {
        const char *err = duckdb_extract_statements_error(extracted);
        rc = err ? mdm_duckdb_fail(MDM_EBACKEND, err, "query failed")
                 : mdm_error_set(MDM_EINVALID, "query has no SQL statement");
        goto cleanup;
    }
    if (count > 1) {
        rc = mdm_error_set(MDM_EINVALID, "query runs one SQL statement; %llu were given",
                           (unsigned long long)count);
        goto cleanup;
    }
    if (duckdb_prepare_extracted_statement(conn->con, extracted, 0, &stmt) != DuckDBSuccess) {
        const char *err = duckdb_prepare_error(stmt);
        rc = mdm_duckdb_fail(mdm_duckdb_classify(err, MDM_EBACKEND), err, "query failed");
        goto cleanup;
    }
    duckdb_statement_type type = duckdb_prepared_statement_type(stmt);
    char first[32], second[32];
    query_leading_keywords(sql, first, second, sizeof first);
    if (type == DUCKDB_STATEMENT_TYPE_EXPLAIN &&
        (strcmp(second, "ANALYZE") == 0 || strcmp(second, "ANALYSE") == 0))
        rc = refuse("EXPLAIN ANALYZE");
    else if (type != DUCKDB_STATEMENT_TYPE_SELECT && type != DUCKDB_STATEMENT_TYPE_EXPLAIN)
        rc = refuse(statement_name(type));
cleanup:
    duckdb_destroy_prepare(&stmt);
    duckdb_destroy_extracted(&extracted);
    return rc;
}

static void interrupt(void *con) { duckdb_interrupt(con); }

int mdm_duckdb_query(mdm_backend_conn *conn, const mdm_query_request *req, mdm_batch_sink sink,
                     void *ctx)
{
    if (!conn->con)
        return mdm_error_set(MDM_ECONNECT, "DuckDB connection to %s was lost", conn->path);
    if (conn->in_transaction || conn->load)
        return mdm_error_set(MDM_EINVALID, "a read-only query cannot run inside an open "
                                           "transaction");
    int rc = check_statement(conn, req->sql);
    if (rc)
        return rc;
    query_watch *watch = NULL;
    if ((rc = query_watch_start(&watch, query_deadline(req->timeout_ms), req->canceled,
                                req->cancel_ctx, interrupt, conn->con)))
        return rc;
    rc = mdm_duckdb_execute(conn, req->sql, NULL, 0, sink, ctx, NULL);
    /* Interrupted, the query fails: even if it had just finished, the interruption may
     * still be pending on the connection, which the failure has the pool check. */
    int fired = query_watch_stop(watch);
    if (fired)
        rc = query_interrupted(fired, req->timeout_ms);
    return rc;
}
