/* The DuckDB module: everything that needs libduckdb (the backend, the Parquet and JSON
 * readers, the Parquet writer, the feed under them) is built as libmdm_duckdb.so and
 * opened with dlopen on first use, so that a process that never touches DuckDB never
 * loads libduckdb (64 MB of C++ with static initialisers: 20+ ms for every `mdm` run).
 *
 * libmdm.so finds the module beside itself (dladdr), loads it once and never unloads it
 * (RTLD_NODELETE, no dlclose: DuckDB's threads and atexit handlers outlive any caller).
 * The static library links the module's objects in and hands out their table directly.
 *
 * The table is versioned like the backend table: slots are only added at the end, and
 * a core reading a module of another build checks `version` first. */
#ifndef MDM_STORAGE_DUCKDB_MODULE_H
#define MDM_STORAGE_DUCKDB_MODULE_H

#include "mdm/sys/backend.h"

#define MDM_DUCKDB_MODULE_VERSION 1
/* The module's file name, and the symbol its table is exported as. */
#define MDM_DUCKDB_MODULE_FILE "libmdm_duckdb.so"
#define MDM_DUCKDB_MODULE_SYMBOL "mdm_duckdb_module_entry"

/* io types, named here without including io/ (storage sits below io). */
struct io_reader;
struct io_writer;

typedef struct mdm_duckdb_module {
    int version; /* MDM_DUCKDB_MODULE_VERSION */
    const mdm_backend *backend;
    /* io_duckdb_reader_open (io/duckdb_reader.h); `format` is an io_format. */
    int (*reader_open)(struct io_reader **out, const char *path, int format,
                       const mdm_config *cfg);
    /* io_parquet_writer_new (io/export_internal.h). */
    int (*parquet_writer_new)(struct io_writer **out);
} mdm_duckdb_module;

/* The module, loaded on the first call (thread-safe). Fails with MDM_ENOTSUP naming the
 * file when it is missing or cannot be loaded; later calls fail the same way. */
int mdm_duckdb_module_get(const mdm_duckdb_module **out);

#endif
