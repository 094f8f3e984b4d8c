/* DuckDB-specific behaviour of the duckdb backend: one database per file shared by
 * every connection in the process, config settings at open, READ_ONLY mode, thousands
 * of columns, result types DuckDB has and mdm does not (HUGEINT, DECIMAL, LIST, ...),
 * atomic appends, conflicts. What all backends share is checked by tests/conformance. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdm/mdm.h"

#define CHECK(expr)                                                                        \
    do {                                                                                   \
        int check_rc_ = (expr);                                                            \
        if (check_rc_ != 0)                                                                \
            fail_msg("%s failed: %s (%s)", #expr, mdm_error_last()->message,               \
                     mdm_error_name(check_rc_));                                           \
    } while (0)

typedef struct env {
    char dir[64];
    char path[128];
    mdm_config *cfg;
    mdm_store *store;
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/mdm-duckdb-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->path, sizeof e->path, "%s/t.duckdb", e->dir);
    CHECK(mdm_config_defaults(&e->cfg, e->dir));
    /* Small and polite on a shared machine. */
    CHECK(mdm_config_set(e->cfg, "database.duckdb.threads", "2"));
    CHECK(mdm_config_set(e->cfg, "database.duckdb.memory_limit", "1GB"));
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    mdm_store_free(e->store);
    mdm_config_free(e->cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
    assert_int_equal(system(cmd), 0);
    free(e);
    return 0;
}

static int open_store(mdm_store **out, env *e)
{
    mdm_target t = {.dataset = "t", .path = e->path};
    return mdm_store_open(out, "duckdb", &t, e->cfg);
}

/* Opens the store (after the test changed the config) and checks a connection out. */
static mdm_conn *checkout(env *e)
{
    if (!e->store)
        CHECK(open_store(&e->store, e));
    mdm_conn *c = NULL;
    CHECK(mdm_store_checkout(e->store, &c));
    return c;
}

/* Every delivered row's first column, rendered, plus each batch's first column type. */
typedef struct seen {
    size_t batches;
    size_t rows;
    mdm_type types[16];
    char values[32][128];
    char last[128];
} seen;

static void render(char *out, size_t size, const mdm_batch *b, size_t col, size_t row)
{
    if (mdm_batch_is_null(b, col, row)) {
        snprintf(out, size, "NULL");
        return;
    }
    mdm_value v = mdm_batch_value(b, col, row);
    switch (v.type) {
    case MDM_TYPE_INT64: snprintf(out, size, "%lld", (long long)v.v.i64); break;
    case MDM_TYPE_FLOAT64: snprintf(out, size, "%.17g", v.v.f64); break;
    case MDM_TYPE_BOOL: snprintf(out, size, "%s", v.v.b ? "true" : "false"); break;
    case MDM_TYPE_TEXT: snprintf(out, size, "%.*s", (int)v.v.text.len, v.v.text.ptr); break;
    case MDM_TYPE_DATE: mdm_date_format(out, size, v.v.date); break;
    case MDM_TYPE_TIMESTAMP: mdm_timestamp_format(out, size, v.v.ts); break;
    }
}

static int collect(const mdm_batch *b, void *ctx)
{
    seen *s = ctx;
    if (s->batches < 16)
        s->types[s->batches] = mdm_batch_field(b, 0)->type;
    s->batches++;
    for (size_t r = 0; r < mdm_batch_nrows(b); r++, s->rows++) {
        if (s->rows < 32)
            render(s->values[s->rows], sizeof s->values[0], b, 0, r);
        render(s->last, sizeof s->last, b, 0, r);
    }
    return 0;
}

/* Runs a query whose first column is wanted, returning what was seen. */
static seen query(mdm_conn *c, const char *sql)
{
    seen s = {0};
    CHECK(mdm_conn_execute(c, sql, NULL, 0, collect, &s, NULL));
    return s;
}

static const mdm_field id_name[] = {{"id", MDM_TYPE_INT64}, {"name", MDM_TYPE_TEXT}};

static mdm_batch *rows(size_t n, int64_t first)
{
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, id_name, 2, n));
    for (size_t i = 0; i < n; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, first + (int64_t)i);
        char s[48];
        int len = snprintf(s, sizeof s, "name number %lld", (long long)(first + (int64_t)i));
        CHECK(mdm_batch_set_text(b, 1, r, s, (size_t)len));
    }
    return b;
}

