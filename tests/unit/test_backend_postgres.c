/* PostgreSQL-specific behaviour of the postgres backend: connection errors that name
 * their cause without the password, the database created on first use, one schema per
 * dataset selected on checkout, the 1600-column limit, `?` placeholder translation,
 * NUL bytes in text, SQLSTATE mapping, text decoding of execute results. What all
 * backends share is checked by tests/conformance.
 *
 * Needs a server: run under scripts/test-postgres, which sets MDM_TEST_PG_CONNINFO and
 * MDM_TEST_PG_HOST/PORT/USER/PASSWORD/DATABASE. Without it the test is skipped (exit
 * 77) unless MDM_REQUIRE_POSTGRES=1. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/strbuf.h"
#include "mdm/mdm.h"
#include "mdm/sys/backend.h"
#include "storage/backends/postgres_conn.h"

#define CHECK(expr)                                                                        \
    do {                                                                                   \
        int check_rc_ = (expr);                                                            \
        if (check_rc_ != 0)                                                                \
            fail_msg("%s failed: %s (%s)", #expr, mdm_error_last()->message,               \
                     mdm_error_name(check_rc_));                                           \
    } while (0)

static const char *pg_conninfo, *pg_host, *pg_port, *pg_user, *pg_password, *pg_database;
static char home[64];

/* A config pointing at the test server through the individual keys. */
static mdm_config *server_config(void)
{
    mdm_config *cfg = NULL;
    CHECK(mdm_config_defaults(&cfg, home));
    CHECK(mdm_config_set(cfg, "database.postgresql.host", pg_host));
    CHECK(mdm_config_set(cfg, "database.postgresql.port", pg_port));
    CHECK(mdm_config_set(cfg, "database.postgresql.user", pg_user));
    CHECK(mdm_config_set(cfg, "database.postgresql.password", pg_password));
    CHECK(mdm_config_set(cfg, "database.postgresql.database", pg_database));
    CHECK(mdm_config_set(cfg, "database.postgresql.sslmode", "disable"));
    return cfg;
}

static mdm_store *open_store(const char *dataset, const mdm_config *cfg, const char *conninfo)
{
    mdm_store *store = NULL;
    mdm_target t = {.dataset = dataset, .conninfo = conninfo};
    CHECK(mdm_store_open(&store, "postgres", &t, cfg));
    return store;
}

static mdm_conn *checkout(mdm_store *store)
{
    mdm_conn *c = NULL;
    CHECK(mdm_store_checkout(store, &c));
    return c;
}

/* A unique dataset name per test run (the server may be shared). */
static const char *dataset_name(char *buf, size_t size, const char *what)
{
    snprintf(buf, size, "%s_%d", what, (int)getpid());
    return buf;
}

typedef struct one_row {
    mdm_value v[8];
    char text[8][128];
    size_t ncols, rows;
} one_row;

static int first_row(const mdm_batch *b, void *ctx)
{
    one_row *o = ctx;
    if (o->rows == 0 && mdm_batch_nrows(b) > 0) {
        o->ncols = mdm_batch_ncols(b);
        for (size_t i = 0; i < o->ncols && i < 8; i++) {
            o->v[i] = mdm_batch_value(b, i, 0);
            if (o->v[i].type == MDM_TYPE_TEXT && !o->v[i].is_null) {
                snprintf(o->text[i], sizeof o->text[i], "%.*s", (int)o->v[i].v.text.len,
                         o->v[i].v.text.ptr);
                o->v[i].v.text.ptr = o->text[i];
            }
        }
    }
    o->rows += mdm_batch_nrows(b);
    return 0;
}

static one_row query(mdm_conn *c, const char *sql, const mdm_value *params, size_t n)
{
    one_row o;
    memset(&o, 0, sizeof o);
    CHECK(mdm_conn_execute(c, sql, params, n, first_row, &o, NULL));
    return o;
}

/* ------------------------------------------------------------------ connecting */

static void wrong_password_names_cause_not_password(void **state)
{
    (void)state;
    const char *secret = "Wr0ngSecretZ9q";
    mdm_config *cfg = server_config();
    CHECK(mdm_config_set(cfg, "database.postgresql.password", secret));
    mdm_store *store = open_store("pw", cfg, NULL);
    mdm_conn *c = NULL;
    assert_int_equal(mdm_store_checkout(store, &c), MDM_ECONNECT);
    const char *msg = mdm_error_last()->message;
    assert_non_null(strstr(msg, "password authentication failed"));
    assert_non_null(strstr(msg, pg_port));
    assert_null(strstr(msg, secret));
    assert_null(strchr(msg, '\n'));
    /* The store's description never carries it either. */
    assert_null(strstr(mdm_store_describe(store), secret));
    mdm_store_free(store);

    /* The same through a connection string. */
    char conninfo[512];
    snprintf(conninfo, sizeof conninfo, "host=%s port=%s user=%s password=%s dbname=%s", pg_host,
             pg_port, pg_user, secret, pg_database);
    store = open_store("pw", cfg, conninfo);
    assert_int_equal(mdm_store_checkout(store, &c), MDM_ECONNECT);
    msg = mdm_error_last()->message;
    assert_non_null(strstr(msg, "password authentication failed"));
    assert_null(strstr(msg, secret));
    mdm_store_free(store);
    mdm_config_free(cfg);
}

