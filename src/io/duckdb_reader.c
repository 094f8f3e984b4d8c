/* Parquet and JSON through DuckDB's readers, streamed into typed batches.
 *
 * Which DuckDB function:
 *   Parquet  read_parquet(?), streamed row group by row group.
 *   JSON     read_json_auto(?, format='newline_delimited', sample_size=-1). The first
 *            non-blank byte (after a UTF-8 BOM, through gzip when compressed) says
 *            which layout: '{' is newline-delimited records, read as they are; '[' is
 *            a records array (pandas orient="records"), which DuckDB's format='array'
 *            reader would hold whole in memory (measured: peak ~ file size), so it is
 *            first rewritten one record per line into a temporary file
 *            (json_lines.c) in database.duckdb.temp_directory. Anything else is refused
 *            with the byte found. sample_size=-1 lets DuckDB see every record before
 *            deciding column types, so a late record never fails to convert (it costs
 *            a second pass).
 * The path is always a bound parameter, never spliced into SQL.
 *
 * Types: duckdb_columns.h (the mapping, and the "every value" checks that choose it).
 */
#include "io/duckdb_reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/strbuf.h"
#include "io/duckdb_columns.h"
#include "io/duckdb_engine.h"
#include "io/json_lines.h"

#define DEFAULT_BATCH_ROWS 10000

typedef struct duckdb_reader {
    io_reader base;
    char *path;
    io_format format;
    char *source;            /* "read_parquet(?)" or "read_json_auto(?, ...)" */
    char *lines_path;        /* a records array rewritten one record per line, or NULL */
    const char *read_path;   /* what DuckDB reads: path or lines_path */
    io_duckdb engine;
    bool engine_open;
    duckdb_prepared_statement stmt;
    duckdb_pending_result pending;
    duckdb_result result;
    bool result_open;
    mdm_field *fields;
    size_t nfields;
    mdm_batch *batch;
    size_t batch_rows;
    duckdb_data_chunk chunk;
    size_t chunk_pos, chunk_rows;
    uint64_t rows_delivered;
    bool done;
} duckdb_reader;

static void reader_close(io_reader *r);

/* DuckDB's message, cleaned, with the temporary one-record-per-line file (if any)
 * named as the user's file. */
static void describe(char *buf, size_t size, const duckdb_reader *r, const char *message)
{
    char clean[768];
    io_duckdb_clean_message(clean, sizeof clean, message);
    const char *at = r->lines_path ? strstr(clean, r->lines_path) : NULL;
    if (!at) {
        snprintf(buf, size, "%s", clean);
        return;
    }
    snprintf(buf, size, "%.*s%s (records array, as one record per line)%s", (int)(at - clean),
             clean, r->path, at + strlen(r->lines_path));
}

static int file_error(const duckdb_reader *r, const char *what, const char *message)
{
    char msg[1024];
    describe(msg, sizeof msg, r, message);
    return mdm_error_set(MDM_EINVALID, "%s: %s (%s)", r->path, what, msg);
}

static int duckdb_error(duckdb_reader *r, const char *message)
{
    char msg[1024];
    describe(msg, sizeof msg, r, message);
    return mdm_error_set(MDM_EBACKEND, "%s: %s", r->path, msg);
}

/* The first non-blank byte of a (possibly gzipped) file, after a UTF-8 BOM; -1 when the
 * file holds only blanks. */
static int first_byte(int *out, const char *path)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return mdm_error_set(MDM_EIO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char buf[4096];
    int n;
    bool start = true;
    *out = -1;
    while ((n = gzread(gz, buf, sizeof buf)) > 0) {
        int i = 0;
        if (start && n >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF)
            i = 3;
        start = false;
        for (; i < n; i++) {
            if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' && buf[i] != '\n') {
                *out = buf[i];
                gzclose(gz);
                return 0;
            }
        }
    }
    int err = 0;
    const char *msg = n < 0 ? gzerror(gz, &err) : NULL;
    int rc = n < 0 ? mdm_error_set(MDM_EINVALID, "%s: cannot read: %s", path, msg) : 0;
    gzclose(gz);
    return rc;
}

/* A records array goes to a temporary file, one record per line, in the configured
 * temp directory: DuckDB's array reader would hold the whole file in memory. */
