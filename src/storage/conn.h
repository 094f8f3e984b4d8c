/* A checked-out connection: the backend's connection plus what the core tracks. */
#ifndef MDM_STORAGE_CONN_H
#define MDM_STORAGE_CONN_H

#include <sys/types.h>

#include "mdm/sys/backend.h"

struct mdm_conn {
    const mdm_backend *backend;
    mdm_backend_conn *raw;
    mdm_store *store;      /* the store it was checked out through */
    char *dataset;         /* dataset selected with use_dataset, if the backend has it */
    bool in_transaction;
    bool failed;           /* an operation failed: validate before reuse */
    bool session_changed;  /* SQL may have changed session settings: reset before reuse */
    bool echo;             /* database.sqlalchemy.echo: log operations at DEBUG */
    char *load_table;      /* the table of an open mdm_conn_load_begin, else NULL */

    /* Pool bookkeeping (pool.c), under the pool's lock unless noted. */
    uint64_t created_ns;
    uint64_t expires_ns;   /* 0: no lifetime limit */
    uint64_t last_used_ns; /* owner's thread while checked out */
    uint64_t checked_out_ns;
    pid_t holder_tid;
    bool checked_out;
    bool leak_reported;
    pid_t pid;             /* the process that opened it: another one's is never touched */
    struct mdm_conn *next_idle;
    struct mdm_conn *all_prev, *all_next;
};

#endif
