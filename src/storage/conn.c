/* Operations on a checked-out connection: argument checks, then the backend's slot.
 *
 * Every failure marks the connection so that the pool validates it before reuse.
 * Transient failures are retried where repeating cannot change the outcome:
 * - busy/locked/serialization (MDM_EBUSY) outside a transaction: the failed statement
 *   had no effect, so any operation may run again;
 * - a lost connection (MDM_ECONNECT) outside a transaction: reconnect, then repeat only
 *   operations that write nothing (a write may have committed before the loss);
 * - never inside a transaction (the engine has rolled it back or will), and never
 *   once rows have reached the caller's sink (they would be delivered twice). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "storage/conn.h"
#include "storage/conn_datasets.h"
#include "storage/resilience.h"
#include "storage/store.h"

#define NEED_SLOT(conn, slot)                                                              \
    do {                                                                                   \
        if (!(conn)->backend->slot)                                                        \
            return mdm_error_set(MDM_ENOTSUP, "backend '%s' does not support " #slot,      \
                                 (conn)->backend->name);                                   \
        if (!(conn)->raw)                                                                  \
            return mdm_error_set(MDM_ECONNECT, "connection was lost and could not be "     \
                                 "reopened");                                              \
    } while (0)

enum { RETRY_ATTEMPTS = 4 };
static const uint64_t retry_base_ns = 10 * 1000000ull, retry_max_ns = 1000 * 1000000ull;

typedef enum op_kind { READS, WRITES } op_kind;

static int track(mdm_conn *conn, int rc)
{
    if (rc < 0)
        conn->failed = true;
    return rc;
}

/* After a failed attempt: true when the operation should run again (having waited and,
 * for a lost connection, reconnected). */
static bool retry_after(mdm_conn *conn, int rc, op_kind kind, unsigned attempt, bool delivered)
{
    if (rc >= 0 || attempt + 1 >= RETRY_ATTEMPTS || conn->in_transaction || delivered)
        return false;
    if (rc != MDM_EBUSY && !(rc == MDM_ECONNECT && kind == READS))
        return false;
    MDM_DEBUG("%s on %s; retrying (attempt %u)", mdm_error_last()->message, conn->backend->name,
              attempt + 2);
    sleep_ns(backoff_delay_ns(attempt, retry_base_ns, retry_max_ns));
    if (rc == MDM_ECONNECT && conn->store)
        return mdm_store_reconnect(conn) == 0;
    return true;
}

#define RETRYING(conn, kind, rc, call)                                                     \
    do {                                                                                   \
        for (unsigned attempt_ = 0;; attempt_++) {                                         \
            (rc) = (call);                                                                 \
            if (!retry_after((conn), (rc), (kind), attempt_, false))                       \
                break;                                                                     \
        }                                                                                  \
    } while (0)

/* Counts what reached the caller's sink, so a read is never repeated after rows went
 * out. */
typedef struct counted_sink {
    mdm_batch_sink sink;
    void *ctx;
    bool delivered;
} counted_sink;

static int counting_sink(const mdm_batch *batch, void *p)
{
    counted_sink *c = p;
    c->delivered = true;
    return c->sink(batch, c->ctx);
}

int mdm_conn_ping(mdm_conn *conn)
{
    NEED_SLOT(conn, ping);
    return track(conn, conn->backend->ping(conn->raw));
}

int mdm_conn_begin(mdm_conn *conn)
{
    NEED_SLOT(conn, begin);
    if (conn->in_transaction)
        return mdm_error_set(MDM_EINVALID, "a transaction is already open on this connection");
    int rc;
    RETRYING(conn, READS, rc, conn->backend->begin(conn->raw));
    if (rc == 0)
        conn->in_transaction = true;
    return track(conn, rc);
}

int mdm_conn_commit(mdm_conn *conn)
{
    NEED_SLOT(conn, commit);
    if (!conn->in_transaction)
        return mdm_error_set(MDM_EINVALID, "commit without an open transaction");
    if (conn->load_table)
        return mdm_error_set(MDM_EINVALID, "commit with the bulk load of '%s' still open",
                             conn->load_table);
    int rc = track(conn, conn->backend->commit(conn->raw));
    /* A failed commit leaves the engine's transaction ended or aborted: either way the
     * reset on checkin cleans up, and the caller must not commit twice. */
    conn->in_transaction = false;
    if (rc)
        conn->backend->rollback(conn->raw);
    return rc;
}

