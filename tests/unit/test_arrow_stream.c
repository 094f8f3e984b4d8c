/* Arrow C streams of table reads and queries, checked by handing them to DuckDB's Arrow
 * scan: every value and type (NULLs, multi-byte UTF-8, empty text against NULL, dates
 * before 1970, timestamps, -0.0/Inf/NaN as the source engine keeps them) read from
 * SQLite, DuckDB and PostgreSQL stores; the schema before any array; an empty result;
 * errors through get_last_error; a stream released part way (no leak, the connection
 * back in its pool); and the dataset API's read_arrow, query_arrow and query.
 *
 * PostgreSQL runs under scripts/test-postgres (MDM_TEST_PG_CONNINFO); without it its
 * group is skipped, unless MDM_REQUIRE_POSTGRES=1. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <duckdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdm/dataset.h"
#include "storage/arrow_stream.h"

#define CHECK(expr)                                                                        \
    do {                                                                                   \
        int check_rc_ = (expr);                                                            \
        if (check_rc_ != 0)                                                                \
            fail_msg("%s failed: %s (%s)", #expr, mdm_error_last()->message,               \
                     mdm_error_name(check_rc_));                                           \
    } while (0)

static const char *backend;
static mdm_config *cfg;
static char home[64];
static mdm_store *store;
static int seq;

static bool is(const char *name) { return strcmp(backend, name) == 0; }

/* ------------------------------------------------------------------ the data */

static const mdm_field v_fields[] = {{"k", MDM_TYPE_INT64}, {"i", MDM_TYPE_INT64},
                                     {"f", MDM_TYPE_FLOAT64}, {"b", MDM_TYPE_BOOL},
                                     {"s", MDM_TYPE_TEXT},  {"d", MDM_TYPE_DATE},
                                     {"t", MDM_TYPE_TIMESTAMP}};
enum { NCOLS = 7, NSPECIAL = 5, NROWS = 2505 };

static const char utf8_text[] = "héllo wörld ✓ 日本語 🦆";

/* Row k as stored: the first rows hold the edge cases, the rest a pattern. */
static mdm_value cell(int64_t k, size_t col)
{
    static const int64_t ints[] = {INT64_MIN, INT64_MAX, 0, 0, 42};
    if (col == 0)
        return mdm_value_int64(k);
    if (k >= NSPECIAL) {
        switch (col) {
        case 1: return mdm_value_int64(k * 1000);
        case 2: return k % 10 ? mdm_value_float64((double)k / 8) : mdm_value_null(MDM_TYPE_FLOAT64);
        case 3: return mdm_value_bool(k % 3 == 0);
        case 4: {
            static _Thread_local char buf[32];
            snprintf(buf, sizeof buf, "row %lld", (long long)k);
            return k % 7 ? mdm_value_text(buf) : mdm_value_null(MDM_TYPE_TEXT);
        }
        case 5: return mdm_value_date((int32_t)(k - 1000));
        default: return mdm_value_timestamp((k - 1000) * INT64_C(3600000001));
        }
    }
    switch (col) {
    case 1: return k == 3 ? mdm_value_null(MDM_TYPE_INT64) : mdm_value_int64(ints[k]);
    case 2: {
        const double f[] = {-0.0, INFINITY, -INFINITY, NAN, 0};
        return k == 4 ? mdm_value_null(MDM_TYPE_FLOAT64) : mdm_value_float64(f[k]);
    }
    case 3: return k == 2 ? mdm_value_null(MDM_TYPE_BOOL) : mdm_value_bool(k != 1);
    case 4: {
        const char *s[] = {utf8_text, "", NULL, "x", "'quoted' \"too\""};
        return s[k] ? mdm_value_text(s[k]) : mdm_value_null(MDM_TYPE_TEXT);
    }
    case 5: {
        const int32_t d[] = {mdm_date_from_ymd(1900, 1, 1), mdm_date_from_ymd(1969, 12, 31), 0,
                             mdm_date_from_ymd(2038, 1, 19), mdm_date_from_ymd(1970, 1, 1)};
        return k == 2 ? mdm_value_null(MDM_TYPE_DATE) : mdm_value_date(d[k]);
    }
    default: {
        const int64_t t[] = {-1, INT64_C(1709210096123456), 0, -INT64_C(2208988800000000), 1};
        return k == 2 ? mdm_value_null(MDM_TYPE_TIMESTAMP) : mdm_value_timestamp(t[k]);
    }
    }
}

