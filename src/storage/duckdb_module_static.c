/* The static library's DuckDB module: its objects are linked in, so the table is at
 * hand (libmdm.a users link libduckdb themselves; see duckdb_module.h). */
#include "storage/duckdb_module.h"

extern const mdm_duckdb_module mdm_duckdb_module_entry;

int mdm_duckdb_module_get(const mdm_duckdb_module **out)
{
    *out = &mdm_duckdb_module_entry;
    return 0;
}
