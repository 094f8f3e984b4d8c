/* Reading a whole small file (configuration, registry YAML) without ever blocking on
 * something that is not a regular file: a FIFO, a terminal or a socket named where a
 * file is expected is refused at once instead of hanging the process. */
#ifndef MDM_CORE_FS_READ_H
#define MDM_CORE_FS_READ_H

#include <stddef.h>

/* Opens `path` for reading without blocking (O_NONBLOCK, so that opening a FIFO with
 * no writer returns at once), checks with fstat that it is a regular file, then reads
 * it. Returns the descriptor (>= 0, O_NONBLOCK cleared, close-on-exec) or a negative
 * MDM_E* code: MDM_ENOTFOUND for a missing file (message set too), MDM_EINVALID
 * "<path> is a FIFO, not a regular file; mdm reads only regular files" for anything
 * else than a regular file (directories included), MDM_EIO for other failures. */
int fs_open_regular(const char *path);

/* The whole of regular file `path` in *out (NUL-terminated, *len bytes without the
 * NUL; the caller frees it). Errors as fs_open_regular, and MDM_EINVALID "<path> is
 * larger than N bytes" when the file holds more than `max_bytes` (0: no limit). */
int fs_read_regular_file(char **out, size_t *len, const char *path, size_t max_bytes);

/* "a FIFO", "a directory", "a socket", ... for the file type bits of st_mode. */
const char *fs_kind_name(unsigned int mode);

#endif
