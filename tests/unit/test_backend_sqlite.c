/* SQLite-specific behaviour of the sqlite backend: pragmas from config, busy mapping,
 * declared types, text forms of dates, execute's type widening, engine limits. What all
 * backends share is checked by tests/conformance. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdm/mdm.h"
#include "mdm/sys/backend.h"
#include "storage/backends/sqlite_internal.h"

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
    snprintf(e->dir, sizeof e->dir, "/tmp/mdm-sqlite-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->path, sizeof e->path, "%s/t.sqlite", e->dir);
    CHECK(mdm_config_defaults(&e->cfg, e->dir));
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

/* Opens the store (after the test changed the config) and checks a connection out. */
static mdm_conn *checkout(env *e)
{
    if (!e->store) {
        mdm_target t = {.dataset = "t", .path = e->path};
        CHECK(mdm_store_open(&e->store, "sqlite", &t, e->cfg));
    }
    mdm_conn *c = NULL;
    CHECK(mdm_store_checkout(e->store, &c));
    return c;
}

/* Collects every delivered batch's first column as (type, text form) pairs. */
typedef struct seen {
    size_t batches;
    size_t rows;
    mdm_type types[16];   /* per batch */
    char values[32][64];  /* per row, rendered */
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
    for (size_t r = 0; r < mdm_batch_nrows(b); r++, s->rows++)
        if (s->rows < 32)
            render(s->values[s->rows], sizeof s->values[0], b, 0, r);
    return 0;
}

static seen *run(mdm_conn *c, const char *sql)
{
    static seen s;
    memset(&s, 0, sizeof s);
    CHECK(mdm_conn_execute(c, sql, NULL, 0, collect, &s, NULL));
    return &s;
}

static void pragmas_follow_config(void **state)
{
    env *e = *state;
    CHECK(mdm_config_set(e->cfg, "database.sqlite.journal_mode", "TRUNCATE"));
    CHECK(mdm_config_set(e->cfg, "database.sqlite.synchronous", "FULL"));
    CHECK(mdm_config_set(e->cfg, "database.sqlite.cache_size", "-1234"));
    CHECK(mdm_config_set(e->cfg, "database.sqlite.temp_store", "FILE"));
    CHECK(mdm_config_set(e->cfg, "database.sqlite.mmap_size", "1048576"));
    CHECK(mdm_config_set(e->cfg, "database.connection_timeout", "7"));
    mdm_conn *c = checkout(e);
    assert_string_equal(run(c, "PRAGMA journal_mode")->values[0], "truncate");
    assert_string_equal(run(c, "PRAGMA synchronous")->values[0], "2");
    assert_string_equal(run(c, "PRAGMA cache_size")->values[0], "-1234");
    assert_string_equal(run(c, "PRAGMA temp_store")->values[0], "1");
    assert_string_equal(run(c, "PRAGMA mmap_size")->values[0], "1048576");
    assert_string_equal(run(c, "PRAGMA busy_timeout")->values[0], "7000");

    /* Session settings changed by hand come back on reset (checkin after a transaction
     * left open). */
    CHECK(mdm_conn_execute(c, "PRAGMA cache_size = 10", NULL, 0, NULL, NULL, NULL));
    CHECK(mdm_conn_begin(c));
    mdm_store_checkin(e->store, c);
    c = checkout(e);
    assert_string_equal(run(c, "PRAGMA cache_size")->values[0], "-1234");
    mdm_store_checkin(e->store, c);
}

static void default_pragmas(void **state)
{
    env *e = *state;
    mdm_conn *c = checkout(e);
    assert_string_equal(run(c, "PRAGMA journal_mode")->values[0], "wal");
    assert_string_equal(run(c, "PRAGMA synchronous")->values[0], "1");
    assert_string_equal(run(c, "PRAGMA cache_size")->values[0], "-64000");
    assert_string_equal(run(c, "PRAGMA temp_store")->values[0], "2");
    assert_string_equal(run(c, "PRAGMA busy_timeout")->values[0], "30000");
    mdm_store_checkin(e->store, c);
}

/* The store may connect when opened (a pool's minimum) or at the first checkout. */
static int open_and_checkout(env *e, mdm_conn **c)
{
    *c = NULL;
    mdm_target t = {.dataset = "t", .path = e->path};
    int rc = mdm_store_open(&e->store, "sqlite", &t, e->cfg);
    return rc ? rc : mdm_store_checkout(e->store, c);
}

