/* The DuckDB bulk path: a batch becomes data chunks whose vectors are filled straight
 * from the batch's arrays, handed to an appender.
 *
 * All of the batch or none of it. Without a caller's transaction the append runs in its
 * own (BEGIN ... COMMIT, ROLLBACK on error), so rows an appender flushed before a
 * failure vanish. Inside the caller's transaction there is no SAVEPOINT in DuckDB to
 * fall back to: everything that can be checked beforehand (shape, types, UTF-8) is
 * checked before the first row reaches DuckDB, and chunk types always equal the
 * appender's so that nothing stays buffered behind a failed cast. What remains, a
 * failure while DuckDB writes the rows (a constraint, out of memory), aborts the
 * caller's transaction in DuckDB: none of the batch remains, nor anything else of that
 * transaction, and the error says it must be rolled back.
 */
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "storage/backends/duckdb_internal.h"

/* The DuckDB type each mdm type is stored as (what table_create declares). */
static duckdb_type storage_type(mdm_type t)
{
    switch (t) {
    case MDM_TYPE_INT64: return DUCKDB_TYPE_BIGINT;
    case MDM_TYPE_FLOAT64: return DUCKDB_TYPE_DOUBLE;
    case MDM_TYPE_BOOL: return DUCKDB_TYPE_BOOLEAN;
    case MDM_TYPE_TEXT: return DUCKDB_TYPE_VARCHAR;
    case MDM_TYPE_DATE: return DUCKDB_TYPE_DATE;
    case MDM_TYPE_TIMESTAMP: return DUCKDB_TYPE_TIMESTAMP;
    }
    return DUCKDB_TYPE_INVALID;
}

static size_t value_size(mdm_type t)
{
    switch (t) {
    case MDM_TYPE_INT64:
    case MDM_TYPE_TIMESTAMP: return sizeof(int64_t);
    case MDM_TYPE_FLOAT64: return sizeof(double);
    case MDM_TYPE_BOOL: return sizeof(uint8_t);
    case MDM_TYPE_DATE: return sizeof(int32_t);
    case MDM_TYPE_TEXT: return 0;
    }
    return 0;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        /* ASCII runs, eight bytes at a time. */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            n = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else
            return false;
        if (n > len - 1 - i) /* truncated sequence */
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        i += n + 1;
    }
    return true;
}

/* Every text value of the batch is UTF-8 and fits DuckDB's 32-bit string length. */
static int check_text(const mdm_batch *batch, const char *table)
{
    size_t nrows = mdm_batch_nrows(batch);
    for (size_t c = 0; c < mdm_batch_ncols(batch); c++) {
        if (mdm_batch_field(batch, c)->type != MDM_TYPE_TEXT)
            continue;
        const uint8_t *nulls = mdm_batch_nulls(batch, c);
        for (size_t r = 0; r < nrows; r++) {
            if (nulls[r])
                continue;
            size_t len;
            const char *s = mdm_batch_text(batch, c, r, &len);
            if (len > UINT32_MAX)
                return mdm_error_set(MDM_EINVALID,
                                     "cannot append to table '%s': text in column '%s' row %zu is "
                                     "%zu bytes, more than DuckDB's limit of 4 GiB",
                                     table, mdm_batch_field(batch, c)->name, r, len);
            if (!utf8_valid((const unsigned char *)s, len))
                return mdm_error_set(MDM_EINVALID,
                                     "cannot append to table '%s': text in column '%s' row %zu is "
                                     "not valid UTF-8",
                                     table, mdm_batch_field(batch, c)->name, r);
        }
    }
    return 0;
}

/* A table's column name by position, for messages; "?" when it cannot be had. */
static char *table_column_name(mdm_backend_conn *conn, const char *table, size_t col)
{
    duckdb_table_description desc = NULL;
    char *name = NULL;
    if (duckdb_table_description_create(conn->con, NULL, table, &desc) == DuckDBSuccess) {
        char *engine_name = duckdb_table_description_get_column_name(desc, col);
        if (engine_name) {
            name = strdup(engine_name);
            duckdb_free(engine_name);
        }
    }
    duckdb_table_description_destroy(&desc);
    return name ? name : strdup("?");
}

