/* Operation history (mdm/dataset.h, mdm_history_*): the one-line notes the public API
 * functions make at their end. A note never fails the operation and keeps the calling
 * thread's error record as it was. */
#ifndef MDM_DATASET_HISTORY_H
#define MDM_DATASET_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "mdm/dataset.h"

/* The start of an operation (a monotonic clock, nanoseconds). */
int64_t history_start(void);

/* Records one operation that started at `t0` (history_start) and ended with `rc`;
 * rows and bytes -1 when unknown. Failures become a warning in the log. */
void history_note(const mdm_config *cfg, const char *type, const char *dataset, int64_t t0,
                  int64_t rows, int64_t bytes, int rc);

/* Total apparent size of the files (0 for a missing one). */
int64_t history_files_bytes(char *const *paths, size_t npaths);

#endif
