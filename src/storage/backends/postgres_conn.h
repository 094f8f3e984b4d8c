/* What the PostgreSQL backend's files share: the connection struct and the helpers
 * for errors, parameters, placeholders and the catalog. */
#ifndef MDM_STORAGE_BACKENDS_POSTGRES_CONN_H
#define MDM_STORAGE_BACKENDS_POSTGRES_CONN_H

#include <libpq-fe.h>

#include "core/strbuf.h"
#include "mdm/sys/backend.h"

/* Limits of the server (NAMEDATALEN - 1, MaxHeapAttributeNumber). */
#define PG_MAX_IDENT 63
#define PG_MAX_COLUMNS 1600

/* Type OIDs (pg_type.h); stable across server versions. */
#define PG_OID_BOOL 16
#define PG_OID_NAME 19
#define PG_OID_INT8 20
#define PG_OID_INT2 21
#define PG_OID_INT4 23
#define PG_OID_TEXT 25
#define PG_OID_FLOAT4 700
#define PG_OID_FLOAT8 701
#define PG_OID_BPCHAR 1042
#define PG_OID_VARCHAR 1043
#define PG_OID_DATE 1082
#define PG_OID_TIMESTAMP 1114
#define PG_OID_TIMESTAMPTZ 1184
#define PG_OID_NUMERIC 1700

/* PostgreSQL counts dates and timestamps from 2000-01-01; mdm from 1970-01-01. */
#define PG_EPOCH_DAYS 10957
#define PG_EPOCH_MICROS INT64_C(946684800000000)

struct mdm_backend_conn {
    PGconn *pg;
    char *prefix;  /* database.postgresql.database_prefix */
    char *dataset; /* the dataset this connection serves (use_dataset), or NULL */
    char *schema;  /* prefix + dataset: where the dataset's tables live */
    char *where;   /* "host:port/db" for messages; never holds the password */
    int64_t lock_timeout_ms;
    unsigned cursor_seq; /* names cursors uniquely on this connection */
    struct pg_load *load; /* an open bulk load (postgres_copy.c), else NULL */
};

/* Sets the thread's error from a failed result (or from the connection when `res` is
 * NULL or carries no SQLSTATE) and returns the mapped code:
 * class 08 / lost connection -> MDM_ECONNECT; 40001, 40P01, 55P03 -> MDM_EBUSY;
 * 54011 -> MDM_ECONSTRAINT; 42P07 -> MDM_EEXISTS; 42P01 -> MDM_ENOTFOUND; else
 * MDM_EBACKEND. The message is "<context>: <server's primary message>". */
int mdm_pg_error(mdm_backend_conn *c, const PGresult *res, const char *fmt, ...)
    MDM_PRINTF(3, 4);
/* The SQLSTATE of a failed result, or "" when there is none. */
const char *mdm_pg_sqlstate(const PGresult *res);

/* Runs SQL without parameters (several statements allowed) expecting success. */
int mdm_pg_exec(mdm_backend_conn *c, const char *sql, const char *context);
/* Runs SQL and ignores the outcome, without touching the error record: cleanup after
 * a failure must not hide the first error. */
void mdm_pg_exec_quietly(mdm_backend_conn *c, const char *sql);
/* Runs a one-statement query with text parameters; *out gets the PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK result (caller PQclear()s). */
int mdm_pg_query(PGresult **out, mdm_backend_conn *c, const char *sql, int nparams,
                 const char *const *params, const char *context);

/* Fails with MDM_EINVALID when no dataset was selected on the connection. */
int mdm_pg_need_dataset(mdm_backend_conn *c);
/* Appends "schema"."table" for the connection's dataset. */
void mdm_pg_append_table(strbuf *sb, const mdm_backend_conn *c, const char *table);

/* Rewrites `?` placeholders as $first, $first+1, ... outside string literals (also
 * E'' escape strings), quoted identifiers, dollar-quoted strings and comments.
 * *count gets the number of placeholders. PostgreSQL operators spelled with `?`
 * (jsonb ?, ?|, ?&) cannot be written through this API; use jsonb_exists() & co. */
int mdm_pg_translate_placeholders(strbuf *out, size_t *count, const char *sql, size_t first);

/* Parameters in binary format, built from mdm values. */
typedef struct pg_params {
    int n;
    Oid *types;
    const char **values;
    int *lengths;
    int *formats;
    char *scalars; /* 8 bytes per parameter for the binary forms of non-text values */
} pg_params;

