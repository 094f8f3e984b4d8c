/* File-system helpers (fs.h). */
#include "core/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/strbuf.h"

/* Deeper trees than this are not mdm's: removal and sizing stop there with an error. */
#define TREE_DEPTH_MAX 64

static mdm_fs_fault_hook fault_hook;
static void *fault_ctx;

void mdm_fs_set_fault_hook(mdm_fs_fault_hook hook, void *ctx)
{
    fault_hook = hook;
    fault_ctx = ctx;
}

int mdm_fs_fault(const char *step, const char *path)
{
    if (fault_hook && fault_hook(step, path, fault_ctx) != 0)
        return mdm_error_set(MDM_EIO, "%s: simulated failure at step '%s'", path, step);
    return 0;
}

static int oom(void) { return mdm_error_set(MDM_ENOMEM, "out of memory"); }

/* The mdm homes configurations of this process resolved (the most recent few): the
 * one of them mdm_mkdirs creates is made private (0700), as it holds the registry and
 * may hold a password in mdm.yaml. */
#define HOMES_MAX 8
static char homes[HOMES_MAX][PATH_MAX];
static size_t homes_next;
static pthread_mutex_t homes_lock = PTHREAD_MUTEX_INITIALIZER;

void mdm_fs_note_home(const char *home)
{
    if (!home || strlen(home) >= PATH_MAX)
        return;
    pthread_mutex_lock(&homes_lock);
    bool known = false;
    for (size_t i = 0; i < HOMES_MAX && !known; i++)
        known = strcmp(homes[i], home) == 0;
    if (!known) {
        size_t len = strlen(home);
        while (len > 1 && home[len - 1] == '/')
            len--; /* mdm_mkdirs compares without the trailing slash */
        snprintf(homes[homes_next], PATH_MAX, "%.*s", (int)len, home);
        homes_next = (homes_next + 1) % HOMES_MAX;
    }
    pthread_mutex_unlock(&homes_lock);
}

static bool is_home(const char *dir)
{
    pthread_mutex_lock(&homes_lock);
    bool found = false;
    for (size_t i = 0; i < HOMES_MAX && !found; i++)
        found = homes[i][0] && strcmp(homes[i], dir) == 0;
    pthread_mutex_unlock(&homes_lock);
    return found;
}

int mdm_mkdirs(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return oom();
    int rc = 0;
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, is_home(copy) ? 0700 : 0755) != 0 && errno != EEXIST) {
            rc = mdm_error_set(MDM_EIO, "cannot create directory %s: %s", copy, strerror(errno));
            break;
        }
        *p = saved;
        if (!saved)
            break;
    }
    free(copy);
    return rc;
}