/* What the engine gives back for a value (SQLite: NaN is NULL, -0.0 is +0.0). */
static mdm_value expected(int64_t k, size_t col)
{
    mdm_value v = cell(k, col);
    if (is("sqlite") && v.type == MDM_TYPE_FLOAT64 && !v.is_null) {
        if (isnan(v.v.f64))
            return mdm_value_null(MDM_TYPE_FLOAT64);
        if (v.v.f64 == 0)
            v.v.f64 = 0.0;
    }
    return v;
}

static void fill(mdm_conn *c, const char *table, int64_t rows)
{
    CHECK(mdm_conn_table_create(c, table, v_fields, NCOLS));
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, v_fields, NCOLS, 1024));
    for (int64_t k = 0; k < rows; k++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        for (size_t col = 0; col < NCOLS; col++) {
            mdm_value v = cell(k, col);
            if (!v.is_null)
                CHECK(mdm_batch_set_value(b, col, r, &v));
        }
        if (mdm_batch_nrows(b) == 1024) {
            CHECK(mdm_conn_append(c, table, b));
            mdm_batch_clear(b);
        }
    }
    CHECK(mdm_conn_append(c, table, b));
    mdm_batch_free(b);
}

/* ------------------------------------------------------------------ fixture */

static int setup(void **state)
{
    (void)state;
    char path[256], dataset[64];
    mdm_target t = {0};
    seq++;
    if (is("postgres")) {
        snprintf(dataset, sizeof dataset, "as_%d_%d", (int)getpid(), seq);
        t.dataset = dataset;
        t.conninfo = getenv("MDM_TEST_PG_CONNINFO");
    } else {
        snprintf(path, sizeof path, "%s/a%d.%s", home, seq, backend);
        t.dataset = "a";
        t.path = path;
    }
    CHECK(mdm_store_open(&store, backend, &t, cfg));
    mdm_conn *c = NULL;
    CHECK(mdm_store_checkout(store, &c));
    CHECK(mdm_conn_dataset_create(c));
    fill(c, "v", NROWS);
    fill(c, "empty", 0);
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

static size_t in_use(void)
{
    mdm_pool_stats st;
    CHECK(mdm_store_pool_stats(store, &st));
    return st.in_use;
}

/* ------------------------------------------------------------------ producers */

typedef struct job {
    mdm_read_request read;
    mdm_query_request query;
    bool is_query;
} job;

static int produce(void *p, mdm_batch_sink sink, void *sink_ctx)
{
    job *j = p;
    mdm_conn *c = NULL;
    int rc = mdm_store_checkout(store, &c);
    if (rc)
        return rc;
    if (j->is_query) {
        j->query.canceled = arrow_stream_released;
        j->query.cancel_ctx = sink_ctx;
        rc = mdm_conn_query(c, &j->query, sink, sink_ctx);
    } else {
        rc = mdm_conn_read(c, &j->read, sink, sink_ctx);
    }
    mdm_store_checkin(store, c);
    return rc;
}

static void read_stream(struct ArrowArrayStream *s, job *j, const char *table, size_t batch_rows)
{
    *j = (job){.read = {.table = table, .limit = -1, .batch_rows = batch_rows}};
    CHECK(arrow_stream_start(s, produce, j, NULL));
}

/* ------------------------------------------------------------------ DuckDB as consumer */

typedef struct consumer {
    duckdb_database db;
    duckdb_connection con;
    duckdb_result res;
} consumer;

static void scan(consumer *k, struct ArrowArrayStream *s, const char *sql)
{
    assert_int_equal(duckdb_open(NULL, &k->db), DuckDBSuccess);
    assert_int_equal(duckdb_connect(k->db, &k->con), DuckDBSuccess);
    assert_int_equal(duckdb_arrow_scan(k->con, "s", (duckdb_arrow_stream)s), DuckDBSuccess);
    if (duckdb_query(k->con, sql, &k->res) != DuckDBSuccess)
        fail_msg("DuckDB: %s", duckdb_result_error(&k->res));
}

static void consumer_close(consumer *k)
{
    duckdb_destroy_result(&k->res);
    duckdb_disconnect(&k->con);
    duckdb_close(&k->db);
}

static void check_value(duckdb_result *res, idx_t col, idx_t row, const mdm_value *want,
                        int64_t k)
{
    bool null = duckdb_value_is_null(res, col, row);
    if (null != want->is_null)
        fail_msg("row %lld column %llu: NULL %d, expected %d", (long long)k,
                 (unsigned long long)col, null, want->is_null);
    if (null)
        return;
    switch (want->type) {
    case MDM_TYPE_INT64: assert_int_equal(duckdb_value_int64(res, col, row), want->v.i64); break;
    case MDM_TYPE_FLOAT64: {
        double got = duckdb_value_double(res, col, row);
        if (isnan(want->v.f64))
            assert_true(isnan(got));
        else
            assert_true(got == want->v.f64 && signbit(got) == signbit(want->v.f64));
        break;
    }
    case MDM_TYPE_BOOL: assert_int_equal(duckdb_value_boolean(res, col, row), want->v.b); break;
    case MDM_TYPE_TEXT: {
        char *got = duckdb_value_varchar(res, col, row);
        assert_non_null(got);
        assert_int_equal(strlen(got), want->v.text.len);
        assert_memory_equal(got, want->v.text.ptr, want->v.text.len);
        duckdb_free(got);
        break;
    }
    case MDM_TYPE_DATE:
        assert_int_equal(duckdb_value_date(res, col, row).days, want->v.date);
        break;
    case MDM_TYPE_TIMESTAMP:
        assert_int_equal(duckdb_value_timestamp(res, col, row).micros, want->v.ts);
        break;
    }
}

static void check_types(duckdb_result *res)
{
    static const duckdb_type types[] = {DUCKDB_TYPE_BIGINT,  DUCKDB_TYPE_BIGINT,
                                        DUCKDB_TYPE_DOUBLE,  DUCKDB_TYPE_BOOLEAN,
                                        DUCKDB_TYPE_VARCHAR, DUCKDB_TYPE_DATE,
                                        DUCKDB_TYPE_TIMESTAMP};
    assert_int_equal(duckdb_column_count(res), NCOLS);
    for (idx_t c = 0; c < NCOLS; c++) {
        assert_int_equal(duckdb_column_type(res, c), types[c]);
        assert_string_equal(duckdb_column_name(res, c), v_fields[c].name);
    }
}

/* ------------------------------------------------------------------ tests */

static void every_value_reaches_duckdb(void **state)
{
    (void)state;
    struct ArrowArrayStream s;
    job j;
    read_stream(&s, &j, "v", 1000); /* several arrays */
    consumer k;
    scan(&k, &s, "SELECT * FROM s ORDER BY k");
    check_types(&k.res);
    assert_int_equal(duckdb_row_count(&k.res), NROWS);
    for (idx_t row = 0; row < NROWS; row++)
        for (idx_t col = 0; col < NCOLS; col++) {
            mdm_value want = expected((int64_t)row, col);
            check_value(&k.res, col, row, &want, (int64_t)row);
        }
    consumer_close(&k);
    s.release(&s);
    assert_null(s.release);
    assert_int_equal(in_use(), 0);
}

static void schema_first_then_arrays(void **state)
{
    (void)state;
    struct ArrowArrayStream s;
    job j;
    read_stream(&s, &j, "v", 0);
    struct ArrowSchema schema;
    assert_int_equal(s.get_schema(&s, &schema), 0);
    assert_string_equal(schema.format, "+s");
    assert_int_equal(schema.n_children, NCOLS);
    static const char *const formats[] = {"l", "l", "g", "b", "u", "tdD", "tsu:"};
    for (int c = 0; c < NCOLS; c++) {
        assert_string_equal(schema.children[c]->format, formats[c]);
        assert_string_equal(schema.children[c]->name, v_fields[c].name);
        assert_true(schema.children[c]->flags & ARROW_FLAG_NULLABLE);
    }
    int64_t rows = 0;
    for (;;) {
        struct ArrowArray a;
        assert_int_equal(s.get_next(&s, &a), 0);
        if (!a.release)
            break;
        assert_int_equal(a.n_children, NCOLS);
        rows += a.length;
        a.release(&a);
    }
    assert_int_equal(rows, NROWS);
    s.release(&s);
    /* The schema outlives the stream. */
    assert_string_equal(schema.children[4]->name, "s");
    schema.release(&schema);
    assert_int_equal(in_use(), 0);
}

static void empty_result_is_schema_then_end(void **state)
{
    (void)state;
    struct ArrowArrayStream s;
    job j;
    read_stream(&s, &j, "empty", 0);
    struct ArrowSchema schema;
    assert_int_equal(s.get_schema(&s, &schema), 0);
    assert_int_equal(schema.n_children, NCOLS);
    schema.release(&schema);
    struct ArrowArray a;
    assert_int_equal(s.get_next(&s, &a), 0);
    assert_null(a.release);
    s.release(&s);

    /* A query with no rows, through DuckDB: the columns and their types, no row. */
    j = (job){.is_query = true, .query = {.sql = "SELECT * FROM v WHERE k < 0"}};
    CHECK(arrow_stream_start(&s, produce, &j, NULL));
    consumer k;
    scan(&k, &s, "SELECT * FROM s");
    check_types(&k.res);
    assert_int_equal(duckdb_row_count(&k.res), 0);
    consumer_close(&k);
    s.release(&s);
    assert_int_equal(in_use(), 0);
}

static void query_stream_to_duckdb(void **state)
{
    (void)state;
    struct ArrowArrayStream s;
    job j = {.is_query = true,
             .query = {.sql = "SELECT k, s, d FROM v WHERE k < 5 OR k >= 2500 ORDER BY k DESC",
                       .limit = 7}};
    CHECK(arrow_stream_start(&s, produce, &j, NULL));
    consumer k;
    scan(&k, &s, "SELECT k, s, d FROM s");
    assert_int_equal(duckdb_row_count(&k.res), 7);
    for (idx_t row = 0; row < 7; row++) {
        int64_t key = duckdb_value_int64(&k.res, 0, row);
        assert_int_equal(key, row < 5 ? 2504 - (int64_t)row : 9 - (int64_t)row);
        mdm_value text = expected(key, 4), day = expected(key, 5);
        check_value(&k.res, 1, row, &text, key);
        check_value(&k.res, 2, row, &day, key);
    }
    consumer_close(&k);
    s.release(&s);
    assert_int_equal(in_use(), 0);

    /* A write is refused at the start, with the reason. */
    j = (job){.is_query = true, .query = {.sql = "DELETE FROM v"}};
    assert_int_equal(arrow_stream_start(&s, produce, &j, NULL), MDM_EINVALID);
    assert_null(s.release);
    assert_non_null(strstr(mdm_error_last()->message, "read-only"));
    assert_int_equal(in_use(), 0);
}

static void released_part_way(void **state)
{
    (void)state;
    /* A read of 2,505 rows in batches of 100: the producer waits on a full queue. */
    struct ArrowArrayStream s;
    job j;
    read_stream(&s, &j, "v", 100);
    struct ArrowArray a;
    assert_int_equal(s.get_next(&s, &a), 0);
    assert_int_equal(a.length, 100);
    s.release(&s);
    assert_int_equal(in_use(), 0);
    /* An array taken before the release stays valid. */
    const struct ArrowArray *keys = a.children[0];
    assert_int_equal(((const int64_t *)keys->buffers[1])[99], 99);
    a.release(&a);

    /* A query without end, released after two arrays. */
    const char *endless = is("duckdb") ? "SELECT range AS x FROM range(9223372036854775807)"
                                       : "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + "
                                         "1 FROM n) SELECT x FROM n";
    j = (job){.is_query = true, .query = {.sql = endless}};
    CHECK(arrow_stream_start(&s, produce, &j, NULL));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s.get_next(&s, &a), 0);
        assert_non_null(a.release);
        a.release(&a);
    }
    s.release(&s);
    assert_int_equal(in_use(), 0);

    /* Released before any get_next. */
    read_stream(&s, &j, "v", 10);
    s.release(&s);
    assert_int_equal(in_use(), 0);
}

