/* PostgreSQL append: COPY ... FROM STDIN in binary format, the tuples built straight
 * from the batch's column arrays and sent in large chunks.
 *
 * Binary COPY layout: the signature "PGCOPY\n\377\r\n\0", int32 flags, int32 header
 * extension length; per row an int16 field count, then per field an int32 length (-1
 * for NULL) and the value in the type's binary send format (big-endian int8/float8,
 * one byte bool, raw text bytes, int32 days and int64 microseconds since 2000-01-01);
 * an int16 -1 ends the data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/backends/postgres_conn.h"

#define CHUNK_BYTES (256 * 1024)

typedef struct copy_out {
    mdm_backend_conn *c;
    char *buf;
    size_t len, cap;
    /* Each row ends with its ordinal: from `bases` (row r of a batch gets
     * bases[r / PG_ORDINAL_BLOCK] + r % PG_ORDINAL_BLOCK), or else, with `counting`,
     * next_ordinal++ (a load). */
    const int64_t *bases;
    bool counting;
    int64_t next_ordinal;
} copy_out;

static int send_bytes(copy_out *o, const char *data, size_t len)
{
    while (len > 0) {
        int part = len > INT32_MAX ? INT32_MAX : (int)len;
        if (PQputCopyData(o->c->pg, data, part) != 1)
            return mdm_pg_error(o->c, NULL, "could not send COPY data");
        data += part;
        len -= (size_t)part;
    }
    return 0;
}

static int flush(copy_out *o)
{
    int rc = send_bytes(o, o->buf, o->len);
    o->len = 0;
    return rc;
}

/* Makes room for `need` more bytes, flushing a full chunk first. */
static int reserve(copy_out *o, size_t need)
{
    if (o->len + need <= o->cap)
        return 0;
    if (o->len > 0) {
        int rc = flush(o);
        if (rc)
            return rc;
    }
    if (need > o->cap) {
        char *buf = realloc(o->buf, need);
        if (!buf)
            return mdm_error_set(MDM_ENOMEM, "out of memory building COPY data");
        o->buf = buf;
        o->cap = need;
    }
    return 0;
}

/* Whether the table column can take the batch column in our binary encoding. */
static bool column_accepts(Oid table_oid, mdm_type type)
{
    switch (type) {
    case MDM_TYPE_TEXT:
        /* varchar and char share text's binary form. */
        return table_oid == PG_OID_TEXT || table_oid == PG_OID_VARCHAR ||
               table_oid == PG_OID_BPCHAR;
    case MDM_TYPE_TIMESTAMP:
        /* timestamptz's binary form is UTC microseconds too. */
        return table_oid == PG_OID_TIMESTAMP || table_oid == PG_OID_TIMESTAMPTZ;
    default: return table_oid == mdm_pg_oid_of_type(type);
    }
}

/* The table's columns, checked against the batch's by position and type. */
static int check_shape(pg_column **cols, size_t *ncols, bool *ordered, mdm_backend_conn *c,
                       const char *table, const mdm_batch *batch)
{
    int rc = mdm_pg_table_columns(cols, ncols, ordered, c, table);
    if (rc)
        return rc;
    size_t nb = mdm_batch_ncols(batch);
    if (nb != *ncols)
        return mdm_error_set(MDM_EINVALID, "batch has %zu columns but table '%s' has %zu", nb,
                             table, *ncols);
    for (size_t i = 0; i < nb; i++) {
        const mdm_field *f = mdm_batch_field(batch, i);
        const pg_column *col = &(*cols)[i];
        if (!column_accepts(col->oid, f->type))
            return mdm_error_set(MDM_EINVALID,
                                 "batch column %zu '%s' is %s but column '%s' of table '%s' is %s",
                                 i + 1, f->name, mdm_type_name(f->type), col->name, table,
                                 col->type == f->type ? "of another PostgreSQL type"
                                                      : mdm_type_name(col->type));
    }
    return 0;
}

