/* The DuckDB backend: an embedded analytical engine, one file per dataset.
 *
 * Connections to one file share one duckdb_database through the registry in
 * duckdb_registry.c (the backend's only process state); everything else lives on the
 * connection. Bulk appends are in duckdb_append.c, read and execute in duckdb_query.c,
 * the result-to-batch conversion in duckdb_result.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "storage/backends/duckdb_internal.h"

/* ------------------------------------------------------------ errors and helpers */

int mdm_duckdb_classify(const char *msg, int fallback)
{
    if (!msg)
        return fallback;
    /* Optimistic concurrency: "Conflict on update", "Transaction conflict", "write-write
     * conflict", ... A retry may succeed. */
    if (strstr(msg, "onflict") && !strstr(msg, "ON CONFLICT"))
        return MDM_EBUSY;
    if (strstr(msg, "Could not set lock on file"))
        return MDM_EBUSY;
    if (strstr(msg, "Out of Memory Error"))
        return MDM_ENOMEM;
    return fallback;
}

int mdm_duckdb_fail(int code, const char *engine_message, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* One line: DuckDB puts the offending SQL and a caret on lines of their own. */
    char line[768];
    size_t n = 0;
    bool space = false;
    for (const char *p = engine_message ? engine_message : "unknown DuckDB error";
         *p && n + 1 < sizeof line; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            space = n > 0;
            continue;
        }
        if (space) {
            line[n++] = ' ';
            space = false;
            if (n + 1 >= sizeof line)
                break;
        }
        line[n++] = *p;
    }
    line[n] = '\0';
    return mdm_error_set(code, "%s: %s", what, line);
}

int mdm_duckdb_run(mdm_backend_conn *conn, const char *sql, const char *what)
{
    duckdb_result res;
    int rc = 0;
    if (duckdb_query(conn->con, sql, &res) != DuckDBSuccess) {
        const char *err = duckdb_result_error(&res);
        rc = mdm_duckdb_fail(mdm_duckdb_classify(err, MDM_EBACKEND), err, "%s in %s",
                             what ? what : sql, conn->path);
    }
    duckdb_destroy_result(&res);
    return rc;
}

int mdm_duckdb_bind(duckdb_prepared_statement stmt, const mdm_value *params, size_t nparams,
                    size_t first_index)
{
    for (size_t i = 0; i < nparams; i++) {
        const mdm_value *v = &params[i];
        idx_t at = first_index + i + 1; /* DuckDB counts parameters from 1 */
        duckdb_state st;
        if (v->is_null) {
            st = duckdb_bind_null(stmt, at);
        } else {
            switch (v->type) {
            case MDM_TYPE_INT64: st = duckdb_bind_int64(stmt, at, v->v.i64); break;
            case MDM_TYPE_FLOAT64: st = duckdb_bind_double(stmt, at, v->v.f64); break;
            case MDM_TYPE_BOOL: st = duckdb_bind_boolean(stmt, at, v->v.b); break;
            case MDM_TYPE_TEXT:
                st = duckdb_bind_varchar_length(stmt, at, v->v.text.ptr ? v->v.text.ptr : "",
                                                v->v.text.len);
                break;
            case MDM_TYPE_DATE: st = duckdb_bind_date(stmt, at, (duckdb_date){v->v.date}); break;
            case MDM_TYPE_TIMESTAMP:
                st = duckdb_bind_timestamp(stmt, at, (duckdb_timestamp){v->v.ts});
                break;
            default:
                return mdm_error_set(MDM_EINVALID, "parameter %zu has an unknown type %d",
                                     first_index + i + 1, (int)v->type);
            }
        }
        if (st != DuckDBSuccess)
            return mdm_duckdb_fail(MDM_EINVALID, duckdb_prepare_error(stmt),
                                   "cannot bind parameter %zu (%s)", first_index + i + 1,
                                   mdm_type_name(v->type));
    }
    return 0;
}

