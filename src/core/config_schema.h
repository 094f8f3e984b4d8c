/* The schema of mdm.yaml: every key SPEC.md names, its type, default and constraint. */
#ifndef MDM_CORE_CONFIG_SCHEMA_H
#define MDM_CORE_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum config_kind {
    CFG_BOOL,
    CFG_INT,
    CFG_FLOAT,
    CFG_STRING,   /* may be null when `nullable` */
    CFG_ENUM,     /* one of `choices` (compared case-insensitively, stored as written there) */
    CFG_INT_LIST, /* list of integers */
} config_kind;

typedef struct config_key {
    const char *key;       /* dotted: "database.sqlite.journal_mode" */
    config_kind kind;
    const char *def;       /* default in textual form; NULL = null */
    double min, max;       /* numeric range (inclusive) when has_range */
    bool has_range;
    const char *const *choices; /* CFG_ENUM: NULL-terminated */
    bool nullable;
    bool secret;           /* never printed or logged in clear */
    const char *help;
} config_key;

extern const config_key mdm_config_keys[];
extern const size_t mdm_config_nkeys;

/* Index of `key` in mdm_config_keys, or -1. */
long mdm_config_key_index(const char *key);

#endif
