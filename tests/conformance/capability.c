/* What a backend's table says of it holds: savepoints, column and identifier limits,
 * dataset rename and listing on schema backends. Each test runs where the capability is
 * claimed and is skipped elsewhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance/fixture.h"
#include "mdm/sys/backend.h"
#include "storage/conn_datasets.h"

static const mdm_field one_col[] = {{"id", MDM_TYPE_INT64}};

static const mdm_backend *backend(void) { return mdm_backend_find(fx.backend); }

static mdm_batch *ids(int64_t first, size_t n)
{
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, one_col, 1, n));
    for (size_t i = 0; i < n; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, first + (int64_t)i);
    }
    return b;
}

static void savepoints_undo_part_of_a_transaction(void **state)
{
    (void)state;
    need_caps(MDM_BACKEND_CAP_SAVEPOINTS | MDM_BACKEND_CAP_SQL);
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_table_create(c, "t", one_col, 1));
    mdm_batch *b = ids(0, 10);
    CHECK(mdm_conn_begin(c));
    CHECK(mdm_conn_append(c, "t", b));
    CHECK(mdm_conn_execute(c, "SAVEPOINT half", NULL, 0, NULL, NULL, NULL));
    CHECK(mdm_conn_append(c, "t", b));
    assert_int_equal(count_rows(c, "t"), 20);
    CHECK(mdm_conn_execute(c, "ROLLBACK TO SAVEPOINT half", NULL, 0, NULL, NULL, NULL));
    assert_true(mdm_conn_in_transaction(c));
    CHECK(mdm_conn_commit(c));
    assert_false(mdm_conn_in_transaction(c));
    assert_int_equal(count_rows(c, "t"), 10);
    mdm_batch_free(b);
    fixture_checkin(c);
}

static void column_limit_is_the_engines(void **state)
{
    (void)state;
    int max = backend()->max_columns;
    if (max <= 0)
        skip();
    mdm_field *fields = calloc((size_t)max + 1, sizeof *fields);
    char(*names)[16] = calloc((size_t)max + 1, sizeof *names);
    assert_non_null(fields);
    assert_non_null(names);
    for (int i = 0; i <= max; i++) {
        snprintf(names[i], sizeof names[i], "c%d", i);
        fields[i] = (mdm_field){names[i], MDM_TYPE_INT64};
    }
    mdm_conn *c = fixture_checkout();
    assert_int_equal(mdm_conn_table_create(c, "too_wide", fields, (size_t)max + 1),
                     MDM_ECONSTRAINT);
    CHECK(mdm_conn_table_create(c, "widest", fields, (size_t)max));
    mdm_field *got = NULL;
    size_t n = 0;
    CHECK(mdm_conn_table_schema(c, "widest", &got, &n));
    assert_int_equal(n, (size_t)max);
    mdm_fields_free(got, n);
    fixture_checkin(c);
    free(fields);
    free(names);
}

static void identifier_limit_is_the_engines(void **state)
{
    (void)state;
    int max = backend()->max_identifier_bytes;
    if (max <= 0)
        skip();
    char name[256];
    assert_true(max < (int)sizeof name);
    memset(name, 'n', (size_t)max);
    name[max] = '\0';
    mdm_conn *c = fixture_checkout();
    CHECK(mdm_conn_table_create(c, name, one_col, 1));
    char **names = NULL;
    size_t n = 0, found = 0;
    CHECK(mdm_conn_table_list(c, &names, &n));
    for (size_t i = 0; i < n; i++) {
        found += strcmp(names[i], name) == 0; /* kept whole, not cut */
        free(names[i]);
    }
    free(names);
    assert_int_equal(found, 1);
    fixture_checkin(c);
}

/* A store on another dataset beside the fixture's (schema backends: same database). */
static mdm_store *store_on(const char *dataset)
{
    mdm_target t = {.dataset = dataset, .conninfo = getenv("MDM_TEST_PG_CONNINFO")};
    mdm_store *s = NULL;
    CHECK(mdm_store_open(&s, fx.backend, &t, fx.cfg));
    return s;
}

static void schemas_rename_and_list(void **state)
{
    (void)state;
    need_caps(MDM_BACKEND_CAP_SCHEMAS);
    char prefix[64], from[80], to[80];
    snprintf(prefix, sizeof prefix, "capren_%d_%d", (int)getpid(), fx.seq);
    snprintf(from, sizeof from, "%s.s1", prefix);
    snprintf(to, sizeof to, "%s", prefix);
    mdm_store *a = store_on(from), *b = store_on(to);
    mdm_conn *c = NULL;
    CHECK(mdm_store_checkout(a, &c));
    CHECK(mdm_conn_dataset_create(c));
    CHECK(mdm_conn_metadata_set(c, "k", "v"));
    mdm_store_checkin(a, c);

    /* Listed by prefix, under its dataset name. */
    mdm_conn *other = NULL;
    CHECK(mdm_store_checkout(b, &other));
    char **names = NULL;
    size_t n = 0;
    CHECK(mdm_conn_dataset_list(other, prefix, &names, &n));
    assert_int_equal(n, 1);
    assert_string_equal(names[0], from);
    free(names[0]);
    free(names);
    mdm_store_checkin(b, other);

    /* Renamed into place, the data moves with it. */
    CHECK(mdm_store_checkout(a, &c));
    CHECK(mdm_conn_dataset_rename(c, to));
    mdm_store_checkin(a, c);
    CHECK(mdm_store_checkout(b, &other));
    bool exists = false;
    CHECK(mdm_conn_dataset_exists(other, &exists));
    assert_true(exists);
    char *v = NULL;
    CHECK(mdm_conn_metadata_get(other, "k", &v));
    assert_string_equal(v, "v");
    free(v);
    CHECK(mdm_conn_dataset_list(other, from, &names, &n));
    assert_int_equal(n, 0);
    free(names);
    mdm_store_checkin(b, other);

    /* Renaming onto an existing dataset is EEXISTS, and changes nothing. */
    CHECK(mdm_store_checkout(a, &c));
    CHECK(mdm_conn_dataset_create(c));
    assert_int_equal(mdm_conn_dataset_rename(c, to), MDM_EEXISTS);
    CHECK(mdm_conn_dataset_drop(c));
    mdm_store_checkin(a, c);
    CHECK(mdm_store_checkout(b, &other));
    CHECK(mdm_conn_metadata_get(other, "k", &v));
    free(v);
    CHECK(mdm_conn_dataset_drop(other));
    mdm_store_checkin(b, other);
    mdm_store_free(a);
    mdm_store_free(b);
}

const struct CMUnitTest capability_tests[] = {
    cmocka_unit_test_setup_teardown(savepoints_undo_part_of_a_transaction, fixture_setup,
                                    fixture_teardown),
    cmocka_unit_test_setup_teardown(column_limit_is_the_engines, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(identifier_limit_is_the_engines, fixture_setup,
                                    fixture_teardown),
    cmocka_unit_test_setup_teardown(schemas_rename_and_list, fixture_setup, fixture_teardown),
};
const size_t capability_ntests = sizeof capability_tests / sizeof capability_tests[0];
