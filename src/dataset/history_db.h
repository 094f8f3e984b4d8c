/* The history database file, shared by recording (history.c) and reading
 * (history_query.c). */
#ifndef MDM_DATASET_HISTORY_DB_H
#define MDM_DATASET_HISTORY_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mdm/mdm.h"

/* <home>/metrics.db */
int history_db_path(char *buf, size_t size, const mdm_config *cfg);
/* Opens it (WAL, busy timeout, schema). Without `create`, MDM_ENOTFOUND (no error
 * message set) when the file does not exist. */
int history_db_open(sqlite3 **out, const mdm_config *cfg, bool create);
/* Removes operations older than `days` (none when < 0) and all but the newest
 * `max_rows` (none when <= 0); *removed (may be NULL) gets how many went. */
int history_db_trim(int64_t *removed, sqlite3 *db, int64_t days, int64_t max_rows);

#endif
