/* Logging: stderr lines, the log file's levels and formats, size rotation into gzipped
 * backups, several threads and several processes writing at once, and a log file that
 * cannot be opened. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "mdm/mdm.h"

typedef struct fixture {
    char home[64];
    char log_path[160];
} fixture;

static void clear_mdm_environment(void)
{
    for (;;) {
        char name[256] = "";
        for (char **env = environ; env && *env; env++)
            if (strncmp(*env, "MDM_", 4) == 0) {
                snprintf(name, sizeof name, "%.*s", (int)strcspn(*env, "="), *env);
                break;
            }
        if (!name[0])
            return;
        unsetenv(name);
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->home, "/tmp/mdm-log-XXXXXX");
    assert_non_null(mkdtemp(f->home));
    snprintf(f->log_path, sizeof f->log_path, "%s/logs/mdm.log", f->home);
    clear_mdm_environment();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mdm_log_shutdown();
    mdm_log_set_stderr_level(MDM_LOG_WARNING);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s'; rm -rf '%s'", f->home, f->home);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* A config for f->home with `settings` applied ("key=value" pairs). */
static mdm_config *make_config(const fixture *f, const char *const *settings)
{
    mdm_config *cfg = NULL;
    assert_int_equal(mdm_config_defaults(&cfg, f->home), 0);
    for (; settings && *settings; settings++) {
        char key[128];
        const char *eq = strchr(*settings, '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - *settings), *settings);
        if (mdm_config_set(cfg, key, eq + 1))
            fail_msg("%s", mdm_error_last()->message);
    }
    return cfg;
}

static void init_logging(const fixture *f, const char *const *settings)
{
    mdm_config *cfg = make_config(f, settings);
    assert_int_equal(mdm_log_init(cfg), 0);
    mdm_config_free(cfg); /* logging keeps what it needs */
}

/* The whole file, or "" when missing. Caller frees. */
static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return strdup("");
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    assert_int_equal(fread(text, 1, (size_t)size, fp), (size_t)size);
    text[size] = '\0';
    fclose(fp);
    return text;
}

/* The decompressed content of a .gz file, or NULL when missing. */
static char *read_gzip(const char *path)
{
    if (access(path, F_OK) != 0)
        return NULL;
    gzFile gz = gzopen(path, "rb");
    assert_non_null(gz);
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    int n;
    while ((n = gzread(gz, text + len, (unsigned)(cap - len - 1))) > 0) {
        len += (size_t)n;
        if (cap - len < 2)
            text = realloc(text, cap *= 2);
    }
    assert_true(n == 0);
    gzclose(gz);
    text[len] = '\0';
    return text;
}

static char *backup_path(const fixture *f, int number)
{
    char *path = malloc(200);
    snprintf(path, 200, "%s.%d.gz", f->log_path, number);
    return path;
}

/* Runs `fn` with stderr sent to a file and returns what it printed. */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
    char path[] = "/tmp/mdm-stderr-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    char *text = read_text(path);
    unlink(path);
    return text;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

/* ------------------------------------------------------------------ levels, stderr */

static void log_three(void *arg)
{
    (void)arg;
    mdm_log(MDM_LOG_INFO, "quiet %d", 1);
    MDM_WARN("careful: %s", "disk almost full");
    mdm_log(MDM_LOG_CRITICAL, "gone");
}

static void test_stderr_gets_warning_and_above(void **state)
{
    (void)state;
    char *text = capture_stderr(log_three, NULL);
    assert_string_equal(text, "WARNING: careful: disk almost full\nCRITICAL: gone\n");
    free(text);
    assert_false(mdm_log_enabled(MDM_LOG_INFO));
    assert_true(mdm_log_enabled(MDM_LOG_WARNING));
    mdm_log_set_stderr_level(MDM_LOG_INFO);
    assert_true(mdm_log_enabled(MDM_LOG_INFO));
    text = capture_stderr(log_three, NULL);
    assert_string_equal(text, "INFO: quiet 1\nWARNING: careful: disk almost full\nCRITICAL: gone\n");
    free(text);
}

static void test_level_names(void **state)
{
    (void)state;
    mdm_log_level level;
    assert_int_equal(mdm_log_level_parse(&level, "debug"), 0);
    assert_int_equal(level, MDM_LOG_DEBUG);
    assert_int_equal(mdm_log_level_parse(&level, "Warning"), 0);
    assert_int_equal(level, MDM_LOG_WARNING);
    assert_int_equal(mdm_log_level_parse(&level, "CRITICAL"), 0);
    assert_int_equal(level, MDM_LOG_CRITICAL);
    assert_int_equal(mdm_log_level_parse(&level, "loud"), MDM_EINVALID);
    assert_string_equal(mdm_log_level_name(MDM_LOG_ERROR), "ERROR");
}

