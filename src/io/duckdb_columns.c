/* The type mapping of duckdb_columns.h as SQL: checks and projections. */
#include "io/duckdb_columns.h"

/* The condition every value of a column must meet for the narrower mapping (nothing
 * for a column whose mapping does not depend on its values). */
void io_duckdb_column_append_check(strbuf *sb, const io_duckdb_column *col)
{
    switch (col->type) {
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
        strbuf_append(sb, "bool_and(TRY_CAST(");
        strbuf_append_ident(sb, col->name);
        strbuf_append(sb, " AS BIGINT) IS NOT NULL OR ");
        strbuf_append_ident(sb, col->name);
        strbuf_append(sb, " IS NULL)");
        break;
    case DUCKDB_TYPE_DECIMAL:
        strbuf_append(sb, "bool_and(");
        strbuf_append_ident(sb, col->name);
        strbuf_append(sb, " IS NULL OR TRY_CAST(CAST(CAST(");
        strbuf_append_ident(sb, col->name);
        strbuf_appendf(sb, " AS DOUBLE) AS VARCHAR) AS DECIMAL(%u,%u)) = ", col->width, col->scale);
        strbuf_append_ident(sb, col->name);
        strbuf_append(sb, ")");
        break;
    case DUCKDB_TYPE_TIMESTAMP_NS:
        strbuf_append(sb, "bool_and(");
        strbuf_append_ident(sb, col->name);
        strbuf_append(sb, " IS NULL OR epoch_ns(");
        strbuf_append_ident(sb, col->name);
        strbuf_append(sb, ") % 1000 = 0)");
        break;
    default:
        break;
    }
}

bool io_duckdb_column_needs_check(const io_duckdb_column *col)
{
    return col->type == DUCKDB_TYPE_UBIGINT || col->type == DUCKDB_TYPE_HUGEINT ||
           col->type == DUCKDB_TYPE_UHUGEINT || col->type == DUCKDB_TYPE_TIMESTAMP_NS ||
           (col->type == DUCKDB_TYPE_DECIMAL && col->width > 15);
}

void io_duckdb_column_append_json_number_check(strbuf *sb, const io_duckdb_column *col)
{
    strbuf_append(sb, "bool_and(");
    strbuf_append_ident(sb, col->name);
    strbuf_append(sb, " IS NULL OR NOT regexp_full_match(");
    strbuf_append_ident(sb, col->name);
    strbuf_append(sb, ", '-?[0-9]+') OR TRY_CAST(TRY_CAST(");
    strbuf_append_ident(sb, col->name);
    strbuf_append(sb, " AS DOUBLE) AS HUGEINT) IS NOT DISTINCT FROM TRY_CAST(");
    strbuf_append_ident(sb, col->name);
    strbuf_append(sb, " AS HUGEINT) AND TRY_CAST(");
    strbuf_append_ident(sb, col->name);
    strbuf_append(sb, " AS HUGEINT) IS NOT NULL)");
}

/* Appends the projection of one column and decides its mdm type. */
void io_duckdb_column_project(strbuf *sb, io_duckdb_column *col)
{
    const char *cast = NULL; /* CAST(c AS <cast>) */
    switch (col->type) {
    case DUCKDB_TYPE_BOOLEAN: col->mdm = MDM_TYPE_BOOL; break;
    case DUCKDB_TYPE_BIGINT: col->mdm = MDM_TYPE_INT64; break;
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
        col->mdm = MDM_TYPE_INT64;
        cast = "BIGINT";
        break;
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
        col->mdm = col->check_passed ? MDM_TYPE_INT64 : MDM_TYPE_TEXT;
        cast = col->check_passed ? "BIGINT" : "VARCHAR";
        break;
    case DUCKDB_TYPE_DOUBLE: col->mdm = MDM_TYPE_FLOAT64; break;
    case DUCKDB_TYPE_FLOAT:
        col->mdm = MDM_TYPE_FLOAT64;
        cast = "DOUBLE";
        break;
    case DUCKDB_TYPE_DECIMAL: {
        bool exact = col->width <= 15 || col->check_passed;
        col->mdm = exact ? MDM_TYPE_FLOAT64 : MDM_TYPE_TEXT;
        cast = exact ? "DOUBLE" : "VARCHAR";
        break;
    }
    case DUCKDB_TYPE_VARCHAR:
        col->mdm = MDM_TYPE_TEXT;
        if (col->is_json) {
            /* A JSON column of mixed values: strings as their text, JSON null as NULL,
             * other values (numbers, arrays, objects) as their JSON text. */
            strbuf_append(sb, "CASE json_type(");
            strbuf_append_ident(sb, col->name);
            strbuf_append(sb, ") WHEN 'VARCHAR' THEN json_extract_string(");
            strbuf_append_ident(sb, col->name);
            strbuf_append(sb, ", '$') WHEN 'NULL' THEN NULL ELSE CAST(");
            strbuf_append_ident(sb, col->name);
            strbuf_append(sb, " AS VARCHAR) END");
            return;
        }
        break;
    case DUCKDB_TYPE_DATE: col->mdm = MDM_TYPE_DATE; break;
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ: col->mdm = MDM_TYPE_TIMESTAMP; break; /* UTC micros */
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
        col->mdm = MDM_TYPE_TIMESTAMP;
        cast = "TIMESTAMP";
        break;
    case DUCKDB_TYPE_TIMESTAMP_NS:
        col->mdm = col->check_passed ? MDM_TYPE_TIMESTAMP : MDM_TYPE_TEXT;
        cast = col->check_passed ? "TIMESTAMP" : "VARCHAR";
        break;
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_STRUCT:
    case DUCKDB_TYPE_MAP:
    case DUCKDB_TYPE_ARRAY:
    case DUCKDB_TYPE_UNION:
        col->mdm = MDM_TYPE_TEXT;
        strbuf_append(sb, "CAST(to_json(");
        strbuf_append_ident(sb, col->name);
        strbuf_append(sb, ") AS VARCHAR)");
        return;
    case DUCKDB_TYPE_BLOB:
        col->mdm = MDM_TYPE_TEXT;
        strbuf_append(sb, "hex(");
        strbuf_append_ident(sb, col->name);
        strbuf_append(sb, ")");
        return;
    default:
        col->mdm = MDM_TYPE_TEXT;
        cast = "VARCHAR";
        break;
    }
    if (!cast) {
        strbuf_append_ident(sb, col->name);
        return;
    }
    strbuf_append(sb, "CAST(");
    strbuf_append_ident(sb, col->name);
    strbuf_appendf(sb, " AS %s)", cast);
}
