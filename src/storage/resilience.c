#include "storage/resilience.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mdm/mdm.h"

double resilience_random(void)
{
    /* xorshift64* per thread, seeded from the clock and the thread's stack address. */
    static _Thread_local uint64_t state;
    if (state == 0) {
        uint64_t seed = mdm_now_ns() ^ (uint64_t)(uintptr_t)&state;
        state = seed ? seed : 0x9E3779B97F4A7C15ull;
    }
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (double)((state * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

uint64_t backoff_delay_ns(unsigned attempt, uint64_t base_ns, uint64_t max_ns)
{
    uint64_t cap = base_ns;
    for (unsigned i = 0; i < attempt && cap < max_ns; i++)
        cap *= 2;
    if (cap > max_ns)
        cap = max_ns;
    return (uint64_t)((double)cap * resilience_random());
}

void sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void breaker_init(breaker *b, unsigned threshold, uint64_t cooldown_ns)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->lock, NULL);
    b->threshold = threshold;
    b->cooldown_ns = cooldown_ns;
}

void breaker_destroy(breaker *b) { pthread_mutex_destroy(&b->lock); }

int breaker_allow(breaker *b, uint64_t now, const char *name)
{
    int rc = 0;
    pthread_mutex_lock(&b->lock);
    if (b->state == BREAKER_OPEN && now - b->opened_ns >= b->cooldown_ns) {
        b->state = BREAKER_HALF_OPEN;
        b->probe_out = false;
    }
    if (b->state == BREAKER_HALF_OPEN && !b->probe_out) {
        b->probe_out = true; /* this caller is the probe */
    } else if (b->state != BREAKER_CLOSED) {
        uint64_t left = b->state == BREAKER_OPEN ? b->cooldown_ns - (now - b->opened_ns) : 0;
        rc = mdm_error_set(MDM_ECONNECT,
                           "%s: circuit breaker open after %u consecutive connect failures "
                           "(last: %s); next attempt in %llu ms",
                           name, b->failures, b->last_error,
                           (unsigned long long)(left / 1000000));
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

void breaker_success(breaker *b)
{
    pthread_mutex_lock(&b->lock);
    b->state = BREAKER_CLOSED;
    b->failures = 0;
    b->probe_out = false;
    pthread_mutex_unlock(&b->lock);
}

void breaker_failure(breaker *b, uint64_t now, int code, const char *message)
{
    pthread_mutex_lock(&b->lock);
    b->failures++;
    b->last_code = code;
    snprintf(b->last_error, sizeof b->last_error, "%s", message);
    if (b->state == BREAKER_HALF_OPEN || (b->threshold && b->failures >= b->threshold)) {
        b->state = BREAKER_OPEN;
        b->opened_ns = now;
    }
    b->probe_out = false;
    pthread_mutex_unlock(&b->lock);
}

bool breaker_is_open(breaker *b, uint64_t now)
{
    pthread_mutex_lock(&b->lock);
    bool open = b->state == BREAKER_OPEN && now - b->opened_ns < b->cooldown_ns;
    pthread_mutex_unlock(&b->lock);
    return open;
}

const char *breaker_state_name(breaker *b, uint64_t now)
{
    pthread_mutex_lock(&b->lock);
    breaker_state s = b->state;
    if (s == BREAKER_OPEN && now - b->opened_ns >= b->cooldown_ns)
        s = BREAKER_HALF_OPEN;
    pthread_mutex_unlock(&b->lock);
    return s == BREAKER_CLOSED ? "closed" : s == BREAKER_OPEN ? "open" : "half-open";
}
