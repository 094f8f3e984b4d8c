/* The process-wide set of pools, one per (backend, target, config), and the monitor
 * thread that keeps them. */
#ifndef MDM_STORAGE_POOLS_H
#define MDM_STORAGE_POOLS_H

#include "storage/pool.h"

/* Finds the pool of the target or creates it (starting the monitor). Each call takes
 * a reference that pools_put drops; the last reference closes the pool. */
int pools_get(pool **out, const mdm_backend *backend, const mdm_target *target,
              const mdm_config *cfg);
void pools_put(pool *p);

/* Stats of every live pool; caller frees. */
int pools_stats_all(mdm_pool_stats **out, size_t *count);

/* For the tests: monitor threads alive now; a hook run by pools_put between telling
 * the monitor to stop and joining it (NULL in production). */
int pools_monitor_threads(void);
extern void (*pools_test_before_join)(void);

#endif
