/* Bulk loading (mdm_conn_load_*): rows in order across batches, appends after a load
 * keep the order, a rolled-back or abandoned load leaves the table as it was, and a
 * batch of the wrong shape fails the load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/fixture.h"
#include "mdm/sys/backend.h"

static const mdm_field cols[] = {{"id", MDM_TYPE_INT64}, {"name", MDM_TYPE_TEXT}};

static mdm_batch *rows_from(int64_t first, size_t n)
{
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, cols, 2, n));
    for (size_t i = 0; i < n; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        int64_t id = first + (int64_t)i;
        mdm_batch_set_int64(b, 0, r, id);
        if (id % 7 == 3)
            continue; /* a NULL now and then */
        char s[32];
        int len = snprintf(s, sizeof s, "row %lld", (long long)id);
        CHECK(mdm_batch_set_text(b, 1, r, s, (size_t)len));
    }
    return b;
}

typedef struct order_check {
    int64_t next;
    bool ok;
    char why[160];
} order_check;

static int expect_in_order(const mdm_batch *b, void *ctx)
{
    order_check *k = ctx;
    for (size_t r = 0; r < mdm_batch_nrows(b) && k->ok; r++) {
        int64_t id = mdm_batch_int64(b, 0, r);
        bool null_name = mdm_batch_is_null(b, 1, r);
        if (id != k->next || null_name != (id % 7 == 3)) {
            snprintf(k->why, sizeof k->why, "row %lld: id %lld%s", (long long)k->next,
                     (long long)id, null_name ? " (NULL name)" : "");
            k->ok = false;
        }
        k->next++;
    }
    return 0;
}

static void expect_ids(mdm_conn *c, int64_t n)
{
    order_check k = {.ok = true};
    mdm_read_request req = {.table = "t", .limit = -1};
    CHECK(mdm_conn_read(c, &req, expect_in_order, &k));
    if (!k.ok)
        fail_msg("rows out of order: %s", k.why);
    assert_int_equal(k.next, n);
}

/* Loads [first, first + nbatches * per) in batches of `per` rows. */
static void load_rows(mdm_conn *c, int64_t first, size_t nbatches, size_t per)
{
    CHECK(mdm_conn_load_begin(c, "t"));
    for (size_t i = 0; i < nbatches; i++) {
        mdm_batch *b = rows_from(first + (int64_t)(i * per), per);
        CHECK(mdm_conn_load(c, b));
        mdm_batch_free(b);
    }
    CHECK(mdm_conn_load_end(c));
}

static void load_keeps_order(void **state)
{
    (void)state;
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_table_create(c, "t", cols, 2));
    /* Outside a transaction a load is refused. */
    assert_int_equal(mdm_conn_load_begin(c, "t"), MDM_EINVALID);
    CHECK(mdm_conn_begin(c));
    /* Commit refuses while a load is open; an empty load is fine. */
    CHECK(mdm_conn_load_begin(c, "t"));
    assert_int_equal(mdm_conn_commit(c), MDM_EINVALID);
    CHECK(mdm_conn_load_end(c));
    /* Past a million rows: PostgreSQL's ordinals span two of its blocks, and the
     * appends after must start past them. */
    load_rows(c, 0, 21, 50000);
    CHECK(mdm_conn_commit(c));
    assert_int_equal(count_rows(c, "t"), 1050000);
    expect_ids(c, 1050000);

    /* Appends and another load after it continue in order. */
    mdm_batch *b = rows_from(1050000, 1000);
    CHECK(mdm_conn_append(c, "t", b));
    mdm_batch_free(b);
    CHECK(mdm_conn_begin(c));
    load_rows(c, 1051000, 2, 500);
    CHECK(mdm_conn_commit(c));
    b = rows_from(1052000, 10);
    CHECK(mdm_conn_append(c, "t", b));
    mdm_batch_free(b);
    expect_ids(c, 1052010);
    fixture_checkin(c);
}

