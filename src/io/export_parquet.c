/* Parquet export through DuckDB: the batches stream into
 * COPY (SELECT * FROM {batches}) TO '<temp>' (FORMAT parquet, COMPRESSION x)
 * on a private in-memory DuckDB (storage/duckdb_feed.h), whose threads encode and
 * compress row groups in parallel and in order, with memory bounded by the row groups
 * in flight. The file is written under a temporary name beside the destination, synced
 * and renamed into place; on failure it is removed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/strbuf.h"
#include "io/compress.h"
#include "io/duckdb_engine.h"
#include "io/export_internal.h"
#include "storage/duckdb_feed.h"

typedef struct parquet_writer {
    io_writer base;
    char *temp_output;   /* the Parquet file until renamed */
    io_duckdb engine;
    bool engine_open;
    mdm_duckdb_feed *feed;
} parquet_writer;

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

static int parquet_start(io_writer *w)
{
    parquet_writer *pw = (parquet_writer *)w;
    strbuf sql = STRBUF_INIT;
    int rc = io_temp_path_beside(&pw->temp_output, w->path, "tmp");
    if (rc)
        return rc;
    /* Created here so that an unwritable place fails now, not in DuckDB's thread. */
    int fd = open(pw->temp_output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        rc = mdm_error_set(MDM_EIO, "%s: cannot create: %s", w->path, strerror(errno));
        free(pw->temp_output);
        pw->temp_output = NULL;
        return rc;
    }
    close(fd);
    if ((rc = io_duckdb_open(&pw->engine, NULL, NULL, w->options.cfg, w->path)))
        return rc;
    pw->engine_open = true;
    strbuf_append(&sql, "COPY (SELECT * FROM {batches}) TO ");
    strbuf_append_literal(&sql, pw->temp_output);
    /* USE_TMP_FILE false: the file already exists (ours), and DuckDB would otherwise
     * write a tmp_ file of its own beside it, left behind by a failure. */
    strbuf_appendf(&sql, " (FORMAT parquet, COMPRESSION %s, USE_TMP_FILE false)",
                   copy_compression(w->options.compression));
    rc = strbuf_cstr(&sql) ? mdm_duckdb_feed_start(&pw->feed, pw->engine.conn, w->fields,
                                                   w->nfields, sql.data, w->path)
                           : MDM_ENOMEM;
    strbuf_free(&sql);
    return rc;
}

static int parquet_write(io_writer *w, const mdm_batch *batch)
{
    parquet_writer *pw = (parquet_writer *)w;
    return mdm_duckdb_feed_push(pw->feed, batch);
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
    mdm_duckdb_feed_abandon(pw->feed);
    pw->feed = NULL;
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
}

static int parquet_finish(io_writer *w)
{
    parquet_writer *pw = (parquet_writer *)w;
    int rc = mdm_duckdb_feed_finish(pw->feed);
    pw->feed = NULL;
    release_engine(pw);
    if (!rc)
        rc = sync_file(pw->temp_output, w->path);
    if (!rc && rename(pw->temp_output, w->path) != 0)
        rc = mdm_error_set(MDM_EIO, "%s: cannot move the finished file into place: %s", w->path,
                           strerror(errno));
    if (!rc) {
        free(pw->temp_output);
        pw->temp_output = NULL;
    }
    parquet_abort(w); /* a temporary file left by a failure goes */
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
