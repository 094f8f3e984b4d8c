/* Read-only queries (mdm_conn_query) on every backend: rows and types, an empty result
 * that still names its columns, the row limit, syntax errors, writes and several
 * statements refused with nothing changed, a time limit that interrupts a slow query,
 * cancelling; and the empty batch of read and execute.
 *
 * PostgreSQL runs under scripts/test-postgres (MDM_TEST_PG_CONNINFO); without it its
 * group is skipped, unless MDM_REQUIRE_POSTGRES=1. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdm/mdm.h"
#include "storage/backends/query_support.h"

#define CHECK(expr)                                                                        \
    do {                                                                                   \
        int check_rc_ = (expr);                                                            \
        if (check_rc_ != 0)                                                                \
            fail_msg("%s failed: %s (%s)", #expr, mdm_error_last()->message,               \
                     mdm_error_name(check_rc_));                                           \
    } while (0)

static const char *backend; /* of the group running */
static mdm_config *cfg;
static char home[64];
static mdm_store *store;
static int seq;

static bool is(const char *name) { return strcmp(backend, name) == 0; }

/* ------------------------------------------------------------------ fixture */

static const mdm_field t_fields[] = {{"id", MDM_TYPE_INT64}, {"name", MDM_TYPE_TEXT},
                                     {"score", MDM_TYPE_FLOAT64}, {"day", MDM_TYPE_DATE}};

static int setup(void **state)
{
    (void)state;
    char path[256], dataset[64];
    mdm_target t = {0};
    seq++;
    if (is("postgres")) {
        snprintf(dataset, sizeof dataset, "q_%d_%d", (int)getpid(), seq);
        t.dataset = dataset;
        t.conninfo = getenv("MDM_TEST_PG_CONNINFO");
    } else {
        snprintf(path, sizeof path, "%s/q%d.%s", home, seq, backend);
        t.dataset = "q";
        t.path = path;
    }
    CHECK(mdm_store_open(&store, backend, &t, cfg));
    mdm_conn *c = NULL;
    CHECK(mdm_store_checkout(store, &c));
    CHECK(mdm_conn_dataset_create(c));
    CHECK(mdm_conn_table_create(c, "t", t_fields, 4));
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, t_fields, 4, 8));
    static const char *const names[] = {"ann", "bob", "", "dörte ✓"};
    for (int i = 0; i < 4; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, i + 1);
        CHECK(mdm_batch_set_text(b, 1, r, names[i], strlen(names[i])));
        mdm_batch_set_float64(b, 2, r, i * 1.5);
        mdm_batch_set_date(b, 3, r, mdm_date_from_ymd(1969, 12, 30 + i % 2));
    }
    CHECK(mdm_conn_append(c, "t", b));
    mdm_batch_free(b);
    mdm_store_checkin(store, c);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mdm_conn *c = NULL;
    CHECK(mdm_store_checkout(store, &c));
    CHECK(mdm_conn_dataset_drop(c));
    mdm_store_checkin(store, c);
    mdm_store_free(store);
    store = NULL;
    return 0;
}

static mdm_conn *checkout(void)
{
    mdm_conn *c = NULL;
    CHECK(mdm_store_checkout(store, &c));
    return c;
}

/* ------------------------------------------------------------------ sinks */

typedef struct got {
    int calls;
    size_t rows;
    size_t ncols;
    char names[4][32];
    mdm_type types[4];
    int64_t ids[64]; /* column 0 when int64 */
    char texts[8][32];
} got;

static int collect(const mdm_batch *b, void *ctx)
{
    got *g = ctx;
    if (g->calls++ == 0) {
        g->ncols = mdm_batch_ncols(b);
        for (size_t c = 0; c < g->ncols && c < 4; c++) {
            snprintf(g->names[c], sizeof g->names[c], "%s", mdm_batch_field(b, c)->name);
            g->types[c] = mdm_batch_field(b, c)->type;
        }
    }
    for (size_t r = 0; r < mdm_batch_nrows(b); r++, g->rows++) {
        if (g->rows < 64 && mdm_batch_field(b, 0)->type == MDM_TYPE_INT64)
            g->ids[g->rows] = mdm_batch_int64(b, 0, r);
        if (g->rows < 8 && mdm_batch_ncols(b) > 1 && mdm_batch_field(b, 1)->type == MDM_TYPE_TEXT) {
            size_t len;
            const char *s = mdm_batch_text(b, 1, r, &len);
            snprintf(g->texts[g->rows], sizeof g->texts[0], "%s", s);
        }
    }
    return 0;
}