static int64_t count(mdm_conn *c, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", table);
    seen s = query(c, sql);
    assert_int_equal(s.rows, 1);
    return strtoll(s.values[0], NULL, 10);
}

/* ------------------------------------------------------------ tests */

static void library_version_is_duckdbs(void **state)
{
    (void)state;
    const char *v = mdm_backend_library_version("duckdb");
    assert_non_null(v);
    assert_true(v[0] == 'v');
}

/* Two stores and two connections on one file see one database: rows one commits are
 * visible to the other at once (two database instances on one file could not even
 * both open it). */
static void one_database_per_file(void **state)
{
    env *e = *state;
    mdm_conn *a = checkout(e);
    mdm_conn *b = NULL;
    CHECK(mdm_store_checkout(e->store, &b));
    mdm_store *other = NULL;
    CHECK(open_store(&other, e));
    mdm_conn *c = NULL;
    CHECK(mdm_store_checkout(other, &c));

    CHECK(mdm_conn_table_create(a, "shared", id_name, 2));
    mdm_batch *batch = rows(100, 0);
    CHECK(mdm_conn_append(a, "shared", batch));
    mdm_batch_free(batch);
    assert_int_equal(count(b, "shared"), 100);
    assert_int_equal(count(c, "shared"), 100);

    /* Uncommitted rows stay private to their connection. */
    CHECK(mdm_conn_begin(b));
    batch = rows(10, 100);
    CHECK(mdm_conn_append(b, "shared", batch));
    mdm_batch_free(batch);
    assert_int_equal(count(b, "shared"), 110);
    assert_int_equal(count(c, "shared"), 100);
    CHECK(mdm_conn_commit(b));
    assert_int_equal(count(c, "shared"), 110);

    /* A path spelled differently names the same database. */
    mdm_store *third = NULL;
    char other_spelling[200];
    snprintf(other_spelling, sizeof other_spelling, "%s/./../%s/t.duckdb", e->dir,
             strrchr(e->dir, '/') + 1);
    mdm_target t = {.dataset = "t", .path = other_spelling};
    CHECK(mdm_store_open(&third, "duckdb", &t, e->cfg));
    mdm_conn *d = NULL;
    CHECK(mdm_store_checkout(third, &d));
    assert_int_equal(count(d, "shared"), 110);

    mdm_store_checkin(third, d);
    mdm_store_free(third);
    mdm_store_checkin(other, c);
    mdm_store_free(other);
    mdm_store_checkin(e->store, b);
    mdm_store_checkin(e->store, a);
}

static void config_settings_applied(void **state)
{
    env *e = *state;
    CHECK(mdm_config_set(e->cfg, "database.duckdb.threads", "3"));
    CHECK(mdm_config_set(e->cfg, "database.duckdb.memory_limit", "512MB"));
    char spill[128];
    snprintf(spill, sizeof spill, "%s/spill", e->dir);
    CHECK(mdm_config_set(e->cfg, "database.duckdb.temp_directory", spill));
    mdm_conn *c = checkout(e);
    seen s = query(c, "SELECT current_setting('threads')");
    assert_string_equal(s.values[0], "3");
    s = query(c, "SELECT current_setting('memory_limit')");
    /* DuckDB reports 512MB (decimal) in binary units. */
    assert_string_equal(s.values[0], "488.2 MiB");
    s = query(c, "SELECT current_setting('temp_directory')");
    assert_string_equal(s.values[0], spill);
    s = query(c, "SELECT current_setting('enable_progress_bar')");
    assert_string_equal(s.values[0], "false");
    s = query(c, "SELECT current_setting('access_mode')");
    assert_string_equal(s.values[0], "read_write");
    mdm_store_checkin(e->store, c);
}

static void bad_config_value_is_named(void **state)
{
    env *e = *state;
    CHECK(mdm_config_set(e->cfg, "database.duckdb.memory_limit", "lots"));
    mdm_store *s = NULL;
    CHECK(open_store(&s, e));
    mdm_conn *c = NULL;
    int rc = mdm_store_checkout(s, &c);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(mdm_error_last()->message, "memory_limit"));
    mdm_store_free(s);
}

