/* Logging: stderr gets WARNING and above ("LEVEL: message"); after mdm_log_init the log
 * file gets logging.level and above, as console lines or JSON objects. Levels live in
 * atomics so that mdm_log_enabled, called before formatting anything, costs one load. */
#include "mdm/mdm.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/config_internal.h"
#include "core/log_internal.h"
#include "core/strbuf.h"

#define LEVEL_OFF 1000

static atomic_int stderr_level = MDM_LOG_WARNING;
static atomic_int file_level = LEVEL_OFF;
static atomic_int capture_level = LEVEL_OFF;
static atomic_int lowest_level = MDM_LOG_WARNING; /* the smallest of the three */
static atomic_bool json_lines;

/* Serializes changes of the levels so that lowest_level is computed from one state. */
static pthread_mutex_t settings_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t capture_lock = PTHREAD_MUTEX_INITIALIZER;
static log_capture_fn capture_fn;
static void *capture_ctx;

static void update_lowest(void)
{
    int lowest = atomic_load(&stderr_level);
    int file = atomic_load(&file_level), capture = atomic_load(&capture_level);
    if (file < lowest)
        lowest = file;
    if (capture < lowest)
        lowest = capture;
    atomic_store(&lowest_level, lowest);
}

static void set_level(atomic_int *which, int level)
{
    pthread_mutex_lock(&settings_lock);
    atomic_store(which, level);
    update_lowest();
    pthread_mutex_unlock(&settings_lock);
}

/* ------------------------------------------------------------------ level names */

static const struct {
    const char *name;
    mdm_log_level level;
} levels[] = {
    {"DEBUG", MDM_LOG_DEBUG},     {"INFO", MDM_LOG_INFO},         {"WARNING", MDM_LOG_WARNING},
    {"ERROR", MDM_LOG_ERROR},     {"CRITICAL", MDM_LOG_CRITICAL},
};

int mdm_log_level_parse(mdm_log_level *out, const char *name)
{
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (strcasecmp(levels[i].name, name) == 0) {
            *out = levels[i].level;
            return 0;
        }
    if (strcasecmp(name, "WARN") == 0) {
        *out = MDM_LOG_WARNING;
        return 0;
    }
    return mdm_error_set(MDM_EINVALID, "unknown log level '%s': must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
                         name);
}

const char *mdm_log_level_name(mdm_log_level level)
{
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (levels[i].level == level)
            return levels[i].name;
    return "UNKNOWN";
}

/* ------------------------------------------------------------------ settings */

bool mdm_log_enabled(mdm_log_level level)
{
    return (int)level >= atomic_load_explicit(&lowest_level, memory_order_relaxed);
}

void mdm_log_set_stderr_level(mdm_log_level level) { set_level(&stderr_level, level); }

void log_set_capture(log_capture_fn fn, void *ctx, mdm_log_level level)
{
    pthread_mutex_lock(&capture_lock);
    capture_fn = fn;
    capture_ctx = ctx;
    pthread_mutex_unlock(&capture_lock);
    set_level(&capture_level, fn ? (int)level : LEVEL_OFF);
}

/* logging.file under logs_path, unless absolute. */
static char *log_file_path(const mdm_config *cfg)
{
    const char *file = mdm_config_str(cfg, "logging.file");
    if (!file || !*file)
        return NULL;
    strbuf sb = STRBUF_INIT;
    if (file[0] == '/')
        strbuf_append(&sb, file);
    else
        strbuf_appendf(&sb, "%s/%s", mdm_config_path(cfg, "logs_path"), file);
    if (!strbuf_cstr(&sb)) {
        strbuf_free(&sb);
        return NULL;
    }
    return strbuf_detach(&sb);
}

int mdm_log_init(const mdm_config *cfg)
{
    mdm_log_level level = MDM_LOG_INFO;
    const char *level_name = mdm_config_str(cfg, "logging.level");
    if (level_name && mdm_log_level_parse(&level, level_name))
        return MDM_EINVALID;
    const char *format = mdm_config_str(cfg, "logging.format");
    char *path = log_file_path(cfg);
    int rc = log_file_configure(path, mdm_config_int(cfg, "logging.max_bytes"),
                                (int)mdm_config_int(cfg, "logging.backup_count"));
    if (rc == 0) {
        atomic_store(&json_lines, format && strcmp(format, "json") == 0);
        set_level(&file_level, path ? (int)level : LEVEL_OFF);
        config_log_dump(cfg);
    }
    free(path);
    return rc;
}

void mdm_log_shutdown(void)
{
    set_level(&file_level, LEVEL_OFF);
    log_file_configure(NULL, 0, 0);
}

/* ------------------------------------------------------------------ lines */

static long thread_id(void)
{
    static _Thread_local long tid;
    if (!tid)
        tid = (long)syscall(SYS_gettid);
    return tid;
}

