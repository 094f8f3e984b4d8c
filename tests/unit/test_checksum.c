/* The digests of checksum.h and mdm_dataset_verify on every backend (PostgreSQL when
 * scripts/test-postgres provides a server; skipped with exit 77 otherwise unless
 * MDM_REQUIRE_POSTGRES=1): digests do not depend on row order or batching, canonical
 * float forms, a swap of two values of one column between two rows is caught by the
 * table digest only; and verify catches one changed value, one deleted row, one added
 * row and such a swap, made behind mdm's back through the engine. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"
#include "dataset/checksum.h"
#include "mdm/dataset.h"
#include "mdm/mdm.h"

#define CHECK(expr)                                                                        \
    do {                                                                                   \
        int rc_ = (expr);                                                                  \
        if (rc_)                                                                           \
            fail_msg("%s: %s", #expr, mdm_error_last()->message);                          \
    } while (0)

/* ------------------------------------------------------------------ digests alone */

static const mdm_field fields[] = {{"id", MDM_TYPE_INT64}, {"x", MDM_TYPE_FLOAT64},
                                   {"s", MDM_TYPE_TEXT}};

typedef struct row {
    int64_t id;
    double x;
    const char *s; /* NULL: NULL */
} row;

/* Digests of `rows` in the given order, `per_batch` rows a batch. */
static checksum *digest(const row *rows, size_t n, const size_t *order, size_t per_batch)
{
    checksum *cs = NULL;
    mdm_batch *b = NULL;
    CHECK(checksum_new(&cs, fields, 3));
    CHECK(mdm_batch_new(&b, fields, 3, per_batch));
    for (size_t i = 0; i < n; i++) {
        const row *rw = &rows[order ? order[i] : i];
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, rw->id);
        mdm_batch_set_float64(b, 1, r, rw->x);
        if (rw->s)
            CHECK(mdm_batch_set_text(b, 2, r, rw->s, strlen(rw->s)));
        if (mdm_batch_nrows(b) == per_batch || i + 1 == n) {
            CHECK(checksum_add_batch(cs, b));
            mdm_batch_clear(b);
        }
    }
    mdm_batch_free(b);
    return cs;
}

static void hex(const checksum *cs, size_t col, char *buf)
{
    checksum_hex(cs, col, buf);
    assert_int_equal(strlen(buf), CHECKSUM_HEX_LEN);
}

static bool same(const checksum *a, const checksum *b, size_t col)
{
    char ha[CHECKSUM_HEX_LEN + 1], hb[CHECKSUM_HEX_LEN + 1];
    hex(a, col, ha);
    hex(b, col, hb);
    return strcmp(ha, hb) == 0;
}

#define TABLE ((size_t)-1)

static void order_and_batching_do_not_matter(void **state)
{
    row rows[] = {{1, 0.5, "a"}, {2, NAN, NULL}, {3, -1e300, ""}, {4, 2.0, "dd"}, {5, 0.5, "a"}};
    size_t reversed[] = {4, 3, 2, 1, 0};
    checksum *a = digest(rows, 5, NULL, 2), *b = digest(rows, 5, reversed, 3);
    for (size_t c = 0; c < 3; c++)
        assert_true(same(a, b, c));
    assert_true(same(a, b, TABLE));
    assert_int_equal(checksum_rows(a), 5);
    json_t *j = checksum_to_json(a);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "rows")), 5);
    assert_string_equal(json_string_value(json_object_get(j, "algorithm")), CHECKSUM_ALGORITHM);
    assert_int_equal(json_object_size(json_object_get(j, "columns")), 3);
    json_decref(j);
    checksum_free(a);
    checksum_free(b);
}

static void canonical_values(void **state)
{
    /* every NaN is one value; -0.0 is 0.0; NULL text is not the empty string */
    row r1[] = {{1, NAN, NULL}, {2, 0.0, "x"}};
    row r2[] = {{1, -NAN, NULL}, {2, -0.0, "x"}};
    row r3[] = {{1, NAN, ""}, {2, 0.0, "x"}};
    checksum *a = digest(r1, 2, NULL, 8), *b = digest(r2, 2, NULL, 8), *c = digest(r3, 2, NULL, 8);
    assert_true(same(a, b, 1));
    assert_true(same(a, b, TABLE));
    assert_false(same(a, c, 2));
    assert_false(same(a, c, TABLE));
    /* one changed value changes its column and the table, and nothing else */
    row r4[] = {{1, NAN, NULL}, {2, 0.25, "x"}};
    checksum *d = digest(r4, 2, NULL, 8);
    assert_true(same(a, d, 0));
    assert_false(same(a, d, 1));
    assert_true(same(a, d, 2));
    assert_false(same(a, d, TABLE));
    checksum_free(a);
    checksum_free(b);
    checksum_free(c);
    checksum_free(d);
}

