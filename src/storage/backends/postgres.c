/* The PostgreSQL backend: one database, one schema per dataset (<prefix><dataset>),
 * selected on checkout through search_path, so that one pool serves every dataset.
 * This file holds the connection lifecycle, transactions, datasets, tables and
 * metadata; the bulk paths live in postgres_copy.c (append) and postgres_read.c
 * (read, execute). Passwords go to libpq through keyword arrays only: they are never
 * put into a string mdm builds, and never into a message. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conninfo_scrub.h"
#include "storage/backends/postgres_conn.h"

/* ------------------------------------------------------------------ version */

static pthread_once_t version_once = PTHREAD_ONCE_INIT;
static char version_text[32];

static void format_version(void)
{
    int v = PQlibVersion(); /* 150018 for 15.18; 90624 for 9.6.24 */
    if (v >= 100000)
        snprintf(version_text, sizeof version_text, "%d.%d", v / 10000, v % 10000);
    else
        snprintf(version_text, sizeof version_text, "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
}

static const char *library_version(void)
{
    pthread_once(&version_once, format_version);
    return version_text;
}

/* ------------------------------------------------------------------ connecting */

/* Connection parameters as libpq keyword/value arrays, with one spare slot for the
 * dbname override used to reach the maintenance database. */
#define MAX_KEYWORDS 16

typedef struct conn_params {
    const char *keywords[MAX_KEYWORDS];
    const char *values[MAX_KEYWORDS];
    int n;
    int expand_dbname;
    char timeout[24];
    char port[16];
} conn_params;

static void param_add(conn_params *p, const char *keyword, const char *value)
{
    if (!value)
        return;
    p->keywords[p->n] = keyword;
    p->values[p->n] = value;
    p->n++;
    p->keywords[p->n] = NULL;
    p->values[p->n] = NULL;
}

static int build_params(conn_params *p, const mdm_target *target, const mdm_config *cfg)
{
    memset(p, 0, sizeof *p);
    snprintf(p->timeout, sizeof p->timeout, "%lld",
             (long long)mdm_config_int(cfg, "database.connection_timeout"));
    const char *conninfo = target->conninfo;
    if (!conninfo)
        conninfo = mdm_config_str(cfg, "database.postgresql.conninfo");
    if (conninfo) {
        char *err = NULL;
        PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
        PQfreemem(err);
        if (!opts)
            /* libpq's message may quote a fragment of the string, password included. */
            return mdm_error_set(MDM_ECONFIG,
                                 "the PostgreSQL connection string is malformed (its text is not "
                                 "shown because it may hold a password)");
        PQconninfoFree(opts);
        /* Defaults first: what the connection string says wins over them. */
        param_add(p, "connect_timeout", p->timeout);
        param_add(p, "application_name", "mdm");
        param_add(p, "dbname", conninfo);
        p->expand_dbname = 1;
    } else {
        const char *user = mdm_config_str(cfg, "database.postgresql.user");
        if (!user || !*user)
            return mdm_error_set(MDM_ECONFIG,
                                 "PostgreSQL user not configured (database.postgresql.user)");
        snprintf(p->port, sizeof p->port, "%lld",
                 (long long)mdm_config_int(cfg, "database.postgresql.port"));
        param_add(p, "host", mdm_config_str(cfg, "database.postgresql.host"));
        param_add(p, "port", p->port);
        param_add(p, "user", user);
        param_add(p, "password", mdm_config_str(cfg, "database.postgresql.password"));
        param_add(p, "dbname", mdm_config_str(cfg, "database.postgresql.database"));
        param_add(p, "sslmode", mdm_config_str(cfg, "database.postgresql.sslmode"));
        param_add(p, "connect_timeout", p->timeout);
        param_add(p, "application_name", "mdm");
    }
    /* mdm speaks UTF-8 whatever the connection string says. */
    param_add(p, "client_encoding", "UTF8");
    return 0;
}

/* "host:port/db" of a connection attempt, for messages. */
static char *describe_conn(PGconn *pg)
{
    strbuf sb = STRBUF_INIT;
    const char *host = pg ? PQhost(pg) : NULL;
    const char *port = pg ? PQport(pg) : NULL;
    const char *db = pg ? PQdb(pg) : NULL;
    strbuf_appendf(&sb, "%s:%s/%s", host && *host ? host : "localhost",
                   port && *port ? port : "5432", db ? db : "");
    return strbuf_detach(&sb);
}

/* "postgres:host:port/db" of a target, from the connection string or config; never
 * the password. */
static char *describe_target(const mdm_target *target, const mdm_config *cfg)
{
    const char *host = mdm_config_str(cfg, "database.postgresql.host");
    const char *db = mdm_config_str(cfg, "database.postgresql.database");
    char port[32];
    snprintf(port, sizeof port, "%lld", (long long)mdm_config_int(cfg, "database.postgresql.port"));
    const char *conninfo = target->conninfo ? target->conninfo
                                            : mdm_config_str(cfg, "database.postgresql.conninfo");
    PQconninfoOption *opts = NULL;
    if (conninfo) {
        char *err = NULL;
        opts = PQconninfoParse(conninfo, &err);
        PQfreemem(err);
        host = db = NULL;
        snprintf(port, sizeof port, "5432");
        for (PQconninfoOption *o = opts; o && o->keyword; o++) {
            if (!o->val || !*o->val)
                continue;
            if (strcmp(o->keyword, "host") == 0 || (strcmp(o->keyword, "hostaddr") == 0 && !host))
                host = o->val;
            else if (strcmp(o->keyword, "port") == 0)
                snprintf(port, sizeof port, "%s", o->val);
            else if (strcmp(o->keyword, "dbname") == 0)
                db = o->val;
        }
    }
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "postgres:%s:%s/%s", host ? host : "localhost", port, db ? db : "");
    PQconninfoFree(opts);
    return strbuf_detach(&sb);
}

