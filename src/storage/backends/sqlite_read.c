/* SQLite: reading tables and executing SQL, with values turned back into mdm types.
 * Dates and timestamps are stored as ISO text and parsed here; the declared column type
 * says which (mdm_sqlite_decltype). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "storage/backends/sqlite_internal.h"

#define DEFAULT_BATCH_ROWS 10000

/* ------------------------------------------------------------------ values */

int mdm_sqlite_bind_value(mdm_backend_conn *c, sqlite3_stmt *st, int index, const mdm_value *v)
{
    char buf[MDM_SQLITE_DATETIME_MAX];
    size_t len = 0;
    int src = SQLITE_OK;
    if (v->is_null) {
        src = sqlite3_bind_null(st, index);
    } else {
        switch (v->type) {
        case MDM_TYPE_INT64: src = sqlite3_bind_int64(st, index, v->v.i64); break;
        case MDM_TYPE_FLOAT64: src = sqlite3_bind_double(st, index, v->v.f64); break;
        case MDM_TYPE_BOOL: src = sqlite3_bind_int(st, index, v->v.b ? 1 : 0); break;
        case MDM_TYPE_TEXT:
            if (v->v.text.len > INT_MAX)
                return mdm_error_set(MDM_ECONSTRAINT,
                                     "parameter %d: text of %zu bytes is longer than SQLite "
                                     "stores",
                                     index, v->v.text.len);
            src = sqlite3_bind_text(st, index, v->v.text.ptr ? v->v.text.ptr : "",
                                    (int)v->v.text.len, SQLITE_STATIC);
            break;
        case MDM_TYPE_DATE:
        case MDM_TYPE_TIMESTAMP:
            len = v->type == MDM_TYPE_DATE ? mdm_sqlite_format_date(buf, v->v.date)
                                           : mdm_sqlite_format_timestamp(buf, v->v.ts);
            if (!len)
                return mdm_error_set(MDM_EINVALID,
                                     "parameter %d: the %s is outside the years 0000-9999 that "
                                     "SQLite stores as text",
                                     index, mdm_type_name(v->type));
            src = sqlite3_bind_text(st, index, buf, (int)len, SQLITE_TRANSIENT);
            break;
        default:
            return mdm_error_set(MDM_EINVALID, "parameter %d has an unknown type %d", index,
                                 (int)v->type);
        }
    }
    return src == SQLITE_OK ? 0 : mdm_sqlite_failf(c, src, "cannot bind parameter %d", index);
}

