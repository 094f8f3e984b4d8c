/* The thread-local last-error record (DESIGN.md, "Errors"). */
#include "mdm/mdm.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local mdm_error last_error;

const mdm_error *mdm_error_last(void) { return &last_error; }

int mdm_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    last_error.code = code;
    va_start(ap, fmt);
    vsnprintf(last_error.message, sizeof last_error.message, fmt, ap);
    va_end(ap);
    return code;
}

void mdm_error_clear(void)
{
    last_error.code = 0;
    last_error.message[0] = '\0';
}

const char *mdm_error_name(int code)
{
    switch (code) {
    case MDM_OK: return "OK";
    case MDM_ERROR: return "ERROR";
    case MDM_ENOMEM: return "ENOMEM";
    case MDM_EINVALID: return "EINVALID";
    case MDM_ENOTFOUND: return "ENOTFOUND";
    case MDM_EEXISTS: return "EEXISTS";
    case MDM_EIO: return "EIO";
    case MDM_EBACKEND: return "EBACKEND";
    case MDM_ETIMEOUT: return "ETIMEOUT";
    case MDM_EBUSY: return "EBUSY";
    case MDM_ECONNECT: return "ECONNECT";
    case MDM_ENOTSUP: return "ENOTSUP";
    case MDM_ECONFIG: return "ECONFIG";
    case MDM_ECLOSED: return "ECLOSED";
    case MDM_ECONSTRAINT: return "ECONSTRAINT";
    case MDM_ECANCELED: return "ECANCELED";
    default: return "EUNKNOWN";
    }
}

bool mdm_error_is_transient(int code)
{
    return code == MDM_EBUSY || code == MDM_ETIMEOUT || code == MDM_ECONNECT;
}

const char *mdm_version(void) { return MDM_VERSION_STRING; }
