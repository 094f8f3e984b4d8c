/* PostgreSQL read and execute.
 *
 * read streams a table through a server-side cursor fetched in binary format, so
 * memory stays bounded whatever the table's size. execute runs any one statement with
 * bound parameters and streams its rows in single-row mode, decoding the text format
 * (which every type has) by the column's type OID. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/backends/postgres_conn.h"

#define DEFAULT_BATCH_ROWS 10000
/* Rows per FETCH round trip; small batch sizes are cut from larger fetches. */
#define MIN_FETCH_ROWS 10000

/* ------------------------------------------------------------------ read */

/* A column selected for reading: mdm type, and the cast that brings the server's type
 * to the binary form we decode (integer -> int8, numeric -> float8, other -> text). */
typedef struct read_column {
    const char *name;
    mdm_type type;
    const char *cast;
} read_column;

static const char *cast_for(Oid oid, mdm_type type)
{
    if (oid == mdm_pg_oid_of_type(type))
        return "";
    switch (type) {
    case MDM_TYPE_INT64: return "::int8";
    case MDM_TYPE_FLOAT64: return "::float8";
    case MDM_TYPE_BOOL: return "::bool";
    case MDM_TYPE_DATE: return "::date";
    case MDM_TYPE_TIMESTAMP: return "::timestamp"; /* timestamptz, at TimeZone UTC */
    case MDM_TYPE_TEXT: return "::text";
    }
    return "::text";
}

static int select_columns(read_column **out, size_t *nout, const mdm_read_request *req,
                          const pg_column *cols, size_t ncols)
{
    size_t n = req->columns ? req->ncolumns : ncols;
    read_column *sel = calloc(n ? n : 1, sizeof *sel);
    if (!sel)
        return mdm_error_set(MDM_ENOMEM, "out of memory reading '%s'", req->table);
    for (size_t i = 0; i < n; i++) {
        const pg_column *col = NULL;
        if (!req->columns) {
            col = &cols[i];
        } else {
            for (size_t j = 0; j < ncols && !col; j++)
                if (strcmp(cols[j].name, req->columns[i]) == 0)
                    col = &cols[j];
            if (!col) {
                free(sel);
                return mdm_error_set(MDM_ENOTFOUND, "column '%s' not found in table '%s'",
                                     req->columns[i], req->table);
            }
        }
        sel[i] = (read_column){col->name, col->type, cast_for(col->oid, col->type)};
    }
    *out = sel;
    *nout = n;
    return 0;
}

/* Decodes one binary value into the batch. */
static int put_binary(mdm_batch *b, size_t col, size_t row, mdm_type type, const char *v, int len)
{
    static const int width[] = {[MDM_TYPE_INT64] = 8, [MDM_TYPE_FLOAT64] = 8, [MDM_TYPE_BOOL] = 1,
                                [MDM_TYPE_DATE] = 4,  [MDM_TYPE_TIMESTAMP] = 8};
    if (type != MDM_TYPE_TEXT && len != width[type])
        return mdm_error_set(MDM_EBACKEND, "PostgreSQL sent a %d-byte %s value in column '%s'",
                             len, mdm_type_name(type), mdm_batch_field(b, col)->name);
    switch (type) {
    case MDM_TYPE_INT64: mdm_batch_set_int64(b, col, row, (int64_t)mdm_pg_get_u64(v)); break;
    case MDM_TYPE_FLOAT64: {
        uint64_t bits = mdm_pg_get_u64(v);
        double d;
        memcpy(&d, &bits, 8);
        mdm_batch_set_float64(b, col, row, d);
        break;
    }
    case MDM_TYPE_BOOL: mdm_batch_set_bool(b, col, row, v[0] != 0); break;
    case MDM_TYPE_DATE:
        mdm_batch_set_date(b, col, row, mdm_pg_date_from_server((int32_t)mdm_pg_get_u32(v)));
        break;
    case MDM_TYPE_TIMESTAMP:
        mdm_batch_set_timestamp(b, col, row,
                                mdm_pg_timestamp_from_server((int64_t)mdm_pg_get_u64(v)));
        break;
    case MDM_TYPE_TEXT: return mdm_batch_set_text(b, col, row, v, (size_t)len);
    }
    return 0;
}

