/* Operational routes: /health, /ready, /metrics, /api/metrics.json, the OpenAPI
 * document (made from the routes table) and the dashboard page. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/buf.h"
#include "server/internal.h"

static int reply_doc(reply *rep, int status, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text)
        return reply_error(rep, 500, "ENOMEM", "out of memory");
    return reply_json(rep, status, text, strlen(text));
}

int route_health(request *req, reply *rep)
{
    return reply_doc(rep, 200, json_pack("{s:s}", "status", "ok"));
}

static json_t *pool_json(const mdm_pool_stats *s)
{
    return json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:s}", "name", s->name,
                     "backend", s->backend ? s->backend : "", "size", (json_int_t)s->size,
                     "idle", (json_int_t)s->idle, "in_use", (json_int_t)s->in_use, "waiting",
                     (json_int_t)s->waiting, "max_size", (json_int_t)s->max_size, "checkouts",
                     (json_int_t)s->checkouts, "timeouts", (json_int_t)s->timeouts,
                     "wait_p50_ms", s->wait_p50_ms, "wait_p99_ms", s->wait_p99_ms, "breaker",
                     s->breaker ? s->breaker : "closed");
}

static json_t *pools_json(bool *breaker_open)
{
    mdm_pool_stats *st = NULL;
    size_t n = 0;
    json_t *arr = json_array();
    if (mdm_pool_stats_all(&st, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            json_array_append_new(arr, pool_json(&st[i]));
            if (breaker_open && st[i].breaker && strcmp(st[i].breaker, "open") == 0)
                *breaker_open = true;
        }
        free(st);
    }
    return arr;
}

/* Is PostgreSQL in use: the default backend, or a registered dataset's? */
static bool postgres_configured(server *srv)
{
    const char *def = mdm_config_str(srv->cfg, "database.default_backend");
    if (def && strcmp(def, "postgresql") == 0)
        return true;
    mdm_dataset_info **infos = NULL;
    size_t n = 0;
    bool found = false;
    if (mdm_catalog_list(&infos, &n, srv->cat, NULL) == 0) {
        for (size_t i = 0; i < n && !found; i++)
            found = infos[i]->database.backend &&
                    strcmp(infos[i]->database.backend, "postgresql") == 0;
        mdm_dataset_infos_free(infos, n);
    }
    return found;
}

/* Checks a connection out of the PostgreSQL pool and pings it. */
static json_t *probe_postgres(server *srv)
{
    mdm_store *store = NULL;
    mdm_conn *conn = NULL;
    int rc = mdm_store_open_dataset(&store, "postgres", "mdm_ready_probe", srv->cfg);
    if (!rc)
        rc = mdm_store_checkout(store, &conn);
    if (!rc)
        rc = mdm_conn_ping(conn);
    if (conn)
        mdm_store_checkin(store, conn);
    mdm_store_free(store);
    if (rc)
        return json_pack("{s:b,s:s}", "ok", 0, "error", mdm_error_last()->message);
    return json_pack("{s:b}", "ok", 1);
}

static json_t *probe_dir(const char *dir)
{
    if (access(dir, R_OK | W_OK | X_OK) != 0 && access(dir, F_OK) == 0)
        return json_pack("{s:b,s:s}", "ok", 0, "error", "datasets directory not writable");
    return json_pack("{s:b}", "ok", 1);
}

int route_ready(request *req, reply *rep)
{
    server *srv = req->srv;
    json_t *backends = json_object();
    const char *dir = mdm_config_path(srv->cfg, "datasets_path");
    json_object_set_new(backends, "sqlite", probe_dir(dir));
    json_object_set_new(backends, "duckdb", probe_dir(dir));
    if (postgres_configured(srv))
        json_object_set_new(backends, "postgresql", probe_postgres(srv));
    bool ready = true, breaker_open = false;
    const char *k;
    json_t *v;
    json_object_foreach(backends, k, v) ready = ready && json_is_true(json_object_get(v, "ok"));
    json_t *pools = pools_json(&breaker_open);
    ready = ready && !breaker_open;
    return reply_doc(rep, ready ? 200 : 503,
                     json_pack("{s:b,s:o,s:o}", "ready", ready, "backends", backends, "pools", pools));
}

