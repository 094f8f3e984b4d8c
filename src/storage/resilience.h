/* Retry with exponential backoff and jitter, and a circuit breaker (seed 003). */
#ifndef MDM_STORAGE_RESILIENCE_H
#define MDM_STORAGE_RESILIENCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Uniform in [0, 1), thread-safe. */
double resilience_random(void);

/* Delay before retry number `attempt` (0-based): uniform in [0, min(max, base * 2^attempt)]
 * ("full jitter": retrying clients spread out instead of stampeding together). */
uint64_t backoff_delay_ns(unsigned attempt, uint64_t base_ns, uint64_t max_ns);
void sleep_ns(uint64_t ns);

typedef enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN } breaker_state;

/* Opens after `threshold` consecutive failures; while open, calls fail fast; after
 * `cooldown_ns` one probe is let through (half-open): its success closes the breaker,
 * its failure opens it again for another cool-down. */
typedef struct breaker {
    pthread_mutex_t lock;
    unsigned threshold;    /* 0: never opens */
    uint64_t cooldown_ns;
    breaker_state state;
    unsigned failures;     /* consecutive */
    uint64_t opened_ns;
    bool probe_out;
    int last_code;
    char last_error[512];
} breaker;

void breaker_init(breaker *b, unsigned threshold, uint64_t cooldown_ns);
void breaker_destroy(breaker *b);
/* 0 when a connect may be tried now; MDM_ECONNECT with an explaining message when the
 * breaker is open (or half-open with its probe already out). */
int breaker_allow(breaker *b, uint64_t now_ns, const char *name);
void breaker_success(breaker *b);
void breaker_failure(breaker *b, uint64_t now_ns, int code, const char *message);
bool breaker_is_open(breaker *b, uint64_t now_ns);
const char *breaker_state_name(breaker *b, uint64_t now_ns);

#endif
