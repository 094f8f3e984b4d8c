/* In-memory response cache: LRU bounded in bytes, entries expire after a TTL. Keys
 * carry the dataset's change stamp, so a changed dataset never hits an old entry. */
#ifndef MDM_SERVER_CACHE_H
#define MDM_SERVER_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct cache cache;

typedef struct cache_stats {
    uint64_t hits, misses, bytes, entries, evictions;
} cache_stats;

/* max_bytes 0: caching off (every get misses, put does nothing). */
int cache_new(cache **out, uint64_t max_bytes, uint64_t ttl_ms);
void cache_free(cache *c);
/* A copy of the entry's body (malloc'd) and its content type, or -1 on a miss. */
int cache_get(cache *c, const char *key, char **body, size_t *len, char *ctype, size_t ctype_size);
void cache_put(cache *c, const char *key, const char *body, size_t len, const char *ctype);
void cache_stats_get(cache *c, cache_stats *out);

#endif
