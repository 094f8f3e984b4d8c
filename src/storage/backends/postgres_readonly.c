/* PostgreSQL: read-only queries (the `query` slot).
 *
 * The statement runs in a BEGIN READ ONLY transaction that is always rolled back, so
 * the server refuses any write it would make (a data-modifying WITH, EXPLAIN ANALYZE
 * INSERT, SELECT ... INTO, nextval()). Before that, commands other than SELECT, WITH,
 * VALUES, TABLE, EXPLAIN and SHOW are refused by their first word: COPY ... TO a server
 * file, for one, writes without changing the database. A SELECT (or WITH, VALUES, TABLE) becomes a cursor fetched in
 * pages, so the row limit stops the server's work; EXPLAIN and SHOW run as they are.
 * SET LOCAL statement_timeout gives each statement the time left until the deadline,
 * which is also checked between pages; the caller's cancel reaches the server through
 * PQcancel from a watchdog thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/backends/postgres_conn.h"
#include "storage/backends/query_support.h"

/* Rows per FETCH. */
#define PAGE_ROWS 10000

/* Commands of PostgreSQL that start with a word other than these read. A first word
 * outside this list is no command at all: the server's syntax error says so. */
static const char *const commands[] = {
    "ABORT",   "ALTER",    "ANALYZE",   "ANALYSE",    "BEGIN",    "CALL",    "CHECKPOINT",
    "CLOSE",   "CLUSTER",  "COMMENT",   "COMMIT",     "COPY",     "CREATE",  "DEALLOCATE",
    "DECLARE", "DELETE",   "DISCARD",   "DO",         "DROP",     "END",     "EXECUTE",
    "FETCH",   "GRANT",    "IMPORT",    "INSERT",     "LISTEN",   "LOAD",    "LOCK",
    "MERGE",   "MOVE",     "NOTIFY",    "PREPARE",    "REASSIGN", "REFRESH", "REINDEX",
    "RELEASE", "RESET",    "REVOKE",    "ROLLBACK",   "SAVEPOINT", "SECURITY", "SET",
    "START",   "TRUNCATE", "UNLISTEN",  "UPDATE",     "VACUUM",
};

static bool is_command(const char *word)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(word, commands[i]) == 0)
            return true;
    return false;
}

static int refuse(const char *what)
{
    return mdm_error_set(MDM_EINVALID, "query is read-only: %s is not allowed", what);
}

/* Passes a query's pages to the caller's sink: the first batch always (an empty one
 * carries the columns), later ones only with rows. The row ordinal mdm adds to its
 * tables (PG_ORDINAL_COLUMN, which SELECT * shows) is left out, as every other
 * operation leaves it out: a query sees the tables as the other backends show them. */
typedef struct pages {
    mdm_batch_sink sink;
    void *ctx;
    bool delivered;
    size_t page_rows; /* rows of the current FETCH */
} pages;

/* `batch` without its column `skip`. */
static int without_column(mdm_batch **out, const mdm_batch *batch, size_t skip)
{
    size_t ncols = mdm_batch_ncols(batch), nrows = mdm_batch_nrows(batch);
    mdm_field *fields = calloc(ncols, sizeof *fields);
    if (!fields)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    for (size_t c = 0, k = 0; c < ncols; c++)
        if (c != skip)
            fields[k++] = *mdm_batch_field(batch, c);
    int rc = mdm_batch_new(out, fields, ncols - 1, nrows ? nrows : 1);
    free(fields);
    for (size_t r = 0; !rc && r < nrows; r++) {
        size_t at;
        rc = mdm_batch_add_row(*out, &at);
        for (size_t c = 0, k = 0; !rc && c < ncols; c++) {
            if (c == skip)
                continue;
            if (!mdm_batch_is_null(batch, c, r)) {
                mdm_value v = mdm_batch_value(batch, c, r);
                rc = mdm_batch_set_value(*out, k, at, &v);
            }
            k++;
        }
    }
    return rc;
}

static int page_sink(const mdm_batch *batch, void *p)
{
    pages *g = p;
    size_t n = mdm_batch_nrows(batch);
    g->page_rows += n;
    if (n == 0 && g->delivered)
        return 0;
    g->delivered = true;
    long ordinal = mdm_batch_find(batch, PG_ORDINAL_COLUMN);
    if (ordinal < 0)
        return g->sink(batch, g->ctx);
    mdm_batch *trimmed = NULL;
    int rc = without_column(&trimmed, batch, (size_t)ordinal);
    if (!rc)
        rc = g->sink(trimmed, g->ctx);
    mdm_batch_free(trimmed);
    return rc;
}

/* Gives the next statement the time left; MDM_ETIMEOUT when none is. */
static int set_time_left(mdm_backend_conn *c, uint64_t deadline_ns, uint64_t timeout_ms)
{
    if (!deadline_ns)
        return 0;
    uint64_t now = mdm_now_ns();
    if (now >= deadline_ns)
        return query_interrupted(MDM_ETIMEOUT, timeout_ms);
    char sql[64];
    snprintf(sql, sizeof sql, "SET LOCAL statement_timeout = %llu",
             (unsigned long long)((deadline_ns - now + 999999) / 1000000));
    return mdm_pg_exec(c, sql, "could not set the query's time limit");
}