/* The first line of libpq's message, with the value of any password field in it
 * masked by position (mdm_conninfo_scrub), never every substring equal to the password:
 * a password equal to the user name, or one character long, would have masked the
 * user, the host or the port out of the message. */
static char *connect_failure(PGconn *pg)
{
    const char *msg = pg ? PQerrorMessage(pg) : "out of memory";
    size_t len = strcspn(msg, "\n");
    char *line = len ? strndup(msg, len) : strdup("unknown error");
    if (!line)
        return NULL;
    char *scrubbed = NULL;
    mdm_conninfo_scrub(&scrubbed, line);
    free(line);
    return scrubbed;
}

static bool database_missing(PGconn *pg)
{
    const char *msg = PQerrorMessage(pg);
    return strstr(msg, "database \"") && strstr(msg, "\" does not exist");
}

/* Server notices ("drop cascades to ...", warnings) go to the log, never to stderr. */
static void log_notice(void *arg, const char *message)
{
    (void)arg;
    if (mdm_log_enabled(MDM_LOG_DEBUG))
        MDM_DEBUG("PostgreSQL: %.*s", (int)strcspn(message, "\n"), message);
}

/* Creates the database the parameters name, through the `postgres` maintenance
 * database. Another process creating it at the same time is fine. */
static int create_database(conn_params *p, const char *dbname)
{
    int rc = 0;
    PGresult *res = NULL;
    strbuf sql = STRBUF_INIT;
    conn_params maint = *p;
    param_add(&maint, "dbname", "postgres"); /* a later dbname overrides; never expanded */
    PGconn *pg = PQconnectdbParams(maint.keywords, maint.values, maint.expand_dbname);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        char *why = connect_failure(pg);
        char *where = describe_conn(pg);
        rc = mdm_error_set(MDM_ECONNECT,
                           "could not connect to PostgreSQL at %s to create database '%s': %s",
                           where ? where : "?", dbname, why ? why : "out of memory");
        free(why);
        free(where);
        goto cleanup;
    }
    PQsetNoticeProcessor(pg, log_notice, NULL);
    strbuf_append(&sql, "CREATE DATABASE ");
    strbuf_append_ident(&sql, dbname);
    strbuf_append(&sql, " ENCODING 'UTF8' TEMPLATE template0");
    if (!strbuf_cstr(&sql)) {
        rc = MDM_ENOMEM;
        goto cleanup;
    }
    res = PQexec(pg, sql.data);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        const char *state = mdm_pg_sqlstate(res);
        /* 42P04 duplicate_database, or 23505 when two creators race in the catalog. */
        if (strcmp(state, "42P04") != 0 && strcmp(state, "23505") != 0) {
            const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
            char *why = primary ? strdup(primary) : connect_failure(pg);
            rc = mdm_error_set(PQstatus(pg) == CONNECTION_BAD ? MDM_ECONNECT : MDM_EBACKEND,
                               "could not create PostgreSQL database '%s': %s", dbname,
                               why ? why : "unknown error");
            free(why);
        }
    }
