/* Parquet export through DuckDB: batches go through an appender into a table of a
 * temporary on-disk DuckDB database (in a hidden directory beside the destination, so
 * memory stays within database.duckdb.memory_limit whatever the table's size, and the
 * spill files land on the destination's file system), then
 * COPY ... TO (FORMAT parquet, COMPRESSION x) writes the file under a temporary name
 * that is renamed into place. The directory goes away at the end in every case. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/strbuf.h"
#include "io/compress.h"
#include "io/duckdb_engine.h"
#include "io/export_internal.h"

typedef struct parquet_writer {
    io_writer base;
    char *work_dir;      /* the temporary DuckDB database and its spill files */
    char *temp_output;   /* the Parquet file until renamed */
    io_duckdb engine;
    bool engine_open;
    duckdb_appender appender;
    duckdb_logical_type *types;
    duckdb_data_chunk chunk;
} parquet_writer;

static const char *const TABLE = "export";

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

static const char *copy_compression(io_compression c)
{
    switch (c) {
    case IO_COMPRESSION_GZIP: return "gzip";
    case IO_COMPRESSION_ZSTD: return "zstd";
    case IO_COMPRESSION_LZ4: return "lz4";
    case IO_COMPRESSION_NONE: return "uncompressed";
    default: return "snappy";
    }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int appender_error(parquet_writer *pw)
{
    char msg[768];
    io_duckdb_clean_message(msg, sizeof msg, duckdb_appender_error(pw->appender));
    return mdm_error_set(MDM_EBACKEND, "%s: %s", pw->base.path, msg);
}

static int parquet_start(io_writer *w)
{
    parquet_writer *pw = (parquet_writer *)w;
    strbuf sql = STRBUF_INIT;
    char *db_path = NULL;
    int rc = io_temp_path_beside(&pw->work_dir, w->path, "parquet.d");
    if (rc)
        goto cleanup;
    if (mkdir(pw->work_dir, 0700) != 0) {
        rc = mdm_error_set(MDM_EIO, "%s: cannot create a working directory beside it: %s",
                           w->path, strerror(errno));
        free(pw->work_dir);
        pw->work_dir = NULL;
        goto cleanup;
    }
    strbuf_appendf(&sql, "%s/export.duckdb", pw->work_dir);
    if (!strbuf_cstr(&sql)) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    db_path = strbuf_detach(&sql);
    if ((rc = io_duckdb_open(&pw->engine, db_path, pw->work_dir, w->options.cfg, w->path)))
        goto cleanup;
    pw->engine_open = true;

    strbuf_append(&sql, "CREATE TABLE ");
    strbuf_append_ident(&sql, TABLE);
    strbuf_append(&sql, " (");
    for (size_t c = 0; c < w->nfields; c++) {
        if (c > 0)
            strbuf_append(&sql, ", ");
        strbuf_append_ident(&sql, w->fields[c].name);
        strbuf_appendf(&sql, " %s", sql_type(w->fields[c].type));
    }
    strbuf_append(&sql, ")");
    if (!strbuf_cstr(&sql)) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    if ((rc = io_duckdb_run(&pw->engine, sql.data, w->path)))
        goto cleanup;
    if (duckdb_appender_create(pw->engine.conn, NULL, TABLE, &pw->appender) != DuckDBSuccess) {
        rc = appender_error(pw);
        goto cleanup;
    }
    pw->types = calloc(w->nfields, sizeof *pw->types);
    if (!pw->types) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory starting %s", w->path);
        goto cleanup;
    }
    for (size_t c = 0; c < w->nfields; c++)
        pw->types[c] = duckdb_create_logical_type(storage_type(w->fields[c].type));
    pw->chunk = duckdb_create_data_chunk(pw->types, w->nfields);
    if (!pw->chunk)
        rc = mdm_error_set(MDM_ENOMEM, "out of memory starting %s", w->path);

cleanup:
    strbuf_free(&sql);
    free(db_path);
    return rc;
}

/* Rows [from, from + n) of one batch column into one chunk vector. */
static void fill_vector(duckdb_vector vec, const mdm_batch *batch, size_t col, mdm_type type,
                        size_t from, size_t n)
{
    const uint8_t *nulls = mdm_batch_nulls(batch, col) + from;
    bool any_null = memchr(nulls, 1, n) != NULL;
    uint64_t *validity = NULL;
    if (any_null) {
        duckdb_vector_ensure_validity_writable(vec);
        validity = duckdb_vector_get_validity(vec);
        for (size_t i = 0; i < n; i++)
            if (nulls[i])
                duckdb_validity_set_row_invalid(validity, i);
    }
    if (type == MDM_TYPE_TEXT) {
        for (size_t i = 0; i < n; i++) {
            if (nulls[i])
                continue;
            size_t len;
            const char *s = mdm_batch_text(batch, col, from + i, &len);
            duckdb_vector_assign_string_element_len(vec, i, s, len);
        }
        return;
    }
    size_t width = type == MDM_TYPE_BOOL ? 1 : type == MDM_TYPE_DATE ? 4 : 8;
    const unsigned char *src = (const unsigned char *)mdm_batch_data(batch, col) + from * width;
    memcpy(duckdb_vector_get_data(vec), src, n * width);
}