static int run_cursor(mdm_backend_conn *c, const mdm_query_request *req, size_t len,
                      uint64_t deadline_ns, pages *g)
{
    char cursor[32];
    snprintf(cursor, sizeof cursor, "mdm_query_%u", ++c->cursor_seq);
    strbuf sql = STRBUF_INIT;
    strbuf_appendf(&sql, "DECLARE %s NO SCROLL CURSOR FOR ", cursor);
    strbuf_append_len(&sql, req->sql, len);
    int rc = strbuf_cstr(&sql) ? 0 : mdm_error_set(MDM_ENOMEM, "out of memory");
    if (!rc)
        rc = set_time_left(c, deadline_ns, req->timeout_ms);
    if (!rc)
        rc = mdm_pg_execute(c, sql.data, NULL, 0, NULL, NULL, NULL);
    int64_t left = req->limit > 0 ? req->limit : INT64_MAX;
    while (!rc && left > 0) {
        int64_t want = left < PAGE_ROWS ? left : PAGE_ROWS;
        char fetch[96];
        snprintf(fetch, sizeof fetch, "FETCH FORWARD %lld FROM %s", (long long)want, cursor);
        g->page_rows = 0;
        if ((rc = set_time_left(c, deadline_ns, req->timeout_ms)) ||
            (rc = mdm_pg_execute(c, fetch, NULL, 0, page_sink, g, NULL)))
            break;
        if ((int64_t)g->page_rows < want)
            break;
        left -= want;
    }
    strbuf_free(&sql);
    return rc;
}

static void cancel_query(void *p)
{
    char err[256];
    PQcancel(p, err, sizeof err);
}

/* The server's reason as the query's error: a write refused by the read-only
 * transaction, the statement timeout, a cancel. */
static int explain_failure(int rc, int fired, const mdm_query_request *req)
{
    const char *msg = mdm_error_last()->message;
    if (fired == MDM_ECANCELED)
        return query_interrupted(fired, req->timeout_ms);
    if (rc == MDM_ETIMEOUT || strstr(msg, "statement timeout"))
        return query_interrupted(MDM_ETIMEOUT, req->timeout_ms);
    if (strstr(msg, "in a read-only transaction") || strstr(msg, "data-modifying") ||
        strstr(msg, "INTO is not allowed")) {
        const char *reason = strstr(msg, ": ");
        return mdm_error_set(MDM_EINVALID, "query is read-only: %s",
                             reason ? reason + 2 : msg);
    }
    return rc;
}

int mdm_pg_readonly_query(mdm_backend_conn *c, const mdm_query_request *req,
                          mdm_batch_sink sink, void *ctx)
{
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        return mdm_error_set(MDM_EINVALID, "a read-only query cannot run inside an open "
                                           "transaction");
    char first[32], second[32];
    query_leading_keywords(req->sql, first, second, sizeof first);
    bool more = false;
    size_t len = query_statement_length(req->sql, &more);
    if (!*first && len == 0)
        return mdm_error_set(MDM_EINVALID, "query has no SQL statement");
    if (more)
        return mdm_error_set(MDM_EINVALID, "query runs one SQL statement; more follows the "
                                           "first");
    bool cursor = strcmp(first, "SELECT") == 0 || strcmp(first, "WITH") == 0 ||
                  strcmp(first, "VALUES") == 0 || strcmp(first, "TABLE") == 0;
    if (!cursor && is_command(first))
        return refuse(first);

    PGcancel *cancel = NULL;
    query_watch *watch = NULL;
    int rc = 0;
    if (req->canceled) {
        if (!(cancel = PQgetCancel(c->pg)))
            return mdm_error_set(MDM_ENOMEM, "out of memory");
        if ((rc = query_watch_start(&watch, 0, req->canceled, req->cancel_ctx, cancel_query,
                                    cancel))) {
            PQfreeCancel(cancel);
            return rc;
        }
    }
    uint64_t deadline_ns = query_deadline(req->timeout_ms);
    pages g = {.sink = sink, .ctx = ctx};
    rc = mdm_pg_exec(c, "BEGIN READ ONLY", "could not start a read-only query");
    if (!rc && cursor) {
        rc = run_cursor(c, req, len, deadline_ns, &g);
    } else if (!rc) {
        rc = set_time_left(c, deadline_ns, req->timeout_ms);
        if (!rc)
            rc = mdm_pg_execute(c, req->sql, NULL, 0, page_sink, &g, NULL);
    }
    int fired = query_watch_stop(watch);
    PQfreeCancel(cancel);
    if (rc < 0 || fired)
        rc = explain_failure(rc < 0 ? rc : MDM_ECANCELED, fired, req);
    /* Nothing to keep: the SET LOCALs and the cursor end with the transaction. A cancel
     * sent just before the watch stopped may still reach the server and fail the first
     * ROLLBACK: then a second one ends the transaction. */
    for (int i = 0; i < 3 && PQtransactionStatus(c->pg) != PQTRANS_IDLE &&
                    PQstatus(c->pg) == CONNECTION_OK;
         i++)
        mdm_pg_exec_quietly(c, "ROLLBACK");
    return rc;
}
