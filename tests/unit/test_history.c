/* Operation history (mdm_history_*, mdm/dataset.h): many threads and a forked child
 * recording at once, what list/summary/cleanup return, history.enabled, and a note
 * that cannot be written never changing the outcome or the error of the operation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mdm/dataset.h"
#include "mdm/mdm.h"

#define CHECK(expr)                                                                        \
    do {                                                                                   \
        int rc_ = (expr);                                                                  \
        if (rc_)                                                                           \
            fail_msg("%s: %s", #expr, mdm_error_last()->message);                          \
    } while (0)

#define THREADS 8
#define PER_THREAD 150

static mdm_config *load_home(char *dir)
{
    assert_non_null(mkdtemp(dir));
    mdm_config *cfg = NULL;
    CHECK(mdm_config_load(&cfg, dir));
    return cfg;
}

static void remove_home(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static json_t *list(const mdm_config *cfg, const mdm_history_filter *f)
{
    char *text = NULL;
    CHECK(mdm_history_list(&text, cfg, f));
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(doc);
    return doc;
}

static size_t count_ops(const mdm_config *cfg, const char *dataset)
{
    mdm_history_filter f = {.dataset = dataset};
    json_t *doc = list(cfg, &f);
    size_t n = json_array_size(json_object_get(doc, "operations"));
    json_decref(doc);
    return n;
}

typedef struct worker {
    const mdm_config *cfg;
    pthread_barrier_t *start;
    int failures;
} worker;

static void *record_many(void *p)
{
    worker *w = p;
    pthread_barrier_wait(w->start);
    for (int i = 0; i < PER_THREAD; i++) {
        mdm_history_op op = {.type = "dataset_read", .dataset = "threads", .duration_ms = 1,
                             .rows = i, .bytes = -1, .ok = true};
        if (mdm_history_record(w->cfg, &op) != 0)
            w->failures++;
    }
    return NULL;
}

static void test_threads_record_at_once(void **state)
{
    (void)state;
    char dir[] = "/tmp/mdm-test-history-XXXXXX";
    mdm_config *cfg = load_home(dir);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    pthread_t t[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.cfg = cfg, .start = &start};
        assert_int_equal(pthread_create(&t[i], NULL, record_many, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(count_ops(cfg, "threads"), THREADS * PER_THREAD);
    mdm_config_free(cfg);
    remove_home(dir);
}

/* A child forked while the parent's connection is open records through its own, at
 * the same time as the parent (two processes on one file). */
static void test_fork_records_beside_parent(void **state)
{
    (void)state;
    char dir[] = "/tmp/mdm-test-history-XXXXXX";
    mdm_config *cfg = load_home(dir);
    mdm_history_op op = {.type = "dataset_stats", .dataset = "parent", .rows = -1, .bytes = -1,
                         .ok = true};
    CHECK(mdm_history_record(cfg, &op)); /* the parent's connection is open */
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(2);
        mdm_history_op mine = {.type = "dataset_stats", .dataset = "child", .rows = -1,
                               .bytes = -1, .ok = true};
        for (int i = 0; i < 200; i++)
            if (mdm_history_record(cfg, &mine) != 0)
                _exit(1);
        _exit(0);
    }
    close(go[0]);
    assert_int_equal(write(go[1], "x", 1), 1); /* both start now */
    close(go[1]);
    for (int i = 0; i < 200; i++)
        CHECK(mdm_history_record(cfg, &op));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(count_ops(cfg, "parent"), 201);
    assert_int_equal(count_ops(cfg, "child"), 200);
    mdm_config_free(cfg);
    remove_home(dir);
}