/* ------------------------------------------------------------------ the file */

static void test_no_file_before_init(void **state)
{
    fixture *f = *state;
    mdm_log_set_stderr_level(MDM_LOG_CRITICAL);
    MDM_WARN("before init");
    struct stat st;
    assert_int_equal(stat(f->log_path, &st), -1);
}

static void test_file_console_format_and_level(void **state)
{
    fixture *f = *state;
    const char *settings[] = {"paths.logs_path=deep/er/logs", NULL};
    init_logging(f, settings);
    snprintf(f->log_path, sizeof f->log_path, "%s/deep/er/logs/mdm.log", f->home);
    assert_true(mdm_log_enabled(MDM_LOG_INFO));
    assert_false(mdm_log_enabled(MDM_LOG_DEBUG));
    mdm_log_set_stderr_level(MDM_LOG_CRITICAL);
    MDM_DEBUG("not written");
    MDM_INFO("registered %s with %d rows", "titanic", 891);
    MDM_ERROR_LOG("it broke");
    char *text = read_text(f->log_path);
    assert_int_equal(count_lines(text), 2);
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} INFO \\[[0-9]+:[0-9]+\\] "
                             "registered titanic with 891 rows\n"
                             "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} ERROR \\[[0-9]+:[0-9]+\\] "
                             "it broke\n$",
                             REG_EXTENDED),
                     0);
    if (regexec(&re, text, 0, NULL, 0) != 0)
        fail_msg("unexpected log:\n%s", text);
    regfree(&re);
    char pid[32];
    snprintf(pid, sizeof pid, "[%ld:", (long)getpid());
    assert_non_null(strstr(text, pid));
    free(text);
    /* After shutdown nothing more reaches the file. */
    mdm_log_shutdown();
    assert_false(mdm_log_enabled(MDM_LOG_ERROR));
    MDM_ERROR_LOG("after shutdown");
    text = read_text(f->log_path);
    assert_int_equal(count_lines(text), 2);
    free(text);
}

static void test_file_json_format(void **state)
{
    fixture *f = *state;
    char absolute[200];
    snprintf(absolute, sizeof absolute, "logging.file=%s/elsewhere/app.jsonl", f->home);
    const char *settings[] = {"logging.format=json", "logging.level=DEBUG", absolute, NULL};
    init_logging(f, settings);
    mdm_log_set_stderr_level(MDM_LOG_CRITICAL);
    MDM_DEBUG("quote \" backslash \\ newline\n tab\t bell\a bad \xff byte, caf\xc3\xa9");
    char path[200];
    snprintf(path, sizeof path, "%s/elsewhere/app.jsonl", f->home);
    char *text = read_text(path);
    /* At DEBUG, init wrote the configuration first: every line is JSON; ours is last. */
    assert_true(count_lines(text) > 10);
    json_error_t error;
    char *save = NULL, *last = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *any = json_loads(line, 0, &error);
        if (!any)
            fail_msg("not JSON (%s): %s", error.text, line);
        json_decref(any);
        last = line;
    }
    json_t *obj = json_loads(last, 0, &error);
    if (!obj)
        fail_msg("not JSON (%s): %s", error.text, last);
    assert_string_equal(json_string_value(json_object_get(obj, "level")), "DEBUG");
    assert_int_equal(json_integer_value(json_object_get(obj, "pid")), getpid());
    assert_true(json_integer_value(json_object_get(obj, "thread")) > 0);
    assert_string_equal(json_string_value(json_object_get(obj, "message")),
                        "quote \" backslash \\ newline\n tab\t bell\a bad \xef\xbf\xbd byte, caf\xc3\xa9");
    const char *ts = json_string_value(json_object_get(obj, "ts"));
    regex_t re;
    assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}[+-][0-9]{2}:[0-9]{2}$",
                             REG_EXTENDED),
                     0);
    assert_int_equal(regexec(&re, ts, 0, NULL, 0), 0);
    regfree(&re);
    json_decref(obj);
    free(text);
}

static void test_file_recreated_when_removed(void **state)
{
    fixture *f = *state;
    init_logging(f, NULL);
    mdm_log_set_stderr_level(MDM_LOG_CRITICAL);
    MDM_INFO("first");
    assert_int_equal(unlink(f->log_path), 0);
    MDM_INFO("second");
    char *text = read_text(f->log_path);
    assert_int_equal(count_lines(text), 1);
    assert_non_null(strstr(text, "second"));
    free(text);
}

static void log_to_unopenable_file(void *arg)
{
    (void)arg;
    MDM_INFO("one");
    MDM_INFO("two");
    MDM_WARN("three");
}

