/* PostgreSQL backend helpers: error mapping, running statements, `?` placeholders,
 * binary parameters, type mapping and catalog lookups. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/backends/postgres_conn.h"

/* ------------------------------------------------------------------ errors */

const char *mdm_pg_sqlstate(const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return state ? state : "";
}

static int code_of_sqlstate(const char *state)
{
    static const struct {
        const char *state;
        int code;
    } exact[] = {
        {"57P01", MDM_ECONNECT},    /* admin_shutdown: the server is going away */
        {"57P02", MDM_ECONNECT},    /* crash_shutdown */
        {"57P03", MDM_ECONNECT},    /* cannot_connect_now */
        {"53300", MDM_ECONNECT},    /* too_many_connections */
        {"40001", MDM_EBUSY},       /* serialization_failure */
        {"40P01", MDM_EBUSY},       /* deadlock_detected */
        {"55P03", MDM_EBUSY},       /* lock_not_available (lock_timeout) */
        {"57014", MDM_ETIMEOUT},    /* query_canceled (statement_timeout) */
        {"54011", MDM_ECONSTRAINT}, /* too_many_columns */
        {"42P07", MDM_EEXISTS},     /* duplicate_table */
        {"42P06", MDM_EEXISTS},     /* duplicate_schema */
        {"42P04", MDM_EEXISTS},     /* duplicate_database */
        {"42P01", MDM_ENOTFOUND},   /* undefined_table */
        {"3F000", MDM_ENOTFOUND},   /* invalid_schema_name */
        {"3D000", MDM_ENOTFOUND},   /* invalid_catalog_name */
    };
    if (strncmp(state, "08", 2) == 0)
        return MDM_ECONNECT;
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (strcmp(state, exact[i].state) == 0)
            return exact[i].code;
    return MDM_EBACKEND;
}

/* The first line of a libpq message, without the trailing newline. */
static void first_line(char *out, size_t size, const char *msg)
{
    if (!msg || !*msg)
        msg = "unknown error";
    size_t n = strcspn(msg, "\n");
    if (n >= size)
        n = size - 1;
    memcpy(out, msg, n);
    out[n] = '\0';
}

int mdm_pg_error(mdm_backend_conn *c, const PGresult *res, const char *fmt, ...)
{
    char context[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);

    const char *state = mdm_pg_sqlstate(res);
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!*state || !primary) {
        /* libpq's own failure (lost connection, out of memory): its message says why. */
        char line[512];
        first_line(line, sizeof line,
                   res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res)
                                                      : PQerrorMessage(c->pg));
        int code = PQstatus(c->pg) == CONNECTION_BAD ? MDM_ECONNECT : MDM_EBACKEND;
        return mdm_error_set(code, "%s: %s (PostgreSQL at %s)", context, line, c->where);
    }
    int code = code_of_sqlstate(state);
    if (PQstatus(c->pg) == CONNECTION_BAD)
        code = MDM_ECONNECT;
    char line[512];
    first_line(line, sizeof line, primary);
    return mdm_error_set(code, "%s: %s", context, line);
}

/* ------------------------------------------------------------------ running SQL */

static bool result_ok(const PGresult *res)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
}

int mdm_pg_exec(mdm_backend_conn *c, const char *sql, const char *context)
{
    PGresult *res = PQexec(c->pg, sql);
    int rc = result_ok(res) ? 0 : mdm_pg_error(c, res, "%s", context);
    PQclear(res);
    return rc;
}

void mdm_pg_exec_quietly(mdm_backend_conn *c, const char *sql)
{
    if (PQstatus(c->pg) != CONNECTION_OK)
        return;
    PQclear(PQexec(c->pg, sql));
}

int mdm_pg_query(PGresult **out, mdm_backend_conn *c, const char *sql, int nparams,
                 const char *const *params, const char *context)
{
    *out = NULL;
    PGresult *res = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
    if (!result_ok(res)) {
        int rc = mdm_pg_error(c, res, "%s", context);
        PQclear(res);
        return rc;
    }
    *out = res;
    return 0;
}

int mdm_pg_need_dataset(mdm_backend_conn *c)
{
    if (!c->schema)
        return mdm_error_set(MDM_EINVALID, "no dataset selected on this PostgreSQL connection");
    return 0;
}

void mdm_pg_append_table(strbuf *sb, const mdm_backend_conn *c, const char *table)
{
    strbuf_append_ident(sb, c->schema);
    strbuf_append_char(sb, '.');
    strbuf_append_ident(sb, table);
}