static void swap_in_one_column_changes_only_the_table(void **state)
{
    row r1[] = {{1, 1.5, "a"}, {2, 2.5, "b"}, {3, 3.5, "c"}};
    row r2[] = {{1, 1.5, "b"}, {2, 2.5, "a"}, {3, 3.5, "c"}};
    checksum *a = digest(r1, 3, NULL, 8), *b = digest(r2, 3, NULL, 8);
    for (size_t c = 0; c < 3; c++)
        assert_true(same(a, b, c));
    assert_false(same(a, b, TABLE));
    checksum_free(a);
    checksum_free(b);
}

static void mismatched_batch_is_refused(void **state)
{
    checksum *cs = NULL;
    mdm_batch *b = NULL;
    const mdm_field other[] = {{"id", MDM_TYPE_TEXT}, {"x", MDM_TYPE_FLOAT64}, {"s", MDM_TYPE_TEXT}};
    CHECK(checksum_new(&cs, fields, 3));
    CHECK(mdm_batch_new(&b, other, 3, 1));
    assert_int_equal(checksum_add_batch(cs, b), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "'id'"));
    mdm_batch_free(b);
    checksum_free(cs);
}

/* ------------------------------------------------------------------ verify per backend */

static char home[] = "/tmp/mdm-test-checksum-XXXXXX";
static char csv_path[700];
static mdm_config *cfg;
static mdm_catalog *cat;
static const char *backend;

/* id,score,label,day: 20 rows, label i % 3. */
static void write_csv(void)
{
    FILE *f = fopen(csv_path, "w");
    assert_non_null(f);
    fputs("id,score,label,day\n", f);
    for (int i = 0; i < 20; i++)
        fprintf(f, "%d,%.2f,l%d,2024-01-%02d\n", i, i * 0.5, i % 3, i % 28 + 1);
    fclose(f);
}

/* Registers `name`, changes it with `sql` through its engine (NULL: not at all), and
 * verifies. */
static mdm_verify_result *tamper_and_verify(const char *name, const char *sql)
{
    mdm_register_options o = {.name = name, .path = csv_path, .backend = backend, .force = true};
    mdm_dataset_info *info = NULL;
    CHECK(mdm_dataset_register(&info, NULL, cat, &o));
    mdm_dataset_info_free(info);
    mdm_dataset *ds = NULL;
    CHECK(mdm_dataset_open(&ds, cat, name));
    if (sql) {
        mdm_store *store = NULL;
        mdm_conn *conn = NULL;
        int64_t changes = 0;
        CHECK(mdm_dataset_store(&store, ds));
        CHECK(mdm_store_checkout(store, &conn));
        CHECK(mdm_conn_execute(conn, sql, NULL, 0, NULL, NULL, &changes));
        mdm_store_checkin(store, conn);
        assert_true(changes > 0);
    }
    mdm_verify_result *res = NULL;
    CHECK(mdm_dataset_verify(&res, ds, NULL));
    mdm_dataset_close(ds);
    CHECK(mdm_catalog_remove(cat, name));
    assert_int_equal(res->count, 1);
    assert_string_equal(res->tables[0].table, "data");
    assert_false(res->tables[0].recorded);
    return res;
}

static bool lists(const mdm_verify_table *t, const char *column)
{
    for (size_t i = 0; i < t->columns.count; i++)
        if (strcmp(t->columns.items[i], column) == 0)
            return true;
    return false;
}

static void untouched_verifies(void **state)
{
    mdm_verify_result *res = tamper_and_verify("untouched", NULL);
    assert_true(res->ok);
    assert_true(res->tables[0].ok);
    assert_int_equal(res->tables[0].actual_rows, 20);
    assert_int_equal(res->tables[0].columns.count, 0);
    mdm_verify_result_free(res);
}

static void changed_value(void **state)
{
    mdm_verify_result *res = tamper_and_verify("changed", "UPDATE data SET score = 999.5 WHERE id = 3");
    const mdm_verify_table *t = &res->tables[0];
    assert_false(res->ok);
    assert_int_equal(t->expected_rows, t->actual_rows);
    assert_int_equal(t->columns.count, 1);
    assert_true(lists(t, "score"));
    assert_true(t->table_differs);
    mdm_verify_result_free(res);
}

static void deleted_row(void **state)
{
    mdm_verify_result *res = tamper_and_verify("deleted", "DELETE FROM data WHERE id = 5");
    const mdm_verify_table *t = &res->tables[0];
    assert_false(res->ok);
    assert_int_equal(t->expected_rows, 20);
    assert_int_equal(t->actual_rows, 19);
    assert_int_equal(t->columns.count, 4);
    mdm_verify_result_free(res);
}

static void added_row(void **state)
{
    mdm_verify_result *res =
        tamper_and_verify("added", "INSERT INTO data SELECT * FROM data WHERE id = 7");
    const mdm_verify_table *t = &res->tables[0];
    assert_false(res->ok);
    assert_int_equal(t->actual_rows, 21);
    assert_true(t->table_differs);
    mdm_verify_result_free(res);
}