/* A load ends with the transaction it ran in; the backend abandons its part. */
static void forget_load(mdm_conn *conn)
{
    free(conn->load_table);
    conn->load_table = NULL;
}

int mdm_conn_rollback(mdm_conn *conn)
{
    NEED_SLOT(conn, rollback);
    forget_load(conn);
    if (!conn->in_transaction)
        return 0;
    conn->in_transaction = false;
    return track(conn, conn->backend->rollback(conn->raw));
}

bool mdm_conn_in_transaction(const mdm_conn *conn) { return conn->in_transaction; }

int mdm_conn_dataset_create(mdm_conn *conn)
{
    NEED_SLOT(conn, dataset_create);
    int rc;
    RETRYING(conn, WRITES, rc,
             conn->backend->dataset_create(conn->raw, mdm_store_dataset(conn->store)));
    return track(conn, rc);
}

int mdm_conn_dataset_exists(mdm_conn *conn, bool *exists)
{
    NEED_SLOT(conn, dataset_exists);
    int rc;
    RETRYING(conn, READS, rc,
             conn->backend->dataset_exists(conn->raw, mdm_store_dataset(conn->store), exists));
    return track(conn, rc);
}

int mdm_conn_dataset_drop(mdm_conn *conn)
{
    NEED_SLOT(conn, dataset_drop);
    int rc;
    RETRYING(conn, WRITES, rc,
             conn->backend->dataset_drop(conn->raw, mdm_store_dataset(conn->store)));
    return track(conn, rc);
}

/* Slots added in a later table version: the version is checked before the slot. */
#define NEED_LATER_SLOT(conn, slot)                                                        \
    do {                                                                                   \
        if (!MDM_BACKEND_HAS((conn)->backend, slot))                                       \
            return mdm_error_set(MDM_ENOTSUP, "backend '%s' does not support " #slot,      \
                                 (conn)->backend->name);                                   \
        NEED_SLOT(conn, slot);                                                             \
    } while (0)

int mdm_conn_dataset_rename(mdm_conn *conn, const char *to)
{
    NEED_LATER_SLOT(conn, dataset_rename);
    int rc;
    RETRYING(conn, WRITES, rc,
             conn->backend->dataset_rename(conn->raw, mdm_store_dataset(conn->store), to));
    return rc == MDM_EEXISTS ? rc : track(conn, rc);
}

int mdm_conn_dataset_list(mdm_conn *conn, const char *prefix, char ***names, size_t *count)
{
    *names = NULL;
    *count = 0;
    NEED_LATER_SLOT(conn, dataset_list);
    int rc;
    RETRYING(conn, READS, rc, conn->backend->dataset_list(conn->raw, prefix, names, count));
    return track(conn, rc);
}

static int check_fields(const mdm_field *fields, size_t nfields)
{
    if (nfields == 0)
        return mdm_error_set(MDM_EINVALID, "a table needs at least one column");
    for (size_t i = 0; i < nfields; i++) {
        int rc = mdm_ident_check(fields[i].name);
        if (rc)
            return rc;
        if (fields[i].type < MDM_TYPE_INT64 || fields[i].type > MDM_TYPE_TIMESTAMP)
            return mdm_error_set(MDM_EINVALID, "column '%s' has an unknown type", fields[i].name);
    }
    return 0;
}

int mdm_conn_table_create(mdm_conn *conn, const char *table, const mdm_field *fields,
                          size_t nfields)
{
    NEED_SLOT(conn, table_create);
    int rc = mdm_ident_check(table);
    if (!rc)
        rc = check_fields(fields, nfields);
    if (rc)
        return rc;
    RETRYING(conn, WRITES, rc, conn->backend->table_create(conn->raw, table, fields, nfields));
    return rc == MDM_EEXISTS ? rc : track(conn, rc);
}

int mdm_conn_table_drop(mdm_conn *conn, const char *table)
{
    NEED_SLOT(conn, table_drop);
    int rc = mdm_ident_check(table);
    if (rc)
        return rc;
    RETRYING(conn, WRITES, rc, conn->backend->table_drop(conn->raw, table));
    return track(conn, rc);
}

int mdm_conn_table_exists(mdm_conn *conn, const char *table, bool *exists)
{
    NEED_SLOT(conn, table_exists);
    int rc = mdm_ident_check(table);
    if (rc)
        return rc;
    RETRYING(conn, READS, rc, conn->backend->table_exists(conn->raw, table, exists));
    return track(conn, rc);
}