static void refused_and_unconfigured(void **state)
{
    (void)state;
    /* A port nobody listens on: bind one, note it, close it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    char port[16];
    snprintf(port, sizeof port, "%d", ntohs(addr.sin_port));

    mdm_config *cfg = server_config();
    CHECK(mdm_config_set(cfg, "database.postgresql.host", "127.0.0.1"));
    CHECK(mdm_config_set(cfg, "database.postgresql.port", port));
    mdm_store *store = open_store("refused", cfg, NULL);
    mdm_conn *c = NULL;
    assert_int_equal(mdm_store_checkout(store, &c), MDM_ECONNECT);
    assert_non_null(strstr(mdm_error_last()->message, "refused"));
    assert_non_null(strstr(mdm_error_last()->message, port));
    assert_null(strstr(mdm_error_last()->message, pg_password));
    mdm_store_free(store);

    CHECK(mdm_config_set(cfg, "database.postgresql.user", NULL));
    store = open_store("nouser", cfg, NULL);
    assert_int_equal(mdm_store_checkout(store, &c), MDM_ECONFIG);
    assert_string_equal(mdm_error_last()->message,
                        "PostgreSQL user not configured (database.postgresql.user)");
    mdm_store_free(store);
    mdm_config_free(cfg);
}

static void library_version_format(void **state)
{
    (void)state;
    const char *v = mdm_backend_library_version("postgres");
    assert_non_null(v);
    int major = 0, minor = -1;
    assert_int_equal(sscanf(v, "%d.%d", &major, &minor), 2);
    assert_true(major >= 10 && minor >= 0);
    char again[32];
    snprintf(again, sizeof again, "%d.%d", major, minor);
    assert_string_equal(v, again);
}

typedef struct creator {
    const mdm_config *cfg;
    int rc;
    char message[1024];
} creator;

static void *create_concurrently(void *arg)
{
    creator *cr = arg;
    mdm_store *store = NULL;
    mdm_target t = {.dataset = "auto"};
    cr->rc = mdm_store_open(&store, "postgres", &t, cr->cfg);
    mdm_conn *c = NULL;
    if (!cr->rc)
        cr->rc = mdm_store_checkout(store, &c);
    if (!cr->rc)
        cr->rc = mdm_conn_ping(c);
    memcpy(cr->message, mdm_error_last()->message, sizeof cr->message);
    if (c)
        mdm_store_checkin(store, c);
    mdm_store_free(store);
    return NULL;
}

static void database_created_on_first_use(void **state)
{
    (void)state;
    char db[64];
    snprintf(db, sizeof db, "mdm auto \"%d\"", (int)getpid()); /* awkward on purpose */
    mdm_config *cfg = server_config();
    CHECK(mdm_config_set(cfg, "database.postgresql.database", db));

    /* Several first users at once: one creates, the others tolerate it. */
    enum { THREADS = 4 };
    pthread_t threads[THREADS];
    creator cr[THREADS];
    for (int i = 0; i < THREADS; i++) {
        cr[i] = (creator){.cfg = cfg};
        assert_int_equal(pthread_create(&threads[i], NULL, create_concurrently, &cr[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        if (cr[i].rc)
            fail_msg("thread %d: %s (%s)", i, cr[i].message, mdm_error_name(cr[i].rc));
    }

    mdm_store *store = open_store("auto", cfg, NULL);
    mdm_conn *c = checkout(store);
    one_row o = query(c, "SELECT current_database(), pg_encoding_to_char(encoding) FROM "
                         "pg_database WHERE datname = current_database()",
                      NULL, 0);
    assert_string_equal(o.v[0].v.text.ptr, db);
    assert_string_equal(o.v[1].v.text.ptr, "UTF8");
    mdm_store_checkin(store, c);
    mdm_store_free(store);

    /* Clean up from the test database. */
    mdm_config *main_cfg = server_config();
    store = open_store("auto", main_cfg, NULL);
    c = checkout(store);
    strbuf sql = STRBUF_INIT;
    strbuf_append(&sql, "DROP DATABASE ");
    strbuf_append_ident(&sql, db);
    CHECK(mdm_conn_execute(c, strbuf_cstr(&sql), NULL, 0, NULL, NULL, NULL));
    strbuf_free(&sql);
    mdm_store_checkin(store, c);
    mdm_store_free(store);
    mdm_config_free(main_cfg);
    mdm_config_free(cfg);
}

/* ------------------------------------------------------------------ schemas */

static const mdm_field id_text[] = {{"id", MDM_TYPE_INT64}, {"name", MDM_TYPE_TEXT}};

static void append_rows(mdm_conn *c, const char *table, int64_t first, size_t n, const char *name)
{
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, id_text, 2, n));
    for (size_t i = 0; i < n; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, first + (int64_t)i);
        CHECK(mdm_batch_set_text(b, 1, r, name, strlen(name)));
    }
    CHECK(mdm_conn_append(c, table, b));
    mdm_batch_free(b);
}

