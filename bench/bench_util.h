/* Shared helpers for the benchmarks in bench/: command-line options, timing, medians,
 * peak memory, running a comparison tool as a child process, and the result rows
 * (DESIGN.md, "Benchmarks, mechanically") written as JSON and printed as a table.
 *
 * Header-only (static functions): bench/CMakeLists.txt makes one program of every
 * bench/<name>.c, so a helper .c there would need a main of its own. */
#ifndef MDM_BENCH_UTIL_H
#define MDM_BENCH_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mdm/mdm.h"

#if defined(__GNUC__)
#define BENCH_UNUSED __attribute__((unused))
#else
#define BENCH_UNUSED
#endif

/* ------------------------------------------------------------------ options */

/* A benchmark's own on/off switch, e.g. {"--one-transaction", "append ...", &flag}. */
typedef struct bench_flag {
    const char *name;
    const char *help;
    bool *value;
} bench_flag;

typedef struct bench_options {
    int runs;          /* --runs N (at most 1000): repetitions; medians are reported */
    long long rows;    /* --rows N: data size (each benchmark has its default) */
    const char *out;   /* --out FILE: JSON results; default bench/results/<name>.json */
} bench_options;

static BENCH_UNUSED void bench_usage(const char *name, long long default_rows,
                                     const bench_flag *flags)
{
    fprintf(stderr,
            "usage: bench_%s [--runs N] [--rows N] [--out FILE]%s\n"
            "  --runs N    repetitions, medians reported (default 3)\n"
            "  --rows N    rows of generated data (default %lld)\n"
            "  --out FILE  JSON results (default bench/results/%s.json)\n",
            name, flags && flags[0].name ? " [FLAGS]" : "", default_rows, name);
    for (size_t i = 0; flags && flags[i].name; i++)
        fprintf(stderr, "  %s  %s\n", flags[i].name, flags[i].help);
}

static BENCH_UNUSED bool bench_parse_count(long long *out, const char *text, long long min)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < min)
        return false;
    *out = v;
    return true;
}

/* Parses the common options and the benchmark's flags (an array ended by a NULL name;
 * may be NULL); prints usage and exits 2 on a bad one. */
static BENCH_UNUSED bench_options bench_parse_options(int argc, char **argv, const char *name,
                                                      long long default_rows,
                                                      const bench_flag *flags)
{
    bench_options opt = {.runs = 3, .rows = default_rows, .out = NULL};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        long long n = 0;
        bool is_flag = false;
        for (size_t f = 0; flags && flags[f].name; f++) {
            if (strcmp(arg, flags[f].name) == 0) {
                *flags[f].value = true;
                is_flag = true;
            }
        }
        if (is_flag) {
            continue;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            bench_usage(name, default_rows, flags);
            exit(0);
        } else if (strcmp(arg, "--runs") == 0 && value && bench_parse_count(&n, value, 1) &&
                   n <= 1000) {
            opt.runs = (int)n;
            i++;
        } else if (strcmp(arg, "--rows") == 0 && value && bench_parse_count(&n, value, 1)) {
            opt.rows = n;
            i++;
        } else if (strcmp(arg, "--out") == 0 && value) {
            opt.out = value;
            i++;
        } else {
            fprintf(stderr, "bench_%s: bad or incomplete option '%s'\n", name, arg);
            bench_usage(name, default_rows, flags);
            exit(2);
        }
    }
    return opt;
}

/* ------------------------------------------------------------------ time, stats */

static BENCH_UNUSED double bench_now_s(void) { return (double)mdm_now_ns() / 1e9; }

static BENCH_UNUSED int bench_compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n values (n >= 1); the values are left as they were. */
static BENCH_UNUSED double bench_median(const double *values, size_t n)
{
    if (n == 0)
        return 0.0;
    double *sorted = malloc(n * sizeof *sorted);
    if (!sorted) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    memcpy(sorted, values, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, bench_compare_doubles);
    double m = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
    free(sorted);
    return m;
}