cleanup:
    PQclear(res);
    strbuf_free(&sql);
    PQfinish(pg);
    return rc;
}

/* Session settings every statement relies on: ISO dates, UTC, exact float text, and
 * lock waits bounded by database.connection_timeout (then MDM_EBUSY). */
static void append_session_settings(strbuf *sb, const mdm_backend_conn *c)
{
    strbuf_appendf(sb,
                   "SET DateStyle = ISO; SET TimeZone = 'UTC'; SET extra_float_digits = 3; "
                   "SET lock_timeout = %lld; ",
                   (long long)c->lock_timeout_ms);
    if (c->schema) {
        strbuf_append(sb, "SET search_path TO ");
        strbuf_append_ident(sb, c->schema);
        strbuf_append(sb, ", public; ");
    }
}

static int apply_session_settings(mdm_backend_conn *c)
{
    strbuf sql = STRBUF_INIT;
    append_session_settings(&sql, c);
    int rc = strbuf_cstr(&sql) ? mdm_pg_exec(c, sql.data, "could not set up the PostgreSQL session")
                               : MDM_ENOMEM;
    strbuf_free(&sql);
    return rc;
}

static void close_conn(mdm_backend_conn *c)
{
    if (!c)
        return;
    mdm_pg_load_free(c);
    PQfinish(c->pg);
    free(c->prefix);
    free(c->dataset);
    free(c->schema);
    free(c->where);
    free(c);
}

static int open_conn(mdm_backend_conn **out, const mdm_target *target, const mdm_config *cfg)
{
    *out = NULL;
    conn_params p;
    char *dbname = NULL;
    int rc = 0;
    mdm_backend_conn *c = calloc(1, sizeof *c);
    if (!c)
        return mdm_error_set(MDM_ENOMEM, "out of memory opening a PostgreSQL connection");
    const char *prefix = mdm_config_str(cfg, "database.postgresql.database_prefix");
    c->prefix = strdup(prefix ? prefix : "");
    c->lock_timeout_ms = mdm_config_int(cfg, "database.connection_timeout") * 1000;
    if (!c->prefix) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory opening a PostgreSQL connection");
        goto cleanup;
    }
    if ((rc = build_params(&p, target, cfg)))
        goto cleanup;

    c->pg = PQconnectdbParams(p.keywords, p.values, p.expand_dbname);
    if (c->pg && PQstatus(c->pg) == CONNECTION_BAD && database_missing(c->pg)) {
        dbname = strdup(PQdb(c->pg) ? PQdb(c->pg) : "");
        PQfinish(c->pg);
        c->pg = NULL;
        if (!dbname) {
            rc = mdm_error_set(MDM_ENOMEM, "out of memory opening a PostgreSQL connection");
            goto cleanup;
        }
        if ((rc = create_database(&p, dbname)))
            goto cleanup;
        c->pg = PQconnectdbParams(p.keywords, p.values, p.expand_dbname);
    }
    c->where = describe_conn(c->pg);
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        char *why = connect_failure(c->pg);
        rc = mdm_error_set(MDM_ECONNECT, "could not connect to PostgreSQL at %s: %s",
                           c->where ? c->where : "?", why ? why : "out of memory");
        free(why);
        goto cleanup;
    }
    if (!c->where) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory opening a PostgreSQL connection");
        goto cleanup;
    }
    PQsetNoticeProcessor(c->pg, log_notice, NULL);
    if ((rc = apply_session_settings(c)))
        goto cleanup;
    *out = c;
    c = NULL;
cleanup:
    close_conn(c);
    free(dbname);
    return rc;
}

/* ------------------------------------------------------------------ session */

