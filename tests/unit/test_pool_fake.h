/* A fake backend for the pool's tests (test_pool_*.c), through the same backend table
 * the real ones use: it counts what the pool does to it and fails on request. Counters
 * are process-local, so a forked child sees only what it did itself. */
#ifndef MDM_TEST_POOL_FAKE_H
#define MDM_TEST_POOL_FAKE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "mdm/sys/backend.h"

struct mdm_backend_conn {
    int id;
    bool in_tx;
};

static _Atomic int opened, closed, pings, resets, begins, commits, rollbacks;
static _Atomic int fail_opens;   /* the next N opens fail (MDM_ECONNECT) */
static _Atomic int fail_commits; /* the next N commits fail (MDM_EBUSY); < 0: all */

static int fake_open(mdm_backend_conn **out, const mdm_target *t, const mdm_config *cfg)
{
    (void)t, (void)cfg;
    if (fail_opens > 0) {
        fail_opens--;
        return mdm_error_set(MDM_ECONNECT, "fake: connection refused");
    }
    *out = calloc(1, sizeof **out);
    if (!*out)
        return mdm_error_set(MDM_ENOMEM, "fake: out of memory");
    (*out)->id = ++opened;
    return 0;
}

static void fake_close(mdm_backend_conn *c)
{
    closed++;
    free(c);
}

static int fake_ping(mdm_backend_conn *c)
{
    (void)c;
    pings++;
    return 0;
}

static int fake_reset(mdm_backend_conn *c)
{
    resets++;
    c->in_tx = false;
    return 0;
}

static int fake_begin(mdm_backend_conn *c)
{
    begins++;
    c->in_tx = true;
    return 0;
}

static int fake_commit(mdm_backend_conn *c)
{
    c->in_tx = false;
    if (fail_commits != 0) {
        if (fail_commits > 0)
            fail_commits--;
        return mdm_error_set(MDM_EBUSY, "fake: could not serialize access due to concurrent update");
    }
    commits++;
    return 0;
}

static int fake_rollback(mdm_backend_conn *c)
{
    rollbacks++;
    c->in_tx = false;
    return 0;
}

static const mdm_backend fake = {
    .version = MDM_BACKEND_VERSION, .name = "fakepool", .open = fake_open, .close = fake_close,
    .ping = fake_ping, .reset = fake_reset, .begin = fake_begin, .commit = fake_commit,
    .rollback = fake_rollback,
};

static void fake_reset_counters(void)
{
    opened = closed = pings = resets = begins = commits = rollbacks = 0;
    fail_opens = fail_commits = 0;
}

#endif