static int rewrite_as_lines(duckdb_reader *r, const mdm_config *cfg)
{
    const char *dir = cfg ? mdm_config_str(cfg, "database.duckdb.temp_directory") : NULL;
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "%s/mdm-records-XXXXXX.jsonl", dir && *dir ? dir : "/tmp");
    if (!strbuf_cstr(&sb))
        return MDM_ENOMEM;
    r->lines_path = strbuf_detach(&sb);
    int fd = mkstemps(r->lines_path, 6);
    if (fd < 0) {
        int rc = mdm_error_set(MDM_EIO, "%s: cannot create a temporary file in %s: %s", r->path,
                               dir && *dir ? dir : "/tmp", strerror(errno));
        free(r->lines_path);
        r->lines_path = NULL;
        return rc;
    }
    close(fd);
    uint64_t records;
    int rc = io_json_array_to_lines(r->path, r->lines_path, &records);
    if (rc == 0 && records == 0)
        rc = mdm_error_set(MDM_EINVALID, "%s: no records (an empty array)", r->path);
    return rc;
}

static int build_source(duckdb_reader *r, const mdm_config *cfg)
{
    strbuf sb = STRBUF_INIT;
    r->read_path = r->path;
    if (r->format == IO_FORMAT_PARQUET) {
        strbuf_append(&sb, "read_parquet(?)");
    } else {
        int c;
        int rc = first_byte(&c, r->path);
        if (rc)
            return rc;
        if (c < 0)
            return mdm_error_set(MDM_EINVALID, "%s: empty file: no JSON records", r->path);
        if (c != '[' && c != '{')
            return mdm_error_set(MDM_EINVALID,
                                 "%s: not JSON records: starts with '%c' where a records array "
                                 "('[') or newline-delimited records ('{') was expected",
                                 r->path, c >= 0x20 && c < 0x7f ? c : '?');
        if (c == '[') {
            if ((rc = rewrite_as_lines(r, cfg)))
                return rc;
            r->read_path = r->lines_path;
        }
        strbuf_append(&sb, "read_json_auto(?, format='newline_delimited', sample_size=-1)");
    }
    if (!strbuf_cstr(&sb))
        return MDM_ENOMEM;
    r->source = strbuf_detach(&sb);
    return 0;
}

/* Prepares `sql` (which reads r->source) with the path bound. */
static int prepare(duckdb_reader *r, duckdb_prepared_statement *stmt, const char *sql,
                   const char *failure)
{
    if (duckdb_prepare(r->engine.conn, sql, stmt) != DuckDBSuccess) {
        int rc = failure ? file_error(r, failure, duckdb_prepare_error(*stmt))
                         : duckdb_error(r, duckdb_prepare_error(*stmt));
        duckdb_destroy_prepare(stmt);
        return rc;
    }
    if (duckdb_bind_varchar(*stmt, 1, r->read_path) != DuckDBSuccess) {
        duckdb_destroy_prepare(stmt);
        return mdm_error_set(MDM_EBACKEND, "%s: cannot bind the file name", r->path);
    }
    return 0;
}

/* Runs `sql` to completion (materialized); `failure` words the error of a file DuckDB
 * cannot read at all. */
static int run_query(duckdb_reader *r, duckdb_result *result, const char *sql, const char *failure)
{
    duckdb_prepared_statement stmt;
    int rc = prepare(r, &stmt, sql, failure);
    if (rc)
        return rc;
    if (duckdb_execute_prepared(stmt, result) != DuckDBSuccess) {
        rc = failure ? file_error(r, failure, duckdb_result_error(result))
                     : duckdb_error(r, duckdb_result_error(result));
        duckdb_destroy_result(result);
    }
    duckdb_destroy_prepare(&stmt);
    return rc;
}

static const char *unreadable(io_format format)
{
    return format == IO_FORMAT_PARQUET ? "not a Parquet file" : "not valid JSON records";
}

