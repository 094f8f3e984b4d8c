/* Type inference without loss over every record of a text file.
 *
 * The caller makes a full pass, handing each record to io_inferrer_observe, then asks
 * for the plan. For each column the plan holds the narrowest mdm type that holds every
 * value of the column exactly (parse_value.h defines "exactly"):
 *
 *   bool      every value is true/false (True/False, TRUE/FALSE). 0/1 stay int64.
 *   int64     every value is a canonical integer within int64 ("007", "+5", "-0",
 *             "1,000" and 20-digit integers are not).
 *   float64   every value is a number whose double prints back to the value written
 *             (a column of 1.0, 2.0 stays float64; an integer joins a float column only
 *             when the double holds it exactly).
 *   date      every value is a date of one layout (io_date_format). When two layouts
 *             read every value (01/02/2020 under DD/MM/YYYY and MM/DD/YYYY) the column
 *             is ambiguous and stays text; a column mixing layouts is text.
 *   timestamp as date, with a time part on at least one value (dates alone are then
 *             midnight).
 *   text      anything else, and a column without any value.
 * Widening: int64 -> float64 -> text; bool, date and timestamp -> text on any value
 * that does not fit (date + timestamp -> timestamp). Since the whole file is seen
 * before anything is written, no value is ever converted to a type that loses it.
 * With feature_engineering.type_detection.detect_datetime false, dates stay text.
 *
 * Missing values: an empty unquoted field (and a field absent from a short record) is
 * NULL in every column. The markers of io_missing_marker ("NA", "N/A", "NULL", "null",
 * "None", "NaN", "nan", ..., and a quoted empty string "") are NULL in a column whose
 * other values give it a non-text type (pandas reads them as missing; a number column
 * with "NA" in it stays a number column), and are kept as written in a text column,
 * so a text value is never turned into NULL. A column of markers only is text.
 *
 * Statistics of the columns (NULL counts, distinct values, ...) are not made here:
 * src/dataset/stats.c computes them from the loaded batches. The semantic type of a
 * column (io_semantic_of) follows from its type and distinct count.
 *
 * Speed: one pass costs a few tens of nanoseconds per field, and a column that has
 * become text only counts its values. */
#ifndef MDM_IO_INFER_H
#define MDM_IO_INFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/parse_value.h"
#include "io/record.h"
#include "mdm/mdm.h"

typedef struct io_infer_options {
    bool detect_datetime; /* feature_engineering.type_detection.detect_datetime */
} io_infer_options;

void io_infer_options_default(io_infer_options *out);
void io_infer_options_from_config(io_infer_options *out, const mdm_config *cfg);

typedef enum io_semantic {
    IO_SEMANTIC_NUMERIC = 1,
    IO_SEMANTIC_CATEGORICAL,
    IO_SEMANTIC_DATETIME,
    IO_SEMANTIC_TEXT,
} io_semantic;

/* "numeric", "categorical", "datetime", "text". */
const char *io_semantic_name(io_semantic semantic);
/* The semantic type of a column (SPEC §4.7), the one rule for registration's _columns
 * table and dataset info: bool -> categorical, int64 and float64 -> numeric, date and
 * timestamp -> datetime, text -> categorical when its count of distinct non-NULL values
 * is exact (`distinct_exact`) and at most `categorical_threshold`
 * (feature_engineering.type_detection.categorical_threshold), else text. A text column
 * without any value (distinct 0) is categorical. Column overrides given by the user
 * (--categorical-columns, ...) are the caller's to apply first. */
io_semantic io_semantic_of(mdm_type type, uint64_t distinct, bool distinct_exact,
                           uint64_t categorical_threshold);

typedef struct io_column_plan {
    char *name;
    mdm_type type;
    io_date_format date_format; /* date and timestamp columns: the layout of every value */
    bool markers_are_null;      /* missing-value markers convert to NULL (typed columns) */
} io_column_plan;

typedef struct io_plan {
    io_column_plan *columns;
    size_t ncols;
    uint64_t rows;
} io_plan;

typedef struct io_inferrer io_inferrer;

/* `source` names the file in error messages (copied; may be NULL). */
int io_inferrer_new(io_inferrer **out, size_t ncols, const io_infer_options *opts,
                    const char *source);
void io_inferrer_free(io_inferrer *inf);
/* Observes one data record. More fields than columns is an MDM_EINVALID error naming
 * the line; fewer fields leave the rest NULL. */
int io_inferrer_observe(io_inferrer *inf, const io_record *rec);
/* For checking a plan made from the first records against the rest of a file:
 * whether column `col` would be text in a plan made now although a later value could
 * still give it a type (no value seen yet, or every date so far reads under two
 * layouts), and observing only such columns of later records. */
bool io_inferrer_column_open(const io_inferrer *inf, size_t col);
int io_inferrer_observe_columns(io_inferrer *inf, const io_record *rec, const size_t *cols,
                                size_t ncols);
/* The type column `col` would have in a plan made now. */
mdm_type io_inferrer_column_type(const io_inferrer *inf, size_t col);
/* The plan for the records observed so far; names[i] (copied) names column i. */
int io_inferrer_finish(io_plan **out, const io_inferrer *inf, const char *const *names);

void io_plan_free(io_plan *plan);
/* The plan's columns as fields for mdm_batch_new / mdm_conn_table_create. The names
 * are borrowed from the plan; the caller frees the array with free(). */
int io_plan_fields(mdm_field **out, const io_plan *plan);

#endif