static int build_read_sql(strbuf *sql, size_t *nplaceholders, mdm_backend_conn *c,
                          const char *cursor, const mdm_read_request *req, const read_column *sel,
                          size_t nsel, bool ordered)
{
    strbuf_appendf(sql, "DECLARE %s NO SCROLL CURSOR FOR SELECT ", cursor);
    for (size_t i = 0; i < nsel; i++) {
        if (i)
            strbuf_append(sql, ", ");
        strbuf_append_ident(sql, sel[i].name);
        strbuf_append(sql, sel[i].cast);
    }
    strbuf_append(sql, " FROM ");
    mdm_pg_append_table(sql, c, req->table);
    *nplaceholders = 0;
    if (req->where && *req->where) {
        strbuf_append(sql, " WHERE (");
        int rc = mdm_pg_translate_placeholders(sql, nplaceholders, req->where, 1);
        if (rc)
            return rc;
        strbuf_append(sql, ")");
    }
    if (ordered)
        strbuf_append(sql, " ORDER BY \"" PG_ORDINAL_COLUMN "\"");
    size_t next = *nplaceholders + 1;
    if (req->limit >= 0)
        strbuf_appendf(sql, " LIMIT $%zu", next++);
    if (req->offset > 0)
        strbuf_appendf(sql, " OFFSET $%zu", next++);
    return strbuf_cstr(sql) ? 0 : MDM_ENOMEM;
}

/* Rows come back in insertion order. Tables mdm created carry an indexed ordinal
 * (PG_ORDINAL_COLUMN): an index scan in its order streams them without a sort, which
 * enable_sort = off makes the planner pick over seq scan + sort whatever its
 * estimates. Tables made by SQL have no ordinal: a plain sequential scan returns them
 * in physical order, which is insertion order as long as the free space map never
 * sent a row back into an earlier page; it starts at block 0 (synchronize_seqscans
 * off: no joining another scan midway), runs in one process (no parallel workers
 * interleaving pages) and is preferred over any index. The SET LOCALs last until the
 * transaction ends: inside the caller's transaction, that is after this read. */
static const char ordered_settings[] =
    "SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off; "
    "SET LOCAL max_parallel_workers_per_gather = 0";
static const char physical_settings[] =
    "SET LOCAL synchronize_seqscans = off; SET LOCAL max_parallel_workers_per_gather = 0; "
    "SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off; "
    "SET LOCAL enable_bitmapscan = off";

int mdm_pg_read(mdm_backend_conn *c, const mdm_read_request *req, mdm_batch_sink sink, void *ctx)
{
    pg_column *cols = NULL;
    size_t ncols = 0, nsel = 0, nplaceholders = 0;
    read_column *sel = NULL;
    mdm_field *fields = NULL;
    mdm_batch *batch = NULL;
    PGresult *res = NULL;
    pg_params params = {0};
    strbuf sql = STRBUF_INIT;
    bool own_tx = false, savepoint = false, declared = false;
    char cursor[32];
    bool ordered = false;
    int rc = mdm_pg_table_columns(&cols, &ncols, &ordered, c, req->table);
    if (rc)
        goto cleanup;
    if ((rc = select_columns(&sel, &nsel, req, cols, ncols)))
        goto cleanup;
    snprintf(cursor, sizeof cursor, "mdm_read_%u", ++c->cursor_seq);
    if ((rc = build_read_sql(&sql, &nplaceholders, c, cursor, req, sel, nsel, ordered)))
        goto cleanup;
    if (nplaceholders != req->nparams) {
        rc = mdm_error_set(MDM_EINVALID, "the filter of a read of '%s' has %zu ? placeholders "
                                         "but %zu parameters were given",
                           req->table, nplaceholders, req->nparams);
        goto cleanup;
    }
    if ((rc = mdm_pg_params_build(&params, req->params, req->nparams, 2)))
        goto cleanup;
    if (req->limit >= 0)
        mdm_pg_params_add_int64(&params, req->limit);
    if (req->offset > 0)
        mdm_pg_params_add_int64(&params, req->offset);

    fields = calloc(nsel ? nsel : 1, sizeof *fields);
    if (!fields) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory reading '%s'", req->table);
        goto cleanup;
    }
    for (size_t i = 0; i < nsel; i++)
        fields[i] = (mdm_field){sel[i].name, sel[i].type};
    size_t batch_rows = req->batch_rows ? req->batch_rows : DEFAULT_BATCH_ROWS;
    if ((rc = mdm_batch_new(&batch, fields, nsel, batch_rows)))
        goto cleanup;

    /* A cursor lives in a transaction: ours, or a savepoint in the caller's. */
    savepoint = PQtransactionStatus(c->pg) != PQTRANS_IDLE;
    own_tx = !savepoint;
    char begin[512];
    snprintf(begin, sizeof begin, "%s; %s", savepoint ? "SAVEPOINT mdm_read" : "BEGIN",
             ordered ? ordered_settings : physical_settings);
    if ((rc = mdm_pg_exec(c, begin, "could not start a read")))
        goto cleanup;
    res = PQexecParams(c->pg, sql.data, params.n, params.types, params.values, params.lengths,
                       params.formats, 1);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = mdm_pg_error(c, res, "could not read table '%s' of dataset '%s'", req->table,
                          c->dataset);
        goto cleanup;
    }
    PQclear(res);
    res = NULL;
    declared = true;

    bool delivered = false;
    size_t fetch_rows = batch_rows < MIN_FETCH_ROWS ? MIN_FETCH_ROWS : batch_rows;
    char fetch[96];
    snprintf(fetch, sizeof fetch, "FETCH FORWARD %zu FROM %s", fetch_rows, cursor);
    for (;;) {
        res = PQexecParams(c->pg, fetch, 0, NULL, NULL, NULL, NULL, 1);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = mdm_pg_error(c, res, "could not read table '%s' of dataset '%s'", req->table,
                              c->dataset);
            goto cleanup;
        }
        int rows = PQntuples(res);
        for (int r = 0; r < rows; r++) {
            size_t row;
            if ((rc = mdm_batch_add_row(batch, &row)))
                goto cleanup;
            for (size_t col = 0; col < nsel; col++) {
                if (PQgetisnull(res, r, (int)col))
                    continue;
                rc = put_binary(batch, col, row, sel[col].type, PQgetvalue(res, r, (int)col),
                                PQgetlength(res, r, (int)col));
                if (rc)
                    goto cleanup;
            }
            if (mdm_batch_nrows(batch) == batch_rows) {
                delivered = true;
                if ((rc = sink(batch, ctx)))
                    goto cleanup;
                mdm_batch_clear(batch);
            }
        }
        PQclear(res);
        res = NULL;
        if ((size_t)rows < fetch_rows)
            break;
    }
    /* The last rows; without any, one empty batch tells the columns. */
    if (mdm_batch_nrows(batch) > 0 || !delivered)
        rc = sink(batch, ctx);

