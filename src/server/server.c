/* mdm serve on libmicrohttpd: the daemon (thread pool, keep-alive, limits), request
 * bodies, authentication, dispatch through the routes table, responses, per-request
 * log line and metrics, and the shutdown on SIGTERM/SIGINT. */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/buf.h"
#include "server/internal.h"

#define MAX_SEGMENTS 8

typedef struct conn_ctx {
    uint64_t start_ns;
    buf body;
    bool too_large;
    bool counted;
    int status;
    const char *route; /* pattern for metrics, or "unmatched" */
    size_t route_idx;  /* index into server_routes, or one of the pseudo routes after it */
    char method[12];
    char path[200];
} conn_ctx;

static atomic_uint_fast64_t inflight;
static atomic_uint_fast64_t total_requests;
static atomic_uint_fast64_t status_counts[600];
static mdm_histogram *all_latency;

/* Metric pointers per route (and per status), found once: the registry's lookup takes
 * a process-wide lock and parses the labels. Pseudo routes follow the table's. */
#define MAX_ROUTES 64
enum { PSEUDO_UNMATCHED, PSEUDO_METHOD, PSEUDO_OPTIONS, NPSEUDO };
static const char *const pseudo_names[NPSEUDO] = {"unmatched", "method_not_allowed", "OPTIONS"};
static _Atomic(mdm_counter *) route_counters[MAX_ROUTES + NPSEUDO][600];
static _Atomic(mdm_histogram *) route_latency[MAX_ROUTES + NPSEUDO];

static void observe(size_t idx, const char *name, int status, double secs)
{
    if (idx >= MAX_ROUTES + NPSEUDO || status < 100 || status >= 600)
        return;
    char labels[300];
    mdm_counter *c = atomic_load(&route_counters[idx][status]);
    if (!c) {
        snprintf(labels, sizeof labels, "route=\"%s\",status=\"%d\"", name, status);
        c = mdm_metrics_counter("mdm_http_requests_total", "HTTP requests by route and status", labels);
        atomic_store(&route_counters[idx][status], c);
    }
    mdm_counter_add(c, 1);
    mdm_histogram *h = atomic_load(&route_latency[idx]);
    if (!h) {
        snprintf(labels, sizeof labels, "route=\"%s\"", name);
        h = mdm_metrics_histogram("mdm_http_request_duration_seconds", "HTTP request latency by route",
                                  labels);
        atomic_store(&route_latency[idx], h);
    }
    mdm_histogram_observe(h, secs);
}

void server_request_stats(uint64_t *total, uint64_t *in_flight, uint64_t by_status[600],
                          double *p50_ms, double *p99_ms)
{
    *total = atomic_load(&total_requests);
    *in_flight = atomic_load(&inflight);
    for (int i = 0; i < 600; i++)
        by_status[i] = atomic_load(&status_counts[i]);
    *p50_ms = all_latency ? mdm_histogram_quantile(all_latency, 0.5) * 1000 : 0;
    *p99_ms = all_latency ? mdm_histogram_quantile(all_latency, 0.99) * 1000 : 0;
}

/* ------------------------------------------------------------------ replies */

int reply_json(reply *rep, int status, char *body, size_t len)
{
    rep->status = status;
    rep->ctype = "application/json";
    free(rep->body);
    rep->body = body;
    rep->len = len;
    return 0;
}

int reply_error(reply *rep, int status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* one line */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    buf b = {0};
    buf_puts(&b, "{\"error\":");
    buf_json_str(&b, msg, strlen(msg));
    buf_puts(&b, ",\"code\":");
    buf_json_str(&b, code, strlen(code));
    buf_puts(&b, "}");
    size_t len;
    char *body = buf_take(&b, &len);
    rep->cache = NULL;
    if (rep->fd >= 0) {
        close(rep->fd);
        rep->fd = -1;
    }
    return reply_json(rep, status, body, body ? len : 0);
}

int reply_mdm_error(reply *rep, int rc)
{
    int status;
    switch (rc) {
    case MDM_EINVALID: status = 400; break;
    case MDM_ENOTFOUND: status = 404; break;
    case MDM_ETIMEOUT: status = 408; break;
    case MDM_ECANCELED: status = 408; break;
    case MDM_ECONSTRAINT: status = 413; break;
    case MDM_EBUSY:
    case MDM_ECONNECT:
    case MDM_ECLOSED: status = 503; break;
    case MDM_ENOTSUP: status = 400; break;
    default: status = 500;
    }
    const mdm_error *e = mdm_error_last();
    const char *msg = e->code == rc && e->message[0] ? e->message : "internal error";
    return reply_error(rep, status, mdm_error_name(rc), "%s", msg);
}

