/* bench_startup: what a script pays for each `mdm` it runs.
 *
 *   version        mdm --version
 *   list_<N>       mdm dataset list, over N registered SQLite datasets (--rows N, 100)
 *
 * for the mdm built beside this program (build/mdm; MDM_BENCH_MDM overrides) and, when
 * MDM_BENCH_OLD_MDM names one, an older mdm binary run on the same home in the same
 * runs, alternating; /bin/true gives the floor (fork, exec, wait). The N datasets are
 * registered once, from a three-row CSV, by the new binary. Wall time is measured
 * without anything watching the child; peak RSS in separate runs, each child stopped
 * at its exit (ptrace) to read its VmHWM: getrusage cannot give it, since Linux carries
 * the parent's peak into a child's ru_maxrss across fork and exec. Medians over --runs
 * (default 20). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

#define BENCH_NAME "startup"
#define DEFAULT_DATASETS 100

static char home_env[PATH_MAX + 32];

/* Runs argv with stdout and stderr to /dev/null and MDM_HOME_DIR set; returns the exit
 * status, or -1. With `hwm_kb`, the child is traced and stopped at its exit, where its
 * peak RSS is read; else only the wall time is taken. */
static int run_once(const char *const argv[], double *wall_s, long *hwm_kb)
{
    double start = bench_now_s();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
        }
        putenv(home_env);
        if (hwm_kb) {
            if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
                _exit(126);
            raise(SIGSTOP); /* the parent sets its options, then lets us exec */
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    if (hwm_kb) {
        *hwm_kb = 0;
        if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
            return -1;
        ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)PTRACE_O_TRACEEXIT);
        ptrace(PTRACE_CONT, pid, NULL, NULL);
        for (;;) {
            if (waitpid(pid, &status, 0) != pid)
                return -1;
            if (WIFEXITED(status) || WIFSIGNALED(status))
                break;
            int sig = 0;
            if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
                long kb = bench_process_hwm_kb(pid);
                if (kb > *hwm_kb)
                    *hwm_kb = kb;
            } else if (WIFSTOPPED(status) && WSTOPSIG(status) != SIGTRAP) {
                sig = WSTOPSIG(status); /* pass real signals on */
            }
            ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
        }
    } else if (waitpid(pid, &status, 0) != pid) {
        return -1;
    }
    *wall_s = bench_now_s() - start;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The mdm binary beside this program's directory (build/bench/.. = build/). */
static void default_mdm(char *buf, size_t size)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    buf[0] = '\0';
    if (n <= 0)
        return;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(buf, size, "%.4000s/../mdm", self);
}

typedef struct tool {
    const char *name;
    const char *path;
} tool;

typedef struct scenario {
    const char *name;
    const char *args[4]; /* after the binary */
} scenario;