static void read_only_mode(void **state)
{
    env *e = *state;
    /* Missing file: an error naming it, and no file created. */
    CHECK(mdm_config_set(e->cfg, "database.duckdb.access_mode", "READ_ONLY"));
    mdm_store *ro = NULL;
    CHECK(open_store(&ro, e));
    mdm_conn *c = NULL;
    assert_int_equal(mdm_store_checkout(ro, &c), MDM_ENOTFOUND);
    assert_non_null(strstr(mdm_error_last()->message, e->path));
    assert_int_not_equal(access(e->path, F_OK), 0);
    mdm_store_free(ro);

    /* Write some rows, then close every connection to the file. */
    CHECK(mdm_config_set(e->cfg, "database.duckdb.access_mode", "READ_WRITE"));
    mdm_store *rw = NULL;
    CHECK(open_store(&rw, e));
    CHECK(mdm_store_checkout(rw, &c));
    CHECK(mdm_conn_dataset_create(c));
    CHECK(mdm_conn_table_create(c, "t", id_name, 2));
    mdm_batch *b = rows(5, 0);
    CHECK(mdm_conn_append(c, "t", b));

    /* While it is open READ_WRITE, it cannot also be opened READ_ONLY in this process. */
    CHECK(mdm_config_set(e->cfg, "database.duckdb.access_mode", "READ_ONLY"));
    CHECK(open_store(&ro, e));
    mdm_conn *c2 = NULL;
    assert_int_equal(mdm_store_checkout(ro, &c2), MDM_EBUSY);
    assert_non_null(strstr(mdm_error_last()->message, "READ_WRITE"));
    mdm_store_free(ro);
    mdm_store_checkin(rw, c);
    mdm_store_free(rw);

    /* READ_ONLY: reads work, writes are refused. */
    CHECK(open_store(&ro, e));
    CHECK(mdm_store_checkout(ro, &c));
    assert_int_equal(count(c, "t"), 5);
    seen s = query(c, "SELECT current_setting('access_mode')");
    assert_string_equal(s.values[0], "read_only");
    assert_true(mdm_conn_append(c, "t", b) < 0);
    assert_true(mdm_conn_table_create(c, "u", id_name, 2) < 0);
    assert_true(mdm_conn_metadata_set(c, "k", "v") < 0);
    assert_true(mdm_conn_execute(c, "DELETE FROM \"t\"", NULL, 0, NULL, NULL, NULL) < 0);
    assert_non_null(strstr(mdm_error_last()->message, "read-only"));
    assert_int_equal(count(c, "t"), 5);
    mdm_batch_free(b);
    mdm_store_checkin(ro, c);
    mdm_store_free(ro);
}

static void missing_directory_is_named(void **state)
{
    env *e = *state;
    snprintf(e->path, sizeof e->path, "%s/no/such/dir/t.duckdb", e->dir);
    mdm_store *s = NULL;
    CHECK(open_store(&s, e));
    mdm_conn *c = NULL;
    assert_true(mdm_store_checkout(s, &c) < 0);
    assert_non_null(strstr(mdm_error_last()->message, e->path));
    mdm_store_free(s);
}

enum { WIDE = 3000, WIDE_ROWS = 50 };

static int check_wide(const mdm_batch *b, void *ctx)
{
    size_t *seen_rows = ctx;
    assert_int_equal(mdm_batch_ncols(b), WIDE);
    for (size_t r = 0; r < mdm_batch_nrows(b); r++, ++*seen_rows)
        for (size_t col = 0; col < WIDE; col++) {
            int64_t want = (int64_t)(*seen_rows * WIDE + col);
            switch (col % 3) {
            case 0: assert_int_equal(mdm_batch_int64(b, col, r), want); break;
            case 1: assert_true(mdm_batch_float64(b, col, r) == (double)want / 4); break;
            default: {
                char s[32];
                int len = snprintf(s, sizeof s, "v%lld", (long long)want);
                size_t got_len;
                const char *got = mdm_batch_text(b, col, r, &got_len);
                assert_int_equal(got_len, (size_t)len);
                assert_memory_equal(got, s, got_len);
            }
            }
        }
    return 0;
}

