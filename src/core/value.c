/* Column types and tagged values. */
#include "mdm/mdm.h"

#include <string.h>

static const char *const type_names[] = {
    [MDM_TYPE_INT64] = "int64", [MDM_TYPE_FLOAT64] = "float64", [MDM_TYPE_BOOL] = "bool",
    [MDM_TYPE_TEXT] = "text",   [MDM_TYPE_DATE] = "date",       [MDM_TYPE_TIMESTAMP] = "timestamp",
};

const char *mdm_type_name(mdm_type type)
{
    if (type < MDM_TYPE_INT64 || type > MDM_TYPE_TIMESTAMP)
        return "unknown";
    return type_names[type];
}

int mdm_type_parse(mdm_type *out, const char *name)
{
    for (int t = MDM_TYPE_INT64; t <= MDM_TYPE_TIMESTAMP; t++) {
        if (strcmp(type_names[t], name) == 0) {
            *out = (mdm_type)t;
            return 0;
        }
    }
    return mdm_error_set(MDM_EINVALID, "unknown column type '%s'", name);
}

mdm_value mdm_value_int64(int64_t v) { return (mdm_value){.type = MDM_TYPE_INT64, .v.i64 = v}; }
mdm_value mdm_value_float64(double v) { return (mdm_value){.type = MDM_TYPE_FLOAT64, .v.f64 = v}; }
mdm_value mdm_value_bool(bool v) { return (mdm_value){.type = MDM_TYPE_BOOL, .v.b = v}; }
mdm_value mdm_value_date(int32_t d) { return (mdm_value){.type = MDM_TYPE_DATE, .v.date = d}; }
mdm_value mdm_value_timestamp(int64_t t) { return (mdm_value){.type = MDM_TYPE_TIMESTAMP, .v.ts = t}; }
mdm_value mdm_value_null(mdm_type type) { return (mdm_value){.type = type, .is_null = true}; }

mdm_value mdm_value_text(const char *s)
{
    mdm_value v = {.type = MDM_TYPE_TEXT};
    v.v.text.ptr = s;
    v.v.text.len = strlen(s);
    return v;
}