static int ping(mdm_backend_conn *c)
{
    if (PQstatus(c->pg) != CONNECTION_OK)
        return mdm_error_set(MDM_ECONNECT, "the PostgreSQL connection to %s is broken", c->where);
    /* The empty query is the cheapest round trip, and works in an aborted transaction. */
    PGresult *res = PQexec(c->pg, "");
    int rc = 0;
    if (PQresultStatus(res) != PGRES_EMPTY_QUERY) {
        rc = mdm_pg_error(c, res, "PostgreSQL at %s does not answer", c->where);
        if (PQstatus(c->pg) == CONNECTION_BAD)
            rc = MDM_ECONNECT;
    }
    PQclear(res);
    return rc;
}

/* Throws away whatever a failed operation left in flight: pending results, an
 * unfinished COPY. */
static void drain(mdm_backend_conn *c)
{
    PGresult *res;
    while ((res = PQgetResult(c->pg)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        PQclear(res);
        if (st == PGRES_COPY_IN) {
            PQputCopyEnd(c->pg, "abandoned by mdm");
        } else if (st == PGRES_COPY_OUT) {
            char *buf = NULL;
            while (PQgetCopyData(c->pg, &buf, 0) > 0)
                PQfreemem(buf);
        }
        if (PQstatus(c->pg) == CONNECTION_BAD)
            break;
    }
}

static int reset(mdm_backend_conn *c)
{
    if (PQstatus(c->pg) != CONNECTION_OK)
        return mdm_error_set(MDM_ECONNECT, "the PostgreSQL connection to %s is broken", c->where);
    mdm_pg_load_free(c);
    if (PQtransactionStatus(c->pg) == PQTRANS_ACTIVE)
        drain(c);
    PGTransactionStatusType tx = PQtransactionStatus(c->pg);
    if (tx == PQTRANS_UNKNOWN)
        return mdm_error_set(MDM_ECONNECT, "the PostgreSQL connection to %s is broken", c->where);
    int rc = 0;
    if (tx == PQTRANS_INTRANS || tx == PQTRANS_INERROR)
        rc = mdm_pg_exec(c, "ROLLBACK", "could not roll back");
    /* DISCARD ALL: settings, cursors, prepared statements, temporary tables, advisory
     * locks, LISTENs; then the settings mdm relies on again. */
    if (!rc)
        rc = mdm_pg_exec(c, "DISCARD ALL", "could not reset the PostgreSQL session");
    if (!rc)
        rc = apply_session_settings(c);
    return rc;
}

static char *schema_of(const mdm_backend_conn *c, const char *dataset)
{
    size_t n = strlen(c->prefix) + strlen(dataset);
    if (n > PG_MAX_IDENT) {
        mdm_error_set(MDM_EINVALID,
                      "dataset name '%s' is too long for PostgreSQL: its schema '%s%s' would "
                      "pass the %d-byte limit of PostgreSQL names",
                      dataset, c->prefix, dataset, PG_MAX_IDENT);
        return NULL;
    }
    char *s = malloc(n + 1);
    if (!s) {
        mdm_error_set(MDM_ENOMEM, "out of memory");
        return NULL;
    }
    size_t plen = strlen(c->prefix);
    memcpy(s, c->prefix, plen);
    memcpy(s + plen, dataset, n - plen + 1);
    return s;
}

static int use_dataset(mdm_backend_conn *c, const char *dataset)
{
    if (!c->dataset || strcmp(c->dataset, dataset) != 0) {
        char *schema = schema_of(c, dataset);
        char *name = strdup(dataset);
        if (!schema || !name) {
            free(schema);
            free(name);
            return schema ? mdm_error_set(MDM_ENOMEM, "out of memory") : mdm_error_last()->code;
        }
        free(c->schema);
        free(c->dataset);
        c->schema = schema;
        c->dataset = name;
    }
    /* Set on every checkout: SQL run through execute may have changed it. */
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "SET search_path TO ");
    strbuf_append_ident(&sql, c->schema);
    strbuf_append(&sql, ", public");
    int rc = strbuf_cstr(&sql) ? mdm_pg_exec(c, sql.data, "could not select the dataset's schema")
                               : MDM_ENOMEM;
    strbuf_free(&sql);
    return rc;
}

/* ------------------------------------------------------------------ transactions */

static int begin(mdm_backend_conn *c) { return mdm_pg_exec(c, "BEGIN", "could not begin a transaction"); }