static int read_source_schema(duckdb_reader *r, io_duckdb_column **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    strbuf sql = STRBUF_INIT;
    strbuf_appendf(&sql, "SELECT * FROM %s LIMIT 0", r->source);
    if (!strbuf_cstr(&sql))
        return MDM_ENOMEM;
    duckdb_result result;
    int rc = run_query(r, &result, sql.data, unreadable(r->format));
    strbuf_free(&sql);
    if (rc)
        return rc;
    size_t n = (size_t)duckdb_column_count(&result);
    io_duckdb_column *cols = calloc(n ? n : 1, sizeof *cols);
    if (!cols) {
        duckdb_destroy_result(&result);
        return mdm_error_set(MDM_ENOMEM, "out of memory reading %s", r->path);
    }
    for (size_t c = 0; c < n; c++) {
        duckdb_logical_type lt = duckdb_column_logical_type(&result, c);
        cols[c].type = duckdb_get_type_id(lt);
        char *alias = duckdb_logical_type_get_alias(lt);
        cols[c].is_json = alias && strcmp(alias, "JSON") == 0;
        if (alias)
            duckdb_free(alias);
        if (cols[c].type == DUCKDB_TYPE_DECIMAL) {
            cols[c].width = duckdb_decimal_width(lt);
            cols[c].scale = duckdb_decimal_scale(lt);
        }
        duckdb_destroy_logical_type(&lt);
        cols[c].check = -1;
        cols[c].name = strdup(duckdb_column_name(&result, c));
        if (!cols[c].name) {
            rc = mdm_error_set(MDM_ENOMEM, "out of memory reading %s", r->path);
            break;
        }
    }
    duckdb_destroy_result(&result);
    *out = cols;
    *count = n;
    return rc;
}

/* One pass over the file answering every column's check at once. */
static int run_checks(duckdb_reader *r, io_duckdb_column *cols, size_t n)
{
    strbuf sql = STRBUF_INIT;
    int nchecks = 0;
    strbuf_append(&sql, "SELECT ");
    for (size_t c = 0; c < n; c++) {
        if (!io_duckdb_column_needs_check(&cols[c]))
            continue;
        if (nchecks > 0)
            strbuf_append(&sql, ", ");
        io_duckdb_column_append_check(&sql, &cols[c]);
        cols[c].check = nchecks++;
    }
    strbuf_appendf(&sql, " FROM %s", r->source);
    if (nchecks == 0) {
        strbuf_free(&sql);
        return 0;
    }
    if (!strbuf_cstr(&sql))
        return MDM_ENOMEM;
    duckdb_result result;
    int rc = run_query(r, &result, sql.data, NULL);
    strbuf_free(&sql);
    if (rc)
        return rc;
    for (size_t c = 0; c < n; c++) {
        if (cols[c].check < 0)
            continue;
        idx_t k = (idx_t)cols[c].check;
        /* NULL (no rows, or only NULLs) passes. */
        cols[c].check_passed = duckdb_value_is_null(&result, k, 0) || duckdb_value_boolean(&result, k, 0);
    }
    duckdb_destroy_result(&result);
    return 0;
}

/* JSON numbers: DuckDB's reader parses every number of a DOUBLE column as a double, so
 * an integer beyond 2^53 (say 18446744073709551617) would come out rounded. Read as
 * VARCHAR, the same numbers keep their text: one pass checks that every integer
 * literal survives the double exactly. A column where one does not is read as the
 * numbers' text instead, through an explicit column list (DESCRIBE's types, that
 * column VARCHAR). Fractions are taken as doubles: their text has no exact binary
 * value to keep. */