static int query(mdm_conn *c, got *g, const char *sql, int64_t limit, uint64_t timeout_ms)
{
    memset(g, 0, sizeof *g);
    mdm_query_request req = {.sql = sql, .limit = limit, .timeout_ms = timeout_ms};
    return mdm_conn_query(c, &req, collect, g);
}

static int64_t count_t(mdm_conn *c)
{
    got g;
    CHECK(query(c, &g, "SELECT COUNT(*) AS n FROM t", 0, 0));
    assert_int_equal(g.rows, 1);
    return g.ids[0];
}

/* ------------------------------------------------------------------ tests */

static void rows_and_types(void **state)
{
    (void)state;
    mdm_conn *c = checkout();
    got g;
    CHECK(query(c, &g, "  -- the named ones\nSELECT id, name, score, day FROM t WHERE id <> 3 "
                       "ORDER BY id DESC;  ",
                0, 0));
    assert_int_equal(g.rows, 3);
    assert_int_equal(g.ids[0], 4);
    assert_int_equal(g.ids[2], 1);
    assert_string_equal(g.texts[0], "dörte ✓");
    assert_string_equal(g.names[3], "day");
    assert_int_equal(g.types[0], MDM_TYPE_INT64);
    assert_int_equal(g.types[1], MDM_TYPE_TEXT);
    assert_int_equal(g.types[2], MDM_TYPE_FLOAT64);
    assert_int_equal(g.types[3], MDM_TYPE_DATE);
    mdm_store_checkin(store, c);
}

static void empty_result_names_its_columns(void **state)
{
    (void)state;
    mdm_conn *c = checkout();
    got g;
    CHECK(query(c, &g, "SELECT id, name FROM t WHERE id < 0", 0, 0));
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.rows, 0);
    assert_int_equal(g.ncols, 2);
    assert_string_equal(g.names[0], "id");
    assert_string_equal(g.names[1], "name");
    assert_int_equal(g.types[0], MDM_TYPE_INT64);
    assert_int_equal(g.types[1], MDM_TYPE_TEXT);

    /* read and execute do the same */
    memset(&g, 0, sizeof g);
    CHECK(mdm_conn_execute(c, "SELECT id, name FROM t WHERE id < 0", NULL, 0, collect, &g,
                           NULL));
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.rows, 0);
    assert_int_equal(g.types[0], MDM_TYPE_INT64);
    assert_string_equal(g.names[1], "name");
    memset(&g, 0, sizeof g);
    mdm_value neg = mdm_value_int64(-1);
    const char *const cols[] = {"name", "id"};
    mdm_read_request req = {.table = "t", .columns = cols, .ncolumns = 2, .limit = -1,
                            .where = "\"id\" = ?", .params = &neg, .nparams = 1};
    CHECK(mdm_conn_read(c, &req, collect, &g));
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.rows, 0);
    assert_string_equal(g.names[0], "name");
    assert_int_equal(g.types[1], MDM_TYPE_INT64);
    mdm_store_checkin(store, c);
}

static void limit_is_exact(void **state)
{
    (void)state;
    mdm_conn *c = checkout();
    got g;
    CHECK(query(c, &g, "SELECT id FROM t ORDER BY id", 3, 0));
    assert_int_equal(g.rows, 3);
    assert_int_equal(g.ids[2], 3);
    CHECK(query(c, &g, "SELECT id FROM t ORDER BY id", 100, 0));
    assert_int_equal(g.rows, 4);

    /* Across batches and pages: 25,000 rows of a generated series, limit 12,345. */
    const char *series = is("sqlite")
                             ? "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s "
                               "WHERE x < 25000) SELECT x FROM s"
                         : is("duckdb") ? "SELECT range + 1 AS x FROM range(25000)"
                                        : "SELECT x::int8 FROM generate_series(1, 25000) x";
    CHECK(query(c, &g, series, 12345, 0));
    assert_int_equal(g.rows, 12345);
    assert_int_equal(g.ids[63], 64);

    /* The engine stops: a series without end, limited. (DuckDB materializes a recursive
     * CTE before reading it, so it gets an endless range instead.) */
    const char *endless = is("duckdb")
                              ? "SELECT range AS x FROM range(9223372036854775807)"
                              : "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                                "FROM s) SELECT x FROM s";
    CHECK(query(c, &g, endless, 5, 60000));
    assert_int_equal(g.rows, 5);
    mdm_store_checkin(store, c);
}

