/* What the server's parts share: the request and reply records and the routes table. */
#ifndef MDM_SERVER_INTERNAL_H
#define MDM_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mdm/dataset.h"
#include "server/cache.h"
#include "server/handles.h"
#include "server/redis_tier.h"
#include "server/server.h"

typedef struct server {
    mdm_catalog *cat;
    const mdm_config *cfg;
    handles *handles;
    cache *cache;
    redis_tier *redis;     /* shared second tier, or NULL */
    mdm_serve_options opt;
    char token[512];
    bool has_token;
    uint64_t started_ns;
} server;

typedef struct request {
    server *srv;
    const char *method;
    const char *path;
    const char *params[2]; /* {name}, {table} of the route pattern, decoded */
    const char *body;
    size_t body_len;
    void *conn;            /* struct MHD_Connection */
} request;

typedef struct reply {
    int status;
    const char *ctype;
    char *body;            /* malloc'd */
    size_t len;
    int fd;                /* >= 0: stream this file (size fd_size) instead of body */
    uint64_t fd_size;
    char disposition[300]; /* Content-Disposition, "" for none */
    const char *cache;     /* X-Cache: "hit", "miss" or NULL */
    void *response;        /* a ready struct MHD_Response (streamed), sent as it is */
} reply;

typedef int (*route_fn)(request *req, reply *rep);

typedef struct route {
    const char *method;
    const char *pattern;   /* "/api/datasets/{name}/tables/{table}" */
    route_fn fn;
    bool token;            /* needs the token whatever the bind address */
    const char *summary;
    const char *query;     /* query parameters, comma-separated ("" none) */
    const char *body;      /* JSON body members, comma-separated (NULL: no body) */
    const char *produces;  /* "application/json", ... */
} route;

extern const route server_routes[];
extern const size_t server_nroutes;

/* A query-string argument or NULL. */
const char *req_arg(const request *req, const char *key);

/* Fills rep with {"error": msg, "code": code} and the status. Returns 0. */
int reply_error(reply *rep, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The thread's last mdm error as a reply, the status chosen from its code. */
int reply_mdm_error(reply *rep, int rc);
/* Takes ownership of body. */
int reply_json(reply *rep, int status, char *body, size_t len);

/* Route handlers. */
int route_health(request *req, reply *rep);
int route_ready(request *req, reply *rep);
int route_metrics(request *req, reply *rep);
int route_metrics_json(request *req, reply *rep);
int route_openapi(request *req, reply *rep);
int route_dashboard(request *req, reply *rep);
int route_history(request *req, reply *rep);
int route_history_summary(request *req, reply *rep);
int route_datasets(request *req, reply *rep);
int route_dataset_info(request *req, reply *rep);
int route_dataset_columns(request *req, reply *rep);
int route_dataset_stats(request *req, reply *rep);
int route_table(request *req, reply *rep);
int route_query(request *req, reply *rep);
int route_export(request *req, reply *rep);
int route_update(request *req, reply *rep);
int route_remove(request *req, reply *rep);

/* Request counts for /api/metrics.json and the Prometheus text (server.c). */
void server_request_stats(uint64_t *total, uint64_t *in_flight, uint64_t by_status[600],
                          double *p50_ms, double *p99_ms);


#endif
