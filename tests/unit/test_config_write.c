/* Hardening of mdm.yaml (issue #9): `config set` under concurrency (a lock around the
 * read-modify-write), through a symlink, with the file's permissions kept and secrets
 * made private; reading never blocks on a FIFO; nesting is capped. */
#include "config_fixture.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/stat.h>
#include <time.h>

#include "core/config_internal.h"

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void save_ok(mdm_config *cfg, const char *key, const char *value)
{
    int rc = mdm_config_save_key(cfg, key, value);
    if (rc)
        fail_msg("save %s failed: %s", key, mdm_error_last()->message);
}

static void test_new_file_is_private_and_new_home_is_0700(void **state)
{
    fixture *f = *state;
    char home[160];
    snprintf(home, sizeof home, "%s/newhome", f->home);
    mdm_config *cfg = NULL;
    assert_int_equal(mdm_config_defaults(&cfg, home), 0);
    save_ok(cfg, "database.default_backend", "duckdb");
    char file[200];
    snprintf(file, sizeof file, "%s/mdm.yaml", home);
    assert_int_equal(mode_of(home), 0700);
    assert_int_equal(mode_of(file), 0600);
    mdm_config_free(cfg);
}

static void test_rewrite_keeps_mode_and_secret_tightens_it(void **state)
{
    fixture *f = *state;
    write_yaml(f, "database:\n  default_backend: sqlite\n");
    assert_int_equal(chmod(f->file, 0640), 0);
    /* A temporary file left by a killed run that had our pid is replaced. */
    char leftover[200];
    snprintf(leftover, sizeof leftover, "%s.tmp-%ld", f->file, (long)getpid());
    FILE *fp = fopen(leftover, "w");
    fputs("garbage", fp);
    fclose(fp);
    mdm_config *cfg = load_ok(f);
    save_ok(cfg, "database.default_backend", "duckdb");
    assert_int_equal(access(leftover, F_OK), -1);
    assert_int_equal(mode_of(f->file), 0640);
    /* A user's chmod 600 survives the next set (it used to come back as 0644). */
    assert_int_equal(chmod(f->file, 0600), 0);
    save_ok(cfg, "database.default_backend", "sqlite");
    assert_int_equal(mode_of(f->file), 0600);
    /* A password makes a group/world-readable file private. */
    assert_int_equal(chmod(f->file, 0644), 0);
    save_ok(cfg, "database.postgresql.password", "hunter2");
    assert_int_equal(mode_of(f->file), 0600);
    assert_contains(slurp(f->file), "password: hunter2");
    mdm_config_free(cfg);
}

