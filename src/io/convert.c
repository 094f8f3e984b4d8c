/* Text records to typed batch rows (rules in convert.h). */
#include "io/convert.h"

#include "io/parse_value.h"

static int bad_value(const io_plan *plan, size_t c, const io_record *rec, const char *source)
{
    const io_column_plan *p = &plan->columns[c];
    const io_field *f = &rec->fields[c];
    int shown = f->len > 80 ? 80 : (int)f->len;
    return mdm_error_set(MDM_EINVALID,
                         "%s line %llu, column '%s': '%.*s%s' is not a %s value (the column's "
                         "type came from an earlier pass over the file; did it change?)",
                         source ? source : "input", (unsigned long long)rec->line, p->name,
                         shown, f->ptr, f->len > 80 ? "..." : "", mdm_type_name(p->type));
}

int io_convert_record(mdm_batch *batch, const io_plan *plan, const io_record *rec,
                      const char *source)
{
    if (rec->nfields > plan->ncols)
        return mdm_error_set(MDM_EINVALID, "%s line %llu: %zu fields, expected %zu",
                             source ? source : "input", (unsigned long long)rec->line,
                             rec->nfields, plan->ncols);
    size_t row;
    int rc = mdm_batch_add_row(batch, &row);
    if (rc)
        return rc;
    for (size_t c = 0; c < rec->nfields; c++) {
        const io_column_plan *p = &plan->columns[c];
        const io_field *f = &rec->fields[c];
        if (f->len == 0 && !f->quoted)
            continue; /* NULL, as add_row left it */
        if (p->type == MDM_TYPE_TEXT) {
            rc = mdm_batch_set_text(batch, c, row, f->ptr, f->len);
            if (rc)
                return rc;
            continue;
        }
        bool ok = false;
        switch (p->type) {
        case MDM_TYPE_INT64: {
            int64_t v;
            if ((ok = io_parse_int64(&v, f->ptr, f->len)))
                mdm_batch_set_int64(batch, c, row, v);
            break;
        }
        case MDM_TYPE_FLOAT64: {
            double v;
            if ((ok = io_parse_float64(&v, f->ptr, f->len)))
                mdm_batch_set_float64(batch, c, row, v);
            break;
        }
        case MDM_TYPE_BOOL: {
            bool v;
            if ((ok = io_parse_bool(&v, f->ptr, f->len)))
                mdm_batch_set_bool(batch, c, row, v);
            break;
        }
        case MDM_TYPE_DATE: {
            int32_t v;
            if ((ok = io_parse_date(&v, f->ptr, f->len, p->date_format)))
                mdm_batch_set_date(batch, c, row, v);
            break;
        }
        case MDM_TYPE_TIMESTAMP: {
            int64_t v;
            if ((ok = io_parse_timestamp(&v, f->ptr, f->len, p->date_format)))
                mdm_batch_set_timestamp(batch, c, row, v);
            break;
        }
        case MDM_TYPE_TEXT: break;
        }
        if (!ok) {
            if (p->markers_are_null && io_missing_marker(f->ptr, f->len) >= 0)
                continue; /* NULL */
            return bad_value(plan, c, rec, source);
        }
    }
    return 0;
}