static int64_t count_rows(mdm_conn *c, const char *table)
{
    char sql[256], quoted[160];
    assert_true(mdm_sql_quote_ident(quoted, sizeof quoted, table) > 0);
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", quoted);
    one_row o = query(c, sql, NULL, 0);
    assert_int_equal(o.v[0].type, MDM_TYPE_INT64);
    return o.v[0].v.i64;
}

static void schemas_isolate_datasets(void **state)
{
    (void)state;
    char a_name[64], b_name[64];
    mdm_config *cfg = server_config();
    mdm_store *a = open_store(dataset_name(a_name, sizeof a_name, "iso_a"), cfg, pg_conninfo);
    mdm_store *b = open_store(dataset_name(b_name, sizeof b_name, "iso_b"), cfg, NULL);
    mdm_conn *ca = checkout(a), *cb = checkout(b);
    CHECK(mdm_conn_dataset_create(ca));
    CHECK(mdm_conn_dataset_create(cb));
    CHECK(mdm_conn_table_create(ca, "t", id_text, 2));
    CHECK(mdm_conn_table_create(cb, "t", id_text, 2));
    append_rows(ca, "t", 0, 3, "in a");
    append_rows(cb, "t", 100, 5, "in b");
    assert_int_equal(count_rows(ca, "t"), 3);
    assert_int_equal(count_rows(cb, "t"), 5);
    CHECK(mdm_conn_metadata_set(ca, "who", "a"));
    CHECK(mdm_conn_metadata_set(cb, "who", "b"));
    char *v = NULL;
    CHECK(mdm_conn_metadata_get(ca, "who", &v));
    assert_string_equal(v, "a");
    free(v);

    /* The schema is <database_prefix><dataset>. */
    char want[128];
    snprintf(want, sizeof want, "mdm_%s", a_name);
    one_row o = query(ca, "SELECT current_schema()", NULL, 0);
    assert_string_equal(o.v[0].v.text.ptr, want);

    /* Dropping one dataset leaves the other whole. */
    CHECK(mdm_conn_dataset_drop(ca));
    bool exists = true;
    CHECK(mdm_conn_dataset_exists(ca, &exists));
    assert_false(exists);
    CHECK(mdm_conn_dataset_exists(cb, &exists));
    assert_true(exists);
    assert_int_equal(count_rows(cb, "t"), 5);
    CHECK(mdm_conn_dataset_drop(cb));
    mdm_store_checkin(a, ca);
    mdm_store_checkin(b, cb);
    mdm_store_free(a);
    mdm_store_free(b);
    mdm_config_free(cfg);
}

static int64_t backend_pid(mdm_conn *c)
{
    one_row o = query(c, "SELECT pg_backend_pid()", NULL, 0);
    return o.v[0].v.i64;
}

static void search_path_follows_each_checkout(void **state)
{
    (void)state;
    char a_name[64], b_name[64];
    mdm_config *cfg = server_config();
    CHECK(mdm_config_set(cfg, "database.postgresql.database_prefix", "pfx_"));
    /* One connection for both datasets: every checkout must point it at its own. */
    CHECK(mdm_config_set(cfg, "database.postgresql.pool_size", "1"));
    mdm_store *a = open_store(dataset_name(a_name, sizeof a_name, "sp_a"), cfg, NULL);
    mdm_store *b = open_store(dataset_name(b_name, sizeof b_name, "sp_b"), cfg, NULL);

    mdm_conn *c = checkout(a);
    int64_t pid = backend_pid(c);
    CHECK(mdm_conn_dataset_create(c));
    CHECK(mdm_conn_table_create(c, "t", id_text, 2));
    append_rows(c, "t", 0, 1, "a");
    mdm_store_checkin(a, c);

    c = checkout(b);
    assert_int_equal(backend_pid(c), pid);
    CHECK(mdm_conn_dataset_create(c));
    CHECK(mdm_conn_table_create(c, "t", id_text, 2));
    append_rows(c, "t", 0, 2, "b");
    mdm_store_checkin(b, c);

    for (int round = 0; round < 3; round++) {
        mdm_store *s = round % 2 ? b : a;
        c = checkout(s);
        assert_int_equal(backend_pid(c), pid);
        /* Unqualified names resolve in the dataset's schema. */
        assert_int_equal(count_rows(c, "t"), round % 2 ? 2 : 1);
        char want[128];
        snprintf(want, sizeof want, "pfx_%s", round % 2 ? b_name : a_name);
        one_row o = query(c, "SELECT current_schema()", NULL, 0);
        assert_string_equal(o.v[0].v.text.ptr, want);
        mdm_store_checkin(s, c);
    }

    /* A reset (after a failure) keeps the dataset's schema selected. */
    c = checkout(a);
    assert_true(mdm_conn_execute(c, "SELECT 1/0", NULL, 0, NULL, NULL, NULL) < 0);
    mdm_store_checkin(a, c);
    c = checkout(a);
    assert_int_equal(count_rows(c, "t"), 1);
    CHECK(mdm_conn_dataset_drop(c));
    mdm_store_checkin(a, c);
    c = checkout(b);
    CHECK(mdm_conn_dataset_drop(c));
    mdm_store_checkin(b, c);
    mdm_store_free(a);
    mdm_store_free(b);
    mdm_config_free(cfg);
}

