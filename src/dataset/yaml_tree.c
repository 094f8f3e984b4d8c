/* YAML <-> jansson tree with PyYAML's scalar resolution (see yaml_tree.h). */
#include "dataset/yaml_tree.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/strbuf.h"
#include "mdm/mdm.h"

/* Bounds against hostile files: nesting depth and nodes produced (aliases repeat). */
#define YAML_MAX_DEPTH 128
#define YAML_MAX_NODES 1000000

/* ------------------------------------------------------------ scalar resolution */

static bool is_one_of(const char *s, const char *const *words)
{
    for (size_t i = 0; words[i]; i++)
        if (strcmp(s, words[i]) == 0)
            return true;
    return false;
}

static const char *const null_words[] = {"~", "null", "Null", "NULL", "", NULL};
static const char *const true_words[] = {"yes", "Yes", "YES", "true", "True", "TRUE",
                                         "on",  "On",  "ON",  NULL};
static const char *const false_words[] = {"no", "No", "NO", "false", "False", "FALSE",
                                          "off", "Off", "OFF", NULL};

/* Copies s without '_' into buf (size >= strlen(s)+1). */
static void strip_underscores(char *buf, const char *s)
{
    size_t o = 0;
    for (; *s; s++)
        if (*s != '_')
            buf[o++] = *s;
    buf[o] = '\0';
}

static bool all_in(const char *s, const char *set)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!strchr(set, *s))
            return false;
    return true;
}

/* YAML 1.1 int forms: 0b.., 0.. (octal), decimal, 0x.. (sexagesimal is left a string).
 * Returns a json integer, or NULL when the text is not an int or does not fit int64. */
static json_t *resolve_int(const char *text)
{
    const char *s = text;
    bool negative = false;
    if (*s == '+' || *s == '-')
        negative = *s++ == '-';
    int base = 10;
    const char *digits = s;
    if (s[0] == '0' && s[1] == 'b') {
        base = 2;
        digits = s + 2;
        if (!all_in(digits, "01_"))
            return NULL;
    } else if (s[0] == '0' && s[1] == 'x') {
        base = 16;
        digits = s + 2;
        if (!all_in(digits, "0123456789abcdefABCDEF_"))
            return NULL;
    } else if (s[0] == '0' && s[1] != '\0') {
        base = 8;
        digits = s + 1;
        if (!all_in(digits, "01234567_"))
            return NULL;
    } else if (s[0] == '0') {
        return json_integer(0);
    } else {
        if (!(s[0] >= '1' && s[0] <= '9') || !all_in(s, "0123456789_"))
            return NULL;
    }
    char buf[128];
    if (strlen(digits) >= sizeof buf)
        return NULL;
    strip_underscores(buf, digits);
    if (!buf[0])
        return NULL;
    errno = 0;
    char *end;
    unsigned long long magnitude = strtoull(buf, &end, base);
    if (errno || *end)
        return NULL;
    if (negative) {
        if (magnitude > (unsigned long long)INT64_MAX + 1)
            return NULL;
        return json_integer(magnitude == (unsigned long long)INT64_MAX + 1
                                ? INT64_MIN
                                : -(json_int_t)magnitude);
    }
    if (magnitude > (unsigned long long)INT64_MAX)
        return NULL;
    return json_integer((json_int_t)magnitude);
}

/* YAML 1.1 floats: [-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)? and \.[0-9_]+(...)?.
 * Infinities and NaN have no JSON form: they stay strings. */