/* The shortest "%g" form that reads back as the same double. */
static int format_double(char *buf, size_t size, double v)
{
    int n = 0;
    for (int precision = 15; precision <= 17; precision++) {
        n = snprintf(buf, size, "%.*g", precision, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return n;
}

/* Any stored value as text, without loss (SQLite's own REAL-to-text keeps 15 digits). */
static const char *cell_text(sqlite3_stmt *st, int col, char *buf, size_t size, size_t *len)
{
    const char *s = NULL;
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER:
        *len = (size_t)snprintf(buf, size, "%lld", (long long)sqlite3_column_int64(st, col));
        return buf;
    case SQLITE_FLOAT:
        *len = (size_t)format_double(buf, size, sqlite3_column_double(st, col));
        return buf;
    case SQLITE_BLOB:
        s = sqlite3_column_blob(st, col);
        break;
    default:
        s = (const char *)sqlite3_column_text(st, col);
        break;
    }
    *len = (size_t)sqlite3_column_bytes(st, col);
    return s ? s : "";
}

/* True when an INTEGER converts to a double and back unchanged. */
static bool int_fits_double(int64_t v)
{
    return v >= -(INT64_C(1) << 53) && v <= (INT64_C(1) << 53);
}

/* The value at `col` as `type` into the batch; false when it does not fit that type
 * (nothing is stored then). NULL always fits and is what add_row left. *rc gets an
 * allocation failure. */
static bool put_cell(mdm_batch *b, size_t bcol, size_t row, mdm_type type, sqlite3_stmt *st,
                     int col, int *rc)
{
    int storage = sqlite3_column_type(st, col);
    if (storage == SQLITE_NULL)
        return true;
    switch (type) {
    case MDM_TYPE_INT64:
        if (storage != SQLITE_INTEGER)
            return false;
        mdm_batch_set_int64(b, bcol, row, sqlite3_column_int64(st, col));
        return true;
    case MDM_TYPE_FLOAT64:
        if (storage == SQLITE_FLOAT)
            mdm_batch_set_float64(b, bcol, row, sqlite3_column_double(st, col));
        else if (storage == SQLITE_INTEGER && int_fits_double(sqlite3_column_int64(st, col)))
            mdm_batch_set_float64(b, bcol, row, (double)sqlite3_column_int64(st, col));
        else
            return false;
        return true;
    case MDM_TYPE_BOOL: {
        if (storage != SQLITE_INTEGER)
            return false;
        int64_t v = sqlite3_column_int64(st, col);
        if (v != 0 && v != 1)
            return false;
        mdm_batch_set_bool(b, bcol, row, v == 1);
        return true;
    }
    case MDM_TYPE_DATE: {
        int32_t days;
        if (storage != SQLITE_TEXT)
            return false;
        const char *s = (const char *)sqlite3_column_text(st, col);
        if (!s || mdm_date_parse(&days, s, (size_t)sqlite3_column_bytes(st, col)) != 0)
            return false;
        mdm_batch_set_date(b, bcol, row, days);
        return true;
    }
    case MDM_TYPE_TIMESTAMP: {
        int64_t micros;
        if (storage != SQLITE_TEXT)
            return false;
        const char *s = (const char *)sqlite3_column_text(st, col);
        if (!s || mdm_timestamp_parse(&micros, s, (size_t)sqlite3_column_bytes(st, col)) != 0)
            return false;
        mdm_batch_set_timestamp(b, bcol, row, micros);
        return true;
    }
    case MDM_TYPE_TEXT: {
        char buf[40];
        size_t len;
        const char *s = cell_text(st, col, buf, sizeof buf, &len);
        *rc = mdm_batch_set_text(b, bcol, row, s, len);
        return true;
    }
    }
    return false;
}

/* Would the value at `col` fit `type`? (For execute's type decisions.) */
static bool cell_fits(mdm_type type, sqlite3_stmt *st, int col)
{
    int storage = sqlite3_column_type(st, col);
    if (storage == SQLITE_NULL || type == MDM_TYPE_TEXT)
        return true;
    switch (type) {
    case MDM_TYPE_INT64: return storage == SQLITE_INTEGER;
    case MDM_TYPE_FLOAT64:
        return storage == SQLITE_FLOAT ||
               (storage == SQLITE_INTEGER && int_fits_double(sqlite3_column_int64(st, col)));
    case MDM_TYPE_BOOL: {
        int64_t v = sqlite3_column_int64(st, col);
        return storage == SQLITE_INTEGER && (v == 0 || v == 1);
    }
    case MDM_TYPE_DATE:
    case MDM_TYPE_TIMESTAMP: {
        if (storage != SQLITE_TEXT)
            return false;
        const char *s = (const char *)sqlite3_column_text(st, col);
        size_t len = (size_t)sqlite3_column_bytes(st, col);
        int32_t days;
        int64_t micros;
        return s && (type == MDM_TYPE_DATE ? mdm_date_parse(&days, s, len)
                                           : mdm_timestamp_parse(&micros, s, len)) == 0;
    }
    default: return false;
    }
}

static const char *storage_name(int storage)
{
    switch (storage) {
    case SQLITE_INTEGER: return "an integer";
    case SQLITE_FLOAT: return "a real";
    case SQLITE_BLOB: return "a blob";
    default: return "a text";
    }
}

/* ------------------------------------------------------------------ read */

static long find_column(const mdm_field *fields, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i].name, name) == 0)
            return (long)i;
    /* SQLite resolves column names without regard to ASCII case. */
    for (size_t i = 0; i < n; i++)
        if (sqlite3_stricmp(fields[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* The name that reaches the rowid, unless columns shadow all three. */
static const char *rowid_name(const mdm_field *fields, size_t n)
{
    static const char *const names[] = {"rowid", "_rowid_", "oid"};
    for (size_t i = 0; i < 3; i++)
        if (find_column(fields, n, names[i]) < 0)
            return names[i];
    return NULL;
}

static char *select_sql(const mdm_read_request *req, const mdm_field *fields, size_t n,
                        const char *order_by)
{
    strbuf sb = STRBUF_INIT;
    strbuf_append(&sb, "SELECT ");
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_append(&sb, ", ");
        strbuf_append_ident(&sb, fields[i].name);
    }
    strbuf_append(&sb, " FROM ");
    strbuf_append_ident(&sb, req->table);
    if (req->where && *req->where) {
        /* On its own line so that a trailing "--" comment cannot swallow the rest. */
        strbuf_append(&sb, " WHERE (");
        strbuf_append(&sb, req->where);
        strbuf_append(&sb, "\n)");
    }
    if (order_by) {
        strbuf_append(&sb, " ORDER BY ");
        strbuf_append(&sb, order_by);
    }
    strbuf_append(&sb, " LIMIT :mdm_limit OFFSET :mdm_offset");
    return strbuf_detach(&sb);
}

/* Prepares the SELECT of a read, in rowid (insertion) order where the table has one:
 * a filter may pick an index whose order differs. Views and WITHOUT ROWID tables have
 * no rowid and are read in their scan order. */
static int prepare_select(mdm_backend_conn *c, sqlite3_stmt **st, const mdm_read_request *req,
                          const mdm_field *fields, size_t n, const mdm_field *schema,
                          size_t nschema)
{
    const char *order_by = rowid_name(schema, nschema);
    char *sql = select_sql(req, fields, n, order_by);
    if (!sql)
        return MDM_ENOMEM;
    mdm_sqlite_echo(c, sql);
    int src = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);
    if (src != SQLITE_OK && order_by) {
        free(sql);
        if (!(sql = select_sql(req, fields, n, NULL)))
            return MDM_ENOMEM;
        mdm_sqlite_echo(c, sql);
        src = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);
    }
    free(sql);
    if (src != SQLITE_OK) {
        *st = NULL;
        return mdm_sqlite_failf(c, src, "cannot read table '%.100s'", req->table);
    }
    return 0;
}

