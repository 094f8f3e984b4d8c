/* Bound parameters keep injection attempts as plain data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/fixture.h"

static const char *const attacks[] = {
    "'); DROP TABLE \"victim\"; --",
    "\"; DROP TABLE \"victim\"; --",
    "' OR '1'='1",
    "1; DELETE FROM \"victim\"",
    "$1 ? $$ $tag$ x $tag$ :name @p",
    "\\'; SELECT pg_sleep(10); --",
    "/* comment */ -- line",
};
enum { NATTACKS = sizeof attacks / sizeof attacks[0] };

static const mdm_field cols[] = {{"id", MDM_TYPE_INT64}, {"payload", MDM_TYPE_TEXT}};

typedef struct texts {
    char *v[NATTACKS * 2];
    size_t n;
} texts;

static int collect_texts(const mdm_batch *b, void *ctx)
{
    texts *t = ctx;
    long col = mdm_batch_find(b, "payload");
    assert_true(col >= 0);
    for (size_t r = 0; r < mdm_batch_nrows(b) && t->n < NATTACKS * 2; r++) {
        size_t len;
        const char *s = mdm_batch_text(b, (size_t)col, r, &len);
        t->v[t->n++] = strndup(s, len);
    }
    return 0;
}

static void injection_stays_data(void **state)
{
    (void)state;
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_table_create(c, "victim", cols, 2));
    /* Through the bulk path. */
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, cols, 2, NATTACKS));
    for (int i = 0; i < NATTACKS; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, i);
        CHECK(mdm_batch_set_text(b, 1, r, attacks[i], strlen(attacks[i])));
    }
    CHECK(mdm_conn_append(c, "victim", b));
    mdm_batch_free(b);
    /* Through execute with bound parameters. */
    for (int i = 0; i < NATTACKS; i++) {
        mdm_value p[] = {mdm_value_int64(100 + i), mdm_value_text(attacks[i])};
        CHECK(mdm_conn_execute(c, "INSERT INTO \"victim\" VALUES (?, ?)", p, 2, NULL, NULL, NULL));
    }
    assert_int_equal(count_rows(c, "victim"), 2 * NATTACKS);

    texts t = {0};
    mdm_read_request req = {.table = "victim", .limit = -1};
    CHECK(mdm_conn_read(c, &req, collect_texts, &t));
    assert_int_equal(t.n, 2 * NATTACKS);
    for (size_t i = 0; i < t.n; i++) {
        assert_string_equal(t.v[i], attacks[i % NATTACKS]);
        free(t.v[i]);
    }

    /* As a filter value, an attack matches only itself. */
    for (int i = 0; i < NATTACKS; i++) {
        texts m = {0};
        mdm_value p[] = {mdm_value_text(attacks[i])};
        mdm_read_request f = {.table = "victim", .limit = -1, .where = "\"payload\" = ?",
                              .params = p, .nparams = 1};
        CHECK(mdm_conn_read(c, &f, collect_texts, &m));
        assert_int_equal(m.n, 2);
        for (size_t k = 0; k < m.n; k++)
            free(m.v[k]);
    }
    /* A '?' inside a string literal is text, not a parameter. */
    texts q = {0};
    mdm_value p[] = {mdm_value_text(attacks[4])};
    CHECK(mdm_conn_execute(c, "SELECT 'what?' AS \"x\", \"payload\" FROM \"victim\" WHERE \"payload\" = ?",
                           p, 1, collect_texts, &q, NULL));
    assert_int_equal(q.n, 2);
    for (size_t k = 0; k < q.n; k++) {
        assert_string_equal(q.v[k], attacks[4]);
        free(q.v[k]);
    }
    assert_int_equal(count_rows(c, "victim"), 2 * NATTACKS);
    fixture_checkin(c);
}

static void wrong_parameter_count(void **state)
{
    (void)state;
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_table_create(c, "victim", cols, 2));
    mdm_value p[] = {mdm_value_int64(1)};
    assert_true(mdm_conn_execute(c, "INSERT INTO \"victim\" VALUES (?, ?)", p, 1, NULL, NULL, NULL) < 0);
    assert_int_equal(count_rows(c, "victim"), 0);
    fixture_checkin(c);
}

const struct CMUnitTest safety_tests[] = {
    cmocka_unit_test_setup_teardown(injection_stays_data, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(wrong_parameter_count, fixture_setup, fixture_teardown),
};
const size_t safety_ntests = sizeof safety_tests / sizeof safety_tests[0];
