/* Reading: column subsets, limit, offset, filters, batch sizes; executing SQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/fixture.h"
#include "mdm/sys/backend.h"

static const mdm_field cols[] = {
    {"id", MDM_TYPE_INT64}, {"grp", MDM_TYPE_TEXT}, {"score", MDM_TYPE_FLOAT64}};
enum { N = 1000 };

/* Rows id 0..N-1, grp "g<id%5>", score id/2. */
static mdm_conn *with_table(void)
{
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_table_create(c, "t", cols, 3));
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, cols, 3, N));
    for (int i = 0; i < N; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, i);
        char g[8];
        int len = snprintf(g, sizeof g, "g%d", i % 5);
        CHECK(mdm_batch_set_text(b, 1, r, g, (size_t)len));
        mdm_batch_set_float64(b, 2, r, i / 2.0);
    }
    CHECK(mdm_conn_append(c, "t", b));
    mdm_batch_free(b);
    return c;
}

typedef struct collected {
    int64_t ids[N];
    size_t n;
    size_t batches;
    size_t max_batch;
    size_t ncols;
    mdm_type first_type;
    char first_name[32];
} collected;

static int collect(const mdm_batch *b, void *ctx)
{
    collected *k = ctx;
    k->batches++;
    k->ncols = mdm_batch_ncols(b);
    k->first_type = mdm_batch_field(b, 0)->type;
    snprintf(k->first_name, sizeof k->first_name, "%s", mdm_batch_field(b, 0)->name);
    if (mdm_batch_nrows(b) > k->max_batch)
        k->max_batch = mdm_batch_nrows(b);
    long idcol = mdm_batch_find(b, "id");
    for (size_t r = 0; r < mdm_batch_nrows(b) && k->n < N; r++)
        k->ids[k->n++] = idcol >= 0 ? mdm_batch_int64(b, (size_t)idcol, r) : -1;
    return 0;
}

static void read_all_in_order(void **state)
{
    (void)state;
    mdm_conn *c = with_table();
    collected *k = calloc(1, sizeof *k);
    mdm_read_request req = {.table = "t", .limit = -1};
    CHECK(mdm_conn_read(c, &req, collect, k));
    assert_int_equal(k->n, N);
    assert_int_equal(k->ncols, 3);
    for (int i = 0; i < N; i++)
        assert_int_equal(k->ids[i], i);
    free(k);
    fixture_checkin(c);
}

static void read_columns_limit_offset(void **state)
{
    (void)state;
    mdm_conn *c = with_table();
    collected *k = calloc(1, sizeof *k);
    const char *pick[] = {"score", "id"};
    mdm_read_request req = {.table = "t", .columns = pick, .ncolumns = 2, .limit = 10, .offset = 995};
    CHECK(mdm_conn_read(c, &req, collect, k));
    assert_int_equal(k->ncols, 2);
    assert_string_equal(k->first_name, "score");
    assert_int_equal(k->first_type, MDM_TYPE_FLOAT64);
    assert_int_equal(k->n, 5);
    for (size_t i = 0; i < k->n; i++)
        assert_int_equal(k->ids[i], 995 + (int64_t)i);

    memset(k, 0, sizeof *k);
    req = (mdm_read_request){.table = "t", .limit = 0};
    CHECK(mdm_conn_read(c, &req, collect, k));
    assert_int_equal(k->n, 0);

    memset(k, 0, sizeof *k);
    req = (mdm_read_request){.table = "t", .limit = -1, .offset = 990};
    CHECK(mdm_conn_read(c, &req, collect, k));
    assert_int_equal(k->n, 10);
    assert_int_equal(k->ids[0], 990);

    req = (mdm_read_request){.table = "t", .limit = -1, .offset = -1};
    assert_int_equal(mdm_conn_read(c, &req, collect, k), MDM_EINVALID);
    const char *missing[] = {"nope"};
    req = (mdm_read_request){.table = "t", .columns = missing, .ncolumns = 1, .limit = -1};
    assert_true(mdm_conn_read(c, &req, collect, k) < 0);
    req = (mdm_read_request){.table = "absent", .limit = -1};
    assert_true(mdm_conn_read(c, &req, collect, k) < 0);
    free(k);
    fixture_checkin(c);
}

