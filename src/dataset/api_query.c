/* Read-only SQL on a dataset's engine (mdm_dataset_query): the dataset's store, one
 * connection, mdm_conn_query. The storage layer refuses writes, applies the limit and
 * interrupts the engine at the time limit or on a cancel. */
#include "dataset/api_query.h"

#include <stddef.h>

typedef struct stoppers {
    mdm_cancel *cancel;
    bool (*stop)(void *);
    void *stop_ctx;
} stoppers;

static bool stopped(void *p)
{
    stoppers *s = p;
    return mdm_cancel_requested(s->cancel) || (s->stop && s->stop(s->stop_ctx));
}

int api_query_run(mdm_dataset *ds, const char *sql, const mdm_query_options *opt,
                  bool (*stop)(void *), void *stop_ctx, mdm_batch_sink sink, void *ctx)
{
    if (!sql || !sink)
        return mdm_error_set(MDM_EINVALID, "query needs SQL text and a sink");
    stoppers s = {.cancel = opt ? opt->cancel : NULL, .stop = stop, .stop_ctx = stop_ctx};
    mdm_query_request req = {.sql = sql,
                             .limit = opt && opt->limit > 0 ? opt->limit : 0,
                             .timeout_ms = opt ? opt->timeout_ms : 0};
    if (s.cancel || s.stop) {
        req.canceled = stopped;
        req.cancel_ctx = &s;
    }
    mdm_store *store = NULL;
    mdm_conn *conn = NULL;
    int rc = mdm_dataset_store(&store, ds);
    if (!rc)
        rc = mdm_store_checkout(store, &conn);
    if (!rc)
        rc = mdm_conn_query(conn, &req, sink, ctx);
    if (conn)
        mdm_store_checkin(store, conn);
    return rc;
}

int mdm_dataset_query(mdm_dataset *ds, const char *sql, const mdm_query_options *opt,
                      mdm_batch_sink sink, void *ctx)
{
    return api_query_run(ds, sql, opt, NULL, NULL, sink, ctx);
}