/* ------------------------------------------------------------------ without a backend */

static int one_batch_then_fail(void *p, mdm_batch_sink sink, void *sink_ctx)
{
    int mode = *(int *)p;
    static const mdm_field f[] = {{"x", MDM_TYPE_INT64}};
    static const mdm_field g[] = {{"x", MDM_TYPE_TEXT}};
    if (mode == 0)
        return mdm_error_set(MDM_EIO, "the disk is on fire");
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, f, 1, 4));
    size_t r;
    CHECK(mdm_batch_add_row(b, &r));
    mdm_batch_set_int64(b, 0, r, 7);
    int rc = sink(b, sink_ctx);
    mdm_batch_free(b);
    if (rc)
        return rc;
    if (mode == 1)
        return mdm_error_set(MDM_EIO, "the disk is on fire");
    CHECK(mdm_batch_new(&b, g, 1, 4));
    CHECK(mdm_batch_add_row(b, &r));
    CHECK(mdm_batch_set_text(b, 0, r, "seven", 5));
    rc = sink(b, sink_ctx);
    mdm_batch_free(b);
    return rc;
}

static void producer_errors(void **state)
{
    (void)state;
    struct ArrowArrayStream s;
    int mode = 0;
    /* before the first batch: the start fails */
    assert_int_equal(arrow_stream_start(&s, one_batch_then_fail, &mode, NULL), MDM_EIO);
    assert_string_equal(mdm_error_last()->message, "the disk is on fire");
    assert_null(s.release);

    /* after it: the arrays so far, then the error through get_last_error */
    for (mode = 1; mode <= 2; mode++) {
        mdm_error_clear();
        CHECK(arrow_stream_start(&s, one_batch_then_fail, &mode, NULL));
        struct ArrowArray a;
        assert_int_equal(s.get_next(&s, &a), 0);
        assert_int_equal(a.length, 1);
        a.release(&a);
        assert_int_not_equal(s.get_next(&s, &a), 0);
        assert_null(a.release);
        const char *err = s.get_last_error(&s);
        assert_non_null(err);
        assert_non_null(strstr(err, mode == 1 ? "the disk is on fire" : "column 'x' changed type"));
        s.release(&s);
    }
}

