/* The mdm.yaml layer: libyaml's document API, nested mappings flattened to dotted keys,
 * every value coerced by its key's kind. Errors name the file and the line (and the
 * column for syntax errors); unknown keys are warnings with the closest known key. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "core/config_internal.h"
#include "core/fs_read.h"

typedef struct yaml_walk {
    mdm_config *cfg;
    yaml_document_t *doc;
    strbuf why; /* scratch for coercion failures */
    size_t unknown; /* unknown keys seen */
} yaml_walk;

static int load_failure(const mdm_config *cfg, const char *reason)
{
    return mdm_error_set(MDM_ECONFIG, "Failed to load configuration from %s: %s", cfg->file, reason);
}

/* The whole file in memory (configuration files are small). Missing -> *found false.
 * Opened without blocking and refused unless it is a regular file: a FIFO named
 * mdm.yaml would otherwise hang every mdm command until something writes to it. */
static int read_file(char **data, size_t *size, bool *found, const mdm_config *cfg)
{
    *data = NULL;
    *size = 0;
    *found = false;
    int fd = open(cfg->file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT ? 0 : load_failure(cfg, strerror(errno));
    int rc = 0;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = load_failure(cfg, strerror(errno));
        goto cleanup;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = load_failure(cfg, strerror(EISDIR));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        char reason[160];
        snprintf(reason, sizeof reason, "it is %s, not a regular file", fs_kind_name(st.st_mode));
        rc = load_failure(cfg, reason);
        goto cleanup;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        rc = load_failure(cfg, strerror(errno));
        goto cleanup;
    }
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    char *buf = malloc(cap);
    if (!buf) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory reading %s", cfg->file);
        goto cleanup;
    }
    size_t len = 0;
    for (;;) {
        if (len + 1 >= cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                rc = mdm_error_set(MDM_ENOMEM, "out of memory reading %s", cfg->file);
                goto cleanup;
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buf);
            rc = load_failure(cfg, strerror(errno));
            goto cleanup;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *data = buf;
    *size = len;
    *found = true;
cleanup:
    close(fd);
    return rc;
}

/* libyaml's syntax error as "line L, column C: problem (context ...)". */
static int syntax_error(const mdm_config *cfg, const yaml_parser_t *parser, const char *data,
                        size_t size)
{
    if (parser->error == YAML_MEMORY_ERROR)
        return mdm_error_set(MDM_ENOMEM, "out of memory parsing %s", cfg->file);
    size_t line = parser->problem_mark.line + 1, column = parser->problem_mark.column + 1;
    strbuf sb = STRBUF_INIT;
    if (parser->error == YAML_READER_ERROR) {
        /* Encoding errors carry a byte offset rather than a mark. */
        line = 1;
        column = 1;
        for (size_t i = 0; i < parser->problem_offset && i < size; i++, column++)
            if (data[i] == '\n') {
                line++;
                column = 0;
            }
        strbuf_appendf(&sb, "line %zu, column %zu: %s", line, column,
                       parser->problem ? parser->problem : "cannot read the file");
        if (parser->problem_value >= 0)
            strbuf_appendf(&sb, " (byte 0x%02x)", parser->problem_value & 0xff);
    } else {
        strbuf_appendf(&sb, "line %zu, column %zu: %s", line, column,
                       parser->problem ? parser->problem : "invalid YAML");
        if (parser->context)
            strbuf_appendf(&sb, " (%s that started at line %zu, column %zu)", parser->context,
                           parser->context_mark.line + 1, parser->context_mark.column + 1);
    }
    int rc = load_failure(cfg, strbuf_cstr(&sb) ? sb.data : "invalid YAML");
    strbuf_free(&sb);
    return rc;
}

static int line_of(const yaml_node_t *node) { return (int)node->start_mark.line + 1; }

static const char *node_kind_name(const yaml_node_t *node)
{
    return node->type == YAML_MAPPING_NODE ? "a mapping" : node->type == YAML_SEQUENCE_NODE ? "a list" : "a value";
}

static bool is_null_scalar(const yaml_node_t *node)
{
    if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)node->data.scalar.value;
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static const char *scalar_text(const yaml_node_t *node) { return (const char *)node->data.scalar.value; }

/* "Invalid configuration: key = 'value' in file line L: reason" (the value part only
 * when there is one to show). */
