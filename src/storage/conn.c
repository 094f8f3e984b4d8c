/* Operations on a checked-out connection: argument checks, then the backend's slot.
 * Every failure marks the connection so that the store validates it before reuse. */
#include <stdlib.h>

#include "storage/conn.h"
#include "storage/store.h"

#define NEED_SLOT(conn, slot)                                                              \
    do {                                                                                   \
        if (!(conn)->backend->slot)                                                        \
            return mdm_error_set(MDM_ENOTSUP, "backend '%s' does not support " #slot,      \
                                 (conn)->backend->name);                                   \
    } while (0)

static int track(mdm_conn *conn, int rc)
{
    if (rc)
        conn->failed = true;
    return rc;
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
    int rc = track(conn, conn->backend->begin(conn->raw));
    if (rc == 0)
        conn->in_transaction = true;
    return rc;
}

int mdm_conn_commit(mdm_conn *conn)
{
    NEED_SLOT(conn, commit);
    if (!conn->in_transaction)
        return mdm_error_set(MDM_EINVALID, "commit without an open transaction");
    int rc = track(conn, conn->backend->commit(conn->raw));
    /* A failed commit leaves the engine's transaction ended or aborted: either way the
     * reset on checkin cleans up, and the caller must not commit twice. */
    conn->in_transaction = false;
    if (rc)
        conn->backend->rollback(conn->raw);
    return rc;
}

int mdm_conn_rollback(mdm_conn *conn)
{
    NEED_SLOT(conn, rollback);
    if (!conn->in_transaction)
        return 0;
    conn->in_transaction = false;
    return track(conn, conn->backend->rollback(conn->raw));
}

bool mdm_conn_in_transaction(const mdm_conn *conn) { return conn->in_transaction; }

int mdm_conn_dataset_create(mdm_conn *conn)
{
    NEED_SLOT(conn, dataset_create);
    return track(conn, conn->backend->dataset_create(conn->raw, mdm_store_dataset(conn->store)));
}

int mdm_conn_dataset_exists(mdm_conn *conn, bool *exists)
{
    NEED_SLOT(conn, dataset_exists);
    return track(conn,
                 conn->backend->dataset_exists(conn->raw, mdm_store_dataset(conn->store), exists));
}

int mdm_conn_dataset_drop(mdm_conn *conn)
{
    NEED_SLOT(conn, dataset_drop);
    return track(conn, conn->backend->dataset_drop(conn->raw, mdm_store_dataset(conn->store)));
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
    return track(conn, conn->backend->table_create(conn->raw, table, fields, nfields));
}

int mdm_conn_table_drop(mdm_conn *conn, const char *table)
{
    NEED_SLOT(conn, table_drop);
    int rc = mdm_ident_check(table);
    return rc ? rc : track(conn, conn->backend->table_drop(conn->raw, table));
}

int mdm_conn_table_exists(mdm_conn *conn, const char *table, bool *exists)
{
    NEED_SLOT(conn, table_exists);
    int rc = mdm_ident_check(table);
    return rc ? rc : track(conn, conn->backend->table_exists(conn->raw, table, exists));
}

int mdm_conn_table_list(mdm_conn *conn, char ***names, size_t *count)
{
    NEED_SLOT(conn, table_list);
    return track(conn, conn->backend->table_list(conn->raw, names, count));
}

int mdm_conn_table_schema(mdm_conn *conn, const char *table, mdm_field **fields, size_t *nfields)
{
    NEED_SLOT(conn, table_schema);
    int rc = mdm_ident_check(table);
    return rc ? rc : track(conn, conn->backend->table_schema(conn->raw, table, fields, nfields));
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
    return track(conn, conn->backend->append(conn->raw, table, batch));
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
    rc = conn->backend->read(conn->raw, req, sink, ctx);
    /* A positive code is the sink's own stop value, not a connection failure. */
    return rc < 0 ? track(conn, rc) : rc;
}

int mdm_conn_execute(mdm_conn *conn, const char *sql, const mdm_value *params, size_t nparams,
                     mdm_batch_sink sink, void *ctx, int64_t *changes)
{
    NEED_SLOT(conn, execute);
    if (changes)
        *changes = 0;
    int rc = conn->backend->execute(conn->raw, sql, params, nparams, sink, ctx, changes);
    return rc < 0 ? track(conn, rc) : rc;
}

int mdm_conn_metadata_get(mdm_conn *conn, const char *key, char **value)
{
    NEED_SLOT(conn, metadata_get);
    *value = NULL;
    int rc = conn->backend->metadata_get(conn->raw, key, value);
    /* Not finding a key is an answer, not a fault of the connection. */
    return rc == MDM_ENOTFOUND ? rc : track(conn, rc);
}

int mdm_conn_metadata_set(mdm_conn *conn, const char *key, const char *value)
{
    NEED_SLOT(conn, metadata_set);
    return track(conn, conn->backend->metadata_set(conn->raw, key, value));
}
