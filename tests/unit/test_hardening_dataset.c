/* Hardening of the dataset side (issue #9): PostgreSQL connection errors keep the user
 * and host whatever the password is (masking by position, not by substring), the mdm
 * home is created private, missing database files are an error instead of a new empty
 * file, and directory discovery never follows a symlink out of the directory. */
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

#include "core/fs.h"
#include "core/log_internal.h"
#include "dataset/discover.h"
#include "mdm/dataset.h"
#include "mdm/mdm.h"
/* The CLI is not in the library the tests link: its one-file escaper is built in here. */
#include "cli/output.c"

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("'%s' not found in: %s", needle, haystack);
}

static bool postgres_available(void)
{
    if (getenv("MDM_TEST_PG_HOST") && getenv("MDM_TEST_PG_PORT") && getenv("MDM_TEST_PG_USER"))
        return true;
    const char *req = getenv("MDM_REQUIRE_POSTGRES");
    if (req && strcmp(req, "1") == 0)
        fail_msg("MDM_TEST_PG_* not set: run under scripts/test-postgres");
    return false;
}

/* Connects with a wrong password and returns the error message (static storage). */
static const char *failed_connect_message(const char *password)
{
    static char message[2048];
    mdm_config *cfg = NULL;
    assert_int_equal(mdm_config_defaults(&cfg, "/tmp/mdm-hardening-dataset-home"), 0);
    assert_int_equal(mdm_config_set(cfg, "database.pool.connect_attempts", "1"), 0);
    char conninfo[512];
    snprintf(conninfo, sizeof conninfo, "host=%s port=%s user=%s password=%s dbname=postgres",
             getenv("MDM_TEST_PG_HOST"), getenv("MDM_TEST_PG_PORT"), getenv("MDM_TEST_PG_USER"),
             password);
    mdm_target t = {.dataset = "scrub_probe", .conninfo = conninfo};
    mdm_store *store = NULL;
    int rc = mdm_store_open(&store, "postgres", &t, cfg);
    if (rc == 0) {
        /* A lazily connecting pool: the first checkout fails instead. */
        mdm_conn *c = NULL;
        rc = mdm_store_checkout(store, &c);
        if (rc == 0)
            mdm_store_checkin(store, c);
    }
    assert_int_equal(rc, MDM_ECONNECT);
    snprintf(message, sizeof message, "%s", mdm_error_last()->message);
    mdm_store_free(store);
    mdm_config_free(cfg);
    return message;
}

/* Before: every substring equal to the password was masked, so a password equal to the
 * user name hid the user, and a one-character password ("1") hid the host's digits. */
static void test_pg_error_keeps_user_and_host(void **state)
{
    (void)state;
    if (!postgres_available())
        skip();
    const char *user = getenv("MDM_TEST_PG_USER"), *host = getenv("MDM_TEST_PG_HOST");
    char quoted_user[256];
    snprintf(quoted_user, sizeof quoted_user, "user \"%s\"", user);
    const char *passwords[] = {user, "1", "0"};
    for (size_t i = 0; i < sizeof passwords / sizeof passwords[0]; i++) {
        const char *msg = failed_connect_message(passwords[i]);
        assert_contains(msg, "password authentication failed");
        assert_contains(msg, quoted_user);
        assert_contains(msg, host);
        assert_contains(msg, getenv("MDM_TEST_PG_PORT"));
        assert_null(strstr(msg, "********"));
    }
}

/* A fresh home with one catalog, and the warnings logged meanwhile. */
typedef struct fixture {
    char home[64];
    mdm_config *cfg;
    mdm_catalog *cat;
    char warnings[8192];
} fixture;

static void capture(mdm_log_level level, const char *message, void *ctx)
{
    fixture *f = ctx;
    size_t used = strlen(f->warnings);
    if (level >= MDM_LOG_WARNING)
        snprintf(f->warnings + used, sizeof f->warnings - used, "%s\n", message);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->home, sizeof f->home, "/tmp/mdm-hardening-ds-XXXXXX");
    assert_non_null(mkdtemp(f->home));
    assert_int_equal(mdm_config_defaults(&f->cfg, f->home), 0);
    assert_int_equal(mdm_catalog_open(&f->cat, f->cfg), 0);
    log_set_capture(capture, f, MDM_LOG_WARNING);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    log_set_capture(NULL, NULL, MDM_LOG_WARNING);
    mdm_catalog_free(f->cat);
    mdm_config_free(f->cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->home);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Registers <home>/<name>.csv (three rows) on `backend`. */