static void test_unopenable_file_warns_once_then_stderr_only(void **state)
{
    fixture *f = *state;
    /* logs_path under a regular file: cannot be created, even by root. */
    char blocker[160];
    snprintf(blocker, sizeof blocker, "%s/blocker", f->home);
    FILE *fp = fopen(blocker, "w");
    fclose(fp);
    const char *settings[] = {"paths.logs_path=blocker/logs", NULL};
    init_logging(f, settings);
    char *text = capture_stderr(log_to_unopenable_file, NULL);
    char expected[512];
    snprintf(expected, sizeof expected,
             "WARNING: cannot open log file %s/blocker/logs/mdm.log: Not a directory; logging to stderr only\n"
             "WARNING: three\n",
             f->home);
    assert_string_equal(text, expected);
    free(text);
    assert_false(mdm_log_enabled(MDM_LOG_INFO));
}

static void test_read_only_home(void **state)
{
    fixture *f = *state;
    if (geteuid() == 0)
        skip(); /* root writes anywhere */
    assert_int_equal(chmod(f->home, 0555), 0);
    init_logging(f, NULL);
    char *text = capture_stderr(log_to_unopenable_file, NULL);
    assert_non_null(strstr(text, "Permission denied; logging to stderr only\n"));
    assert_int_equal(count_lines(text), 2);
    free(text);
}

/* ------------------------------------------------------------------ rotation */

/* Writes `count` numbered lines of about 100 bytes. */
static void write_numbered(int first, int count)
{
    for (int i = first; i < first + count; i++)
        MDM_INFO("line %06d %s", i, "..................................................");
}

/* The line numbers in `text`, appended to nums. */
static void collect_numbers(const char *text, int *nums, size_t *n)
{
    for (const char *p = strstr(text, "line "); p; p = strstr(p + 1, "line "))
        nums[(*n)++] = atoi(p + 5);
}

static void test_rotation_gzips_and_keeps_backup_count(void **state)
{
    fixture *f = *state;
    const char *settings[] = {"logging.max_bytes=1000", "logging.backup_count=3", NULL};
    init_logging(f, settings);
    mdm_log_set_stderr_level(MDM_LOG_CRITICAL);
    write_numbered(0, 12); /* about 1300 bytes of ~108-byte lines: one rotation */
    char *first = backup_path(f, 1);
    char *old = read_gzip(first);
    assert_non_null(old);
    char *current = read_text(f->log_path);
    /* Nothing lost, nothing doubled, in order: old content then the current file. */
    int nums[64];
    size_t n = 0;
    collect_numbers(old, nums, &n);
    collect_numbers(current, nums, &n);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(nums[i], (int)i);
    assert_true(strlen(old) <= 1000);
    /* Rotated only when the next line would not fit. */
    assert_true(strlen(old) + (size_t)(strchr(current, '\n') + 1 - current) > 1000);
    free(old);
    free(current);

    /* Many more: exactly backup_count backups, each under the limit, the newest lines kept. */
    write_numbered(12, 200);
    char *fourth = backup_path(f, 4);
    assert_int_not_equal(access(fourth, F_OK), 0);
    n = 0;
    static int all[4096];
    for (int b = 3; b >= 1; b--) {
        char *path = backup_path(f, b);
        char *text = read_gzip(path);
        assert_non_null(text);
        assert_true(strlen(text) <= 1000);
        collect_numbers(text, all, &n);
        free(text);
        free(path);
    }
    current = read_text(f->log_path);
    assert_true(strlen(current) <= 1000);
    collect_numbers(current, all, &n);
    free(current);
    assert_int_equal(all[n - 1], 211);
    for (size_t i = 1; i < n; i++)
        assert_int_equal(all[i], all[i - 1] + 1);
    free(first);
    free(fourth);
}

static void test_backup_count_zero_truncates(void **state)
{
    fixture *f = *state;
    const char *settings[] = {"logging.max_bytes=500", "logging.backup_count=0", NULL};
    init_logging(f, settings);
    mdm_log_set_stderr_level(MDM_LOG_CRITICAL);
    write_numbered(0, 30);
    char *first = backup_path(f, 1);
    assert_int_not_equal(access(first, F_OK), 0);
    char *current = read_text(f->log_path);
    assert_true(strlen(current) <= 500);
    assert_non_null(strstr(current, "line 000029"));
    free(current);
    free(first);
}

static void write_thirty(void *arg)
{
    (void)arg;
    write_numbered(0, 30);
}

