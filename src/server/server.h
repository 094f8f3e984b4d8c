/* mdm serve: the HTTP front end over the public dataset API. */
#ifndef MDM_SERVER_SERVER_H
#define MDM_SERVER_SERVER_H

#include <stddef.h>

#include "mdm/dataset.h"

typedef struct mdm_serve_options {
    const char *host;          /* NULL: 127.0.0.1 */
    unsigned port;             /* as given; 0: any free port (printed) */
    const char *token;         /* Bearer token; required for a non-loopback host */
    const char *cors_origin;   /* NULL: no CORS headers */
    unsigned threads;          /* worker threads; 0: 2 per core, at least 4 */
    unsigned idle_timeout_s;   /* 0: 30 */
    unsigned max_connections;  /* 0: 256 */
    unsigned drain_timeout_ms; /* 0: 10000 */
    size_t max_body;           /* 0: 1 MiB */
} mdm_serve_options;

/* Serves until SIGTERM or SIGINT, then stops accepting, lets requests in flight finish
 * within the drain timeout and returns 0. Errors (bad options, port taken) come back
 * as MDM_E* codes with the message set. */
int mdm_serve_run(mdm_catalog *cat, const mdm_serve_options *opt);

#endif