cleanup:
    PQclear(res);
    if (own_tx) {
        /* COMMIT, not ROLLBACK: a sink may have written through this connection
         * between fetches, and that work belongs to the read's transaction. */
        PGTransactionStatusType tx = PQtransactionStatus(c->pg);
        if (rc >= 0 && tx == PQTRANS_INTRANS) {
            int end = mdm_pg_exec(c, "COMMIT", "could not finish a read");
            if (end)
                rc = end;
        } else if (tx != PQTRANS_IDLE) {
            mdm_pg_exec_quietly(c, "ROLLBACK");
            if (rc == 0 && tx == PQTRANS_INERROR)
                rc = mdm_error_set(MDM_EBACKEND,
                                   "a statement run during the read of '%s' failed, so its "
                                   "transaction was rolled back",
                                   req->table);
        }
    } else if (savepoint) {
        if (rc < 0 || !declared) {
            mdm_pg_exec_quietly(c, "ROLLBACK TO SAVEPOINT mdm_read; RELEASE SAVEPOINT mdm_read");
        } else {
            char close[96];
            snprintf(close, sizeof close, "CLOSE %s; RELEASE SAVEPOINT mdm_read", cursor);
            if (rc == 0)
                rc = mdm_pg_exec(c, close, "could not finish a read");
            else
                mdm_pg_exec_quietly(c, close);
        }
    }
    mdm_batch_free(batch);
    free(fields);
    free(sel);
    mdm_pg_columns_free(cols, ncols);
    mdm_pg_params_free(&params);
    strbuf_free(&sql);
    return rc;
}

/* ------------------------------------------------------------------ execute */

/* Parses "YYYY-MM-DD" (any number of year digits) at *s, advancing it. */
static bool parse_ymd(const char **s, int64_t *year, int *month, int *day)
{
    char *end;
    errno = 0;
    long long y = strtoll(*s, &end, 10);
    if (end == *s || errno || *end != '-' || y < 0)
        return false;
    const char *p = end + 1;
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' || p[2] != '-' || p[3] < '0' ||
        p[3] > '9' || p[4] < '0' || p[4] > '9')
        return false;
    *year = y;
    *month = (p[0] - '0') * 10 + (p[1] - '0');
    *day = (p[3] - '0') * 10 + (p[4] - '0');
    *s = p + 5;
    return true;
}

