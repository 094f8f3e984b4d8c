/* Type inference without loss (rules in infer.h). Each column keeps the set of types
 * every value so far fits; a value only tests the types still possible, so a column
 * that has become text costs a hash per value until its distinct and unique sets stop,
 * then nothing but a length count. */
#include "io/infer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

enum {
    CAN_BOOL = 1,
    CAN_INT = 2,
    CAN_FLOAT = 4,
    CAN_DATETIME = 8,
};

/* A set of 64-bit hashes, open addressing; 0 marks a free slot. */
typedef struct hashset {
    uint64_t *slots;
    size_t cap, count;
} hashset;

typedef struct col_state {
    unsigned can;          /* CAN_* still possible */
    unsigned date_formats; /* layouts every date so far fits */
    bool has_time;
    uint64_t empties;      /* empty unquoted or absent fields */
    uint64_t markers;      /* missing-value markers */
    uint32_t marker_seen, marker_twice;
    uint64_t marker_chars;
    uint64_t values;       /* other fields */
    uint64_t chars;        /* characters of those */
    hashset distinct;
    bool distinct_capped;
    hashset unique;
    bool unique_stopped, unique_dup;
    uint64_t unique_checked;
    bool int_increasing;
    int64_t last_int;
    bool seen_int;
} col_state;

struct io_inferrer {
    io_infer_options opts;
    char *source;
    size_t ncols;
    size_t unique_cap; /* per column */
    size_t distinct_limit;
    uint64_t rows;
    col_state *cols;
};

void io_infer_options_default(io_infer_options *out)
{
    *out = (io_infer_options){
        .categorical_threshold = 20,
        .text_min_avg_length = 50,
        .detect_datetime = true,
        .distinct_limit = 100,
        .unique_budget = (size_t)1 << 20,
    };
}

void io_infer_options_from_config(io_infer_options *out, const mdm_config *cfg)
{
    io_infer_options_default(out);
    out->categorical_threshold =
        (size_t)mdm_config_int(cfg, "feature_engineering.type_detection.categorical_threshold");
    out->text_min_avg_length =
        (size_t)mdm_config_int(cfg, "feature_engineering.type_detection.text_min_avg_length");
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

/* ------------------------------------------------------------------ hash sets */

static int set_init(hashset *s, size_t cap)
{
    s->slots = calloc(cap, sizeof *s->slots);
    s->cap = cap;
    s->count = 0;
    return s->slots ? 0 : mdm_error_set(MDM_ENOMEM, "out of memory inferring column types");
}

static void set_free(hashset *s)
{
    free(s->slots);
    *s = (hashset){0};
}

/* Adds h; returns 1 when added, 0 when present. The caller keeps count * 2 <= cap. */
static int set_add(hashset *s, uint64_t h)
{
    h |= !h; /* 0 marks free slots */
    size_t mask = s->cap - 1, i = (size_t)h & mask;
    while (s->slots[i]) {
        if (s->slots[i] == h)
            return 0;
        i = (i + 1) & mask;
    }
    s->slots[i] = h;
    s->count++;
    return 1;
}

static int set_grow(hashset *s)
{
    hashset bigger;
    int rc = set_init(&bigger, s->cap * 2);
    if (rc)
        return rc;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i])
            set_add(&bigger, s->slots[i]);
    free(s->slots);
    *s = bigger;
    return 0;
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n)
        p *= 2;
    return p;
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
    size_t per_col = ncols ? inf->opts.unique_budget / ncols : 0;
    inf->unique_cap = per_col < 1024 ? 1024 : per_col;
    inf->distinct_limit = inf->opts.categorical_threshold > inf->opts.distinct_limit
                              ? inf->opts.categorical_threshold
                              : inf->opts.distinct_limit;
    int rc = 0;
    if (!inf->source || !inf->cols)
        rc = mdm_error_set(MDM_ENOMEM, "out of memory inferring column types");
    unsigned can = CAN_BOOL | CAN_INT | CAN_FLOAT | (inf->opts.detect_datetime ? CAN_DATETIME : 0);
    for (size_t c = 0; rc == 0 && c < ncols; c++) {
        col_state *col = &inf->cols[c];
        col->can = can;
        col->date_formats = IO_DATE_ALL_FORMATS;
        col->int_increasing = true;
        /* grown as values come, so a huge threshold costs only what the data has */
        rc = set_init(&col->distinct, pow2_at_least(2 * (inf->distinct_limit + 1) < 256
                                                        ? 2 * (inf->distinct_limit + 1)
                                                        : 256));
        if (!rc)
            rc = set_init(&col->unique, 64);
    }
    if (rc) {
        io_inferrer_free(inf);
        return rc;
    }
    *out = inf;
    return 0;
}

void io_inferrer_free(io_inferrer *inf)
{
    if (!inf)
        return;
    if (inf->cols)
        for (size_t c = 0; c < inf->ncols; c++) {
            set_free(&inf->cols[c].distinct);
            set_free(&inf->cols[c].unique);
        }
    free(inf->cols);
    free(inf->source);
    free(inf);
}

