/* What the backends' read-only query slots share (query_support.h). */
#include "storage/backends/query_support.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdm/mdm.h"

#define POLL_NS (5 * 1000000ull) /* how often `canceled` is asked */

struct query_watch {
    uint64_t deadline_ns;
    bool (*canceled)(void *);
    void *cancel_ctx;
    void (*interrupt)(void *);
    void *interrupt_ctx;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool done;  /* the query ended: fire no more */
    int fired;  /* 0, MDM_ETIMEOUT or MDM_ECANCELED */
};

uint64_t query_deadline(uint64_t timeout_ms)
{
    return timeout_ms ? mdm_now_ns() + timeout_ms * 1000000ull : 0;
}

int query_interrupted(int fired, uint64_t timeout_ms)
{
    if (fired == MDM_ETIMEOUT)
        return mdm_error_set(MDM_ETIMEOUT, "query exceeded its time limit of %llu ms",
                             (unsigned long long)timeout_ms);
    return mdm_error_set(MDM_ECANCELED, "query cancelled");
}

static struct timespec monotonic_in(uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t at = (uint64_t)ts.tv_nsec + ns;
    ts.tv_sec += (time_t)(at / 1000000000ull);
    ts.tv_nsec = (long)(at % 1000000000ull);
    return ts;
}

/* Once it has fired, the watch interrupts again every poll until the query ends: an
 * interruption that reached the engine before the statement started (or between two
 * statements of the query) would otherwise be lost. Interrupting happens under the
 * lock, so query_watch_stop cannot return while the engine is being interrupted. */
static void *watch_main(void *arg)
{
    query_watch *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->done) {
        uint64_t now = mdm_now_ns(), wait = POLL_NS;
        if (!w->fired && w->deadline_ns && now >= w->deadline_ns)
            w->fired = MDM_ETIMEOUT;
        if (!w->fired && w->canceled && w->canceled(w->cancel_ctx))
            w->fired = MDM_ECANCELED;
        if (w->fired)
            w->interrupt(w->interrupt_ctx);
        else if (!w->canceled)
            wait = w->deadline_ns - now;
        else if (w->deadline_ns && w->deadline_ns - now < wait)
            wait = w->deadline_ns - now;
        struct timespec until = monotonic_in(wait);
        pthread_cond_timedwait(&w->wake, &w->lock, &until);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int query_watch_start(query_watch **out, uint64_t deadline_ns, bool (*canceled)(void *),
                      void *cancel_ctx, void (*interrupt)(void *), void *interrupt_ctx)
{
    *out = NULL;
    if (!deadline_ns && !canceled)
        return 0;
    query_watch *w = calloc(1, sizeof *w);
    if (!w)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    *w = (query_watch){.deadline_ns = deadline_ns, .canceled = canceled,
                       .cancel_ctx = cancel_ctx, .interrupt = interrupt,
                       .interrupt_ctx = interrupt_ctx};
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&w->lock, NULL);
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return mdm_error_set(MDM_ERROR, "cannot start the watchdog thread of a query");
    }
    *out = w;
    return 0;
}

int query_watch_stop(query_watch *w)
{
    if (!w)
        return 0;
    pthread_mutex_lock(&w->lock);
    w->done = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    int fired = w->fired;
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return fired;
}

/* ------------------------------------------------------------------ SQL text */

/* Past whitespace, comments and (with `parens`) opening parentheses. */
static const char *skip_space(const char *p, bool parens)
{
    for (;;) {
        while (isspace((unsigned char)*p) || (parens && *p == '('))
            p++;
        if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            p = end ? end + 2 : p + strlen(p);
        } else {
            return p;
        }
    }
}

void query_leading_keywords(const char *sql, char *first, char *second, size_t size)
{
    char *out[2] = {first, second};
    const char *p = sql;
    for (int k = 0; k < 2; k++) {
        p = skip_space(p, true);
        size_t n = 0;
        while ((isalpha((unsigned char)*p) || *p == '_') && n + 1 < size)
            out[k][n++] = (char)toupper((unsigned char)*p++);
        out[k][n] = '\0';
    }
}

/* Past a quoted token starting at p: '...', "..." (doubled quotes inside), E'...'
 * (backslash escapes), $tag$...$tag$. NULL when p starts none. */
static const char *skip_quoted(const char *p)
{
    if ((*p == 'E' || *p == 'e') && p[1] == '\'') {
        for (p += 2; *p; p++) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '\'' && p[1] == '\'')
                p++;
            else if (*p == '\'')
                return p + 1;
        }
        return p;
    }
    if (*p == '\'' || *p == '"') {
        char quote = *p++;
        for (; *p; p++) {
            if (*p == quote && p[1] == quote)
                p++;
            else if (*p == quote)
                return p + 1;
        }
        return p;
    }
    if (*p == '$') {
        const char *tag_end = p + 1;
        while (isalnum((unsigned char)*tag_end) || *tag_end == '_')
            tag_end++;
        if (*tag_end != '$' || isdigit((unsigned char)p[1]))
            return NULL;
        size_t tag_len = (size_t)(tag_end - p) + 1;
        const char *close;
        for (close = tag_end + 1; *close; close++)
            if (strncmp(close, p, tag_len) == 0)
                return close + tag_len;
        return close;
    }
    return NULL;
}

size_t query_statement_length(const char *sql, bool *more)
{
    size_t end = 0;
    bool after_semicolon = false;
    *more = false;
    const char *p = sql;
    while (*p) {
        const char *q;
        if ((p[0] == '-' && p[1] == '-') || (p[0] == '/' && p[1] == '*')) {
            p = skip_space(p, false);
            continue;
        }
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        if (*p == ';') {
            after_semicolon = true;
            p++;
            continue;
        }
        if (after_semicolon) {
            *more = true;
            return end;
        }
        if ((q = skip_quoted(p))) {
            p = q;
        } else {
            /* A word or a symbol; a word may end in a quote it starts (E'', $tag$). */
            if (isalnum((unsigned char)*p) || *p == '_') {
                while (isalnum((unsigned char)*p) || *p == '_')
                    p++;
            } else {
                p++;
            }
        }
        end = (size_t)(p - sql);
    }
    return end;
}