static void bad_config_value_refused(void **state)
{
    env *e = *state;
    /* The config layer may refuse the value itself; if it does not, open must. */
    if (mdm_config_set(e->cfg, "database.sqlite.journal_mode", "WAL; DROP TABLE x") != 0)
        return;
    mdm_conn *c = NULL;
    assert_int_equal(open_and_checkout(e, &c), MDM_ECONFIG);
    assert_non_null(strstr(mdm_error_last()->message, "journal_mode"));
}

static const mdm_field two[] = {{"id", MDM_TYPE_INT64}, {"name", MDM_TYPE_TEXT}};

static mdm_batch *rows(size_t n)
{
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, two, 2, n));
    for (size_t i = 0; i < n; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, (int64_t)i);
        CHECK(mdm_batch_set_text(b, 1, r, "x", 1));
    }
    return b;
}

static void busy_is_ebusy(void **state)
{
    env *e = *state;
    CHECK(mdm_config_set(e->cfg, "database.connection_timeout", "1"));
    mdm_conn *a = checkout(e), *b = checkout(e);
    CHECK(mdm_conn_dataset_create(a));
    CHECK(mdm_conn_table_create(a, "t", two, 2));
    mdm_batch *batch = rows(10);
    CHECK(mdm_conn_begin(a));
    CHECK(mdm_conn_append(a, "t", batch));

    uint64_t t0 = mdm_now_ns();
    assert_int_equal(mdm_conn_append(b, "t", batch), MDM_EBUSY);
    assert_non_null(strstr(mdm_error_last()->message, "locked"));
    assert_non_null(strstr(mdm_error_last()->message, e->path));
    /* It waited for the busy timeout first. */
    assert_true(mdm_now_ns() - t0 >= 900000000ULL);
    assert_true(mdm_error_is_transient(MDM_EBUSY));
    assert_int_equal(mdm_conn_begin(b), MDM_EBUSY);

    CHECK(mdm_conn_commit(a));
    CHECK(mdm_conn_append(b, "t", batch));
    seen *s = run(b, "SELECT COUNT(*) FROM \"t\"");
    assert_string_equal(s->values[0], "20");
    mdm_batch_free(batch);
    mdm_store_checkin(e->store, a);
    mdm_store_checkin(e->store, b);
}

static void declared_types_map(void **state)
{
    env *e = *state;
    mdm_conn *c = checkout(e);
    CHECK(mdm_conn_execute(c,
                           "CREATE TABLE ext (a INT, b VARCHAR(10), c DOUBLE PRECISION, "
                           "d DATETIME, e BOOL, f NUMERIC, g BLOB, h, i DATE, j BIGINT, "
                           "k timestamp, l FLOAT, m CLOB)",
                           NULL, 0, NULL, NULL, NULL));
    static const mdm_type want[] = {
        MDM_TYPE_INT64, MDM_TYPE_TEXT, MDM_TYPE_FLOAT64, MDM_TYPE_TIMESTAMP, MDM_TYPE_BOOL,
        MDM_TYPE_FLOAT64, MDM_TYPE_TEXT, MDM_TYPE_TEXT, MDM_TYPE_DATE, MDM_TYPE_INT64,
        MDM_TYPE_TIMESTAMP, MDM_TYPE_FLOAT64, MDM_TYPE_TEXT,
    };
    mdm_field *f = NULL;
    size_t n = 0;
    CHECK(mdm_conn_table_schema(c, "ext", &f, &n));
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++)
        if (f[i].type != want[i])
            fail_msg("column %s: %s, expected %s", f[i].name, mdm_type_name(f[i].type),
                     mdm_type_name(want[i]));
    mdm_fields_free(f, n);

    /* What mdm creates is declared with the names of the storage contract. */
    static const mdm_field all[] = {
        {"i", MDM_TYPE_INT64}, {"f", MDM_TYPE_FLOAT64}, {"b", MDM_TYPE_BOOL},
        {"t", MDM_TYPE_TEXT},  {"d", MDM_TYPE_DATE},    {"ts", MDM_TYPE_TIMESTAMP},
    };
    CHECK(mdm_conn_table_create(c, "mine", all, 6));
    seen *s = run(c, "SELECT type FROM pragma_table_info('mine') ORDER BY cid");
    static const char *const decl[] = {"INTEGER", "REAL", "BOOLEAN", "TEXT", "DATE", "TIMESTAMP"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(s->values[i], decl[i]);
    mdm_store_checkin(e->store, c);
}

