/* The DuckDB bulk load: `INSERT INTO table SELECT * FROM {batches}` fed with the
 * load's batches as an Arrow stream (storage/duckdb_feed.h).
 *
 * Why not the appender: an appender writes on the caller's thread, and DuckDB then
 * analyses and compresses each full row group there, on one core (about 1 s of the
 * 3M-row flights file, most of a registration). An INSERT reading a stream is a
 * parallel pipeline: DuckDB's threads convert and compress on every core, and the
 * insert keeps the stream's order.
 *
 * The load runs inside the caller's transaction, on its connection: the feed's thread
 * is the only user of the connection until load_end (mdm_conn_load's contract). The
 * INSERT starts with the first batch, whose columns are checked against the table as
 * an append checks them; later batches must have the first one's types. Abandoning a
 * load (rollback, reset, close) fails the stream: the INSERT ends with an error and
 * its rows go with the transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "storage/backends/duckdb_internal.h"
#include "storage/duckdb_feed.h"

struct duckdb_load {
    char *table;
    mdm_duckdb_feed *feed; /* from the first batch on */
    mdm_type *types;       /* the first batch's column types */
    size_t ncols;
};

void mdm_duckdb_load_free(mdm_backend_conn *conn)
{
    duckdb_load *l = conn->load;
    if (!l)
        return;
    mdm_duckdb_feed_abandon(l->feed);
    free(l->types);
    free(l->table);
    free(l);
    conn->load = NULL;
}

int mdm_duckdb_load_begin(mdm_backend_conn *conn, const char *table)
{
    mdm_duckdb_load_free(conn);
    duckdb_load *l = calloc(1, sizeof *l);
    if (!l || !(l->table = strdup(table))) {
        free(l);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    conn->load = l;
    return 0;
}

static int start_insert(mdm_backend_conn *conn, duckdb_load *l, const mdm_batch *batch)
{
    l->ncols = mdm_batch_ncols(batch);
    mdm_field *fields = calloc(l->ncols ? l->ncols : 1, sizeof *fields);
    l->types = calloc(l->ncols ? l->ncols : 1, sizeof *l->types);
    strbuf sql = STRBUF_INIT, what = STRBUF_INIT;
    int rc = fields && l->types ? 0 : mdm_error_set(MDM_ENOMEM, "out of memory");
    for (size_t c = 0; !rc && c < l->ncols; c++) {
        fields[c] = *mdm_batch_field(batch, c);
        l->types[c] = fields[c].type;
    }
    strbuf_append(&sql, "INSERT INTO ");
    strbuf_append_ident(&sql, l->table);
    strbuf_append(&sql, " SELECT * FROM {batches}");
    strbuf_appendf(&what, "cannot load table '%s' in %s", l->table, conn->path);
    if (!rc && (!strbuf_cstr(&sql) || !strbuf_cstr(&what)))
        rc = MDM_ENOMEM;
    if (!rc)
        rc = mdm_duckdb_feed_start(&l->feed, conn->con, fields, l->ncols, sql.data, what.data);
    free(fields);
    strbuf_free(&sql);
    strbuf_free(&what);
    return rc;
}

int mdm_duckdb_load_batch(mdm_backend_conn *conn, const mdm_batch *batch)
{
    duckdb_load *l = conn->load;
    if (!l)
        return mdm_error_set(MDM_EINVALID, "no bulk load is open on this connection");
    int rc = mdm_duckdb_check_batch(conn, l->table, batch, !l->feed);
    if (!rc && !l->feed)
        rc = start_insert(conn, l, batch);
    else if (!rc && mdm_batch_ncols(batch) != l->ncols)
        rc = mdm_error_set(MDM_EINVALID, "cannot load table '%s': the batch has %zu columns, the "
                           "load's first batch %zu", l->table, mdm_batch_ncols(batch), l->ncols);
    for (size_t c = 0; !rc && c < l->ncols; c++)
        if (mdm_batch_field(batch, c)->type != l->types[c])
            rc = mdm_error_set(MDM_EINVALID, "cannot load table '%s': batch column %zu is %s, in "
                               "the load's first batch %s", l->table, c + 1,
                               mdm_type_name(mdm_batch_field(batch, c)->type),
                               mdm_type_name(l->types[c]));
    return rc ? rc : mdm_duckdb_feed_push(l->feed, batch);
}

int mdm_duckdb_load_end(mdm_backend_conn *conn)
{
    duckdb_load *l = conn->load;
    if (!l)
        return mdm_error_set(MDM_EINVALID, "no bulk load is open on this connection");
    int rc = 0;
    if (l->feed) {
        rc = mdm_duckdb_feed_finish(l->feed);
        l->feed = NULL;
    }
    mdm_duckdb_load_free(conn);
    return rc;
}