/* Whether the appender's columns are exactly the batch's storage types (then chunks go
 * in without casts); a table column of another type the batch's type maps to (INTEGER
 * for int64, DECIMAL for float64, ...) makes `*exact` false; a type that does not fit is
 * MDM_EINVALID naming the column. */
static int check_columns(mdm_backend_conn *conn, const char *table, duckdb_appender app,
                         const mdm_batch *batch, bool *exact)
{
    size_t ncols = mdm_batch_ncols(batch);
    idx_t table_cols = duckdb_appender_column_count(app);
    *exact = true;
    if (table_cols != ncols)
        return mdm_error_set(MDM_EINVALID,
                             "cannot append to table '%s': the batch has %zu columns, the table "
                             "%llu",
                             table, ncols, (unsigned long long)table_cols);
    for (size_t c = 0; c < ncols; c++) {
        const mdm_field *f = mdm_batch_field(batch, c);
        duckdb_logical_type lt = duckdb_appender_column_type(app, c);
        duckdb_type id = duckdb_get_type_id(lt);
        char *alias = duckdb_logical_type_get_alias(lt);
        mdm_type mapped;
        bool fits = mdm_duckdb_type_to_mdm(&mapped, lt) == 0 && mapped == f->type;
        if (id != storage_type(f->type) || alias)
            *exact = false;
        if (alias)
            duckdb_free(alias);
        duckdb_destroy_logical_type(&lt);
        if (!fits) {
            char *name = table_column_name(conn, table, c);
            int rc = mdm_error_set(MDM_EINVALID,
                                   "cannot append to table '%s': batch column %zu ('%s', %s) does "
                                   "not fit table column '%s' of DuckDB type %s",
                                   table, c + 1, f->name, mdm_type_name(f->type),
                                   name ? name : "?", mdm_duckdb_type_name(id));
            free(name);
            return rc;
        }
    }
    return 0;
}

/* An appender whose data feeds `INSERT INTO table SELECT *`, for tables whose column
 * types differ from the batch's storage types: DuckDB casts in the INSERT, so a failed
 * cast fails the flush and leaves nothing buffered. */
static int create_cast_appender(mdm_backend_conn *conn, const char *table,
                                duckdb_logical_type *types, size_t ncols, duckdb_appender *out)
{
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "INSERT INTO ");
    strbuf_append_ident(&sql, table);
    strbuf_append(&sql, " SELECT * FROM mdm_batch_rows");
    const char *text = strbuf_cstr(&sql);
    int rc = 0;
    if (!text) {
        rc = MDM_ENOMEM;
    } else if (duckdb_appender_create_query(conn->con, text, ncols, types, "mdm_batch_rows", NULL,
                                            out) != DuckDBSuccess) {
        const char *err = duckdb_appender_error(*out);
        rc = mdm_duckdb_fail(mdm_duckdb_classify(err, MDM_EBACKEND), err,
                             "cannot append to table '%s' in %s", table, conn->path);
        duckdb_appender_destroy(out);
    }
    strbuf_free(&sql);
    return rc;
}

static bool any_null(const uint8_t *nulls, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= nulls[i];
    return acc != 0;
}