static void three_thousand_columns(void **state)
{
    env *e = *state;
    mdm_field *fields = calloc(WIDE, sizeof *fields);
    char (*names)[16] = calloc(WIDE, sizeof *names);
    for (size_t i = 0; i < WIDE; i++) {
        snprintf(names[i], sizeof names[i], "c%zu", i);
        fields[i].name = names[i];
        fields[i].type = i % 3 == 0   ? MDM_TYPE_INT64
                         : i % 3 == 1 ? MDM_TYPE_FLOAT64
                                      : MDM_TYPE_TEXT;
    }
    mdm_conn *c = checkout(e);
    CHECK(mdm_conn_table_create(c, "wide", fields, WIDE));
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, fields, WIDE, WIDE_ROWS));
    for (size_t r = 0; r < WIDE_ROWS; r++) {
        size_t row;
        CHECK(mdm_batch_add_row(b, &row));
        for (size_t col = 0; col < WIDE; col++) {
            int64_t v = (int64_t)(r * WIDE + col);
            if (col % 3 == 0) {
                mdm_batch_set_int64(b, col, row, v);
            } else if (col % 3 == 1) {
                mdm_batch_set_float64(b, col, row, (double)v / 4);
            } else {
                char s[32];
                int len = snprintf(s, sizeof s, "v%lld", (long long)v);
                CHECK(mdm_batch_set_text(b, col, row, s, (size_t)len));
            }
        }
    }
    CHECK(mdm_conn_append(c, "wide", b));
    mdm_batch_free(b);

    mdm_field *got = NULL;
    size_t n = 0;
    CHECK(mdm_conn_table_schema(c, "wide", &got, &n));
    assert_int_equal(n, WIDE);
    assert_string_equal(got[WIDE - 1].name, "c2999");
    assert_int_equal(got[WIDE - 1].type, MDM_TYPE_TEXT);
    mdm_fields_free(got, n);

    size_t seen_rows = 0;
    mdm_read_request req = {.table = "wide", .limit = -1, .batch_rows = 7};
    CHECK(mdm_conn_read(c, &req, check_wide, &seen_rows));
    assert_int_equal(seen_rows, WIDE_ROWS);
    mdm_store_checkin(e->store, c);
    free(fields);
    free(names);
}

static void execute_hugeint_and_unsigned(void **state)
{
    env *e = *state;
    mdm_conn *c = checkout(e);
    /* HUGEINT that fits int64 (SUM of BIGINT is HUGEINT in DuckDB). */
    seen s = query(c, "SELECT sum(x) FROM range(10) t(x)");
    assert_int_equal(s.types[0], MDM_TYPE_INT64);
    assert_string_equal(s.values[0], "45");
    s = query(c, "SELECT (-9223372036854775808)::HUGEINT");
    assert_int_equal(s.types[0], MDM_TYPE_INT64);
    assert_string_equal(s.values[0], "-9223372036854775808");
    /* Values beyond int64 arrive as exact text. */
    s = query(c, "SELECT 170141183460469231731687303715884105727::HUGEINT");
    assert_int_equal(s.types[0], MDM_TYPE_TEXT);
    assert_string_equal(s.values[0], "170141183460469231731687303715884105727");
    s = query(c, "SELECT (-170141183460469231731687303715884105727 - 1)::HUGEINT");
    assert_string_equal(s.values[0], "-170141183460469231731687303715884105728");
    s = query(c, "SELECT 18446744073709551615::UBIGINT");
    assert_int_equal(s.types[0], MDM_TYPE_TEXT);
    assert_string_equal(s.values[0], "18446744073709551615");
    s = query(c, "SELECT 340282366920938463463374607431768211455::UHUGEINT");
    assert_string_equal(s.values[0], "340282366920938463463374607431768211455");
    s = query(c, "SELECT 200::UTINYINT");
    assert_int_equal(s.types[0], MDM_TYPE_INT64);
    assert_string_equal(s.values[0], "200");

    /* A result whose later rows do not fit: the rows before come as int64, then the
     * column continues as text in a new batch; no value is lost. */
    s = query(c, "SELECT CASE WHEN i = 1 THEN NULL WHEN i < 5000 THEN i::HUGEINT "
                 "ELSE 99999999999999999999999 + i END FROM range(6000) t(i)");
    assert_int_equal(s.rows, 6000);
    assert_true(s.batches >= 2);
    assert_int_equal(s.types[0], MDM_TYPE_INT64);
    assert_int_equal(s.types[s.batches - 1], MDM_TYPE_TEXT);
    assert_string_equal(s.values[0], "0");
    assert_string_equal(s.values[1], "NULL");
    assert_string_equal(s.values[2], "2");
    assert_string_equal(s.last, "100000000000000000005998");
    mdm_store_checkin(e->store, c);
}