static int check_json_numbers(duckdb_reader *r, io_duckdb_column *cols, size_t n)
{
    strbuf sql = STRBUF_INIT;
    strbuf spec = STRBUF_INIT; /* {'v': 'VARCHAR', ...} */
    size_t ndouble = 0;
    strbuf_append(&sql, "SELECT ");
    strbuf_append_char(&spec, '{');
    for (size_t c = 0; c < n; c++) {
        if (cols[c].type != DUCKDB_TYPE_DOUBLE)
            continue;
        if (ndouble++ > 0) {
            strbuf_append(&sql, ", ");
            strbuf_append(&spec, ", ");
        }
        io_duckdb_column_append_json_number_check(&sql, &cols[c]);
        strbuf_append_literal(&spec, cols[c].name);
        strbuf_append(&spec, ": 'VARCHAR'");
    }
    strbuf_append_char(&spec, '}');
    int rc = 0;
    if (ndouble == 0)
        goto cleanup;
    strbuf_appendf(&sql, " FROM read_json_auto(?, format='newline_delimited', columns=%s)",
                   strbuf_cstr(&spec) ? spec.data : "");
    if (!strbuf_cstr(&sql)) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    duckdb_result result;
    if ((rc = run_query(r, &result, sql.data, NULL)))
        goto cleanup;
    size_t k = 0, lossy = 0;
    for (size_t c = 0; c < n; c++) {
        if (cols[c].type != DUCKDB_TYPE_DOUBLE)
            continue;
        bool ok = duckdb_value_is_null(&result, k, 0) || duckdb_value_boolean(&result, k, 0);
        k++;
        if (!ok) {
            cols[c].raw_number_text = true;
            cols[c].type = DUCKDB_TYPE_VARCHAR;
            lossy++;
        }
    }
    duckdb_destroy_result(&result);
    if (lossy == 0)
        goto cleanup;

    /* Every column with DuckDB's own type for it, the lossy ones as VARCHAR. */
    strbuf_reset(&sql);
    strbuf_appendf(&sql, "DESCRIBE SELECT * FROM %s", r->source);
    if (!strbuf_cstr(&sql)) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    if ((rc = run_query(r, &result, sql.data, NULL)))
        goto cleanup;
    if ((size_t)duckdb_row_count(&result) != n) {
        duckdb_destroy_result(&result);
        rc = mdm_error_set(MDM_EBACKEND, "%s: DuckDB describes %llu columns, not %zu", r->path,
                           (unsigned long long)duckdb_row_count(&result), n);
        goto cleanup;
    }
    strbuf_reset(&spec);
    strbuf_append_char(&spec, '{');
    for (size_t c = 0; c < n; c++) {
        char *type = duckdb_value_varchar(&result, 1, c);
        if (c > 0)
            strbuf_append(&spec, ", ");
        strbuf_append_literal(&spec, cols[c].name);
        strbuf_append(&spec, ": ");
        strbuf_append_literal(&spec, cols[c].raw_number_text ? "VARCHAR" : type ? type : "VARCHAR");
        duckdb_free(type);
    }
    strbuf_append_char(&spec, '}');
    duckdb_destroy_result(&result);
    strbuf_reset(&sql);
    strbuf_appendf(&sql, "read_json_auto(?, format='newline_delimited', columns=%s)",
                   strbuf_cstr(&spec) ? spec.data : "");
    if (!strbuf_cstr(&sql)) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    free(r->source);
    r->source = strbuf_detach(&sql);

cleanup:
    strbuf_free(&sql);
    strbuf_free(&spec);
    return rc;
}

static int start_stream(duckdb_reader *r, io_duckdb_column *cols, size_t n)
{
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "SELECT ");
    for (size_t c = 0; c < n; c++) {
        if (c > 0)
            strbuf_append(&sql, ", ");
        io_duckdb_column_project(&sql, &cols[c]);
    }
    strbuf_appendf(&sql, " FROM %s", r->source);
    if (!strbuf_cstr(&sql))
        return MDM_ENOMEM;
    int rc = prepare(r, &r->stmt, sql.data, NULL);
    strbuf_free(&sql);
    if (rc)
        return rc;
    if (duckdb_pending_prepared_streaming(r->stmt, &r->pending) != DuckDBSuccess) {
        rc = duckdb_error(r, duckdb_pending_error(r->pending));
        return rc;
    }
    if (duckdb_execute_pending(r->pending, &r->result) != DuckDBSuccess) {
        rc = duckdb_error(r, duckdb_result_error(&r->result));
        duckdb_destroy_result(&r->result);
        return rc;
    }
    r->result_open = true;
    /* The projection leaves only types copy_rows knows. */
    for (size_t c = 0; c < n; c++) {
        duckdb_type got = duckdb_column_type(&r->result, c);
        duckdb_type want = cols[c].mdm == MDM_TYPE_BOOL      ? DUCKDB_TYPE_BOOLEAN
                           : cols[c].mdm == MDM_TYPE_INT64   ? DUCKDB_TYPE_BIGINT
                           : cols[c].mdm == MDM_TYPE_FLOAT64 ? DUCKDB_TYPE_DOUBLE
                           : cols[c].mdm == MDM_TYPE_DATE    ? DUCKDB_TYPE_DATE
                           : cols[c].mdm == MDM_TYPE_TEXT    ? DUCKDB_TYPE_VARCHAR
                                                             : DUCKDB_TYPE_TIMESTAMP;
        if (got != want && !(want == DUCKDB_TYPE_TIMESTAMP && got == DUCKDB_TYPE_TIMESTAMP_TZ))
            return mdm_error_set(MDM_EBACKEND, "%s: column '%s' came back as DuckDB type %d, not %d",
                                 r->path, cols[c].name, (int)got, (int)want);
    }
    return 0;
}

