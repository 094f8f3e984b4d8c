/* From DuckDB results to mdm batches: type mapping and the vector-to-batch conversion
 * shared by read and execute. Values are read straight from the result's vectors
 * (validity masks for NULL, duckdb_string_t in its inline and pointer forms). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/backends/duckdb_internal.h"

__extension__ typedef __int128 int128;
__extension__ typedef unsigned __int128 uint128;

const char *mdm_duckdb_type_name(duckdb_type type)
{
    switch (type) {
    case DUCKDB_TYPE_BOOLEAN: return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT: return "TINYINT";
    case DUCKDB_TYPE_SMALLINT: return "SMALLINT";
    case DUCKDB_TYPE_INTEGER: return "INTEGER";
    case DUCKDB_TYPE_BIGINT: return "BIGINT";
    case DUCKDB_TYPE_UTINYINT: return "UTINYINT";
    case DUCKDB_TYPE_USMALLINT: return "USMALLINT";
    case DUCKDB_TYPE_UINTEGER: return "UINTEGER";
    case DUCKDB_TYPE_UBIGINT: return "UBIGINT";
    case DUCKDB_TYPE_FLOAT: return "FLOAT";
    case DUCKDB_TYPE_DOUBLE: return "DOUBLE";
    case DUCKDB_TYPE_TIMESTAMP: return "TIMESTAMP";
    case DUCKDB_TYPE_DATE: return "DATE";
    case DUCKDB_TYPE_TIME: return "TIME";
    case DUCKDB_TYPE_INTERVAL: return "INTERVAL";
    case DUCKDB_TYPE_HUGEINT: return "HUGEINT";
    case DUCKDB_TYPE_UHUGEINT: return "UHUGEINT";
    case DUCKDB_TYPE_VARCHAR: return "VARCHAR";
    case DUCKDB_TYPE_BLOB: return "BLOB";
    case DUCKDB_TYPE_DECIMAL: return "DECIMAL";
    case DUCKDB_TYPE_TIMESTAMP_S: return "TIMESTAMP_S";
    case DUCKDB_TYPE_TIMESTAMP_MS: return "TIMESTAMP_MS";
    case DUCKDB_TYPE_TIMESTAMP_NS: return "TIMESTAMP_NS";
    case DUCKDB_TYPE_ENUM: return "ENUM";
    case DUCKDB_TYPE_LIST: return "LIST";
    case DUCKDB_TYPE_STRUCT: return "STRUCT";
    case DUCKDB_TYPE_MAP: return "MAP";
    case DUCKDB_TYPE_ARRAY: return "ARRAY";
    case DUCKDB_TYPE_UUID: return "UUID";
    case DUCKDB_TYPE_UNION: return "UNION";
    case DUCKDB_TYPE_BIT: return "BIT";
    case DUCKDB_TYPE_TIME_TZ: return "TIME WITH TIME ZONE";
    case DUCKDB_TYPE_TIMESTAMP_TZ: return "TIMESTAMP WITH TIME ZONE";
    case DUCKDB_TYPE_BIGNUM: return "BIGNUM";
    case DUCKDB_TYPE_SQLNULL: return "NULL";
    case DUCKDB_TYPE_TIME_NS: return "TIME_NS";
    default: return "(unknown type)";
    }
}

static int map_type_id(mdm_type *out, duckdb_type id)
{
    switch (id) {
    case DUCKDB_TYPE_BOOLEAN: *out = MDM_TYPE_BOOL; return 0;
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT: *out = MDM_TYPE_INT64; return 0;
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_DECIMAL: *out = MDM_TYPE_FLOAT64; return 0;
    case DUCKDB_TYPE_VARCHAR:
    case DUCKDB_TYPE_ENUM:
    case DUCKDB_TYPE_UUID:
    case DUCKDB_TYPE_SQLNULL: *out = MDM_TYPE_TEXT; return 0;
    case DUCKDB_TYPE_DATE: *out = MDM_TYPE_DATE; return 0;
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS:
    case DUCKDB_TYPE_TIMESTAMP_TZ: *out = MDM_TYPE_TIMESTAMP; return 0;
    default: return MDM_ENOTSUP;
    }
}

int mdm_duckdb_type_to_mdm(mdm_type *out, duckdb_logical_type type)
{
    return map_type_id(out, duckdb_get_type_id(type));
}

/* How one result column becomes a batch column. */
typedef struct out_column {
    duckdb_type type;     /* DuckDB's type id */
    duckdb_type storage;  /* physical storage of DECIMAL and ENUM values */
    uint8_t scale;        /* DECIMAL */
    double divisor;       /* DECIMAL: 10^scale */
    char **dict;          /* ENUM: its values, by index */
    size_t ndict;
    mdm_type mdm;         /* delivered as (int64 may widen to text) */
} out_column;