static void failed_load_leaves_table_as_it_was(void **state)
{
    (void)state;
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_table_create(c, "t", cols, 2));
    mdm_batch *b = rows_from(0, 100);
    CHECK(mdm_conn_append(c, "t", b));
    mdm_batch_free(b);

    /* Rolled back half way. */
    CHECK(mdm_conn_begin(c));
    CHECK(mdm_conn_load_begin(c, "t"));
    b = rows_from(100, 1000);
    CHECK(mdm_conn_load(c, b));
    mdm_batch_free(b);
    CHECK(mdm_conn_rollback(c));
    assert_int_equal(count_rows(c, "t"), 100);

    /* A batch of the wrong shape fails the load; the transaction rolls back. */
    static const mdm_field wrong[] = {{"id", MDM_TYPE_INT64}, {"name", MDM_TYPE_FLOAT64}};
    CHECK(mdm_conn_begin(c));
    CHECK(mdm_conn_load_begin(c, "t"));
    b = rows_from(100, 50);
    CHECK(mdm_conn_load(c, b));
    mdm_batch_free(b);
    CHECK(mdm_batch_new(&b, wrong, 2, 1));
    size_t r;
    CHECK(mdm_batch_add_row(b, &r));
    mdm_batch_set_int64(b, 0, r, 1);
    mdm_batch_set_float64(b, 1, r, 1.5);
    assert_int_equal(mdm_conn_load(c, b), MDM_EINVALID);
    mdm_batch_free(b);
    CHECK(mdm_conn_rollback(c));
    assert_int_equal(count_rows(c, "t"), 100);

    /* Abandoned at checkin: the pool's reset rolls it back. */
    CHECK(mdm_conn_begin(c));
    CHECK(mdm_conn_load_begin(c, "t"));
    b = rows_from(100, 500);
    CHECK(mdm_conn_load(c, b));
    mdm_batch_free(b);
    fixture_checkin(c);
    c = fixture_checkout();
    assert_int_equal(count_rows(c, "t"), 100);
    /* and the table still takes rows in order */
    CHECK(mdm_conn_begin(c));
    load_rows(c, 100, 1, 400);
    CHECK(mdm_conn_commit(c));
    expect_ids(c, 500);
    fixture_checkin(c);
}

/* The engine refuses a row half way (a NOT NULL column of a table made by SQL): the
 * load reports it, nothing hangs, and the rollback leaves the table empty. */
static void engine_refusal_ends_the_load(void **state)
{
    (void)state;
    need_caps(MDM_BACKEND_CAP_SQL);
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_execute(c, "CREATE TABLE t (id BIGINT NOT NULL, name TEXT)", NULL, 0, NULL,
                           NULL, NULL));
    static const mdm_field nullable[] = {{"id", MDM_TYPE_INT64}, {"name", MDM_TYPE_TEXT}};
    CHECK(mdm_conn_begin(c));
    CHECK(mdm_conn_load_begin(c, "t"));
    int rc = 0;
    for (int k = 0; k < 40 && rc == 0; k++) {
        mdm_batch *b = NULL;
        CHECK(mdm_batch_new(&b, nullable, 2, 5000));
        for (int i = 0; i < 5000; i++) {
            size_t r;
            CHECK(mdm_batch_add_row(b, &r));
            if (!(k == 20 && i == 17)) /* one NULL id in the middle of the load */
                mdm_batch_set_int64(b, 0, r, k * 5000 + i);
            CHECK(mdm_batch_set_text(b, 1, r, "x", 1));
        }
        rc = mdm_conn_load(c, b);
        mdm_batch_free(b);
    }
    if (rc == 0)
        rc = mdm_conn_load_end(c);
    assert_int_not_equal(rc, 0);
    CHECK(mdm_conn_rollback(c));
    assert_int_equal(count_rows(c, "t"), 0);
    fixture_checkin(c);
}

const struct CMUnitTest load_tests[] = {
    cmocka_unit_test_setup_teardown(engine_refusal_ends_the_load, fixture_setup,
                                    fixture_teardown),
    cmocka_unit_test_setup_teardown(load_keeps_order, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(failed_load_leaves_table_as_it_was, fixture_setup,
                                    fixture_teardown),
};
const size_t load_ntests = sizeof load_tests / sizeof load_tests[0];