static void syntax_error_is_one_line(void **state)
{
    (void)state;
    mdm_conn *c = checkout();
    got g;
    int rc = query(c, &g, "SELEC id FROM t", 0, 0);
    assert_true(rc < 0);
    const char *msg = mdm_error_last()->message;
    assert_non_null(strstr(msg, "syntax"));
    assert_null(strchr(msg, '\n'));
    assert_true(query(c, &g, "SELECT nope FROM t", 0, 0) < 0);
    assert_int_equal(query(c, &g, "  -- nothing\n ;", 0, 0), MDM_EINVALID);
    /* the connection is still good */
    assert_int_equal(count_t(c), 4);
    mdm_store_checkin(store, c);
}

static void refused(mdm_conn *c, const char *sql)
{
    got g;
    int rc = query(c, &g, sql, 0, 0);
    if (rc != MDM_EINVALID)
        fail_msg("'%s' gave %s: %s", sql, mdm_error_name(rc), mdm_error_last()->message);
    const char *msg = mdm_error_last()->message;
    if (!strstr(msg, "read-only") && !strstr(msg, "one SQL statement"))
        fail_msg("'%s': %s", sql, msg);
}

static void writes_are_refused(void **state)
{
    (void)state;
    mdm_conn *c = checkout();
    refused(c, "INSERT INTO t (id) VALUES (99)");
    assert_string_equal(mdm_error_last()->message, "query is read-only: INSERT is not allowed");
    refused(c, "UPDATE t SET name = 'x'");
    refused(c, "DELETE FROM t");
    refused(c, "CREATE TABLE u (x INTEGER)");
    refused(c, "DROP TABLE t");
    refused(c, "SELECT 1; DROP TABLE t");
    refused(c, "SELECT 1; SELECT 2");
    refused(c, "BEGIN");
    char attach[512];
    snprintf(attach, sizeof attach, "ATTACH '%s/other.db' AS other", home);
    if (is("sqlite")) {
        refused(c, attach);
        refused(c, "PRAGMA journal_mode = OFF");
        refused(c, "WITH x AS (SELECT 1) INSERT INTO t (id) SELECT 7 FROM x");
    } else if (is("duckdb")) {
        refused(c, attach);
        refused(c, "COPY t TO '/tmp/mdm-query-should-not-exist.csv'");
        refused(c, "EXPLAIN ANALYZE DELETE FROM t");
        refused(c, "SET threads = 1");
    } else {
        char copy[512];
        snprintf(copy, sizeof copy, "COPY t TO '%s/copied.csv'", home);
        refused(c, copy);
        char path[512];
        snprintf(path, sizeof path, "%s/copied.csv", home);
        assert_int_equal(access(path, F_OK), -1);
        refused(c, "WITH d AS (DELETE FROM t RETURNING id) SELECT * FROM d");
        refused(c, "EXPLAIN ANALYZE DELETE FROM t");
        refused(c, "SELECT id INTO u FROM t");
        refused(c, "SET search_path = public");
    }
    /* nothing changed */
    assert_int_equal(count_t(c), 4);
    bool exists = false;
    CHECK(mdm_conn_table_exists(c, "u", &exists));
    assert_false(exists);
    assert_false(mdm_conn_in_transaction(c));
    /* and reading statements other than SELECT pass */
    got g;
    CHECK(query(c, &g, is("postgres") ? "EXPLAIN SELECT * FROM t" : "EXPLAIN SELECT * FROM t",
                0, 0));
    assert_true(g.rows > 0);
    CHECK(query(c, &g, "VALUES (1, 'a'), (2, 'b')", 0, 0));
    assert_int_equal(g.rows, 2);
    mdm_store_checkin(store, c);
}

static void not_inside_a_transaction(void **state)
{
    (void)state;
    mdm_conn *c = checkout();
    CHECK(mdm_conn_begin(c));
    got g;
    assert_int_equal(query(c, &g, "SELECT 1", 0, 0), MDM_EINVALID);
    CHECK(mdm_conn_rollback(c));
    CHECK(query(c, &g, "SELECT 1", 0, 0));
    mdm_store_checkin(store, c);
}

/* A query that runs for minutes unless interrupted. */
static const char *slow_query(void)
{
    if (is("sqlite"))
        return "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s "
               "WHERE x < 100000000000) SELECT COUNT(*) FROM s";
    if (is("duckdb"))
        return "SELECT COUNT(*) FROM range(100000000) a, range(100000000) b WHERE a.range + "
               "b.range = 7";
    return "SELECT COUNT(*) FROM generate_series(1, 1000000) a, generate_series(1, 1000000) b "
           "WHERE a + b = 7";
}