static void test_list_summary_cleanup(void **state)
{
    (void)state;
    char dir[] = "/tmp/mdm-test-history-XXXXXX";
    mdm_config *cfg = load_home(dir);
    /* No history yet: empty answers, no file made. */
    json_t *doc = list(cfg, NULL);
    assert_int_equal(json_array_size(json_object_get(doc, "operations")), 0);
    json_decref(doc);
    char path[256];
    snprintf(path, sizeof path, "%s/metrics.db", dir);
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t us = (int64_t)now.tv_sec * 1000000;
    mdm_history_op ops[] = {
        {.type = "dataset_register", .dataset = "a", .started_at = us - INT64_C(40) * 86400 * 1000000,
         .duration_ms = 5, .rows = 10, .bytes = 100, .ok = true},
        {.type = "dataset_export", .dataset = "a", .started_at = us, .duration_ms = 2.5,
         .rows = 10, .bytes = 50, .ok = true},
        {.type = "dataset_register", .dataset = "b", .started_at = us, .duration_ms = 1,
         .rows = -1, .bytes = -1, .ok = false, .error = "Path does not exist: /x"},
    };
    for (size_t i = 0; i < 3; i++)
        CHECK(mdm_history_record(cfg, &ops[i]));
    assert_int_equal(stat(path, &st), 0);

    mdm_history_filter f = {.limit = 1};
    doc = list(cfg, &f);
    json_t *ops_json = json_object_get(doc, "operations");
    assert_int_equal(json_array_size(ops_json), 1);
    json_t *op = json_array_get(ops_json, 0);
    assert_string_equal(json_string_value(json_object_get(op, "type")), "dataset_register");
    assert_string_equal(json_string_value(json_object_get(op, "outcome")), "error");
    assert_string_equal(json_string_value(json_object_get(op, "error")), "Path does not exist: /x");
    assert_true(json_is_null(json_object_get(op, "rows")));
    json_decref(doc);
    f = (mdm_history_filter){.type = "dataset_export", .dataset = "A"};
    doc = list(cfg, &f);
    op = json_array_get(json_object_get(doc, "operations"), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "operations")), 1);
    assert_int_equal(json_integer_value(json_object_get(op, "bytes")), 50);
    assert_true(json_is_null(json_object_get(op, "error")));
    json_decref(doc);

    char *text = NULL;
    CHECK(mdm_history_summary(&text, cfg, NULL));
    doc = json_loads(text, 0, NULL);
    free(text);
    assert_int_equal(json_integer_value(json_object_get(doc, "total")), 3);
    assert_int_equal(json_integer_value(json_object_get(doc, "datasets")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "by_type"), "dataset_register")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "by_outcome"), "error")), 1);
    assert_int_equal(json_integer_value(json_object_get(doc, "bytes")), 150);
    json_decref(doc);
    CHECK(mdm_history_summary(&text, cfg, "a"));
    doc = json_loads(text, 0, NULL);
    free(text);
    assert_int_equal(json_integer_value(json_object_get(doc, "total")), 2);
    json_decref(doc);

    int64_t removed = -1;
    CHECK(mdm_history_cleanup(&removed, cfg, 30));
    assert_int_equal(removed, 1);
    CHECK(mdm_history_cleanup(&removed, cfg, 0));
    assert_int_equal(removed, 2);
    assert_int_equal(count_ops(cfg, NULL), 0);
    mdm_config_free(cfg);
    remove_home(dir);
}

static void test_disabled_records_nothing(void **state)
{
    (void)state;
    char dir[] = "/tmp/mdm-test-history-XXXXXX";
    setenv("MDM_HISTORY_ENABLED", "false", 1);
    mdm_config *cfg = load_home(dir);
    unsetenv("MDM_HISTORY_ENABLED");
    mdm_catalog *cat = NULL;
    CHECK(mdm_catalog_open(&cat, cfg));
    assert_int_equal(mdm_catalog_remove(cat, "missing"), MDM_ENOTFOUND);
    mdm_history_op op = {.type = "dataset_read", .rows = -1, .bytes = -1, .ok = true};
    CHECK(mdm_history_record(cfg, &op));
    char path[256];
    snprintf(path, sizeof path, "%s/metrics.db", dir);
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);
    mdm_catalog_free(cat);
    mdm_config_free(cfg);
    remove_home(dir);
}

/* The history cannot be written (metrics.db is a directory): the operation's result
 * and error message are those it would have had anyway. */
