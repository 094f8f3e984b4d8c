/* mdm stats show|summary|dataset|cleanup|logs|dashboard (SPEC §3 `stats`): the
 * operation history of <home>/metrics.db, the log file and the dashboard page. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/commands.h"

static bool parse_count(long long *out, const char *text, const char *option)
{
    char *end = NULL;
    long long v = text ? strtoll(text, &end, 10) : -1;
    if (!text || *end || v < 0) {
        cli_fail("Invalid value for '%s': '%s' is not a valid integer.", option,
                 text ? text : "");
        return false;
    }
    *out = v;
    return true;
}

static bool valid_format(const char *format)
{
    if (strcmp(format, "rich") == 0 || strcmp(format, "json") == 0)
        return true;
    cli_fail("Invalid value for '--format': '%s' is not one of rich, json.", format);
    return false;
}

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "-";
}

static void print_int_or_dash(const json_t *v, int width)
{
    if (json_is_integer(v))
        printf(" %*lld", width, (long long)json_integer_value(v));
    else
        printf(" %*s", width, "-");
}

static void print_operations(const json_t *doc, const char *title)
{
    const json_t *ops = json_object_get(doc, "operations");
    if (json_array_size(ops) == 0) {
        printf("No operations recorded.\n");
        return;
    }
    printf("%s (%zu)\n\n", title, json_array_size(ops));
    printf("%6s  %-19s  %-18s  %-20s %10s %10s %10s  %s\n", "ID", "Started (UTC)", "Type",
           "Dataset", "Duration", "Rows", "Bytes", "Outcome");
    size_t i;
    const json_t *op;
    json_array_foreach(ops, i, op) {
        char when[20] = "";
        snprintf(when, sizeof when, "%.19s", str(op, "started_at"));
        if (strlen(when) > 10)
            when[10] = ' ';
        char dur[32];
        snprintf(dur, sizeof dur, "%.1f ms", json_number_value(json_object_get(op, "duration_ms")));
        printf("%6lld  %-19s  %-18s  %-20s %10s", (long long)json_integer_value(json_object_get(op, "id")),
               when, str(op, "type"), str(op, "dataset"), dur);
        print_int_or_dash(json_object_get(op, "rows"), 10);
        print_int_or_dash(json_object_get(op, "bytes"), 10);
        const char *outcome = str(op, "outcome");
        if (strcmp(outcome, "ok") == 0)
            printf("  ok\n");
        else
            printf("  error: %s\n", str(op, "error"));
    }
}

static void print_counts(const json_t *obj, const char *title)
{
    printf("\n%s:\n", title);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v)
        printf("  %-22s %lld\n", k, (long long)json_integer_value(v));
}

static void print_summary(const json_t *doc)
{
    const char *ds = json_string_value(json_object_get(doc, "dataset"));
    if (ds)
        printf("Operations on '%s'\n\n", ds);
    else
        printf("Operation history summary\n\n");
    printf("  Total operations:  %lld\n", (long long)json_integer_value(json_object_get(doc, "total")));
    if (!ds)
        printf("  Datasets:          %lld\n", (long long)json_integer_value(json_object_get(doc, "datasets")));
    printf("  First:             %s\n", str(doc, "first"));
    printf("  Last:              %s\n", str(doc, "last"));
    printf("  Mean duration:     %.1f ms\n", json_number_value(json_object_get(doc, "mean_duration_ms")));
    printf("  Rows:              %lld\n", (long long)json_integer_value(json_object_get(doc, "rows")));
    char bytes[32];
    cli_human_bytes(bytes, sizeof bytes, (long long)json_integer_value(json_object_get(doc, "bytes")));
    printf("  Bytes:             %s\n", bytes);
    print_counts(json_object_get(doc, "by_type"), "By type");
    print_counts(json_object_get(doc, "by_outcome"), "By outcome");
}

/* Prints a JSON text from the API in the chosen format, and frees it. */
static int emit(char *text, const char *format, void (*rich)(const json_t *))
{
    json_t *doc = json_loads(text, JSON_DECODE_ANY, NULL);
    free(text);
    if (!doc)
        return cli_fail("history: unreadable answer");
    if (strcmp(format, "json") == 0)
        return cli_print_json(doc);
    rich(doc);
    json_decref(doc);
    return 0;
}

static void rich_operations(const json_t *doc) { print_operations(doc, "Recent operations"); }

