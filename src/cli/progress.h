/* Progress of long operations on stderr, only when stderr is a terminal. */
#ifndef MDM_CLI_PROGRESS_H
#define MDM_CLI_PROGRESS_H

#include "mdm/dataset.h"

/* An mdm_register_progress_fn: rows, MB/s and ETA per table, redrawn in place. */
void cli_progress_register(const mdm_register_progress *p, void *ctx);

#endif
