/* Progress of long operations on stderr, only when stderr is a terminal. */
#ifndef MDM_CLI_PROGRESS_H
#define MDM_CLI_PROGRESS_H

#include "dataset/register.h"

/* A register_progress_fn: rows, MB/s and ETA per table, redrawn in place. */
void cli_progress_register(const register_progress *p, void *ctx);

#endif
