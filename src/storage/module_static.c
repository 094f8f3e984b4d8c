/* The static library's modules: their objects are linked in, so the tables are at hand
 * (libmdm.a users link libduckdb and libpq themselves; see module.h). */
#include "storage/module.h"

extern const mdm_module mdm_duckdb_module_entry;
extern const mdm_module mdm_postgres_module_entry;

int mdm_module_get(const mdm_module **out, mdm_module_id id)
{
    *out = id == MDM_MODULE_DUCKDB ? &mdm_duckdb_module_entry : &mdm_postgres_module_entry;
    return 0;
}