int mdm_duckdb_prepare(duckdb_prepared_statement *out, mdm_backend_conn *conn, const char *sql,
                       int code_if_missing, const char *fmt, ...)
{
    if (duckdb_prepare(conn->con, sql, out) == DuckDBSuccess)
        return 0;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *err = duckdb_prepare_error(*out);
    int code = mdm_duckdb_classify(err, MDM_EBACKEND);
    if (code == MDM_EBACKEND && err &&
        ((strstr(err, "Catalog Error") && strstr(err, "does not exist")) ||
         (strstr(err, "Referenced column") && strstr(err, "not found"))))
        code = code_if_missing;
    int rc = mdm_duckdb_fail(code, err, "%s in %s", what, conn->path);
    duckdb_destroy_prepare(out);
    return rc;
}

/* Runs a query with one text parameter (or none) and returns its first column, one
 * string per row. */
static int query_strings(mdm_backend_conn *conn, const char *sql, const char *param,
                         char ***out, size_t *count, int code_if_missing, const char *what)
{
    *out = NULL;
    *count = 0;
    duckdb_prepared_statement stmt = NULL;
    duckdb_result res;
    bool have_result = false;
    char **list = NULL;
    size_t n = 0, cap = 0;
    int rc = mdm_duckdb_prepare(&stmt, conn, sql, code_if_missing, "%s", what);
    if (rc)
        return rc;
    if (param && duckdb_bind_varchar(stmt, 1, param) != DuckDBSuccess) {
        rc = mdm_duckdb_fail(MDM_EINVALID, duckdb_prepare_error(stmt), "%s", what);
        goto cleanup;
    }
    if (duckdb_execute_prepared(stmt, &res) != DuckDBSuccess) {
        have_result = true;
        const char *err = duckdb_result_error(&res);
        rc = mdm_duckdb_fail(mdm_duckdb_classify(err, MDM_EBACKEND), err, "%s in %s", what,
                             conn->path);
        goto cleanup;
    }
    have_result = true;
    duckdb_data_chunk chunk;
    while ((chunk = duckdb_fetch_chunk(res))) {
        idx_t rows = duckdb_data_chunk_get_size(chunk);
        duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, 0);
        duckdb_string_t *data = duckdb_vector_get_data(vec);
        uint64_t *validity = duckdb_vector_get_validity(vec);
        for (idx_t r = 0; r < rows && rc == 0; r++) {
            if (validity && !duckdb_validity_row_is_valid(validity, r))
                continue;
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                char **grown = realloc(list, ncap * sizeof *grown);
                if (!grown) {
                    rc = mdm_error_set(MDM_ENOMEM, "out of memory");
                    break;
                }
                list = grown;
                cap = ncap;
            }
            uint32_t len = duckdb_string_t_length(data[r]);
            const char *p = duckdb_string_t_data(&data[r]);
            if (!(list[n] = strndup(p, len)))
                rc = mdm_error_set(MDM_ENOMEM, "out of memory");
            else
                n++;
        }
        duckdb_destroy_data_chunk(&chunk);
        if (rc)
            goto cleanup;
    }
    if (duckdb_result_error(&res)) {
        const char *err = duckdb_result_error(&res);
        rc = mdm_duckdb_fail(mdm_duckdb_classify(err, MDM_EBACKEND), err, "%s in %s", what,
                             conn->path);
    }
cleanup:
    if (have_result)
        duckdb_destroy_result(&res);
    duckdb_destroy_prepare(&stmt);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free(list[i]);
        free(list);
        return rc;
    }
    *out = list;
    *count = n;
    return 0;
}

