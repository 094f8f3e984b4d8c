/* Per-name locks between processes: contention messages, timeouts, release when the
 * holder is killed, and several processes registering one name. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dataset/catalog.h"
#include "dataset/name_lock.h"
#include "mdm/mdm.h"

typedef struct fixture {
    char home[64];
    mdm_config *cfg;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->home, sizeof f->home, "/tmp/mdm-lock-XXXXXX");
    assert_non_null(mkdtemp(f->home));
    assert_int_equal(mdm_config_defaults(&f->cfg, f->home), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->home);
    assert_int_equal(system(cmd), 0);
    mdm_config_free(f->cfg);
    free(f);
    return 0;
}

static dataset_info *race_info(void)
{
    dataset_info *info;
    assert_int_equal(dataset_info_new(&info), 0);
    dataset_str_set(&info->name, "race");
    dataset_str_set(&info->database.backend, "sqlite");
    info->registered_at = dataset_time_now();
    info->has_registered_at = true;
    return info;
}

/* ---------------------------------------------------------------- name lock */

static void test_name_lock_between_processes(void **state)
{
    fixture *f = *state;
    name_lock *lock;
    assert_int_equal(name_lock_try(&lock, f->cfg, "Shared", "registered"), 0);
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        name_lock *other = NULL;
        int rc = name_lock_try(&other, f->cfg, "shared", "registered");
        char msg[1200];
        snprintf(msg, sizeof msg, "%d|%s", rc, mdm_error_last()->message);
        rc = name_lock_acquire(&other, f->cfg, "shared", "registered", 150);
        size_t used = strlen(msg);
        snprintf(msg + used, sizeof msg - used, "|%d", rc);
        /* Blocks until the parent releases. */
        rc = name_lock_acquire(&other, f->cfg, "shared", "registered", 10000);
        used = strlen(msg);
        snprintf(msg + used, sizeof msg - used, "|%d", rc);
        assert_int_equal(write(pipefd[1], msg, strlen(msg) + 1), (ssize_t)strlen(msg) + 1);
        name_lock_release(other);
        _exit(0);
    }
    close(pipefd[1]);
    struct timespec pause = {0, 400 * 1000000};
    nanosleep(&pause, NULL);
    name_lock_release(lock);
    char msg[1200] = "";
    size_t got = 0;
    ssize_t n;
    while ((n = read(pipefd[0], msg + got, sizeof msg - 1 - got)) > 0)
        got += (size_t)n;
    close(pipefd[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(WEXITSTATUS(status), 0);
    char expected[1200];
    snprintf(expected, sizeof expected,
             "%d|Dataset 'shared' is being registered by another process (pid %ld)|%d|0",
             MDM_EBUSY, (long)getpid(), MDM_ETIMEOUT);
    assert_string_equal(msg, expected);
}

static void test_name_lock_released_on_kill(void **state)
{
    fixture *f = *state;
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        name_lock *lock;
        if (name_lock_try(&lock, f->cfg, "victim", "registered") != 0)
            _exit(1);
        assert_int_equal(write(pipefd[1], "L", 1), 1);
        pause();
        _exit(0);
    }
    char c;
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    name_lock *lock;
    assert_int_equal(name_lock_try(&lock, f->cfg, "victim", "registered"), MDM_EBUSY);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_int_equal(name_lock_try(&lock, f->cfg, "victim", "registered"), 0);
    name_lock_release(lock);
    close(pipefd[0]);
    close(pipefd[1]);
}

/* Several processes register the same name at once: exactly one commits, the others
 * find it registered once they get the lock. */
static void test_register_race(void **state)
{
    fixture *f = *state;
    enum { RACERS = 4 };
    pid_t pids[RACERS];
    for (int i = 0; i < RACERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            name_lock *lock;
            if (name_lock_acquire(&lock, f->cfg, "race", "registered", 20000) != 0)
                _exit(3);
            bool exists;
            if (catalog_exists(&exists, f->cfg, "race") != 0)
                _exit(4);
            int code = 2; /* "already exists" */
            if (!exists) {
                dataset_info *info = race_info();
                struct timespec work = {0, 50 * 1000000};
                nanosleep(&work, NULL);
                code = catalog_commit(info, f->cfg) == 0 ? 0 : 5;
                dataset_info_free(info);
            }
            name_lock_release(lock);
            _exit(code);
        }
    }
    int winners = 0, losers = 0;
    for (int i = 0; i < RACERS; i++) {
        int status;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        winners += WEXITSTATUS(status) == 0;
        losers += WEXITSTATUS(status) == 2;
    }
    assert_int_equal(winners, 1);
    assert_int_equal(losers, RACERS - 1);
}

static void test_lock_names_are_case_insensitive(void **state)
{
    fixture *f = *state;
    name_lock *a, *b;
    assert_int_equal(name_lock_try(&a, f->cfg, "Titanic", "updated"), 0);
    assert_int_equal(name_lock_try(&b, f->cfg, "TITANIC", "registered"), MDM_EBUSY);
    assert_non_null(strstr(mdm_error_last()->message, "is being updated by another process"));
    assert_int_equal(name_lock_try(&b, f->cfg, "other", "registered"), 0);
    name_lock_release(a);
    name_lock_release(b);
    assert_int_equal(name_lock_try(&a, f->cfg, "bad/name", "registered"), MDM_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_name_lock_between_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_lock_released_on_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_names_are_case_insensitive, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
