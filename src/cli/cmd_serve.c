/* mdm serve [--host 127.0.0.1] [--port 8765] [--token T]: the HTTP server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "server/server.h"

static bool parse_uint(unsigned *out, const char *s, const char *what, unsigned lo, unsigned hi)
{
    char *end;
    unsigned long v = s ? strtoul(s, &end, 10) : 0;
    if (!s || !*s || *end || v < lo || v > hi) {
        cli_fail("Invalid value for '%s': '%s' is not an integer from %u to %u.", what,
                 s ? s : "", lo, hi);
        return false;
    }
    *out = (unsigned)v;
    return true;
}

int cli_serve(int argc, char **argv)
{
    const char *host = "127.0.0.1", *port = "8765", *token = NULL, *cors = NULL, *threads = NULL,
               *idle = NULL, *drain = NULL;
    bool quiet = false;
    const cli_opt opts[] = {
        {"--host", NULL, "TEXT", &host, "Address to listen on (default 127.0.0.1; any other needs a token)."},
        {"--port", "-p", "INTEGER", &port, "Port (default 8765; 0 picks a free one)."},
        {"--token", NULL, "TEXT", &token, "Bearer token for changes and non-loopback use (or MDM_SERVE_TOKEN)."},
        {"--cors-origin", NULL, "TEXT", &cors, "Allow this origin to call the API from a browser."},
        {"--threads", NULL, "INTEGER", &threads, "Worker threads (default: 2 per core, at least 4)."},
        {"--idle-timeout", NULL, "SECONDS", &idle, "Close connections idle this long (default 30)."},
        {"--drain-timeout", NULL, "MS", &drain, "On SIGTERM, wait this long for requests in flight (default 10000)."},
        {"--quiet", "-q", NULL, &quiet, "Do not log each request on stderr."},
        {NULL, NULL, NULL, NULL, NULL},
    };
    cli_command cmd = {.usage = "mdm serve [OPTIONS]",
                       .summary = "Serve datasets over HTTP: a JSON API, CSV and Parquet "
                                  "downloads, read-only SQL, metrics and a dashboard.",
                       .opts = opts};
    int prc = cli_parse(&cmd, argc, argv);
    if (prc)
        return prc < 0 ? 0 : prc;
    mdm_serve_options so = {.host = host, .cors_origin = cors};
    if (!parse_uint(&so.port, port, "--port", 0, 65535) ||
        (threads && !parse_uint(&so.threads, threads, "--threads", 1, 1024)) ||
        (idle && !parse_uint(&so.idle_timeout_s, idle, "--idle-timeout", 1, 86400)) ||
        (drain && !parse_uint(&so.drain_timeout_ms, drain, "--drain-timeout", 1, 3600000)))
        return 2;
    so.token = token ? token : getenv("MDM_SERVE_TOKEN");
    mdm_catalog *cat = cli_catalog_open();
    if (!cat)
        return 1;
    if (!quiet)
        mdm_log_set_stderr_level(MDM_LOG_INFO);
    int rc = mdm_serve_run(cat, &so);
    if (rc)
        rc = cli_fail_last();
    cli_catalog_close(cat);
    return rc;
}