static void dates_stored_as_iso_text(void **state)
{
    env *e = *state;
    static const mdm_field f[] = {{"d", MDM_TYPE_DATE}, {"ts", MDM_TYPE_TIMESTAMP},
                                  {"b", MDM_TYPE_BOOL}};
    mdm_conn *c = checkout(e);
    CHECK(mdm_conn_table_create(c, "dt", f, 3));
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, f, 3, 2));
    size_t r;
    CHECK(mdm_batch_add_row(b, &r));
    mdm_batch_set_date(b, 0, r, mdm_date_from_ymd(2020, 1, 2));
    mdm_batch_set_timestamp(b, 1, r, 1577934245000001LL); /* 2020-01-02 03:04:05.000001 */
    mdm_batch_set_bool(b, 2, r, true);
    CHECK(mdm_batch_add_row(b, &r));
    mdm_batch_set_date(b, 0, r, mdm_date_from_ymd(1, 1, 1));
    mdm_batch_set_timestamp(b, 1, r, -1000000LL); /* a second before the epoch */
    mdm_batch_set_bool(b, 2, r, false);
    CHECK(mdm_conn_append(c, "dt", b));
    mdm_batch_free(b);
    seen *s = run(c, "SELECT typeof(d) || ' ' || d || ' | ' || ts || ' | ' || typeof(b) || ' ' || b "
                     "FROM dt");
    assert_string_equal(s->values[0], "text 2020-01-02 | 2020-01-02 03:04:05.000001 | integer 1");
    assert_string_equal(s->values[1], "text 0001-01-01 | 1969-12-31 23:59:59 | integer 0");

    /* Years that have no four-digit form are refused, not written in a form that would
     * not read back. */
    CHECK(mdm_batch_new(&b, f, 3, 1));
    CHECK(mdm_batch_add_row(b, &r));
    mdm_batch_set_date(b, 0, r, mdm_date_from_ymd(10000, 1, 1));
    assert_int_equal(mdm_conn_append(c, "dt", b), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "'d'"));
    mdm_batch_free(b);
    assert_string_equal(run(c, "SELECT COUNT(*) FROM dt")->values[0], "2");
    mdm_store_checkin(e->store, c);
}

static void fast_formatters_match_core(void **state)
{
    (void)state;
    char fast[MDM_SQLITE_DATETIME_MAX], slow[64];
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* Years 0000..9999: about +-2.5e17 microseconds around 1970... */
        int64_t micros = (int64_t)(x % 315000000000000000ULL) - 62135596800000000LL;
        if (i % 3 == 0)
            micros -= micros % 1000000; /* whole seconds: no fraction */
        size_t n = mdm_sqlite_format_timestamp(fast, micros);
        int m = mdm_timestamp_format(slow, sizeof slow, micros);
        if (n != (size_t)m || strcmp(fast, slow) != 0)
            fail_msg("%lld: %s vs %s", (long long)micros, fast, slow);
        int32_t days = (int32_t)(micros / 86400000000LL);
        n = mdm_sqlite_format_date(fast, days);
        m = mdm_date_format(slow, sizeof slow, days);
        if (n != (size_t)m || strcmp(fast, slow) != 0)
            fail_msg("day %d: %s vs %s", days, fast, slow);
    }
    assert_int_equal(mdm_sqlite_format_date(fast, mdm_date_from_ymd(-1, 12, 31)), 0);
    assert_int_equal(mdm_sqlite_format_timestamp(fast, INT64_MIN), 0);
    assert_int_equal(mdm_sqlite_format_timestamp(fast, INT64_MAX), 0);
}

