/* Shared pieces of the mdm command line. */
#ifndef MDM_CLI_CLI_H
#define MDM_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "mdm/dataset.h"
#include "mdm/mdm.h"

/* Loads the configuration and starts logging; on failure prints the error and returns
 * NULL (the caller exits 1). */
mdm_config *cli_config_load(void);
void cli_config_free(mdm_config *cfg);

/* Loads the configuration, starts logging and opens the home's catalog; on failure
 * prints the error and returns NULL (the caller exits 1). */
mdm_catalog *cli_catalog_open(void);
void cli_catalog_close(mdm_catalog *cat);

/* The items joined by `sep` (malloc'd, "" for none; NULL when out of memory). */
char *cli_join(char *const *items, size_t count, const char *sep);

/* Prints "Error: <message>" on stderr (red on a terminal). Returns 1, the exit status. */
int cli_fail(const char *fmt, ...) MDM_PRINTF(1, 2);
/* cli_fail with the thread's last mdm error. */
int cli_fail_last(void);

/* Exact match of an option that takes a value: `--name VALUE` or `--name=VALUE`.
 * Advances *i past the value. Returns the value, or NULL when argv[*i] is not it. A
 * missing value prints an error and sets *bad. */
const char *cli_option_value(int argc, char **argv, int *i, const char *name, const char *alias,
                             bool *bad);

/* "12.3 MB" (binary units); "-" for a negative (unknown) size. */
void cli_human_bytes(char *buf, size_t size, long long bytes);

/* Prints a JSON value on stdout, indented, keys in insertion order, and releases it.
 * Returns 0, or 1 after printing an error (out of memory). */
struct json_t;
int cli_print_json(struct json_t *value);

#endif