/* Reserves row ordinals for `nrows` rows: one block of PG_ORDINAL_BLOCK per nextval,
 * so row i gets bases[i / PG_ORDINAL_BLOCK] + i % PG_ORDINAL_BLOCK. The blocks come
 * back ascending; blocks of appenders running at once may interleave, but each
 * append's rows stay in their order and after every append that reserved earlier. */
static int reserve_ordinals(int64_t **bases, mdm_backend_conn *c, const char *table, size_t nrows)
{
    *bases = NULL;
    size_t nblocks = (nrows + (size_t)PG_ORDINAL_BLOCK - 1) / (size_t)PG_ORDINAL_BLOCK;
    strbuf qualified = STRBUF_INIT;
    mdm_pg_append_table(&qualified, c, table);
    char count[32];
    snprintf(count, sizeof count, "%zu", nblocks);
    if (!strbuf_cstr(&qualified))
        return MDM_ENOMEM;
    const char *params[] = {qualified.data, count};
    PGresult *res = NULL;
    int rc = mdm_pg_query(&res, c,
                          "SELECT nextval(pg_catalog.pg_get_serial_sequence($1, '" PG_ORDINAL_COLUMN
                          "')) AS base FROM generate_series(1, $2::int8) ORDER BY base",
                          2, params, "could not reserve row numbers for an append");
    strbuf_free(&qualified);
    if (rc)
        return rc;
    int64_t *out = NULL;
    if ((size_t)PQntuples(res) != nblocks || PQgetisnull(res, 0, 0)) {
        rc = mdm_error_set(MDM_EBACKEND, "table '%s' has a '%s' column without its sequence", table,
                           PG_ORDINAL_COLUMN);
    } else if (!(out = malloc(nblocks * sizeof *out))) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory reserving row numbers");
    } else {
        for (size_t i = 0; i < nblocks; i++)
            out[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
        *bases = out;
    }
    PQclear(res);
    return rc;
}

static int put_header(copy_out *o)
{
    static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    int rc = reserve(o, sizeof header);
    if (rc)
        return rc;
    memcpy(o->buf + o->len, header, sizeof header);
    o->len += sizeof header;
    return 0;
}

/* The end-of-data marker, and everything still buffered sent. */
static int put_trailer(copy_out *o)
{
    int rc = reserve(o, 2);
    if (rc)
        return rc;
    mdm_pg_put_u16(o->buf + o->len, UINT16_MAX); /* -1: end of data */
    o->len += 2;
    return flush(o);
}

/* Encodes every row, sending full chunks as they fill; a value PostgreSQL cannot take
 * is MDM_EINVALID. */