static void swapped_pair(void **state)
{
    /* labels l1 (id 1) and l2 (id 2) change places: every column keeps its values */
    mdm_verify_result *res = tamper_and_verify(
        "swapped", "UPDATE data SET label = CASE WHEN id = 1 THEN 'l2' ELSE 'l1' END "
                   "WHERE id IN (1, 2)");
    const mdm_verify_table *t = &res->tables[0];
    assert_false(res->ok);
    assert_int_equal(t->actual_rows, 20);
    assert_int_equal(t->columns.count, 0);
    assert_true(t->table_differs);
    mdm_verify_result_free(res);
}

/* A dataset registered before digests: verify records them, then verifies. */
static void older_dataset_gets_digests(void **state)
{
    mdm_register_options o = {.name = "older", .path = csv_path, .backend = backend, .force = true};
    mdm_dataset_info *info = NULL;
    CHECK(mdm_dataset_register(&info, NULL, cat, &o));
    mdm_dataset_info_free(info);
    /* take them out of the registry entry, as an older mdm wrote it */
    char yaml[800];
    snprintf(yaml, sizeof yaml, "%s/config/datasets/older.yaml", home);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "sed -i '/^  checksums:/,$d' '%s'", yaml);
    assert_int_equal(system(cmd), 0);
    mdm_dataset *ds = NULL;
    mdm_verify_result *res = NULL;
    CHECK(mdm_dataset_open(&ds, cat, "older"));
    assert_null(json_object_get(mdm_dataset_record(ds)->metadata_extra, "checksums"));
    CHECK(mdm_dataset_verify(&res, ds, "data"));
    assert_true(res->ok);
    assert_true(res->tables[0].recorded);
    mdm_verify_result_free(res);
    mdm_dataset_close(ds);
    CHECK(mdm_dataset_open(&ds, cat, "older"));
    CHECK(mdm_dataset_verify(&res, ds, NULL));
    assert_true(res->ok);
    assert_false(res->tables[0].recorded);
    mdm_verify_result_free(res);
    assert_int_equal(mdm_dataset_verify(&res, ds, "nope"), MDM_ENOTFOUND);
    mdm_dataset_close(ds);
    CHECK(mdm_catalog_remove(cat, "older"));
}

static int run(const char *b)
{
    backend = b;
    char group[48];
    snprintf(group, sizeof group, "checksum/%s", b);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(untouched_verifies), cmocka_unit_test(changed_value),
        cmocka_unit_test(deleted_row),        cmocka_unit_test(added_row),
        cmocka_unit_test(swapped_pair),       cmocka_unit_test(older_dataset_gets_digests),
    };
    return _cmocka_run_group_tests(group, tests, sizeof tests / sizeof tests[0], NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest digests[] = {
        cmocka_unit_test(order_and_batching_do_not_matter),
        cmocka_unit_test(canonical_values),
        cmocka_unit_test(swap_in_one_column_changes_only_the_table),
        cmocka_unit_test(mismatched_batch_is_refused),
    };
    int failed = cmocka_run_group_tests_name("checksum/digests", digests, NULL, NULL);
    if (!mkdtemp(home) || mdm_config_defaults(&cfg, home) != 0)
        return 1;
    snprintf(csv_path, sizeof csv_path, "%s/data.csv", home);
    write_csv();
    char prefix[64];
    snprintf(prefix, sizeof prefix, "cks%ld_", (long)getpid());
    const char *pg = getenv("MDM_TEST_PG_CONNINFO");
    bool have_pg = pg && *pg;
    if (have_pg) {
        static const char *const keys[][2] = {
            {"database.postgresql.host", "MDM_TEST_PG_HOST"},
            {"database.postgresql.port", "MDM_TEST_PG_PORT"},
            {"database.postgresql.user", "MDM_TEST_PG_USER"},
            {"database.postgresql.password", "MDM_TEST_PG_PASSWORD"},
            {"database.postgresql.database", "MDM_TEST_PG_DATABASE"},
        };
        for (size_t i = 0; i < 5; i++)
            if (mdm_config_set(cfg, keys[i][0], getenv(keys[i][1])) != 0)
                return 1;
        if (mdm_config_set(cfg, "database.postgresql.database_prefix", prefix) != 0)
            return 1;
    }
    if (mdm_catalog_open(&cat, cfg) != 0)
        return 1;
    failed += run("sqlite") + run("duckdb");
    if (have_pg) {
        failed += run("postgresql");
    } else {
        const char *req = getenv("MDM_REQUIRE_POSTGRES");
        fprintf(stderr, "MDM_TEST_PG_CONNINFO is not set: PostgreSQL not tested\n");
        if (req && strcmp(req, "1") == 0)
            failed++;
        else if (!failed)
            failed = -1; /* exit 77: skipped in part */
    }
    mdm_catalog_free(cat);
    mdm_config_free(cfg);
    if (mdm_fs_remove_tree(home) != 0)
        fprintf(stderr, "%s\n", mdm_error_last()->message);
    return failed < 0 ? 77 : failed ? 1 : 0;
}
