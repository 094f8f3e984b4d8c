/* YAML text <-> a jansson tree, with the scalar rules of PyYAML (YAML 1.1), so that files
 * the Python mdm wrote read back with the same types and files we write read back in
 * Python with the same types: plain `true`, `12`, `1.5`, `null` are typed; strings that
 * would read as something else are quoted on output. Timestamp-looking plain scalars
 * stay strings (callers parse the ones they know). */
#ifndef MDM_DATASET_YAML_TREE_H
#define MDM_DATASET_YAML_TREE_H

#include <jansson.h>
#include <stddef.h>

/* Parses one YAML document into a new tree (an object, array or scalar). `origin`
 * names the text in errors ("/path/x.yaml"): MDM_EINVALID "<origin> line L column C:
 * <problem>". An empty document is MDM_EINVALID "<origin>: empty document". Aliases
 * are expanded (with a bound against alias bombs); unknown tags keep the node's plain
 * value. */
int yaml_tree_parse(json_t **out, const char *text, size_t len, const char *origin);

/* Block-style YAML of `tree` (objects in their insertion order) into *out (NUL-
 * terminated, caller frees) and its length into *len (may be NULL). */
int yaml_tree_emit(char **out, size_t *len, const json_t *tree);

#endif