static int put_rows(copy_out *o, const char *table, const mdm_batch *batch)
{
    bool ordinal = o->bases || o->counting;
    size_t ncols = mdm_batch_ncols(batch), nrows = mdm_batch_nrows(batch);
    size_t nfields = ncols + (ordinal ? 1 : 0);
    size_t fixed_row = 2 + nfields * 12; /* field count + (length + 8 bytes) per field */
    int rc = 0;
    for (size_t r = 0; r < nrows; r++) {
        if ((rc = reserve(o, fixed_row)))
            return rc;
        mdm_pg_put_u16(o->buf + o->len, (uint16_t)nfields);
        o->len += 2;
        for (size_t col = 0; col < ncols; col++) {
            const mdm_field *f = mdm_batch_field(batch, col);
            if (mdm_batch_nulls(batch, col)[r]) {
                mdm_pg_put_u32(o->buf + o->len, UINT32_MAX); /* -1: NULL */
                o->len += 4;
                continue;
            }
            const void *data = mdm_batch_data(batch, col);
            char *p = o->buf + o->len;
            switch (f->type) {
            case MDM_TYPE_INT64:
            case MDM_TYPE_FLOAT64: {
                uint64_t bits;
                memcpy(&bits, (const char *)data + 8 * r, 8); /* doubles bit for bit */
                mdm_pg_put_u32(p, 8);
                mdm_pg_put_u64(p + 4, bits);
                o->len += 12;
                break;
            }
            case MDM_TYPE_BOOL:
                mdm_pg_put_u32(p, 1);
                p[4] = ((const uint8_t *)data)[r] ? 1 : 0;
                o->len += 5;
                break;
            case MDM_TYPE_DATE: {
                int32_t d;
                if (!mdm_pg_date_to_server(((const int32_t *)data)[r], &d))
                    return mdm_error_set(MDM_EINVALID,
                                         "date in table '%s' column '%s' row %zu is out of "
                                         "PostgreSQL's range (4713 BC to 5874897 AD)",
                                         table, f->name, r);
                mdm_pg_put_u32(p, 4);
                mdm_pg_put_u32(p + 4, (uint32_t)d);
                o->len += 8;
                break;
            }
            case MDM_TYPE_TIMESTAMP: {
                int64_t t;
                if (!mdm_pg_timestamp_to_server(((const int64_t *)data)[r], &t))
                    return mdm_error_set(MDM_EINVALID,
                                         "timestamp in table '%s' column '%s' row %zu is out of "
                                         "PostgreSQL's range (4713 BC to 294276 AD)",
                                         table, f->name, r);
                mdm_pg_put_u32(p, 8);
                mdm_pg_put_u64(p + 4, (uint64_t)t);
                o->len += 12;
                break;
            }
            case MDM_TYPE_TEXT: {
                size_t len = 0;
                const char *s = mdm_batch_text(batch, col, r, &len);
                if (len > INT32_MAX)
                    return mdm_error_set(MDM_EINVALID,
                                         "text in table '%s' column '%s' row %zu is longer than "
                                         "PostgreSQL's 1 GB limit",
                                         table, f->name, r);
                if (memchr(s, '\0', len))
                    return mdm_error_set(MDM_EINVALID,
                                         "text in table '%s' column '%s' row %zu contains a NUL "
                                         "byte, which PostgreSQL cannot store",
                                         table, f->name, r);
                mdm_pg_put_u32(p, (uint32_t)len);
                o->len += 4;
                if (len > CHUNK_BYTES / 4) {
                    /* Large values go out as they are, without a copy. */
                    if ((rc = flush(o)) || (rc = send_bytes(o, s, len)))
                        return rc;
                } else {
                    if ((rc = reserve(o, len + (nfields - col) * 12)))
                        return rc;
                    memcpy(o->buf + o->len, s, len);
                    o->len += len;
                }
                break;
            }
            }
        }
        if (ordinal) {
            int64_t n = o->bases ? o->bases[r / (size_t)PG_ORDINAL_BLOCK] +
                                       (int64_t)(r % (size_t)PG_ORDINAL_BLOCK)
                                 : o->next_ordinal++;
            mdm_pg_put_u32(o->buf + o->len, 8);
            mdm_pg_put_u64(o->buf + o->len + 4, (uint64_t)n);
            o->len += 12;
        }
        if (o->len >= CHUNK_BYTES && (rc = flush(o)))
            return rc;
    }
    return 0;
}

