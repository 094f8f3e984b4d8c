/* A private DuckDB engine for the io layer (file readers, the Parquet writer): not a
 * dataset store, so it does not go through the storage backends or their pools. */
#ifndef MDM_IO_DUCKDB_ENGINE_H
#define MDM_IO_DUCKDB_ENGINE_H

#include <duckdb.h>

#include "mdm/mdm.h"

typedef struct io_duckdb {
    duckdb_database db;
    duckdb_connection conn;
} io_duckdb;

/* Opens `path` (NULL: in memory) with threads (database.duckdb.threads, 0 = one per
 * core), memory_limit and temp_directory from `cfg` (NULL: DuckDB's defaults);
 * `temp_directory`, when not NULL, overrides the configured one. `what` names the file
 * being worked on, for messages. */
int io_duckdb_open(io_duckdb *out, const char *path, const char *temp_directory,
                   const mdm_config *cfg, const char *what);
void io_duckdb_close(io_duckdb *engine);
/* Runs SQL that returns nothing of interest; errors are "<what>: <message>". */
int io_duckdb_run(io_duckdb *engine, const char *sql, const char *what);
/* DuckDB's message without its "Xxx Error: " class prefix and the LINE pointer
 * after the first line, into buf. */
void io_duckdb_clean_message(char *buf, size_t size, const char *message);

#endif
