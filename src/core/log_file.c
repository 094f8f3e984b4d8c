/* The log file: opened (with its directory) on the first line, appended with O_APPEND,
 * rotated by size into gzipped backups (mdm.log -> mdm.log.1.gz -> mdm.log.2.gz ...).
 *
 * Threads of one process share one descriptor under `sink_lock`. Processes share the
 * file through flock(2) on it: writers hold LOCK_SH while appending, the rotator holds
 * LOCK_EX while it compresses, shifts the backups and truncates, so no process writes
 * into a file being compressed. Before each line a writer checks that the path still
 * names its descriptor's file (someone may have removed or replaced it) and reopens
 * otherwise, so a rotation elsewhere never leaves this process logging into the void. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/log_internal.h"

static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static struct {
    char *path;
    int64_t max_bytes;
    int backup_count;
    int fd;                 /* -1: not open (yet) */
    pid_t pid;              /* the process that opened fd */
    bool unusable;          /* could not be opened: stderr only until reconfigured */
    bool rotation_failed;   /* compression failed once: keep appending, warned */
    bool write_failed;      /* a write failed: warned once */
} sink = {.fd = -1};

static char copy_buffer[64 * 1024]; /* rotation only, under sink_lock */

/* Fork, the idiom mdm uses everywhere (pools, DuckDB registry): the lock is held across
 * fork() so the child inherits it unlocked and the state consistent, and what a process
 * opened is stamped with its pid. A forked child shares the parent's open file
 * description and with it the flock: seeing another pid on the descriptor, it drops
 * its copy (the parent's stays open) and opens its own. */
static void before_fork(void) { pthread_mutex_lock(&sink_lock); }
static void after_fork(void) { pthread_mutex_unlock(&sink_lock); }
static void install_atfork(void) { pthread_atfork(before_fork, after_fork, after_fork); }

static void close_sink(void)
{
    if (sink.fd >= 0)
        close(sink.fd);
    sink.fd = -1;
}

int log_file_configure(const char *path, int64_t max_bytes, int backup_count)
{
    pthread_once(&atfork_once, install_atfork);
    char *copy = NULL;
    if (path && !(copy = strdup(path)))
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    pthread_mutex_lock(&sink_lock);
    close_sink();
    free(sink.path);
    sink.path = copy;
    sink.max_bytes = max_bytes;
    sink.backup_count = backup_count < 0 ? 0 : backup_count;
    sink.unusable = sink.rotation_failed = sink.write_failed = false;
    pthread_mutex_unlock(&sink_lock);
    return 0;
}

/* mkdir -p of the directory holding `path`. */
static int make_parent_dirs(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return ENOMEM;
    int err = 0;
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; !err; p++) {
            if (*p != '/' && *p != '\0')
                continue;
            char saved = *p;
            *p = '\0';
            if (mkdir(dir, 0755) != 0 && errno != EEXIST)
                err = errno;
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    free(dir);
    return err;
}