static void execute_decimal_and_other_types(void **state)
{
    env *e = *state;
    mdm_conn *c = checkout(e);
    seen s = query(c, "SELECT 1.25::DECIMAL(10,2)");
    assert_int_equal(s.types[0], MDM_TYPE_FLOAT64);
    assert_string_equal(s.values[0], "1.25");
    s = query(c, "SELECT 123456789012345678.25::DECIMAL(38,2)");
    assert_int_equal(s.types[0], MDM_TYPE_FLOAT64);
    assert_string_equal(s.values[0], "1.2345678901234568e+17");
    s = query(c, "SELECT (-0.5)::DECIMAL(3,1)");
    assert_string_equal(s.values[0], "-0.5");
    s = query(c, "SELECT (-0.0000000000000000000000000000000000012)::DECIMAL(38,37)");
    assert_string_equal(s.values[0], "-1.2e-36");
    s = query(c, "SELECT 99999999999999999999999999999999999999::DECIMAL(38,0)");
    assert_string_equal(s.values[0], "9.9999999999999998e+37"); /* the double nearest 1e38 */
    s = query(c, "SELECT 1.5::FLOAT");
    assert_string_equal(s.values[0], "1.5");
    s = query(c, "SELECT 42::SMALLINT");
    assert_int_equal(s.types[0], MDM_TYPE_INT64);

    /* Time stamps of every precision arrive as microseconds. */
    s = query(c, "SELECT TIMESTAMP_NS '2024-02-29 12:34:56.789123456'");
    assert_int_equal(s.types[0], MDM_TYPE_TIMESTAMP);
    assert_string_equal(s.values[0], "2024-02-29 12:34:56.789123");
    s = query(c, "SELECT TIMESTAMP_S '1969-12-31 23:59:59'");
    assert_string_equal(s.values[0], "1969-12-31 23:59:59");
    s = query(c, "SELECT TIMESTAMP_MS '2001-01-01 00:00:00.5'");
    assert_string_equal(s.values[0], "2001-01-01 00:00:00.500000");
    s = query(c, "SELECT DATE '1900-03-01'");
    assert_int_equal(s.types[0], MDM_TYPE_DATE);
    assert_string_equal(s.values[0], "1900-03-01");

    /* Types mdm has no name for arrive as DuckDB's text form. */
    s = query(c, "SELECT [1, 2, 3] AS l");
    assert_int_equal(s.types[0], MDM_TYPE_TEXT);
    assert_string_equal(s.values[0], "[1, 2, 3]");
    s = query(c, "SELECT {'a': 1} AS st, INTERVAL 3 DAY AS i; -- trailing comment");
    assert_string_equal(s.values[0], "{'a': 1}");
    s = query(c, "SELECT '12345678-1234-5678-9abc-def012345678'::UUID");
    assert_int_equal(s.types[0], MDM_TYPE_TEXT);
    assert_string_equal(s.values[0], "12345678-1234-5678-9abc-def012345678");
    s = query(c, "SELECT 'b'::ENUM('a', 'b', 'c')");
    assert_string_equal(s.values[0], "b");
    s = query(c, "SELECT NULL");
    assert_string_equal(s.values[0], "NULL");

    /* A table column of such a type reads as text too. */
    CHECK(mdm_conn_execute(c, "CREATE TABLE lists AS SELECT [i, i + 1] AS l, i FROM range(3) t(i)",
                           NULL, 0, NULL, NULL, NULL));
    mdm_field *fields = NULL;
    size_t n = 0;
    CHECK(mdm_conn_table_schema(c, "lists", &fields, &n));
    assert_int_equal(n, 2);
    assert_int_equal(fields[0].type, MDM_TYPE_TEXT);
    assert_int_equal(fields[1].type, MDM_TYPE_INT64);
    mdm_fields_free(fields, n);
    s = (seen){0};
    mdm_read_request req = {.table = "lists", .limit = -1};
    CHECK(mdm_conn_read(c, &req, collect, &s));
    assert_int_equal(s.rows, 3);
    assert_string_equal(s.values[2], "[2, 3]");
    mdm_store_checkin(e->store, c);
}