static void update_cache_gauges(server *srv, cache_stats *cs)
{
    cache_stats_get(srv->cache, cs);
    mdm_gauge_set(mdm_metrics_gauge("mdm_cache_bytes", "Bytes held by the response cache", NULL),
                  (double)cs->bytes);
    mdm_gauge_set(mdm_metrics_gauge("mdm_cache_entries", "Entries of the response cache", NULL),
                  (double)cs->entries);
}

int route_metrics(request *req, reply *rep)
{
    cache_stats cs;
    update_cache_gauges(req->srv, &cs);
    char *text = NULL;
    int rc = mdm_metrics_render(&text);
    if (rc)
        return reply_mdm_error(rep, rc);
    reply_json(rep, 200, text, strlen(text));
    rep->ctype = "text/plain; version=0.0.4; charset=utf-8";
    return 0;
}

int route_metrics_json(request *req, reply *rep)
{
    cache_stats cs;
    update_cache_gauges(req->srv, &cs);
    uint64_t total, in_flight, *by = calloc(600, sizeof *by);
    double p50, p99;
    if (!by)
        return reply_error(rep, 500, "ENOMEM", "out of memory");
    server_request_stats(&total, &in_flight, by, &p50, &p99);
    json_t *bys = json_object();
    for (int i = 100; i < 600; i++)
        if (by[i]) {
            char code[8];
            snprintf(code, sizeof code, "%d", i);
            json_object_set_new(bys, code, json_integer((json_int_t)by[i]));
        }
    free(by);
    char now[64];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *doc = json_pack(
        "{s:s,s:o,s:{s:I,s:I,s:o,s:f,s:f},s:{s:I,s:I,s:I,s:I}}", "time", now, "pools",
        pools_json(NULL), "requests", "total", (json_int_t)total, "in_flight", (json_int_t)in_flight, "by_status", bys, "p50_ms", p50,
        "p99_ms", p99, "cache", "hits", (json_int_t)cs.hits, "misses", (json_int_t)cs.misses,
        "bytes", (json_int_t)cs.bytes, "entries", (json_int_t)cs.entries);
    return reply_doc(rep, 200, doc);
}

int route_dashboard(request *req, reply *rep)
{
    (void)req;
    const char *page = mdm_dashboard_html();
    size_t len = strlen(page);
    char *copy = malloc(len + 1);
    if (!copy)
        return reply_error(rep, 500, "ENOMEM", "out of memory");
    memcpy(copy, page, len + 1);
    reply_json(rep, 200, copy, len);
    rep->ctype = "text/html; charset=utf-8";
    return 0;
}

/* The operation history (SERVE_CONTRACT: /api/history, /api/history/summary). */
int route_history(request *req, reply *rep)
{
    mdm_history_filter f = {.limit = 50, .dataset = req_arg(req, "dataset"),
                            .type = req_arg(req, "type")};
    const char *limit = req_arg(req, "limit");
    if (limit) {
        char *end;
        unsigned long long n = strtoull(limit, &end, 10);
        if (!*limit || *end || n > 100000)
            return reply_error(rep, 400, "EINVALID", "limit must be a number from 0 to 100000");
        f.limit = (size_t)n;
    }
    char *json = NULL;
    int rc = mdm_history_list(&json, req->srv->cfg, &f);
    if (rc)
        return reply_mdm_error(rep, rc);
    return reply_json(rep, 200, json, strlen(json));
}

int route_history_summary(request *req, reply *rep)
{
    char *json = NULL;
    int rc = mdm_history_summary(&json, req->srv->cfg, req_arg(req, "dataset"));
    if (rc)
        return reply_mdm_error(rep, rc);
    return reply_json(rep, 200, json, strlen(json));
}