static void execute_widens_to_text(void **state)
{
    env *e = *state;
    mdm_conn *c = checkout(e);
    /* Integers first, then a text: the integers are delivered, then text. */
    seen *s = run(c, "SELECT 1 AS v UNION ALL SELECT 'x' UNION ALL SELECT 2 UNION ALL SELECT 2.5");
    assert_int_equal(s->batches, 2);
    assert_int_equal(s->types[0], MDM_TYPE_INT64);
    assert_int_equal(s->types[1], MDM_TYPE_TEXT);
    assert_int_equal(s->rows, 4);
    assert_string_equal(s->values[0], "1");
    assert_string_equal(s->values[1], "x");
    assert_string_equal(s->values[2], "2");
    assert_string_equal(s->values[3], "2.5");

    /* Leading NULLs wait for the first value to give the type. */
    s = run(c, "SELECT NULL AS v UNION ALL SELECT NULL UNION ALL SELECT 7");
    assert_int_equal(s->batches, 1);
    assert_int_equal(s->types[0], MDM_TYPE_INT64);
    assert_string_equal(s->values[0], "NULL");
    assert_string_equal(s->values[2], "7");

    /* Reals keep every digit when widened. */
    s = run(c, "SELECT 0.1 AS v UNION ALL SELECT 'y' UNION ALL SELECT 0.30000000000000004");
    assert_int_equal(s->types[0], MDM_TYPE_FLOAT64);
    assert_int_equal(s->types[1], MDM_TYPE_TEXT);
    assert_string_equal(s->values[2], "0.30000000000000004");

    /* A declared type that a stored value does not fit: widened too, nothing lost. */
    CHECK(mdm_conn_execute(c, "CREATE TABLE m (d DATE, i INTEGER)", NULL, 0, NULL, NULL, NULL));
    CHECK(mdm_conn_execute(c, "INSERT INTO m VALUES ('2021-03-04', 1), ('soon', 'many')", NULL, 0,
                           NULL, NULL, NULL));
    s = run(c, "SELECT d FROM m");
    assert_int_equal(s->batches, 2);
    assert_int_equal(s->types[0], MDM_TYPE_DATE);
    assert_int_equal(s->types[1], MDM_TYPE_TEXT);
    assert_string_equal(s->values[0], "2021-03-04");
    assert_string_equal(s->values[1], "soon");

    /* No rows: one empty batch with the column's declared type (as every backend). */
    s = run(c, "SELECT d FROM m WHERE 0");
    assert_int_equal(s->batches, 1);
    assert_int_equal(s->types[0], MDM_TYPE_DATE);
    assert_int_equal(s->rows, 0);

    /* read() keeps the table's schema and names the value it cannot read back. */
    mdm_read_request req = {.table = "m", .limit = -1};
    seen k = {0};
    assert_int_equal(mdm_conn_read(c, &req, collect, &k), MDM_EBACKEND);
    const char *msg = mdm_error_last()->message;
    assert_non_null(strstr(msg, "'m'"));
    assert_non_null(strstr(msg, "'d'"));
    assert_non_null(strstr(msg, "soon"));
    mdm_store_checkin(e->store, c);
}

static void execute_one_statement(void **state)
{
    env *e = *state;
    mdm_conn *c = checkout(e);
    int64_t changes = -1;
    CHECK(mdm_conn_execute(c, "CREATE TABLE s (x INTEGER);  \n -- done\n ;; ", NULL, 0, NULL, NULL,
                           &changes));
    assert_int_equal(changes, 0);
    assert_int_equal(mdm_conn_execute(c, "INSERT INTO s VALUES (1); DROP TABLE s", NULL, 0, NULL,
                                      NULL, NULL),
                     MDM_EINVALID);
    assert_string_equal(run(c, "SELECT COUNT(*) FROM s")->values[0], "0");
    mdm_value p[] = {mdm_value_int64(3)};
    CHECK(mdm_conn_execute(c, "INSERT INTO s VALUES (?), (?1)", p, 1, NULL, NULL, &changes));
    assert_int_equal(changes, 2);
    /* A SELECT after an INSERT reports no changes of its own. */
    changes = -1;
    CHECK(mdm_conn_execute(c, "SELECT * FROM s", NULL, 0, NULL, NULL, &changes));
    assert_int_equal(changes, 0);
    assert_int_equal(mdm_conn_execute(c, "   ", NULL, 0, NULL, NULL, NULL), MDM_EINVALID);
    mdm_store_checkin(e->store, c);
}

static void too_many_columns(void **state)
{
    env *e = *state;
    mdm_conn *c = checkout(e);
    enum { N = 2001 };
    mdm_field *f = calloc(N, sizeof *f);
    char (*names)[16] = calloc(N, sizeof *names);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "c%d", i);
        f[i] = (mdm_field){names[i], MDM_TYPE_INT64};
    }
    assert_int_equal(mdm_conn_table_create(c, "wide", f, N), MDM_ECONSTRAINT);
    const char *msg = mdm_error_last()->message;
    assert_non_null(strstr(msg, "2000"));
    assert_non_null(strstr(msg, "'wide' has 2001"));
    assert_non_null(strstr(msg, "--backend duckdb"));
    /* The limit itself is fine, and a batch that wide goes in. */
    CHECK(mdm_conn_table_create(c, "wide", f, N - 1));
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, f, N - 1, 3));
    for (int r = 0; r < 3; r++) {
        size_t row;
        CHECK(mdm_batch_add_row(b, &row));
        for (int i = 0; i < N - 1; i++)
            mdm_batch_set_int64(b, (size_t)i, row, i * r);
    }
    CHECK(mdm_conn_append(c, "wide", b));
    mdm_batch_free(b);
    assert_string_equal(run(c, "SELECT SUM(c1999) FROM wide")->values[0], "5997");
    free(f);
    free(names);
    mdm_store_checkin(e->store, c);
}