static void execute_many_statements(void **state)
{
    env *e = *state;
    mdm_conn *c = checkout(e);
    mdm_value p[] = {mdm_value_int64(7), mdm_value_text("seven")};
    int64_t changes = 0;
    CHECK(mdm_conn_execute(c,
                           "CREATE TABLE m (id BIGINT, name VARCHAR); "
                           "INSERT INTO m VALUES (?, ?); INSERT INTO m VALUES (8, 'eight');",
                           p, 2, NULL, NULL, &changes));
    assert_int_equal(changes, 2);
    assert_int_equal(count(c, "m"), 2);
    /* Too many or too few parameters. */
    assert_int_equal(mdm_conn_execute(c, "SELECT ?", p, 2, NULL, NULL, NULL), MDM_EINVALID);
    assert_int_equal(mdm_conn_execute(c, "SELECT ?, ?", p, 1, NULL, NULL, NULL), MDM_EINVALID);
    assert_int_equal(mdm_conn_execute(c, "  ", NULL, 0, NULL, NULL, NULL), MDM_EINVALID);
    /* A multi-line DuckDB message becomes one line. */
    assert_int_equal(mdm_conn_execute(c, "SELECT * FROM nowhere", NULL, 0, NULL, NULL, NULL),
                     MDM_EBACKEND);
    assert_null(strchr(mdm_error_last()->message, '\n'));
    assert_non_null(strstr(mdm_error_last()->message, "nowhere"));
    mdm_store_checkin(e->store, c);
}

static void append_is_all_or_nothing(void **state)
{
    env *e = *state;
    mdm_conn *c = checkout(e);
    CHECK(mdm_conn_execute(c, "CREATE TABLE pk (id BIGINT PRIMARY KEY, name VARCHAR)", NULL, 0,
                           NULL, NULL, NULL));
    /* 5000 rows (several chunks), the last one a duplicate of the first. */
    mdm_batch *b = rows(5000, 0);
    size_t r;
    CHECK(mdm_batch_add_row(b, &r));
    mdm_batch_set_int64(b, 0, r, 0);
    assert_int_equal(mdm_conn_append(c, "pk", b), MDM_EBACKEND);
    assert_non_null(strstr(mdm_error_last()->message, "pk"));
    assert_int_equal(count(c, "pk"), 0);

    /* Inside the caller's transaction: DuckDB has no savepoints, so the failure aborts
     * the transaction, and the error says so. */
    mdm_batch *good = rows(10, 100000);
    CHECK(mdm_conn_begin(c));
    CHECK(mdm_conn_append(c, "pk", good));
    assert_int_equal(mdm_conn_append(c, "pk", b), MDM_EBACKEND);
    assert_non_null(strstr(mdm_error_last()->message, "rolled back"));
    CHECK(mdm_conn_rollback(c));
    assert_int_equal(count(c, "pk"), 0);

    /* Checks made before any row reaches DuckDB leave the transaction intact. */
    CHECK(mdm_conn_begin(c));
    CHECK(mdm_conn_append(c, "pk", good));
    mdm_batch *bad = rows(3, 0);
    CHECK(mdm_batch_set_text(bad, 1, 2, "bad \xff utf-8", 10));
    assert_int_equal(mdm_conn_append(c, "pk", bad), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "UTF-8"));
    CHECK(mdm_conn_commit(c));
    assert_int_equal(count(c, "pk"), 10);
    mdm_batch_free(bad);
    mdm_batch_free(good);
    mdm_batch_free(b);
    mdm_store_checkin(e->store, c);
}

/* BEGIN and ROLLBACK given to execute are followed: appends join that transaction
 * (instead of a BEGIN of their own, which would abort it). */