/* ------------------------------------------------------------------ the dataset API */

typedef struct counts {
    size_t calls, rows;
} counts;

static int count(const mdm_batch *b, void *p)
{
    counts *c = p;
    c->calls++;
    c->rows += mdm_batch_nrows(b);
    return 0;
}

static void dataset_streams_and_query(void **state)
{
    (void)state;
    char csv[256];
    snprintf(csv, sizeof csv, "%s/people_%s.csv", home, backend);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fprintf(f, "id,name,born\n1,Ann,1961-02-03\n2,Bjørn,1999-12-31\n3,,1950-06-01\n");
    fclose(f);
    mdm_catalog *cat = NULL;
    CHECK(mdm_catalog_open(&cat, cfg));
    char name[64];
    snprintf(name, sizeof name, "people_%s_%d", backend, (int)getpid());
    mdm_register_options opt = {.name = name, .path = csv, .backend = backend,
                                .skip_analysis = true, .no_features = true};
    mdm_dataset_info *info = NULL;
    CHECK(mdm_dataset_register(&info, NULL, cat, &opt));
    mdm_dataset_info_free(info);
    mdm_dataset *ds = NULL;
    CHECK(mdm_dataset_open(&ds, cat, name));
    const char *table = NULL;
    CHECK(mdm_dataset_table_name(&table, ds, "data"));

    /* read_arrow: every row, through DuckDB */
    struct ArrowArrayStream s;
    const char *const cols[] = {"name", "id"};
    mdm_table_read req = {.table = "data", .columns = cols, .ncolumns = 2, .limit = -1};
    CHECK(mdm_dataset_read_arrow(&s, ds, &req));
    consumer k;
    scan(&k, &s, "SELECT name, id FROM s ORDER BY id");
    assert_int_equal(duckdb_row_count(&k.res), 3);
    assert_string_equal(duckdb_column_name(&k.res, 0), "name");
    char *v = duckdb_value_varchar(&k.res, 0, 1);
    assert_string_equal(v, "Bjørn");
    duckdb_free(v);
    consumer_close(&k);
    s.release(&s);

    /* query_arrow, with the table named as in the dataset */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT id, born FROM \"%s\" WHERE born < DATE '1970-01-01' ORDER BY id",
             table);
    if (is("sqlite"))
        snprintf(sql, sizeof sql,
                 "SELECT id, born FROM \"%s\" WHERE born < '1970-01-01' ORDER BY id", table);
    mdm_query_options qo = {.limit = 10, .timeout_ms = 30000};
    CHECK(mdm_dataset_query_arrow(&s, ds, sql, &qo));
    scan(&k, &s, "SELECT * FROM s");
    assert_int_equal(duckdb_row_count(&k.res), 2);
    assert_int_equal(duckdb_column_type(&k.res, 1), DUCKDB_TYPE_DATE);
    assert_int_equal(duckdb_value_date(&k.res, 1, 0).days, mdm_date_from_ymd(1961, 2, 3));
    consumer_close(&k);
    s.release(&s);

    /* query: an empty result's columns; a write refused; a cancelled token */
    snprintf(sql, sizeof sql, "SELECT name FROM \"%s\" WHERE id > 100", table);
    counts c = {0};
    CHECK(mdm_dataset_query(ds, sql, NULL, count, &c));
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.rows, 0);
    snprintf(sql, sizeof sql, "DELETE FROM \"%s\"", table);
    assert_int_equal(mdm_dataset_query(ds, sql, NULL, count, &c), MDM_EINVALID);
    assert_int_equal(mdm_dataset_query_arrow(&s, ds, sql, NULL), MDM_EINVALID);
    mdm_cancel *cancel = NULL;
    CHECK(mdm_cancel_new(&cancel));
    mdm_cancel_request(cancel);
    qo.cancel = cancel;
    snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", table);
    assert_int_equal(mdm_dataset_query(ds, sql, &qo, count, &c), MDM_ECANCELED);
    mdm_cancel_free(cancel);
    int64_t n = -1;
    CHECK(mdm_dataset_table_rows(&n, ds, "data"));
    assert_int_equal(n, 3);

    mdm_dataset_close(ds);
    CHECK(mdm_catalog_remove(cat, name));
    mdm_catalog_free(cat);
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
    snprintf(home, sizeof home, "/tmp/mdm-arrow-XXXXXX");
    if (!mkdtemp(home)) {
        perror("mkdtemp");
        return 1;
    }
    atexit(remove_home);
    if (mdm_config_defaults(&cfg, home) != 0)
        return 1;
    const char *conninfo = getenv("MDM_TEST_PG_CONNINFO");
    if (conninfo && *conninfo && mdm_config_set(cfg, "database.postgresql.conninfo", conninfo))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_value_reaches_duckdb, setup, teardown),
        cmocka_unit_test_setup_teardown(schema_first_then_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_result_is_schema_then_end, setup, teardown),
        cmocka_unit_test_setup_teardown(query_stream_to_duckdb, setup, teardown),
        cmocka_unit_test_setup_teardown(released_part_way, setup, teardown),
        cmocka_unit_test(dataset_streams_and_query),
    };
    const struct CMUnitTest plain[] = {cmocka_unit_test(producer_errors)};
    int failed = _cmocka_run_group_tests("stream", plain, 1, NULL, NULL);
    static const char *const backends[] = {"sqlite", "duckdb", "postgres"};
    for (size_t i = 0; i < 3; i++) {
        backend = backends[i];
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