int main(int argc, char **argv)
{
    bench_options opt = bench_parse_options(argc, argv, BENCH_NAME, DEFAULT_DATASETS, NULL);
    /* bench_util's default of 3 runs is too few for processes of a few milliseconds. */
    int runs = 20;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--runs") == 0)
            runs = opt.runs;
    char mdm[PATH_MAX];
    const char *env_mdm = getenv("MDM_BENCH_MDM");
    if (env_mdm && *env_mdm)
        snprintf(mdm, sizeof mdm, "%s", env_mdm);
    else
        default_mdm(mdm, sizeof mdm);
    const char *old = getenv("MDM_BENCH_OLD_MDM");
    if (access(mdm, X_OK) != 0) {
        fprintf(stderr, "bench_startup: no mdm binary at %s (set MDM_BENCH_MDM)\n", mdm);
        return 1;
    }
    tool tools[3] = {{"mdm", mdm}};
    size_t ntools = 1;
    if (old && *old) {
        if (access(old, X_OK) != 0) {
            fprintf(stderr, "bench_startup: MDM_BENCH_OLD_MDM=%s is not a program\n", old);
            return 1;
        }
        tools[ntools++] = (tool){"mdm-old", old};
    }
    tools[ntools++] = (tool){"true", "/bin/true"};

    char root[] = "/tmp/mdm-bench-startup-XXXXXX";
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(home_env, sizeof home_env, "MDM_HOME_DIR=%s/home", root);
    char csv[PATH_MAX];
    snprintf(csv, sizeof csv, "%s/tiny.csv", root);
    FILE *f = fopen(csv, "w");
    if (!f || fputs("id,name,score\n1,a,0.5\n2,b,1.5\n3,c,2.5\n", f) < 0 || fclose(f) != 0) {
        perror(csv);
        return 1;
    }
    fprintf(stderr, "bench_startup: registering %lld SQLite datasets...\n", opt.rows);
    int failed = 0;
    for (long long i = 0; i < opt.rows && !failed; i++) {
        char name[32];
        snprintf(name, sizeof name, "d%04lld", i);
        const char *argv_reg[] = {mdm, "dataset", "register", name, csv, "--backend", "sqlite",
                                  NULL};
        double wall;
        if (run_once(argv_reg, &wall, NULL) != 0) {
            fprintf(stderr, "bench_startup: registering %s failed\n", name);
            failed = 1;
        }
    }

    char list_case[32];
    snprintf(list_case, sizeof list_case, "list_%lld", opt.rows);
    const scenario scenarios[] = {
        {"version", {"--version", NULL}},
        {list_case, {"dataset", "list", NULL}},
    };
    bench_report report;
    bench_report_init(&report, BENCH_NAME);
    char runs_text[16];
    snprintf(runs_text, sizeof runs_text, "%d", runs);
    double *wall = calloc((size_t)runs * ntools, sizeof *wall);
    double *rss = calloc((size_t)runs * ntools, sizeof *rss);
    for (size_t s = 0; !failed && s < sizeof scenarios / sizeof *scenarios; s++) {
        for (int r = 0; r < runs && !failed; r++) {
            for (size_t t = 0; t < ntools; t++) { /* alternating, same conditions */
                const char *args[6] = {tools[t].path};
                for (size_t a = 0; a < 4 && scenarios[s].args[a]; a++)
                    args[a + 1] = scenarios[s].args[a];
                long kb = 0;
                double ignored;
                int rc1 = run_once(args, &wall[t * (size_t)runs + (size_t)r], NULL);
                int rc2 = run_once(args, &ignored, &kb);
                if (rc1 != 0 || rc2 != 0) {
                    fprintf(stderr, "bench_startup: %s %s failed (%d, %d)\n", tools[t].path,
                            scenarios[s].name, rc1, rc2);
                    failed = 1;
                }
                rss[t * (size_t)runs + (size_t)r] = (double)kb / 1024.0;
            }
        }
        for (size_t t = 0; !failed && t < ntools; t++) {
            double ms = bench_median(wall + t * (size_t)runs, (size_t)runs) * 1000.0;
            double mb = bench_median(rss + t * (size_t)runs, (size_t)runs);
            bench_report_add(&report, scenarios[s].name, tools[t].name, "wall_ms", ms, "ms",
                             "runs", runs_text, NULL);
            bench_report_add(&report, scenarios[s].name, tools[t].name, "peak_rss_mb", mb,
                             "MiB", "runs", runs_text, NULL);
        }
        if (!failed && ntools == 3) {
            double now = bench_median(wall, (size_t)runs);
            double before = bench_median(wall + (size_t)runs, (size_t)runs);
            bench_report_add(&report, scenarios[s].name, "mdm_vs_mdm-old", "ratio",
                             now > 0 ? before / now : 0, "x faster", "runs", runs_text, NULL);
        }
    }
    free(wall);
    free(rss);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_startup: could not remove %s\n", root);
    if (failed) {
        bench_report_free(&report);
        return 1;
    }
    bench_report_print(&report);
    int rc = bench_report_write(&report, opt.out) == 0 ? 0 : 1;
    bench_report_free(&report);
    return rc;
}