static void savepoint_keeps_callers_transaction(void **state)
{
    env *e = *state;
    static const mdm_field f[] = {{"d", MDM_TYPE_DATE}};
    mdm_conn *c = checkout(e);
    CHECK(mdm_conn_table_create(c, "d", f, 1));
    mdm_batch *good = NULL, *bad = NULL;
    CHECK(mdm_batch_new(&good, f, 1, 100));
    CHECK(mdm_batch_new(&bad, f, 1, 100));
    for (int i = 0; i < 100; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(good, &r));
        mdm_batch_set_date(good, 0, r, i);
        CHECK(mdm_batch_add_row(bad, &r));
        /* The last row fails after 99 were inserted. */
        mdm_batch_set_date(bad, 0, r, i == 99 ? mdm_date_from_ymd(12000, 1, 1) : i);
    }
    CHECK(mdm_conn_begin(c));
    CHECK(mdm_conn_append(c, "d", good));
    assert_int_equal(mdm_conn_append(c, "d", bad), MDM_EINVALID);
    CHECK(mdm_conn_commit(c));
    assert_string_equal(run(c, "SELECT COUNT(*) FROM d")->values[0], "100");
    /* Without a transaction, the failed batch leaves nothing either. */
    assert_int_equal(mdm_conn_append(c, "d", bad), MDM_EINVALID);
    assert_string_equal(run(c, "SELECT COUNT(*) FROM d")->values[0], "100");
    mdm_batch_free(good);
    mdm_batch_free(bad);
    mdm_store_checkin(e->store, c);
}

static void cached_insert_follows_schema(void **state)
{
    env *e = *state;
    mdm_conn *a = checkout(e), *b = checkout(e);
    CHECK(mdm_conn_table_create(a, "t", two, 2));
    mdm_batch *batch = rows(100);
    CHECK(mdm_conn_append(a, "t", batch));
    /* Another connection replaces the table with other column types. */
    CHECK(mdm_conn_table_drop(b, "t"));
    static const mdm_field other[] = {{"name", MDM_TYPE_TEXT}, {"id", MDM_TYPE_INT64}};
    CHECK(mdm_conn_table_create(b, "t", other, 2));
    assert_int_equal(mdm_conn_append(a, "t", batch), MDM_EINVALID);
    mdm_batch_free(batch);
    mdm_batch *swapped = NULL;
    CHECK(mdm_batch_new(&swapped, other, 2, 1));
    size_t r;
    CHECK(mdm_batch_add_row(swapped, &r));
    CHECK(mdm_batch_set_text(swapped, 0, r, "n", 1));
    mdm_batch_set_int64(swapped, 1, r, 5);
    CHECK(mdm_conn_append(a, "t", swapped));
    mdm_batch_free(swapped);
    assert_string_equal(run(b, "SELECT name || id FROM t")->values[0], "n5");
    mdm_store_checkin(e->store, a);
    mdm_store_checkin(e->store, b);
}

static void rowid_column_keeps_order(void **state)
{
    env *e = *state;
    static const mdm_field f[] = {{"rowid", MDM_TYPE_INT64}, {"OID", MDM_TYPE_INT64}};
    mdm_conn *c = checkout(e);
    CHECK(mdm_conn_table_create(c, "r", f, 2));
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, f, 2, 5));
    for (int i = 0; i < 5; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, 10 - i);
        mdm_batch_set_int64(b, 1, r, 10 - i);
    }
    CHECK(mdm_conn_append(c, "r", b));
    mdm_batch_free(b);
    CHECK(mdm_conn_execute(c, "CREATE INDEX r_rowid ON r (rowid)", NULL, 0, NULL, NULL, NULL));
    mdm_value p[] = {mdm_value_int64(0)};
    mdm_read_request req = {.table = "r", .limit = -1, .where = "\"rowid\" > ?", .params = p,
                            .nparams = 1};
    seen s = {0};
    CHECK(mdm_conn_read(c, &req, collect, &s));
    assert_int_equal(s.rows, 5);
    for (int i = 0; i < 5; i++) {
        char want[8];
        snprintf(want, sizeof want, "%d", 10 - i);
        assert_string_equal(s.values[i], want);
    }
    mdm_store_checkin(e->store, c);
}