static BENCH_UNUSED double bench_max(const double *values, size_t n)
{
    double m = n ? values[0] : 0.0;
    for (size_t i = 1; i < n; i++)
        if (values[i] > m)
            m = values[i];
    return m;
}

/* CPU time (user + system) this process has used so far, all threads, in seconds.
 * Less disturbed than wall time when other work shares the machine. */
static BENCH_UNUSED double bench_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------------------ memory */

/* The process's resident set now, in MiB (from /proc/self/statm); 0 when unknown. */
static BENCH_UNUSED double bench_rss_mb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0.0;
    unsigned long long size = 0, resident = 0;
    int got = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    if (got != 2)
        return 0.0;
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* Peak resident set of this process in MiB, from getrusage. */
static BENCH_UNUSED double bench_peak_rss_mb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return (double)ru.ru_maxrss / 1024.0; /* Linux reports KiB */
}

/* Measures how much memory one phase adds at its peak, above what the process held
 * when it started (the benchmark's own prepared input, say). Linux lets a process
 * reset its peak to its current RSS (/proc/self/clear_refs, "5"); where it cannot,
 * the result is the whole process's peak, and `exact` says so. */
typedef struct bench_mem_phase {
    double start_rss_mb;
    bool exact;
} bench_mem_phase;

static BENCH_UNUSED bench_mem_phase bench_mem_phase_start(void)
{
    bench_mem_phase p = {.start_rss_mb = 0.0, .exact = false};
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        p.exact = write(fd, "5", 1) == 1;
        close(fd);
    }
    if (p.exact)
        p.start_rss_mb = bench_rss_mb();
    return p;
}

static BENCH_UNUSED double bench_mem_phase_peak_mb(const bench_mem_phase *p)
{
    double peak = bench_peak_rss_mb();
    if (!p->exact)
        return peak;
    return peak > p->start_rss_mb ? peak - p->start_rss_mb : 0.0;
}

/* ------------------------------------------------------------------ child tools */

/* The peak RSS (VmHWM) of process `pid` in KiB, 0 when it cannot be read. */
static BENCH_UNUSED long bench_process_hwm_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Runs argv[0] (found on PATH) with `stdin_text` on its standard input (NULL: none),
 * its standard output discarded and its standard error passed through. Extra
 * environment entries ("NAME=value") are added in the child only. Fills the wall time,
 * the child's CPU time (user + system) and its own peak RSS (MiB). Returns the exit
 * status (0 = success), or -1 when it could not be run.
 *
 * The peak is sampled from /proc/<pid>/status every few milliseconds until the child
 * exits (a pidfd wakes us at once when it does). getrusage's ru_maxrss cannot be used
 * for a child of a big process: Linux carries the parent's peak across fork and exec
 * into it. VmHWM belongs to the memory the program got at exec, so it is the tool's own;
 * sampling starts once the exec has happened (a close-on-exec pipe tells). */
