/* Staging places: open, write, promote, discard, and cleanup of leftovers, on every
 * backend (PostgreSQL when MDM_TEST_PG_* is set). */
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

#include "dataset/staging.h"

static mdm_config *cfg;
static char home[] = "/tmp/mdm-test-staging-XXXXXX";
static const char *backend;

#define CHECK(expr)                                                                        \
    do {                                                                                   \
        int rc_ = (expr);                                                                  \
        if (rc_)                                                                           \
            fail_msg("%s: %s", #expr, mdm_error_last()->message);                          \
    } while (0)

static const mdm_field cols[] = {{"x", MDM_TYPE_INT64}};

static void write_rows(mdm_store *store, int n)
{
    mdm_conn *c = NULL;
    CHECK(mdm_store_checkout(store, &c));
    CHECK(mdm_conn_table_create(c, "train", cols, 1));
    mdm_batch *b = NULL;
    CHECK(mdm_batch_new(&b, cols, 1, (size_t)n));
    for (int i = 0; i < n; i++) {
        size_t r;
        CHECK(mdm_batch_add_row(b, &r));
        mdm_batch_set_int64(b, 0, r, i);
    }
    CHECK(mdm_conn_append(c, "train", b));
    mdm_batch_free(b);
    mdm_store_checkin(store, c);
}

static int count_sink(const mdm_batch *b, void *ctx)
{
    *(int64_t *)ctx = mdm_batch_int64(b, 0, 0);
    return 0;
}

static int64_t final_rows(const char *name)
{
    mdm_store *s = NULL;
    CHECK(mdm_store_open_dataset(&s, backend, name, cfg));
    mdm_conn *c = NULL;
    CHECK(mdm_store_checkout(s, &c));
    int64_t n = -1;
    CHECK(mdm_conn_execute(c, "SELECT COUNT(*) FROM \"train\"", NULL, 0, count_sink, &n, NULL));
    mdm_store_checkin(s, c);
    mdm_store_free(s);
    return n;
}

static void promote_makes_the_dataset(void **state)
{
    (void)state;
    bool exists = true;
    CHECK(dataset_storage_exists(&exists, cfg, backend, "iris"));
    assert_false(exists);
    staging *st = NULL;
    CHECK(staging_open(&st, cfg, backend, "iris"));
    write_rows(staging_store(st), 150);
    /* Nothing is visible under the dataset's name until the promotion. */
    CHECK(dataset_storage_exists(&exists, cfg, backend, "iris"));
    assert_false(exists);
    CHECK(staging_promote(st));
    CHECK(dataset_storage_exists(&exists, cfg, backend, "iris"));
    assert_true(exists);
    assert_int_equal(final_rows("iris"), 150);

    /* A second staging of the same name cannot be promoted over it. */
    CHECK(staging_open(&st, cfg, backend, "iris"));
    write_rows(staging_store(st), 3);
    assert_int_equal(staging_promote(st), MDM_EEXISTS);
    staging_discard(st);
    assert_int_equal(final_rows("iris"), 150);

    CHECK(dataset_storage_remove(cfg, backend, "iris"));
    CHECK(dataset_storage_exists(&exists, cfg, backend, "iris"));
    assert_false(exists);
}

static void discard_leaves_nothing(void **state)
{
    (void)state;
    staging *st = NULL;
    CHECK(staging_open(&st, cfg, backend, "ghost"));
    write_rows(staging_store(st), 10);
    staging_discard(st);
    bool exists = true;
    CHECK(dataset_storage_exists(&exists, cfg, backend, "ghost"));
    assert_false(exists);
    char path[512];
    snprintf(path, sizeof path, "%s/datasets/.staging-ghost-%ld", home, (long)getpid());
    struct stat sb;
    assert_int_not_equal(stat(path, &sb), 0);
}

static void leftovers_of_dead_processes_are_removed(void **state)
{
    (void)state;
    /* A crashed registration's staging (pid 4000000 cannot exist: pid_max is lower). */
    char dead[512], alive[512];
    snprintf(dead, sizeof dead, "%s/datasets/.staging-crashy-4000000", home);
    snprintf(alive, sizeof alive, "%s/datasets/.staging-crashy-%ld", home, (long)getppid());
    mkdir(dead, 0755);
    mkdir(alive, 0755);
    if (strcmp(backend, "postgres") == 0) {
        mdm_store *s = NULL;
        CHECK(mdm_store_open_dataset(&s, backend, "crashy", cfg));
        mdm_conn *c = NULL;
        CHECK(mdm_store_checkout(s, &c));
        CHECK(mdm_conn_execute(c, "CREATE SCHEMA \"mdm_crashy.s4000000\"", NULL, 0, NULL, NULL, NULL));
        mdm_store_checkin(s, c);
        mdm_store_free(s);
    }
    CHECK(staging_cleanup(cfg, backend, "crashy"));
    struct stat sb;
    assert_int_not_equal(stat(dead, &sb), 0);
    assert_int_equal(stat(alive, &sb), 0); /* a live process's staging is left alone */
    rmdir(alive);
    if (strcmp(backend, "postgres") == 0) {
        mdm_store *s = NULL;
        CHECK(mdm_store_open_dataset(&s, backend, "crashy", cfg));
        mdm_conn *c = NULL;
        CHECK(mdm_store_checkout(s, &c));
        int64_t n = -1;
        CHECK(mdm_conn_execute(c, "SELECT COUNT(*) FROM pg_namespace WHERE nspname LIKE 'mdm_crashy%'",
                               NULL, 0, count_sink, &n, NULL));
        assert_int_equal(n, 0);
        mdm_store_checkin(s, c);
        mdm_store_free(s);
    }
}

static void long_names_fit_postgres_or_say_why(void **state)
{
    (void)state;
    if (strcmp(backend, "postgres") != 0)
        skip();
    char name[101];
    memset(name, 'a', 100);
    name[100] = '\0';
    staging *st = NULL;
    assert_int_equal(staging_open(&st, cfg, backend, name), MDM_EINVALID);
    assert_non_null(strstr(mdm_error_last()->message, "too long for PostgreSQL"));
}

static int run(const char *b)
{
    backend = b;
    char group[32];
    snprintf(group, sizeof group, "staging/%s", b);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(promote_makes_the_dataset),
        cmocka_unit_test(discard_leaves_nothing),
        cmocka_unit_test(leftovers_of_dead_processes_are_removed),
        cmocka_unit_test(long_names_fit_postgres_or_say_why),
    };
    return _cmocka_run_group_tests(group, tests, sizeof tests / sizeof tests[0], NULL, NULL);
}

int main(void)
{
    if (!mkdtemp(home) || mdm_config_defaults(&cfg, home) != 0)
        return 1;
    char datasets[600];
    snprintf(datasets, sizeof datasets, "%s/datasets", home);
    mkdir(datasets, 0755);
    int failed = run("sqlite") + run("duckdb");
    const char *pg = getenv("MDM_TEST_PG_CONNINFO");
    if (pg && *pg) {
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
        failed += run("postgres");
    } else {
        const char *req = getenv("MDM_REQUIRE_POSTGRES");
        if (req && strcmp(req, "1") == 0) {
            fprintf(stderr, "MDM_TEST_PG_CONNINFO is not set: run under scripts/test-postgres\n");
            failed++;
        }
    }
    mdm_config_free(cfg);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", home);
    return failed ? 1 : 0;
}