static void transactions_through_execute(void **state)
{
    env *e = *state;
    mdm_conn *c = checkout(e);
    CHECK(mdm_conn_table_create(c, "t", id_name, 2));
    mdm_batch *b = rows(100, 0);
    CHECK(mdm_conn_execute(c, "BEGIN TRANSACTION", NULL, 0, NULL, NULL, NULL));
    CHECK(mdm_conn_append(c, "t", b));
    CHECK(mdm_conn_append(c, "t", b));
    assert_int_equal(count(c, "t"), 200);
    CHECK(mdm_conn_execute(c, "ROLLBACK", NULL, 0, NULL, NULL, NULL));
    assert_int_equal(count(c, "t"), 0);
    /* After the rollback, an append is atomic on its own again. */
    CHECK(mdm_conn_append(c, "t", b));
    CHECK(mdm_conn_execute(c, "BEGIN; DELETE FROM t; COMMIT", NULL, 0, NULL, NULL, NULL));
    CHECK(mdm_conn_append(c, "t", b));
    assert_int_equal(count(c, "t"), 100);
    mdm_batch_free(b);
    mdm_store_checkin(e->store, c);
}

/* The same key set again and again, also inside one transaction (DuckDB's index on
 * the primary key must take the upserts). */
static void metadata_upserts(void **state)
{
    env *e = *state;
    mdm_conn *c = checkout(e);
    char *v = NULL;
    assert_int_equal(mdm_conn_metadata_get(c, "k", &v), MDM_ENOTFOUND); /* no dataset yet */
    CHECK(mdm_conn_dataset_create(c));
    CHECK(mdm_conn_begin(c));
    for (int i = 0; i < 50; i++) {
        char value[16];
        snprintf(value, sizeof value, "v%d", i);
        CHECK(mdm_conn_metadata_set(c, "k", value));
    }
    CHECK(mdm_conn_commit(c));
    CHECK(mdm_conn_metadata_set(c, "k", "last"));
    CHECK(mdm_conn_metadata_get(c, "k", &v));
    assert_string_equal(v, "last");
    free(v);
    mdm_store_checkin(e->store, c);
}

/* Tables made outside mdm with other column types take batches through DuckDB's casts;
 * a value a cast refuses leaves nothing. */
static void append_casts_to_other_column_types(void **state)
{
    env *e = *state;
    mdm_conn *c = checkout(e);
    CHECK(mdm_conn_execute(c,
                           "CREATE TABLE narrow (i INTEGER, d DECIMAL(10, 2), f FLOAT, "
                           "ts TIMESTAMP_S, j JSON, e ENUM('x', 'y'))",
                           NULL, 0, NULL, NULL, NULL));
    static const mdm_field f[] = {{"i", MDM_TYPE_INT64}, {"d", MDM_TYPE_FLOAT64},
                                  {"f", MDM_TYPE_FLOAT64}, {"ts", MDM_TYPE_TIMESTAMP},
                                  {"j", MDM_TYPE_TEXT}, {"e", MDM_TYPE_TEXT}};
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, f, 6, 4));
    for (int i = 0; i < 3; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, i * 1000);
        mdm_batch_set_float64(b, 1, r, i + 0.25);
        mdm_batch_set_float64(b, 2, r, 0.5);
        mdm_batch_set_timestamp(b, 3, r, 1700000000000000LL);
        CHECK(mdm_batch_set_text(b, 4, r, "{\"a\": 1}", 8));
        CHECK(mdm_batch_set_text(b, 5, r, i ? "y" : "x", 1));
    }
    CHECK(mdm_conn_append(c, "narrow", b));
    assert_int_equal(count(c, "narrow"), 3);
    seen s = query(c, "SELECT sum(d) FROM narrow");
    assert_string_equal(s.values[0], "3.75");
    s = query(c, "SELECT string_agg(e, ',') FROM narrow");
    assert_string_equal(s.values[0], "x,y,y");

    /* Not one of the enum's values: nothing of this batch remains. */
    CHECK(mdm_batch_set_text(b, 5, 2, "z", 1));
    assert_true(mdm_conn_append(c, "narrow", b) < 0);
    assert_int_equal(count(c, "narrow"), 3);
    CHECK(mdm_batch_set_text(b, 5, 2, "y", 1));

    /* 2^40 does not fit INTEGER: nothing of this batch remains. */
    size_t r;
    CHECK(mdm_batch_add_row(b, &r));
    mdm_batch_set_int64(b, 0, r, (int64_t)1 << 40);
    assert_true(mdm_conn_append(c, "narrow", b) < 0);
    assert_int_equal(count(c, "narrow"), 3);
    mdm_batch_free(b);
    mdm_store_checkin(e->store, c);
}