static json_t *resolve_float(const char *text)
{
    const char *s = text;
    if (*s == '+' || *s == '-')
        s++;
    const char *p = s;
    bool int_part = false;
    if (*p >= '0' && *p <= '9') {
        int_part = true;
        while ((*p >= '0' && *p <= '9') || *p == '_')
            p++;
    }
    if (*p != '.')
        return NULL;
    if (!int_part && s != text)
        return NULL; /* "-.5" is not in the 1.1 pattern */
    p++;
    bool frac = false;
    while ((*p >= '0' && *p <= '9') || *p == '_') {
        frac = true;
        p++;
    }
    if (!int_part && !frac)
        return NULL;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p != '+' && *p != '-')
            return NULL;
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p)
        return NULL;
    char buf[128];
    if (strlen(text) >= sizeof buf)
        return NULL;
    strip_underscores(buf, text);
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return NULL;
    return json_real(v);
}

/* The typed value of a plain scalar, or NULL when it is a string. */
static json_t *resolve_plain(const char *s)
{
    /* Most scalars are names: only these first characters can start a typed value. */
    if (*s && !strchr("~nNtTfFyYoO0123456789+-.", *s))
        return NULL;
    if (is_one_of(s, null_words))
        return json_null();
    if (is_one_of(s, true_words))
        return json_true();
    if (is_one_of(s, false_words))
        return json_false();
    json_t *v = resolve_int(s);
    if (!v)
        v = resolve_float(s);
    return v;
}