static int bind_read_params(mdm_backend_conn *c, sqlite3_stmt *st, const mdm_read_request *req)
{
    int limit_at = sqlite3_bind_parameter_index(st, ":mdm_limit");
    int offset_at = sqlite3_bind_parameter_index(st, ":mdm_offset");
    int where_params = sqlite3_bind_parameter_count(st) - 2;
    if (limit_at <= where_params || offset_at <= where_params ||
        (size_t)where_params != req->nparams)
        return mdm_error_set(MDM_EINVALID,
                             "the filter of a read of table '%s' has %d parameters but %zu "
                             "values were given",
                             req->table, where_params, req->nparams);
    for (size_t i = 0; i < req->nparams; i++) {
        int rc = mdm_sqlite_bind_value(c, st, (int)i + 1, &req->params[i]);
        if (rc)
            return rc;
    }
    sqlite3_bind_int64(st, limit_at, req->limit < 0 ? -1 : req->limit);
    sqlite3_bind_int64(st, offset_at, req->offset);
    return 0;
}

/* A stored value that does not read back as its column's declared type is an error
 * naming it, rather than a value delivered as text: a read's batches carry the table's
 * schema, and execute() is there to look at such data. */
static int unreadable(mdm_backend_conn *c, sqlite3_stmt *st, int col, const char *table,
                      const mdm_field *field, size_t row)
{
    char buf[40];
    size_t len;
    int storage = sqlite3_column_type(st, col);
    const char *s = storage == SQLITE_BLOB ? "<blob>" : cell_text(st, col, buf, sizeof buf, &len);
    return mdm_error_set(MDM_EBACKEND,
                         "SQLite: table '%s' column '%s' (row %zu of the read) holds %s value "
                         "'%.80s' that is not a valid %s (%s)",
                         table, field->name, row, storage_name(storage), s,
                         mdm_type_name(field->type), c->path);
}

