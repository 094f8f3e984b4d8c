/* What the storage core shares about a store between its files. */
#ifndef MDM_STORAGE_STORE_H
#define MDM_STORAGE_STORE_H

#include "mdm/sys/backend.h"
#include "storage/pool.h"

/* The dataset a store points at (never NULL). */
const char *mdm_store_dataset(const mdm_store *store);

/* The pool a store draws on (borrowed). */
pool *mdm_store_pool(const mdm_store *store);

/* Replaces a checked-out connection's lost session and selects its dataset again. */
int mdm_store_reconnect(mdm_conn *conn);

#endif
