/* The postgres backend. SKELETON: being written. */
#include "mdm/sys/backend.h"

static const char *library_version(void) { return "unknown"; }

static int open_conn(mdm_backend_conn **out, const mdm_target *target, const mdm_config *cfg)
{
    *out = NULL;
    return mdm_error_set(MDM_ENOTSUP, "the postgres backend is not built yet");
}

static void close_conn(mdm_backend_conn *conn) { (void)conn; }

const mdm_backend mdm_backend_postgres = {
    .version = MDM_BACKEND_VERSION,
    .name = "postgres",
    .file_extension = NULL,
    .library_version = library_version,
    .open = open_conn,
    .close = close_conn,
};