/* Fills one chunk vector with batch rows [off, off + n). */
static void fill_vector(duckdb_vector vec, const mdm_batch *batch, size_t c, size_t off, size_t n)
{
    mdm_type type = mdm_batch_field(batch, c)->type;
    const uint8_t *nulls = mdm_batch_nulls(batch, c) + off;
    void *data = duckdb_vector_get_data(vec);
    if (type == MDM_TYPE_TEXT) {
        duckdb_string_t *dst = data;
        for (size_t i = 0; i < n; i++) {
            memset(&dst[i], 0, sizeof dst[i]);
            if (nulls[i])
                continue;
            size_t len;
            const char *s = mdm_batch_text(batch, c, off + i, &len);
            dst[i].value.inlined.length = (uint32_t)len;
            if (len <= sizeof dst[i].value.inlined.inlined) {
                memcpy(dst[i].value.inlined.inlined, s, len);
            } else {
                /* The pointer form borrows the batch's bytes; the appender copies them
                 * before this call returns. */
                memcpy(dst[i].value.pointer.prefix, s, sizeof dst[i].value.pointer.prefix);
                dst[i].value.pointer.ptr = (char *)s;
            }
        }
    } else {
        size_t size = value_size(type);
        memcpy(data, (const char *)mdm_batch_data(batch, c) + off * size, n * size);
    }
    if (!any_null(nulls, n))
        return;
    duckdb_vector_ensure_validity_writable(vec);
    uint64_t *validity = duckdb_vector_get_validity(vec);
    for (size_t w = 0; w * 64 < n; w++) {
        uint64_t word = ~(uint64_t)0;
        size_t end = (w + 1) * 64 < n ? (w + 1) * 64 : n;
        for (size_t i = w * 64; i < end; i++)
            if (nulls[i])
                word &= ~((uint64_t)1 << (i - w * 64));
        validity[w] = word;
    }
}

static int appender_failure(mdm_backend_conn *conn, duckdb_appender app, const char *table,
                            bool own_transaction)
{
    const char *err = duckdb_appender_error(app);
    int code = mdm_duckdb_classify(err, MDM_EBACKEND);
    if (own_transaction)
        return mdm_duckdb_fail(code, err, "cannot append to table '%s' in %s", table, conn->path);
    /* Inside the caller's transaction: say whether DuckDB aborted it. */
    duckdb_result probe;
    bool aborted = duckdb_query(conn->con, "SELECT 1", &probe) != DuckDBSuccess;
    duckdb_destroy_result(&probe);
    return mdm_duckdb_fail(code, err,
                           "cannot append to table '%s' in %s%s", table, conn->path,
                           aborted ? " (DuckDB has no savepoints: the open transaction is "
                                     "aborted and must be rolled back)"
                                   : "");
}

/* The appender for `table`, checked against the batch's columns, with the chunk types
 * (caller destroys them and the appender). A table whose column types differ from the
 * batch's storage types gets a casting appender. */
static int open_appender(mdm_backend_conn *conn, const char *table, const mdm_batch *batch,
                         duckdb_appender *app, duckdb_logical_type **types)
{
    size_t ncols = mdm_batch_ncols(batch);
    bool exact = true;
    *types = NULL;
    if (duckdb_appender_create(conn->con, NULL, table, app) != DuckDBSuccess) {
        const char *err = duckdb_appender_error(*app);
        bool missing = err && (strstr(err, "could not be found") || strstr(err, "does not exist"));
        int rc = mdm_duckdb_fail(missing ? MDM_ENOTFOUND : mdm_duckdb_classify(err, MDM_EBACKEND),
                                 err, "cannot append to table '%s' in %s", table, conn->path);
        duckdb_appender_destroy(app);
        return rc;
    }
    int rc = check_columns(conn, table, *app, batch, &exact);
    if (!rc && !(*types = calloc(ncols ? ncols : 1, sizeof **types)))
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    for (size_t c = 0; !rc && c < ncols; c++)
        (*types)[c] = duckdb_create_logical_type(storage_type(mdm_batch_field(batch, c)->type));
    if (!rc && !exact) {
        duckdb_appender_destroy(app); /* nothing appended yet: nothing flushed */
        rc = create_cast_appender(conn, table, *types, ncols, app);
    }
    if (rc) {
        if (*app)
            duckdb_appender_destroy(app);
        for (size_t c = 0; *types && c < ncols; c++)
            duckdb_destroy_logical_type(&(*types)[c]);
        free(*types);
        *types = NULL;
    }
    return rc;
}

