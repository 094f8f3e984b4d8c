/* What every backend owes an empty result and a read-only query: read and execute call
 * the sink once with a zero-row batch naming the columns; the `query` slot refuses
 * writes before anything changes, keeps to the row limit, and names the columns of an
 * empty result. (tests/unit/test_query.c has time limits, cancels and the engine's own
 * ways of writing.) */
#include <stdio.h>
#include <string.h>

#include "conformance/fixture.h"

static const mdm_field cols[] = {{"id", MDM_TYPE_INT64}, {"label", MDM_TYPE_TEXT},
                                 {"day", MDM_TYPE_DATE}};

typedef struct seen {
    int calls;
    size_t rows, ncols;
    char names[3][16];
    mdm_type types[3];
} seen;

static int look(const mdm_batch *b, void *ctx)
{
    seen *s = ctx;
    if (s->calls++ == 0) {
        s->ncols = mdm_batch_ncols(b);
        for (size_t c = 0; c < s->ncols && c < 3; c++) {
            snprintf(s->names[c], sizeof s->names[c], "%s", mdm_batch_field(b, c)->name);
            s->types[c] = mdm_batch_field(b, c)->type;
        }
    }
    s->rows += mdm_batch_nrows(b);
    return 0;
}

static void assert_columns(const seen *s)
{
    assert_int_equal(s->calls, 1);
    assert_int_equal(s->rows, 0);
    assert_int_equal(s->ncols, 3);
    for (size_t c = 0; c < 3; c++) {
        assert_string_equal(s->names[c], cols[c].name);
        assert_int_equal(s->types[c], cols[c].type);
    }
}

static mdm_conn *with_table(size_t rows)
{
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_table_create(c, "t", cols, 3));
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, cols, 3, rows ? rows : 1));
    for (size_t i = 0; i < rows; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, (int64_t)i);
        CHECK(mdm_batch_set_text(b, 1, r, "x", 1));
        mdm_batch_set_date(b, 2, r, (int32_t)i);
    }
    CHECK(mdm_conn_append(c, "t", b));
    mdm_batch_free(b);
    return c;
}

static void empty_results_name_their_columns(void **state)
{
    (void)state;
    mdm_conn *c = with_table(0);
    seen s = {0};
    mdm_read_request req = {.table = "t", .limit = -1};
    CHECK(mdm_conn_read(c, &req, look, &s));
    assert_columns(&s);

    memset(&s, 0, sizeof s);
    CHECK(mdm_conn_execute(c, "SELECT \"id\", \"label\", \"day\" FROM \"t\"", NULL, 0, look, &s,
                           NULL));
    assert_columns(&s);

    memset(&s, 0, sizeof s);
    mdm_query_request q = {.sql = "SELECT id, label, day FROM t"};
    CHECK(mdm_conn_query(c, &q, look, &s));
    assert_columns(&s);

    /* A statement without a result calls no sink. */
    memset(&s, 0, sizeof s);
    CHECK(mdm_conn_execute(c, "DELETE FROM \"t\"", NULL, 0, look, &s, NULL));
    assert_int_equal(s.calls, 0);
    fixture_checkin(c);
}

static void query_limits_and_refuses(void **state)
{
    (void)state;
    mdm_conn *c = with_table(300);
    seen s = {0};
    mdm_query_request q = {.sql = "SELECT * FROM t ORDER BY id", .limit = 120};
    CHECK(mdm_conn_query(c, &q, look, &s));
    assert_int_equal(s.rows, 120);
    assert_int_equal(s.ncols, 3); /* PostgreSQL's hidden ordinal left out */

    static const char *const writes[] = {
        "INSERT INTO t (id) VALUES (-1)", "UPDATE t SET label = 'y'", "DELETE FROM t",
        "DROP TABLE t",                   "CREATE TABLE u (x BIGINT)", "SELECT 1; DELETE FROM t",
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        mdm_query_request w = {.sql = writes[i]};
        int rc = mdm_conn_query(c, &w, look, &s);
        if (rc != MDM_EINVALID)
            fail_msg("'%s' gave %s: %s", writes[i], mdm_error_name(rc),
                     mdm_error_last()->message);
    }
    assert_int_equal(count_rows(c, "t"), 300);
    bool exists = true;
    CHECK(mdm_conn_table_exists(c, "u", &exists));
    assert_false(exists);
    fixture_checkin(c);
}

const struct CMUnitTest query_tests[] = {
    cmocka_unit_test_setup_teardown(empty_results_name_their_columns, fixture_setup,
                                    fixture_teardown),
    cmocka_unit_test_setup_teardown(query_limits_and_refuses, fixture_setup, fixture_teardown),
};
const size_t query_ntests = sizeof query_tests / sizeof query_tests[0];