/* Encodes `values` plus room for `extra` more (mdm_pg_params_add_int64). Text holding
 * a NUL byte, or a date/timestamp out of PostgreSQL's range, is MDM_EINVALID. */
int mdm_pg_params_build(pg_params *p, const mdm_value *values, size_t nvalues, size_t extra);
void mdm_pg_params_add_int64(pg_params *p, int64_t v);
void mdm_pg_params_free(pg_params *p);

/* Checks that an mdm date or timestamp fits PostgreSQL (4713 BC .. 5874897 AD dates,
 * 4713 BC .. 294276 AD timestamps) and gives the server's binary value. */
bool mdm_pg_date_to_server(int32_t days, int32_t *pg_days);
bool mdm_pg_timestamp_to_server(int64_t micros, int64_t *pg_micros);
/* From the server's binary value; infinities clamp to the int range ends. */
int32_t mdm_pg_date_from_server(int32_t pg_days);
int64_t mdm_pg_timestamp_from_server(int64_t pg_micros);

/* Big-endian (network order) integers, as the binary formats use. */
static inline void mdm_pg_put_u16(char *p, uint16_t v)
{
    p[0] = (char)(v >> 8);
    p[1] = (char)v;
}
static inline void mdm_pg_put_u32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}
static inline void mdm_pg_put_u64(char *p, uint64_t v)
{
    mdm_pg_put_u32(p, (uint32_t)(v >> 32));
    mdm_pg_put_u32(p + 4, (uint32_t)v);
}
static inline uint32_t mdm_pg_get_u32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}
static inline uint64_t mdm_pg_get_u64(const char *p)
{
    return (uint64_t)mdm_pg_get_u32(p) << 32 | mdm_pg_get_u32(p + 4);
}

/* mdm's type for a server type OID: integers -> int64, float/numeric -> float64,
 * bool, character types -> text, date, timestamp[tz] -> timestamp, others -> text. */
mdm_type mdm_pg_type_of_oid(Oid oid);
/* The column type append writes in binary for an mdm type. */
Oid mdm_pg_oid_of_type(mdm_type type);
/* The SQL type a table column of an mdm type gets. */
const char *mdm_pg_sql_type(mdm_type type);

/* Row order. A heap does not keep rows in insertion order: when a page cannot take
 * the next row, PostgreSQL records its leftover space in the free space map and a
 * later, smaller row may go back into it (COPY included). So every table mdm creates
 * carries a hidden ordinal column, filled by append from blocks of its identity
 * sequence, indexed, and read in its order. It is hidden from table_schema, read and
 * append; SQL run through execute sees it. */
#define PG_ORDINAL_COLUMN "_mdm_row"
/* Ordinals one append reserves per nextval() (the identity's INCREMENT). */
#define PG_ORDINAL_BLOCK (INT64_C(1) << 20)

/* A table's columns from the catalog, in attnum order. */
typedef struct pg_column {
    char *name;
    Oid oid;
    mdm_type type;
} pg_column;

/* The table's columns without the ordinal; *ordered tells whether it has one (tables
 * made by SQL through execute may not). MDM_ENOTFOUND when the dataset has no such
 * table (or view). */
int mdm_pg_table_columns(pg_column **cols, size_t *ncols, bool *ordered, mdm_backend_conn *c,
                         const char *table);
void mdm_pg_columns_free(pg_column *cols, size_t ncols);

/* The bulk paths (postgres_copy.c, postgres_read.c). */
int mdm_pg_append(mdm_backend_conn *c, const char *table, const mdm_batch *batch);
int mdm_pg_load_begin(mdm_backend_conn *c, const char *table);
int mdm_pg_load_batch(mdm_backend_conn *c, const mdm_batch *batch);
int mdm_pg_load_end(mdm_backend_conn *c);
/* Forgets an open load's state (its COPY is abandoned by the rollback or reset). */
void mdm_pg_load_free(mdm_backend_conn *c);
int mdm_pg_read(mdm_backend_conn *c, const mdm_read_request *req, mdm_batch_sink sink, void *ctx);
int mdm_pg_execute(mdm_backend_conn *c, const char *sql, const mdm_value *params, size_t nparams,
                   mdm_batch_sink sink, void *ctx, int64_t *changes);
int mdm_pg_readonly_query(mdm_backend_conn *c, const mdm_query_request *req,
                          mdm_batch_sink sink, void *ctx); /* postgres_readonly.c */

#endif