static void free_strings(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ------------------------------------------------------------ lifecycle */

static const char *library_version(void) { return duckdb_library_version(); }

/* Connects to the shared database. The progress bar is a per-session setting in DuckDB
 * (it cannot be set for the database), so every new session turns it off. */
static int connect_session(mdm_backend_conn *conn)
{
    if (duckdb_connect(mdm_duckdb_db_handle(conn->db), &conn->con) != DuckDBSuccess) {
        conn->con = NULL;
        return mdm_error_set(MDM_ECONNECT, "cannot connect to DuckDB database '%s'", conn->path);
    }
    int rc = mdm_duckdb_run(conn, "SET enable_progress_bar = false", "cannot configure a session");
    if (rc)
        duckdb_disconnect(&conn->con);
    return rc;
}

static void close_conn(mdm_backend_conn *conn)
{
    if (!conn)
        return;
    mdm_duckdb_load_free(conn);
    if (conn->con)
        duckdb_disconnect(&conn->con);
    mdm_duckdb_db_release(conn->db);
    free(conn->path);
    free(conn);
}

static int open_conn(mdm_backend_conn **out, const mdm_target *target, const mdm_config *cfg)
{
    *out = NULL;
    if (!target)
        return mdm_error_set(MDM_EINVALID, "the duckdb backend needs a target");
    const char *path = target->path ? target->path : ":memory:";
    mdm_backend_conn *conn = calloc(1, sizeof *conn);
    if (!conn || !(conn->path = strdup(path))) {
        free(conn);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    int rc = mdm_duckdb_db_acquire(&conn->db, path, cfg);
    if (rc)
        goto fail;
    if ((rc = connect_session(conn)))
        goto fail;
    *out = conn;
    return 0;
fail:
    close_conn(conn);
    return rc;
}

static int need_connection(mdm_backend_conn *conn)
{
    if (conn->con)
        return 0;
    return mdm_error_set(MDM_ECONNECT, "the connection to DuckDB database '%s' is closed",
                         conn->path);
}

static int ping(mdm_backend_conn *conn)
{
    int rc = need_connection(conn);
    return rc ? rc : mdm_duckdb_run(conn, "SELECT 1", "ping");
}

/* A fresh connection on the shared database is the cleanest session there is: it ends
 * any transaction (rolled back) and forgets every session setting, temporary table and
 * prepared statement. Connecting to an open in-process database is cheap. */
static int reset(mdm_backend_conn *conn)
{
    mdm_duckdb_load_free(conn);
    if (conn->con)
        duckdb_disconnect(&conn->con);
    conn->in_transaction = false;
    return connect_session(conn);
}

/* ------------------------------------------------------------ transactions */

static int begin(mdm_backend_conn *conn)
{
    int rc = need_connection(conn);
    if (!rc)
        rc = mdm_duckdb_run(conn, "BEGIN TRANSACTION", "cannot begin a transaction");
    if (!rc)
        conn->in_transaction = true;
    return rc;
}

static int commit(mdm_backend_conn *conn)
{
    int rc = need_connection(conn);
    if (rc)
        return rc;
    /* Whatever the outcome, DuckDB's transaction is over (a failed commit rolls back). */
    conn->in_transaction = false;
    return mdm_duckdb_run(conn, "COMMIT", "cannot commit");
}

static int rollback(mdm_backend_conn *conn)
{
    int rc = need_connection(conn);
    if (rc)
        return rc;
    mdm_duckdb_load_free(conn);
    conn->in_transaction = false;
    duckdb_result res;
    if (duckdb_query(conn->con, "ROLLBACK", &res) != DuckDBSuccess) {
        const char *err = duckdb_result_error(&res);
        /* Nothing to roll back is what rollback wants. */
        if (!strstr(err, "no transaction is active"))
            rc = mdm_duckdb_fail(mdm_duckdb_classify(err, MDM_EBACKEND), err,
                                 "cannot roll back in %s", conn->path);
    }
    duckdb_destroy_result(&res);
    return rc;
}

/* Runs `sql` inside the caller's transaction when one is open, else inside its own. */
static int run_atomically(mdm_backend_conn *conn, const char *const *sqls, size_t n,
                          const char *what)
{
    bool own = !conn->in_transaction;
    int rc = 0;
    if (own && (rc = mdm_duckdb_run(conn, "BEGIN TRANSACTION", what)))
        return rc;
    for (size_t i = 0; i < n && !rc; i++)
        rc = mdm_duckdb_run(conn, sqls[i], what);
    if (own && !rc)
        rc = mdm_duckdb_run(conn, "COMMIT", what);
    if (own && rc) {
        mdm_error err = *mdm_error_last();
        mdm_duckdb_run(conn, "ROLLBACK", NULL);
        mdm_error_set(err.code, "%s", err.message);
    }
    return rc;
}

/* ------------------------------------------------------------ tables */

static const char *sql_type(mdm_type t)
{
    switch (t) {
    case MDM_TYPE_INT64: return "BIGINT";
    case MDM_TYPE_FLOAT64: return "DOUBLE";
    case MDM_TYPE_BOOL: return "BOOLEAN";
    case MDM_TYPE_TEXT: return "VARCHAR";
    case MDM_TYPE_DATE: return "DATE";
    case MDM_TYPE_TIMESTAMP: return "TIMESTAMP";
    }
    return "VARCHAR";
}

static int table_exists(mdm_backend_conn *conn, const char *table, bool *exists)
{
    *exists = false;
    int rc = need_connection(conn);
    if (rc)
        return rc;
    /* DuckDB's own catalog lookup, so that case-insensitive matching is the engine's. */
    duckdb_table_description desc = NULL;
    if (duckdb_table_description_create(conn->con, NULL, table, &desc) == DuckDBSuccess) {
        *exists = true;
    } else {
        const char *err = duckdb_table_description_error(desc);
        if (!err || !(strstr(err, "does not exist") || strstr(err, "could not be found") ||
                      strstr(err, "not found") || strstr(err, "could be located")))
            rc = mdm_duckdb_fail(mdm_duckdb_classify(err, MDM_EBACKEND), err,
                                 "cannot look up table '%s' in %s", table, conn->path);
    }
    duckdb_table_description_destroy(&desc);
    return rc;
}

static int table_create(mdm_backend_conn *conn, const char *table, const mdm_field *fields,
                        size_t nfields)
{
    int rc = need_connection(conn);
    if (rc)
        return rc;
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "CREATE TABLE ");
    strbuf_append_ident(&sql, table);
    strbuf_append(&sql, " (");
    strbuf_append_column_defs(&sql, fields, nfields, sql_type);
    strbuf_append_char(&sql, ')');
    const char *text = strbuf_cstr(&sql);
    if (!text) {
        strbuf_free(&sql);
        return MDM_ENOMEM;
    }
    duckdb_result res;
    if (duckdb_query(conn->con, text, &res) != DuckDBSuccess) {
        const char *err = duckdb_result_error(&res);
        int code = mdm_duckdb_classify(err, MDM_EBACKEND);
        if (code == MDM_EBACKEND && strstr(err, "already exists"))
            code = MDM_EEXISTS;
        rc = mdm_duckdb_fail(code, err, "cannot create table '%s' in %s", table, conn->path);
    }
    duckdb_destroy_result(&res);
    strbuf_free(&sql);
    return rc;
}

static int table_drop(mdm_backend_conn *conn, const char *table)
{
    int rc = need_connection(conn);
    if (rc)
        return rc;
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "DROP TABLE ");
    strbuf_append_ident(&sql, table);
    const char *text = strbuf_cstr(&sql);
    if (!text) {
        strbuf_free(&sql);
        return MDM_ENOMEM;
    }
    duckdb_result res;
    if (duckdb_query(conn->con, text, &res) != DuckDBSuccess) {
        const char *err = duckdb_result_error(&res);
        int code = mdm_duckdb_classify(err, MDM_EBACKEND);
        if (code == MDM_EBACKEND && strstr(err, "does not exist"))
            code = MDM_ENOTFOUND;
        rc = mdm_duckdb_fail(code, err, "cannot drop table '%s' in %s", table, conn->path);
    }
    duckdb_destroy_result(&res);
    strbuf_free(&sql);
    return rc;
}

