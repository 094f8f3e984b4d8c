/* The shared library's entry points into the DuckDB module (storage/module.h):
 * Parquet and JSON reading and the Parquet writer load libmdm_duckdb.so on first use.
 * The static library links the real functions instead of these. */
#include "io/duckdb_reader.h"
#include "io/export_internal.h"
#include "storage/module.h"

int io_duckdb_reader_open(io_reader **out, const char *path, io_format format,
                          const mdm_config *cfg)
{
    *out = NULL;
    const mdm_module *m = NULL;
    int rc = mdm_module_get(&m, MDM_MODULE_DUCKDB);
    if (rc)
        return rc;
    return m->reader_open(out, path, (int)format, cfg);
}

int io_parquet_writer_new(io_writer **out)
{
    *out = NULL;
    const mdm_module *m = NULL;
    int rc = mdm_module_get(&m, MDM_MODULE_DUCKDB);
    if (rc)
        return rc;
    return m->parquet_writer_new(out);
}
