/* The DuckDB module's entry: the one symbol libmdm_duckdb.so exports (see
 * storage/module.h). In the static library the same table is handed out directly
 * (storage/module_static.c). */
#include "io/duckdb_reader.h"
#include "io/export_internal.h"
#include "storage/module.h"

static int reader_open(struct io_reader **out, const char *path, int format,
                       const mdm_config *cfg)
{
    return io_duckdb_reader_open(out, path, (io_format)format, cfg);
}

extern const mdm_module mdm_duckdb_module_entry;
__attribute__((visibility("default"))) const mdm_module mdm_duckdb_module_entry = {
    .version = MDM_MODULE_VERSION,
    .backend = &mdm_backend_duckdb,
    .reader_open = reader_open,
    .parquet_writer_new = io_parquet_writer_new,
};