static const char list_tables_sql[] =
    "SELECT table_name FROM duckdb_tables() "
    "WHERE database_name = current_database() AND schema_name = current_schema()";

static int table_list(mdm_backend_conn *conn, char ***names, size_t *count)
{
    *names = NULL;
    *count = 0;
    int rc = need_connection(conn);
    if (!rc)
        rc = query_strings(conn, list_tables_sql, NULL, names, count, MDM_EBACKEND,
                           "cannot list tables");
    if (!rc && *count)
        qsort(*names, *count, sizeof **names, compare_names);
    return rc;
}

/* The statement SELECT <columns> FROM table (no rows fetched), which tells names and
 * types. */
static int describe_select(duckdb_prepared_statement *out, mdm_backend_conn *conn,
                           const char *table, const char *what)
{
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "SELECT * FROM ");
    strbuf_append_ident(&sql, table);
    const char *text = strbuf_cstr(&sql);
    int rc = text ? mdm_duckdb_prepare(out, conn, text, MDM_ENOTFOUND, "%s '%s'", what, table)
                  : MDM_ENOMEM;
    strbuf_free(&sql);
    return rc;
}

static int table_schema(mdm_backend_conn *conn, const char *table, mdm_field **fields,
                        size_t *nfields)
{
    *fields = NULL;
    *nfields = 0;
    duckdb_prepared_statement stmt = NULL;
    int rc = need_connection(conn);
    if (!rc)
        rc = describe_select(&stmt, conn, table, "cannot describe table");
    if (rc)
        return rc;
    idx_t n = duckdb_prepared_statement_column_count(stmt);
    mdm_field *out = calloc(n ? n : 1, sizeof *out);
    if (!out) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
        goto cleanup;
    }
    for (idx_t c = 0; c < n; c++) {
        const char *name = duckdb_prepared_statement_column_name(stmt, c);
        duckdb_logical_type lt = duckdb_prepared_statement_column_logical_type(stmt, c);
        /* Types mdm has no name for are read as text (read casts them). */
        if (mdm_duckdb_type_to_mdm(&out[c].type, lt) != 0)
            out[c].type = MDM_TYPE_TEXT;
        duckdb_destroy_logical_type(&lt);
        out[c].name = strdup(name ? name : "");
        if (name)
            duckdb_free((void *)name);
        if (!out[c].name) {
            rc = mdm_error_set(MDM_ENOMEM, "out of memory");
            mdm_fields_free(out, c);
            goto cleanup;
        }
    }
    *fields = out;
    *nfields = n;