static void open_errors_name_the_path(void **state)
{
    env *e = *state;
    snprintf(e->path, sizeof e->path, "%s/missing/dir/t.sqlite", e->dir);
    mdm_conn *c = NULL;
    assert_int_equal(open_and_checkout(e, &c), MDM_EIO);
    const char *msg = mdm_error_last()->message;
    assert_non_null(strstr(msg, e->path));
    assert_null(strchr(msg, '\n'));

    /* A file that is not a database. */
    mdm_store_free(e->store);
    e->store = NULL;
    snprintf(e->path, sizeof e->path, "%s/junk.sqlite", e->dir);
    FILE *f = fopen(e->path, "w");
    fputs("this is not a database, but it is long enough to have a header of sorts......", f);
    fclose(f);
    assert_true(open_and_checkout(e, &c) < 0);
    assert_non_null(strstr(mdm_error_last()->message, "not a database"));
}

static void ping_notices_removed_file(void **state)
{
    env *e = *state;
    mdm_conn *c = checkout(e);
    CHECK(mdm_conn_ping(c));
    assert_int_equal(unlink(e->path), 0);
    assert_int_equal(mdm_conn_ping(c), MDM_ECONNECT);
    assert_non_null(strstr(mdm_error_last()->message, "removed"));
    mdm_store_checkin(e->store, c);
}

static void metadata_needs_dataset(void **state)
{
    env *e = *state;
    mdm_conn *c = checkout(e);
    char *v = NULL;
    assert_int_equal(mdm_conn_metadata_get(c, "k", &v), MDM_ENOTFOUND);
    assert_non_null(strstr(mdm_error_last()->message, "_metadata"));
    assert_int_equal(mdm_conn_metadata_set(c, "k", "v"), MDM_ENOTFOUND);
    CHECK(mdm_conn_dataset_create(c));
    CHECK(mdm_conn_metadata_set(c, "k", ""));
    CHECK(mdm_conn_metadata_get(c, "k", &v));
    assert_string_equal(v, "");
    free(v);
    mdm_store_checkin(e->store, c);
}

static void echo_logs_statements(void **state)
{
    env *e = *state;
    CHECK(mdm_config_set(e->cfg, "database.sqlalchemy.echo", "true"));
    char log[128];
    snprintf(log, sizeof log, "%s/stderr.txt", e->dir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(log, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    mdm_log_set_stderr_level(MDM_LOG_DEBUG);
    mdm_conn *c = checkout(e);
    CHECK(mdm_conn_table_create(c, "echoed", two, 2));
    mdm_batch *b = rows(3);
    CHECK(mdm_conn_append(c, "echoed", b));
    mdm_batch_free(b);
    mdm_store_checkin(e->store, c);
    mdm_log_set_stderr_level(MDM_LOG_WARNING);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fopen(log, "r");
    char text[8192] = {0};
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_non_null(strstr(text, "DEBUG"));
    assert_non_null(strstr(text, "PRAGMA journal_mode=WAL"));
    assert_non_null(strstr(text, "CREATE TABLE \"echoed\""));
    assert_non_null(strstr(text, "INSERT INTO \"echoed\" VALUES (?,?) -- 3 rows"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pragmas_follow_config, setup, teardown),
        cmocka_unit_test_setup_teardown(default_pragmas, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_config_value_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(busy_is_ebusy, setup, teardown),
        cmocka_unit_test_setup_teardown(declared_types_map, setup, teardown),
        cmocka_unit_test_setup_teardown(dates_stored_as_iso_text, setup, teardown),
        cmocka_unit_test(fast_formatters_match_core),
        cmocka_unit_test_setup_teardown(execute_widens_to_text, setup, teardown),
        cmocka_unit_test_setup_teardown(execute_one_statement, setup, teardown),
        cmocka_unit_test_setup_teardown(too_many_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(savepoint_keeps_callers_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(cached_insert_follows_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(rowid_column_keeps_order, setup, teardown),
        cmocka_unit_test_setup_teardown(open_errors_name_the_path, setup, teardown),
        cmocka_unit_test_setup_teardown(ping_notices_removed_file, setup, teardown),
        cmocka_unit_test_setup_teardown(metadata_needs_dataset, setup, teardown),
        cmocka_unit_test_setup_teardown(echo_logs_statements, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