/* ------------------------------------------------------------------ limits and values */

typedef struct env {
    mdm_config *cfg;
    mdm_store *store;
    mdm_conn *conn;
    char dataset[64];
} env;

static int env_setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    static int seq;
    snprintf(e->dataset, sizeof e->dataset, "unit_%d_%d", (int)getpid(), ++seq);
    e->cfg = server_config();
    e->store = open_store(e->dataset, e->cfg, pg_conninfo);
    e->conn = checkout(e->store);
    CHECK(mdm_conn_dataset_create(e->conn));
    *state = e;
    return 0;
}

static int env_teardown(void **state)
{
    env *e = *state;
    mdm_store_checkin(e->store, e->conn);
    mdm_conn *c = checkout(e->store);
    CHECK(mdm_conn_dataset_drop(c));
    mdm_store_checkin(e->store, c);
    mdm_store_free(e->store);
    mdm_config_free(e->cfg);
    free(e);
    return 0;
}

static void too_many_columns(void **state)
{
    env *e = *state;
    enum { N = 1601 };
    mdm_field *fields = calloc(N, sizeof *fields);
    char(*names)[16] = calloc(N, sizeof *names);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "c%d", i);
        fields[i] = (mdm_field){names[i], MDM_TYPE_INT64};
    }
    assert_int_equal(mdm_conn_table_create(e->conn, "wide", fields, N), MDM_ECONSTRAINT);
    const char *msg = mdm_error_last()->message;
    assert_non_null(strstr(msg, "1600"));
    assert_non_null(strstr(msg, "'wide' has 1601"));
    assert_non_null(strstr(msg, "--backend duckdb"));
    /* One column is mdm's row ordinal: 1599 remain. */
    assert_int_equal(mdm_conn_table_create(e->conn, "wide", fields, N - 1), MDM_ECONSTRAINT);
    CHECK(mdm_conn_table_create(e->conn, "wide", fields, N - 2));
    mdm_field *got = NULL;
    size_t n = 0;
    CHECK(mdm_conn_table_schema(e->conn, "wide", &got, &n));
    assert_int_equal(n, N - 2);
    assert_string_equal(got[N - 3].name, "c1598");
    mdm_fields_free(got, n);
    free(fields);
    free(names);
}

static void translate(const char *sql, const char *want, size_t want_count)
{
    strbuf out = STRBUF_INIT;
    size_t count = 99;
    CHECK(mdm_pg_translate_placeholders(&out, &count, sql, 1));
    assert_string_equal(out.data ? out.data : "", want);
    assert_int_equal(count, want_count);
    strbuf_free(&out);
}