const char *req_arg(const request *req, const char *key)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)req->conn, MHD_GET_ARGUMENT_KIND,
                                       key);
}

/* ------------------------------------------------------------------ dispatch */

static size_t split(char *path, char **segs)
{
    size_t n = 0;
    char *save = NULL;
    for (char *p = strtok_r(path, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        if (n == MAX_SEGMENTS)
            return MAX_SEGMENTS + 1;
        segs[n++] = p;
    }
    return n;
}

/* Does the pattern match the path's segments? Fills params. */
static bool match(const char *pattern, char **segs, size_t nsegs, const char **params)
{
    char pat[256];
    snprintf(pat, sizeof pat, "%s", pattern);
    char *psegs[MAX_SEGMENTS + 1];
    size_t np = split(pat, psegs);
    if (np != nsegs)
        return false;
    size_t k = 0;
    for (size_t i = 0; i < np; i++) {
        if (psegs[i][0] == '{') {
            if (k < 2)
                params[k++] = segs[i];
        } else if (strcmp(psegs[i], segs[i]) != 0) {
            return false;
        }
    }
    return true;
}

static bool token_ok(const server *srv, struct MHD_Connection *c)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *given = auth + 7;
    size_t glen = strlen(given), tlen = strlen(srv->token);
    /* constant time in the token's length: every byte is compared */
    unsigned char diff = (unsigned char)(glen != tlen);
    for (size_t i = 0; i < tlen; i++)
        diff |= (unsigned char)(srv->token[i] ^ (i < glen ? given[i] : 0));
    return diff == 0;
}

static bool is_loopback_host(const char *host);

/* Runs the request; fills rep. */
static void dispatch(server *srv, conn_ctx *ctx, struct MHD_Connection *c, const char *url,
                     const char *method, reply *rep)
{
    char path[2048];
    if (strlen(url) >= sizeof path) {
        reply_error(rep, 414, "EINVALID", "URI too long");
        return;
    }
    snprintf(path, sizeof path, "%s", url);
    char *segs[MAX_SEGMENTS + 1];
    size_t nsegs = split(path, segs);
    bool head = strcmp(method, "HEAD") == 0;
    const route *found = NULL;
    const char *params[2] = {NULL, NULL};
    char allow[128] = "";
    for (size_t i = 0; i < server_nroutes && nsegs <= MAX_SEGMENTS; i++) {
        const route *r = &server_routes[i];
        const char *p2[2] = {NULL, NULL};
        if (!match(r->pattern, segs, nsegs, p2))
            continue;
        if (strcmp(r->method, method) == 0 || (head && strcmp(r->method, "GET") == 0)) {
            found = r;
            params[0] = p2[0];
            params[1] = p2[1];
            break;
        }
        size_t al = strlen(allow);
        snprintf(allow + al, sizeof allow - al, "%s%s", al ? ", " : "", r->method);
    }
    if (!found) {
        if (allow[0] && strcmp(method, "OPTIONS") == 0 && srv->opt.cors_origin) {
            rep->status = 204;
            rep->ctype = "text/plain";
            ctx->route = pseudo_names[PSEUDO_OPTIONS];
            ctx->route_idx = MAX_ROUTES + PSEUDO_OPTIONS;
            return;
        }
        if (allow[0]) {
            ctx->route = pseudo_names[PSEUDO_METHOD];
            ctx->route_idx = MAX_ROUTES + PSEUDO_METHOD;
            reply_error(rep, 405, "EMETHOD", "Method %s not allowed here (allowed: %s)", method,
                        allow);
            return;
        }
        ctx->route = pseudo_names[PSEUDO_UNMATCHED];
        ctx->route_idx = MAX_ROUTES + PSEUDO_UNMATCHED;
        reply_error(rep, 404, "ENOTFOUND", "No route %s %s", method, url);
        return;
    }
    ctx->route = found->pattern;
    ctx->route_idx = (size_t)(found - server_routes);
    bool need = found->token || (!is_loopback_host(srv->opt.host) && strcmp(found->pattern, "/health") != 0);
    if (need) {
        if (!srv->has_token) {
            reply_error(rep, 403, "EFORBIDDEN",
                        "Changes need a token: start mdm serve with --token (or MDM_SERVE_TOKEN)");
            return;
        }
        if (!MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization")) {
            reply_error(rep, 401, "EUNAUTHORIZED", "Missing 'Authorization: Bearer <token>'");
            return;
        }
        if (!token_ok(srv, c)) {
            reply_error(rep, 401, "EUNAUTHORIZED", "Wrong token");
            return;
        }
    }
    request req = {.srv = srv, .method = method, .path = url, .params = {params[0], params[1]},
                   .body = ctx->body.data, .body_len = ctx->body.len, .conn = c};
    mdm_error_clear();
    found->fn(&req, rep);
}

