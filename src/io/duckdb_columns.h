/* How each column DuckDB reads from a Parquet or JSON file becomes an mdm column,
 * without loss. A projection over the source does the conversion in DuckDB, so the
 * streamed result only has BOOLEAN, BIGINT, DOUBLE, VARCHAR, DATE, TIMESTAMP:
 *
 *   TINYINT..BIGINT, UTINYINT..UINTEGER          int64
 *   UBIGINT, HUGEINT, UHUGEINT                   int64 when every value fits, else text
 *   FLOAT, DOUBLE                                float64 (FLOAT widens exactly); JSON:
 *                                                text (the numbers as written) when an
 *                                                integer in it does not survive a double
 *   DECIMAL(w,s)                                 float64 when w <= 15 (any such decimal
 *                                                reads back from its nearest double), or
 *                                                when every value's shortest double text
 *                                                is the decimal itself; else text
 *   BOOLEAN, VARCHAR, DATE                       bool, text, date
 *   TIMESTAMP, _S, _MS, WITH TIME ZONE (UTC)     timestamp
 *   TIMESTAMP_NS                                 timestamp when no value has sub-micro-
 *                                                second digits, else text (9 digits)
 *   LIST, STRUCT, MAP, ARRAY, UNION              text: the value as JSON (to_json)
 *   BLOB                                         text: hex digits (hex(), upper case)
 *   JSON (a JSON column of mixed values)         text: strings as themselves, JSON null
 *                                                as NULL, other values as JSON text
 *   ENUM, UUID, TIME, INTERVAL, BIT, ... NULL    text (DuckDB's text form)
 * "Every value" checks run as one aggregate query over the file before streaming, only
 * when such columns exist. Infinite dates/timestamps have no mdm value: an error names
 * the column and row.
 */
#ifndef MDM_IO_DUCKDB_COLUMNS_H
#define MDM_IO_DUCKDB_COLUMNS_H

#include <duckdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/strbuf.h"
#include "mdm/mdm.h"

/* One column of the file as DuckDB reads it, and how it is projected. */
typedef struct io_duckdb_column {
    char *name;
    duckdb_type type;
    uint8_t width, scale;    /* DECIMAL */
    bool is_json;            /* DuckDB's JSON type (VARCHAR with the alias JSON) */
    bool raw_number_text;    /* JSON DOUBLE column read as its numbers' text */
    int check;               /* index of its "every value" check, or -1 */
    bool check_passed;
    mdm_type mdm;
} io_duckdb_column;

/* Whether the mapping depends on the values (a check query decides it). */
bool io_duckdb_column_needs_check(const io_duckdb_column *col);
/* bool_and(...) that is true when every value fits the narrower mapping. */
void io_duckdb_column_append_check(strbuf *sb, const io_duckdb_column *col);
/* bool_and(...) over a JSON DOUBLE column read as VARCHAR: true when every integer
 * literal in it survives a double exactly. */
void io_duckdb_column_append_json_number_check(strbuf *sb, const io_duckdb_column *col);
/* Appends the column's projection (after its check ran) and sets col->mdm. */
void io_duckdb_column_project(strbuf *sb, io_duckdb_column *col);

#endif