static void test_failed_rotation_warns_once_and_keeps_appending(void **state)
{
    fixture *f = *state;
    const char *settings[] = {"logging.max_bytes=500", "logging.backup_count=2", NULL};
    init_logging(f, settings);
    /* A directory where the compressed backup is written first. */
    char blocker[256];
    snprintf(blocker, sizeof blocker, "%s/logs", f->home);
    assert_int_equal(mkdir(blocker, 0755), 0);
    snprintf(blocker, sizeof blocker, "%s.1.gz.tmp%ld", f->log_path, (long)getpid());
    assert_int_equal(mkdir(blocker, 0755), 0);
    char *text = capture_stderr(write_thirty, NULL);
    char expected[512];
    snprintf(expected, sizeof expected,
             "WARNING: cannot rotate log file %s: Is a directory; appending without rotation\n", f->log_path);
    assert_string_equal(text, expected);
    free(text);
    text = read_text(f->log_path);
    assert_int_equal(count_lines(text), 30);
    free(text);
    assert_int_equal(rmdir(blocker), 0);
}

/* ------------------------------------------------------------------ concurrency */

#define THREADS 8
#define LINES_PER_THREAD 2000

static void *log_from_thread(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < LINES_PER_THREAD; i++)
        MDM_INFO("writer %d seq %05d payload %s", t, i, "abcdefghijklmnopqrstuvwxyz0123456789");
    return NULL;
}

/* Checks every line of every file (backups and current) and counts writer lines. */
static void check_lines(const fixture *f, int writers, int lines_each, int max_backups)
{
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9-]{10} [0-9:.]{12} INFO \\[[0-9]+:[0-9]+\\] writer ([0-9]+) seq ([0-9]{5}) "
                             "payload abcdefghijklmnopqrstuvwxyz0123456789$",
                             REG_EXTENDED),
                     0);
    unsigned char *seen = calloc((size_t)writers * lines_each, 1);
    size_t total = 0;
    for (int b = max_backups; b >= 0; b--) {
        char *path = b ? backup_path(f, b) : strdup(f->log_path);
        char *text = b ? read_gzip(path) : read_text(path);
        free(path);
        if (!text)
            continue;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            regmatch_t m[3];
            if (regexec(&re, line, 3, m, 0) != 0)
                fail_msg("torn or foreign line: '%s'", line);
            int writer = atoi(line + m[1].rm_so), seq = atoi(line + m[2].rm_so);
            assert_true(writer < writers && seq < lines_each);
            assert_int_equal(seen[writer * lines_each + seq], 0);
            seen[writer * lines_each + seq] = 1;
            total++;
        }
        free(text);
    }
    assert_int_equal(total, (size_t)writers * lines_each);
    free(seen);
    regfree(&re);
}

static void test_threads_write_whole_lines_across_rotations(void **state)
{
    fixture *f = *state;
    const char *settings[] = {"logging.max_bytes=65536", "logging.backup_count=100", NULL};
    init_logging(f, settings);
    mdm_log_set_stderr_level(MDM_LOG_CRITICAL);
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, log_from_thread, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    /* ~1.9 MB in 64 KiB files: many rotations happened under contention. */
    char *tenth = backup_path(f, 10);
    assert_int_equal(access(tenth, F_OK), 0);
    free(tenth);
    check_lines(f, THREADS, LINES_PER_THREAD, 100);
}

#define PROCESSES 3

static void test_processes_share_the_file_and_rotation(void **state)
{
    fixture *f = *state;
    const char *settings[] = {"logging.max_bytes=32768", "logging.backup_count=200", NULL};
    init_logging(f, settings);
    mdm_log_set_stderr_level(MDM_LOG_CRITICAL);
    MDM_INFO("writer 0 seq 00000 payload abcdefghijklmnopqrstuvwxyz0123456789"); /* parent opens first */
    pid_t children[PROCESSES];
    for (int p = 0; p < PROCESSES; p++) {
        children[p] = fork();
        assert_true(children[p] >= 0);
        if (children[p] == 0) {
            int writer = p + 1;
            for (int i = 0; i < 1500; i++)
                MDM_INFO("writer %d seq %05d payload %s", writer, i, "abcdefghijklmnopqrstuvwxyz0123456789");
            _exit(0);
        }
    }
    for (int i = 1; i < 1500; i++)
        MDM_INFO("writer 0 seq %05d payload %s", i, "abcdefghijklmnopqrstuvwxyz0123456789");
    for (int p = 0; p < PROCESSES; p++) {
        int status = 0;
        assert_int_equal(waitpid(children[p], &status, 0), children[p]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    check_lines(f, PROCESSES + 1, 1500, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stderr_gets_warning_and_above, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_file_before_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_console_format_and_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_json_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_recreated_when_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unopenable_file_warns_once_then_stderr_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_home, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_gzips_and_keeps_backup_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_count_zero_truncates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_rotation_warns_once_and_keeps_appending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_write_whole_lines_across_rotations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_processes_share_the_file_and_rotation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
