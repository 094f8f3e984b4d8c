/* mdm version, mdm info: what mdm is, where it keeps things, what it is linked with. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"

int cli_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("MDM version %s\n", mdm_version());
    return 0;
}

/* Number of registered datasets: the registry YAML files. */
static long count_datasets(const char *configs_path)
{
    DIR *d = opendir(configs_path);
    if (!d)
        return 0;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".yaml") == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Free bytes on the file system holding `path` or its nearest existing parent. */
static unsigned long long free_space(const char *path)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", path);
    struct statvfs vfs;
    while (statvfs(p, &vfs) != 0) {
        char *slash = strrchr(p, '/');
        if (!slash || slash == p)
            return statvfs("/", &vfs) == 0 ? (unsigned long long)vfs.f_bavail * vfs.f_frsize : 0;
        *slash = '\0';
    }
    return (unsigned long long)vfs.f_bavail * vfs.f_frsize;
}

/* The scratch directory of the check: the engine's files directly in it, then itself. */
static void remove_scratch(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            unlinkat(dirfd(d), e->d_name, 0) != 0)
            fprintf(stderr, "could not remove %s/%s: %s\n", dir, e->d_name, strerror(errno));
    if (d)
        closedir(d);
    if (rmdir(dir) != 0)
        fprintf(stderr, "could not remove %s: %s\n", dir, strerror(errno));
}

static void usage(void)
{
    puts("Usage: mdm info [--format rich|json] [--check]\n"
         "\n"
         "  Show configuration, storage backends and system information.\n"
         "\n"
         "Options:\n"
         "  --format, -f TEXT  Output format: rich (default) or json.\n"
         "  --check            Connect to the default backend and show its pool.\n"
         "  --help             Show this message and exit.");
}

/* Connects to the default backend through a pool, as a command would, and prints the
 * pool's figures. SQLite and DuckDB are checked on a scratch file outside the home. */
static int check_backend(const mdm_config *cfg, bool json)
{
    const char *backend = mdm_config_str(cfg, "database.default_backend");
    char dir[] = "/tmp/mdm-check-XXXXXX", path[256];
    mdm_target t = {.dataset = "mdm_check"};
    bool file = strcmp(backend, "postgresql") != 0;
    if (file) {
        if (!mkdtemp(dir))
            return cli_fail("cannot create a scratch directory in /tmp: %s", strerror(errno));
        snprintf(path, sizeof path, "%s/check.%s", dir, backend);
        t.path = path;
    }
    mdm_store *store = NULL;
    mdm_conn *conn = NULL;
    int rc = mdm_store_open(&store, backend, &t, cfg);
    if (!rc)
        rc = mdm_store_checkout(store, &conn);
    if (!rc)
        rc = mdm_conn_ping(conn);
    mdm_store_checkin(store, conn);
    mdm_pool_stats s = {0};
    if (store)
        mdm_store_pool_stats(store, &s);
    if (rc) {
        cli_fail_last();
    } else if (json) {
        json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:s}", "backend", backend, "pool",
                              s.name, "size", (json_int_t)s.size, "max_size",
                              (json_int_t)s.max_size, "created", (json_int_t)s.created,
                              "wait_p99_ms", s.wait_p99_ms, "breaker", s.breaker);
        cli_print_json(o);
    } else {
        printf("\nCheck\n");
        printf("  Backend            %s: connected\n", backend);
        printf("  Pool               %s\n", s.name);
        printf("  Connections        %zu open, %zu idle, %zu in use (max %zu)\n", s.size, s.idle,
               s.in_use, s.max_size);
        printf("  Checkout wait p99  %.3f ms\n", s.wait_p99_ms);
        printf("  Circuit breaker    %s\n", s.breaker);
    }
    mdm_store_free(store);
    if (file)
        remove_scratch(dir);
    return rc ? 1 : 0;
}