typedef struct deliverer {
    duckdb_result *result;
    size_t ncols;
    out_column *cols;
    mdm_batch *batch;
    size_t batch_rows;
    mdm_batch_sink sink;
    void *ctx;
    const char *what;
    bool delivered; /* the sink has been called */
} deliverer;

static bool is_widening(duckdb_type t)
{
    return t == DUCKDB_TYPE_UBIGINT || t == DUCKDB_TYPE_HUGEINT || t == DUCKDB_TYPE_UHUGEINT;
}

static bool row_valid(const uint64_t *validity, idx_t row)
{
    return !validity || (validity[row >> 6] >> (row & 63)) & 1;
}

static int128 hugeint_value(duckdb_hugeint h)
{
    return (int128)(((uint128)(uint64_t)h.upper << 64) | h.lower);
}

static uint128 uhugeint_value(duckdb_uhugeint h) { return ((uint128)h.upper << 64) | h.lower; }

/* Decimal digits of a 128-bit magnitude, with a sign. Returns the length. */
static int format_int128(char *buf, size_t size, uint128 magnitude, bool negative)
{
    char digits[48];
    int n = 0;
    do {
        digits[n++] = (char)('0' + (int)(magnitude % 10));
        magnitude /= 10;
    } while (magnitude);
    int len = 0;
    if (negative && (size_t)len + 1 < size)
        buf[len++] = '-';
    while (n && (size_t)len + 1 < size)
        buf[len++] = digits[--n];
    buf[len] = '\0';
    return len;
}

/* Whether the value at `row` of an integer column fits int64. */
static bool fits_int64(duckdb_type type, const void *data, idx_t row)
{
    switch (type) {
    case DUCKDB_TYPE_UBIGINT: return ((const uint64_t *)data)[row] <= (uint64_t)INT64_MAX;
    case DUCKDB_TYPE_HUGEINT: {
        int128 v = hugeint_value(((const duckdb_hugeint *)data)[row]);
        return v >= INT64_MIN && v <= INT64_MAX;
    }
    case DUCKDB_TYPE_UHUGEINT:
        return uhugeint_value(((const duckdb_uhugeint *)data)[row]) <= (uint128)INT64_MAX;
    default: return true;
    }
}

static int new_batch(deliverer *d)
{
    mdm_field *fields = calloc(d->ncols ? d->ncols : 1, sizeof *fields);
    if (!fields)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    for (size_t c = 0; c < d->ncols; c++) {
        fields[c].name = duckdb_column_name(d->result, c);
        if (!fields[c].name)
            fields[c].name = "";
        fields[c].type = d->cols[c].mdm;
    }
    mdm_batch_free(d->batch);
    d->batch = NULL;
    int rc = mdm_batch_new(&d->batch, fields, d->ncols, d->batch_rows);
    free(fields);
    return rc;
}

static int flush_batch(deliverer *d)
{
    if (mdm_batch_nrows(d->batch) == 0)
        return 0;
    d->delivered = true;
    int rc = d->sink(d->batch, d->ctx);
    mdm_batch_clear(d->batch);
    return rc;
}

/* Before converting a chunk: a column delivered as int64 whose chunk holds a value
 * outside int64 continues as text from here on, in a new batch. */
static int widen_for_chunk(deliverer *d, duckdb_data_chunk chunk, idx_t n)
{
    for (size_t c = 0; c < d->ncols; c++) {
        out_column *col = &d->cols[c];
        if (!is_widening(col->type) || col->mdm != MDM_TYPE_INT64)
            continue;
        duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, c);
        const void *data = duckdb_vector_get_data(vec);
        const uint64_t *validity = duckdb_vector_get_validity(vec);
        bool fits = true;
        for (idx_t r = 0; r < n && fits; r++)
            fits = !row_valid(validity, r) || fits_int64(col->type, data, r);
        if (fits)
            continue;
        int rc = flush_batch(d);
        if (rc)
            return rc;
        col->mdm = MDM_TYPE_TEXT;
        if ((rc = new_batch(d)))
            return rc;
    }
    return 0;
}