int mdm_fs_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return mdm_error_set(MDM_EIO, "cannot open directory %s: %s", dir, strerror(errno));
    int rc = 0;
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = mdm_error_set(MDM_EIO, "cannot sync directory %s: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

int mdm_fs_sync_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return mdm_error_set(MDM_EIO, "cannot read %s: %s", dir, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0)
            rc = mdm_error_set(MDM_EIO, "cannot sync %s/%s: %s", dir, e->d_name, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    closedir(d);
    return rc ? rc : mdm_fs_sync_dir(dir);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static int write_all(int fd, const char *data, size_t len, const char *path)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return mdm_error_set(MDM_EIO, "cannot write %s: %s", path, strerror(errno));
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int mdm_fs_write_atomic(const char *path, const char *data, size_t len)
{
    static atomic_uint counter;
    char *dir = dir_of(path);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    strbuf tmp = STRBUF_INIT;
    int fd = -1, rc = 0;
    bool keep_tmp = false;
    if (!dir)
        return oom();
    strbuf_appendf(&tmp, "%s/.%s.tmp.%ld.%u", dir, base, (long)getpid(),
                   atomic_fetch_add(&counter, 1));
    if (!strbuf_cstr(&tmp)) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = mdm_error_set(MDM_EIO, "cannot write %s (temporary %s): %s", path, tmp.data,
                           strerror(errno));
        goto cleanup;
    }
    if ((rc = write_all(fd, data, len, tmp.data)) != 0)
        goto cleanup;
    if (fsync(fd) != 0) {
        rc = mdm_error_set(MDM_EIO, "cannot sync %s: %s", tmp.data, strerror(errno));
        goto cleanup;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = mdm_error_set(MDM_EIO, "cannot write %s: %s", tmp.data, strerror(errno));
        goto cleanup;
    }
    fd = -1;
    if ((rc = mdm_fs_fault("temp-written", path)) != 0) {
        keep_tmp = true; /* what a crash here leaves */
        goto cleanup;
    }
    if (rename(tmp.data, path) != 0) {
        rc = mdm_error_set(MDM_EIO, "cannot rename %s to %s: %s", tmp.data, path, strerror(errno));
        goto cleanup;
    }
    if ((rc = mdm_fs_fault("renamed", path)) != 0) {
        keep_tmp = true;
        goto cleanup;
    }
    rc = mdm_fs_sync_dir(dir);
cleanup:
    if (fd >= 0)
        close(fd);
    if (rc && !keep_tmp && tmp.data)
        unlink(tmp.data);
    strbuf_free(&tmp);
    free(dir);
    return rc;
}

bool mdm_fs_process_gone(long pid)
{
    return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

size_t mdm_fs_pid_entries(long *pids, size_t max, const char *dir, const char *prefix)
{
    size_t plen = strlen(prefix), n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && n < max && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, plen) != 0)
            continue;
        char *end = NULL;
        long pid = strtol(e->d_name + plen, &end, 10);
        if (end != e->d_name + plen && *end == '\0' && pid > 0)
            pids[n++] = pid;
    }
    if (d)
        closedir(d);
    return n;
}

void mdm_fs_remove_dead_temps(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t blen = strlen(base);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (n[0] != '.' || strncmp(n + 1, base, blen) != 0 || strncmp(n + 1 + blen, ".tmp.", 5))
            continue;
        if (mdm_fs_process_gone(strtol(n + 1 + blen + 5, NULL, 10)) &&
            unlinkat(dirfd(d), n, 0) == 0)
            MDM_DEBUG("removed %s/%s, left by an interrupted write", dir, n);
    }
    closedir(d);
}

int mdm_fs_read_file(char **out, size_t *len, bool *found, const char *path)
{
    *out = NULL;
    *len = 0;
    *found = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return mdm_error_set(MDM_EIO, "cannot open %s: %s", path, strerror(errno));
    }
    int rc = 0;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) != 0) {
        rc = mdm_error_set(MDM_EIO, "cannot read %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = mdm_error_set(MDM_EIO, "cannot read %s: not a regular file", path);
        goto cleanup;
    }
    size_t cap = (size_t)st.st_size + 1, used = 0;
    if (!(buf = malloc(cap))) {
        rc = oom();
        goto cleanup;
    }
    for (;;) {
        if (used + 1 >= cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                rc = oom();
                goto cleanup;
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + used, cap - used - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = mdm_error_set(MDM_EIO, "cannot read %s: %s", path, strerror(errno));
            goto cleanup;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    *out = buf;
    buf = NULL;
    *len = used;
    *found = true;
cleanup:
    free(buf);
    close(fd);
    return rc;
}

bool mdm_fs_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* The entries of directory fd `dir` (consumed), removed depth first. `path` is for
 * messages. Thread-safe: no working directory, no globals. */
static int remove_children(int dir, const char *path, int depth)
{
    DIR *d = fdopendir(dir);
    if (!d) {
        close(dir);
        return mdm_error_set(MDM_EIO, "cannot read %s: %s", path, strerror(errno));
    }
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        const char *n = e->d_name;
        if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT)
                continue;
            rc = mdm_error_set(MDM_EIO, "cannot remove %s/%s: %s", path, n, strerror(errno));
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            if (depth >= TREE_DEPTH_MAX) {
                rc = mdm_error_set(MDM_EIO, "cannot remove %s/%s: nested too deep", path, n);
                break;
            }
            int child = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (child < 0) {
                rc = mdm_error_set(MDM_EIO, "cannot remove %s/%s: %s", path, n, strerror(errno));
                break;
            }
            strbuf sub = STRBUF_INIT;
            strbuf_appendf(&sub, "%s/%s", path, n);
            rc = remove_children(child, sub.data ? sub.data : path, depth + 1);
            strbuf_free(&sub);
            if (!rc && unlinkat(dirfd(d), n, AT_REMOVEDIR) != 0 && errno != ENOENT)
                rc = mdm_error_set(MDM_EIO, "cannot remove %s/%s: %s", path, n, strerror(errno));
        } else if (unlinkat(dirfd(d), n, 0) != 0 && errno != ENOENT) {
            rc = mdm_error_set(MDM_EIO, "cannot remove %s/%s: %s", path, n, strerror(errno));
        }
    }
    closedir(d);
    return rc;
}

