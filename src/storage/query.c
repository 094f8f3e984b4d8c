/* Read-only SQL on a checked-out connection (mdm_conn_query): argument checks, then the
 * backend's `query` slot, which refuses writes and interrupts the engine at the time
 * limit. The row limit is the engine's business too (a cursor's FETCH, or the fetch
 * stopping); here it is also enforced exactly, cutting the batch that crosses it, so
 * that no backend can deliver more rows than asked. */
#include <stdlib.h>

#include "storage/conn.h"

/* What the limiting sink returns to stop the backend once the limit is reached. */
#define LIMIT_REACHED 0x4c494d /* "LIM" */

typedef struct limited_sink {
    mdm_batch_sink sink;
    void *ctx;
    int64_t limit; /* <= 0: none */
    int64_t seen;
    bool reached;  /* LIMIT_REACHED came from here, not from the caller's sink */
} limited_sink;

/* The first `rows` rows of `batch` as a new batch. */
static int head_of(mdm_batch **out, const mdm_batch *batch, size_t rows)
{
    size_t ncols = mdm_batch_ncols(batch);
    mdm_field *fields = calloc(ncols ? ncols : 1, sizeof *fields);
    if (!fields)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    for (size_t c = 0; c < ncols; c++)
        fields[c] = *mdm_batch_field(batch, c);
    int rc = mdm_batch_new(out, fields, ncols, rows ? rows : 1);
    free(fields);
    for (size_t r = 0; !rc && r < rows; r++) {
        size_t at;
        rc = mdm_batch_add_row(*out, &at);
        for (size_t c = 0; !rc && c < ncols; c++) {
            if (mdm_batch_is_null(batch, c, r))
                continue;
            mdm_value v = mdm_batch_value(batch, c, r);
            rc = mdm_batch_set_value(*out, c, at, &v);
        }
    }
    if (rc) {
        mdm_batch_free(*out);
        *out = NULL;
    }
    return rc;
}

static int limiting_sink(const mdm_batch *batch, void *p)
{
    limited_sink *l = p;
    size_t n = mdm_batch_nrows(batch);
    if (l->limit <= 0)
        return l->sink(batch, l->ctx);
    int64_t room = l->limit - l->seen;
    if (room <= 0 && l->seen > 0)
        return l->reached = true, LIMIT_REACHED;
    int rc;
    if ((int64_t)n <= room) {
        rc = l->sink(batch, l->ctx);
    } else {
        mdm_batch *head = NULL;
        if ((rc = head_of(&head, batch, (size_t)room)))
            return rc;
        rc = l->sink(head, l->ctx);
        mdm_batch_free(head);
        n = (size_t)room;
    }
    l->seen += (int64_t)n;
    if (rc == 0 && l->seen >= l->limit)
        return l->reached = true, LIMIT_REACHED;
    return rc;
}

int mdm_conn_query(mdm_conn *conn, const mdm_query_request *req, mdm_batch_sink sink, void *ctx)
{
    if (!conn->backend->query)
        return mdm_error_set(MDM_ENOTSUP, "backend '%s' does not run read-only queries",
                             conn->backend->name);
    if (!conn->raw)
        return mdm_error_set(MDM_ECONNECT, "connection was lost and could not be reopened");
    if (!req || !req->sql || !sink)
        return mdm_error_set(MDM_EINVALID, "a query needs SQL text and a sink");
    if (conn->in_transaction || conn->load_table)
        return mdm_error_set(MDM_EINVALID, "a read-only query cannot run inside an open "
                                           "transaction");
    if (req->canceled && req->canceled(req->cancel_ctx))
        return mdm_error_set(MDM_ECANCELED, "query cancelled");
    if (conn->echo)
        MDM_DEBUG("%s query (limit %lld, timeout %llu ms): %s", conn->backend->name,
                  (long long)req->limit, (unsigned long long)req->timeout_ms, req->sql);
    limited_sink l = {.sink = sink, .ctx = ctx, .limit = req->limit};
    int rc = conn->backend->query(conn->raw, req, limiting_sink, &l);
    if (rc == LIMIT_REACHED && l.reached)
        rc = 0;
    /* A refusal leaves the session as it was; anything else (an interrupted engine, a
     * lost connection) has the pool validate the connection before its next use. */
    if (rc < 0 && rc != MDM_EINVALID)
        conn->failed = true;
    return rc;
}