static int commit(mdm_backend_conn *c)
{
    PGresult *res = PQexec(c->pg, "COMMIT");
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = mdm_pg_error(c, res, "could not commit");
    else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
        /* COMMIT of an aborted transaction "succeeds" by rolling back. */
        rc = mdm_error_set(MDM_EBACKEND, "could not commit: an earlier statement failed, so "
                                         "PostgreSQL rolled the transaction back");
    PQclear(res);
    return rc;
}

static int rollback(mdm_backend_conn *c)
{
    if (c->load) {
        mdm_pg_load_free(c);
        if (PQtransactionStatus(c->pg) == PQTRANS_ACTIVE)
            drain(c); /* the load's COPY */
    }
    return mdm_pg_exec(c, "ROLLBACK", "could not roll back");
}

/* ------------------------------------------------------------------ datasets */

static int dataset_create(mdm_backend_conn *c, const char *dataset)
{
    char *schema = schema_of(c, dataset);
    if (!schema)
        return mdm_error_last()->code;
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "CREATE SCHEMA IF NOT EXISTS ");
    strbuf_append_ident(&sql, schema);
    strbuf_append(&sql, "; CREATE TABLE IF NOT EXISTS ");
    strbuf_append_ident(&sql, schema);
    strbuf_append(&sql, ".\"_metadata\" (key TEXT PRIMARY KEY, value TEXT)");
    int rc = MDM_ENOMEM;
    if (strbuf_cstr(&sql)) {
        /* Two creators racing past IF NOT EXISTS collide in the catalog (23505); the
         * second try sees the other's schema. */
        for (int attempt = 0; attempt < 2; attempt++) {
            PGresult *res = PQexec(c->pg, sql.data);
            bool race = PQresultStatus(res) == PGRES_FATAL_ERROR &&
                        strcmp(mdm_pg_sqlstate(res), "23505") == 0 &&
                        PQtransactionStatus(c->pg) == PQTRANS_IDLE;
            rc = PQresultStatus(res) == PGRES_COMMAND_OK
                     ? 0
                     : mdm_pg_error(c, res, "could not create dataset '%s' (schema %s)", dataset,
                                    schema);
            PQclear(res);
            if (rc == 0 || !race)
                break;
        }
    }
    strbuf_free(&sql);
    free(schema);
    return rc;
}

static int dataset_exists(mdm_backend_conn *c, const char *dataset, bool *exists)
{
    *exists = false;
    char *schema = schema_of(c, dataset);
    if (!schema)
        return mdm_error_last()->code;
    const char *params[] = {schema};
    PGresult *res = NULL;
    int rc = mdm_pg_query(&res, c, "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", 1,
                          params, "could not look the dataset's schema up");
    if (!rc)
        *exists = PQntuples(res) > 0;
    PQclear(res);
    free(schema);
    return rc;
}

static int dataset_drop(mdm_backend_conn *c, const char *dataset)
{
    char *schema = schema_of(c, dataset);
    if (!schema)
        return mdm_error_last()->code;
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "DROP SCHEMA IF EXISTS ");
    strbuf_append_ident(&sql, schema);
    strbuf_append(&sql, " CASCADE");
    int rc = MDM_ENOMEM;
    if (strbuf_cstr(&sql)) {
        PGresult *res = PQexec(c->pg, sql.data);
        rc = PQresultStatus(res) == PGRES_COMMAND_OK
                 ? 0
                 : mdm_pg_error(c, res, "could not drop dataset '%s' (schema %s)", dataset, schema);
        PQclear(res);
    }
    strbuf_free(&sql);
    free(schema);
    return rc;
}

static int dataset_location(mdm_backend_location *out, const mdm_config *cfg,
                            const char *dataset)
{
    const char *prefix = mdm_config_str(cfg, "database.postgresql.database_prefix");
    int n = snprintf(out->schema, sizeof out->schema, "%s%s", prefix ? prefix : "", dataset);
    if (n < 0 || n > PG_MAX_IDENT)
        return mdm_error_set(MDM_EINVALID,
                             "dataset name '%s' is too long for PostgreSQL: its schema '%s%s' "
                             "would pass the %d-byte limit of PostgreSQL names",
                             dataset, prefix ? prefix : "", dataset, PG_MAX_IDENT);
    out->host = mdm_config_str(cfg, "database.postgresql.host");
    out->database = mdm_config_str(cfg, "database.postgresql.database");
    out->user = mdm_config_str(cfg, "database.postgresql.user");
    out->port = (int)mdm_config_int(cfg, "database.postgresql.port");
    return 0;
}