/* Ends the COPY and collects the outcome. */
static int finish_copy(mdm_backend_conn *c, const char *table)
{
    int rc = 0;
    if (PQputCopyEnd(c->pg, NULL) != 1)
        rc = mdm_pg_error(c, NULL, "could not end COPY into '%s'", table);
    PGresult *res;
    while ((res = PQgetResult(c->pg)) != NULL) {
        if (!rc && PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = mdm_pg_error(c, res, "could not append to table '%s' of dataset '%s'", table,
                              c->dataset);
        PQclear(res);
        if (PQstatus(c->pg) == CONNECTION_BAD)
            break;
    }
    return rc;
}

/* Aborts the COPY so that none of its rows remain; the error already recorded (why we
 * abort) stays. */
static void abort_copy(mdm_backend_conn *c)
{
    if (PQputCopyEnd(c->pg, "mdm refused the batch") != 1)
        return;
    PGresult *res;
    while ((res = PQgetResult(c->pg)) != NULL) {
        PQclear(res);
        if (PQstatus(c->pg) == CONNECTION_BAD)
            break;
    }
}

int mdm_pg_append(mdm_backend_conn *c, const char *table, const mdm_batch *batch)
{
    pg_column *cols = NULL;
    size_t ncols = 0;
    bool ordered = false, savepoint = false;
    int64_t *bases = NULL;
    copy_out o = {.c = c};
    strbuf sql = STRBUF_INIT;
    int rc = check_shape(&cols, &ncols, &ordered, c, table, batch);
    if (rc)
        goto cleanup;
    /* Inside the caller's transaction a savepoint makes a failed batch vanish without
     * aborting the rest; alone, COPY is atomic by itself. */
    savepoint = PQtransactionStatus(c->pg) != PQTRANS_IDLE;
    if (savepoint && (rc = mdm_pg_exec(c, "SAVEPOINT mdm_append", "could not start an append"))) {
        savepoint = false;
        goto cleanup;
    }
    if (ordered && (rc = reserve_ordinals(&bases, c, table, mdm_batch_nrows(batch))))
        goto cleanup;

    strbuf_append(&sql, "COPY ");
    mdm_pg_append_table(&sql, c, table);
    if (ordered) {
        /* By name: the ordinal need not be the last column (ALTER TABLE ADD COLUMN). */
        strbuf_append(&sql, " (");
        for (size_t i = 0; i < ncols; i++) {
            strbuf_append_ident(&sql, cols[i].name);
            strbuf_append(&sql, ", ");
        }
        strbuf_append(&sql, "\"" PG_ORDINAL_COLUMN "\")");
    }
    strbuf_append(&sql, " FROM STDIN (FORMAT binary)");
    if (!strbuf_cstr(&sql)) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    PGresult *res = PQexec(c->pg, sql.data);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rc = mdm_pg_error(c, res, "could not append to table '%s' of dataset '%s'", table,
                          c->dataset);
        PQclear(res);
        goto cleanup;
    }
    PQclear(res);
    o.buf = malloc(CHUNK_BYTES + 4096);
    o.cap = CHUNK_BYTES + 4096;
    o.bases = bases;
    if (!o.buf)
        rc = mdm_error_set(MDM_ENOMEM, "out of memory building COPY data");
    else if (!(rc = put_header(&o)) && !(rc = put_rows(&o, table, batch)))
        rc = put_trailer(&o);
    if (rc)
        abort_copy(c); /* our own refusal, or a failed send */
    else
        rc = finish_copy(c, table);
cleanup:
    if (savepoint) {
        if (rc)
            mdm_pg_exec_quietly(c, "ROLLBACK TO SAVEPOINT mdm_append; RELEASE SAVEPOINT mdm_append");
        else
            rc = mdm_pg_exec(c, "RELEASE SAVEPOINT mdm_append", "could not finish an append");
    }
    free(o.buf);
    free(bases);
    strbuf_free(&sql);
    mdm_pg_columns_free(cols, ncols);
    return rc;
}

/* ------------------------------------------------------------------ bulk load
 *
 * One COPY for the whole load; the row ordinals numbered here from one reserved value
 * (the sequence is moved past them at the end), and the ordinal's index dropped at the
 * start and built again at the end: building a B-tree over 3 million sorted keys
 * takes a fraction of what maintaining it row by row costs COPY. All of it inside the
 * caller's transaction, so that a failure leaves the table as it was. */

struct pg_load {
    char *table;
    pg_column *cols;
    size_t ncols;
    bool ordered;
    char *index;           /* the dropped ordinal index, to build again; NULL: none */
    int64_t first_ordinal;
    copy_out o;
};