cleanup:
    duckdb_destroy_prepare(&stmt);
    return rc;
}

/* ------------------------------------------------------------ datasets */

static const char metadata_table[] = "_metadata";

static int dataset_create(mdm_backend_conn *conn, const char *dataset)
{
    int rc = need_connection(conn);
    if (rc)
        return rc;
    return mdm_duckdb_run(conn,
                          "CREATE TABLE IF NOT EXISTS \"_metadata\" "
                          "(key VARCHAR PRIMARY KEY, value VARCHAR)",
                          "cannot create the dataset's _metadata table");
}

static int dataset_exists(mdm_backend_conn *conn, const char *dataset, bool *exists)
{
    return table_exists(conn, metadata_table, exists);
}

static int dataset_drop(mdm_backend_conn *conn, const char *dataset)
{
    char **names = NULL;
    size_t n = 0;
    int rc = table_list(conn, &names, &n);
    if (rc)
        return rc;
    char **sqls = calloc(n ? n : 1, sizeof *sqls);
    if (!sqls) {
        free_strings(names, n);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n && !rc; i++) {
        strbuf sql = STRBUF_INIT;
        strbuf_append(&sql, "DROP TABLE IF EXISTS ");
        strbuf_append_ident(&sql, names[i]);
        if (!(sqls[i] = strbuf_detach(&sql)))
            rc = MDM_ENOMEM;
    }
    if (!rc)
        rc = run_atomically(conn, (const char *const *)sqls, n, "cannot drop the dataset's tables");
    free_strings(sqls, n);
    free_strings(names, n);
    return rc;
}

/* ------------------------------------------------------------ metadata */

static int metadata_get(mdm_backend_conn *conn, const char *key, char **value)
{
    *value = NULL;
    char **rows = NULL;
    size_t n = 0;
    int rc = need_connection(conn);
    if (!rc)
        rc = query_strings(conn, "SELECT value FROM \"_metadata\" WHERE key = ?", key, &rows, &n,
                           MDM_ENOTFOUND, "cannot read the dataset's metadata");
    if (rc)
        return rc;
    if (n == 0) {
        free_strings(rows, n);
        return mdm_error_set(MDM_ENOTFOUND, "metadata key '%s' is not set in %s", key, conn->path);
    }
    *value = rows[0];
    rows[0] = NULL;
    free_strings(rows, n);
    return 0;
}