static void read_batches_and_stop(void **state)
{
    (void)state;
    mdm_conn *c = with_table();
    collected *k = calloc(1, sizeof *k);
    mdm_read_request req = {.table = "t", .limit = -1, .batch_rows = 7};
    CHECK(mdm_conn_read(c, &req, collect, k));
    assert_int_equal(k->n, N);
    assert_int_equal(k->max_batch, 7);
    assert_int_equal(k->batches, (N + 6) / 7);
    free(k);
    fixture_checkin(c);
}

static int stop_after_first(const mdm_batch *b, void *ctx)
{
    (void)b;
    ++*(int *)ctx;
    return 42;
}

static void sink_stops_read(void **state)
{
    (void)state;
    mdm_conn *c = with_table();
    int calls = 0;
    mdm_read_request req = {.table = "t", .limit = -1, .batch_rows = 10};
    assert_int_equal(mdm_conn_read(c, &req, stop_after_first, &calls), 42);
    assert_int_equal(calls, 1);
    /* The connection is still usable. */
    assert_int_equal(count_rows(c, "t"), N);
    fixture_checkin(c);
}

static void read_with_filter(void **state)
{
    (void)state;
    need_caps(MDM_BACKEND_CAP_SQL);
    mdm_conn *c = with_table();
    collected *k = calloc(1, sizeof *k);
    mdm_value params[] = {mdm_value_text("g3"), mdm_value_int64(500)};
    mdm_read_request req = {.table = "t", .limit = -1, .where = "\"grp\" = ? AND \"id\" >= ?",
                            .params = params, .nparams = 2};
    CHECK(mdm_conn_read(c, &req, collect, k));
    assert_int_equal(k->n, 100);
    for (size_t i = 0; i < k->n; i++)
        assert_int_equal(k->ids[i], 503 + 5 * (int64_t)i);
    /* With a limit and offset on top. */
    memset(k, 0, sizeof *k);
    req.limit = 3;
    req.offset = 2;
    CHECK(mdm_conn_read(c, &req, collect, k));
    assert_int_equal(k->n, 3);
    assert_int_equal(k->ids[0], 513);
    free(k);
    fixture_checkin(c);
}

typedef struct one_value {
    mdm_value v;
    char text[64];
    size_t rows;
} one_value;

static int first_value(const mdm_batch *b, void *ctx)
{
    one_value *o = ctx;
    if (mdm_batch_nrows(b) && o->rows == 0) {
        o->v = mdm_batch_value(b, 0, 0);
        if (o->v.type == MDM_TYPE_TEXT && !o->v.is_null) {
            snprintf(o->text, sizeof o->text, "%.*s", (int)o->v.v.text.len, o->v.v.text.ptr);
            o->v.v.text.ptr = o->text;
        }
    }
    o->rows += mdm_batch_nrows(b);
    return 0;
}

