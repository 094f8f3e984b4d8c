/* The PostgreSQL module's entry: the one symbol libmdm_postgres.so exports (see
 * storage/module.h). In the static library the same table is handed out directly
 * (storage/module_static.c). */
#include "storage/module.h"

extern const mdm_module mdm_postgres_module_entry;
__attribute__((visibility("default"))) const mdm_module mdm_postgres_module_entry = {
    .version = MDM_MODULE_VERSION,
    .backend = &mdm_backend_postgres,
};