/* ------------------------------------------------------------------ placeholders */

static bool is_ident_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '$' || ch >= 0x80;
}

static bool is_ident_start(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch >= 0x80;
}

/* Length of the quoted run starting at s[0] == quote, through its closing quote (or
 * to the end when unterminated). A doubled quote stays inside; so does a
 * backslash-escaped one in E'' strings. */
static size_t quoted_len(const char *s, char quote, bool backslash_escapes)
{
    size_t i = 1;
    for (; s[i]; i++) {
        if (backslash_escapes && s[i] == '\\' && s[i + 1]) {
            i++;
        } else if (s[i] == quote) {
            if (s[i + 1] != quote)
                return i + 1;
            i++;
        }
    }
    return i;
}

/* Length of a (possibly nested) block comment starting at "/" "*". */
static size_t block_comment_len(const char *s)
{
    size_t i = 2;
    int depth = 1;
    while (s[i] && depth > 0) {
        if (s[i] == '/' && s[i + 1] == '*') {
            depth++;
            i += 2;
        } else if (s[i] == '*' && s[i + 1] == '/') {
            depth--;
            i += 2;
        } else {
            i++;
        }
    }
    return i;
}

/* Length of a dollar-quoted string starting at s[0] == '$' ($$...$$ or $tag$...$tag$),
 * or 0 when s does not open one ($1 is a parameter, not a quote). */
static size_t dollar_quoted_len(const char *s)
{
    size_t tag = 1;
    if (s[1] != '$') {
        if (!is_ident_start((unsigned char)s[1]))
            return 0;
        while (s[tag] && s[tag] != '$' && is_ident_char((unsigned char)s[tag]))
            tag++;
        if (s[tag] != '$')
            return 0;
    }
    tag++; /* the closing '$' of the opening tag */
    const char *p = s + tag;
    for (;;) {
        const char *close = strchr(p, '$');
        if (!close)
            return strlen(s);
        if (strncmp(close, s, tag) == 0)
            return (size_t)(close - s) + tag;
        p = close + 1;
    }
}

int mdm_pg_translate_placeholders(strbuf *out, size_t *count, const char *sql, size_t first)
{
    *count = 0;
    size_t n = 0;
    const char *p = sql;
    while (*p) {
        size_t skip = 0;
        unsigned char prev = p > sql ? (unsigned char)p[-1] : ' ';
        if (*p == '\'') {
            /* E'...' keeps backslash escapes; the E must start a token of its own. */
            bool escape = (prev == 'E' || prev == 'e') &&
                          (p - 1 == sql || !is_ident_char((unsigned char)p[-2]));
            skip = quoted_len(p, '\'', escape);
        } else if (*p == '"') {
            skip = quoted_len(p, '"', false);
        } else if (p[0] == '-' && p[1] == '-') {
            skip = strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*') {
            skip = block_comment_len(p);
        } else if (*p == '$' && !is_ident_char(prev)) {
            skip = dollar_quoted_len(p);
        } else if (*p == '?') {
            strbuf_appendf(out, "$%zu", first + n);
            n++;
            p++;
            continue;
        }
        if (skip == 0)
            skip = 1;
        strbuf_append_len(out, p, skip);
        p += skip;
    }
    if (!strbuf_cstr(out))
        return MDM_ENOMEM;
    *count = n;
    return 0;
}

/* ------------------------------------------------------------------ dates and times */

/* PostgreSQL's valid ranges (datatype/timestamp.h), in its own epoch. */
#define PG_DATE_MIN (-2451545)              /* 4713-11-24 BC */
#define PG_DATE_END INT64_C(2145031949)     /* 5874898-01-01, exclusive */
#define PG_TS_MIN INT64_C(-211813488000000000)
#define PG_TS_END INT64_C(9223371331200000000)

bool mdm_pg_date_to_server(int32_t days, int32_t *pg_days)
{
    int64_t d = (int64_t)days - PG_EPOCH_DAYS;
    if (d < PG_DATE_MIN || d >= PG_DATE_END)
        return false;
    *pg_days = (int32_t)d;
    return true;
}

bool mdm_pg_timestamp_to_server(int64_t micros, int64_t *pg_micros)
{
    if (micros < INT64_MIN + PG_EPOCH_MICROS)
        return false;
    int64_t t = micros - PG_EPOCH_MICROS;
    if (t < PG_TS_MIN || t >= PG_TS_END)
        return false;
    *pg_micros = t;
    return true;
}

