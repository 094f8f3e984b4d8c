/* Per-name inter-process locks with flock(2) (see name_lock.h). */
#include "dataset/name_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/strbuf.h"

struct name_lock {
    int fd;
    char *path;
};


/* "<pid> <operation>" of the holder, as far as it has written it. */
static void describe_holder(char *buf, size_t size, const char *path)
{
    char content[128] = "";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, content, sizeof content - 1);
        content[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    long pid = 0;
    char op[64] = "";
    if (sscanf(content, "%ld %63s", &pid, op) >= 1 && pid > 0)
        snprintf(buf, size, "being %s by another process (pid %ld)", op[0] ? op : "used", pid);
    else
        snprintf(buf, size, "being used by another process");
}

typedef enum { LOCK_TAKEN, LOCK_HELD_ELSEWHERE } lock_outcome;

/* One attempt: open the lock file, flock it without waiting, check it is still the
 * file at the path (a releasing holder may have unlinked it meanwhile). */
static int try_once(lock_outcome *outcome, int *fd_out, const char *path)
{
    for (;;) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return mdm_error_set(MDM_EIO, "cannot open lock file %s: %s", path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int err = errno;
            close(fd);
            if (err == EWOULDBLOCK || err == EINTR) {
                *outcome = LOCK_HELD_ELSEWHERE;
                return 0;
            }
            return mdm_error_set(MDM_EIO, "cannot lock %s: %s", path, strerror(err));
        }
        struct stat held, current;
        if (fstat(fd, &held) == 0 && stat(path, &current) == 0 && held.st_ino == current.st_ino &&
            held.st_dev == current.st_dev) {
            *outcome = LOCK_TAKEN;
            *fd_out = fd;
            return 0;
        }
        close(fd); /* we locked a file that was just unlinked: start again */
    }
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int name_lock_acquire(name_lock **out, const mdm_config *cfg, const char *name,
                      const char *operation, uint64_t timeout_ms)
{
    *out = NULL;
    char norm[512];
    int rc = mdm_dataset_name_normalize(norm, sizeof norm, name);
    if (rc)
        return rc;
    const char *configs = mdm_config_path(cfg, "configs_path");
    strbuf dir = STRBUF_INIT, path = STRBUF_INIT;
    strbuf_appendf(&dir, "%s/.locks", configs);
    strbuf_appendf(&path, "%s/.locks/%s.lock", configs, norm);
    int fd = -1;
    if (!strbuf_cstr(&dir) || !strbuf_cstr(&path)) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    /* configs_path may not exist yet on a fresh home. */
    if ((rc = mdm_mkdirs(dir.data)))
        goto cleanup;
    uint64_t start = mdm_now_ns(), pause_ms = 5;
    for (;;) {
        lock_outcome outcome;
        if ((rc = try_once(&outcome, &fd, path.data)) != 0)
            goto cleanup;
        if (outcome == LOCK_TAKEN)
            break;
        uint64_t waited_ms = (mdm_now_ns() - start) / 1000000;
        if (waited_ms >= timeout_ms) {
            char holder[160];
            describe_holder(holder, sizeof holder, path.data);
            if (timeout_ms == 0)
                rc = mdm_error_set(MDM_EBUSY, "Dataset '%s' is %s", norm, holder);
            else
                rc = mdm_error_set(MDM_ETIMEOUT, "Dataset '%s' is %s (waited %.1f s)", norm,
                                   holder, (double)waited_ms / 1000.0);
            goto cleanup;
        }
        uint64_t left = timeout_ms - waited_ms;
        sleep_ms(pause_ms < left ? pause_ms : left);
        if (pause_ms < 100)
            pause_ms *= 2;
    }
    char stamp[96];
    int n = snprintf(stamp, sizeof stamp, "%ld %s\n", (long)getpid(),
                     operation && *operation ? operation : "used");
    if (ftruncate(fd, 0) != 0 || pwrite(fd, stamp, (size_t)n, 0) != n)
        MDM_DEBUG("cannot note the holder in %s: %s", path.data, strerror(errno));
    name_lock *lock = malloc(sizeof *lock);
    if (!lock) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
        goto cleanup;
    }
    lock->fd = fd;
    lock->path = strbuf_detach(&path);
    fd = -1;
    *out = lock;
cleanup:
    if (fd >= 0) {
        unlink(path.data);
        close(fd);
    }
    strbuf_free(&dir);
    strbuf_free(&path);
    return rc;
}

int name_lock_try(name_lock **out, const mdm_config *cfg, const char *name,
                  const char *operation)
{
    return name_lock_acquire(out, cfg, name, operation, 0);
}

void name_lock_release(name_lock *lock)
{
    if (!lock)
        return;
    /* Unlink while still holding it: a waiter that opened the old file notices the path
     * now names another file (or none) and starts again. */
    unlink(lock->path);
    close(lock->fd);
    free(lock->path);
    free(lock);
}
