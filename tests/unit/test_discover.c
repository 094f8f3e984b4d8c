/* Finding a dataset's files, and guessing IDs, target and problem type. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset/detect.h"
#include "dataset/discover.h"

static char root[] = "/tmp/mdm-test-discover-XXXXXX";

static void touch(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", root, dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("a,b\n1,2\n", f);
    fclose(f);
}

static const char *make_dir(const char *dir)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", root, dir);
    mkdir(path, 0755);
    return path;
}

static void single_file_is_data(void **state)
{
    (void)state;
    make_dir("single");
    touch("single", "Titanic Passengers.csv");
    char path[512];
    snprintf(path, sizeof path, "%s/single/Titanic Passengers.csv", root);
    discovery d;
    assert_int_equal(discover(&d, path), 0);
    assert_int_equal(d.nfiles, 1);
    assert_string_equal(d.files[0].table, "data");
    assert_int_equal(d.files[0].format, IO_FORMAT_CSV);
    assert_false(d.is_directory);
    discovery_free(&d);
}

static void kaggle_layout(void **state)
{
    (void)state;
    const char *dir = make_dir("kaggle");
    touch("kaggle", "train.csv");
    touch("kaggle", "test.csv");
    touch("kaggle", "sample_submission.csv");
    touch("kaggle", "data_description.txt");
    touch("kaggle", "extra.csv");
    discovery d;
    assert_int_equal(discover(&d, dir), 0);
    assert_true(d.kaggle);
    assert_int_equal(d.nfiles, 3);
    /* Registration order: train first. */
    assert_string_equal(d.files[0].table, "train");
    assert_string_equal(d.files[1].table, "test");
    assert_string_equal(d.files[2].table, "sample_submission");
    assert_int_equal(d.nskipped, 2); /* data_description.txt, extra.csv */
    discovery_free(&d);
}

static void stems_and_formats(void **state)
{
    (void)state;
    const char *dir = make_dir("stems");
    touch("stems", "Training.csv.gz");
    touch("stems", "val.parquet");
    touch("stems", "testing.TSV");
    discovery d;
    assert_int_equal(discover(&d, dir), 0);
    assert_false(d.kaggle);
    assert_int_equal(d.nfiles, 3);
    assert_string_equal(d.files[0].table, "train");
    assert_true(d.files[0].gzip);
    assert_string_equal(d.files[1].table, "validation");
    assert_int_equal(d.files[1].format, IO_FORMAT_PARQUET);
    assert_string_equal(d.files[2].table, "test");
    assert_int_equal(d.files[2].format, IO_FORMAT_TSV);
    discovery_free(&d);
}

static void other_files_become_tables_by_stem(void **state)
{
    (void)state;
    const char *dir = make_dir("plain");
    touch("plain", "customers.csv");
    touch("plain", "orders.json");
    touch("plain", "notes.txt");
    touch("plain", ".hidden.csv");
    discovery d;
    assert_int_equal(discover(&d, dir), 0);
    assert_int_equal(d.nfiles, 2);
    assert_string_equal(d.files[0].table, "customers");
    assert_string_equal(d.files[1].table, "orders");
    assert_int_equal(d.nskipped, 1);
    discovery_free(&d);
}

static void errors_say_what_and_where(void **state)
{
    (void)state;
    discovery d;
    assert_int_equal(discover(&d, "/nonexistent/place"), MDM_ENOTFOUND);
    assert_string_equal(mdm_error_last()->message, "Path does not exist: /nonexistent/place");
    const char *dir = make_dir("empty");
    assert_int_equal(discover(&d, dir), MDM_ENOTFOUND);
    char want[600];
    snprintf(want, sizeof want, "No data files found in %s", dir);
    assert_string_equal(mdm_error_last()->message, want);
    dir = make_dir("clash");
    touch("clash", "train.csv");
    touch("clash", "train.parquet");
    assert_int_equal(discover(&d, dir), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "two files would both be table 'train'"));
    make_dir("notdata");
    touch("notdata", "readme.txt");
    char path[512];
    snprintf(path, sizeof path, "%s/notdata/readme.txt", root);
    assert_int_equal(discover(&d, path), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "is not a data file"));
    /* A relative path that does not exist is reported absolute. */
    assert_int_equal(discover(&d, "no-such-dir"), MDM_ENOTFOUND);
    assert_true(mdm_error_last()->message[strlen("Path does not exist: ")] == '/');
}