int mdm_sqlite_read(mdm_backend_conn *c, const mdm_read_request *req, mdm_batch_sink sink,
                    void *ctx)
{
    mdm_field *schema = NULL, *fields = NULL;
    size_t nschema = 0;
    sqlite3_stmt *st = NULL;
    mdm_batch *b = NULL;
    int rc = mdm_sqlite_table_schema(c, req->table, &schema, &nschema);
    if (rc)
        return rc;
    bool subset = req->columns && req->ncolumns > 0;
    size_t ncols = subset ? req->ncolumns : nschema;
    if (!(fields = calloc(ncols, sizeof *fields))) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory reading table '%s'", req->table);
        goto cleanup;
    }
    for (size_t i = 0; i < ncols; i++) {
        long at = subset ? find_column(schema, nschema, req->columns[i]) : (long)i;
        if (at < 0) {
            rc = mdm_error_set(MDM_ENOTFOUND, "table '%s' has no column '%s'", req->table,
                               req->columns[i]);
            goto cleanup;
        }
        fields[i].name = subset ? req->columns[i] : schema[at].name;
        fields[i].type = schema[at].type;
    }
    if ((rc = prepare_select(c, &st, req, fields, ncols, schema, nschema)) ||
        (rc = bind_read_params(c, st, req)))
        goto cleanup;
    size_t batch_rows = req->batch_rows ? req->batch_rows : DEFAULT_BATCH_ROWS;
    if ((rc = mdm_batch_new(&b, fields, ncols, batch_rows)))
        goto cleanup;

    size_t total = 0;
    bool delivered = false;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        size_t row;
        if ((rc = mdm_batch_add_row(b, &row)))
            goto cleanup;
        for (size_t i = 0; i < ncols; i++) {
            if (!put_cell(b, i, row, fields[i].type, st, (int)i, &rc)) {
                rc = unreadable(c, st, (int)i, req->table, &fields[i], total);
                goto cleanup;
            }
            if (rc)
                goto cleanup;
        }
        total++;
        if (mdm_batch_nrows(b) == batch_rows) {
            delivered = true;
            if ((rc = sink(b, ctx)))
                goto cleanup;
            mdm_batch_clear(b);
        }
    }
    if (src != SQLITE_DONE) {
        rc = mdm_sqlite_failf(c, src, "cannot read table '%.100s'", req->table);
        goto cleanup;
    }
    /* The last rows; without any, one empty batch tells the columns. */
    if (mdm_batch_nrows(b) > 0 || !delivered)
        rc = sink(b, ctx);
cleanup:
    sqlite3_finalize(st);
    mdm_batch_free(b);
    free(fields);
    mdm_fields_free(schema, nschema);
    return rc;
}

/* ------------------------------------------------------------------ execute */

/* A result column's type: declared by its table column, or learned from the first
 * non-NULL value; widened to text when a later value does not fit. */
typedef struct result_column {
    mdm_type type;
    bool known; /* false while only NULLs were seen and nothing was declared */
} result_column;

static mdm_type storage_type(int storage)
{
    switch (storage) {
    case SQLITE_INTEGER: return MDM_TYPE_INT64;
    case SQLITE_FLOAT: return MDM_TYPE_FLOAT64;
    default: return MDM_TYPE_TEXT; /* text, and blobs as their bytes */
    }
}