static int invalid_value(const yaml_walk *w, const char *key, const char *shown, int line,
                         const char *reason)
{
    if (shown)
        return mdm_error_set(MDM_ECONFIG, "Invalid configuration: %s = '%s' in %s line %d: %s", key,
                             shown, w->cfg->file, line, reason);
    return mdm_error_set(MDM_ECONFIG, "Invalid configuration: %s in %s line %d: %s", key,
                         w->cfg->file, line, reason);
}

/* A list's text for messages: "[5, 1]". */
static void append_sequence_text(strbuf *sb, yaml_document_t *doc, const yaml_node_t *seq)
{
    strbuf_append(sb, "[");
    for (yaml_node_item_t *item = seq->data.sequence.items.start; item < seq->data.sequence.items.top; item++) {
        const yaml_node_t *n = yaml_document_get_node(doc, *item);
        strbuf_append(sb, item == seq->data.sequence.items.start ? "" : ", ");
        strbuf_append(sb, n && n->type == YAML_SCALAR_NODE ? scalar_text(n) : "...");
    }
    strbuf_append(sb, "]");
}

static int parse_sequence(yaml_walk *w, config_value *out, long idx, const yaml_node_t *node)
{
    size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    const char **items = calloc(n ? n : 1, sizeof *items);
    if (!items) {
        strbuf_append(&w->why, "out of memory");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const yaml_node_t *item = yaml_document_get_node(w->doc, node->data.sequence.items.start[i]);
        if (!item || item->type != YAML_SCALAR_NODE) {
            strbuf_append(&w->why, "must be ");
            config_value_describe(&w->why, idx);
            rc = -1;
        } else {
            items[i] = scalar_text(item);
        }
    }
    if (rc == 0)
        rc = config_value_parse_list(out, idx, items, n, &w->why);
    free(items);
    return rc;
}

/* Coerces the value node of known key `idx` and stores it. */
static int apply_key(yaml_walk *w, long idx, const yaml_node_t *value)
{
    const config_key *k = &mdm_config_keys[idx];
    config_value parsed = {0};
    int line = line_of(value), rc = 0;
    strbuf_reset(&w->why);
    strbuf shown = STRBUF_INIT;
    bool accepts_list = k->kind == CFG_INT_LIST;
    if (value->type == YAML_MAPPING_NODE || (value->type == YAML_SEQUENCE_NODE && !accepts_list)) {
        strbuf_append(&w->why, "must be ");
        config_value_describe(&w->why, idx);
        strbuf_appendf(&w->why, ", not %s", node_kind_name(value));
        rc = invalid_value(w, k->key, NULL, line, strbuf_cstr(&w->why) ? w->why.data : "");
        goto cleanup;
    }
    int failed;
    if (value->type == YAML_SEQUENCE_NODE) {
        append_sequence_text(&shown, w->doc, value);
        failed = parse_sequence(w, &parsed, idx, value);
    } else {
        bool is_null = is_null_scalar(value);
        strbuf_append(&shown, is_null ? "null" : scalar_text(value));
        failed = config_value_parse(&parsed, idx, scalar_text(value), is_null, &w->why);
    }
    if (failed) {
        if (!strbuf_cstr(&shown) || !strbuf_cstr(&w->why)) {
            rc = mdm_error_set(MDM_ENOMEM, "out of memory");
            goto cleanup;
        }
        rc = invalid_value(w, k->key, k->secret ? "********" : shown.data, line, w->why.data);
        goto cleanup;
    }
    config_source source = {.origin = CFG_FROM_FILE, .line = line};
    rc = config_assign(w->cfg, idx, &parsed, &source);
cleanup:
    config_value_free(&parsed);
    strbuf_free(&shown);
    return rc;
}

/* Unknown keys are warned about one by one, with the closest known key, up to this
 * many; the rest are counted in one warning at the end (the suggestion costs an edit
 * distance against every known key: 20,000 unknown keys took 12 s). */
#define MAX_UNKNOWN_WARNINGS 20

static void warn_unknown(yaml_walk *w, const char *name, int line)
{
    if (++w->unknown > MAX_UNKNOWN_WARNINGS)
        return;
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "unknown configuration key '%s' in %s line %d", name, w->cfg->file, line);
    config_suggest_key(&sb, name);
    if (strbuf_cstr(&sb))
        mdm_log(MDM_LOG_WARNING, "%s", sb.data);
    strbuf_free(&sb);
}