/* ------------------------------------------------------------------ observing */

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* Narrows the column's possible types to those that hold this value. */
static void classify(col_state *col, const char *s, size_t len)
{
    unsigned fits = 0;
    if (col->can & (CAN_INT | CAN_FLOAT)) {
        int64_t v = 0;
        unsigned kinds = io_number_kinds(s, len, &v);
        if (kinds & IO_NUM_INT64) {
            fits |= CAN_INT;
            if (col->seen_int && v <= col->last_int)
                col->int_increasing = false;
            col->last_int = v;
            col->seen_int = true;
        }
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

static int track_value(io_inferrer *inf, col_state *col, const char *s, size_t len)
{
    bool track_distinct = !col->distinct_capped, track_unique = !col->unique_stopped;
    if (!track_distinct && !track_unique)
        return 0;
    uint64_t h = XXH3_64bits(s, len);
    if (track_distinct && set_add(&col->distinct, h)) {
        if (col->distinct.count > inf->distinct_limit) {
            col->distinct_capped = true;
            set_free(&col->distinct);
        } else if (col->distinct.count * 2 > col->distinct.cap) {
            int rc = set_grow(&col->distinct);
            if (rc)
                return rc;
        }
    }
    if (track_unique) {
        if (!set_add(&col->unique, h)) {
            col->unique_dup = true;
            col->unique_stopped = true;
            set_free(&col->unique);
            return 0;
        }
        col->unique_checked++;
        if (col->unique_checked >= inf->unique_cap) {
            col->unique_stopped = true;
            set_free(&col->unique);
        } else if (col->unique.count * 2 > col->unique.cap) {
            return set_grow(&col->unique);
        }
    }
    return 0;
}

static int observe_field(io_inferrer *inf, col_state *col, const io_field *f)
{
    if (f->len == 0 && !f->quoted) {
        col->empties++;
        return 0;
    }
    int marker = io_missing_marker(f->ptr, f->len);
    if (marker >= 0) {
        uint32_t bit = 1u << marker;
        if (col->marker_seen & bit)
            col->marker_twice |= bit;
        col->marker_seen |= bit;
        col->markers++;
        col->marker_chars += f->len;
        return 0;
    }
    col->values++;
    if (col->can) {
        classify(col, f->ptr, f->len);
        col->chars += col->can ? f->len : utf8_chars(f->ptr, f->len); /* typed text is ASCII */
    } else {
        col->chars += utf8_chars(f->ptr, f->len);
    }
    return track_value(inf, col, f->ptr, f->len);
}

int io_inferrer_observe(io_inferrer *inf, const io_record *rec)
{
    if (rec->nfields > inf->ncols)
        return mdm_error_set(MDM_EINVALID, "%s line %llu: %zu fields, expected %zu", inf->source,
                             (unsigned long long)rec->line, rec->nfields, inf->ncols);
    for (size_t c = 0; c < rec->nfields; c++) {
        int rc = observe_field(inf, &inf->cols[c], &rec->fields[c]);
        if (rc)
            return rc;
    }
    for (size_t c = rec->nfields; c < inf->ncols; c++)
        inf->cols[c].empties++;
    inf->rows++;
    return 0;
}

int io_inferrer_observe_columns(io_inferrer *inf, const io_record *rec, const size_t *cols,
                                size_t ncols)
{
    for (size_t i = 0; i < ncols; i++) {
        size_t c = cols[i];
        if (c >= rec->nfields) {
            inf->cols[c].empties++;
            continue;
        }
        int rc = observe_field(inf, &inf->cols[c], &rec->fields[c]);
        if (rc)
            return rc;
    }
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

static void plan_column(io_column_plan *p, const col_state *col, const io_infer_options *opts,
                        uint64_t limit)
{
    p->type = column_type(col, &p->date_format);
    bool text = p->type == MDM_TYPE_TEXT;
    p->markers_are_null = !text;
    p->null_count = col->empties + (text ? 0 : col->markers);
    p->value_count = col->values + (text ? col->markers : 0);

    uint64_t distinct = col->distinct_capped ? limit + 1 : col->distinct.count;
    if (text)
        distinct += (uint64_t)popcount(col->marker_seen);
    p->distinct_capped = distinct > limit;
    p->distinct = p->distinct_capped ? limit + 1 : distinct;
    p->distinct_over = distinct > opts->categorical_threshold;

    if (p->type == MDM_TYPE_INT64 && col->int_increasing) {
        p->unique = true;
        p->unique_checked = p->value_count;
    } else {
        p->unique = !col->unique_dup && !(text && col->marker_twice);
        p->unique_checked = col->unique_checked + (text ? col->markers : 0);
        if (p->unique_checked > p->value_count)
            p->unique_checked = p->value_count;
    }
    if (p->value_count == 0)
        p->unique = false;

    uint64_t chars = col->chars + (text ? col->marker_chars : 0);
    p->avg_length = p->value_count ? (double)chars / (double)p->value_count : 0.0;
    p->long_text = text && p->value_count && p->avg_length >= (double)opts->text_min_avg_length;

    switch (p->type) {
    case MDM_TYPE_BOOL: p->semantic = IO_SEMANTIC_CATEGORICAL; break;
    case MDM_TYPE_INT64:
    case MDM_TYPE_FLOAT64: p->semantic = IO_SEMANTIC_NUMERIC; break;
    case MDM_TYPE_DATE:
    case MDM_TYPE_TIMESTAMP: p->semantic = IO_SEMANTIC_DATETIME; break;
    case MDM_TYPE_TEXT:
        p->semantic = p->value_count && !p->distinct_over ? IO_SEMANTIC_CATEGORICAL
                                                          : IO_SEMANTIC_TEXT;
        break;
    }
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
        plan_column(p, &inf->cols[c], &inf->opts, inf->distinct_limit);
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