static void format_uuid(char out[37], duckdb_hugeint h)
{
    /* DuckDB stores a UUID with the top bit flipped so that it sorts as unsigned. */
    uint64_t upper = (uint64_t)h.upper ^ ((uint64_t)1 << 63);
    uint64_t lower = h.lower;
    snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
             upper >> 32, (upper >> 16) & 0xFFFF, upper & 0xFFFF, lower >> 48,
             lower & (uint64_t)0xFFFFFFFFFFFF);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Seconds or milliseconds to microseconds; DuckDB's infinities saturate. */
static int64_t scale_to_micros(int64_t v, int64_t factor)
{
    int64_t out;
    if (__builtin_mul_overflow(v, factor, &out))
        return v < 0 ? -INT64_MAX : INT64_MAX;
    return out;
}

/* The double nearest to a DECIMAL value. Dividing is exact enough when the unscaled
 * value and 10^scale are both exact doubles (one rounding); otherwise the decimal text
 * goes through strtod, which rounds correctly. */
static double decimal_value(const out_column *col, const void *data, idx_t row)
{
    int128 v;
    switch (col->storage) {
    case DUCKDB_TYPE_SMALLINT: v = ((const int16_t *)data)[row]; break;
    case DUCKDB_TYPE_INTEGER: v = ((const int32_t *)data)[row]; break;
    case DUCKDB_TYPE_BIGINT: v = ((const int64_t *)data)[row]; break;
    default: v = hugeint_value(((const duckdb_hugeint *)data)[row]); break;
    }
    const int128 exact_limit = (int128)1 << 53;
    if (v > -exact_limit && v < exact_limit && col->scale <= 22)
        return (double)v / col->divisor;
    char digits[48], text[64];
    int n = format_int128(digits, sizeof digits, v < 0 ? -(uint128)v : (uint128)v, false);
    int whole = n - col->scale;
    /* digits, with the point `scale` places from the right: "-" "123" "." "45" */
    size_t len = 0;
    if (v < 0)
        text[len++] = '-';
    if (whole > 0) {
        memcpy(text + len, digits, (size_t)whole);
        len += (size_t)whole;
    } else {
        text[len++] = '0';
    }
    text[len++] = '.';
    for (int z = whole; z < 0; z++)
        text[len++] = '0';
    int from = whole > 0 ? whole : 0;
    memcpy(text + len, digits + from, (size_t)(n - from));
    len += (size_t)(n - from);
    text[len] = '\0';
    return strtod(text, NULL);
}

static uint64_t enum_index(const out_column *col, const void *data, idx_t row)
{
    switch (col->storage) {
    case DUCKDB_TYPE_UTINYINT: return ((const uint8_t *)data)[row];
    case DUCKDB_TYPE_USMALLINT: return ((const uint16_t *)data)[row];
    default: return ((const uint32_t *)data)[row];
    }
}

/* Text of an integer value that did not fit int64. */
static int set_wide_integer(mdm_batch *b, size_t c, size_t r, duckdb_type type, const void *data,
                            idx_t row)
{
    char buf[48];
    int len;
    if (type == DUCKDB_TYPE_UBIGINT) {
        len = snprintf(buf, sizeof buf, "%" PRIu64, ((const uint64_t *)data)[row]);
    } else if (type == DUCKDB_TYPE_HUGEINT) {
        int128 v = hugeint_value(((const duckdb_hugeint *)data)[row]);
        len = format_int128(buf, sizeof buf, v < 0 ? -(uint128)v : (uint128)v, v < 0);
    } else {
        len = format_int128(buf, sizeof buf, uhugeint_value(((const duckdb_uhugeint *)data)[row]),
                            false);
    }
    return mdm_batch_set_text(b, c, r, buf, (size_t)len);
}

static int64_t integer_value(duckdb_type type, const void *data, idx_t row)
{
    switch (type) {
    case DUCKDB_TYPE_TINYINT: return ((const int8_t *)data)[row];
    case DUCKDB_TYPE_SMALLINT: return ((const int16_t *)data)[row];
    case DUCKDB_TYPE_INTEGER: return ((const int32_t *)data)[row];
    case DUCKDB_TYPE_BIGINT: return ((const int64_t *)data)[row];
    case DUCKDB_TYPE_UTINYINT: return ((const uint8_t *)data)[row];
    case DUCKDB_TYPE_USMALLINT: return ((const uint16_t *)data)[row];
    case DUCKDB_TYPE_UINTEGER: return ((const uint32_t *)data)[row];
    case DUCKDB_TYPE_UBIGINT: return (int64_t)((const uint64_t *)data)[row];
    case DUCKDB_TYPE_HUGEINT: return (int64_t)hugeint_value(((const duckdb_hugeint *)data)[row]);
    case DUCKDB_TYPE_UHUGEINT:
        return (int64_t)uhugeint_value(((const duckdb_uhugeint *)data)[row]);
    default: return 0;
    }
}