/* The first key of a section, as an example for "must be a mapping". */
static const char *first_key_under(const char *section)
{
    size_t len = strlen(section);
    for (size_t i = 0; i < mdm_config_nkeys; i++)
        if (strncmp(mdm_config_keys[i].key, section, len) == 0 && mdm_config_keys[i].key[len] == '.')
            return mdm_config_keys[i].key;
    return section;
}

static int walk_mapping(yaml_walk *w, const yaml_node_t *mapping, const char *prefix);

/* One `name: value` pair where name is the full dotted key. */
static int walk_pair(yaml_walk *w, const char *name, const yaml_node_t *key, const yaml_node_t *value)
{
    long idx = config_lookup(name);
    if (idx >= 0)
        return apply_key(w, idx, value);
    if (!config_is_section(name)) {
        warn_unknown(w, name, line_of(key));
        return 0;
    }
    if (value->type == YAML_MAPPING_NODE)
        return walk_mapping(w, value, name);
    if (is_null_scalar(value))
        return 0; /* an empty section, e.g. everything under it commented out */
    strbuf reason = STRBUF_INIT;
    strbuf_appendf(&reason, "must be a mapping (a section holding keys such as %s), not %s",
                   first_key_under(name), node_kind_name(value));
    int rc = invalid_value(w, name, value->type == YAML_SCALAR_NODE ? scalar_text(value) : NULL,
                           line_of(value), strbuf_cstr(&reason) ? reason.data : "must be a mapping");
    strbuf_free(&reason);
    return rc;
}

typedef struct key_at {
    const char *text;
    size_t index;
} key_at;

static int compare_key_at(const void *a, const void *b)
{
    const key_at *x = a, *y = b;
    int c = strcmp(x->text, y->text);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* For each pair of the mapping, the index of the first earlier pair with the same key,
 * or SIZE_MAX: by sorting, so that a file of many keys costs n log n, not n^2. */
static size_t *first_duplicates(const yaml_walk *w, const yaml_node_t *mapping, size_t n)
{
    size_t *first = malloc((n ? n : 1) * sizeof *first);
    key_at *keys = malloc((n ? n : 1) * sizeof *keys);
    if (!first || !keys) {
        free(first);
        free(keys);
        return NULL;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        first[i] = SIZE_MAX;
        const yaml_node_t *key = yaml_document_get_node(w->doc, mapping->data.mapping.pairs.start[i].key);
        if (key && key->type == YAML_SCALAR_NODE)
            keys[m++] = (key_at){scalar_text(key), i};
    }
    qsort(keys, m, sizeof *keys, compare_key_at);
    for (size_t i = 1, group = 0; i < m; i++) {
        if (strcmp(keys[i].text, keys[group].text) == 0)
            first[keys[i].index] = keys[group].index;
        else
            group = i;
    }
    free(keys);
    return first;
}

static void warn_duplicate(const yaml_walk *w, const yaml_node_t *mapping, size_t i, size_t earlier,
                           const char *name)
{
    const yaml_node_t *key = yaml_document_get_node(w->doc, mapping->data.mapping.pairs.start[i].key);
    const yaml_node_t *other = yaml_document_get_node(w->doc, mapping->data.mapping.pairs.start[earlier].key);
    mdm_log(MDM_LOG_WARNING,
            "duplicate configuration key '%s' in %s line %d (also at line %d); the later one is used",
            name, w->cfg->file, line_of(key), line_of(other));
}

static int walk_mapping(yaml_walk *w, const yaml_node_t *mapping, const char *prefix)
{
    strbuf name = STRBUF_INIT;
    int rc = 0;
    size_t npairs = (size_t)(mapping->data.mapping.pairs.top - mapping->data.mapping.pairs.start);
    size_t *duplicate_of = first_duplicates(w, mapping, npairs);
    if (!duplicate_of)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    for (yaml_node_pair_t *pair = mapping->data.mapping.pairs.start;
         pair < mapping->data.mapping.pairs.top && rc == 0; pair++) {
        const yaml_node_t *key = yaml_document_get_node(w->doc, pair->key);
        const yaml_node_t *value = yaml_document_get_node(w->doc, pair->value);
        if (!key || !value)
            continue;
        if (key->type != YAML_SCALAR_NODE) {
            char reason[160];
            snprintf(reason, sizeof reason, "line %d, column %d: a key must be a name, not %s",
                     line_of(key), (int)key->start_mark.column + 1, node_kind_name(key));
            rc = load_failure(w->cfg, reason);
            break;
        }
        strbuf_reset(&name);
        if (prefix)
            strbuf_appendf(&name, "%s.", prefix);
        strbuf_append(&name, scalar_text(key));
        if (!strbuf_cstr(&name)) {
            rc = mdm_error_set(MDM_ENOMEM, "out of memory");
            break;
        }
        size_t i = (size_t)(pair - mapping->data.mapping.pairs.start);
        if (duplicate_of[i] != SIZE_MAX)
            warn_duplicate(w, mapping, i, duplicate_of[i], name.data);
        rc = walk_pair(w, name.data, key, value);
    }
    free(duplicate_of);
    strbuf_free(&name);
    return rc;
}

/* Refuses nesting deeper than CONFIG_MAX_DEPTH before the document is built: libyaml
 * takes time quadratic in the depth (100 KB of brackets: 6 s), and no key of mdm.yaml
 * is deeper than a few levels. The events stop at the first level too deep, so the
 * cost stays bounded. A syntax error is left to the document load, which reports it. */
static int check_depth(const mdm_config *cfg, const char *data, size_t size)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return mdm_error_set(MDM_ENOMEM, "out of memory parsing %s", cfg->file);
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, size);
    int rc = 0, depth = 0;
    for (;;) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event))
            break;
        yaml_event_type_t type = event.type;
        size_t line = event.start_mark.line + 1;
        yaml_event_delete(&event);
        if (type == YAML_STREAM_END_EVENT)
            break;
        if (type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT) {
            if (++depth > CONFIG_MAX_DEPTH) {
                char reason[160];
                snprintf(reason, sizeof reason, "line %zu: nesting deeper than %d levels", line,
                         CONFIG_MAX_DEPTH);
                rc = load_failure(cfg, reason);
                break;
            }
        } else if (type == YAML_MAPPING_END_EVENT || type == YAML_SEQUENCE_END_EVENT) {
            depth--;
        }
    }
    yaml_parser_delete(&parser);
    return rc;
}