int mdm_conn_table_list(mdm_conn *conn, char ***names, size_t *count)
{
    NEED_SLOT(conn, table_list);
    int rc;
    RETRYING(conn, READS, rc, conn->backend->table_list(conn->raw, names, count));
    return track(conn, rc);
}

int mdm_conn_table_schema(mdm_conn *conn, const char *table, mdm_field **fields, size_t *nfields)
{
    NEED_SLOT(conn, table_schema);
    int rc = mdm_ident_check(table);
    if (rc)
        return rc;
    RETRYING(conn, READS, rc, conn->backend->table_schema(conn->raw, table, fields, nfields));
    return track(conn, rc);
}

void mdm_fields_free(mdm_field *fields, size_t nfields)
{
    if (!fields)
        return;
    for (size_t i = 0; i < nfields; i++)
        free((char *)fields[i].name);
    free(fields);
}

int mdm_conn_append(mdm_conn *conn, const char *table, const mdm_batch *batch)
{
    NEED_SLOT(conn, append);
    int rc = mdm_ident_check(table);
    if (rc)
        return rc;
    if (mdm_batch_nrows(batch) == 0)
        return 0;
    if (conn->echo)
        MDM_DEBUG("%s append: %zu rows to \"%s\"", conn->backend->name, mdm_batch_nrows(batch),
                  table);
    /* All of the batch or none: a busy failure left nothing behind and may be repeated. */
    RETRYING(conn, WRITES, rc, conn->backend->append(conn->raw, table, batch));
    return track(conn, rc);
}

int mdm_conn_load_begin(mdm_conn *conn, const char *table)
{
    NEED_SLOT(conn, append);
    int rc = mdm_ident_check(table);
    if (rc)
        return rc;
    if (!conn->in_transaction)
        return mdm_error_set(MDM_EINVALID, "a bulk load of '%s' needs an open transaction", table);
    if (conn->load_table)
        return mdm_error_set(MDM_EINVALID, "a bulk load of '%s' is already open", conn->load_table);
    if (conn->echo)
        MDM_DEBUG("%s load: \"%s\"", conn->backend->name, table);
    if (conn->backend->load_begin && (rc = track(conn, conn->backend->load_begin(conn->raw, table))))
        return rc;
    if (!(conn->load_table = strdup(table)))
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    return 0;
}

int mdm_conn_load(mdm_conn *conn, const mdm_batch *batch)
{
    if (!conn->load_table)
        return mdm_error_set(MDM_EINVALID, "no bulk load is open (mdm_conn_load_begin)");
    if (mdm_batch_nrows(batch) == 0)
        return 0;
    if (!conn->backend->load_batch)
        return track(conn, conn->backend->append(conn->raw, conn->load_table, batch));
    return track(conn, conn->backend->load_batch(conn->raw, batch));
}

int mdm_conn_load_end(mdm_conn *conn)
{
    if (!conn->load_table)
        return mdm_error_set(MDM_EINVALID, "no bulk load is open (mdm_conn_load_begin)");
    int rc = conn->backend->load_end ? track(conn, conn->backend->load_end(conn->raw)) : 0;
    free(conn->load_table);
    conn->load_table = NULL;
    return rc;
}

int mdm_conn_read(mdm_conn *conn, const mdm_read_request *req, mdm_batch_sink sink, void *ctx)
{
    NEED_SLOT(conn, read);
    int rc = mdm_ident_check(req->table);
    if (rc)
        return rc;
    for (size_t i = 0; i < req->ncolumns; i++)
        if ((rc = mdm_ident_check(req->columns[i])))
            return rc;
    if (req->offset < 0)
        return mdm_error_set(MDM_EINVALID, "read offset must not be negative");
    if (conn->echo)
        MDM_DEBUG("%s read: \"%s\"%s%s limit %lld offset %lld", conn->backend->name, req->table,
                  req->where ? " where " : "", req->where ? req->where : "",
                  (long long)req->limit, (long long)req->offset);
    counted_sink counted = {sink, ctx, false};
    for (unsigned attempt = 0;; attempt++) {
        rc = conn->backend->read(conn->raw, req, counting_sink, &counted);
        if (!retry_after(conn, rc, READS, attempt, counted.delivered))
            break;
    }
    /* A positive code is the sink's own stop value, not a connection failure. */
    return track(conn, rc);
}