/* "2026-11-23 18:00:00.123" (console) or "2026-11-23T18:00:00.123+01:00" (json). */
static void append_timestamp(strbuf *sb, bool iso)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    localtime_r(&now.tv_sec, &tm);
    char date[32], zone[8] = "";
    strftime(date, sizeof date, iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
    strbuf_appendf(sb, "%s.%03ld", date, now.tv_nsec / 1000000);
    if (iso && strftime(zone, sizeof zone, "%z", &tm) == 5) /* +hhmm -> +hh:mm */
        strbuf_appendf(sb, "%.3s:%.2s", zone, zone + 3);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : 0;
    if (n == 0)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((n == 3 && s[0] == 0xE0 && s[1] < 0xA0) || (n == 3 && s[0] == 0xED && s[1] >= 0xA0) ||
        (n == 4 && s[0] == 0xF0 && s[1] < 0x90) || (n == 4 && s[0] == 0xF4 && s[1] >= 0x90))
        return 0; /* overlong, surrogate or beyond U+10FFFF */
    return n;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD so the line always parses. */
static void append_json_string(strbuf *sb, const char *text)
{
    strbuf_append_char(sb, '"');
    for (const unsigned char *p = (const unsigned char *)text; *p;) {
        if (*p == '"' || *p == '\\') {
            strbuf_append_char(sb, '\\');
            strbuf_append_char(sb, (char)*p++);
        } else if (*p == '\n') {
            strbuf_append(sb, "\\n");
            p++;
        } else if (*p == '\t') {
            strbuf_append(sb, "\\t");
            p++;
        } else if (*p == '\r') {
            strbuf_append(sb, "\\r");
            p++;
        } else if (*p < 0x20 || *p == 0x7F) {
            strbuf_appendf(sb, "\\u%04x", *p++);
        } else {
            size_t n = utf8_sequence(p);
            if (n == 0) {
                strbuf_append(sb, "\\ufffd");
                p++;
            } else {
                strbuf_append_len(sb, (const char *)p, n);
                p += n;
            }
        }
    }
    strbuf_append_char(sb, '"');
}

static void format_file_line(strbuf *sb, mdm_log_level level, const char *message)
{
    const char *name = mdm_log_level_name(level);
    if (atomic_load_explicit(&json_lines, memory_order_relaxed)) {
        strbuf_append(sb, "{\"ts\":\"");
        append_timestamp(sb, true);
        strbuf_appendf(sb, "\",\"level\":\"%s\",\"pid\":%ld,\"thread\":%ld,\"message\":", name,
                       (long)getpid(), thread_id());
        append_json_string(sb, message);
        strbuf_append(sb, "}\n");
    } else {
        append_timestamp(sb, false);
        strbuf_appendf(sb, " %s [%ld:%ld] %s\n", name, (long)getpid(), thread_id(), message);
    }
}

static void write_stderr(mdm_log_level level, const char *message)
{
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "%s: %s\n", mdm_log_level_name(level), message);
    if (strbuf_cstr(&sb))
        fwrite(sb.data, 1, sb.len, stderr); /* one call: lines of threads do not mix */
    strbuf_free(&sb);
}

static void write_capture(mdm_log_level level, const char *message)
{
    pthread_mutex_lock(&capture_lock);
    if (capture_fn)
        capture_fn(level, message, capture_ctx);
    pthread_mutex_unlock(&capture_lock);
}

static void write_file(mdm_log_level level, const char *message)
{
    strbuf sb = STRBUF_INIT;
    char warning[1024];
    format_file_line(&sb, level, message);
    if (!strbuf_cstr(&sb)) {
        strbuf_free(&sb);
        return;
    }
    if (log_file_write(sb.data, sb.len, warning, sizeof warning) != 0)
        set_level(&file_level, LEVEL_OFF); /* the file cannot be opened: stderr only */
    strbuf_free(&sb);
    /* The file's own trouble goes to stderr only: the file may be what is broken. */
    if (warning[0] && MDM_LOG_WARNING >= atomic_load(&stderr_level))
        write_stderr(MDM_LOG_WARNING, warning);
    if (warning[0] && MDM_LOG_WARNING >= atomic_load(&capture_level))
        write_capture(MDM_LOG_WARNING, warning);
}

void mdm_log(mdm_log_level level, const char *fmt, ...)
{
    if (!mdm_log_enabled(level))
        return;
    char stack[1024];
    char *message = stack;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stack, sizeof stack, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof stack) {
        message = malloc((size_t)n + 1);
        if (!message)
            message = stack; /* out of memory: log the truncated message */
        else {
            va_start(ap, fmt);
            vsnprintf(message, (size_t)n + 1, fmt, ap);
            va_end(ap);
        }
    }
    if ((int)level >= atomic_load(&stderr_level))
        write_stderr(level, message);
    if ((int)level >= atomic_load(&file_level))
        write_file(level, message);
    if ((int)level >= atomic_load(&capture_level))
        write_capture(level, message);
    if (message != stack)
        free(message);
}
