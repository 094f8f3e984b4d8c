/* Backends kept in modules: what needs a big library is built as a module of its own,
 * opened with dlopen on first use, so that a process that never touches it never loads
 * the library (libduckdb is 64 MB of C++ with static initialisers, libpq pulls in some
 * twenty libraries: together 30+ ms for every `mdm` run).
 *
 *   libmdm_duckdb.so    the DuckDB backend, Parquet/JSON reading, the Parquet writer
 *   libmdm_postgres.so  the PostgreSQL backend (libpq)
 *
 * The host (libmdm.so, or the mdm binary, which links the core in and exports it) finds
 * a module beside itself or in <prefix>/lib, loads it once and never unloads it
 * (RTLD_NODELETE, no dlclose: the engines' threads and atexit handlers outlive any
 * caller). A module has no DT_NEEDED on libmdm: it takes only the public API of
 * include/mdm/ from its host (a second libmdm would have its own error record and
 * registry), and carries the few stateless helpers it needs besides. The static library
 * links the modules' objects in and hands out their tables directly.
 *
 * The table is versioned like the backend table: slots are only added at the end, and a
 * core reading a module of another build checks `version` first. */
#ifndef MDM_STORAGE_MODULE_H
#define MDM_STORAGE_MODULE_H

#include "mdm/sys/backend.h"

#define MDM_MODULE_VERSION 1

/* The modules' backend tables: in the static library and in each module, never
 * exported from libmdm.so (find them with mdm_backend_find). */
extern const mdm_backend mdm_backend_duckdb;
extern const mdm_backend mdm_backend_postgres;

typedef enum mdm_module_id {
    MDM_MODULE_DUCKDB,   /* libmdm_duckdb.so, mdm_duckdb_module_entry */
    MDM_MODULE_POSTGRES, /* libmdm_postgres.so, mdm_postgres_module_entry */
    MDM_MODULE_COUNT
} mdm_module_id;

/* io types, named here without including io/ (storage sits below io). */
struct io_reader;
struct io_writer;

typedef struct mdm_module {
    int version; /* MDM_MODULE_VERSION */
    const mdm_backend *backend;
    /* DuckDB: io_duckdb_reader_open (io/duckdb_reader.h); `format` is an io_format. */
    int (*reader_open)(struct io_reader **out, const char *path, int format,
                       const mdm_config *cfg);
    /* DuckDB: io_parquet_writer_new (io/export_internal.h). */
    int (*parquet_writer_new)(struct io_writer **out);
} mdm_module;

/* The module, loaded on the first call (thread-safe). Fails with MDM_ENOTSUP naming the
 * file when it is missing or cannot be loaded; later calls fail the same way. */
int mdm_module_get(const mdm_module **out, mdm_module_id id);

#endif
