/* Export output streams: one buffer in front of the file or the compressor, a temporary
 * name beside the destination, rename on commit.
 *
 * zip: libzip builds archives from sources it pulls at zip_close, so it cannot take
 * bytes pushed as they are produced. The member is therefore written plain to a second
 * temporary file beside the destination and deflated into the archive at commit. Disk
 * use is the plain size plus the archive while committing; memory stays bounded, and
 * libzip writes the central directory (with ZIP64 records past 4 GB) itself. Deflate
 * level 6 as for gzip (and Python's zipfile); libzip's own default is 9, slower for
 * little gain.
 *
 * gzip and zstd compress on a worker thread, so that formatting the next buffer and
 * compressing the last one overlap (two buffers: the caller fills one while the worker
 * compresses and writes the other). The compressor state belongs to the worker until
 * it is joined; the final flush runs on the caller's thread after the join. */
#include "io/compress.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <zip.h>
#include <zlib.h>
#include <zstd.h>

#include "core/strbuf.h"

#define BUFFER_SIZE (256 * 1024)

struct io_ostream {
    io_compression compression;
    char *path;       /* destination */
    char *temp_path;  /* what is being written (the plain member for zip) */
    int fd;
    unsigned char *buf;
    size_t len;
    unsigned char *out; /* compressed output */
    size_t out_cap;
    z_stream gz;
    bool gz_ready;
    ZSTD_CStream *zstd;
    /* the worker (gzip, zstd) */
    bool threaded;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    unsigned char *spare;   /* the buffer the caller is not filling */
    unsigned char *handed;  /* full, for the worker; NULL once it is done with it */
    size_t handed_len;
    bool stop;
    bool sync_ready;        /* lock and changed were initialised */
    int worker_rc;
    char worker_message[sizeof(((mdm_error *)0)->message)];
};

static const char *const compression_names[] = {
    [IO_COMPRESSION_NONE] = "none",     [IO_COMPRESSION_GZIP] = "gzip",
    [IO_COMPRESSION_ZIP] = "zip",       [IO_COMPRESSION_ZSTD] = "zstd",
    [IO_COMPRESSION_SNAPPY] = "snappy", [IO_COMPRESSION_LZ4] = "lz4",
};

const char *io_compression_name(io_compression compression)
{
    if ((unsigned)compression < sizeof compression_names / sizeof *compression_names)
        return compression_names[compression];
    return "?";
}

int io_compression_parse(io_compression *out, const char *name)
{
    for (size_t i = 0; i < sizeof compression_names / sizeof *compression_names; i++) {
        if (strcasecmp(name, compression_names[i]) == 0) {
            *out = (io_compression)i;
            return 0;
        }
    }
    if (strcasecmp(name, "gz") == 0) {
        *out = IO_COMPRESSION_GZIP;
        return 0;
    }
    if (strcasecmp(name, "uncompressed") == 0) {
        *out = IO_COMPRESSION_NONE;
        return 0;
    }
    return mdm_error_set(MDM_EINVALID,
                         "Invalid compression '%s'. Must be one of: [none, zip, gzip, zstd, "
                         "snappy, lz4]",
                         name);
}

int io_temp_path_beside(char **out, const char *path, const char *what)
{
    static atomic_ulong counter;
    *out = NULL;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    strbuf sb = STRBUF_INIT;
    strbuf_append_len(&sb, path, dir_len);
    strbuf_appendf(&sb, ".%s.%ld.%lu.%s", base, (long)getpid(),
                   (unsigned long)atomic_fetch_add(&counter, 1), what);
    if (!strbuf_cstr(&sb))
        return MDM_ENOMEM;
    *out = strbuf_detach(&sb);
    return 0;
}

static int io_error(const char *what, const char *path, int err)
{
    return mdm_error_set(MDM_EIO, "%s: %s: %s", path, what, strerror(err));
}