static int parquet_write(io_writer *w, const mdm_batch *batch)
{
    parquet_writer *pw = (parquet_writer *)w;
    size_t nrows = mdm_batch_nrows(batch);
    size_t step = (size_t)duckdb_vector_size();
    for (size_t from = 0; from < nrows; from += step) {
        size_t n = nrows - from < step ? nrows - from : step;
        duckdb_data_chunk_reset(pw->chunk);
        for (size_t c = 0; c < w->nfields; c++)
            fill_vector(duckdb_data_chunk_get_vector(pw->chunk, c), batch, c, w->fields[c].type,
                        from, n);
        duckdb_data_chunk_set_size(pw->chunk, n);
        if (duckdb_append_data_chunk(pw->appender, pw->chunk) != DuckDBSuccess)
            return appender_error(pw);
    }
    return 0;
}

static int sync_file(const char *path, const char *what)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return mdm_error_set(MDM_EIO, "%s: cannot sync: %s", what, strerror(err));
    }
    close(fd);
    return 0;
}

static void release_engine(parquet_writer *pw)
{
    if (pw->chunk)
        duckdb_destroy_data_chunk(&pw->chunk);
    if (pw->types) {
        for (size_t c = 0; c < pw->base.nfields; c++)
            duckdb_destroy_logical_type(&pw->types[c]);
        free(pw->types);
        pw->types = NULL;
    }
    if (pw->appender)
        duckdb_appender_destroy(&pw->appender);
    if (pw->engine_open) {
        io_duckdb_close(&pw->engine);
        pw->engine_open = false;
    }
}

static void parquet_abort(io_writer *w)
{
    parquet_writer *pw = (parquet_writer *)w;
    release_engine(pw);
    if (pw->temp_output) {
        unlink(pw->temp_output);
        free(pw->temp_output);
        pw->temp_output = NULL;
    }
    if (pw->work_dir) {
        nftw(pw->work_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(pw->work_dir);
        pw->work_dir = NULL;
    }
}

static int parquet_finish(io_writer *w)
{
    parquet_writer *pw = (parquet_writer *)w;
    strbuf sql = STRBUF_INIT;
    int rc = 0;
    if (duckdb_appender_close(pw->appender) != DuckDBSuccess) {
        rc = appender_error(pw);
        goto cleanup;
    }
    if ((rc = io_temp_path_beside(&pw->temp_output, w->path, "tmp")))
        goto cleanup;
    strbuf_append(&sql, "COPY ");
    strbuf_append_ident(&sql, TABLE);
    strbuf_append(&sql, " TO ");
    strbuf_append_literal(&sql, pw->temp_output);
    strbuf_appendf(&sql, " (FORMAT parquet, COMPRESSION %s)",
                   copy_compression(w->options.compression));
    if (!strbuf_cstr(&sql)) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    if ((rc = io_duckdb_run(&pw->engine, sql.data, w->path)))
        goto cleanup;
    release_engine(pw);
    if ((rc = sync_file(pw->temp_output, w->path)))
        goto cleanup;
    if (rename(pw->temp_output, w->path) != 0) {
        rc = mdm_error_set(MDM_EIO, "%s: cannot move the finished file into place: %s", w->path,
                           strerror(errno));
        goto cleanup;
    }
    free(pw->temp_output);
    pw->temp_output = NULL;

cleanup:
    strbuf_free(&sql);
    parquet_abort(w); /* the working directory goes in every case */
    return rc;
}

static const io_writer_ops parquet_ops = {
    .start = parquet_start,
    .write = parquet_write,
    .finish = parquet_finish,
    .abort = parquet_abort,
    .free = parquet_abort,
};

int io_parquet_writer_new(io_writer **out)
{
    parquet_writer *pw = calloc(1, sizeof *pw);
    if (!pw)
        return mdm_error_set(MDM_ENOMEM, "out of memory starting a Parquet export");
    pw->base.ops = &parquet_ops;
    *out = &pw->base;
    return 0;
}
