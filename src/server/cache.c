/* LRU response cache: one hash table of chained entries plus a recency list, under one
 * mutex; bodies are copied in and out so that no entry outlives its eviction. */
#include "server/cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdm/mdm.h"

typedef struct entry {
    struct entry *next_hash;
    struct entry *prev, *next; /* recency: head is the most recent */
    uint64_t hash;
    uint64_t expires_ns;
    char *key;
    char *body;
    size_t len;
    char ctype[64];
} entry;

struct cache {
    pthread_mutex_t lock;
    entry **slots;
    size_t nslots;
    entry *head, *tail;
    uint64_t max_bytes, ttl_ns, bytes, entries;
    uint64_t hits, misses, evictions;
};

static uint64_t hash_key(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static size_t entry_cost(const entry *e) { return e->len + strlen(e->key) + sizeof *e; }

int cache_new(cache **out, uint64_t max_bytes, uint64_t ttl_ms)
{
    cache *c = calloc(1, sizeof *c);
    if (!c)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    c->nslots = 4096;
    c->slots = calloc(c->nslots, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&c->lock, NULL);
    c->max_bytes = max_bytes;
    c->ttl_ns = ttl_ms * 1000000ULL;
    *out = c;
    return 0;
}

static void unlink_lru(cache *c, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(cache *c, entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static void remove_entry(cache *c, entry *e)
{
    entry **pp = &c->slots[e->hash % c->nslots];
    while (*pp && *pp != e)
        pp = &(*pp)->next_hash;
    if (*pp)
        *pp = e->next_hash;
    unlink_lru(c, e);
    c->bytes -= entry_cost(e);
    c->entries--;
    free(e->key);
    free(e->body);
    free(e);
}

void cache_free(cache *c)
{
    if (!c)
        return;
    while (c->head)
        remove_entry(c, c->head);
    free(c->slots);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static entry *find(cache *c, const char *key, uint64_t h)
{
    for (entry *e = c->slots[h % c->nslots]; e; e = e->next_hash)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

int cache_get(cache *c, const char *key, char **body, size_t *len, char *ctype, size_t ctype_size)
{
    if (!c || !c->max_bytes)
        return -1;
    uint64_t h = hash_key(key), now = mdm_now_ns();
    int rc = -1;
    pthread_mutex_lock(&c->lock);
    entry *e = find(c, key, h);
    if (e && e->expires_ns <= now) {
        remove_entry(c, e);
        e = NULL;
    }
    if (e) {
        char *copy = malloc(e->len + 1);
        if (copy) {
            memcpy(copy, e->body, e->len);
            copy[e->len] = '\0';
            *body = copy;
            *len = e->len;
            snprintf(ctype, ctype_size, "%s", e->ctype);
            unlink_lru(c, e);
            push_front(c, e);
            rc = 0;
        }
    }
    if (rc == 0)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void cache_put(cache *c, const char *key, const char *body, size_t len, const char *ctype)
{
    if (!c || !c->max_bytes)
        return;
    entry *n = calloc(1, sizeof *n);
    if (!n)
        return;
    n->key = strdup(key);
    n->body = malloc(len ? len : 1);
    if (!n->key || !n->body) {
        free(n->key);
        free(n->body);
        free(n);
        return;
    }
    memcpy(n->body, body, len);
    n->len = len;
    snprintf(n->ctype, sizeof n->ctype, "%s", ctype);
    n->hash = hash_key(key);
    n->expires_ns = mdm_now_ns() + c->ttl_ns;
    size_t cost = entry_cost(n);
    if (cost > c->max_bytes / 4) { /* one response may not push out most of the cache */
        free(n->key);
        free(n->body);
        free(n);
        return;
    }
    pthread_mutex_lock(&c->lock);
    entry *old = find(c, key, n->hash);
    if (old)
        remove_entry(c, old);
    while (c->tail && c->bytes + cost > c->max_bytes) {
        remove_entry(c, c->tail);
        c->evictions++;
    }
    n->next_hash = c->slots[n->hash % c->nslots];
    c->slots[n->hash % c->nslots] = n;
    push_front(c, n);
    c->bytes += cost;
    c->entries++;
    pthread_mutex_unlock(&c->lock);
}

void cache_stats_get(cache *c, cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    out->hits = c->hits;
    out->misses = c->misses;
    out->bytes = c->bytes;
    out->entries = c->entries;
    out->evictions = c->evictions;
    pthread_mutex_unlock(&c->lock);
}