/* The batch's rows into the appender, one vector-sized chunk at a time. */
static int append_chunks(mdm_backend_conn *conn, const char *table, duckdb_appender app,
                         duckdb_data_chunk chunk, const mdm_batch *batch, bool own_transaction)
{
    size_t ncols = mdm_batch_ncols(batch), nrows = mdm_batch_nrows(batch);
    idx_t vector_rows = duckdb_vector_size();
    for (size_t off = 0; off < nrows; off += vector_rows) {
        size_t n = nrows - off < vector_rows ? nrows - off : vector_rows;
        duckdb_data_chunk_reset(chunk);
        for (size_t c = 0; c < ncols; c++)
            fill_vector(duckdb_data_chunk_get_vector(chunk, c), batch, c, off, n);
        duckdb_data_chunk_set_size(chunk, n);
        if (duckdb_append_data_chunk(app, chunk) != DuckDBSuccess)
            return appender_failure(conn, app, table, own_transaction);
    }
    return 0;
}

int mdm_duckdb_append(mdm_backend_conn *conn, const char *table, const mdm_batch *batch)
{
    size_t ncols = mdm_batch_ncols(batch);
    duckdb_logical_type *types = NULL;
    duckdb_appender app = NULL;
    duckdb_data_chunk chunk = NULL;
    bool own_transaction = false;
    int rc = check_text(batch, table);
    if (rc)
        return rc;

    /* conn->in_transaction also knows of transactions opened through execute: a failed
     * BEGIN inside one would abort it. */
    if (!conn->in_transaction) {
        if ((rc = mdm_duckdb_run(conn, "BEGIN TRANSACTION", "cannot begin a transaction")))
            return rc;
        own_transaction = true;
    }
    if ((rc = open_appender(conn, table, batch, &app, &types)))
        goto cleanup;
    chunk = duckdb_create_data_chunk(types, ncols);
    if ((rc = append_chunks(conn, table, app, chunk, batch, own_transaction)))
        goto cleanup;
    if (duckdb_appender_close(app) != DuckDBSuccess) {
        rc = appender_failure(conn, app, table, own_transaction);
        goto cleanup;
    }
    duckdb_appender_destroy(&app);
    if (own_transaction) {
        own_transaction = false;
        duckdb_result res;
        if (duckdb_query(conn->con, "COMMIT", &res) != DuckDBSuccess) {
            const char *err = duckdb_result_error(&res);
            rc = mdm_duckdb_fail(mdm_duckdb_classify(err, MDM_EBACKEND), err,
                                 "cannot commit the append to table '%s' in %s", table,
                                 conn->path);
            duckdb_destroy_result(&res);
            mdm_duckdb_run(conn, "ROLLBACK", NULL);
            goto cleanup;
        }
        duckdb_destroy_result(&res);
    }

cleanup:
    if (app)
        duckdb_appender_destroy(&app);
    if (chunk)
        duckdb_destroy_data_chunk(&chunk);
    for (size_t c = 0; types && c < ncols; c++)
        duckdb_destroy_logical_type(&types[c]);
    free(types);
    if (own_transaction) {
        /* Keep this call's error: the rollback's own outcome does not matter. */
        mdm_error err = *mdm_error_last();
        mdm_duckdb_run(conn, "ROLLBACK", NULL);
        mdm_error_set(err.code, "%s", err.message);
    }
    return rc;
}

int mdm_duckdb_check_batch(mdm_backend_conn *conn, const char *table, const mdm_batch *batch,
                           bool columns)
{
    int rc = check_text(batch, table);
    if (rc || !columns)
        return rc;
    duckdb_appender app = NULL;
    duckdb_logical_type *types = NULL;
    if ((rc = open_appender(conn, table, batch, &app, &types)))
        return rc;
    duckdb_appender_destroy(&app); /* nothing appended: nothing flushed */
    for (size_t c = 0; c < mdm_batch_ncols(batch); c++)
        duckdb_destroy_logical_type(&types[c]);
    free(types);
    return 0;
}
