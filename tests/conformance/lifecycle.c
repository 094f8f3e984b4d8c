/* Dataset and table lifecycle, metadata, transactions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/fixture.h"
#include "mdm/sys/backend.h"

static const mdm_field two_cols[] = {{"id", MDM_TYPE_INT64}, {"name", MDM_TYPE_TEXT}};

static mdm_batch *make_rows(size_t n, int64_t first)
{
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, two_cols, 2, n));
    for (size_t i = 0; i < n; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, first + (int64_t)i);
        char s[32];
        int len = snprintf(s, sizeof s, "row %lld", (long long)(first + (int64_t)i));
        CHECK(mdm_batch_set_text(b, 1, r, s, (size_t)len));
    }
    return b;
}

static void dataset_lifecycle(void **state)
{
    (void)state;
    mdm_conn *c = fixture_checkout();
    bool exists = false;
    CHECK(mdm_conn_dataset_exists(c, &exists));
    assert_true(exists);
    /* Creating again is harmless. */
    CHECK(mdm_conn_dataset_create(c));
    CHECK(mdm_conn_table_create(c, "train", two_cols, 2));
    CHECK(mdm_conn_dataset_drop(c));
    CHECK(mdm_conn_dataset_exists(c, &exists));
    assert_false(exists);
    CHECK(mdm_conn_dataset_create(c));
    CHECK(mdm_conn_dataset_exists(c, &exists));
    assert_true(exists);
    /* The dropped table went with the dataset. */
    CHECK(mdm_conn_table_exists(c, "train", &exists));
    assert_false(exists);
    fixture_checkin(c);
}

static void table_lifecycle(void **state)
{
    (void)state;
    mdm_conn *c = fixture_checkout();
    bool exists = true;
    CHECK(mdm_conn_table_exists(c, "train", &exists));
    assert_false(exists);
    CHECK(mdm_conn_table_create(c, "train", two_cols, 2));
    CHECK(mdm_conn_table_create(c, "test", two_cols, 1));
    CHECK(mdm_conn_table_exists(c, "train", &exists));
    assert_true(exists);
    assert_int_equal(mdm_conn_table_create(c, "train", two_cols, 2), MDM_EEXISTS);

    char **names = NULL;
    size_t n = 0;
    CHECK(mdm_conn_table_list(c, &names, &n));
    /* The _metadata table of the dataset, then ours, sorted. */
    size_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], "test") == 0 || strcmp(names[i], "train") == 0)
            seen++;
        if (i > 0)
            assert_true(strcmp(names[i - 1], names[i]) < 0);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    assert_int_equal(seen, 2);

    mdm_field *fields = NULL;
    size_t nf = 0;
    CHECK(mdm_conn_table_schema(c, "train", &fields, &nf));
    assert_int_equal(nf, 2);
    assert_string_equal(fields[0].name, "id");
    assert_int_equal(fields[0].type, MDM_TYPE_INT64);
    assert_string_equal(fields[1].name, "name");
    assert_int_equal(fields[1].type, MDM_TYPE_TEXT);
    mdm_fields_free(fields, nf);

    CHECK(mdm_conn_table_drop(c, "test"));
    CHECK(mdm_conn_table_exists(c, "test", &exists));
    assert_false(exists);
    assert_int_not_equal(mdm_conn_table_drop(c, "test"), 0);
    fixture_checkin(c);
}

static void every_type_in_schema(void **state)
{
    (void)state;
    static const mdm_field all[] = {
        {"i", MDM_TYPE_INT64}, {"f", MDM_TYPE_FLOAT64}, {"b", MDM_TYPE_BOOL},
        {"t", MDM_TYPE_TEXT},  {"d", MDM_TYPE_DATE},    {"ts", MDM_TYPE_TIMESTAMP},
    };
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_table_create(c, "all_types", all, 6));
    mdm_field *fields = NULL;
    size_t nf = 0;
    CHECK(mdm_conn_table_schema(c, "all_types", &fields, &nf));
    assert_int_equal(nf, 6);
    for (size_t i = 0; i < nf; i++) {
        assert_string_equal(fields[i].name, all[i].name);
        assert_int_equal(fields[i].type, all[i].type);
    }
    mdm_fields_free(fields, nf);
    fixture_checkin(c);
}

