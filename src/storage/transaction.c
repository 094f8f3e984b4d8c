/* A whole transaction retried on transient failures (seed 003): the work is a callback,
 * so that it can run again from the start on a fresh connection. Only MDM_EBUSY is
 * retried: the engine refused or aborted the transaction (serialization failure,
 * deadlock, a busy SQLite file, a DuckDB write conflict) and nothing of it remains. A
 * lost connection is not: if it went during COMMIT, the work may have been done. */
#include <stdio.h>

#include "storage/resilience.h"
#include "storage/store.h"

/* One try: checkout, begin, work, commit; rolled back and checked in on failure. */
static int run_once(mdm_store *store, int (*work)(mdm_conn *, void *), void *ctx)
{
    mdm_conn *conn = NULL;
    int rc = mdm_store_checkout(store, &conn);
    if (rc)
        return rc;
    if (!(rc = mdm_conn_begin(conn)) && !(rc = work(conn, ctx)))
        rc = mdm_conn_commit(conn);
    if (rc && mdm_conn_in_transaction(conn)) {
        /* The rollback must not replace the error that made it. */
        mdm_error saved = *mdm_error_last();
        mdm_conn_rollback(conn);
        mdm_error_set(saved.code, "%s", saved.message);
    }
    mdm_store_checkin(store, conn);
    return rc;
}

int mdm_store_transaction(mdm_store *store, int (*work)(mdm_conn *conn, void *ctx), void *ctx,
                          const mdm_retry_policy *policy)
{
    mdm_retry_policy p;
    if (policy)
        p = *policy;
    else
        pool_retry_policy(mdm_store_pool(store), &p);
    if (p.max_attempts == 0)
        p.max_attempts = 1;
    int rc = 0;
    for (unsigned attempt = 0; attempt < p.max_attempts; attempt++) {
        if (attempt) {
            uint64_t delay = backoff_delay_ns(attempt - 1, p.base_delay_ms * 1000000ull,
                                              p.max_delay_ms * 1000000ull);
            MDM_DEBUG("transaction on %s: %s; retrying in %llu ms (attempt %u of %u)",
                      mdm_store_describe(store), mdm_error_last()->message,
                      (unsigned long long)(delay / 1000000), attempt + 1, p.max_attempts);
            sleep_ns(delay);
        }
        rc = run_once(store, work, ctx);
        if (rc != MDM_EBUSY)
            return rc;
    }
    return rc;
}