static int dataset_rename(mdm_backend_conn *c, const char *from, const char *to)
{
    char *old = schema_of(c, from), *new = old ? schema_of(c, to) : NULL;
    if (!new) {
        free(old);
        return mdm_error_last()->code;
    }
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "ALTER SCHEMA ");
    strbuf_append_ident(&sql, old);
    strbuf_append(&sql, " RENAME TO ");
    strbuf_append_ident(&sql, new);
    int rc = MDM_ENOMEM;
    if (strbuf_cstr(&sql)) {
        PGresult *res = PQexec(c->pg, sql.data);
        if (PQresultStatus(res) == PGRES_COMMAND_OK)
            rc = 0;
        else if (strcmp(mdm_pg_sqlstate(res), "42P06") == 0) /* duplicate_schema */
            rc = mdm_error_set(MDM_EEXISTS, "PostgreSQL schema %s already exists", new);
        else
            rc = mdm_pg_error(c, res, "could not rename dataset '%s' to '%s'", from, to);
        PQclear(res);
    }
    strbuf_free(&sql);
    free(old);
    free(new);
    return rc;
}

static int dataset_list(mdm_backend_conn *c, const char *prefix, char ***names, size_t *count)
{
    *names = NULL;
    *count = 0;
    strbuf like = STRBUF_INIT;
    strbuf_appendf(&like, "%s%s", c->prefix, prefix);
    if (!strbuf_cstr(&like))
        return MDM_ENOMEM;
    const char *params[] = {like.data};
    PGresult *res = NULL;
    int rc = mdm_pg_query(&res, c,
                          "SELECT nspname::text FROM pg_catalog.pg_namespace "
                          "WHERE starts_with(nspname, $1) ORDER BY 1 LIMIT 1000",
                          1, params, "could not list datasets");
    size_t n = rc ? 0 : (size_t)PQntuples(res), plen = strlen(c->prefix);
    char **out = n ? calloc(n, sizeof *out) : NULL;
    if (n && !out)
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++)
        if (!(out[i] = strdup(PQgetvalue(res, (int)i, 0) + plen)))
            rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    PQclear(res);
    strbuf_free(&like);
    if (rc) {
        for (size_t i = 0; out && i < n; i++)
            free(out[i]);
        free(out);
        return rc;
    }
    *names = out;
    *count = n;
    return 0;
}

static int transaction_state(mdm_backend_conn *c, bool *in_transaction)
{
    switch (PQtransactionStatus(c->pg)) {
    case PQTRANS_IDLE: *in_transaction = false; return 0;
    case PQTRANS_ACTIVE:
    case PQTRANS_INTRANS:
    case PQTRANS_INERROR: *in_transaction = true; return 0;
    default:
        *in_transaction = false;
        return mdm_error_set(MDM_ECONNECT, "the PostgreSQL connection to %s was lost", c->where);
    }
}

/* ------------------------------------------------------------------ tables */

