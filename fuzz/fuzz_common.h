/* Shared by the fuzz targets: a private temporary directory (the readers under test
 * take paths), quiet logging, and a NUL-terminated copy of the input. Each target
 * defines LLVMFuzzerTestOneInput; libFuzzer drives it (scripts/fuzz), and replay.c
 * drives the same function over tests/data/fuzz/<target>/ in the normal test run. */
#ifndef MDM_FUZZ_COMMON_H
#define MDM_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdm/mdm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The target's directory, created on first use and removed at exit. */
static char fuzz_dir[64];

static inline void fuzz_remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir);
}

static inline void fuzz_init(void)
{
    if (fuzz_dir[0])
        return;
    /* tmpfs where there is one: the targets write a file per input (and fsync). */
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/mdm-fuzz-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(fuzz_dir))
        abort();
    atexit(fuzz_remove_dir);
    mdm_log_set_stderr_level(MDM_LOG_CRITICAL);
    for (char **env = environ; env && *env;) {
        if (strncmp(*env, "MDM_", 4) == 0) {
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(*env, "="), *env);
            unsetenv(name);
            env = environ;
        } else {
            env++;
        }
    }
}

/* <fuzz_dir>/<name> holding the input; the path is in a static buffer. */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
    return path;
}

/* A NUL-terminated copy (the caller frees it). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
