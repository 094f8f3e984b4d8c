/* Type inference without loss (rules in infer.h). Each column keeps the set of types
 * every value so far fits; a value only tests the types still possible, so a column
 * that has become text costs nothing but a count. */
#include "io/infer.h"

#include <stdlib.h>
#include <string.h>

enum {
    CAN_BOOL = 1,
    CAN_INT = 2,
    CAN_FLOAT = 4,
    CAN_DATETIME = 8,
};

typedef struct col_state {
    unsigned can;          /* CAN_* still possible */
    unsigned date_formats; /* layouts every date so far fits */
    bool has_time;
    uint64_t values;       /* fields neither empty nor a missing-value marker */
} col_state;

struct io_inferrer {
    io_infer_options opts;
    char *source;
    size_t ncols;
    uint64_t rows;
    col_state *cols;
};

void io_infer_options_default(io_infer_options *out)
{
    *out = (io_infer_options){.detect_datetime = true};
}

void io_infer_options_from_config(io_infer_options *out, const mdm_config *cfg)
{
    io_infer_options_default(out);
    out->detect_datetime =
        mdm_config_bool(cfg, "feature_engineering.type_detection.detect_datetime");
}

const char *io_semantic_name(io_semantic semantic)
{
    switch (semantic) {
    case IO_SEMANTIC_NUMERIC: return "numeric";
    case IO_SEMANTIC_CATEGORICAL: return "categorical";
    case IO_SEMANTIC_DATETIME: return "datetime";
    case IO_SEMANTIC_TEXT: return "text";
    }
    return "?";
}

io_semantic io_semantic_of(mdm_type type, uint64_t distinct, bool distinct_exact,
                           uint64_t categorical_threshold)
{
    switch (type) {
    case MDM_TYPE_INT64:
    case MDM_TYPE_FLOAT64: return IO_SEMANTIC_NUMERIC;
    case MDM_TYPE_BOOL: return IO_SEMANTIC_CATEGORICAL;
    case MDM_TYPE_DATE:
    case MDM_TYPE_TIMESTAMP: return IO_SEMANTIC_DATETIME;
    case MDM_TYPE_TEXT: break;
    }
    return distinct_exact && distinct <= categorical_threshold ? IO_SEMANTIC_CATEGORICAL
                                                               : IO_SEMANTIC_TEXT;
}

/* ------------------------------------------------------------------ life cycle */

int io_inferrer_new(io_inferrer **out, size_t ncols, const io_infer_options *opts,
                    const char *source)
{
    *out = NULL;
    io_inferrer *inf = calloc(1, sizeof *inf);
    if (!inf)
        return mdm_error_set(MDM_ENOMEM, "out of memory inferring column types");
    if (opts)
        inf->opts = *opts;
    else
        io_infer_options_default(&inf->opts);
    inf->ncols = ncols;
    inf->source = strdup(source ? source : "input");
    inf->cols = calloc(ncols ? ncols : 1, sizeof *inf->cols);
    if (!inf->source || !inf->cols) {
        io_inferrer_free(inf);
        return mdm_error_set(MDM_ENOMEM, "out of memory inferring column types");
    }
    unsigned can = CAN_BOOL | CAN_INT | CAN_FLOAT | (inf->opts.detect_datetime ? CAN_DATETIME : 0);
    for (size_t c = 0; c < ncols; c++) {
        inf->cols[c].can = can;
        inf->cols[c].date_formats = IO_DATE_ALL_FORMATS;
    }
    *out = inf;
    return 0;
}

void io_inferrer_free(io_inferrer *inf)
{
    if (!inf)
        return;
    free(inf->cols);
    free(inf->source);
    free(inf);
}

/* ------------------------------------------------------------------ observing */

/* Narrows the column's possible types to those that hold this value. */
static void classify(col_state *col, const char *s, size_t len)
{
    unsigned fits = 0;
    if (col->can & (CAN_INT | CAN_FLOAT)) {
        unsigned kinds = io_number_kinds(s, len, NULL);
        if (kinds & IO_NUM_INT64)
            fits |= CAN_INT;
        if (kinds & IO_NUM_FLOAT64)
            fits |= CAN_FLOAT;
    }
    if (!fits && (col->can & CAN_BOOL)) {
        bool b;
        if (io_parse_bool(&b, s, len))
            fits |= CAN_BOOL;
    }
    if (!fits && (col->can & CAN_DATETIME)) {
        bool has_time;
        unsigned formats = io_datetime_match(s, len, col->date_formats, &has_time);
        if (formats) {
            fits |= CAN_DATETIME;
            col->date_formats &= formats;
            col->has_time |= has_time;
        }
    }
    col->can &= fits;
}