static void placeholder_translation(void **state)
{
    (void)state;
    translate("SELECT ?", "SELECT $1", 1);
    translate("SELECT ?, ?,?", "SELECT $1, $2,$3", 3);
    translate("SELECT '?', ?", "SELECT '?', $1", 1);
    translate("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1);
    translate("SELECT E'\\'?', ?", "SELECT E'\\'?', $1", 1);
    translate("SELECT e'a\\\\', ?", "SELECT e'a\\\\', $1", 1);
    /* Without the E prefix a backslash is an ordinary character. */
    translate("SELECT 'a\\', ?", "SELECT 'a\\', $1", 1);
    translate("SELECT \"col?\" FROM \"t\"\"?\" WHERE x = ?",
              "SELECT \"col?\" FROM \"t\"\"?\" WHERE x = $1", 1);
    translate("SELECT $$?$$, $tag$ ? $x$ ? $tag$, ?", "SELECT $$?$$, $tag$ ? $x$ ? $tag$, $1", 1);
    translate("SELECT 1 -- what?\n, ?", "SELECT 1 -- what?\n, $1", 1);
    translate("SELECT /* a /* nested? */ still? */ ?", "SELECT /* a /* nested? */ still? */ $1", 1);
    translate("SELECT a$b, ?", "SELECT a$b, $1", 1);
    translate("SELECT 'unterminated ?", "SELECT 'unterminated ?", 0);
    translate("", "", 0);
}

static void placeholders_through_execute(void **state)
{
    env *e = *state;
    mdm_value p[] = {mdm_value_text("bound"), mdm_value_int64(7)};
    one_row o = query(e->conn, "SELECT '?' AS q, ? AS a, $$?$$ AS d, ? + 1 AS n -- ?", p, 2);
    assert_int_equal(o.rows, 1);
    assert_string_equal(o.v[0].v.text.ptr, "?");
    assert_string_equal(o.v[1].v.text.ptr, "bound");
    assert_string_equal(o.v[2].v.text.ptr, "?");
    assert_int_equal(o.v[3].v.i64, 8);
    /* Placeholder and parameter counts must agree. */
    assert_int_equal(mdm_conn_execute(e->conn, "SELECT ?, ?", p, 1, NULL, NULL, NULL),
                     MDM_EINVALID);
    /* Injection through a parameter stays a value. */
    mdm_value evil = mdm_value_text("x'); DROP SCHEMA public CASCADE; --");
    o = query(e->conn, "SELECT ?", &evil, 1);
    assert_string_equal(o.v[0].v.text.ptr, "x'); DROP SCHEMA public CASCADE; --");
}

static void nul_in_text_refused(void **state)
{
    env *e = *state;
    CHECK(mdm_conn_table_create(e->conn, "t", id_text, 2));
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, id_text, 2, 4));
    for (int i = 0; i < 3; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, i);
        CHECK(mdm_batch_set_text(b, 1, r, i == 2 ? "a\0b" : "ok", i == 2 ? 3 : 2));
    }
    assert_int_equal(mdm_conn_append(e->conn, "t", b), MDM_EINVALID);
    const char *msg = mdm_error_last()->message;
    assert_non_null(strstr(msg, "NUL"));
    assert_non_null(strstr(msg, "'t'"));
    assert_non_null(strstr(msg, "'name'"));
    assert_non_null(strstr(msg, "row 2"));
    assert_int_equal(count_rows(e->conn, "t"), 0);

    /* Inside a transaction: the failed batch vanishes, the transaction goes on. */
    CHECK(mdm_conn_begin(e->conn));
    append_rows(e->conn, "t", 0, 2, "before");
    assert_int_equal(mdm_conn_append(e->conn, "t", b), MDM_EINVALID);
    append_rows(e->conn, "t", 10, 2, "after");
    CHECK(mdm_conn_commit(e->conn));
    assert_int_equal(count_rows(e->conn, "t"), 4);
    mdm_batch_free(b);

    /* The same for a parameter. */
    mdm_value nul = {.type = MDM_TYPE_TEXT, .v.text = {"a\0b", 3}};
    assert_int_equal(mdm_conn_execute(e->conn, "SELECT ?", &nul, 1, NULL, NULL, NULL),
                     MDM_EINVALID);
}

static void special_values_through_params_and_text(void **state)
{
    env *e = *state;
    const double in[] = {NAN, INFINITY, -INFINITY, -0.0, 4.9e-324, 0.1};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        mdm_value p = mdm_value_float64(in[i]);
        one_row o = query(e->conn, "SELECT ?::float8", &p, 1);
        assert_int_equal(o.v[0].type, MDM_TYPE_FLOAT64);
        double got = o.v[0].v.f64;
        if (isnan(in[i]))
            assert_true(isnan(got));
        else
            assert_true(got == in[i] && signbit(got) == signbit(in[i]));
    }
    /* Dates and timestamps decoded from text: BC years, offsets, infinities. */
    one_row o = query(e->conn,
                      "SELECT DATE '0044-03-15 BC', TIMESTAMP '2024-02-29 12:34:56.5', "
                      "TIMESTAMPTZ '2024-01-01 05:30:00+05:30', DATE 'infinity', "
                      "TIMESTAMP '10000-01-01 00:00:00', 12::int4, 1.5::numeric, 'v'::varchar",
                      NULL, 0);
    assert_int_equal(o.v[0].type, MDM_TYPE_DATE);
    assert_int_equal(o.v[0].v.date, mdm_date_from_ymd(-43, 3, 15));
    assert_int_equal(o.v[1].type, MDM_TYPE_TIMESTAMP);
    assert_int_equal(o.v[1].v.ts,
                     (int64_t)mdm_date_from_ymd(2024, 2, 29) * 86400000000LL +
                         ((12 * 60 + 34) * 60 + 56) * 1000000LL + 500000);
    assert_int_equal(o.v[2].v.ts, (int64_t)mdm_date_from_ymd(2024, 1, 1) * 86400000000LL);
    assert_int_equal(o.v[3].v.date, INT32_MAX);
    assert_int_equal(o.v[4].v.ts, (int64_t)mdm_date_from_ymd(10000, 1, 1) * 86400000000LL);
    assert_int_equal(o.v[5].type, MDM_TYPE_INT64);
    assert_int_equal(o.v[5].v.i64, 12);
    assert_int_equal(o.v[6].type, MDM_TYPE_FLOAT64);
    assert_true(o.v[6].v.f64 == 1.5);
    assert_int_equal(o.v[7].type, MDM_TYPE_TEXT);

    /* Dates and timestamps bound as parameters come back the same. */
    mdm_value p[] = {mdm_value_date(mdm_date_from_ymd(-43, 3, 15)),
                     mdm_value_timestamp(-62135596800000000LL - 1)};
    o = query(e->conn, "SELECT ?, ?", p, 2);
    assert_int_equal(o.v[0].v.date, p[0].v.date);
    assert_int_equal(o.v[1].v.ts, p[1].v.ts);

    /* Values PostgreSQL cannot hold are refused before sending. */
    mdm_value far = mdm_value_date(INT32_MAX);
    assert_int_equal(mdm_conn_execute(e->conn, "SELECT ?", &far, 1, NULL, NULL, NULL),
                     MDM_EINVALID);
}