/* ------------------------------------------------------------------ MHD callbacks */

static enum MHD_Result queue(server *srv, struct MHD_Connection *c, conn_ctx *ctx, reply *rep)
{
    struct MHD_Response *resp;
    if (rep->response) {
        resp = rep->response;
        rep->response = NULL;
    } else if (rep->fd >= 0) {
        resp = MHD_create_response_from_fd64(rep->fd_size, rep->fd);
        if (resp)
            rep->fd = -1; /* MHD closes it */
    } else {
        resp = MHD_create_response_from_buffer(rep->len, rep->body ? rep->body : (char *)"",
                                               rep->body ? MHD_RESPMEM_MUST_FREE
                                                         : MHD_RESPMEM_PERSISTENT);
        if (resp)
            rep->body = NULL;
    }
    if (!resp)
        return MHD_NO; /* the caller frees what rep still holds */
    if (rep->ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->ctype);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (rep->cache)
        MHD_add_response_header(resp, "X-Cache", rep->cache);
    if (rep->disposition[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, rep->disposition);
    if (srv->opt.cors_origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", srv->opt.cors_origin);
        MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type");
        MHD_add_response_header(resp, "Access-Control-Allow-Methods",
                                "GET, POST, PATCH, DELETE, OPTIONS");
    }
    if (rep->status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    ctx->status = rep->status;
    enum MHD_Result r = MHD_queue_response(c, (unsigned)rep->status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    server *srv = cls;
    conn_ctx *ctx = *con_cls;
    reply rep = {.status = 500, .fd = -1};
    if (!ctx) {
        ctx = calloc(1, sizeof *ctx);
        if (!ctx)
            return MHD_NO;
        ctx->start_ns = mdm_now_ns();
        ctx->route = pseudo_names[PSEUDO_UNMATCHED];
        ctx->route_idx = MAX_ROUTES + PSEUDO_UNMATCHED;
        snprintf(ctx->method, sizeof ctx->method, "%s", method);
        snprintf(ctx->path, sizeof ctx->path, "%s", url);
        *con_cls = ctx;
        atomic_fetch_add(&inflight, 1);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > srv->opt.max_body) {
            reply_error(&rep, 413, "ETOOLARGE", "Request body over %zu bytes", srv->opt.max_body);
            enum MHD_Result r = queue(srv, c, ctx, &rep);
            free(rep.body);
            return r;
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!ctx->too_large) {
            if (ctx->body.len + *upload_data_size > srv->opt.max_body)
                ctx->too_large = true;
            else
                buf_put(&ctx->body, upload_data, *upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (ctx->too_large)
        reply_error(&rep, 413, "ETOOLARGE", "Request body over %zu bytes", srv->opt.max_body);
    else if (ctx->body.failed)
        reply_error(&rep, 500, "ENOMEM", "out of memory");
    else
        dispatch(srv, ctx, c, url, method, &rep);
    enum MHD_Result r = queue(srv, c, ctx, &rep);
    free(rep.body);
    if (rep.fd >= 0)
        close(rep.fd);
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    conn_ctx *ctx = *con_cls;
    if (!ctx)
        return;
    *con_cls = NULL;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
    int status = ctx->status ? ctx->status : (ci ? (int)ci->http_status : 0);
    double secs = (double)(mdm_now_ns() - ctx->start_ns) / 1e9;
    observe(ctx->route_idx, ctx->route, status, secs);
    mdm_histogram_observe(all_latency, secs);
    atomic_fetch_add(&total_requests, 1);
    if (status > 0 && status < 600)
        atomic_fetch_add(&status_counts[status], 1);
    MDM_INFO("%s %s %d %.2f ms%s", ctx->method, ctx->path, status, secs * 1000,
             toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (client gone or error)");
    buf_free(&ctx->body);
    free(ctx);
    atomic_fetch_sub(&inflight, 1);
}

/* ------------------------------------------------------------------ daemon */

static bool is_loopback_host(const char *host)
{
    if (!host || strcmp(host, "localhost") == 0)
        return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    MDM_DEBUG("libmicrohttpd: %s", msg);
}

int mdm_serve_run(mdm_catalog *cat, const mdm_serve_options *opt)
{
    server srv = {.cat = cat, .cfg = mdm_catalog_config(cat), .opt = *opt};
    if (server_nroutes > MAX_ROUTES)
        return mdm_error_set(MDM_EINVALID, "too many routes (%zu, at most %d)", server_nroutes,
                             MAX_ROUTES);
    if (!srv.opt.host)
        srv.opt.host = "127.0.0.1";
    if (!srv.opt.threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        srv.opt.threads = n > 2 ? (unsigned)n * 2 : 4;
    }
    if (!srv.opt.idle_timeout_s)
        srv.opt.idle_timeout_s = 30;
    if (!srv.opt.max_connections)
        srv.opt.max_connections = 256;
    if (!srv.opt.drain_timeout_ms)
        srv.opt.drain_timeout_ms = 10000;
    if (!srv.opt.max_body)
        srv.opt.max_body = 1 << 20;
    if (opt->token && opt->token[0]) {
        if (strlen(opt->token) >= sizeof srv.token)
            return mdm_error_set(MDM_EINVALID, "The token is too long (at most %zu bytes)",
                                 sizeof srv.token - 1);
        snprintf(srv.token, sizeof srv.token, "%s", opt->token);
        srv.has_token = true;
    }
    if (!is_loopback_host(srv.opt.host) && !srv.has_token)
        return mdm_error_set(MDM_EINVALID,
                             "Binding %s (not loopback) needs a token: pass --token or set "
                             "MDM_SERVE_TOKEN",
                             srv.opt.host);

    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%u", srv.opt.port);
    int gai = getaddrinfo(srv.opt.host, portstr, &hints, &ai);
    if (gai != 0)
        return mdm_error_set(MDM_EINVALID, "Cannot resolve host '%s': %s", srv.opt.host,
                             gai_strerror(gai));

    const mdm_config *cfg = srv.cfg;
    int rc = handles_new(&srv.handles, cat);
    if (!rc && mdm_config_bool(cfg, "cache.enabled")) {
        int64_t ttl = mdm_config_int(cfg, "cache.ttl_seconds");
        rc = cache_new(&srv.cache, (uint64_t)mdm_config_int(cfg, "cache.max_bytes"),
                       (uint64_t)(ttl > 0 ? ttl : 0) * 1000);
    }
    if (rc) {
        freeaddrinfo(ai);
        handles_free(srv.handles);
        return rc;
    }
    const char *redis_url = mdm_config_str(cfg, "cache.redis_url");
    if (srv.cache && redis_url) {
        int64_t ttl = mdm_config_int(cfg, "cache.ttl_seconds");
        rc = redis_tier_new(&srv.redis, redis_url, (uint64_t)(ttl > 0 ? ttl : 0));
        if (rc == MDM_ENOTSUP) {
            MDM_WARN("%s", mdm_error_last()->message);
            rc = 0;
        }
        if (rc) {
            freeaddrinfo(ai);
            cache_free(srv.cache);
            handles_free(srv.handles);
            return rc;
        }
    }
    all_latency = mdm_metrics_histogram("mdm_http_request_all_duration_seconds",
                                        "HTTP request latency, all routes", NULL);
    srv.started_ns = mdm_now_ns();

    /* Workers inherit this mask: the signals reach only sigwait below. */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    signal(SIGPIPE, SIG_IGN);

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)srv.opt.port, NULL, NULL, on_request, &srv,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, srv.opt.threads,
        MHD_OPTION_CONNECTION_TIMEOUT, srv.opt.idle_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, srv.opt.max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 511u,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, &srv,
        MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!d) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        redis_tier_free(srv.redis);
        cache_free(srv.cache);
        handles_free(srv.handles);
        return mdm_error_set(MDM_EIO, "Cannot listen on %s:%u: %s", srv.opt.host, srv.opt.port,
                             errno ? strerror(errno) : "address in use or not available");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : srv.opt.port;
    fprintf(stderr, "mdm serve: listening on http://%s%s%s:%u (%u threads)\n",
            strchr(srv.opt.host, ':') ? "[" : "", srv.opt.host,
            strchr(srv.opt.host, ':') ? "]" : "", port, srv.opt.threads);
    fflush(stderr);
    MDM_INFO("mdm serve listening on %s:%u", srv.opt.host, port);

    int sig = 0;
    sigwait(&sigs, &sig);
    MDM_INFO("mdm serve: %s received, draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    fprintf(stderr, "mdm serve: %s, finishing requests in flight\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");

    /* Stop accepting, let requests in flight finish, then close everything. */
    MHD_socket lfd = MHD_quiesce_daemon(d);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    uint64_t deadline = mdm_now_ns() + (uint64_t)srv.opt.drain_timeout_ms * 1000000ULL;
    while (atomic_load(&inflight) > 0 && mdm_now_ns() < deadline) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    uint64_t left = atomic_load(&inflight);
    if (left)
        MDM_WARN("mdm serve: %llu requests still running after %u ms; closing them",
                 (unsigned long long)left, srv.opt.drain_timeout_ms);
    MHD_stop_daemon(d);
    handles_free(srv.handles);
    redis_tier_free(srv.redis);
    cache_free(srv.cache);
    /* A second signal during the drain is pending: it must not kill the exit. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    fprintf(stderr, "mdm serve: stopped\n");
    return 0;
}
