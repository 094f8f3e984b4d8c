/*
 * Text dictionaries: how equal strings of a column share one str object, and how a
 * low-cardinality column becomes codes + categories (see columns.c).
 */
#include "textdict.h"

#include <stdlib.h>
#include <string.h>

uint64_t mdm_py_hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    h ^= h >> 32;
    return h ? h : 1;
}

void mdm_py_dict_clear(mdm_py_text_dict *d)
{
    for (size_t i = 0; i < d->n; i++)
        Py_XDECREF(d->entries[i].obj);
    free(d->slots);
    free(d->entries);
    free(d->arena);
    memset(d, 0, sizeof *d);
}

int mdm_py_dict_grow_slots(mdm_py_text_dict *d)
{
    size_t nslots = d->nslots ? d->nslots * 2 : 1024;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < d->n; i++) {
        size_t j = d->entries[i].hash & (nslots - 1);
        while (slots[j])
            j = (j + 1) & (nslots - 1);
        slots[j] = (uint32_t)(i + 1);
    }
    free(d->slots);
    d->slots = slots;
    d->nslots = nslots;
    return 0;
}

/* Finds s; *slot gets where it is or where it would go. Returns the entry index or -1. */
long mdm_py_dict_find(const mdm_py_text_dict *d, const char *s, size_t len, uint64_t h, size_t *slot)
{
    size_t j = h & (d->nslots - 1);
    while (d->slots[j]) {
        const mdm_py_entry *e = &d->entries[d->slots[j] - 1];
        if (e->hash == h && e->len == len && memcmp(d->arena + e->off, s, len) == 0) {
            *slot = j;
            return (long)(d->slots[j] - 1);
        }
        j = (j + 1) & (d->nslots - 1);
    }
    *slot = j;
    return -1;
}

/* Adds s (which dict_find did not find at `slot`) owning `obj`. Returns its index. */
long mdm_py_dict_add(mdm_py_text_dict *d, const char *s, size_t len, uint64_t h, size_t slot,
                     PyObject *obj)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        mdm_py_entry *e = realloc(d->entries, cap * sizeof *e);
        if (!e)
            return -1;
        d->entries = e;
        d->cap = cap;
    }
    if (d->arena_len + len + 1 > d->arena_cap) {
        size_t cap = d->arena_cap ? d->arena_cap : 4096;
        while (cap < d->arena_len + len + 1)
            cap *= 2;
        char *a = realloc(d->arena, cap);
        if (!a)
            return -1;
        d->arena = a;
        d->arena_cap = cap;
    }
    memcpy(d->arena + d->arena_len, s, len);
    mdm_py_entry *e = &d->entries[d->n];
    e->hash = h;
    e->off = d->arena_len;
    e->len = len;
    e->obj = obj;
    d->arena_len += len;
    d->slots[slot] = (uint32_t)(d->n + 1);
    d->n++;
    if (d->n * 2 > d->nslots && mdm_py_dict_grow_slots(d) < 0)
        return -1; /* the entry is in; only the table stayed small: report it */
    return (long)(d->n - 1);
}