static BENCH_UNUSED int bench_run_tool(const char *const argv[], const char *stdin_text,
                                       const char *const extra_env[], double *wall_s,
                                       double *cpu_s, double *peak_rss_mb)
{
    int in_pipe[2] = {-1, -1}, exec_pipe[2] = {-1, -1};
    if (pipe(in_pipe) != 0 || pipe2(exec_pipe, O_CLOEXEC) != 0) {
        fprintf(stderr, "bench: pipe: %s\n", strerror(errno));
        return -1;
    }
    double start = bench_now_s();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bench: fork: %s\n", strerror(errno));
        close(in_pipe[0]);
        close(in_pipe[1]);
        close(exec_pipe[0]);
        close(exec_pipe[1]);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(in_pipe[0], STDIN_FILENO);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        close(in_pipe[0]);
        close(in_pipe[1]);
        close(exec_pipe[0]);
        for (size_t i = 0; extra_env && extra_env[i]; i++)
            putenv((char *)extra_env[i]);
        execvp(argv[0], (char *const *)argv);
        int err = errno;
        ssize_t ignored = write(exec_pipe[1], &err, sizeof err);
        (void)ignored;
        _exit(127);
    }
    close(in_pipe[0]);
    close(exec_pipe[1]);
    int exec_errno = 0;
    ssize_t got;
    while ((got = read(exec_pipe[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR)
        ;
    close(exec_pipe[0]);
    if (got > 0)
        fprintf(stderr, "bench: cannot run %s: %s\n", argv[0], strerror(exec_errno));
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (stdin_text && got == 0) {
        size_t len = strlen(stdin_text), done = 0;
        while (done < len) {
            ssize_t n = write(in_pipe[1], stdin_text + done, len - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break; /* the child exited early; its status tells why */
            done += (size_t)n;
        }
    }
    close(in_pipe[1]);
    long peak_kb = 0;
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    for (;;) {
        if (got == 0) {
            long kb = bench_process_hwm_kb(pid);
            if (kb > peak_kb)
                peak_kb = kb;
        }
        pid_t done = wait4(pid, &status, WNOHANG, &ru);
        if (done == pid)
            break;
        if (done < 0 && errno != EINTR) {
            fprintf(stderr, "bench: wait for %s: %s\n", argv[0], strerror(errno));
            if (pidfd >= 0)
                close(pidfd);
            return -1;
        }
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        poll(&pfd, pidfd >= 0 ? 1 : 0, 5);
    }
    *wall_s = bench_now_s() - start;
    *cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    *peak_rss_mb = (double)peak_kb / 1024.0;
    if (pidfd >= 0)
        close(pidfd);
    if (got != 0)
        return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return -1;
}

/* First line of a command's output (e.g. a version), or "" when it fails. */
static BENCH_UNUSED void bench_command_line(char *buf, size_t size, const char *command)
{
    buf[0] = '\0';
    FILE *p = popen(command, "r");
    if (!p)
        return;
    if (fgets(buf, (int)size, p))
        buf[strcspn(buf, "\n")] = '\0';
    else
        buf[0] = '\0';
    pclose(p);
}

/* ------------------------------------------------------------------ result rows */

typedef struct bench_report {
    const char *name; /* the benchmark: results go to bench/results/<name>.json */
    json_t *rows;
} bench_report;

static BENCH_UNUSED void bench_report_init(bench_report *r, const char *name)
{
    r->name = name;
    r->rows = json_array();
    if (!r->rows) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
}

static BENCH_UNUSED void bench_report_free(bench_report *r)
{
    json_decref(r->rows);
    r->rows = NULL;
}

/* Adds one row. After `unit` come extra "key", "value" string pairs, ended by NULL;
 * a value that is a whole decimal number is written as a JSON number:
 *   bench_report_add(&r, "append", "mdm-sqlite", "rows_per_s", v, "rows/s",
 *                    "backend", "sqlite", "runs", "3", NULL); */
static BENCH_UNUSED void bench_report_add(bench_report *r, const char *case_name,
                                          const char *tool, const char *metric, double value,
                                          const char *unit, ...)
{
    json_t *row = json_object();
    int bad = !row;
    bad |= json_object_set_new(row, "case", json_string(case_name));
    bad |= json_object_set_new(row, "tool", json_string(tool));
    bad |= json_object_set_new(row, "metric", json_string(metric));
    bad |= json_object_set_new(row, "value", json_real(value));
    bad |= json_object_set_new(row, "unit", json_string(unit));
    va_list ap;
    va_start(ap, unit);
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *extra = va_arg(ap, const char *);
        long long n = 0;
        bool number = bench_parse_count(&n, extra, LLONG_MIN);
        bad |= json_object_set_new(row, key, number ? json_integer(n) : json_string(extra));
    }
    va_end(ap);
    bad |= json_array_append_new(r->rows, row);
    if (bad) {
        fprintf(stderr, "bench: out of memory adding a result row\n");
        exit(1);
    }
}

/* Writes the rows as a JSON array to opt_out, or bench/results/<name>.json (the
 * directory is created). Returns 0, or -1 after printing why. */
static BENCH_UNUSED int bench_report_write(const bench_report *r, const char *opt_out)
{
    char path[PATH_MAX];
    if (opt_out) {
        snprintf(path, sizeof path, "%s", opt_out);
    } else {
        if ((mkdir("bench", 0777) != 0 && errno != EEXIST) ||
            (mkdir("bench/results", 0777) != 0 && errno != EEXIST)) {
            fprintf(stderr, "bench: cannot create bench/results: %s\n", strerror(errno));
            return -1;
        }
        snprintf(path, sizeof path, "bench/results/%s.json", r->name);
    }
    if (json_dump_file(r->rows, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) != 0) {
        fprintf(stderr, "bench: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(stderr, "bench_%s: results written to %s\n", r->name, path);
    return 0;
}

static BENCH_UNUSED void bench_format_value(char *buf, size_t size, double v)
{
    if (v >= 100000.0)
        snprintf(buf, size, "%.0f", v);
    else if (v >= 100.0)
        snprintf(buf, size, "%.1f", v);
    else
        snprintf(buf, size, "%.3f", v);
}

/* Prints the rows as an aligned table on stdout: case, tool, the extra keys (in the
 * order first seen), metric, value, unit. */
static BENCH_UNUSED void bench_report_print(const bench_report *r)
{
    enum { MAXCOLS = 16 };
    const char *cols[MAXCOLS] = {"case", "tool"};
    size_t ncols = 2;
    size_t i;
    json_t *row;
    json_array_foreach(r->rows, i, row) {
        const char *key;
        json_t *v;
        json_object_foreach(row, key, v) {
            if (strcmp(key, "case") == 0 || strcmp(key, "tool") == 0 ||
                strcmp(key, "metric") == 0 || strcmp(key, "value") == 0 ||
                strcmp(key, "unit") == 0)
                continue;
            bool known = false;
            for (size_t c = 0; c < ncols; c++)
                known |= strcmp(cols[c], key) == 0;
            if (!known && ncols < MAXCOLS - 3)
                cols[ncols++] = key;
        }
    }
    cols[ncols++] = "metric";
    cols[ncols++] = "value";
    cols[ncols++] = "unit";

    size_t width[MAXCOLS];
    for (size_t c = 0; c < ncols; c++)
        width[c] = strlen(cols[c]);
    char num[64];
    json_array_foreach(r->rows, i, row) {
        for (size_t c = 0; c < ncols; c++) {
            json_t *v = json_object_get(row, cols[c]);
            size_t w = 0;
            if (json_is_string(v))
                w = strlen(json_string_value(v));
            else if (json_is_integer(v))
                w = (size_t)snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            else if (json_is_number(v)) {
                bench_format_value(num, sizeof num, json_number_value(v));
                w = strlen(num);
            }
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t c = 0; c < ncols; c++)
        printf("%-*s%s", (int)width[c], cols[c], c + 1 < ncols ? "  " : "\n");
    for (size_t c = 0; c < ncols; c++) {
        for (size_t k = 0; k < width[c]; k++)
            putchar('-');
        fputs(c + 1 < ncols ? "  " : "\n", stdout);
    }
    json_array_foreach(r->rows, i, row) {
        for (size_t c = 0; c < ncols; c++) {
            json_t *v = json_object_get(row, cols[c]);
            const char *text = "";
            if (json_is_string(v))
                text = json_string_value(v);
            else if (json_is_integer(v)) {
                snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
                text = num;
            } else if (json_is_number(v)) {
                bench_format_value(num, sizeof num, json_number_value(v));
                text = num;
            }
            /* Numbers right-aligned, words left-aligned. */
            if (json_is_number(v))
                printf("%*s%s", (int)width[c], text, c + 1 < ncols ? "  " : "\n");
            else
                printf("%-*s%s", (int)width[c], text, c + 1 < ncols ? "  " : "\n");
        }
    }
    fflush(stdout);
}

#endif