static void read_types_from_foreign_columns(void **state)
{
    env *e = *state;
    /* A table made by SQL, with types mdm does not create itself. */
    CHECK(mdm_conn_execute(e->conn,
                           "CREATE TABLE odd (i4 int4, n numeric, v varchar(10), tz timestamptz, "
                           "j jsonb)",
                           NULL, 0, NULL, NULL, NULL));
    CHECK(mdm_conn_execute(e->conn,
                           "INSERT INTO odd VALUES (7, 2.25, 'vv', '2020-01-01 00:00:00+00', "
                           "'{\"a\": 1}')",
                           NULL, 0, NULL, NULL, NULL));
    mdm_field *fields = NULL;
    size_t n = 0;
    CHECK(mdm_conn_table_schema(e->conn, "odd", &fields, &n));
    assert_int_equal(n, 5);
    const mdm_type want[] = {MDM_TYPE_INT64, MDM_TYPE_FLOAT64, MDM_TYPE_TEXT, MDM_TYPE_TIMESTAMP,
                             MDM_TYPE_TEXT};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(fields[i].type, want[i]);
    mdm_fields_free(fields, n);

    one_row o;
    memset(&o, 0, sizeof o);
    mdm_read_request req = {.table = "odd", .limit = -1};
    CHECK(mdm_conn_read(e->conn, &req, first_row, &o));
    assert_int_equal(o.rows, 1);
    assert_int_equal(o.v[0].v.i64, 7);
    assert_true(o.v[1].v.f64 == 2.25);
    assert_string_equal(o.v[2].v.text.ptr, "vv");
    assert_int_equal(o.v[3].v.ts, (int64_t)mdm_date_from_ymd(2020, 1, 1) * 86400000000LL);
    assert_string_equal(o.v[4].v.text.ptr, "{\"a\": 1}");

    /* append refuses a column it cannot write in binary, naming it. */
    static const mdm_field f[] = {{"i4", MDM_TYPE_INT64}, {"n", MDM_TYPE_FLOAT64},
                                  {"v", MDM_TYPE_TEXT},   {"tz", MDM_TYPE_TIMESTAMP},
                                  {"j", MDM_TYPE_TEXT}};
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, f, 5, 1));
    size_t r;
    CHECK(mdm_batch_add_row(b, &r));
    assert_int_equal(mdm_conn_append(e->conn, "odd", b), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "'i4'"));
    mdm_batch_free(b);
}

typedef struct ids {
    int64_t v[64];
    size_t n;
} ids;

static int collect_ids(const mdm_batch *b, void *ctx)
{
    ids *k = ctx;
    for (size_t r = 0; r < mdm_batch_nrows(b) && k->n < 64; r++)
        k->v[k->n++] = mdm_batch_int64(b, 0, r);
    return 0;
}

static void insertion_order_survives_free_space_map(void **state)
{
    env *e = *state;
    /* Row sizes that make PostgreSQL put row 8 back into page 0: page 0 is left with
     * ~1.3 KB free when row 4 does not fit, page 1 with ~0.4 KB when row 8 does not,
     * and the free space map offers page 0 for it. */
    static const size_t sizes[] = {1900, 1900, 1900, 1000, 1900, 1900, 1900, 1900, 1200,
                                   100,  100,  100};
    enum { N = sizeof sizes / sizeof sizes[0] };
    CHECK(mdm_conn_table_create(e->conn, "t", id_text, 2));
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, id_text, 2, N));
    char *text = malloc(2000);
    memset(text, 'x', 2000);
    for (size_t i = 0; i < N; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, (int64_t)i);
        CHECK(mdm_batch_set_text(b, 1, r, text, sizes[i]));
    }
    CHECK(mdm_conn_append(e->conn, "t", b));
    mdm_batch_free(b);
    free(text);

    /* The heap's physical order is not insertion order... */
    ids physical = {0};
    CHECK(mdm_conn_execute(e->conn, "SELECT id FROM t ORDER BY ctid", NULL, 0, collect_ids,
                           &physical, NULL));
    assert_int_equal(physical.n, N);
    bool moved = false;
    for (size_t i = 0; i < N; i++)
        moved |= physical.v[i] != (int64_t)i;
    assert_true(moved);
    /* ...but a read is. */
    ids got = {0};
    mdm_read_request req = {.table = "t", .columns = (const char *const[]){"id"}, .ncolumns = 1,
                            .limit = -1};
    CHECK(mdm_conn_read(e->conn, &req, collect_ids, &got));
    assert_int_equal(got.n, N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(got.v[i], (int64_t)i);
    /* The ordinal stays out of the schema and of reads. */
    mdm_field *fields = NULL;
    size_t nf = 0;
    CHECK(mdm_conn_table_schema(e->conn, "t", &fields, &nf));
    assert_int_equal(nf, 2);
    mdm_fields_free(fields, nf);
    static const mdm_field reserved[] = {{"_mdm_row", MDM_TYPE_INT64}};
    assert_int_equal(mdm_conn_table_create(e->conn, "r", reserved, 1), MDM_EINVALID);
}