/* Opens sink.path; returns 0 or an errno. */
static int open_sink(void)
{
    int fd = open(sink.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {
        int err = make_parent_dirs(sink.path);
        if (err)
            return err;
        fd = open(sink.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    }
    if (fd < 0)
        return errno;
    sink.fd = fd;
    sink.pid = getpid();
    return 0;
}

static void lock_file(int operation)
{
    while (flock(sink.fd, operation) != 0 && errno == EINTR)
        ;
}

/* True when sink.path still names the open file (not removed, renamed or replaced). */
static bool still_current(void)
{
    struct stat by_path, by_fd;
    if (stat(sink.path, &by_path) != 0 || fstat(sink.fd, &by_fd) != 0)
        return false;
    return by_path.st_dev == by_fd.st_dev && by_path.st_ino == by_fd.st_ino;
}

/* Makes sure sink.fd is open on the file the path names, locked with `operation`. */
static int ensure_current(int operation)
{
    if (sink.fd >= 0 && sink.pid != getpid())
        close_sink(); /* inherited across fork(): the parent's, not ours to lock */
    for (int attempt = 0; attempt < 3; attempt++) {
        if (sink.fd < 0) {
            int err = open_sink();
            if (err)
                return err;
        }
        lock_file(operation);
        if (still_current())
            return 0;
        close_sink(); /* also drops the lock */
    }
    /* The path keeps changing under us; write to what we have rather than spin. */
    int err = open_sink();
    if (!err)
        lock_file(operation);
    return err;
}

static int64_t file_size(void)
{
    struct stat st;
    return fstat(sink.fd, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* Compresses the first `size` bytes of the log into `gz_path`. Returns 0 or an errno. */
static int compress_log(const char *gz_path, int64_t size)
{
    int out = open(gz_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        return errno;
    int in = open(sink.path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        int err = errno;
        close(out);
        return err;
    }
    gzFile gz = gzdopen(out, "wb6");
    if (!gz) {
        close(in);
        close(out);
        return ENOMEM;
    }
    int err = 0;
    for (int64_t done = 0; done < size && !err;) {
        size_t want = size - done < (int64_t)sizeof copy_buffer ? (size_t)(size - done) : sizeof copy_buffer;
        ssize_t n = pread(in, copy_buffer, want, done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : 0;
            break; /* shorter than it was: someone truncated it; keep what was read */
        }
        if (gzwrite(gz, copy_buffer, (unsigned)n) != (int)n)
            err = EIO;
        done += n;
    }
    close(in);
    if (gzclose(gz) != Z_OK && !err)
        err = EIO;
    return err;
}

static char *backup_name(int number)
{
    size_t size = strlen(sink.path) + 32;
    char *name = malloc(size);
    if (name)
        snprintf(name, size, "%s.%d.gz", sink.path, number);
    return name;
}

/* Under LOCK_EX: mdm.log -> mdm.log.1.gz, older backups shifted up, the oldest
 * dropped, then the log truncated in place. Returns 0 or an errno. */
static int rotate(int64_t size)
{
    if (sink.backup_count == 0)
        return ftruncate(sink.fd, 0) == 0 ? 0 : errno;
    size_t tmp_size = strlen(sink.path) + 48;
    char *tmp = malloc(tmp_size);
    char *first = backup_name(1);
    int err = 0;
    if (!tmp || !first) {
        err = ENOMEM;
        goto cleanup;
    }
    snprintf(tmp, tmp_size, "%s.1.gz.tmp%ld", sink.path, (long)getpid());
    if ((err = compress_log(tmp, size))) {
        unlink(tmp);
        goto cleanup;
    }
    for (int i = sink.backup_count - 1; i >= 1 && !err; i--) {
        char *from = backup_name(i), *to = backup_name(i + 1);
        if (!from || !to)
            err = ENOMEM;
        else if (rename(from, to) != 0 && errno != ENOENT)
            err = errno;
        free(from);
        free(to);
    }
    if (!err && rename(tmp, first) != 0)
        err = errno;
    if (err)
        unlink(tmp);
    else if (ftruncate(sink.fd, 0) != 0)
        err = errno;
cleanup:
    free(tmp);
    free(first);
    return err;
}

static int write_all(const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(sink.fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int log_file_write(const char *line, size_t len, char *warning, size_t warning_size)
{
    int open_err = 0, rotate_err = 0, write_err = 0;
    warning[0] = '\0';
    pthread_mutex_lock(&sink_lock);
    if (!sink.path || sink.unusable) {
        pthread_mutex_unlock(&sink_lock);
        return -1;
    }
    if ((open_err = ensure_current(LOCK_SH)))
        goto unlock;
    int64_t size = file_size();
    if (sink.max_bytes > 0 && !sink.rotation_failed && size > 0 && size + (int64_t)len > sink.max_bytes) {
        /* Another process may rotate between our shared and exclusive lock: look again. */
        if ((open_err = ensure_current(LOCK_EX)))
            goto unlock;
        size = file_size();
        if (size > 0 && size + (int64_t)len > sink.max_bytes && (rotate_err = rotate(size)))
            sink.rotation_failed = true;
    }
    write_err = write_all(line, len);
    if (write_err && sink.write_failed)
        write_err = 0; /* said once already */
    if (write_err)
        sink.write_failed = true;
    lock_file(LOCK_UN);
unlock:
    if (open_err) {
        sink.unusable = true;
        close_sink();
        snprintf(warning, warning_size, "cannot open log file %s: %s; logging to stderr only", sink.path,
                 strerror(open_err));
    } else if (rotate_err) {
        snprintf(warning, warning_size, "cannot rotate log file %s: %s; appending without rotation",
                 sink.path, strerror(rotate_err));
    } else if (write_err) {
        snprintf(warning, warning_size, "cannot write log file %s: %s", sink.path, strerror(write_err));
    }
    pthread_mutex_unlock(&sink_lock);
    return open_err ? -1 : 0;
}