static bool isdigit4(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* True when PyYAML would not read `s` back as a string if written plain: typed forms,
 * timestamps, sexagesimal numbers, the merge and value keys. Over-quoting is harmless. */
static bool needs_quotes(const char *s, size_t len)
{
    if (len != strlen(s))
        return true; /* embedded NUL: only double quotes can carry it */
    json_t *typed = resolve_plain(s);
    if (typed) {
        json_decref(typed);
        return true;
    }
    if (strcmp(s, "=") == 0 || strcmp(s, "<<") == 0)
        return true;
    if (is_one_of(s, (const char *const[]){".inf", ".Inf", ".INF", "+.inf", "-.inf", "+.Inf",
                                           "-.Inf", "+.INF", "-.INF", ".nan", ".NaN", ".NAN",
                                           NULL}))
        return true;
    /* Timestamps ("2024-01-15", "2024-1-5 10:00:00") and sexagesimal numbers ("1:30"). */
    bool numeric_start = (s[0] >= '0' && s[0] <= '9') || s[0] == '+' || s[0] == '-';
    bool date_like = len >= 8 && isdigit4(s) && s[4] == '-' && isdigit((unsigned char)s[5]);
    return date_like || (numeric_start && strchr(s, ':') && all_in(s, "0123456789_:.+-"));
}

/* ------------------------------------------------------------ parse */

/* Parsing works on libyaml's events (its document API costs a third more: it copies
 * every node and tag before we copy them again). Aliases share the anchored value
 * (json_incref); the node bound counts them expanded, so nothing built from the tree
 * later (a deep copy, the emitter) can blow up. */

typedef struct anchor {
    char *name;
    json_t *value;
    size_t nodes; /* nodes in the value, aliases expanded */
} anchor;

typedef struct frame {
    json_t *container;
    char *key;          /* mappings: the key waiting for its value */
    size_t key_len;
    char *anchor;       /* registered when the container ends */
    size_t nodes_at_start;
} frame;

typedef struct tree_builder {
    const char *origin;
    frame stack[YAML_MAX_DEPTH + 1];
    size_t depth;
    anchor *anchors;
    size_t nanchors;
    size_t nodes;
    json_t *root;
} tree_builder;

static int builder_error(const tree_builder *b, const yaml_event_t *ev, const char *problem)
{
    return mdm_error_set(MDM_EINVALID, "%s line %zu: %s", b->origin, ev->start_mark.line + 1,
                         problem);
}

static int count_nodes(tree_builder *b, const yaml_event_t *ev, size_t n)
{
    b->nodes += n;
    if (b->nodes > YAML_MAX_NODES)
        return mdm_error_set(MDM_EINVALID, "%s line %zu: more than %d nodes (alias expansion?)",
                             b->origin, ev->start_mark.line + 1, YAML_MAX_NODES);
    return 0;
}

static int add_anchor(tree_builder *b, const char *name, json_t *value, size_t nodes)
{
    anchor *grown = realloc(b->anchors, (b->nanchors + 1) * sizeof *grown);
    if (!grown)
        return mdm_error_set(MDM_ENOMEM, "out of memory reading %s", b->origin);
    b->anchors = grown;
    /* A later anchor of the same name shadows the earlier one (YAML allows redefining). */
    anchor *a = &grown[b->nanchors];
    if (!(a->name = strdup(name)))
        return mdm_error_set(MDM_ENOMEM, "out of memory reading %s", b->origin);
    a->value = json_incref(value);
    a->nodes = nodes;
    b->nanchors++;
    return 0;
}

static const anchor *find_anchor(const tree_builder *b, const char *name)
{
    for (size_t i = b->nanchors; i-- > 0;)
        if (strcmp(b->anchors[i].name, name) == 0)
            return &b->anchors[i];
    return NULL;
}

/* Hands a finished value (reference stolen) to the current container, or makes it the
 * root. Scalars in key position become the pending key. */
static int attach(tree_builder *b, const yaml_event_t *ev, json_t *value, bool is_scalar,
                  const char *text, size_t len)
{
    if (b->depth == 0) {
        b->root = value;
        return 0;
    }
    frame *top = &b->stack[b->depth - 1];
    if (json_is_array(top->container)) {
        if (json_array_append_new(top->container, value) != 0)
            return mdm_error_set(MDM_ENOMEM, "out of memory reading %s", b->origin);
        return 0;
    }
    if (!top->key) {
        json_decref(value);
        if (!is_scalar)
            return builder_error(b, ev, "mapping keys must be scalars");
        if (!(top->key = malloc(len + 1)))
            return mdm_error_set(MDM_ENOMEM, "out of memory reading %s", b->origin);
        memcpy(top->key, text, len);
        top->key[len] = '\0';
        top->key_len = len;
        return 0;
    }
    int rc = json_object_setn_new(top->container, top->key, top->key_len, value);
    free(top->key);
    top->key = NULL;
    return rc ? builder_error(b, ev, "bad mapping key") : 0;
}

static int on_scalar(tree_builder *b, const yaml_event_t *ev)
{
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    bool typed_tag = tag && (strcmp(tag, YAML_INT_TAG) == 0 || strcmp(tag, YAML_FLOAT_TAG) == 0 ||
                             strcmp(tag, YAML_BOOL_TAG) == 0 || strcmp(tag, YAML_NULL_TAG) == 0);
    bool plain = !tag && ev->data.scalar.plain_implicit &&
                 ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    int rc = count_nodes(b, ev, 1);
    if (rc)
        return rc;
    json_t *v = NULL;
    if ((plain || typed_tag) && len == strlen(text))
        v = resolve_plain(text);
    if (!v)
        v = json_stringn(text, len);
    if (!v)
        return builder_error(b, ev, "a scalar is not valid UTF-8");
    if (ev->data.scalar.anchor && (rc = add_anchor(b, (const char *)ev->data.scalar.anchor, v, 1)))
        return rc;
    return attach(b, ev, v, true, text, len);
}

static int on_alias(tree_builder *b, const yaml_event_t *ev)
{
    const anchor *a = find_anchor(b, (const char *)ev->data.alias.anchor);
    if (!a)
        return builder_error(b, ev, "alias to an unknown or unfinished anchor");
    int rc = count_nodes(b, ev, a->nodes);
    if (rc)
        return rc;
    bool is_scalar = !json_is_object(a->value) && !json_is_array(a->value);
    const char *text = json_is_string(a->value) ? json_string_value(a->value) : "";
    size_t len = json_is_string(a->value) ? json_string_length(a->value) : 0;
    if (is_scalar && !json_is_string(a->value) && b->depth &&
        json_is_object(b->stack[b->depth - 1].container) && !b->stack[b->depth - 1].key)
        return builder_error(b, ev, "mapping keys must be strings");
    return attach(b, ev, json_incref(a->value), is_scalar, text, len);
}

static int on_start(tree_builder *b, const yaml_event_t *ev, bool mapping)
{
    if (b->depth >= YAML_MAX_DEPTH)
        return builder_error(b, ev, "nested too deeply");
    int rc = count_nodes(b, ev, 1);
    if (rc)
        return rc;
    json_t *container = mapping ? json_object() : json_array();
    const yaml_char_t *anchor_name =
        mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    frame *f = &b->stack[b->depth];
    memset(f, 0, sizeof *f);
    if (!container || (anchor_name && !(f->anchor = strdup((const char *)anchor_name)))) {
        json_decref(container);
        return mdm_error_set(MDM_ENOMEM, "out of memory reading %s", b->origin);
    }
    f->container = container;
    f->nodes_at_start = b->nodes;
    b->depth++;
    return 0;
}

static int on_end(tree_builder *b, const yaml_event_t *ev)
{
    frame f = b->stack[--b->depth];
    free(f.key); /* a dangling key cannot happen in valid YAML; libyaml checks */
    int rc = 0;
    if (f.anchor)
        rc = add_anchor(b, f.anchor, f.container, b->nodes - f.nodes_at_start + 1);
    free(f.anchor);
    if (rc) {
        json_decref(f.container);
        return rc;
    }
    return attach(b, ev, f.container, false, NULL, 0);
}

static void builder_free(tree_builder *b)
{
    while (b->depth) {
        frame *f = &b->stack[--b->depth];
        json_decref(f->container);
        free(f->key);
        free(f->anchor);
    }
    for (size_t i = 0; i < b->nanchors; i++) {
        free(b->anchors[i].name);
        json_decref(b->anchors[i].value);
    }
    free(b->anchors);
    json_decref(b->root);
}

int yaml_tree_parse(json_t **out, const char *text, size_t len, const char *origin)
{
    *out = NULL;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return mdm_error_set(MDM_ENOMEM, "out of memory reading %s", origin);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    tree_builder b = {.origin = origin};
    int rc = 0;
    bool in_document = false, done = false;
    while (!rc && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = mdm_error_set(MDM_EINVALID, "%s line %zu column %zu: %s%s%s", origin,
                               parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                               parser.problem ? parser.problem : "invalid YAML",
                               parser.context ? " " : "", parser.context ? parser.context : "");
            break;
        }
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            in_document = true;
            break;
        case YAML_DOCUMENT_END_EVENT:
            done = true; /* the first document only, as yaml.safe_load would insist */
            break;
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_SCALAR_EVENT:
            rc = on_scalar(&b, &ev);
            break;
        case YAML_ALIAS_EVENT:
            rc = on_alias(&b, &ev);
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            rc = on_start(&b, &ev, ev.type == YAML_MAPPING_START_EVENT);
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            rc = on_end(&b, &ev);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (!rc && (!in_document || !b.root))
        rc = mdm_error_set(MDM_EINVALID, "%s: empty document", origin);
    if (!rc) {
        *out = b.root;
        b.root = NULL;
    }
    builder_free(&b);
    return rc;
}

/* ------------------------------------------------------------ emit */

static int write_to_strbuf(void *data, unsigned char *buffer, size_t size)
{
    strbuf_append_len(data, (const char *)buffer, size);
    return 1;
}

/* Shortest text that reads back as the same double and as a float in YAML 1.1
 * (which wants a '.' and a signed exponent). */
static void format_real(char *buf, size_t size, double v)
{
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(buf, size, "%.*g", precision, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (strchr(buf, '.') || strchr(buf, 'n') || strchr(buf, 'N'))
        return;
    char *e = strchr(buf, 'e');
    char tail[32] = "";
    if (e) {
        snprintf(tail, sizeof tail, "%s", e);
        *e = '\0';
    }
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, ".0%s", tail);
}

static int emit_scalar(yaml_emitter_t *em, const char *text, size_t len, bool typed)
{
    yaml_event_t ev;
    int plain_implicit = typed || !needs_quotes(text, len);
    yaml_scalar_style_t style = typed ? YAML_PLAIN_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE;
    if (len != strlen(text))
        style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)len,
                                      plain_implicit, !typed, style))
        return MDM_ENOMEM;
    return yaml_emitter_emit(em, &ev) ? 0 : MDM_EINVALID;
}