typedef struct copier {
    mdm_conn *conn;
    size_t batches;
} copier;

/* Appends every batch it receives to table "copy", through the reading connection. */
static int copy_batch(const mdm_batch *b, void *ctx)
{
    copier *k = ctx;
    k->batches++;
    return mdm_conn_append(k->conn, "copy", b);
}

static void sink_writes_during_read(void **state)
{
    env *e = *state;
    CHECK(mdm_conn_table_create(e->conn, "src", id_text, 2));
    CHECK(mdm_conn_table_create(e->conn, "copy", id_text, 2));
    append_rows(e->conn, "src", 0, 2500, "row");
    copier k = {.conn = e->conn};
    mdm_read_request req = {.table = "src", .limit = -1, .batch_rows = 1000};
    CHECK(mdm_conn_read(e->conn, &req, copy_batch, &k));
    assert_int_equal(k.batches, 3);
    /* The copies were committed with the read, not thrown away with it. */
    mdm_store_checkin(e->store, e->conn);
    e->conn = checkout(e->store);
    assert_int_equal(count_rows(e->conn, "copy"), 2500);
}

static void error_mapping(void **state)
{
    env *e = *state;
    CHECK(mdm_conn_table_create(e->conn, "t", id_text, 2));
    assert_int_equal(mdm_conn_table_create(e->conn, "t", id_text, 2), MDM_EEXISTS);
    assert_int_equal(mdm_conn_table_drop(e->conn, "absent"), MDM_ENOTFOUND);
    mdm_read_request req = {.table = "absent", .limit = -1};
    assert_int_equal(mdm_conn_read(e->conn, &req, first_row, NULL), MDM_ENOTFOUND);
    assert_int_equal(mdm_conn_execute(e->conn, "SELECT * FROM absent", NULL, 0, NULL, NULL, NULL),
                     MDM_ENOTFOUND);
    assert_int_equal(mdm_conn_execute(e->conn, "SELEC 1", NULL, 0, NULL, NULL, NULL),
                     MDM_EBACKEND);
    assert_non_null(strstr(mdm_error_last()->message, "syntax error"));

    /* A commit after a failed statement is a failure, not a silent rollback. */
    CHECK(mdm_conn_begin(e->conn));
    append_rows(e->conn, "t", 0, 1, "x");
    assert_true(mdm_conn_execute(e->conn, "SELECT 1/0", NULL, 0, NULL, NULL, NULL) < 0);
    assert_int_equal(mdm_conn_commit(e->conn), MDM_EBACKEND);
    assert_int_equal(count_rows(e->conn, "t"), 0);
}

static void lock_timeout_is_busy(void **state)
{
    env *e = *state;
    CHECK(mdm_config_set(e->cfg, "database.connection_timeout", "1"));
    CHECK(mdm_conn_table_create(e->conn, "t", id_text, 2));
    mdm_store *other_store = open_store(e->dataset, e->cfg, NULL);
    mdm_conn *other = checkout(other_store);
    CHECK(mdm_conn_begin(e->conn));
    CHECK(mdm_conn_execute(e->conn, "LOCK TABLE t IN ACCESS EXCLUSIVE MODE", NULL, 0, NULL, NULL,
                           NULL));
    mdm_read_request req = {.table = "t", .limit = -1};
    uint64_t t0 = mdm_now_ns();
    assert_int_equal(mdm_conn_read(other, &req, first_row, NULL), MDM_EBUSY);
    assert_true(mdm_now_ns() - t0 < 10ull * 1000000000ull);
    CHECK(mdm_conn_rollback(e->conn));
    mdm_store_checkin(other_store, other);
    mdm_store_free(other_store);
}

