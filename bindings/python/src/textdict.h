/*
 * The distinct strings of one text column (columns.c): open addressing over entries,
 * each holding its bytes (in an arena) and the one str object all equal values share.
 */
#ifndef MDM_PY_TEXTDICT_H
#define MDM_PY_TEXTDICT_H

#include "ext.h"

typedef struct mdm_py_entry {
    uint64_t hash;
    size_t off, len;
    PyObject *obj;
} mdm_py_entry;

/* Distinct strings of one text column: open addressing over entries (index + 1). */
typedef struct mdm_py_text_dict {
    uint32_t *slots;
    size_t nslots;      /* power of two */
    mdm_py_entry *entries;
    size_t n, cap;
    char *arena;
    size_t arena_len, arena_cap;
} mdm_py_text_dict;

uint64_t mdm_py_hash_bytes(const char *s, size_t len);
void mdm_py_dict_clear(mdm_py_text_dict *d);
/* Doubles the slot table (first call: creates it); -1 without memory. */
int mdm_py_dict_grow_slots(mdm_py_text_dict *d);
/* Finds s; *slot gets where it is or where it would go. Returns the entry index or -1. */
long mdm_py_dict_find(const mdm_py_text_dict *d, const char *s, size_t len, uint64_t h,
                      size_t *slot);
/* Adds s (not found at `slot`) owning `obj`. Returns its index, -1 without memory. */
long mdm_py_dict_add(mdm_py_text_dict *d, const char *s, size_t len, uint64_t h, size_t slot,
                     PyObject *obj);

#endif /* MDM_PY_TEXTDICT_H */