static void time_limit_interrupts(void **state)
{
    (void)state;
    mdm_conn *c = checkout();
    got g;
    uint64_t start = mdm_now_ns();
    assert_int_equal(query(c, &g, slow_query(), 0, 300), MDM_ETIMEOUT);
    double ms = (double)(mdm_now_ns() - start) / 1e6;
    assert_string_equal(mdm_error_last()->message, "query exceeded its time limit of 300 ms");
    printf("%s: a time limit of 300 ms stopped the query after %.0f ms\n", backend, ms);
    /* Interrupted, not run to its end (which takes minutes); about the limit, with room
     * for a loaded machine and sanitizers. */
    if (ms > 1500)
        fail_msg("the query took %.0f ms to stop after a limit of 300 ms", ms);
    mdm_store_checkin(store, c);
    /* The connection serves the next query (after validation). */
    c = checkout();
    assert_int_equal(count_t(c), 4);
    mdm_store_checkin(store, c);
}

/* Cancels once the engine has asked a few times (it is busy with the query by then). */
static bool cancel_on_third_ask(void *ctx)
{
    return atomic_fetch_add((atomic_int *)ctx, 1) >= 2;
}

static void cancel_interrupts(void **state)
{
    (void)state;
    mdm_conn *c = checkout();
    atomic_int asked = 0;
    got g = {0};
    mdm_query_request req = {.sql = slow_query(), .canceled = cancel_on_third_ask,
                             .cancel_ctx = &asked, .timeout_ms = 60000};
    assert_int_equal(mdm_conn_query(c, &req, collect, &g), MDM_ECANCELED);
    assert_string_equal(mdm_error_last()->message, "query cancelled");
    mdm_store_checkin(store, c);
    c = checkout();
    assert_int_equal(count_t(c), 4);
    mdm_store_checkin(store, c);
}

/* ------------------------------------------------------------------ SQL text */

static void statement_boundaries(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        bool more;
        size_t len; /* when one statement */
    } cases[] = {
        {"SELECT 1", false, 8},
        {"SELECT 1;  ;\n-- done\n/* really */ ", false, 8},
        {"SELECT ';' AS x", false, 15},
        {"SELECT \"a;b\" FROM t", false, 19},
        {"SELECT $$ ; $$, $tag$ '; $$ $tag$", false, 33},
        {"SELECT E'\\'; DROP', 'it''s;'", false, 28},
        {"SELECT 1 -- ; DROP TABLE t", false, 8},
        {"SELECT /* ; */ 1", false, 16},
        {"SELECT $1", false, 9},
        {"SELECT 1; SELECT 2", true, 0},
        {"SELECT 1;DROP TABLE t;", true, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool more = false;
        size_t len = query_statement_length(cases[i].sql, &more);
        if (more != cases[i].more || (!more && len != cases[i].len))
            fail_msg("'%s': more %d length %zu", cases[i].sql, more, len);
    }
    char first[16], second[16];
    query_leading_keywords(" -- x\n ((select * from t))", first, second, sizeof first);
    assert_string_equal(first, "SELECT");
    query_leading_keywords("explain /* */ analyze delete from t", first, second, sizeof first);
    assert_string_equal(first, "EXPLAIN");
    assert_string_equal(second, "ANALYZE");
}

/* ------------------------------------------------------------------ main */

static void remove_home(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", home);
}

int main(void)
{
    snprintf(home, sizeof home, "/tmp/mdm-query-XXXXXX");
    if (!mkdtemp(home)) {
        perror("mkdtemp");
        return 1;
    }
    atexit(remove_home);
    if (mdm_config_defaults(&cfg, home) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rows_and_types, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_result_names_its_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(limit_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(syntax_error_is_one_line, setup, teardown),
        cmocka_unit_test_setup_teardown(writes_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(not_inside_a_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(time_limit_interrupts, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_interrupts, setup, teardown),
    };
    const struct CMUnitTest text[] = {cmocka_unit_test(statement_boundaries)};
    int failed = _cmocka_run_group_tests("sql text", text, 1, NULL, NULL);
    static const char *const backends[] = {"sqlite", "duckdb", "postgres"};
    for (size_t i = 0; i < 3; i++) {
        backend = backends[i];
        const char *conninfo = getenv("MDM_TEST_PG_CONNINFO");
        if (is("postgres") && (!conninfo || !*conninfo)) {
            const char *req = getenv("MDM_REQUIRE_POSTGRES");
            fprintf(stderr, "MDM_TEST_PG_CONNINFO is not set: PostgreSQL skipped\n");
            if (req && strcmp(req, "1") == 0)
                failed++;
            continue;
        }
        failed += _cmocka_run_group_tests(backend, tests, sizeof tests / sizeof tests[0], NULL,
                                          NULL);
    }
    mdm_config_free(cfg);
    return failed ? 1 : 0;
}