static void register_small(fixture *f, const char *name, const char *backend)
{
    char csv[256];
    snprintf(csv, sizeof csv, "%s/%s.csv", f->home, name);
    write_text(csv, "id,x,y\n1,2,3\n2,3,4\n3,4,5\n");
    mdm_register_options o = {.name = name, .path = csv, .backend = backend, .target = "y"};
    mdm_dataset_info *info = NULL;
    if (mdm_dataset_register(&info, NULL, f->cat, &o) != 0)
        fail_msg("register %s: %s", name, mdm_error_last()->message);
    mdm_dataset_info_free(info);
}

/* Before: remove loaded the record first and gave up on the parse error, so a corrupt
 * registry file could never be removed. */
static void test_remove_corrupt_registry_file(void **state)
{
    fixture *f = *state;
    register_small(f, "broken", "sqlite");
    char yaml[256], dir[256];
    snprintf(yaml, sizeof yaml, "%s/broken.yaml", mdm_config_path(f->cfg, "configs_path"));
    snprintf(dir, sizeof dir, "%s/broken", mdm_config_path(f->cfg, "datasets_path"));
    write_text(yaml, "name: broken\ntables: {{{\n");
    f->warnings[0] = '\0';
    if (mdm_catalog_remove(f->cat, "broken") != 0)
        fail_msg("remove: %s", mdm_error_last()->message);
    assert_int_equal(access(yaml, F_OK), -1);
    assert_int_equal(access(dir, F_OK), -1);
    /* What may be left on a server is named. */
    assert_contains(f->warnings, "broken.yaml");
    assert_contains(f->warnings, "schema 'mdm_broken'");
    assert_int_equal(mdm_catalog_remove(f->cat, "broken"), MDM_ENOTFOUND);
}

