/* Inside the logging module: log.c (levels, stderr, line formats, mdm_log_init) and
 * log_file.c (the log file: lazy open, size rotation with gzip, several processes). */
#ifndef MDM_CORE_LOG_INTERNAL_H
#define MDM_CORE_LOG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mdm/mdm.h"

/* Test hook: every message at `level` or above is also passed to `fn` (formatted, no
 * prefix, no newline), on the logging thread, one call at a time. NULL stops it.
 * `fn` must not call mdm_log. */
typedef void (*log_capture_fn)(mdm_log_level level, const char *message, void *ctx);
void log_set_capture(log_capture_fn fn, void *ctx, mdm_log_level level);

/* Points the file sink at `path` (NULL: no file), closing the current file. The file
 * and its directory are created on the first write. `max_bytes` <= 0: no rotation. */
int log_file_configure(const char *path, int64_t max_bytes, int backup_count);
/* Appends one whole line. Returns -1 when the file cannot be opened: the caller stops
 * sending lines until reconfigured. When something went wrong that the user should
 * hear about (once per problem), `warning` receives the text, else "". */
int log_file_write(const char *line, size_t len, char *warning, size_t warning_size);

#endif
