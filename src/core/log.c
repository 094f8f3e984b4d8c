/* Logging. PROVISIONAL: stderr only; the file sink with rotation is being written. */
#include "mdm/mdm.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

static mdm_log_level stderr_level = MDM_LOG_WARNING;

int mdm_log_init(const mdm_config *cfg) { (void)cfg; return 0; }
void mdm_log_shutdown(void) {}
void mdm_log_set_stderr_level(mdm_log_level level) { stderr_level = level; }
bool mdm_log_enabled(mdm_log_level level) { return level >= stderr_level; }

static const struct { const char *name; mdm_log_level level; } levels[] = {
    {"DEBUG", MDM_LOG_DEBUG}, {"INFO", MDM_LOG_INFO}, {"WARNING", MDM_LOG_WARNING},
    {"ERROR", MDM_LOG_ERROR}, {"CRITICAL", MDM_LOG_CRITICAL},
};

int mdm_log_level_parse(mdm_log_level *out, const char *name)
{
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (strcasecmp(levels[i].name, name) == 0) {
            *out = levels[i].level;
            return 0;
        }
    return mdm_error_set(MDM_EINVALID, "unknown log level '%s'", name);
}

const char *mdm_log_level_name(mdm_log_level level)
{
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (levels[i].level == level)
            return levels[i].name;
    return "UNKNOWN";
}

void mdm_log(mdm_log_level level, const char *fmt, ...)
{
    if (level < stderr_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", mdm_log_level_name(level));
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