static void conflicting_updates_are_busy(void **state)
{
    env *e = *state;
    mdm_conn *a = checkout(e);
    mdm_conn *b = NULL;
    CHECK(mdm_store_checkout(e->store, &b));
    CHECK(mdm_conn_table_create(a, "t", id_name, 2));
    mdm_batch *batch = rows(3, 0);
    CHECK(mdm_conn_append(a, "t", batch));
    mdm_batch_free(batch);
    CHECK(mdm_conn_begin(a));
    CHECK(mdm_conn_begin(b));
    CHECK(mdm_conn_execute(a, "UPDATE t SET name = 'a' WHERE id = 1", NULL, 0, NULL, NULL, NULL));
    int rc = mdm_conn_execute(b, "UPDATE t SET name = 'b' WHERE id = 1", NULL, 0, NULL, NULL, NULL);
    assert_int_equal(rc, MDM_EBUSY);
    assert_true(mdm_error_is_transient(rc));
    CHECK(mdm_conn_commit(a));
    CHECK(mdm_conn_rollback(b));
    mdm_store_checkin(e->store, b);
    mdm_store_checkin(e->store, a);
}

static void reset_restores_the_session(void **state)
{
    env *e = *state;
    mdm_conn *c = checkout(e);
    CHECK(mdm_conn_execute(c, "SET search_path = 'temp'", NULL, 0, NULL, NULL, NULL));
    CHECK(mdm_conn_execute(c, "CREATE TEMP TABLE scratch (x INTEGER)", NULL, 0, NULL, NULL, NULL));
    CHECK(mdm_conn_begin(c));
    /* Checkin resets a connection with an open transaction. */
    mdm_store_checkin(e->store, c);
    c = checkout(e);
    seen s = query(c, "SELECT current_setting('search_path')");
    assert_string_equal(s.values[0], "");
    bool exists = true;
    CHECK(mdm_conn_table_exists(c, "scratch", &exists));
    assert_false(exists);
    mdm_store_checkin(e->store, c);
}

/* Stores opened and freed from many threads at once on two files: the registry hands
 * each file one database and closes it after the last connection (run under TSan). */
typedef struct opener {
    env *e;
    const char *path;
    int rc;
    char error[1024];
} opener;

static void *open_close_loop(void *p)
{
    opener *o = p;
    for (int i = 0; i < 15 && !o->rc; i++) {
        mdm_store *s = NULL;
        mdm_conn *c = NULL;
        mdm_target t = {.dataset = "t", .path = o->path};
        if ((o->rc = mdm_store_open(&s, "duckdb", &t, o->e->cfg)) ||
            (o->rc = mdm_store_checkout(s, &c)) ||
            (o->rc = mdm_conn_execute(c, "SELECT 42", NULL, 0, NULL, NULL, NULL)))
            snprintf(o->error, sizeof o->error, "%s", mdm_error_last()->message);
        mdm_store_checkin(s, c);
        mdm_store_free(s);
    }
    return NULL;
}

static void registry_under_threads(void **state)
{
    env *e = *state;
    enum { N = 8 };
    char second[160];
    snprintf(second, sizeof second, "%s/second.duckdb", e->dir);
    pthread_t th[N];
    opener o[N];
    for (int i = 0; i < N; i++) {
        o[i] = (opener){.e = e, .path = i % 2 ? second : e->path};
        assert_int_equal(pthread_create(&th[i], NULL, open_close_loop, &o[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++)
        if (o[i].rc)
            fail_msg("thread %d: %s", i, o[i].error);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(library_version_is_duckdbs),
        cmocka_unit_test_setup_teardown(one_database_per_file, setup, teardown),
        cmocka_unit_test_setup_teardown(config_settings_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_config_value_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(read_only_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_directory_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(three_thousand_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(execute_hugeint_and_unsigned, setup, teardown),
        cmocka_unit_test_setup_teardown(execute_decimal_and_other_types, setup, teardown),
        cmocka_unit_test_setup_teardown(execute_many_statements, setup, teardown),
        cmocka_unit_test_setup_teardown(append_is_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(transactions_through_execute, setup, teardown),
        cmocka_unit_test_setup_teardown(metadata_upserts, setup, teardown),
        cmocka_unit_test_setup_teardown(append_casts_to_other_column_types, setup, teardown),
        cmocka_unit_test_setup_teardown(conflicting_updates_are_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_restores_the_session, setup, teardown),
        cmocka_unit_test_setup_teardown(registry_under_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