static bool row_valid(const uint64_t *validity, idx_t row)
{
    return !validity || (validity[row >> 6] >> (row & 63)) & 1;
}

/* Copies rows [from, from + n) of the current chunk into the batch. */
static int copy_rows(duckdb_reader *r, size_t from, size_t n)
{
    size_t base = mdm_batch_nrows(r->batch);
    for (size_t i = 0; i < n; i++) {
        size_t row;
        int rc = mdm_batch_add_row(r->batch, &row);
        if (rc)
            return rc;
    }
    for (size_t c = 0; c < r->nfields; c++) {
        duckdb_vector vec = duckdb_data_chunk_get_vector(r->chunk, c);
        const uint64_t *validity = duckdb_vector_get_validity(vec);
        void *data = duckdb_vector_get_data(vec);
        mdm_type type = r->fields[c].type;
        for (size_t i = 0; i < n; i++) {
            idx_t src = from + i;
            size_t dst = base + i;
            if (!row_valid(validity, src))
                continue; /* rows start NULL */
            switch (type) {
            case MDM_TYPE_BOOL: mdm_batch_set_bool(r->batch, c, dst, ((bool *)data)[src]); break;
            case MDM_TYPE_INT64: mdm_batch_set_int64(r->batch, c, dst, ((int64_t *)data)[src]); break;
            case MDM_TYPE_FLOAT64: mdm_batch_set_float64(r->batch, c, dst, ((double *)data)[src]); break;
            case MDM_TYPE_DATE: {
                int32_t days = ((duckdb_date *)data)[src].days;
                if (days == INT32_MAX || days == -INT32_MAX)
                    return mdm_error_set(MDM_EINVALID, "%s row %llu: column '%s' holds an infinite date",
                                         r->path, (unsigned long long)(r->rows_delivered + dst + 1),
                                         r->fields[c].name);
                mdm_batch_set_date(r->batch, c, dst, days);
                break;
            }
            case MDM_TYPE_TIMESTAMP: {
                int64_t micros = ((int64_t *)data)[src];
                if (micros == INT64_MAX || micros == -INT64_MAX)
                    return mdm_error_set(MDM_EINVALID,
                                         "%s row %llu: column '%s' holds an infinite timestamp",
                                         r->path, (unsigned long long)(r->rows_delivered + dst + 1),
                                         r->fields[c].name);
                mdm_batch_set_timestamp(r->batch, c, dst, micros);
                break;
            }
            case MDM_TYPE_TEXT: {
                duckdb_string_t *s = &((duckdb_string_t *)data)[src];
                int rc = mdm_batch_set_text(r->batch, c, dst, duckdb_string_t_data(s),
                                            duckdb_string_t_length(*s));
                if (rc)
                    return rc;
                break;
            }
            }
        }
    }
    return 0;
}

static const mdm_field *reader_schema(io_reader *base, size_t *nfields)
{
    duckdb_reader *r = (duckdb_reader *)base;
    *nfields = r->nfields;
    return r->fields;
}

static int reader_next(io_reader *base, const mdm_batch **out)
{
    duckdb_reader *r = (duckdb_reader *)base;
    *out = NULL;
    if (r->done)
        return 0;
    if (r->batch)
        r->rows_delivered += mdm_batch_nrows(r->batch);
    mdm_batch_clear(r->batch);
    while (mdm_batch_nrows(r->batch) < r->batch_rows) {
        if (!r->chunk) {
            r->chunk = duckdb_fetch_chunk(r->result);
            if (!r->chunk) {
                const char *err = duckdb_result_error(&r->result);
                if (err)
                    return duckdb_error(r, err);
                r->done = true;
                break;
            }
            r->chunk_pos = 0;
            r->chunk_rows = (size_t)duckdb_data_chunk_get_size(r->chunk);
        }
        size_t room = r->batch_rows - mdm_batch_nrows(r->batch);
        size_t n = r->chunk_rows - r->chunk_pos < room ? r->chunk_rows - r->chunk_pos : room;
        int rc = copy_rows(r, r->chunk_pos, n);
        if (rc)
            return rc;
        r->chunk_pos += n;
        if (r->chunk_pos == r->chunk_rows)
            duckdb_destroy_data_chunk(&r->chunk);
    }
    if (mdm_batch_nrows(r->batch) == 0)
        return 0;
    *out = r->batch;
    return 1;
}