static int table_create(mdm_backend_conn *c, const char *table, const mdm_field *fields,
                        size_t nfields)
{
    int rc = mdm_pg_need_dataset(c);
    if (rc)
        return rc;
    /* One column goes to the row ordinal (PG_ORDINAL_COLUMN in postgres_conn.h). */
    if (nfields > PG_MAX_COLUMNS - 1)
        return mdm_error_set(MDM_ECONSTRAINT,
                             "PostgreSQL allows at most %d columns per table (mdm keeps one for "
                             "row order, leaving %d); table '%s' has %zu (use --backend duckdb)",
                             PG_MAX_COLUMNS, PG_MAX_COLUMNS - 1, table, nfields);
    for (size_t i = 0; i < nfields; i++)
        if (strcmp(fields[i].name, PG_ORDINAL_COLUMN) == 0)
            return mdm_error_set(MDM_EINVALID,
                                 "column name '%s' of table '%s' is reserved: the PostgreSQL "
                                 "backend keeps row order in it",
                                 PG_ORDINAL_COLUMN, table);
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "CREATE TABLE ");
    mdm_pg_append_table(&sql, c, table);
    strbuf_append(&sql, " (");
    strbuf_append_column_defs(&sql, fields, nfields, mdm_pg_sql_type);
    strbuf_append(&sql, ", ");
    /* The identity hands out blocks of ordinals (one nextval per append); rows that
     * SQL inserts get one block each, still in order. PostgreSQL names the sequence
     * and the index itself, so they never collide with a table's name. */
    strbuf_appendf(&sql,
                   "\"" PG_ORDINAL_COLUMN "\" BIGINT GENERATED BY DEFAULT AS IDENTITY "
                   "(INCREMENT BY %lld)); CREATE INDEX ON ",
                   (long long)PG_ORDINAL_BLOCK);
    mdm_pg_append_table(&sql, c, table);
    /* Ordinals only ever grow: full leaf pages, nothing kept for inserts between. */
    strbuf_append(&sql, " (\"" PG_ORDINAL_COLUMN "\") WITH (fillfactor = 100)");
    rc = MDM_ENOMEM;
    if (strbuf_cstr(&sql)) {
        PGresult *res = PQexec(c->pg, sql.data);
        rc = PQresultStatus(res) == PGRES_COMMAND_OK
                 ? 0
                 : mdm_pg_error(c, res, "could not create table '%s' in dataset '%s'", table,
                                c->dataset);
        PQclear(res);
    }
    strbuf_free(&sql);
    return rc;
}

static int table_drop(mdm_backend_conn *c, const char *table)
{
    int rc = mdm_pg_need_dataset(c);
    if (rc)
        return rc;
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "DROP TABLE ");
    mdm_pg_append_table(&sql, c, table);
    rc = MDM_ENOMEM;
    if (strbuf_cstr(&sql)) {
        PGresult *res = PQexec(c->pg, sql.data);
        rc = PQresultStatus(res) == PGRES_COMMAND_OK
                 ? 0
                 : mdm_pg_error(c, res, "could not drop table '%s' of dataset '%s'", table,
                                c->dataset);
        PQclear(res);
    }
    strbuf_free(&sql);
    return rc;
}

/* Tables of the dataset: ordinary, partitioned and foreign ones (not views). */
#define TABLE_KINDS "('r', 'p', 'f')"

static int table_exists(mdm_backend_conn *c, const char *table, bool *exists)
{
    *exists = false;
    int rc = mdm_pg_need_dataset(c);
    if (rc)
        return rc;
    const char *params[] = {c->schema, table};
    PGresult *res = NULL;
    rc = mdm_pg_query(&res, c,
                      "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                      "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 "
                      "AND c.relkind IN " TABLE_KINDS,
                      2, params, "could not look a table up");
    if (!rc)
        *exists = PQntuples(res) > 0;
    PQclear(res);
    return rc;
}

static int table_list(mdm_backend_conn *c, char ***names, size_t *count)
{
    *names = NULL;
    *count = 0;
    int rc = mdm_pg_need_dataset(c);
    if (rc)
        return rc;
    const char *params[] = {c->schema};
    PGresult *res = NULL;
    /* COLLATE "C": byte order, as the file backends sort. */
    rc = mdm_pg_query(&res, c,
                      "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                      "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN " TABLE_KINDS
                      " ORDER BY c.relname COLLATE \"C\"",
                      1, params, "could not list the dataset's tables");
    if (rc)
        return rc;
    size_t n = (size_t)PQntuples(res);
    char **out = calloc(n ? n : 1, sizeof *out);
    if (!out) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory listing tables");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = strdup(PQgetvalue(res, (int)i, 0));
        if (!out[i]) {
            for (size_t j = 0; j < i; j++)
                free(out[j]);
            free(out);
            rc = mdm_error_set(MDM_ENOMEM, "out of memory listing tables");
            goto cleanup;
        }
    }
    *names = out;
    *count = n;
cleanup:
    PQclear(res);
    return rc;
}