/* Before: the home was created 0755 like any directory, readable by every user. */
static void test_fresh_home_is_private(void **state)
{
    (void)state;
    char parent[] = "/tmp/mdm-home-mode-XXXXXX";
    assert_non_null(mkdtemp(parent));
    char home[256];
    snprintf(home, sizeof home, "%s/a/home", parent);
    mode_t old_mask = umask(022);
    mdm_config *cfg = NULL;
    assert_int_equal(mdm_config_defaults(&cfg, home), 0);
    /* The first creator is whoever needs a directory under the home: the registry. */
    assert_int_equal(mdm_mkdirs(mdm_config_path(cfg, "configs_path")), 0);
    struct stat st;
    assert_int_equal(stat(home, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(mdm_config_path(cfg, "configs_path"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755); /* below the home: as before */
    char above[300];
    snprintf(above, sizeof above, "%s/a", parent);
    assert_int_equal(stat(above, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755); /* above the home: not mdm's */
    /* An existing home keeps its mode. */
    assert_int_equal(chmod(home, 0750), 0);
    assert_int_equal(mdm_mkdirs(mdm_config_path(cfg, "datasets_path")), 0);
    assert_int_equal(stat(home, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0750);
    umask(old_mask);
    mdm_config_free(cfg);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", parent);
    assert_int_equal(system(cmd), 0);
}

/* Before: opening went through, and the engine created a new empty database file on
 * first use (export wrote nothing, stats reported no table) instead of saying so. */
static void test_missing_database_file(void **state)
{
    fixture *f = *state;
    const char *backends[] = {"sqlite", "duckdb"};
    const char *exts[] = {".sqlite", ".duckdb"};
    for (size_t i = 0; i < 2; i++) {
        char name[32], file[512];
        snprintf(name, sizeof name, "gone_%s", backends[i]);
        register_small(f, name, backends[i]);
        snprintf(file, sizeof file, "%s/%s/%s%s", mdm_config_path(f->cfg, "datasets_path"), name,
                 name, exts[i]);
        assert_int_equal(unlink(file), 0);
        mdm_dataset *ds = NULL;
        assert_int_equal(mdm_dataset_open(&ds, f->cat, name), MDM_ENOTFOUND);
        assert_null(ds);
        char expected[700];
        snprintf(expected, sizeof expected, "Dataset '%s': database file missing: %s", name, file);
        assert_string_equal(mdm_error_last()->message, expected);
        assert_int_equal(access(file, F_OK), -1); /* nothing created */
    }
}

/* Before: stat() followed any link, so train.csv -> a file outside the directory (say
 * /etc/passwd) was loaded as the train table; a FIFO train.csv was silently passed over. */
static void test_discover_links_and_fifos(void **state)
{
    fixture *f = *state;
    char dir[256], outside[256], path[300], inner[300];
    snprintf(dir, sizeof dir, "%s/data", f->home);
    snprintf(outside, sizeof outside, "%s/secret.csv", f->home);
    assert_int_equal(mkdir(dir, 0755), 0);
    write_text(outside, "user,password\nroot,x\n");
    snprintf(inner, sizeof inner, "%s/real_test.csv", dir);
    write_text(inner, "id,x\n1,2\n");
    snprintf(path, sizeof path, "%s/train.csv", dir);
    assert_int_equal(symlink(outside, path), 0);
    snprintf(path, sizeof path, "%s/validation.csv", dir);
    assert_int_equal(symlink("/etc/passwd", path), 0);
    snprintf(path, sizeof path, "%s/test.csv", dir); /* inside: followed */
    assert_int_equal(symlink("real_test.csv", path), 0);
    snprintf(path, sizeof path, "%s/sample_submission.csv", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    f->warnings[0] = '\0';
    discovery d;
    if (discover(&d, dir) != 0)
        fail_msg("discover: %s", mdm_error_last()->message);
    assert_int_equal(d.nfiles, 1);
    assert_string_equal(d.files[0].table, "test");
    assert_string_equal(d.files[0].path, inner);
    discovery_free(&d);
    char expected[1024];
    snprintf(expected, sizeof expected, "Skipping %s/train.csv: a symbolic link to %s, outside %s",
             dir, outside, dir);
    assert_contains(f->warnings, expected);
    assert_contains(f->warnings, "validation.csv: a symbolic link to /etc/passwd, outside");
    snprintf(expected, sizeof expected, "Skipping %s/sample_submission.csv: it is a FIFO", dir);
    assert_contains(f->warnings, expected);
}

/* Before: registry text went to the terminal raw (ESC sequences, BEL, C1 CSI). */
static void test_cli_escape(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
        size_t escaped;
    } cases[] = {
        {"plain text", "plain text", 0},
        {"red \x1b[31mtext", "red \\x1b[31mtext", 1},
        {"title\x1b]0;pwned\x07", "title\\x1b]0;pwned\\x07", 2},
        {"tab\tnew\nline\r", "tab\\x09new\\x0aline\\x0d", 3},
        {"del\x7f", "del\\x7f", 1},
        {"c1 \xc2\x9b" "2J", "c1 \\u009b2J", 1},         /* U+009B CSI, UTF-8 encoded */
        {"raw \x9b" "2J", "raw \\x9b2J", 1},               /* a lone 8-bit CSI byte */
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0},
        {"cut \xe2\x82", "cut \\xe2\\x82", 2},        /* truncated sequence */
        {"overlong \xc0\x9b", "overlong \\xc0\\x9b", 2},
        {"back\\slash", "back\\slash", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        assert_int_equal(cli_escape(&out, cases[i].in), cases[i].escaped);
        assert_non_null(out);
        assert_string_equal(out, cases[i].out);
        free(out);
    }
    cli_text t = {0};
    const char *clean = "clean";
    assert_ptr_equal(cli_safe(&t, clean), clean);
    const char *accented = "caf\xc3\xa9"; /* valid UTF-8: no copy either */
    assert_ptr_equal(cli_safe(&t, accented), accented);
    assert_null(cli_safe(&t, NULL));
    assert_string_equal(cli_safe(&t, "a\x1b"), "a\\x1b");
    assert_int_equal(t.n, 1);
    cli_text_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pg_error_keeps_user_and_host),
        cmocka_unit_test(test_fresh_home_is_private),
        cmocka_unit_test(test_cli_escape),
        cmocka_unit_test_setup_teardown(test_remove_corrupt_registry_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_database_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discover_links_and_fifos, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
