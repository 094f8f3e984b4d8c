#include "core/fs_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mdm/mdm.h"

const char *fs_kind_name(unsigned int mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO (named pipe)";
    case S_IFSOCK: return "a socket";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    default: return "not a regular file";
    }
}

int fs_open_regular(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return mdm_error_set(MDM_ENOTFOUND, "%s: no such file", path);
        return mdm_error_set(MDM_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return mdm_error_set(MDM_EIO, "%s: cannot stat: %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mdm_error_set(MDM_EINVALID,
                             "%s is %s, not a regular file; mdm reads only regular files "
                             "(standard input and pipes are not supported)",
                             path, fs_kind_name(st.st_mode));
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        int err = errno;
        close(fd);
        return mdm_error_set(MDM_EIO, "%s: cannot open: %s", path, strerror(err));
    }
    return fd;
}

int fs_read_regular_file(char **out, size_t *len, const char *path, size_t max_bytes)
{
    *out = NULL;
    *len = 0;
    int fd = fs_open_regular(path);
    if (fd < 0)
        return fd;
    int rc = 0;
    size_t used = 0, cap = 4096;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > 0 && (size_t)st.st_size < SIZE_MAX / 2)
        cap = (size_t)st.st_size + 1;
    if (max_bytes && cap > max_bytes + 1)
        cap = max_bytes + 1;
    char *buf = malloc(cap);
    if (!buf) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory reading %s", path);
        goto cleanup;
    }
    for (;;) {
        if (used + 1 >= cap) {
            if (max_bytes && used > max_bytes)
                break;
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                rc = mdm_error_set(MDM_ENOMEM, "out of memory reading %s", path);
                goto cleanup;
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + used, cap - used - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = mdm_error_set(MDM_EIO, "%s: cannot read: %s", path, strerror(errno));
            goto cleanup;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    if (max_bytes && used > max_bytes) {
        rc = mdm_error_set(MDM_EINVALID, "%s is larger than %zu bytes", path, max_bytes);
        goto cleanup;
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    buf = NULL;
cleanup:
    free(buf);
    close(fd);
    return rc;
}