static void reader_close(io_reader *base)
{
    duckdb_reader *r = (duckdb_reader *)base;
    if (r->chunk)
        duckdb_destroy_data_chunk(&r->chunk);
    if (r->result_open)
        duckdb_destroy_result(&r->result);
    if (r->pending)
        duckdb_destroy_pending(&r->pending);
    if (r->stmt)
        duckdb_destroy_prepare(&r->stmt);
    if (r->engine_open)
        io_duckdb_close(&r->engine);
    mdm_batch_free(r->batch);
    if (r->fields) {
        for (size_t c = 0; c < r->nfields; c++)
            free((char *)r->fields[c].name);
        free(r->fields);
    }
    if (r->lines_path) {
        unlink(r->lines_path);
        free(r->lines_path);
    }
    free(r->source);
    free(r->path);
    free(r);
}

static const io_reader_ops duckdb_reader_ops = {
    .schema = reader_schema,
    .next = reader_next,
    .close = reader_close,
};

static int check_readable(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return mdm_error_set(errno == ENOENT ? MDM_ENOTFOUND : MDM_EIO, "%s: %s", path,
                             strerror(errno));
    if (S_ISDIR(st.st_mode))
        return mdm_error_set(MDM_EINVALID, "%s: is a directory, not a file", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return mdm_error_set(MDM_EIO, "%s: cannot open: %s", path, strerror(errno));
    fclose(f);
    if (st.st_size == 0)
        return mdm_error_set(MDM_EINVALID, "%s: empty file", path);
    return 0;
}

int io_duckdb_reader_open(io_reader **out, const char *path, io_format format,
                          const mdm_config *cfg)
{
    *out = NULL;
    if (format == IO_FORMAT_EXCEL)
        return mdm_error_set(MDM_ENOTSUP, "%s: Excel files are not supported; save the sheet as CSV",
                             path);
    if (format != IO_FORMAT_PARQUET && format != IO_FORMAT_JSON)
        return mdm_error_set(MDM_EINVALID, "%s: DuckDB reads Parquet and JSON here, not %s", path,
                             format == IO_FORMAT_CSV ? "csv" : "tsv");
    int rc = check_readable(path);
    if (rc)
        return rc;

    io_duckdb_column *cols = NULL;
    size_t ncols = 0;
    duckdb_reader *r = calloc(1, sizeof *r);
    if (!r)
        return mdm_error_set(MDM_ENOMEM, "out of memory opening %s", path);
    r->base.ops = &duckdb_reader_ops;
    r->format = format;
    r->path = strdup(path);
    if (!r->path) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory opening %s", path);
        goto cleanup;
    }
    int64_t rows = cfg ? mdm_config_int(cfg, "performance.batch_size") : DEFAULT_BATCH_ROWS;
    r->batch_rows = rows > 0 ? (size_t)rows : DEFAULT_BATCH_ROWS;
    if ((rc = build_source(r, cfg)))
        goto cleanup;
    if ((rc = io_duckdb_open(&r->engine, NULL, NULL, cfg, path)))
        goto cleanup;
    r->engine_open = true;
    if ((rc = read_source_schema(r, &cols, &ncols)))
        goto cleanup;
    if (ncols == 0) {
        rc = mdm_error_set(MDM_EINVALID, "%s: no columns", path);
        goto cleanup;
    }
    if (format == IO_FORMAT_JSON && (rc = check_json_numbers(r, cols, ncols)))
        goto cleanup;
    if ((rc = run_checks(r, cols, ncols)))
        goto cleanup;
    if ((rc = start_stream(r, cols, ncols)))
        goto cleanup;
    r->fields = calloc(ncols, sizeof *r->fields);
    if (!r->fields) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory opening %s", path);
        goto cleanup;
    }
    r->nfields = ncols;
    for (size_t c = 0; c < ncols; c++) {
        r->fields[c].name = cols[c].name; /* moved */
        r->fields[c].type = cols[c].mdm;
        cols[c].name = NULL;
    }
    rc = mdm_batch_new(&r->batch, r->fields, r->nfields, r->batch_rows);

cleanup:
    if (cols) {
        for (size_t c = 0; c < ncols; c++)
            free(cols[c].name);
        free(cols);
    }
    if (rc) {
        reader_close(&r->base);
        return rc;
    }
    *out = &r->base;
    return 0;
}