static void test_symlinked_file_is_written_through(void **state)
{
    fixture *f = *state;
    char dir[160], target[200];
    snprintf(dir, sizeof dir, "%s/dotfiles", f->home);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(target, sizeof target, "%s/mdm.yaml", dir);
    FILE *fp = fopen(target, "w");
    fputs("# mine\ndatabase:\n  default_backend: sqlite\n", fp);
    fclose(fp);
    assert_int_equal(chmod(target, 0640), 0);
    assert_int_equal(symlink(target, f->file), 0);
    mdm_config *cfg = load_ok(f);
    save_ok(cfg, "database.default_backend", "duckdb");
    struct stat st;
    assert_int_equal(lstat(f->file, &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* the link is still a link */
    assert_string_equal(slurp(target), "# mine\ndatabase:\n  default_backend: duckdb\n");
    assert_int_equal(mode_of(target), 0640);
    mdm_config_free(cfg);
    cfg = load_ok(f);
    assert_string_equal(mdm_config_str(cfg, "database.default_backend"), "duckdb");
    mdm_config_free(cfg);
}

static void test_dangling_symlink_is_refused(void **state)
{
    fixture *f = *state;
    char target[200];
    snprintf(target, sizeof target, "%s/missing/mdm.yaml", f->home);
    assert_int_equal(symlink(target, f->file), 0);
    mdm_config *cfg = NULL;
    assert_int_equal(mdm_config_defaults(&cfg, f->home), 0);
    assert_int_equal(mdm_config_save_key(cfg, "database.default_backend", "duckdb"), MDM_EIO);
    assert_contains(mdm_error_last()->message, "is a symbolic link whose target cannot be reached");
    struct stat st;
    assert_int_equal(lstat(f->file, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    mdm_config_free(cfg);
}

static void test_fifo_is_refused_not_waited_on(void **state)
{
    fixture *f = *state;
    assert_int_equal(mkfifo(f->file, 0600), 0);
    /* Before: open() blocked forever waiting for a writer. */
    char expected[256];
    snprintf(expected, sizeof expected,
             "Failed to load configuration from %s: it is a FIFO (named pipe), not a regular file",
             f->file);
    assert_message(load_fails(f), expected);
    mdm_config *cfg = NULL;
    assert_int_equal(mdm_config_defaults(&cfg, f->home), 0);
    assert_int_equal(mdm_config_save_key(cfg, "database.default_backend", "duckdb"), MDM_EINVALID);
    assert_contains(mdm_error_last()->message, "is a FIFO (named pipe), not a regular file");
    mdm_config_free(cfg);
}

static void test_deep_nesting_is_refused_quickly(void **state)
{
    fixture *f = *state;
    /* 50,000 levels of flow lists took libyaml seconds (quadratic); now the load stops
     * at level 65. */
    size_t levels = 50000;
    char *text = malloc(2 * levels + 16);
    strcpy(text, "a:\n  b: ");
    size_t n = strlen(text);
    memset(text + n, '[', levels);
    memset(text + n + levels, ']', levels);
    strcpy(text + n + 2 * levels, "\n");
    write_yaml(f, text);
    free(text);
    char expected[256];
    snprintf(expected, sizeof expected,
             "Failed to load configuration from %s: line 2: nesting deeper than 64 levels",
             f->file);
    assert_message(load_fails(f), expected);

    /* Block style, one level a line: the line of the 65th level is named. */
    char block[16384] = "";
    for (int i = 0; i < 70; i++)
        snprintf(block + strlen(block), sizeof block - strlen(block), "%*sk%d:\n", i, "", i);
    write_yaml(f, block);
    snprintf(expected, sizeof expected,
             "Failed to load configuration from %s: line 65: nesting deeper than 64 levels",
             f->file);
    assert_message(load_fails(f), expected);

    /* 64 levels are fine (unknown keys only warn). */
    block[0] = '\0';
    for (int i = 0; i < 64; i++)
        snprintf(block + strlen(block), sizeof block - strlen(block), "%*sk%d:\n", i, "", i);
    write_yaml(f, block);
    mdm_config_free(load_ok(f));
}

static void test_many_unknown_keys_are_summarized(void **state)
{
    fixture *f = *state;
    /* 20,000 unknown keys took 12 s (a suggestion for each, duplicates found by
     * comparing every pair); now 20 are named, the rest counted. */
    size_t n = 20000;
    char *text = malloc(n * 16 + 64);
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        at += (size_t)sprintf(text + at, "k%zu: 1\n", i);
    strcpy(text + at, "k5: 2\n");
    write_yaml(f, text);
    free(text);
    mdm_config_free(load_ok(f));
    size_t lines = 0;
    for (const char *p = f->warnings; (p = strchr(p, '\n')); p++)
        lines++;
    assert_int_equal(lines, 22);
    char expected[256];
    snprintf(expected, sizeof expected,
             "duplicate configuration key 'k5' in %s line 20001 (also at line 6)", f->file);
    assert_contains(f->warnings, expected);
    snprintf(expected, sizeof expected, "19981 more unknown configuration keys in %s (ignored)",
             f->file);
    assert_contains(f->warnings, expected);
}

/* Two writers of different keys. Writer A reads the file, then lets B start and waits
 * until B either finds the lock busy (with the lock: B then waits for A) or has
 * finished (without it: B's key is written, then A's rename drops it). */
static sem_t a_has_read, b_blocked_or_done;
static pthread_t writer_a;

static void hook(config_hook_event event)
{
    if (!pthread_equal(pthread_self(), writer_a)) {
        if (event == CONFIG_HOOK_LOCK_BUSY)
            sem_post(&b_blocked_or_done);
        return;
    }
    if (event == CONFIG_HOOK_READ) {
        sem_post(&a_has_read);
        sem_wait(&b_blocked_or_done);
    }
}

typedef struct writer_arg {
    mdm_config *cfg;
    const char *key, *value;
    int rc;
} writer_arg;

static void *writer(void *p)
{
    writer_arg *w = p;
    w->rc = mdm_config_save_key(w->cfg, w->key, w->value);
    return NULL;
}

static void test_concurrent_sets_keep_both_keys(void **state)
{
    fixture *f = *state;
    write_yaml(f, "database:\n  default_backend: sqlite\n");
    mdm_config *cfg = load_ok(f);
    sem_init(&a_has_read, 0, 0);
    sem_init(&b_blocked_or_done, 0, 0);
    config_write_hook = hook;
    writer_arg a = {cfg, "performance.batch_size", "5000", 0};
    writer_arg b = {cfg, "database.duckdb.memory_limit", "2GB", 0};
    assert_int_equal(pthread_create(&writer_a, NULL, writer, &a), 0);
    sem_wait(&a_has_read);
    pthread_t tb;
    assert_int_equal(pthread_create(&tb, NULL, writer, &b), 0);
    /* With the lock, B's hook posts when B finds it busy, A finishes, then B. Without
     * it B runs to the end first; the post after its join lets A go on (and drop B's
     * key), so the test fails instead of hanging. */
    pthread_join(tb, NULL);
    sem_post(&b_blocked_or_done);
    pthread_join(writer_a, NULL);
    config_write_hook = NULL;
    assert_int_equal(a.rc, 0);
    assert_int_equal(b.rc, 0);
    mdm_config_free(cfg);
    cfg = load_ok(f);
    assert_int_equal(mdm_config_int(cfg, "performance.batch_size"), 5000);
    assert_string_equal(mdm_config_str(cfg, "database.duckdb.memory_limit"), "2GB");
    mdm_config_free(cfg);
    sem_destroy(&a_has_read);
    sem_destroy(&b_blocked_or_done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_file_is_private_and_new_home_is_0700, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrite_keeps_mode_and_secret_tightens_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinked_file_is_written_through, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dangling_symlink_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_is_refused_not_waited_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_nesting_is_refused_quickly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_unknown_keys_are_summarized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_sets_keep_both_keys, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
