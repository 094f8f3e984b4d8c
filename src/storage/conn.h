/* A checked-out connection: the backend's connection plus what the core tracks. */
#ifndef MDM_STORAGE_CONN_H
#define MDM_STORAGE_CONN_H

#include "mdm/sys/backend.h"

struct mdm_conn {
    const mdm_backend *backend;
    mdm_backend_conn *raw;
    mdm_store *store;
    bool in_transaction;
    bool failed;         /* an operation failed: validate before reuse */
    uint64_t created_ns;
    uint64_t last_used_ns;
};

#endif
