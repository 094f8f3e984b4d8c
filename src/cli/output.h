/* Text from the registry (descriptions, tags, column and file names) printed on the
 * terminal: control characters in it are shown escaped, never sent raw, so that a
 * dataset cannot move the cursor, retitle the window or hide text through `mdm dataset
 * info/list/search`. JSON output needs none of this: jansson escapes it. */
#ifndef MDM_CLI_OUTPUT_H
#define MDM_CLI_OUTPUT_H

#include <stddef.h>

/* `s` with every C0 control (tab and newline included), DEL and C1 control (U+0080 to
 * U+009F) written as \xNN (C1 as \u00NN), and every byte that is not part of valid
 * UTF-8 as \xNN; backslashes stay as they are, other UTF-8 passes through. *out is
 * malloc'd; NULL when out of memory. Returns the number of characters escaped. */
size_t cli_escape(char **out, const char *s);

/* Escaped copies for one command's output, freed together. */
typedef struct cli_text {
    char **owned;
    size_t n, cap;
} cli_text;

/* `s` itself when it needs no escaping, else its escaped copy (owned by `t`); NULL
 * stays NULL. Out of memory: "?" (never the raw text). */
const char *cli_safe(cli_text *t, const char *s);
void cli_text_free(cli_text *t);

#endif