/* The first two keywords of a statement, upper-cased, skipping whitespace and comments. */
static void leading_keywords(const char *sql, char *first, char *second, size_t size)
{
    char *out[2] = {first, second};
    for (int k = 0; k < 2; k++) {
        for (;;) {
            while (isspace((unsigned char)*sql))
                sql++;
            if (sql[0] == '-' && sql[1] == '-') {
                sql += strcspn(sql, "\n");
            } else if (sql[0] == '/' && sql[1] == '*') {
                const char *end = strstr(sql + 2, "*/");
                sql = end ? end + 2 : sql + strlen(sql);
            } else {
                break;
            }
        }
        size_t n = 0;
        while (isalpha((unsigned char)*sql) && n + 1 < size)
            out[k][n++] = (char)toupper((unsigned char)*sql++);
        out[k][n] = '\0';
    }
}

/* Keeps the connection's books right when SQL text opens or ends a transaction, or
 * changes session settings, so that checkin rolls back and resets what it must. The
 * transaction state comes from the engine when the backend can tell it (a statement
 * list, a function or a failure may open or end one); else it is read off the SQL. */
static void note_statement(mdm_conn *conn, const char *sql)
{
    char first[16], second[16];
    leading_keywords(sql, first, second, sizeof first);
    if (MDM_BACKEND_HAS(conn->backend, transaction_state) && conn->raw) {
        bool open = conn->in_transaction;
        if (conn->backend->transaction_state(conn->raw, &open) == 0)
            conn->in_transaction = open;
        else
            conn->failed = true; /* the pool validates it before reuse */
    } else if (strcmp(first, "BEGIN") == 0 || strcmp(first, "START") == 0) {
        conn->in_transaction = true;
    } else if (strcmp(first, "COMMIT") == 0 || strcmp(first, "END") == 0 ||
               strcmp(first, "ABORT") == 0 ||
               (strcmp(first, "ROLLBACK") == 0 && strcmp(second, "TO") != 0)) {
        conn->in_transaction = false;
    }
    if (strcmp(first, "SET") == 0 || strcmp(first, "RESET") == 0 ||
        strcmp(first, "PRAGMA") == 0 || strcmp(first, "USE") == 0 ||
        strcmp(first, "ATTACH") == 0 || strcmp(first, "DETACH") == 0 ||
        strcmp(first, "DISCARD") == 0 || strcmp(first, "LOAD") == 0 ||
        (strcmp(first, "CREATE") == 0 &&
         (strcmp(second, "TEMP") == 0 || strcmp(second, "TEMPORARY") == 0))) {
        conn->session_changed = true;
    }
}

int mdm_conn_execute(mdm_conn *conn, const char *sql, const mdm_value *params, size_t nparams,
                     mdm_batch_sink sink, void *ctx, int64_t *changes)
{
    NEED_SLOT(conn, execute);
    if (changes)
        *changes = 0;
    if (conn->echo)
        MDM_DEBUG("%s execute: %s", conn->backend->name, sql);
    counted_sink counted = {sink, ctx, false};
    int rc;
    /* The statement may write: a lost connection is not retried (see the top). */
    for (unsigned attempt = 0;; attempt++) {
        rc = conn->backend->execute(conn->raw, sql, params, nparams, sink ? counting_sink : NULL,
                                    &counted, changes);
        if (!retry_after(conn, rc, WRITES, attempt, counted.delivered))
            break;
    }
    /* Even a failed statement may have ended a transaction (the engine aborts it). */
    note_statement(conn, sql);
    return track(conn, rc);
}

int mdm_conn_metadata_get(mdm_conn *conn, const char *key, char **value)
{
    NEED_SLOT(conn, metadata_get);
    *value = NULL;
    int rc;
    RETRYING(conn, READS, rc, conn->backend->metadata_get(conn->raw, key, value));
    /* Not finding a key is an answer, not a fault of the connection. */
    return rc == MDM_ENOTFOUND ? rc : track(conn, rc);
}

int mdm_conn_metadata_set(mdm_conn *conn, const char *key, const char *value)
{
    NEED_SLOT(conn, metadata_set);
    int rc;
    RETRYING(conn, WRITES, rc, conn->backend->metadata_set(conn->raw, key, value));
    return track(conn, rc);
}