static void test_unwritable_history_keeps_the_operation(void **state)
{
    (void)state;
    char dir[] = "/tmp/mdm-test-history-XXXXXX";
    mdm_config *cfg = load_home(dir);
    mdm_catalog *cat = NULL;
    CHECK(mdm_catalog_open(&cat, cfg));
    assert_int_equal(mdm_catalog_remove(cat, "missing"), MDM_ENOTFOUND);
    char expected[1024];
    snprintf(expected, sizeof expected, "%s", mdm_error_last()->message);
    /* Recorded with the same message. */
    json_t *doc = list(cfg, NULL);
    json_t *op = json_array_get(json_object_get(doc, "operations"), 0);
    assert_string_equal(json_string_value(json_object_get(op, "type")), "dataset_remove");
    assert_string_equal(json_string_value(json_object_get(op, "dataset")), "missing");
    assert_string_equal(json_string_value(json_object_get(op, "error")), expected);
    json_decref(doc);
    mdm_catalog_free(cat);
    mdm_config_free(cfg);
    remove_home(dir);

    char dir2[] = "/tmp/mdm-test-history-XXXXXX";
    cfg = load_home(dir2);
    char path[256];
    snprintf(path, sizeof path, "%s/metrics.db", dir2);
    assert_int_equal(mkdir(path, 0700), 0);
    CHECK(mdm_catalog_open(&cat, cfg));
    assert_int_equal(mdm_catalog_remove(cat, "missing"), MDM_ENOTFOUND);
    assert_int_equal(mdm_error_last()->code, MDM_ENOTFOUND);
    assert_string_equal(mdm_error_last()->message, expected);
    mdm_history_op op2 = {.type = "dataset_read", .rows = -1, .bytes = -1, .ok = true};
    assert_int_not_equal(mdm_history_record(cfg, &op2), 0);
    mdm_catalog_free(cat);
    mdm_config_free(cfg);
    remove_home(dir2);
}

static int count_rows(const mdm_batch *b, void *ctx)
{
    *(size_t *)ctx += mdm_batch_nrows(b);
    return 0;
}

/* Every public call that reads or changes a dataset leaves one operation. */
static void test_api_calls_recorded(void **state)
{
    (void)state;
    char dir[] = "/tmp/mdm-test-history-XXXXXX";
    mdm_config *cfg = load_home(dir);
    char csv[300];
    snprintf(csv, sizeof csv, "%s/t.csv", dir);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fputs("a,b\n1,x\n2,y\n3,z\n", f);
    fclose(f);
    mdm_catalog *cat = NULL;
    CHECK(mdm_catalog_open(&cat, cfg));
    mdm_dataset_info *info = NULL;
    mdm_register_options ro = {.name = "Calls", .path = csv, .backend = "sqlite"};
    CHECK(mdm_dataset_register(&info, NULL, cat, &ro));
    mdm_dataset_info_free(info);
    mdm_dataset *ds = NULL;
    CHECK(mdm_dataset_open(&ds, cat, "calls"));
    size_t rows = 0;
    mdm_table_read rr = {.table = "data", .limit = -1};
    CHECK(mdm_dataset_read(ds, &rr, count_rows, &rows));
    assert_int_equal(rows, 3);
    CHECK(mdm_dataset_query(ds, "SELECT COUNT(*) FROM data", NULL, count_rows, &rows));
    assert_int_not_equal(mdm_dataset_query(ds, "DELETE FROM data", NULL, count_rows, &rows), 0);
    char *doc = NULL;
    CHECK(mdm_dataset_stats(&doc, ds, NULL));
    free(doc);
    mdm_dataset_close(ds);
    mdm_dataset_changes ch = {.description = "d"};
    CHECK(mdm_catalog_update(NULL, cat, "calls", &ch));
    CHECK(mdm_catalog_remove(cat, "calls"));

    json_t *ops = list(cfg, NULL);
    const char *expected[][2] = {{"dataset_remove", "ok"}, {"dataset_update", "ok"},
                                 {"dataset_stats", "ok"},  {"query_execution", "error"},
                                 {"query_execution", "ok"}, {"dataset_read", "ok"},
                                 {"dataset_register", "ok"}};
    json_t *arr = json_object_get(ops, "operations");
    assert_int_equal(json_array_size(arr), 7);
    for (size_t i = 0; i < 7; i++) {
        json_t *op = json_array_get(arr, i);
        assert_string_equal(json_string_value(json_object_get(op, "type")), expected[i][0]);
        assert_string_equal(json_string_value(json_object_get(op, "outcome")), expected[i][1]);
        assert_string_equal(json_string_value(json_object_get(op, "dataset")), "calls");
    }
    assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 6), "rows")), 3);
    json_decref(ops);
    mdm_catalog_free(cat);
    mdm_config_free(cfg);
    remove_home(dir);
}

int main(void)
{
    mdm_log_set_stderr_level(MDM_LOG_CRITICAL); /* the expected "not recorded" warnings */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_calls_recorded),
        cmocka_unit_test(test_threads_record_at_once),
        cmocka_unit_test(test_fork_records_beside_parent),
        cmocka_unit_test(test_list_summary_cleanup),
        cmocka_unit_test(test_disabled_records_nothing),
        cmocka_unit_test(test_unwritable_history_keeps_the_operation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