static void metadata_get_set(void **state)
{
    (void)state;
    mdm_conn *c = fixture_checkout();
    char *v = NULL;
    assert_int_equal(mdm_conn_metadata_get(c, "absent", &v), MDM_ENOTFOUND);
    assert_null(v);
    CHECK(mdm_conn_metadata_set(c, "target", "\"price\""));
    CHECK(mdm_conn_metadata_get(c, "target", &v));
    assert_string_equal(v, "\"price\"");
    free(v);
    /* Overwrite, unicode, quotes, a long value. */
    const char *json = "{\"name\": \"d\u00e9j\u00e0 vu \xe6\x97\xa5\xe6\x9c\xac\", \"q\": \"it's\"}";
    CHECK(mdm_conn_metadata_set(c, "target", json));
    CHECK(mdm_conn_metadata_get(c, "target", &v));
    assert_string_equal(v, json);
    free(v);
    size_t big = 200000;
    char *longv = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        longv[i] = (char)('a' + i % 26);
    longv[big] = '\0';
    CHECK(mdm_conn_metadata_set(c, "long", longv));
    CHECK(mdm_conn_metadata_get(c, "long", &v));
    assert_string_equal(v, longv);
    free(v);
    free(longv);
    fixture_checkin(c);
}

static void rollback_leaves_nothing(void **state)
{
    (void)state;
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_table_create(c, "t", two_cols, 2));
    mdm_batch *b = make_rows(1000, 0);

    CHECK(mdm_conn_begin(c));
    assert_true(mdm_conn_in_transaction(c));
    CHECK(mdm_conn_append(c, "t", b));
    CHECK(mdm_conn_append(c, "t", b));
    assert_int_equal(count_rows(c, "t"), 2000);
    CHECK(mdm_conn_rollback(c));
    assert_false(mdm_conn_in_transaction(c));
    assert_int_equal(count_rows(c, "t"), 0);

    CHECK(mdm_conn_begin(c));
    CHECK(mdm_conn_append(c, "t", b));
    CHECK(mdm_conn_commit(c));
    assert_int_equal(count_rows(c, "t"), 1000);

    /* A transaction left open at checkin is rolled back. */
    CHECK(mdm_conn_begin(c));
    CHECK(mdm_conn_append(c, "t", b));
    fixture_checkin(c);
    c = fixture_checkout();
    assert_false(mdm_conn_in_transaction(c));
    assert_int_equal(count_rows(c, "t"), 1000);

    /* Rolled-back DDL leaves nothing either, where DDL is transactional. */
    if (!(fixture_caps() & MDM_BACKEND_CAP_TRANSACTIONAL_DDL)) {
        mdm_batch_free(b);
        fixture_checkin(c);
        return;
    }
    CHECK(mdm_conn_begin(c));
    CHECK(mdm_conn_table_create(c, "ghost", two_cols, 2));
    CHECK(mdm_conn_rollback(c));
    bool exists = true;
    CHECK(mdm_conn_table_exists(c, "ghost", &exists));
    assert_false(exists);
    mdm_batch_free(b);
    fixture_checkin(c);
}

static void append_checks_batch_shape(void **state)
{
    (void)state;
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_table_create(c, "t", two_cols, 2));
    /* Wrong type in the second column: refused, nothing written. */
    static const mdm_field wrong[] = {{"id", MDM_TYPE_INT64}, {"name", MDM_TYPE_FLOAT64}};
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, wrong, 2, 4));
    size_t r;
    CHECK(mdm_batch_add_row(b, &r));
    mdm_batch_set_int64(b, 0, r, 1);
    mdm_batch_set_float64(b, 1, r, 1.5);
    assert_int_equal(mdm_conn_append(c, "t", b), MDM_EINVALID);
    mdm_batch_free(b);
    /* Wrong column count. */
    CHECK(mdm_batch_new(&b, two_cols, 1, 4));
    CHECK(mdm_batch_add_row(b, &r));
    mdm_batch_set_int64(b, 0, r, 1);
    assert_int_equal(mdm_conn_append(c, "t", b), MDM_EINVALID);
    mdm_batch_free(b);
    /* Missing table. */
    b = make_rows(3, 0);
    assert_int_not_equal(mdm_conn_append(c, "nope", b), 0);
    mdm_batch_free(b);
    fixture_checkin(c);
    c = fixture_checkout();
    assert_int_equal(count_rows(c, "t"), 0);
    fixture_checkin(c);
}

const struct CMUnitTest lifecycle_tests[] = {
    cmocka_unit_test_setup_teardown(dataset_lifecycle, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(table_lifecycle, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(every_type_in_schema, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(metadata_get_set, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(rollback_leaves_nothing, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(append_checks_batch_shape, fixture_setup, fixture_teardown),
};
const size_t lifecycle_ntests = sizeof lifecycle_tests / sizeof lifecycle_tests[0];