static int write_all(io_ostream *s, const unsigned char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(s->fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return io_error("cannot write", s->path, errno);
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int gzip_push(io_ostream *s, const unsigned char *data, size_t len, int flush)
{
    s->gz.next_in = (unsigned char *)data;
    s->gz.avail_in = (uInt)len;
    for (;;) {
        s->gz.next_out = s->out;
        s->gz.avail_out = (uInt)s->out_cap;
        int zrc = deflate(&s->gz, flush);
        if (zrc == Z_STREAM_ERROR)
            return mdm_error_set(MDM_ERROR, "%s: gzip compression failed", s->path);
        int rc = write_all(s, s->out, s->out_cap - s->gz.avail_out);
        if (rc)
            return rc;
        if (flush == Z_FINISH ? zrc == Z_STREAM_END : s->gz.avail_in == 0 && s->gz.avail_out != 0)
            return 0;
    }
}

static int zstd_push(io_ostream *s, const unsigned char *data, size_t len, ZSTD_EndDirective mode)
{
    ZSTD_inBuffer in = {data, len, 0};
    for (;;) {
        ZSTD_outBuffer outb = {s->out, s->out_cap, 0};
        size_t left = ZSTD_compressStream2(s->zstd, &outb, &in, mode);
        if (ZSTD_isError(left))
            return mdm_error_set(MDM_ERROR, "%s: zstd compression failed: %s", s->path,
                                 ZSTD_getErrorName(left));
        int rc = write_all(s, s->out, outb.pos);
        if (rc)
            return rc;
        if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size)
            return 0;
    }
}

static int compress_block(io_ostream *s, const unsigned char *data, size_t len, bool final)
{
    switch (s->compression) {
    case IO_COMPRESSION_GZIP: return gzip_push(s, data, len, final ? Z_FINISH : Z_NO_FLUSH);
    case IO_COMPRESSION_ZSTD: return zstd_push(s, data, len, final ? ZSTD_e_end : ZSTD_e_continue);
    default: return write_all(s, data, len);
    }
}

static int flush_buffer(io_ostream *s, bool final)
{
    int rc = compress_block(s, s->buf, s->len, final);
    s->len = 0;
    return rc;
}

static void *worker_main(void *arg)
{
    io_ostream *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->handed && !s->stop)
            pthread_cond_wait(&s->changed, &s->lock);
        if (!s->handed)
            break;
        const unsigned char *data = s->handed;
        size_t len = s->handed_len;
        pthread_mutex_unlock(&s->lock);
        int rc = compress_block(s, data, len, false);
        pthread_mutex_lock(&s->lock);
        if (rc) { /* the message is this thread's: carry it to the caller's */
            s->worker_rc = rc;
            snprintf(s->worker_message, sizeof s->worker_message, "%s", mdm_error_last()->message);
        }
        s->handed = NULL;
        pthread_cond_broadcast(&s->changed);
        if (rc)
            break;
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static int worker_failure(io_ostream *s)
{
    return mdm_error_set(s->worker_rc, "%s", s->worker_message);
}

/* Gives the full buffer to the worker and continues in the other one. */
static int hand_off(io_ostream *s)
{
    pthread_mutex_lock(&s->lock);
    while (s->handed && !s->worker_rc)
        pthread_cond_wait(&s->changed, &s->lock);
    int failed = s->worker_rc;
    if (!failed) {
        s->handed = s->buf;
        s->handed_len = s->len;
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->lock);
    if (failed)
        return worker_failure(s);
    unsigned char *next = s->spare; /* the worker is done with it */
    s->spare = s->buf;
    s->buf = next;
    s->len = 0;
    return 0;
}

/* Lets the worker finish what it has and joins it; the caller owns everything after. */
static int stop_worker(io_ostream *s)
{
    if (!s->threaded)
        return 0;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->threaded = false;
    return s->worker_rc ? worker_failure(s) : 0;
}

static void stream_free(io_ostream *s)
{
    if (s->threaded)
        stop_worker(s);
    if (s->fd >= 0)
        close(s->fd);
    if (s->gz_ready)
        deflateEnd(&s->gz);
    ZSTD_freeCStream(s->zstd);
    if (s->sync_ready) {
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->changed);
    }
    free(s->buf);
    free(s->spare);
    free(s->out);
    free(s->path);
    free(s->temp_path);
    free(s);
}