int cli_info(int argc, char **argv)
{
    const char *format = "rich";
    bool check = false;
    for (int i = 1; i < argc; i++) {
        bool bad = false;
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            usage();
            return 0;
        } else if (strcmp(argv[i], "--check") == 0) {
            check = true;
        } else if ((v = cli_option_value(argc, argv, &i, "--format", "-f", &bad))) {
            format = v;
        } else if (bad) {
            return 2;
        } else {
            cli_fail("No such option: %s", argv[i]);
            return 2;
        }
    }
    if (strcmp(format, "rich") != 0 && strcmp(format, "json") != 0) {
        cli_fail("Invalid value for '--format': '%s' is not one of 'rich', 'json'.", format);
        return 2;
    }
    mdm_config *cfg = cli_config_load();
    if (!cfg)
        return 1;
    if (check) {
        /* The check alone: its output is what a script reads. */
        int rc = check_backend(cfg, strcmp(format, "json") == 0);
        cli_config_free(cfg);
        return rc;
    }
    const char *datasets = mdm_config_path(cfg, "datasets_path");
    long ndatasets = count_datasets(mdm_config_path(cfg, "configs_path"));
    uint64_t used = 0;
    mdm_catalog *cat = NULL;
    if (mdm_catalog_open(&cat, cfg) == 0)
        mdm_catalog_storage_size(&used, cat);
    mdm_catalog_free(cat);
    unsigned long long avail = free_space(mdm_config_home(cfg));
    struct utsname un;
    char platform[300] = "unknown";
    if (uname(&un) == 0)
        snprintf(platform, sizeof platform, "%s %s %s", un.sysname, un.release, un.machine);

    int rc = 0;
    if (strcmp(format, "json") == 0) {
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:I, s:I, s:I, s:I, s:I, s:s,"
            " s:{s:s, s:s, s:s}}",
            "version", mdm_version(), "home", mdm_config_home(cfg), "config_file",
            mdm_config_file(cfg), "default_backend",
            mdm_config_str(cfg, "database.default_backend"), "paths", "datasets_path", datasets,
            "configs_path", mdm_config_path(cfg, "configs_path"), "logs_path",
            mdm_config_path(cfg, "logs_path"), "custom_features_path",
            mdm_config_path(cfg, "custom_features_path"), "batch_size",
            (json_int_t)mdm_config_int(cfg, "performance.batch_size"), "max_workers",
            (json_int_t)mdm_config_int(cfg, "performance.max_concurrent_operations"), "datasets",
            (json_int_t)ndatasets, "storage_used_bytes", (json_int_t)used, "free_disk_bytes",
            (json_int_t)avail, "platform", platform, "libraries", "sqlite",
            mdm_backend_library_version("sqlite"), "duckdb",
            mdm_backend_library_version("duckdb"), "libpq",
            mdm_backend_library_version("postgres"));
        rc = cli_print_json(o);
    } else {
        char used_s[32], avail_s[32];
        cli_human_bytes(used_s, sizeof used_s, (long long)used);
        cli_human_bytes(avail_s, sizeof avail_s, (long long)avail);
        printf("ML Data Manager\n\n");
        printf("  Version            %s\n", mdm_version());
        printf("  Home               %s\n", mdm_config_home(cfg));
        printf("  Config file        %s\n", mdm_config_file(cfg));
        printf("  Default backend    %s\n", mdm_config_str(cfg, "database.default_backend"));
        printf("\nPaths\n");
        printf("  Datasets           %s\n", datasets);
        printf("  Configs            %s\n", mdm_config_path(cfg, "configs_path"));
        printf("  Logs               %s\n", mdm_config_path(cfg, "logs_path"));
        printf("  Custom features    %s\n", mdm_config_path(cfg, "custom_features_path"));
        printf("\nPerformance\n");
        printf("  Chunk size         %lld\n",
               (long long)mdm_config_int(cfg, "performance.batch_size"));
        printf("  Max workers        %lld\n",
               (long long)mdm_config_int(cfg, "performance.max_concurrent_operations"));
        printf("\nStorage\n");
        printf("  Datasets           %ld\n", ndatasets);
        printf("  Storage used       %s\n", used_s);
        printf("  Free disk          %s\n", avail_s);
        printf("\nLinked engines\n");
        printf("  SQLite             %s\n", mdm_backend_library_version("sqlite"));
        printf("  DuckDB             %s\n", mdm_backend_library_version("duckdb"));
        printf("  libpq              %s\n", mdm_backend_library_version("postgres"));
        printf("\nSystem\n");
        printf("  Platform           %s\n", platform);
    }
    cli_config_free(cfg);
    return rc;
}