/* Copies rows [from, from + n) of one chunk column into batch rows [dst, dst + n), which
 * are NULL until set. */
static int convert_column(deliverer *d, size_t c, duckdb_vector vec, idx_t from, idx_t n,
                          size_t dst)
{
    const out_column *col = &d->cols[c];
    mdm_batch *b = d->batch;
    const void *data = duckdb_vector_get_data(vec);
    const uint64_t *validity = duckdb_vector_get_validity(vec);
    int rc = 0;
    for (idx_t i = 0; i < n && rc == 0; i++) {
        idx_t row = from + i;
        size_t r = dst + i;
        if (!row_valid(validity, row))
            continue;
        switch (col->type) {
        case DUCKDB_TYPE_BOOLEAN: mdm_batch_set_bool(b, c, r, ((const bool *)data)[row]); break;
        case DUCKDB_TYPE_TINYINT:
        case DUCKDB_TYPE_SMALLINT:
        case DUCKDB_TYPE_INTEGER:
        case DUCKDB_TYPE_BIGINT:
        case DUCKDB_TYPE_UTINYINT:
        case DUCKDB_TYPE_USMALLINT:
        case DUCKDB_TYPE_UINTEGER:
        case DUCKDB_TYPE_UBIGINT:
        case DUCKDB_TYPE_HUGEINT:
        case DUCKDB_TYPE_UHUGEINT:
            if (col->mdm == MDM_TYPE_TEXT)
                rc = set_wide_integer(b, c, r, col->type, data, row);
            else
                mdm_batch_set_int64(b, c, r, integer_value(col->type, data, row));
            break;
        case DUCKDB_TYPE_FLOAT:
            mdm_batch_set_float64(b, c, r, (double)((const float *)data)[row]);
            break;
        case DUCKDB_TYPE_DOUBLE: mdm_batch_set_float64(b, c, r, ((const double *)data)[row]); break;
        case DUCKDB_TYPE_DECIMAL:
            mdm_batch_set_float64(b, c, r, decimal_value(col, data, row));
            break;
        case DUCKDB_TYPE_VARCHAR: {
            duckdb_string_t *s = &((duckdb_string_t *)data)[row];
            uint32_t len = s->value.inlined.length;
            const char *p = len <= 12 ? s->value.inlined.inlined : s->value.pointer.ptr;
            rc = mdm_batch_set_text(b, c, r, p, len);
            break;
        }
        case DUCKDB_TYPE_ENUM: {
            uint64_t k = enum_index(col, data, row);
            const char *v = k < col->ndict ? col->dict[k] : "";
            rc = mdm_batch_set_text(b, c, r, v, strlen(v));
            break;
        }
        case DUCKDB_TYPE_UUID: {
            char buf[37];
            format_uuid(buf, ((const duckdb_hugeint *)data)[row]);
            rc = mdm_batch_set_text(b, c, r, buf, 36);
            break;
        }
        case DUCKDB_TYPE_DATE:
            mdm_batch_set_date(b, c, r, ((const duckdb_date *)data)[row].days);
            break;
        case DUCKDB_TYPE_TIMESTAMP:
        case DUCKDB_TYPE_TIMESTAMP_TZ:
            mdm_batch_set_timestamp(b, c, r, ((const duckdb_timestamp *)data)[row].micros);
            break;
        case DUCKDB_TYPE_TIMESTAMP_S:
            mdm_batch_set_timestamp(
                b, c, r, scale_to_micros(((const duckdb_timestamp_s *)data)[row].seconds, 1000000));
            break;
        case DUCKDB_TYPE_TIMESTAMP_MS:
            mdm_batch_set_timestamp(
                b, c, r, scale_to_micros(((const duckdb_timestamp_ms *)data)[row].millis, 1000));
            break;
        case DUCKDB_TYPE_TIMESTAMP_NS:
            mdm_batch_set_timestamp(
                b, c, r, floor_div(((const duckdb_timestamp_ns *)data)[row].nanos, 1000));
            break;
        default: break; /* SQLNULL: every value is NULL */
        }
    }
    return rc;
}