/* ------------------------------------------------------------------ OpenAPI */

static json_t *error_response(const char *what)
{
    return json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", what, "content", "application/json",
                     "schema", "$ref", "#/components/schemas/Error");
}

static json_t *operation(const route *r)
{
    json_t *op = json_pack("{s:s,s:s}", "summary", r->summary, "operationId", "");
    char opid[200];
    snprintf(opid, sizeof opid, "%s%s", r->method, r->pattern);
    for (char *p = opid; *p; p++)
        if (*p == '/' || *p == '{' || *p == '}' || *p == '.')
            *p = '_';
    json_object_set_new(op, "operationId", json_string(opid));
    json_t *params = json_array();
    if (strstr(r->pattern, "{name}"))
        json_array_append_new(params, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", "name", "in", "path",
                                                "required", 1, "schema", "type", "string"));
    if (strstr(r->pattern, "{table}"))
        json_array_append_new(params, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", "table", "in",
                                                "path", "required", 1, "schema", "type", "string"));
    char q[256];
    snprintf(q, sizeof q, "%s", r->query);
    for (char *save, *p = strtok_r(q, ",", &save); p; p = strtok_r(NULL, ",", &save))
        json_array_append_new(params, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", p, "in", "query",
                                                "required", 0, "schema", "type", "string"));
    if (json_array_size(params))
        json_object_set_new(op, "parameters", params);
    else
        json_decref(params);
    if (r->body) {
        json_t *props = json_object();
        char b[256];
        snprintf(b, sizeof b, "%s", r->body);
        for (char *save, *p = strtok_r(b, ",", &save); p; p = strtok_r(NULL, ",", &save))
            json_object_set_new(props, p,
                                json_pack("{s:s}", "type",
                                          strcmp(p, "limit") == 0 || strcmp(p, "timeout_ms") == 0
                                              ? "integer"
                                              : "string"));
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b,s:{s:{s:{s:s,s:o}}}}", "required", 1, "content",
                                      "application/json", "schema", "type", "object",
                                      "properties", props));
    }
    if (r->token)
        json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearer"));
    json_t *responses = json_object();
    json_object_set_new(responses, "200",
                        json_pack("{s:s,s:{s:{}}}", "description", "OK", "content", r->produces));
    if (strstr(r->pattern, "{name}"))
        json_object_set_new(responses, "404", error_response("Not found"));
    json_object_set_new(responses, "400", error_response("Bad request"));
    if (r->token)
        json_object_set_new(responses, "401", error_response("Missing or wrong token"));
    if (strcmp(r->pattern, "/ready") == 0)
        json_object_set_new(responses, "503", error_response("Not ready"));
    if (r->fn == route_query)
        json_object_set_new(responses, "408", error_response("Past the time limit"));
    json_object_set_new(op, "responses", responses);
    return op;
}

int route_openapi(request *req, reply *rep)
{
    json_t *paths = json_object();
    for (size_t i = 0; i < server_nroutes; i++) {
        const route *r = &server_routes[i];
        json_t *item = json_object_get(paths, r->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, r->pattern, item);
        }
        char method[16];
        size_t k = 0;
        for (; r->method[k] && k < sizeof method - 1; k++)
            method[k] = (char)(r->method[k] | 0x20);
        method[k] = '\0';
        json_object_set_new(item, method, operation(r));
    }
    json_t *doc = json_pack(
        "{s:s,s:{s:s,s:s},s:o,s:{s:{s:{s:s,s:[s],s:{s:{s:s},s:{s:s}}}},s:{s:{s:s,s:s}}}}",
        "openapi", "3.0.3", "info", "title", "mdm serve", "version", mdm_version(), "paths", paths,
        "components", "schemas", "Error", "type", "object", "required", "error", "properties",
        "error", "type", "string", "code", "type", "string", "securitySchemes", "bearer", "type",
        "http", "scheme", "bearer");
    return reply_doc(rep, 200, doc);
}