static void lost_connection_is_econnect(void **state)
{
    env *e = *state;
    mdm_store *victim_store = open_store(e->dataset, e->cfg, NULL);
    mdm_conn *victim = checkout(victim_store);
    one_row o = query(victim, "SELECT pg_backend_pid()", NULL, 0);
    mdm_value pid = mdm_value_int64(o.v[0].v.i64);
    CHECK(mdm_conn_execute(e->conn, "SELECT pg_terminate_backend(?::int4)", &pid, 1, NULL, NULL,
                           NULL));
    usleep(200 * 1000);
    assert_int_equal(mdm_conn_ping(victim), MDM_ECONNECT);
    assert_int_equal(mdm_conn_execute(victim, "SELECT 1", NULL, 0, NULL, NULL, NULL),
                     MDM_ECONNECT);
    /* Checkin throws it away; the next checkout connects afresh. */
    mdm_store_checkin(victim_store, victim);
    victim = checkout(victim_store);
    CHECK(mdm_conn_ping(victim));
    mdm_store_checkin(victim_store, victim);
    mdm_store_free(victim_store);
}

/* The transaction state comes from libpq (PQtransactionStatus), not from the first
 * word: COMMIT AND CHAIN commits and opens the next transaction at once. */
static void transaction_state_is_the_servers(void **state)
{
    env *e = *state;
    CHECK(mdm_conn_begin(e->conn));
    CHECK(mdm_conn_execute(e->conn, "COMMIT AND CHAIN", NULL, 0, NULL, NULL, NULL));
    assert_true(mdm_conn_in_transaction(e->conn));
    /* A failed statement leaves the transaction open (aborted) until rolled back. */
    assert_true(mdm_conn_execute(e->conn, "SELECT 1/0", NULL, 0, NULL, NULL, NULL) < 0);
    assert_true(mdm_conn_in_transaction(e->conn));
    CHECK(mdm_conn_rollback(e->conn));
    assert_false(mdm_conn_in_transaction(e->conn));
    CHECK(mdm_conn_execute(e->conn, "START TRANSACTION", NULL, 0, NULL, NULL, NULL));
    assert_true(mdm_conn_in_transaction(e->conn));
    CHECK(mdm_conn_execute(e->conn, "COMMIT", NULL, 0, NULL, NULL, NULL));
    assert_false(mdm_conn_in_transaction(e->conn));
}

static void reset_restores_session(void **state)
{
    env *e = *state;
    /* A failed operation makes the store reset the connection at checkin. */
    CHECK(mdm_conn_execute(e->conn, "SET TimeZone = 'Asia/Tokyo'", NULL, 0, NULL, NULL, NULL));
    CHECK(mdm_conn_begin(e->conn));
    assert_true(mdm_conn_execute(e->conn, "SELECT 1/0", NULL, 0, NULL, NULL, NULL) < 0);
    mdm_store_checkin(e->store, e->conn);
    e->conn = checkout(e->store);
    assert_false(mdm_conn_in_transaction(e->conn));
    one_row o = query(e->conn, "SELECT current_setting('TimeZone'), current_setting('DateStyle')",
                      NULL, 0);
    assert_string_equal(o.v[0].v.text.ptr, "UTC");
    assert_string_equal(o.v[1].v.text.ptr, "ISO, MDY");
    CHECK(mdm_conn_ping(e->conn));
}

static void remove_home(void) { rmdir(home); }

int main(void)
{
    pg_conninfo = getenv("MDM_TEST_PG_CONNINFO");
    if (!pg_conninfo || !*pg_conninfo) {
        const char *req = getenv("MDM_REQUIRE_POSTGRES");
        fprintf(stderr, "MDM_TEST_PG_CONNINFO is not set: run under scripts/test-postgres\n");
        return req && strcmp(req, "1") == 0 ? 1 : 77;
    }
    pg_host = getenv("MDM_TEST_PG_HOST");
    pg_port = getenv("MDM_TEST_PG_PORT");
    pg_user = getenv("MDM_TEST_PG_USER");
    pg_password = getenv("MDM_TEST_PG_PASSWORD");
    pg_database = getenv("MDM_TEST_PG_DATABASE");
    if (!pg_host || !pg_port || !pg_user || !pg_password || !pg_database) {
        fprintf(stderr, "MDM_TEST_PG_HOST/PORT/USER/PASSWORD/DATABASE must be set too\n");
        return 1;
    }
    snprintf(home, sizeof home, "/tmp/mdm-pgtest-XXXXXX");
    if (!mkdtemp(home)) {
        perror("mkdtemp");
        return 1;
    }
    atexit(remove_home);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wrong_password_names_cause_not_password),
        cmocka_unit_test(refused_and_unconfigured),
        cmocka_unit_test(library_version_format),
        cmocka_unit_test(database_created_on_first_use),
        cmocka_unit_test(schemas_isolate_datasets),
        cmocka_unit_test(search_path_follows_each_checkout),
        cmocka_unit_test(placeholder_translation),
        cmocka_unit_test_setup_teardown(too_many_columns, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(placeholders_through_execute, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(nul_in_text_refused, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(special_values_through_params_and_text, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(read_types_from_foreign_columns, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(insertion_order_survives_free_space_map, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(sink_writes_during_read, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(error_mapping, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(lock_timeout_is_busy, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(lost_connection_is_econnect, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(reset_restores_session, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(transaction_state_is_the_servers, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
