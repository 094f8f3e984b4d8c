/* Shared by the configuration layers: config.c (lifecycle and getters), config_value.c
 * (coercion and formatting), config_yaml.c (mdm.yaml), config_env.c (MDM_* variables)
 * and config_suggest.c (closest known name for a typo). */
#ifndef MDM_CORE_CONFIG_INTERNAL_H
#define MDM_CORE_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config_schema.h"
#include "core/strbuf.h"
#include "mdm/mdm.h"

/* One key's value, typed by the key's kind. */
typedef struct config_value {
    bool is_null;
    bool b;           /* CFG_BOOL */
    int64_t i;        /* CFG_INT */
    double f;         /* CFG_FLOAT */
    size_t choice;    /* CFG_ENUM: index into the key's choices */
    char *s;          /* CFG_STRING (owned) */
    int64_t *list;    /* CFG_INT_LIST (owned) */
    size_t list_len;
} config_value;

typedef enum config_origin {
    CFG_FROM_DEFAULT,
    CFG_FROM_FILE,
    CFG_FROM_ENV,
    CFG_FROM_SET,
} config_origin;

/* Where a key's value came from, for the DEBUG dump. */
typedef struct config_source {
    config_origin origin;
    int line;      /* CFG_FROM_FILE: 1-based line in mdm.yaml */
    char env[96];  /* CFG_FROM_ENV: the variable's name */
} config_source;

#define CONFIG_NPATHS 4

struct mdm_config {
    char *home;                    /* absolute, no trailing slash */
    char *file;                    /* <home>/mdm.yaml */
    bool file_found;               /* the file existed and was read */
    config_value *values;          /* one per schema key, schema order */
    config_source *sources;        /* one per schema key */
    char *paths[CONFIG_NPATHS];    /* paths.* resolved against home */
};

/* The last segment of the path keys, in the order of cfg->paths. */
extern const char *const config_path_names[CONFIG_NPATHS];

/* Index of a schema key by binary search (thread-safe, no allocation), or -1. */
long config_lookup(const char *key);

/* Coerces `text` to key `idx`'s kind into *out (which the caller frees with
 * config_value_free). `is_null` says the source spelled a null (YAML ~/null, or "null"
 * in an environment variable). On a bad value returns -1 with `why` set to the reason,
 * e.g. "must be one of WAL, DELETE"; *out is then left empty. */
int config_value_parse(config_value *out, long idx, const char *text, bool is_null,
                       strbuf *why);
/* Coerces a YAML sequence for a CFG_INT_LIST key; `items` are the scalars' texts. */
int config_value_parse_list(config_value *out, long idx, const char *const *items,
                            size_t nitems, strbuf *why);
/* What a value of key `idx` must be: "an integer >= 100", "one of WAL, DELETE, ...". */
void config_value_describe(strbuf *sb, long idx);
/* Canonical text of a value: true/false, "5,10", "null"; secrets masked when `mask`. */
void config_value_format(strbuf *sb, long idx, const config_value *value, bool mask);
void config_value_free(config_value *value);

/* Replaces key `idx`'s value with *value (taken over; *value is emptied) and records
 * where it came from. Resolves paths.* and applies development.debug_mode. */
int config_assign(mdm_config *cfg, long idx, config_value *value, const config_source *source);

/* Deepest nesting of mappings and lists accepted in mdm.yaml (its keys are at most 4
 * levels deep); deeper is an error naming the file and the line. */
#define CONFIG_MAX_DEPTH 64

/* Reads cfg->file into cfg. Missing file: nothing to do. A FIFO or anything else that
 * is not a regular file is an error, never a wait. */
int config_load_yaml(mdm_config *cfg);
/* Applies the MDM_* environment to cfg and warns about unknown MDM_* variables. */
int config_load_env(mdm_config *cfg);

/* The environment variable of a key: MDM_ + key upper-cased, '.' -> '_'. */
void config_env_name(char *out, size_t size, const char *key);

/* Appends "; did you mean 'X'?" for the closest known key or section to the dotted
 * `name`, or, when nothing is close, the known names at that level. */
void config_suggest_key(strbuf *sb, const char *name);
/* True when `name` is a section: a proper prefix of some key ("database.sqlite"). */
bool config_is_section(const char *name);
/* Levenshtein distance of two strings (bytes). */
size_t config_edit_distance(const char *a, const char *b);
/* True when a typo at `distance` from a name of `len` bytes is close enough to suggest. */
bool config_is_close(size_t distance, size_t len);

/* Test hook of mdm_config_save_key, NULL outside tests: called when the lock of
 * mdm.yaml is held by another writer (just before waiting for it) and when the file
 * has been read (before the new one is written). Tests make two writers meet there. */
typedef enum config_hook_event { CONFIG_HOOK_LOCK_BUSY, CONFIG_HOOK_READ } config_hook_event;
extern void (*config_write_hook)(config_hook_event event);

/* Logs at DEBUG the home, the config file and every key with secrets masked and where
 * each value came from. Called by mdm_log_init once logging is set up. */
void config_log_dump(const mdm_config *cfg);

#endif