int32_t mdm_pg_date_from_server(int32_t pg_days)
{
    int64_t d = (int64_t)pg_days + PG_EPOCH_DAYS;
    return d > INT32_MAX ? INT32_MAX : (int32_t)d;
}

int64_t mdm_pg_timestamp_from_server(int64_t pg_micros)
{
    if (pg_micros > INT64_MAX - PG_EPOCH_MICROS)
        return INT64_MAX; /* 'infinity' */
    return pg_micros + PG_EPOCH_MICROS;
}

/* ------------------------------------------------------------------ parameters */

Oid mdm_pg_oid_of_type(mdm_type type)
{
    switch (type) {
    case MDM_TYPE_INT64: return PG_OID_INT8;
    case MDM_TYPE_FLOAT64: return PG_OID_FLOAT8;
    case MDM_TYPE_BOOL: return PG_OID_BOOL;
    case MDM_TYPE_TEXT: return PG_OID_TEXT;
    case MDM_TYPE_DATE: return PG_OID_DATE;
    case MDM_TYPE_TIMESTAMP: return PG_OID_TIMESTAMP;
    }
    return PG_OID_TEXT;
}

const char *mdm_pg_sql_type(mdm_type type)
{
    switch (type) {
    case MDM_TYPE_INT64: return "BIGINT";
    case MDM_TYPE_FLOAT64: return "DOUBLE PRECISION";
    case MDM_TYPE_BOOL: return "BOOLEAN";
    case MDM_TYPE_TEXT: return "TEXT";
    case MDM_TYPE_DATE: return "DATE";
    case MDM_TYPE_TIMESTAMP: return "TIMESTAMP";
    }
    return "TEXT";
}

mdm_type mdm_pg_type_of_oid(Oid oid)
{
    switch (oid) {
    case PG_OID_INT2:
    case PG_OID_INT4:
    case PG_OID_INT8: return MDM_TYPE_INT64;
    case PG_OID_FLOAT4:
    case PG_OID_FLOAT8:
    case PG_OID_NUMERIC: return MDM_TYPE_FLOAT64;
    case PG_OID_BOOL: return MDM_TYPE_BOOL;
    case PG_OID_DATE: return MDM_TYPE_DATE;
    case PG_OID_TIMESTAMP:
    case PG_OID_TIMESTAMPTZ: return MDM_TYPE_TIMESTAMP;
    default: return MDM_TYPE_TEXT;
    }
}

void mdm_pg_params_free(pg_params *p)
{
    free(p->types);
    free(p->values);
    free(p->lengths);
    free(p->formats);
    free(p->scalars);
    memset(p, 0, sizeof *p);
}

int mdm_pg_params_build(pg_params *p, const mdm_value *values, size_t nvalues, size_t extra)
{
    memset(p, 0, sizeof *p);
    size_t cap = nvalues + extra;
    if (cap > 65535)
        return mdm_error_set(MDM_EINVALID, "PostgreSQL accepts at most 65535 parameters, got %zu",
                             cap);
    size_t alloc = cap ? cap : 1;
    p->types = calloc(alloc, sizeof *p->types);
    p->values = calloc(alloc, sizeof *p->values);
    p->lengths = calloc(alloc, sizeof *p->lengths);
    p->formats = calloc(alloc, sizeof *p->formats);
    p->scalars = calloc(alloc, 8);
    if (!p->types || !p->values || !p->lengths || !p->formats || !p->scalars) {
        mdm_pg_params_free(p);
        return mdm_error_set(MDM_ENOMEM, "out of memory binding %zu parameters", cap);
    }
    for (size_t i = 0; i < nvalues; i++) {
        const mdm_value *v = &values[i];
        char *slot = p->scalars + 8 * i;
        p->types[i] = mdm_pg_oid_of_type(v->type);
        p->formats[i] = 1;
        if (v->is_null) {
            p->values[i] = NULL;
            continue;
        }
        switch (v->type) {
        case MDM_TYPE_INT64:
            mdm_pg_put_u64(slot, (uint64_t)v->v.i64);
            p->lengths[i] = 8;
            break;
        case MDM_TYPE_FLOAT64: {
            uint64_t bits;
            memcpy(&bits, &v->v.f64, 8); /* exact: NaN, infinities and -0.0 survive */
            mdm_pg_put_u64(slot, bits);
            p->lengths[i] = 8;
            break;
        }
        case MDM_TYPE_BOOL:
            slot[0] = v->v.b ? 1 : 0;
            p->lengths[i] = 1;
            break;
        case MDM_TYPE_DATE: {
            int32_t d;
            if (!mdm_pg_date_to_server(v->v.date, &d)) {
                mdm_pg_params_free(p);
                return mdm_error_set(MDM_EINVALID,
                                     "parameter %zu: date is out of PostgreSQL's range", i + 1);
            }
            mdm_pg_put_u32(slot, (uint32_t)d);
            p->lengths[i] = 4;
            break;
        }
        case MDM_TYPE_TIMESTAMP: {
            int64_t t;
            if (!mdm_pg_timestamp_to_server(v->v.ts, &t)) {
                mdm_pg_params_free(p);
                return mdm_error_set(MDM_EINVALID,
                                     "parameter %zu: timestamp is out of PostgreSQL's range", i + 1);
            }
            mdm_pg_put_u64(slot, (uint64_t)t);
            p->lengths[i] = 8;
            break;
        }
        case MDM_TYPE_TEXT:
            if (v->v.text.len > INT32_MAX || memchr(v->v.text.ptr, '\0', v->v.text.len)) {
                mdm_pg_params_free(p);
                return mdm_error_set(MDM_EINVALID,
                                     "parameter %zu: text %s, which PostgreSQL cannot store", i + 1,
                                     v->v.text.len > INT32_MAX ? "is longer than 2 GiB"
                                                               : "contains a NUL byte");
            }
            p->values[i] = v->v.text.len ? v->v.text.ptr : "";
            p->lengths[i] = (int)v->v.text.len;
            continue;
        }
        p->values[i] = slot;
    }
    p->n = (int)nvalues;
    return 0;
}