static int table_schema(mdm_backend_conn *c, const char *table, mdm_field **fields,
                        size_t *nfields)
{
    *fields = NULL;
    *nfields = 0;
    pg_column *cols = NULL;
    size_t n = 0;
    bool ordered;
    int rc = mdm_pg_table_columns(&cols, &n, &ordered, c, table);
    if (rc)
        return rc;
    mdm_field *out = calloc(n ? n : 1, sizeof *out);
    if (!out) {
        mdm_pg_columns_free(cols, n);
        return mdm_error_set(MDM_ENOMEM, "out of memory reading a table's schema");
    }
    for (size_t i = 0; i < n; i++) {
        out[i].name = cols[i].name; /* ownership moves to the fields */
        out[i].type = cols[i].type;
        cols[i].name = NULL;
    }
    mdm_pg_columns_free(cols, n);
    *fields = out;
    *nfields = n;
    return 0;
}

/* ------------------------------------------------------------------ metadata */

static int metadata_get(mdm_backend_conn *c, const char *key, char **value)
{
    *value = NULL;
    int rc = mdm_pg_need_dataset(c);
    if (rc)
        return rc;
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "SELECT value FROM ");
    mdm_pg_append_table(&sql, c, "_metadata");
    strbuf_append(&sql, " WHERE key = $1");
    if (!strbuf_cstr(&sql)) {
        strbuf_free(&sql);
        return MDM_ENOMEM;
    }
    const char *params[] = {key};
    PGresult *res = NULL;
    rc = mdm_pg_query(&res, c, sql.data, 1, params, "could not read metadata");
    strbuf_free(&sql);
    if (rc)
        return rc;
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
        rc = mdm_error_set(MDM_ENOTFOUND, "metadata key '%s' not found in dataset '%s'", key,
                           c->dataset);
    } else {
        *value = strdup(PQgetvalue(res, 0, 0));
        if (!*value)
            rc = mdm_error_set(MDM_ENOMEM, "out of memory reading metadata");
    }
    PQclear(res);
    return rc;
}

static int metadata_set(mdm_backend_conn *c, const char *key, const char *value)
{
    int rc = mdm_pg_need_dataset(c);
    if (rc)
        return rc;
    if (!key || !value)
        return mdm_error_set(MDM_EINVALID, "metadata keys and values must not be NULL");
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "INSERT INTO ");
    mdm_pg_append_table(&sql, c, "_metadata");
    strbuf_append(&sql, " (key, value) VALUES ($1, $2) "
                        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value");
    if (!strbuf_cstr(&sql)) {
        strbuf_free(&sql);
        return MDM_ENOMEM;
    }
    const char *params[] = {key, value};
    PGresult *res = NULL;
    rc = mdm_pg_query(&res, c, sql.data, 2, params, "could not write metadata");
    PQclear(res);
    strbuf_free(&sql);
    return rc;
}

const mdm_backend mdm_backend_postgres = {
    MDM_BACKEND_INIT,
    .name = "postgres",
    .file_extension = NULL,
    .library_version = library_version,
    .describe = describe_target,
    .open = open_conn,
    .close = close_conn,
    .ping = ping,
    .reset = reset,
    .use_dataset = use_dataset,
    .begin = begin,
    .commit = commit,
    .rollback = rollback,
    .dataset_create = dataset_create,
    .dataset_exists = dataset_exists,
    .dataset_drop = dataset_drop,
    .table_create = table_create,
    .table_drop = table_drop,
    .table_exists = table_exists,
    .table_list = table_list,
    .table_schema = table_schema,
    .append = mdm_pg_append,
    .load_begin = mdm_pg_load_begin,
    .load_batch = mdm_pg_load_batch,
    .load_end = mdm_pg_load_end,
    .read = mdm_pg_read,
    .execute = mdm_pg_execute,
    .metadata_get = metadata_get,
    .metadata_set = metadata_set,
    .capabilities = MDM_BACKEND_CAP_SCHEMAS | MDM_BACKEND_CAP_SQL |
                    MDM_BACKEND_CAP_TRANSACTIONAL_DDL | MDM_BACKEND_CAP_SAVEPOINTS,
    .max_columns = PG_MAX_COLUMNS - 1, /* one column holds the row ordinal */
    .max_identifier_bytes = PG_MAX_IDENT,
    .transaction_state = transaction_state,
    .dataset_location = dataset_location,
    .dataset_rename = dataset_rename,
    .dataset_list = dataset_list,
    .query = mdm_pg_readonly_query,
    .pool_size_key = "database.postgresql.pool_size",
};
