/* Operations on the datasets of a schema backend (MDM_BACKEND_CAP_SCHEMAS) through a
 * checked-out connection: the dataset layer's staging promotes and cleans up with them
 * instead of running the engine's own SQL. MDM_ENOTSUP when the backend lacks the slot. */
#ifndef MDM_STORAGE_CONN_DATASETS_H
#define MDM_STORAGE_CONN_DATASETS_H

#include "mdm/sys/backend.h"

/* Renames the connection's store's dataset to `to` (MDM_EEXISTS when it exists). */
int mdm_conn_dataset_rename(mdm_conn *conn, const char *to);
/* The datasets whose names start with `prefix`; free each name, then the array. */
int mdm_conn_dataset_list(mdm_conn *conn, const char *prefix, char ***names, size_t *count);

#endif