/* Empty unquoted fields and missing-value markers say nothing about the type. */
static void observe_field(col_state *col, const io_field *f)
{
    if ((f->len == 0 && !f->quoted) || io_missing_marker(f->ptr, f->len) >= 0)
        return;
    col->values++;
    if (col->can)
        classify(col, f->ptr, f->len);
}

int io_inferrer_observe(io_inferrer *inf, const io_record *rec)
{
    if (rec->nfields > inf->ncols)
        return mdm_error_set(MDM_EINVALID, "%s line %llu: %zu fields, expected %zu", inf->source,
                             (unsigned long long)rec->line, rec->nfields, inf->ncols);
    for (size_t c = 0; c < rec->nfields; c++)
        observe_field(&inf->cols[c], &rec->fields[c]);
    inf->rows++;
    return 0;
}

int io_inferrer_observe_columns(io_inferrer *inf, const io_record *rec, const size_t *cols,
                                size_t ncols)
{
    for (size_t i = 0; i < ncols; i++)
        if (cols[i] < rec->nfields)
            observe_field(&inf->cols[cols[i]], &rec->fields[cols[i]]);
    return 0;
}

/* ------------------------------------------------------------------ the plan */

static int popcount(unsigned v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

static io_date_format lowest_format(unsigned formats)
{
    int f = 0;
    while (!(formats & (1u << f)))
        f++;
    return (io_date_format)f;
}

static mdm_type column_type(const col_state *col, io_date_format *format)
{
    *format = IO_DATE_ISO;
    if (col->values == 0)
        return MDM_TYPE_TEXT;
    if (col->can & CAN_BOOL)
        return MDM_TYPE_BOOL;
    if (col->can & CAN_INT)
        return MDM_TYPE_INT64;
    if (col->can & CAN_FLOAT)
        return MDM_TYPE_FLOAT64;
    if ((col->can & CAN_DATETIME) && popcount(col->date_formats) == 1) {
        *format = lowest_format(col->date_formats);
        return col->has_time ? MDM_TYPE_TIMESTAMP : MDM_TYPE_DATE;
    }
    return MDM_TYPE_TEXT;
}

mdm_type io_inferrer_column_type(const io_inferrer *inf, size_t col)
{
    io_date_format format;
    return column_type(&inf->cols[col], &format);
}

bool io_inferrer_column_open(const io_inferrer *inf, size_t col)
{
    return io_inferrer_column_type(inf, col) == MDM_TYPE_TEXT && inf->cols[col].can != 0;
}

int io_inferrer_finish(io_plan **out, const io_inferrer *inf, const char *const *names)
{
    *out = NULL;
    io_plan *plan = calloc(1, sizeof *plan);
    if (!plan)
        return mdm_error_set(MDM_ENOMEM, "out of memory building a type plan");
    plan->columns = calloc(inf->ncols ? inf->ncols : 1, sizeof *plan->columns);
    if (!plan->columns) {
        free(plan);
        return mdm_error_set(MDM_ENOMEM, "out of memory building a type plan");
    }
    plan->ncols = inf->ncols;
    plan->rows = inf->rows;
    for (size_t c = 0; c < inf->ncols; c++) {
        io_column_plan *p = &plan->columns[c];
        p->name = strdup(names && names[c] ? names[c] : "");
        if (!p->name) {
            io_plan_free(plan);
            return mdm_error_set(MDM_ENOMEM, "out of memory building a type plan");
        }
        p->type = column_type(&inf->cols[c], &p->date_format);
        p->markers_are_null = p->type != MDM_TYPE_TEXT;
    }
    *out = plan;
    return 0;
}

void io_plan_free(io_plan *plan)
{
    if (!plan)
        return;
    for (size_t c = 0; c < plan->ncols; c++)
        free(plan->columns[c].name);
    free(plan->columns);
    free(plan);
}

int io_plan_fields(mdm_field **out, const io_plan *plan)
{
    *out = calloc(plan->ncols ? plan->ncols : 1, sizeof **out);
    if (!*out)
        return mdm_error_set(MDM_ENOMEM, "out of memory building fields");
    for (size_t c = 0; c < plan->ncols; c++)
        (*out)[c] = (mdm_field){plan->columns[c].name, plan->columns[c].type};
    return 0;
}