static int emit_node(yaml_emitter_t *em, const json_t *node, int depth)
{
    if (depth > YAML_MAX_DEPTH)
        return MDM_EINVALID;
    char buf[64];
    yaml_event_t ev;
    switch (json_typeof(node)) {
    case JSON_OBJECT: {
        if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
            !yaml_emitter_emit(em, &ev))
            return MDM_EINVALID;
        const char *key;
        size_t key_len;
        json_t *value;
        void *tmp;
        json_object_keylen_foreach_safe((json_t *)node, tmp, key, key_len, value)
        {
            int rc = emit_scalar(em, key, key_len, false);
            if (!rc)
                rc = emit_node(em, value, depth + 1);
            if (rc)
                return rc;
        }
        if (!yaml_mapping_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
            return MDM_EINVALID;
        return 0;
    }
    case JSON_ARRAY: {
        if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE) ||
            !yaml_emitter_emit(em, &ev))
            return MDM_EINVALID;
        for (size_t i = 0; i < json_array_size(node); i++) {
            int rc = emit_node(em, json_array_get(node, i), depth + 1);
            if (rc)
                return rc;
        }
        if (!yaml_sequence_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
            return MDM_EINVALID;
        return 0;
    }
    case JSON_STRING:
        return emit_scalar(em, json_string_value(node), json_string_length(node), false);
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(node));
        return emit_scalar(em, buf, strlen(buf), true);
    case JSON_REAL:
        format_real(buf, sizeof buf, json_real_value(node));
        return emit_scalar(em, buf, strlen(buf), true);
    case JSON_TRUE:
        return emit_scalar(em, "true", 4, true);
    case JSON_FALSE:
        return emit_scalar(em, "false", 5, true);
    case JSON_NULL:
        return emit_scalar(em, "null", 4, true);
    }
    return MDM_EINVALID;
}