static int cmd_show(int argc, char **argv)
{
    const char *n_text = "20", *dataset = NULL, *type = NULL, *format = "rich";
    const cli_opt opts[] = {
        {"--limit", "-n", "INTEGER", &n_text, "Operations to show (newest first)."},
        {"--dataset", "-d", "TEXT", &dataset, "Only this dataset."},
        {"--type", "-t", "TEXT", &type, "Only this operation type."},
        {"--format", "-f", "TEXT", &format, "rich (default) or json."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm stats show [OPTIONS]",
                       .summary = "Show recent operations.", .opts = opts};
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    long long n;
    if (!parse_count(&n, n_text, "--limit") || !valid_format(format))
        return 2;
    if (type) {
        size_t i = 0;
        while (mdm_history_types[i] && strcmp(mdm_history_types[i], type) != 0)
            i++;
        if (!mdm_history_types[i]) {
            cli_fail("Invalid value for '--type': '%s' is not a known operation type.", type);
            return 2;
        }
    }
    mdm_config *cfg = cli_config_load();
    if (!cfg)
        return 1;
    char *text = NULL;
    mdm_history_filter f = {.limit = (size_t)n, .dataset = dataset, .type = type};
    int rc = n == 0 ? 0 : mdm_history_list(&text, cfg, &f);
    int status = rc ? cli_fail_last()
                    : emit(text ? text : strdup("{\"operations\":[]}"), format, rich_operations);
    cli_config_free(cfg);
    return status;
}

static int cmd_summary(int argc, char **argv, const char *name)
{
    const char *format = "rich";
    static const char *const args[] = {"NAME"};
    const char *values[1] = {NULL};
    const cli_opt opts[] = {
        {"--format", "-f", "TEXT", &format, "rich (default) or json."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = name ? "mdm stats dataset NAME [OPTIONS]" : "mdm stats summary [OPTIONS]",
                       .summary = name ? "Show the operations on one dataset."
                                       : "Summarize the operation history.",
                       .args = name ? args : NULL, .values = name ? values : NULL,
                       .nargs = name ? 1 : 0, .opts = opts};
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    if (!valid_format(format))
        return 2;
    mdm_config *cfg = cli_config_load();
    if (!cfg)
        return 1;
    char norm[512] = "";
    char *text = NULL, *ops = NULL;
    int rc = name ? mdm_dataset_name_normalize(norm, sizeof norm, values[0]) : 0;
    if (!rc)
        rc = mdm_history_summary(&text, cfg, name ? norm : NULL);
    mdm_history_filter f = {.limit = 10, .dataset = norm};
    if (!rc && name)
        rc = mdm_history_list(&ops, cfg, &f);
    int status = 0;
    if (rc) {
        status = cli_fail_last();
    } else if (!name) {
        status = emit(text, format, print_summary);
        text = NULL;
    } else {
        json_t *doc = json_loads(text, 0, NULL), *list = json_loads(ops, 0, NULL);
        if (!doc || !list) {
            status = cli_fail("history: unreadable answer");
        } else if (strcmp(format, "json") == 0) {
            json_object_set(doc, "recent", json_object_get(list, "operations"));
            status = cli_print_json(json_incref(doc));
        } else {
            print_summary(doc);
            printf("\n");
            print_operations(list, "Recent operations");
        }
        json_decref(doc);
        json_decref(list);
    }
    free(text);
    free(ops);
    cli_config_free(cfg);
    return status;
}

static int cmd_overview(int argc, char **argv) { return cmd_summary(argc, argv, NULL); }
static int cmd_dataset(int argc, char **argv) { return cmd_summary(argc, argv, "dataset"); }

/* "Are you sure?" on the terminal; anything but y/yes is no. */
static bool confirm(const char *question)
{
    fprintf(stderr, "%s [y/N]: ", question);
    fflush(stderr);
    char answer[16] = "";
    if (!fgets(answer, sizeof answer, stdin))
        return false;
    return strcmp(answer, "y\n") == 0 || strcmp(answer, "Y\n") == 0 || strcmp(answer, "yes\n") == 0;
}

static int cmd_cleanup(int argc, char **argv)
{
    const char *days_text = "30";
    bool yes = false;
    const cli_opt opts[] = {
        {"--days", "-d", "INTEGER", &days_text, "Remove operations older than this many days."},
        {"--yes", "-y", NULL, &yes, "Do not ask for confirmation."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm stats cleanup [OPTIONS]",
                       .summary = "Remove old operations from the history.", .opts = opts};
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    long long days;
    if (!parse_count(&days, days_text, "--days"))
        return 2;
    if (!yes) {
        if (!isatty(STDIN_FILENO))
            return cli_fail("Not removing history without a terminal to confirm; pass --yes.");
        char q[128];
        snprintf(q, sizeof q, "Remove operations older than %lld days?", days);
        if (!confirm(q)) {
            printf("Cancelled.\n");
            return 0;
        }
    }
    mdm_config *cfg = cli_config_load();
    if (!cfg)
        return 1;
    int64_t removed = 0;
    int rc = mdm_history_cleanup(&removed, cfg, days);
    int status = rc ? cli_fail_last() : 0;
    if (!rc)
        printf("Removed %lld operation(s) older than %lld days.\n", (long long)removed, days);
    cli_config_free(cfg);
    return status;
}

/* The level named on a log line: text lines "DATE TIME LEVEL [pid:tid] ...", JSON lines
 * {"level":"LEVEL",...}. -1 when none. */
static int line_level(const char *line)
{
    char word[16] = "";
    const char *p = strstr(line, "\"level\":\"");
    if (line[0] == '{' && p) {
        sscanf(p + 9, "%15[A-Z]", word);
    } else if ((p = strchr(line, ' ')) && (p = strchr(p + 1, ' '))) {
        sscanf(p + 1, "%15[A-Z]", word); /* "DATE TIME LEVEL [pid:tid] message" */
    }
    mdm_log_level level;
    return word[0] && mdm_log_level_parse(&level, word) == 0 ? (int)level : -1;
}

static int cmd_logs(int argc, char **argv)
{
    const char *n_text = "50", *level_name = NULL, *grep = NULL;
    const cli_opt opts[] = {
        {"--lines", "-n", "INTEGER", &n_text, "Last lines to show."},
        {"--level", "-l", "TEXT", &level_name, "Only this level and above (DEBUG, INFO, WARNING, ERROR)."},
        {"--grep", "-g", "TEXT", &grep, "Only lines containing TEXT."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm stats logs [OPTIONS]",
                       .summary = "Show the last lines of the mdm log file.", .opts = opts};
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    long long n;
    mdm_log_level min = MDM_LOG_DEBUG;
    if (!parse_count(&n, n_text, "--lines"))
        return 2;
    if (level_name && mdm_log_level_parse(&min, level_name) != 0) {
        cli_fail("Invalid value for '--level': '%s'.", level_name);
        return 2;
    }
    mdm_config *cfg = mdm_config_load(&cfg, NULL) == 0 ? cfg : NULL;
    if (!cfg)
        return cli_fail_last();
    const char *file = mdm_config_str(cfg, "logging.file");
    char path[4096];
    if (file && file[0] == '/')
        snprintf(path, sizeof path, "%s", file);
    else
        snprintf(path, sizeof path, "%s/%s", mdm_config_path(cfg, "logs_path"), file ? file : "mdm.log");
    mdm_config_free(cfg);
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("No log file at %s\n", path);
        return 0;
    }
    /* A ring of the last n matching lines. */
    char **ring = calloc(n ? (size_t)n : 1, sizeof *ring);
    size_t count = 0;
    char *line = NULL;
    size_t cap = 0;
    while (ring && n > 0 && getline(&line, &cap, f) >= 0) {
        int lv = line_level(line);
        if ((level_name && lv < (int)min) || (grep && !strstr(line, grep)))
            continue;
        free(ring[count % (size_t)n]);
        ring[count % (size_t)n] = strdup(line);
        count++;
    }
    fclose(f);
    free(line);
    if (!ring)
        return cli_fail("out of memory");
    size_t shown = count < (size_t)n ? count : (size_t)n;
    for (size_t i = count - shown; i < count; i++) {
        fputs(ring[i % (size_t)n] ? ring[i % (size_t)n] : "", stdout);
        free(ring[i % (size_t)n]);
    }
    free(ring);
    return 0;
}

static int cmd_dashboard(int argc, char **argv)
{
    const char *output = NULL;
    bool open_flag = false, no_open = false;
    const cli_opt opts[] = {
        {"--output", "-o", "PATH", &output, "Where to write the page (default <home>/dashboard.html)."},
        {"--open", NULL, NULL, &open_flag, "Accepted for compatibility: mdm opens no browser."},
        {"--no-open", NULL, NULL, &no_open, "Do not open a browser (the default)."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm stats dashboard [OPTIONS]",
                       .summary = "Write a self-contained HTML dashboard of the datasets and the "
                                  "operation history.",
                       .opts = opts};
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    mdm_catalog *cat = cli_catalog_open();
    if (!cat)
        return 1;
    char path[4096];
    if (output)
        snprintf(path, sizeof path, "%s", output);
    else
        snprintf(path, sizeof path, "%s/dashboard.html", mdm_config_home(mdm_catalog_config(cat)));
    int rc = mdm_dashboard_write(cat, path);
    int status = rc ? cli_fail_last() : 0;
    if (!rc)
        printf("Dashboard written to %s\n", path);
    cli_catalog_close(cat);
    return status;
}

static void usage(void)
{
    fputs("Usage: mdm stats [OPTIONS] COMMAND [ARGS]...\n"
          "\n"
          "  The operation history (<home>/metrics.db), the log and the dashboard.\n"
          "\n"
          "Commands:\n"
          "  show       Show recent operations.\n"
          "  summary    Summarize the operation history.\n"
          "  dataset    Show the operations on one dataset.\n"
          "  cleanup    Remove old operations from the history.\n"
          "  logs       Show the last lines of the mdm log file.\n"
          "  dashboard  Write a self-contained HTML dashboard.\n",
          stdout);
}

int cli_metrics(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } subs[] = {
        {"show", cmd_show},       {"summary", cmd_overview}, {"dataset", cmd_dataset},
        {"cleanup", cmd_cleanup}, {"logs", cmd_logs},        {"dashboard", cmd_dashboard},
    };
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].run(argc - 1, argv + 1);
    cli_fail("No such command 'stats %s'. Try 'mdm stats --help'.", argv[1]);
    return 2;
}