static void id_names(void **state)
{
    (void)state;
    const char *ids[] = {"id", "ID", "user_id", "id_user", "index", "idx", "row_idx", "key",
                         "order_key", "pk", "item_PK"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        assert_true(detect_id_name(ids[i]));
    const char *not_ids[] = {"paid", "valid", "width", "idea", "keyboard", "monkey", "_id"};
    for (size_t i = 0; i < sizeof not_ids / sizeof not_ids[0]; i++)
        assert_false(detect_id_name(not_ids[i]));
    /* "userid" is an ID only when unique; "paid" never by name alone. */
    column_profile c = {.name = "CustomerID", .type = MDM_TYPE_INT64, .rows = 10, .distinct = 10,
                        .distinct_cap = 100, .all_unique = true};
    assert_true(detect_is_id(&c));
    c.all_unique = false;
    assert_false(detect_is_id(&c));
    c = (column_profile){.name = "paid", .type = MDM_TYPE_BOOL, .rows = 10, .distinct = 2};
    assert_false(detect_is_id(&c));
}

static void submission_target(void **state)
{
    (void)state;
    const char *h1[] = {"PassengerId", "Survived"};
    assert_string_equal(detect_submission_target(h1, 2), "Survived");
    const char *h2[] = {"id", "target", "row_id"};
    assert_string_equal(detect_submission_target(h2, 3), "target");
    const char *h3[] = {"id"};
    assert_null(detect_submission_target(h3, 1));
}

static void problem_types(void **state)
{
    (void)state;
    column_profile t = {.name = "Survived", .type = MDM_TYPE_INT64, .rows = 891, .distinct = 2,
                        .distinct_cap = 100, .only_zero_one = true};
    assert_int_equal(detect_problem_type(&t), PROBLEM_BINARY);
    t = (column_profile){.name = "SalePrice", .type = MDM_TYPE_INT64, .rows = 1460,
                         .distinct = 101, .distinct_cap = 100};
    assert_int_equal(detect_problem_type(&t), PROBLEM_REGRESSION);
    t = (column_profile){.name = "species", .type = MDM_TYPE_TEXT, .rows = 150, .distinct = 3,
                         .distinct_cap = 100};
    assert_int_equal(detect_problem_type(&t), PROBLEM_MULTICLASS);
    t = (column_profile){.name = "digit", .type = MDM_TYPE_INT64, .rows = 50, .distinct = 10,
                         .distinct_cap = 100};
    assert_int_equal(detect_problem_type(&t), PROBLEM_MULTICLASS);
    t = (column_profile){.name = "y", .type = MDM_TYPE_FLOAT64, .rows = 1000, .distinct = 101,
                         .distinct_cap = 100};
    assert_int_equal(detect_problem_type(&t), PROBLEM_REGRESSION);
    t = (column_profile){.name = "comment", .type = MDM_TYPE_TEXT, .rows = 1000, .distinct = 101,
                         .distinct_cap = 100};
    assert_int_equal(detect_problem_type(&t), PROBLEM_NONE);
    t = (column_profile){.name = "label", .type = MDM_TYPE_TEXT, .rows = 1000, .distinct = 101,
                         .distinct_cap = 100};
    assert_int_equal(detect_problem_type(&t), PROBLEM_MULTICLASS);
    problem_type p;
    assert_int_equal(problem_type_parse(&p, "Regression"), 0);
    assert_int_equal(p, PROBLEM_REGRESSION);
    assert_int_equal(problem_type_parse(&p, "ranking"), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "Invalid problem type 'ranking'"));
    assert_string_equal(problem_type_name(PROBLEM_MULTICLASS), "multiclass_classification");
}

int main(void)
{
    if (!mkdtemp(root))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_file_is_data),  cmocka_unit_test(kaggle_layout),
        cmocka_unit_test(stems_and_formats),    cmocka_unit_test(other_files_become_tables_by_stem),
        cmocka_unit_test(errors_say_what_and_where), cmocka_unit_test(id_names),
        cmocka_unit_test(submission_target),    cmocka_unit_test(problem_types),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return rc;
}