int config_load_yaml(mdm_config *cfg)
{
    char *data = NULL;
    size_t size = 0;
    int rc = read_file(&data, &size, &cfg->file_found, cfg);
    if (rc || !cfg->file_found || size == 0)
        goto done;
    if ((rc = check_depth(cfg, data, size)))
        goto done;
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        rc = mdm_error_set(MDM_ENOMEM, "out of memory parsing %s", cfg->file);
        goto done;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, size);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = syntax_error(cfg, &parser, data, size);
        yaml_parser_delete(&parser);
        goto done;
    }
    yaml_walk w = {.cfg = cfg, .doc = &doc, .why = STRBUF_INIT};
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    bool had_root = root != NULL;
    if (root && root->type == YAML_MAPPING_NODE) {
        rc = walk_mapping(&w, root, NULL);
        if (w.unknown > MAX_UNKNOWN_WARNINGS)
            mdm_log(MDM_LOG_WARNING, "%zu more unknown configuration keys in %s (ignored)",
                    w.unknown - MAX_UNKNOWN_WARNINGS, cfg->file);
    } else if (root && !is_null_scalar(root)) {
        char reason[200];
        snprintf(reason, sizeof reason,
                 "line %d, column %d: the top level must be a mapping of sections (like 'database:'), not %s",
                 line_of(root), (int)root->start_mark.column + 1,
                 root->type == YAML_SEQUENCE_NODE ? "a list" : "a plain value");
        rc = load_failure(cfg, reason);
    }
    strbuf_free(&w.why);
    yaml_document_delete(&doc);
    if (rc == 0 && had_root) {
        /* A second document would be silently ignored: say so instead. */
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            rc = syntax_error(cfg, &parser, data, size);
        } else {
            const yaml_node_t *extra = yaml_document_get_root_node(&next);
            if (extra) {
                char reason[160];
                snprintf(reason, sizeof reason,
                         "line %d, column %d: expected one YAML document, found a second one",
                         line_of(extra), (int)extra->start_mark.column + 1);
                rc = load_failure(cfg, reason);
            }
            yaml_document_delete(&next);
        }
    }
    yaml_parser_delete(&parser);
done:
    free(data);
    return rc;
}
