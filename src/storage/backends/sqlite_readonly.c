/* SQLite: read-only queries (the `query` slot).
 *
 * An authorizer lets the statement be prepared only when every action it takes is a
 * read (SELECT, reading columns, calling functions, recursive CTEs), which refuses
 * writes, DDL, ATTACH/DETACH, PRAGMA and transaction control while nothing has run yet;
 * sqlite3_stmt_readonly() is checked as well. The statement then runs through execute
 * with a progress handler that interrupts it at the deadline or when the caller
 * cancels. The row limit is the fetch stopping (mdm_conn_query's sink). */
#include <stdio.h>
#include <string.h>

#include "storage/backends/query_support.h"
#include "storage/backends/sqlite_internal.h"

/* Virtual machine instructions between two looks at the clock. */
#define PROGRESS_STEPS 1000

typedef struct guard {
    const char *denied;  /* the first action the authorizer refused */
    uint64_t deadline_ns;
    bool (*canceled)(void *);
    void *cancel_ctx;
    int fired;           /* 0, MDM_ETIMEOUT or MDM_ECANCELED */
} guard;

static const char *action_name(int action)
{
    switch (action) {
    case SQLITE_INSERT: return "INSERT";
    case SQLITE_UPDATE: return "UPDATE";
    case SQLITE_DELETE: return "DELETE";
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TEMP_INDEX: return "CREATE INDEX";
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_TABLE: return "CREATE TABLE";
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_TEMP_TRIGGER: return "CREATE TRIGGER";
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_TEMP_VIEW: return "CREATE VIEW";
    case SQLITE_CREATE_VTABLE: return "CREATE VIRTUAL TABLE";
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TEMP_INDEX: return "DROP INDEX";
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TEMP_TABLE: return "DROP TABLE";
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_TEMP_TRIGGER: return "DROP TRIGGER";
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_TEMP_VIEW: return "DROP VIEW";
    case SQLITE_DROP_VTABLE: return "DROP VIRTUAL TABLE";
    case SQLITE_ALTER_TABLE: return "ALTER TABLE";
    case SQLITE_ATTACH: return "ATTACH";
    case SQLITE_DETACH: return "DETACH";
    case SQLITE_PRAGMA: return "PRAGMA";
    case SQLITE_TRANSACTION: return "transaction control";
    case SQLITE_SAVEPOINT: return "SAVEPOINT";
    case SQLITE_REINDEX: return "REINDEX";
    case SQLITE_ANALYZE: return "ANALYZE";
    default: return "this statement";
    }
}

static int authorize(void *p, int action, const char *a, const char *b, const char *db,
                     const char *trigger)
{
    (void)a, (void)b, (void)db, (void)trigger;
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE: return SQLITE_OK;
    default: break;
    }
    guard *g = p;
    if (!g->denied)
        g->denied = action_name(action);
    return SQLITE_DENY;
}

static int progress(void *p)
{
    guard *g = p;
    if (g->deadline_ns && mdm_now_ns() >= g->deadline_ns)
        g->fired = MDM_ETIMEOUT;
    else if (g->canceled && g->canceled(g->cancel_ctx))
        g->fired = MDM_ECANCELED;
    return g->fired != 0;
}

static int refuse(const char *what)
{
    return mdm_error_set(MDM_EINVALID, "query is read-only: %s is not allowed", what);
}

/* Prepares the statement under the authorizer to see that it only reads. */
static int check_statement(mdm_backend_conn *c, guard *g, const char *sql)
{
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int rc = 0, src = sqlite3_prepare_v2(c->db, sql, -1, &st, &tail);
    if (src != SQLITE_OK) {
        rc = g->denied ? refuse(g->denied) : mdm_sqlite_fail(c, src, "query failed");
        goto cleanup;
    }
    if (!st) {
        rc = mdm_error_set(MDM_EINVALID, "query has no SQL statement");
        goto cleanup;
    }
    bool more = false;
    if (query_statement_length(tail, &more) > 0 || more) {
        rc = mdm_error_set(MDM_EINVALID, "query runs one SQL statement; more follows the "
                                         "first: '%.100s'",
                           tail);
        goto cleanup;
    }
    if (!sqlite3_stmt_readonly(st)) {
        char first[32], second[32];
        query_leading_keywords(sql, first, second, sizeof first);
        rc = refuse(*first ? first : "this statement");
    }
cleanup:
    sqlite3_finalize(st);
    return rc;
}

int mdm_sqlite_query(mdm_backend_conn *c, const mdm_query_request *req, mdm_batch_sink sink,
                     void *ctx)
{
    guard g = {.deadline_ns = query_deadline(req->timeout_ms), .canceled = req->canceled,
               .cancel_ctx = req->cancel_ctx};
    sqlite3_set_authorizer(c->db, authorize, &g);
    int rc = check_statement(c, &g, req->sql);
    if (!rc) {
        if (g.deadline_ns || g.canceled)
            sqlite3_progress_handler(c->db, PROGRESS_STEPS, progress, &g);
        rc = mdm_sqlite_execute(c, req->sql, NULL, 0, sink, ctx, NULL);
        sqlite3_progress_handler(c->db, 0, NULL, NULL);
        if (g.fired && rc < 0)
            rc = query_interrupted(g.fired, req->timeout_ms);
    }
    sqlite3_set_authorizer(c->db, NULL, NULL);
    return rc;
}