int mdm_fs_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        return mdm_error_set(MDM_EIO, "cannot remove %s: %s", path, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) != 0 && errno != ENOENT)
            return mdm_error_set(MDM_EIO, "cannot remove %s: %s", path, strerror(errno));
        return 0;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return mdm_error_set(MDM_EIO, "cannot remove %s: %s", path, strerror(errno));
    int rc = remove_children(fd, path, 0);
    if (!rc && rmdir(path) != 0 && errno != ENOENT)
        rc = mdm_error_set(MDM_EIO, "cannot remove %s: %s", path, strerror(errno));
    return rc;
}

static int add_sizes(uint64_t *bytes, int dir, const char *path, int depth)
{
    DIR *d = fdopendir(dir);
    if (!d) {
        close(dir);
        return mdm_error_set(MDM_EIO, "cannot measure %s: %s", path, strerror(errno));
    }
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        const char *n = e->d_name;
        if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* gone meanwhile */
        if (S_ISREG(st.st_mode)) {
            *bytes += (uint64_t)st.st_size;
        } else if (S_ISDIR(st.st_mode) && depth < TREE_DEPTH_MAX) {
            int child = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (child >= 0) {
                strbuf sub = STRBUF_INIT;
                strbuf_appendf(&sub, "%s/%s", path, n);
                rc = add_sizes(bytes, child, sub.data ? sub.data : path, depth + 1);
                strbuf_free(&sub);
            }
        }
    }
    closedir(d);
    return rc;
}

int mdm_fs_tree_size(uint64_t *bytes, const char *path)
{
    *bytes = 0;
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        return mdm_error_set(MDM_EIO, "cannot measure %s: %s", path, strerror(errno));
    }
    if (S_ISREG(st.st_mode)) {
        *bytes = (uint64_t)st.st_size;
        return 0;
    }
    if (!S_ISDIR(st.st_mode))
        return 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return mdm_error_set(MDM_EIO, "cannot measure %s: %s", path, strerror(errno));
    return add_sizes(bytes, fd, path, 0);
}

int mdm_fs_rename(const char *from, const char *to)
{
    if (rename(from, to) != 0)
        return mdm_error_set(errno == EEXIST || errno == ENOTEMPTY ? MDM_EEXISTS : MDM_EIO,
                             "cannot move %s to %s: %s", from, to, strerror(errno));
    char *dir = dir_of(to);
    if (!dir)
        return oom();
    int rc = mdm_fs_sync_dir(dir);
    free(dir);
    return rc;
}

static int join(char **out, const char *fmt, const char *a, const char *b, const char *c)
{
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, fmt, a, b, c);
    if (!strbuf_cstr(&sb))
        return MDM_ENOMEM;
    *out = strbuf_detach(&sb);
    return 0;
}

int mdm_fs_dataset_dir(char **out, const mdm_config *cfg, const char *name)
{
    return join(out, "%s/%s%s", mdm_config_path(cfg, "datasets_path"), name, "");
}

int mdm_fs_dataset_file(char **out, const mdm_config *cfg, const char *name, const char *ext)
{
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "%s/%s/%s%s", mdm_config_path(cfg, "datasets_path"), name, name, ext);
    if (!strbuf_cstr(&sb))
        return MDM_ENOMEM;
    *out = strbuf_detach(&sb);
    return 0;
}

int mdm_fs_dataset_yaml(char **out, const mdm_config *cfg, const char *name)
{
    return join(out, "%s/%s%s", mdm_config_path(cfg, "configs_path"), name, ".yaml");
}