static int metadata_set(mdm_backend_conn *conn, const char *key, const char *value)
{
    if (!key || !value)
        return mdm_error_set(MDM_EINVALID, "metadata keys and values must not be NULL");
    int rc = need_connection(conn);
    if (rc)
        return rc;
    duckdb_prepared_statement stmt = NULL;
    rc = mdm_duckdb_prepare(&stmt, conn,
                 "INSERT INTO \"_metadata\" (key, value) VALUES (?, ?) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 MDM_ENOTFOUND, "cannot write metadata key '%s'", key);
    if (rc)
        return rc;
    duckdb_result res;
    if (duckdb_bind_varchar(stmt, 1, key) != DuckDBSuccess ||
        duckdb_bind_varchar(stmt, 2, value) != DuckDBSuccess) {
        rc = mdm_duckdb_fail(MDM_EINVALID, duckdb_prepare_error(stmt),
                             "cannot write metadata key '%s'", key);
    } else {
        if (duckdb_execute_prepared(stmt, &res) != DuckDBSuccess) {
            const char *err = duckdb_result_error(&res);
            rc = mdm_duckdb_fail(mdm_duckdb_classify(err, MDM_EBACKEND), err,
                                 "cannot write metadata key '%s' in %s", key, conn->path);
        }
        duckdb_destroy_result(&res);
    }
    duckdb_destroy_prepare(&stmt);
    return rc;
}

/* ------------------------------------------------------------ bulk path and queries */

static int append(mdm_backend_conn *conn, const char *table, const mdm_batch *batch)
{
    int rc = need_connection(conn);
    return rc ? rc : mdm_duckdb_append(conn, table, batch);
}

static int load_begin(mdm_backend_conn *conn, const char *table)
{
    int rc = need_connection(conn);
    return rc ? rc : mdm_duckdb_load_begin(conn, table);
}

static int load_batch(mdm_backend_conn *conn, const mdm_batch *batch)
{
    int rc = need_connection(conn);
    return rc ? rc : mdm_duckdb_load_batch(conn, batch);
}

static int load_end(mdm_backend_conn *conn)
{
    int rc = need_connection(conn);
    return rc ? rc : mdm_duckdb_load_end(conn);
}

static int read_rows(mdm_backend_conn *conn, const mdm_read_request *req, mdm_batch_sink sink,
                     void *ctx)
{
    int rc = need_connection(conn);
    return rc ? rc : mdm_duckdb_read(conn, req, sink, ctx);
}

static int execute(mdm_backend_conn *conn, const char *sql, const mdm_value *params,
                   size_t nparams, mdm_batch_sink sink, void *ctx, int64_t *changes)
{
    int rc = need_connection(conn);
    return rc ? rc : mdm_duckdb_execute(conn, sql, params, nparams, sink, ctx, changes);
}

const mdm_backend mdm_backend_duckdb = {
    .version = MDM_BACKEND_VERSION,
    .name = "duckdb",
    .file_extension = ".duckdb",
    .library_version = library_version,
    .open = open_conn,
    .close = close_conn,
    .ping = ping,
    .reset = reset,
    .begin = begin,
    .commit = commit,
    .rollback = rollback,
    .dataset_create = dataset_create,
    .dataset_exists = dataset_exists,
    .dataset_drop = dataset_drop,
    .table_create = table_create,
    .table_drop = table_drop,
    .table_exists = table_exists,
    .table_list = table_list,
    .table_schema = table_schema,
    .append = append,
    .load_begin = load_begin,
    .load_batch = load_batch,
    .load_end = load_end,
    .read = read_rows,
    .execute = execute,
    .metadata_get = metadata_get,
    .metadata_set = metadata_set,
    .query = mdm_duckdb_query,
};