static int convert_rows(deliverer *d, duckdb_data_chunk chunk, idx_t from, idx_t n)
{
    size_t first = mdm_batch_nrows(d->batch);
    for (idx_t i = 0; i < n; i++) {
        size_t r;
        int rc = mdm_batch_add_row(d->batch, &r);
        if (rc)
            return rc;
    }
    for (size_t c = 0; c < d->ncols; c++) {
        int rc = convert_column(d, c, duckdb_data_chunk_get_vector(chunk, c), from, n, first);
        if (rc)
            return rc;
    }
    return 0;
}

static int describe_columns(deliverer *d)
{
    d->ncols = duckdb_column_count(d->result);
    d->cols = calloc(d->ncols ? d->ncols : 1, sizeof *d->cols);
    if (!d->cols)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    for (size_t c = 0; c < d->ncols; c++) {
        out_column *col = &d->cols[c];
        duckdb_logical_type lt = duckdb_column_logical_type(d->result, c);
        col->type = duckdb_get_type_id(lt);
        int rc = map_type_id(&col->mdm, col->type);
        if (rc == 0 && col->type == DUCKDB_TYPE_DECIMAL) {
            col->storage = duckdb_decimal_internal_type(lt);
            col->scale = duckdb_decimal_scale(lt);
            col->divisor = 1;
            for (uint8_t s = col->scale; s > 0; s--)
                col->divisor *= 10;
        } else if (rc == 0 && col->type == DUCKDB_TYPE_ENUM) {
            col->storage = duckdb_enum_internal_type(lt);
            col->ndict = duckdb_enum_dictionary_size(lt);
            col->dict = calloc(col->ndict ? col->ndict : 1, sizeof *col->dict);
            if (!col->dict)
                rc = mdm_error_set(MDM_ENOMEM, "out of memory");
            for (size_t k = 0; rc == 0 && k < col->ndict; k++)
                col->dict[k] = duckdb_enum_dictionary_value(lt, k);
        } else if (rc) {
            const char *name = duckdb_column_name(d->result, c);
            rc = mdm_error_set(MDM_ENOTSUP,
                               "%s: result column '%s' has DuckDB type %s, which mdm cannot "
                               "represent; cast it in the query, e.g. CAST(... AS VARCHAR)",
                               d->what, name ? name : "", mdm_duckdb_type_name(col->type));
        }
        duckdb_destroy_logical_type(&lt);
        if (rc)
            return rc;
    }
    return 0;
}

int mdm_duckdb_deliver(duckdb_result *result, size_t batch_rows, mdm_batch_sink sink, void *ctx,
                       const char *what)
{
    deliverer d = {.result = result, .batch_rows = batch_rows ? batch_rows : 10000,
                   .sink = sink, .ctx = ctx, .what = what};
    duckdb_data_chunk chunk = NULL;
    int rc = describe_columns(&d);
    if (!rc)
        rc = new_batch(&d);
    while (!rc && (chunk = duckdb_fetch_chunk(*result))) {
        idx_t n = duckdb_data_chunk_get_size(chunk);
        rc = widen_for_chunk(&d, chunk, n);
        for (idx_t done = 0; !rc && done < n;) {
            size_t room = d.batch_rows - mdm_batch_nrows(d.batch);
            idx_t take = n - done < room ? n - done : room;
            rc = convert_rows(&d, chunk, done, take);
            done += take;
            if (!rc && mdm_batch_nrows(d.batch) == d.batch_rows)
                rc = flush_batch(&d);
        }
        duckdb_destroy_data_chunk(&chunk);
    }
    if (!rc) {
        /* fetch_chunk returns NULL at the end and on failure; only the latter leaves an
         * error on the result. */
        const char *err = duckdb_result_error(result);
        if (err)
            rc = mdm_duckdb_fail(mdm_duckdb_classify(err, MDM_EBACKEND), err, "%s", what);
    }
    if (!rc)
        rc = flush_batch(&d);
    /* No rows: one empty batch still tells the column names and types. */
    if (!rc && !d.delivered)
        rc = d.sink(d.batch, d.ctx);
    for (size_t c = 0; d.cols && c < d.ncols; c++) {
        for (size_t k = 0; k < d.cols[c].ndict; k++)
            if (d.cols[c].dict[k])
                duckdb_free(d.cols[c].dict[k]);
        free(d.cols[c].dict);
    }
    free(d.cols);
    mdm_batch_free(d.batch);
    return rc;
}