void mdm_pg_load_free(mdm_backend_conn *c)
{
    struct pg_load *l = c->load;
    if (!l)
        return;
    free(l->table);
    mdm_pg_columns_free(l->cols, l->ncols);
    free(l->index);
    free(l->o.buf);
    free(l);
    c->load = NULL;
}

/* One text value from a one-row query; *out NULL when the query returns no row. */
static int query_text(char **out, mdm_backend_conn *c, const char *sql, const char *param,
                      const char *context)
{
    *out = NULL;
    PGresult *res = NULL;
    const char *params[] = {param};
    int rc = mdm_pg_query(&res, c, sql, param ? 1 : 0, params, context);
    if (rc)
        return rc;
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) &&
        !(*out = strdup(PQgetvalue(res, 0, 0))))
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    PQclear(res);
    return rc;
}

/* Drops the table's ordinal index (remembering its name), reserves the first ordinal. */
static int prepare_ordinals(struct pg_load *l, mdm_backend_conn *c, const char *qualified)
{
    int rc = query_text(&l->index, c,
                        "SELECT pg_catalog.quote_ident(n.nspname) || '.' || "
                        "pg_catalog.quote_ident(ci.relname) FROM pg_catalog.pg_index i "
                        "JOIN pg_catalog.pg_class ci ON ci.oid = i.indexrelid "
                        "JOIN pg_catalog.pg_namespace n ON n.oid = ci.relnamespace "
                        "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid "
                        "AND a.attnum = i.indkey[0] WHERE i.indrelid = $1::regclass "
                        "AND i.indnatts = 1 AND a.attname = '" PG_ORDINAL_COLUMN "'",
                        qualified, "could not find the row-order index");
    if (!rc && l->index) {
        strbuf sql = STRBUF_INIT;
        strbuf_appendf(&sql, "DROP INDEX %s", l->index);
        rc = strbuf_cstr(&sql) ? mdm_pg_exec(c, sql.data, "could not prepare a bulk load")
                               : MDM_ENOMEM;
        strbuf_free(&sql);
    }
    char *first = NULL;
    if (!rc)
        rc = query_text(&first, c,
                        "SELECT nextval(pg_catalog.pg_get_serial_sequence($1, '" PG_ORDINAL_COLUMN
                        "'))",
                        qualified, "could not reserve row numbers for a bulk load");
    if (!rc && !first)
        rc = mdm_error_set(MDM_EBACKEND, "table %s has a '%s' column without its sequence",
                           qualified, PG_ORDINAL_COLUMN);
    if (!rc)
        l->first_ordinal = strtoll(first, NULL, 10);
    free(first);
    return rc;
}

int mdm_pg_load_begin(mdm_backend_conn *c, const char *table)
{
    mdm_pg_load_free(c);
    struct pg_load *l = calloc(1, sizeof *l);
    if (!l || !(l->table = strdup(table))) {
        free(l);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    c->load = l;
    strbuf qualified = STRBUF_INIT, sql = STRBUF_INIT;
    int rc = mdm_pg_table_columns(&l->cols, &l->ncols, &l->ordered, c, table);
    if (rc)
        goto cleanup;
    mdm_pg_append_table(&qualified, c, table);
    if (!strbuf_cstr(&qualified)) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    if (l->ordered && (rc = prepare_ordinals(l, c, qualified.data)))
        goto cleanup;
    strbuf_appendf(&sql, "COPY %s (", qualified.data);
    for (size_t i = 0; i < l->ncols; i++) {
        strbuf_append_ident(&sql, l->cols[i].name);
        if (i + 1 < l->ncols)
            strbuf_append(&sql, ", ");
    }
    if (l->ordered)
        strbuf_append(&sql, l->ncols ? ", \"" PG_ORDINAL_COLUMN "\"" : "\"" PG_ORDINAL_COLUMN "\"");
    strbuf_append(&sql, ") FROM STDIN (FORMAT binary)");
    if (!strbuf_cstr(&sql)) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    PGresult *res = PQexec(c->pg, sql.data);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rc = mdm_pg_error(c, res, "could not load table '%s' of dataset '%s'", table, c->dataset);
        PQclear(res);
        goto cleanup;
    }
    PQclear(res);
    l->o = (copy_out){.c = c, .cap = CHUNK_BYTES + 4096, .counting = l->ordered,
                      .next_ordinal = l->first_ordinal};
    if (!(l->o.buf = malloc(l->o.cap)))
        rc = mdm_error_set(MDM_ENOMEM, "out of memory building COPY data");
    else
        rc = put_header(&l->o);
    if (rc)
        abort_copy(c);
cleanup:
    strbuf_free(&qualified);
    strbuf_free(&sql);
    if (rc)
        mdm_pg_load_free(c);
    return rc;
}