int yaml_tree_emit(char **out, size_t *len, const json_t *tree)
{
    *out = NULL;
    strbuf sb = STRBUF_INIT;
    yaml_emitter_t em;
    yaml_event_t ev;
    int rc = 0;
    if (!yaml_emitter_initialize(&em))
        return mdm_error_set(MDM_ENOMEM, "out of memory writing YAML");
    yaml_emitter_set_output(&em, write_to_strbuf, &sb);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_indent(&em, 2);
    yaml_emitter_set_width(&em, -1);
    if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(&em, &ev) ||
        !yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
        !yaml_emitter_emit(&em, &ev)) {
        rc = MDM_EINVALID;
        goto cleanup;
    }
    rc = emit_node(&em, tree, 0);
    if (rc)
        goto cleanup;
    if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&em, &ev) ||
        !yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&em, &ev) ||
        !yaml_emitter_flush(&em))
        rc = MDM_EINVALID;
cleanup:
    if (rc)
        rc = mdm_error_set(rc == MDM_ENOMEM ? MDM_ENOMEM : MDM_EINVALID, "cannot write YAML: %s",
                           em.problem ? em.problem : "the value cannot be represented");
    yaml_emitter_delete(&em);
    if (!rc) {
        const char *text = strbuf_cstr(&sb);
        if (!text)
            rc = MDM_ENOMEM;
        else {
            if (len)
                *len = sb.len;
            *out = strbuf_detach(&sb);
        }
    }
    strbuf_free(&sb);
    return rc;
}