int io_ostream_open(io_ostream **out, const char *path, io_compression compression)
{
    *out = NULL;
    if (compression != IO_COMPRESSION_NONE && compression != IO_COMPRESSION_GZIP &&
        compression != IO_COMPRESSION_ZIP && compression != IO_COMPRESSION_ZSTD)
        return mdm_error_set(MDM_EINVALID,
                             "%s: compression '%s' applies to Parquet only; files can be "
                             "none, zip, gzip or zstd",
                             path, io_compression_name(compression));
    io_ostream *s = calloc(1, sizeof *s);
    if (!s)
        return mdm_error_set(MDM_ENOMEM, "out of memory opening %s", path);
    s->fd = -1;
    s->compression = compression;
    int rc = MDM_ENOMEM;
    s->path = strdup(path);
    s->buf = malloc(BUFFER_SIZE);
    s->out_cap = BUFFER_SIZE;
    s->out = malloc(s->out_cap);
    if (!s->path || !s->buf || !s->out) {
        mdm_error_set(MDM_ENOMEM, "out of memory opening %s", path);
        goto fail;
    }
    if (compression == IO_COMPRESSION_GZIP) {
        /* windowBits 15 + 16: a gzip header and trailer around the deflate stream. */
        if (deflateInit2(&s->gz, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK) {
            rc = mdm_error_set(MDM_ENOMEM, "%s: cannot start gzip compression", path);
            goto fail;
        }
        s->gz_ready = true;
    } else if (compression == IO_COMPRESSION_ZSTD) {
        s->zstd = ZSTD_createCStream();
        if (!s->zstd ||
            ZSTD_isError(ZSTD_CCtx_setParameter(s->zstd, ZSTD_c_compressionLevel, 3))) {
            rc = mdm_error_set(MDM_ENOMEM, "%s: cannot start zstd compression", path);
            goto fail;
        }
    }
    if ((rc = io_temp_path_beside(&s->temp_path, path, "tmp")))
        goto fail;
    s->fd = open(s->temp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (s->fd < 0) {
        rc = io_error("cannot create a file beside it", path, errno);
        goto fail;
    }
    if (compression == IO_COMPRESSION_GZIP || compression == IO_COMPRESSION_ZSTD) {
        s->spare = malloc(BUFFER_SIZE);
        if (!s->spare) {
            rc = mdm_error_set(MDM_ENOMEM, "out of memory opening %s", path);
            goto fail_file;
        }
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->changed, NULL);
        if (pthread_create(&s->thread, NULL, worker_main, s) != 0) {
            pthread_mutex_destroy(&s->lock);
            pthread_cond_destroy(&s->changed);
            rc = mdm_error_set(MDM_ERROR, "%s: cannot start the compression thread", path);
            goto fail_file;
        }
        s->threaded = true;
        s->sync_ready = true;
    }
    *out = s;
    return 0;

fail_file:
    close(s->fd);
    s->fd = -1;
    unlink(s->temp_path);
fail:
    stream_free(s);
    return rc;
}

int io_ostream_write(io_ostream *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        size_t room = BUFFER_SIZE - s->len;
        size_t n = len < room ? len : room;
        memcpy(s->buf + s->len, p, n);
        s->len += n;
        p += n;
        len -= n;
        if (s->len == BUFFER_SIZE) {
            int rc = s->threaded ? hand_off(s) : flush_buffer(s, false);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int zip_error_message(zip_t *za, const char *path)
{
    return mdm_error_set(MDM_EIO, "%s: cannot write the zip archive: %s", path,
                         za ? zip_strerror(za) : "cannot create it");
}

/* Deflates the plain member file into a one-member archive at `zip_path`. */
static int build_zip(io_ostream *s, const char *zip_path)
{
    int zerr = 0;
    zip_t *za = zip_open(zip_path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        int rc = mdm_error_set(MDM_EIO, "%s: cannot create the zip archive: %s", s->path,
                               zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    const char *slash = strrchr(s->path, '/');
    const char *base = slash ? slash + 1 : s->path;
    size_t base_len = strlen(base);
    if (base_len > 4 && strcasecmp(base + base_len - 4, ".zip") == 0)
        base_len -= 4;
    char *member = strndup(base, base_len);
    int rc = 0;
    zip_source_t *src = member ? zip_source_file(za, s->temp_path, 0, 0) : NULL;
    if (!member) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory writing %s", s->path);
    } else if (!src) {
        rc = zip_error_message(za, s->path);
    } else {
        zip_int64_t index = zip_file_add(za, member, src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
        if (index < 0) {
            zip_source_free(src);
            rc = zip_error_message(za, s->path);
        } else if (zip_set_file_compression(za, (zip_uint64_t)index, ZIP_CM_DEFLATE, 6) < 0) {
            rc = zip_error_message(za, s->path);
        }
    }
    free(member);
    if (rc) {
        zip_discard(za);
        return rc;
    }
    if (zip_close(za) < 0) {
        rc = zip_error_message(za, s->path);
        zip_discard(za);
        unlink(zip_path);
    }
    return rc;
}

int io_ostream_commit(io_ostream *s)
{
    char *zip_path = NULL;
    int rc = stop_worker(s);
    if (rc == 0)
        rc = flush_buffer(s, true);
    if (rc)
        goto cleanup;
    if (fsync(s->fd) != 0) {
        rc = io_error("cannot sync", s->path, errno);
        goto cleanup;
    }
    int fd = s->fd;
    s->fd = -1;
    if (close(fd) != 0) {
        rc = io_error("cannot close", s->path, errno);
        goto cleanup;
    }
    const char *final_source = s->temp_path;
    if (s->compression == IO_COMPRESSION_ZIP) {
        if ((rc = io_temp_path_beside(&zip_path, s->path, "zip.tmp")))
            goto cleanup;
        if ((rc = build_zip(s, zip_path)))
            goto cleanup;
        final_source = zip_path;
    }
    if (rename(final_source, s->path) != 0) {
        rc = io_error("cannot move the finished file into place", s->path, errno);
        goto cleanup;
    }

cleanup:
    if (zip_path) {
        if (rc)
            unlink(zip_path);
        free(zip_path);
    }
    if (rc || s->compression == IO_COMPRESSION_ZIP)
        unlink(s->temp_path);
    stream_free(s);
    return rc;
}

void io_ostream_abort(io_ostream *s)
{
    if (!s)
        return;
    stop_worker(s); /* before its file goes away */
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    unlink(s->temp_path);
    stream_free(s);
}
