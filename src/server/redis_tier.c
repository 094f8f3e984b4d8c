/* Second cache tier on Redis through hiredis: one connection under a mutex with short
 * timeouts; values are "<content type>\n<body>" with the cache's TTL (SET ... EX). */
#include "server/redis_tier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdm/mdm.h"

#ifdef MDM_HAVE_HIREDIS
#include <hiredis/hiredis.h>
#include <pthread.h>

#define RETRY_NS 1000000000ULL

struct redis_tier {
    pthread_mutex_t lock;
    char host[256];
    int port, db;
    uint64_t ttl_s;
    redisContext *ctx;
    uint64_t next_try_ns;
    bool warned;
};

int redis_tier_new(redis_tier **out, const char *url, uint64_t ttl_s)
{
    redis_tier *r = calloc(1, sizeof *r);
    if (!r)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    const char *p = strncmp(url, "redis://", 8) == 0 ? url + 8 : url;
    const char *at = strrchr(p, '@'); /* user:password@ is not supported: refuse it */
    if (at) {
        free(r);
        return mdm_error_set(MDM_ECONFIG, "cache.redis_url: passwords are not supported");
    }
    r->port = 6379;
    int n = 0;
    if (sscanf(p, "%255[^:/]%n", r->host, &n) != 1) {
        free(r);
        return mdm_error_set(MDM_ECONFIG, "cache.redis_url '%s' is not redis://host:port[/db]", url);
    }
    p += n;
    if (*p == ':')
        r->port = (int)strtol(p + 1, (char **)&p, 10);
    if (*p == '/')
        r->db = (int)strtol(p + 1, (char **)&p, 10);
    if (*p || r->port <= 0 || r->port > 65535) {
        free(r);
        return mdm_error_set(MDM_ECONFIG, "cache.redis_url '%s' is not redis://host:port[/db]", url);
    }
    r->ttl_s = ttl_s ? ttl_s : 300;
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return 0;
}

void redis_tier_free(redis_tier *r)
{
    if (!r)
        return;
    if (r->ctx)
        redisFree(r->ctx);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* A usable connection, or NULL (lock held). */
static redisContext *conn(redis_tier *r)
{
    if (r->ctx)
        return r->ctx;
    uint64_t now = mdm_now_ns();
    if (now < r->next_try_ns)
        return NULL;
    r->next_try_ns = now + RETRY_NS;
    struct timeval tv = {0, 200 * 1000};
    redisContext *c = redisConnectWithTimeout(r->host, r->port, tv);
    if (!c || c->err) {
        if (!r->warned)
            MDM_WARN("cache: Redis %s:%d unreachable (%s); using the memory cache alone", r->host,
                     r->port, c ? c->errstr : "out of memory");
        r->warned = true;
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (r->db) {
        redisReply *rep = redisCommand(c, "SELECT %d", r->db);
        bool ok = rep && rep->type == REDIS_REPLY_STATUS;
        if (rep)
            freeReplyObject(rep);
        if (!ok) {
            redisFree(c);
            return NULL;
        }
    }
    if (r->warned)
        MDM_WARN("cache: Redis %s:%d reachable again", r->host, r->port);
    r->warned = false;
    r->ctx = c;
    return c;
}

/* The connection failed: drop it, try again later. */
static void broken(redis_tier *r)
{
    if (!r->warned)
        MDM_WARN("cache: Redis %s:%d failed (%s); using the memory cache alone", r->host, r->port,
                 r->ctx && r->ctx->err ? r->ctx->errstr : "bad reply");
    r->warned = true;
    if (r->ctx)
        redisFree(r->ctx);
    r->ctx = NULL;
    r->next_try_ns = mdm_now_ns() + RETRY_NS;
}

int redis_tier_get(redis_tier *r, const char *key, char **body, size_t *len, char *ctype,
                   size_t ctype_size)
{
    if (!r)
        return -1;
    int rc = -1;
    pthread_mutex_lock(&r->lock);
    redisContext *c = conn(r);
    redisReply *rep = c ? redisCommand(c, "GET mdm:%s", key) : NULL;
    if (c && !rep)
        broken(r);
    if (rep && rep->type == REDIS_REPLY_STRING) {
        const char *nl = memchr(rep->str, '\n', rep->len);
        size_t tlen = nl ? (size_t)(nl - rep->str) : 0;
        if (nl && tlen < ctype_size) {
            size_t blen = rep->len - tlen - 1;
            char *copy = malloc(blen + 1);
            if (copy) {
                memcpy(copy, nl + 1, blen);
                copy[blen] = '\0';
                memcpy(ctype, rep->str, tlen);
                ctype[tlen] = '\0';
                *body = copy;
                *len = blen;
                rc = 0;
            }
        }
    }
    if (rep)
        freeReplyObject(rep);
    pthread_mutex_unlock(&r->lock);
    return rc;
}

void redis_tier_put(redis_tier *r, const char *key, const char *body, size_t len, const char *ctype)
{
    if (!r)
        return;
    size_t tlen = strlen(ctype);
    char *val = malloc(tlen + 1 + len);
    if (!val)
        return;
    memcpy(val, ctype, tlen);
    val[tlen] = '\n';
    memcpy(val + tlen + 1, body, len);
    pthread_mutex_lock(&r->lock);
    redisContext *c = conn(r);
    redisReply *rep = c ? redisCommand(c, "SET mdm:%s %b EX %llu", key, val, tlen + 1 + len,
                                       (unsigned long long)r->ttl_s)
                        : NULL;
    if (c && !rep)
        broken(r);
    if (rep)
        freeReplyObject(rep);
    pthread_mutex_unlock(&r->lock);
    free(val);
}

#else /* no hiredis */

int redis_tier_new(redis_tier **out, const char *url, uint64_t ttl_s)
{
    *out = NULL;
    return mdm_error_set(MDM_ENOTSUP, "cache.redis_url is set but mdm was built without hiredis");
}
void redis_tier_free(redis_tier *r) { (void)r; }
int redis_tier_get(redis_tier *r, const char *key, char **body, size_t *len, char *ctype,
                   size_t ctype_size)
{
    return -1;
}
void redis_tier_put(redis_tier *r, const char *key, const char *body, size_t len, const char *ctype) {}

#endif
