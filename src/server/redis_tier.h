/* The optional shared second cache tier in Redis (cache.redis_url). Every failure
 * (Redis down, slow, gone mid-way) is a miss: requests go on with the memory tier, and
 * a new connection is tried at most once a second. */
#ifndef MDM_SERVER_REDIS_TIER_H
#define MDM_SERVER_REDIS_TIER_H

#include <stddef.h>
#include <stdint.h>

typedef struct redis_tier redis_tier;

/* "redis://host:port[/db]". MDM_ENOTSUP when this build has no hiredis. */
int redis_tier_new(redis_tier **out, const char *url, uint64_t ttl_s);
void redis_tier_free(redis_tier *r);
/* 0 and a malloc'd copy on a hit, -1 otherwise. */
int redis_tier_get(redis_tier *r, const char *key, char **body, size_t *len, char *ctype,
                   size_t ctype_size);
void redis_tier_put(redis_tier *r, const char *key, const char *body, size_t len, const char *ctype);

#endif