static bool parse_bc(const char **s, int64_t *year)
{
    if (strncmp(*s, " BC", 3) == 0) {
        *year = 1 - *year; /* 1 BC is year 0 */
        *s += 3;
    }
    return **s == '\0';
}

/* DateStyle ISO text of a date: "2024-02-29", "0044-03-15 BC", "[-]infinity". */
static bool parse_date_text(const char *s, int32_t *out)
{
    if (strcmp(s, "infinity") == 0 || strcmp(s, "-infinity") == 0) {
        *out = s[0] == '-' ? INT32_MIN : INT32_MAX;
        return true;
    }
    int64_t year;
    int month, day;
    if (!parse_ymd(&s, &year, &month, &day) || !parse_bc(&s, &year))
        return false;
    *out = mdm_date_from_ymd((int)year, month, day);
    return true;
}

/* ISO text of a timestamp or timestamptz: "2024-02-29 12:34:56[.123456][+05:30][ BC]". */
static bool parse_timestamp_text(const char *s, int64_t *out)
{
    if (strcmp(s, "infinity") == 0 || strcmp(s, "-infinity") == 0) {
        *out = s[0] == '-' ? INT64_MIN : INT64_MAX;
        return true;
    }
    int64_t year;
    int month, day, hh, mm, ss, n = 0;
    if (!parse_ymd(&s, &year, &month, &day))
        return false;
    if (sscanf(s, " %2d:%2d:%2d%n", &hh, &mm, &ss, &n) != 3 || n == 0)
        return false;
    s += n;
    int64_t micros = 0;
    if (*s == '.') {
        int digits = 0;
        for (s++; *s >= '0' && *s <= '9'; s++, digits++)
            if (digits < 6)
                micros = micros * 10 + (*s - '0');
        for (; digits < 6; digits++)
            micros *= 10;
    }
    int64_t offset_s = 0;
    if (*s == '+' || *s == '-') {
        int sign = *s == '-' ? -1 : 1, oh = 0, om = 0, os = 0;
        s++;
        if (sscanf(s, "%2d%n", &oh, &n) != 1)
            return false;
        s += n;
        if (*s == ':' && sscanf(s, ":%2d%n", &om, &n) == 1)
            s += n;
        if (*s == ':' && sscanf(s, ":%2d%n", &os, &n) == 1)
            s += n;
        offset_s = sign * ((int64_t)oh * 3600 + om * 60 + os);
    }
    if (!parse_bc(&s, &year))
        return false;
    int64_t days = mdm_date_from_ymd((int)year, month, day);
    *out = (days * 86400 + hh * 3600 + mm * 60 + ss - offset_s) * 1000000 + micros;
    return true;
}

static int put_text(mdm_batch *b, size_t col, size_t row, const char *v, int len)
{
    const mdm_field *f = mdm_batch_field(b, col);
    char *end = NULL;
    switch (f->type) {
    case MDM_TYPE_INT64:
        errno = 0;
        mdm_batch_set_int64(b, col, row, strtoll(v, &end, 10));
        if (errno || *end)
            goto bad;
        return 0;
    case MDM_TYPE_FLOAT64:
        /* strtod reads "Infinity", "-Infinity" and "NaN" as PostgreSQL writes them;
         * a numeric beyond double's range becomes an infinity. */
        mdm_batch_set_float64(b, col, row, strtod(v, &end));
        if (end == v || *end)
            goto bad;
        return 0;
    case MDM_TYPE_BOOL: mdm_batch_set_bool(b, col, row, v[0] == 't'); return 0;
    case MDM_TYPE_DATE: {
        int32_t d;
        if (!parse_date_text(v, &d))
            goto bad;
        mdm_batch_set_date(b, col, row, d);
        return 0;
    }
    case MDM_TYPE_TIMESTAMP: {
        int64_t t;
        if (!parse_timestamp_text(v, &t))
            goto bad;
        mdm_batch_set_timestamp(b, col, row, t);
        return 0;
    }
    case MDM_TYPE_TEXT: return mdm_batch_set_text(b, col, row, v, (size_t)len);
    }
bad:
    return mdm_error_set(MDM_EBACKEND, "could not read PostgreSQL's %s value '%.60s' in column '%s'",
                         mdm_type_name(f->type), v, f->name);
}