typedef struct result {
    mdm_backend_conn *c;
    const char *sql;
    sqlite3_stmt *st;
    int ncols;
    result_column *cols;
    mdm_field *fields;  /* names owned, types follow cols */
    mdm_batch *batch;
    mdm_batch_sink sink;
    void *ctx;
    bool delivered; /* the sink has been called */
} result;

static int new_batch(result *r)
{
    for (int i = 0; i < r->ncols; i++)
        r->fields[i].type = r->cols[i].type;
    return mdm_batch_new(&r->batch, r->fields, (size_t)r->ncols, DEFAULT_BATCH_ROWS);
}

/* A batch with the new column types holding the rows of the old one; only columns
 * whose values so far are all NULL change type here. */
static int rebuild_batch(result *r)
{
    mdm_batch *old = r->batch;
    r->batch = NULL;
    int rc = new_batch(r);
    for (size_t row = 0; rc == 0 && row < mdm_batch_nrows(old); row++) {
        size_t at;
        if ((rc = mdm_batch_add_row(r->batch, &at)))
            break;
        for (size_t col = 0; rc == 0 && col < (size_t)r->ncols; col++) {
            if (mdm_batch_is_null(old, col, row))
                continue;
            mdm_value v = mdm_batch_value(old, col, row);
            rc = mdm_batch_set_value(r->batch, col, at, &v);
        }
    }
    mdm_batch_free(old);
    return rc;
}

/* Decides the column types for the current row, delivering or rebuilding the batch
 * when they change. */
static int settle_types(result *r)
{
    bool learned = false, widened = false;
    for (int i = 0; i < r->ncols; i++) {
        int storage = sqlite3_column_type(r->st, i);
        if (storage == SQLITE_NULL)
            continue;
        result_column *col = &r->cols[i];
        if (!col->known) {
            col->known = true;
            mdm_type t = storage_type(storage);
            learned |= t != col->type;
            col->type = t;
        } else if (!cell_fits(col->type, r->st, i)) {
            col->type = MDM_TYPE_TEXT;
            widened = true;
        }
    }
    if (!learned && !widened && r->batch)
        return 0;
    if (r->batch && mdm_batch_nrows(r->batch) > 0) {
        if (!widened)
            return rebuild_batch(r);
        /* The rows so far keep their types; the rest continue widened. */
        r->delivered = true;
        int rc = r->sink(r->batch, r->ctx);
        if (rc)
            return rc;
    }
    mdm_batch_free(r->batch);
    r->batch = NULL;
    return new_batch(r);
}

static int collect_rows(result *r)
{
    int rc = 0, src;
    while ((src = sqlite3_step(r->st)) == SQLITE_ROW) {
        if ((rc = settle_types(r)))
            return rc;
        size_t row;
        if ((rc = mdm_batch_add_row(r->batch, &row)))
            return rc;
        for (int i = 0; i < r->ncols; i++) {
            /* settle_types made every value fit. */
            put_cell(r->batch, (size_t)i, row, r->cols[i].type, r->st, i, &rc);
            if (rc)
                return rc;
        }
        if (mdm_batch_nrows(r->batch) == DEFAULT_BATCH_ROWS) {
            r->delivered = true;
            if ((rc = r->sink(r->batch, r->ctx)))
                return rc;
            mdm_batch_clear(r->batch);
        }
    }
    if (src != SQLITE_DONE)
        return mdm_sqlite_failf(r->c, src, "cannot execute '%.200s'", r->sql);
    /* No rows: one empty batch tells the column names and (declared) types. */
    if (!r->batch && (rc = new_batch(r)))
        return rc;
    if (mdm_batch_nrows(r->batch) > 0 || !r->delivered)
        rc = r->sink(r->batch, r->ctx);
    return rc;
}

