/* An inter-process lock per dataset name, so that two commands changing the same dataset
 * (two `register`s, register and remove, ...) never both proceed.
 *
 * flock(2) on <configs_path>/.locks/<name>.lock (directories created on demand). The
 * kernel releases it when the holder dies, however it dies. The holder writes
 * "<pid> <operation>" into the file so that a waiter can say who holds it. The file is
 * unlinked on release; a locker checks that the file it locked is still the one at the
 * path (else retries), so unlinking never lets two holders in. Locks are per open file:
 * two threads of one process exclude each other too, and the lock is not re-entrant. */
#ifndef MDM_DATASET_NAME_LOCK_H
#define MDM_DATASET_NAME_LOCK_H

#include <stdint.h>

#include "mdm/mdm.h"

typedef struct name_lock name_lock;

/* Takes the lock of dataset `name` (normalized here) without waiting. When another
 * process holds it: MDM_EBUSY "Dataset 'x' is being <its operation> by another process
 * (pid N)". `operation` says what we do, for others' messages: "registered",
 * "removed", "updated". */
int name_lock_try(name_lock **out, const mdm_config *cfg, const char *name,
                  const char *operation);

/* Same, waiting up to `timeout_ms` (0: try once; UINT64_MAX: forever). Past the
 * timeout: MDM_ETIMEOUT with the same message plus how long it waited. */
int name_lock_acquire(name_lock **out, const mdm_config *cfg, const char *name,
                      const char *operation, uint64_t timeout_ms);

/* Releases and frees (NULL is fine). */
void name_lock_release(name_lock *lock);

#endif