static int batch_for_result(mdm_batch **out, const PGresult *res)
{
    int n = PQnfields(res);
    mdm_field *fields = calloc(n ? (size_t)n : 1, sizeof *fields);
    if (!fields)
        return mdm_error_set(MDM_ENOMEM, "out of memory reading a result");
    for (int i = 0; i < n; i++)
        fields[i] = (mdm_field){PQfname(res, i), mdm_pg_type_of_oid(PQftype(res, i))};
    int rc = mdm_batch_new(out, fields, (size_t)n, DEFAULT_BATCH_ROWS);
    free(fields);
    return rc;
}

/* Rows changed, for the commands that change rows. */
static int64_t changes_of(const PGresult *res)
{
    static const char *const changing[] = {"INSERT", "UPDATE", "DELETE", "MERGE", "COPY"};
    const char *tag = PQcmdStatus((PGresult *)res);
    for (size_t i = 0; i < sizeof changing / sizeof changing[0]; i++)
        if (strncmp(tag, changing[i], strlen(changing[i])) == 0)
            return strtoll(PQcmdTuples((PGresult *)res), NULL, 10);
    return 0;
}

int mdm_pg_execute(mdm_backend_conn *c, const char *sql, const mdm_value *params, size_t nparams,
                   mdm_batch_sink sink, void *ctx, int64_t *changes)
{
    strbuf text = STRBUF_INIT;
    pg_params bound = {0};
    mdm_batch *batch = NULL;
    size_t nplaceholders = 0;
    int rc = mdm_pg_translate_placeholders(&text, &nplaceholders, sql, 1);
    if (rc)
        goto cleanup;
    if (nplaceholders != nparams) {
        rc = mdm_error_set(MDM_EINVALID, "the SQL has %zu ? placeholders but %zu parameters were "
                                         "given",
                           nplaceholders, nparams);
        goto cleanup;
    }
    if ((rc = mdm_pg_params_build(&bound, params, nparams, 0)))
        goto cleanup;
    if (!PQsendQueryParams(c->pg, text.data, bound.n, bound.types, bound.values, bound.lengths,
                           bound.formats, 0)) {
        rc = mdm_pg_error(c, NULL, "could not send SQL to PostgreSQL");
        goto cleanup;
    }
    /* One row at a time off the wire, so that a large result never sits in memory
     * whole; rows are gathered into batches here. */
    if (sink)
        PQsetSingleRowMode(c->pg);
    int stop = 0; /* the sink's stop value: rows after it are read and dropped */
    bool delivered = false;
    PGresult *res;
    while ((res = PQgetResult(c->pg)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (rc || stop) {
            /* After a failure or a stop, only drain. */
        } else if (st == PGRES_SINGLE_TUPLE) {
            size_t row;
            if (!batch)
                rc = batch_for_result(&batch, res);
            if (!rc)
                rc = mdm_batch_add_row(batch, &row);
            for (int col = 0; !rc && col < PQnfields(res); col++)
                if (!PQgetisnull(res, 0, col))
                    rc = put_text(batch, (size_t)col, row, PQgetvalue(res, 0, col),
                                  PQgetlength(res, 0, col));
            if (!rc && mdm_batch_nrows(batch) == DEFAULT_BATCH_ROWS) {
                delivered = true;
                stop = sink(batch, ctx);
                mdm_batch_clear(batch);
            }
        } else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            /* No rows but columns: one empty batch tells their names and types. */
            if (sink && !batch && !delivered && st == PGRES_TUPLES_OK)
                rc = batch_for_result(&batch, res);
            if (!rc && sink && batch && (mdm_batch_nrows(batch) > 0 || !delivered)) {
                delivered = true;
                stop = sink(batch, ctx);
            }
            if (changes)
                *changes = changes_of(res);
        } else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            rc = mdm_error_set(MDM_ENOTSUP, "COPY to or from the client cannot run through "
                                            "execute; use append or read");
            if (st == PGRES_COPY_IN) {
                PQputCopyEnd(c->pg, "COPY is not supported through mdm execute");
            } else {
                char *buf = NULL;
                while (PQgetCopyData(c->pg, &buf, 0) > 0)
                    PQfreemem(buf);
            }
        } else if (st != PGRES_EMPTY_QUERY) {
            rc = mdm_pg_error(c, res, "SQL failed");
        }
        PQclear(res);
        if (PQstatus(c->pg) == CONNECTION_BAD) {
            if (!rc)
                rc = mdm_pg_error(c, NULL, "SQL failed");
            break;
        }
    }
    if (!rc)
        rc = stop;

cleanup:
    mdm_batch_free(batch);
    mdm_pg_params_free(&bound);
    strbuf_free(&text);
    return rc;
}