int mdm_pg_load_batch(mdm_backend_conn *c, const mdm_batch *batch)
{
    struct pg_load *l = c->load;
    if (!l)
        return mdm_error_set(MDM_EINVALID, "no bulk load is open on this connection");
    size_t nb = mdm_batch_ncols(batch);
    int rc = 0;
    if (nb != l->ncols)
        rc = mdm_error_set(MDM_EINVALID, "batch has %zu columns but table '%s' has %zu", nb,
                           l->table, l->ncols);
    for (size_t i = 0; !rc && i < nb; i++) {
        const mdm_field *f = mdm_batch_field(batch, i);
        if (!column_accepts(l->cols[i].oid, f->type))
            rc = mdm_error_set(MDM_EINVALID, "batch column %zu '%s' is %s but column '%s' of table "
                               "'%s' is not", i + 1, f->name, mdm_type_name(f->type),
                               l->cols[i].name, l->table);
    }
    if (!rc)
        rc = put_rows(&l->o, l->table, batch);
    if (rc) {
        abort_copy(c);
        mdm_pg_load_free(c);
    }
    return rc;
}

int mdm_pg_load_end(mdm_backend_conn *c)
{
    struct pg_load *l = c->load;
    if (!l)
        return mdm_error_set(MDM_EINVALID, "no bulk load is open on this connection");
    int rc = put_trailer(&l->o);
    if (rc)
        abort_copy(c);
    else
        rc = finish_copy(c, l->table);
    strbuf sql = STRBUF_INIT;
    int64_t rows = l->o.next_ordinal - l->first_ordinal;
    if (!rc && l->ordered && rows > PG_ORDINAL_BLOCK) {
        /* The next reservation starts past the last ordinal used here. */
        int64_t last_block = l->first_ordinal +
                             (rows + PG_ORDINAL_BLOCK - 1) / PG_ORDINAL_BLOCK * PG_ORDINAL_BLOCK -
                             PG_ORDINAL_BLOCK;
        strbuf qualified = STRBUF_INIT;
        mdm_pg_append_table(&qualified, c, l->table);
        char value[32];
        snprintf(value, sizeof value, "%lld", (long long)last_block);
        const char *params[] = {qualified.data, value};
        PGresult *res = NULL;
        rc = strbuf_cstr(&qualified)
                 ? mdm_pg_query(&res, c,
                                "SELECT setval(pg_catalog.pg_get_serial_sequence($1, '"
                                PG_ORDINAL_COLUMN "'), $2::int8)",
                                2, params, "could not advance the row numbers")
                 : MDM_ENOMEM;
        PQclear(res);
        strbuf_free(&qualified);
    }
    if (!rc && l->index) {
        strbuf_append(&sql, "CREATE INDEX ON ");
        mdm_pg_append_table(&sql, c, l->table);
        strbuf_append(&sql, " (\"" PG_ORDINAL_COLUMN "\") WITH (fillfactor = 100)");
        rc = strbuf_cstr(&sql) ? mdm_pg_exec(c, sql.data, "could not index the loaded table")
                               : MDM_ENOMEM;
    }
    strbuf_free(&sql);
    mdm_pg_load_free(c);
    return rc;
}