static int deliver_results(mdm_backend_conn *c, const char *sql, sqlite3_stmt *st,
                           mdm_batch_sink sink, void *ctx)
{
    result r = {.c = c, .sql = sql, .st = st, .ncols = sqlite3_column_count(st), .sink = sink, .ctx = ctx};
    int rc = 0;
    r.cols = calloc((size_t)r.ncols, sizeof *r.cols);
    r.fields = calloc((size_t)r.ncols, sizeof *r.fields);
    if (!r.cols || !r.fields) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory reading a result");
        goto cleanup;
    }
    for (int i = 0; i < r.ncols; i++) {
        const char *name = sqlite3_column_name(st, i);
        if (!(r.fields[i].name = strdup(name ? name : ""))) {
            rc = mdm_error_set(MDM_ENOMEM, "out of memory reading a result");
            goto cleanup;
        }
        r.cols[i].known = mdm_sqlite_decltype(&r.cols[i].type, sqlite3_column_decltype(st, i));
        if (!r.cols[i].known)
            r.cols[i].type = MDM_TYPE_TEXT; /* until a value says otherwise */
    }
    rc = collect_rows(&r);
cleanup:
    mdm_batch_free(r.batch);
    if (r.fields)
        mdm_fields_free(r.fields, (size_t)r.ncols);
    free(r.cols);
    return rc;
}

/* Only whitespace, comments and semicolons may follow the statement. */
static int check_single_statement(mdm_backend_conn *c, const char *tail)
{
    while (tail && *tail) {
        sqlite3_stmt *extra = NULL;
        const char *next = NULL;
        int src = sqlite3_prepare_v2(c->db, tail, -1, &extra, &next);
        sqlite3_finalize(extra);
        if (src != SQLITE_OK || extra)
            return mdm_error_set(MDM_EINVALID,
                                 "execute runs one SQL statement; more follows the first: "
                                 "'%.100s'",
                                 tail);
        if (next == tail)
            break;
        tail = next;
    }
    return 0;
}

int mdm_sqlite_execute(mdm_backend_conn *c, const char *sql, const mdm_value *params,
                       size_t nparams, mdm_batch_sink sink, void *ctx, int64_t *changes)
{
    if (!sql)
        return mdm_error_set(MDM_EINVALID, "execute needs SQL");
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    mdm_sqlite_echo(c, sql);
    int rc = 0, src = sqlite3_prepare_v2(c->db, sql, -1, &st, &tail);
    if (src != SQLITE_OK)
        return mdm_sqlite_failf(c, src, "cannot prepare '%.200s'", sql);
    if (!st)
        return mdm_error_set(MDM_EINVALID, "execute got no SQL statement in '%.100s'", sql);
    if ((rc = check_single_statement(c, tail)))
        goto cleanup;
    int expected = sqlite3_bind_parameter_count(st);
    if ((size_t)expected != nparams) {
        rc = mdm_error_set(MDM_EINVALID, "the SQL has %d parameters but %zu values were given: '%.100s'",
                           expected, nparams, sql);
        goto cleanup;
    }
    for (size_t i = 0; i < nparams; i++)
        if ((rc = mdm_sqlite_bind_value(c, st, (int)i + 1, &params[i])))
            goto cleanup;
    sqlite3_int64 before = sqlite3_total_changes64(c->db);
    if (sink && sqlite3_column_count(st) > 0) {
        rc = deliver_results(c, sql, st, sink, ctx);
    } else {
        while ((src = sqlite3_step(st)) == SQLITE_ROW)
            ;
        if (src != SQLITE_DONE)
            rc = mdm_sqlite_failf(c, src, "cannot execute '%.200s'", sql);
    }
    /* sqlite3_changes() keeps the count of the last INSERT/UPDATE/DELETE, also across
     * statements that change nothing (DDL, SELECT): only report it when this one did. */
    if (rc == 0 && changes)
        *changes = !sqlite3_stmt_readonly(st) && sqlite3_total_changes64(c->db) != before
                       ? sqlite3_changes64(c->db)
                       : 0;
cleanup:
    sqlite3_finalize(st);
    return rc;
}