void mdm_pg_params_add_int64(pg_params *p, int64_t v)
{
    int i = p->n++;
    char *slot = p->scalars + 8 * (size_t)i;
    mdm_pg_put_u64(slot, (uint64_t)v);
    p->types[i] = PG_OID_INT8;
    p->values[i] = slot;
    p->lengths[i] = 8;
    p->formats[i] = 1;
}

/* ------------------------------------------------------------------ catalog */

void mdm_pg_columns_free(pg_column *cols, size_t ncols)
{
    if (!cols)
        return;
    for (size_t i = 0; i < ncols; i++)
        free(cols[i].name);
    free(cols);
}

int mdm_pg_table_columns(pg_column **cols, size_t *ncols, bool *ordered, mdm_backend_conn *c,
                         const char *table)
{
    *cols = NULL;
    *ncols = 0;
    *ordered = false;
    int rc = mdm_pg_need_dataset(c);
    if (rc)
        return rc;
    /* The LEFT JOIN tells "no such table" (no row) from a table without columns. */
    static const char sql[] =
        "SELECT a.attname, a.atttypid FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
        "AND NOT a.attisdropped "
        "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
        "ORDER BY a.attnum";
    const char *params[] = {c->schema, table};
    PGresult *res = NULL;
    rc = mdm_pg_query(&res, c, sql, 2, params, "could not read the columns of a table");
    if (rc)
        return rc;
    int rows = PQntuples(res);
    pg_column *out = NULL;
    size_t n = 0;
    if (rows == 0) {
        rc = mdm_error_set(MDM_ENOTFOUND, "table '%s' not found in dataset '%s'", table,
                           c->dataset ? c->dataset : c->schema);
        goto cleanup;
    }
    out = calloc((size_t)rows, sizeof *out);
    if (!out) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory reading the columns of '%s'", table);
        goto cleanup;
    }
    for (int r = 0; r < rows; r++) {
        if (PQgetisnull(res, r, 0))
            continue;
        if (strcmp(PQgetvalue(res, r, 0), PG_ORDINAL_COLUMN) == 0) {
            *ordered = true;
            continue;
        }
        out[n].name = strdup(PQgetvalue(res, r, 0));
        if (!out[n].name) {
            rc = mdm_error_set(MDM_ENOMEM, "out of memory reading the columns of '%s'", table);
            goto cleanup;
        }
        out[n].oid = (Oid)strtoul(PQgetvalue(res, r, 1), NULL, 10);
        out[n].type = mdm_pg_type_of_oid(out[n].oid);
        n++;
    }
    *cols = out;
    *ncols = n;
    out = NULL;
cleanup:
    mdm_pg_columns_free(out, n);
    PQclear(res);
    return rc;
}