static void execute_with_params(void **state)
{
    (void)state;
    need_caps(MDM_BACKEND_CAP_SQL);
    mdm_conn *c = with_table();
    one_value o = {0};
    mdm_value p[] = {mdm_value_int64(10), mdm_value_text("g0")};
    CHECK(mdm_conn_execute(c, "SELECT SUM(\"id\") FROM \"t\" WHERE \"id\" < ? AND \"grp\" = ?", p,
                           2, first_value, &o, NULL));
    assert_int_equal(o.rows, 1);
    /* 0 + 5 */
    if (o.v.type == MDM_TYPE_INT64)
        assert_int_equal(o.v.v.i64, 5);
    else
        assert_true(o.v.type == MDM_TYPE_FLOAT64 && o.v.v.f64 == 5.0);

    int64_t changes = 0;
    mdm_value up[] = {mdm_value_float64(-1.0), mdm_value_text("g1")};
    CHECK(mdm_conn_execute(c, "UPDATE \"t\" SET \"score\" = ? WHERE \"grp\" = ?", up, 2, NULL, NULL,
                           &changes));
    assert_int_equal(changes, 200);
    mdm_value del[] = {mdm_value_int64(900)};
    CHECK(mdm_conn_execute(c, "DELETE FROM \"t\" WHERE \"id\" >= ?", del, 1, NULL, NULL, &changes));
    assert_int_equal(changes, 100);
    assert_int_equal(count_rows(c, "t"), 900);

    /* Every parameter type binds. */
    memset(&o, 0, sizeof o);
    mdm_value many[] = {mdm_value_bool(true), mdm_value_date(mdm_date_from_ymd(2024, 2, 29)),
                        mdm_value_timestamp(1700000000123456LL), mdm_value_null(MDM_TYPE_TEXT),
                        mdm_value_text("x")};
    CHECK(mdm_conn_execute(c,
                           "SELECT COUNT(*) FROM \"t\" WHERE ? AND ? IS NOT NULL AND ? IS NOT NULL "
                           "AND ? IS NULL AND ? = 'x'",
                           many, 5, first_value, &o, NULL));
    assert_int_equal(o.v.v.i64, 900);

    /* An error names the problem and leaves the connection usable. */
    assert_true(mdm_conn_execute(c, "SELEC nonsense", NULL, 0, NULL, NULL, NULL) < 0);
    assert_true(strlen(mdm_error_last()->message) > 0);
    assert_int_equal(count_rows(c, "t"), 900);
    fixture_checkin(c);
}

static void execute_result_types(void **state)
{
    (void)state;
    need_caps(MDM_BACKEND_CAP_SQL);
    static const mdm_field all[] = {
        {"i", MDM_TYPE_INT64}, {"f", MDM_TYPE_FLOAT64}, {"b", MDM_TYPE_BOOL},
        {"t", MDM_TYPE_TEXT},  {"d", MDM_TYPE_DATE},    {"ts", MDM_TYPE_TIMESTAMP},
    };
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_table_create(c, "typed", all, 6));
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, all, 6, 2));
    size_t r;
    CHECK(mdm_batch_add_row(b, &r));
    mdm_batch_set_int64(b, 0, r, 42);
    mdm_batch_set_float64(b, 1, r, 2.5);
    mdm_batch_set_bool(b, 2, r, true);
    CHECK(mdm_batch_set_text(b, 3, r, "hi", 2));
    mdm_batch_set_date(b, 4, r, mdm_date_from_ymd(2020, 1, 2));
    mdm_batch_set_timestamp(b, 5, r, 1577934245000001LL);
    CHECK(mdm_batch_add_row(b, &r)); /* all NULL */
    CHECK(mdm_conn_append(c, "typed", b));
    mdm_batch_free(b);

    static const char *const exprs[] = {"i", "f", "b", "t", "d", "ts"};
    for (int col = 0; col < 6; col++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT \"%s\" FROM \"typed\"", exprs[col]);
        one_value o = {0};
        CHECK(mdm_conn_execute(c, sql, NULL, 0, first_value, &o, NULL));
        assert_int_equal(o.rows, 2);
        assert_int_equal(o.v.type, all[col].type);
    }
    fixture_checkin(c);
}

const struct CMUnitTest read_tests[] = {
    cmocka_unit_test_setup_teardown(read_all_in_order, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(read_columns_limit_offset, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(read_batches_and_stop, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(sink_stops_read, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(read_with_filter, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(execute_with_params, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(execute_result_types, fixture_setup, fixture_teardown),
};
const size_t read_ntests = sizeof read_tests / sizeof read_tests[0];
