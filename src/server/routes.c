/* The routes table and the dataset routes: list, info, columns, statistics, table
 * pages, queries, export, update and remove. Results of reads go through the response
 * cache, keyed by the dataset's change stamp. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/buf.h"
#include "server/encode.h"
#include "server/internal.h"
#include "server/stream.h"

#define MAX_PAGE_ROWS 10000000
/* Pages above this many rows are streamed (and not cached); smaller ones are built,
 * cached and sent in one piece. */
#define STREAM_ROWS 10000
#define MAX_QUERY_ROWS 100000
#define MAX_RESPONSE_BYTES (256u << 20)
#define MAX_QUERY_TIMEOUT_MS 300000

/* One line adds a route; the OpenAPI document is made from this table. */
const route server_routes[] = {
    {"GET", "/", route_dashboard, false, "The dashboard page", "", NULL, "text/html"},
    {"GET", "/health", route_health, false, "Liveness", "", NULL, "application/json"},
    {"GET", "/ready", route_ready, false, "Readiness: backends reachable, pools, breakers", "", NULL, "application/json"},
    {"GET", "/metrics", route_metrics, false, "Prometheus metrics", "", NULL, "text/plain"},
    {"GET", "/api/metrics.json", route_metrics_json, false, "Pools, requests and cache as JSON", "", NULL, "application/json"},
    {"GET", "/api/openapi.json", route_openapi, false, "This document", "", NULL, "application/json"},
    {"GET", "/api/datasets", route_datasets, false, "List datasets", "filter,sort_by,limit", NULL, "application/json"},
    {"GET", "/api/datasets/{name}", route_dataset_info, false, "A dataset's record", "", NULL, "application/json"},
    {"PATCH", "/api/datasets/{name}", route_update, true, "Change description, tags, target, problem type, IDs", "", "description,tags,target_column,problem_type,id_columns", "application/json"},
    {"DELETE", "/api/datasets/{name}", route_remove, true, "Remove a dataset", "", NULL, "application/json"},
    {"GET", "/api/datasets/{name}/columns", route_dataset_columns, false, "Columns per table", "", NULL, "application/json"},
    {"GET", "/api/datasets/{name}/stats", route_dataset_stats, false, "The statistics document", "full", NULL, "application/json"},
    {"GET", "/api/datasets/{name}/tables/{table}", route_table, false, "A page of a table", "columns,limit,offset,format", NULL, "application/json"},
    {"POST", "/api/datasets/{name}/query", route_query, false, "Read-only SQL", "", "sql,limit,timeout_ms", "application/json"},
    {"GET", "/api/datasets/{name}/export", route_export, false, "Download a table as CSV or Parquet", "format,table", NULL, "application/octet-stream"},
    {"GET", "/api/history", route_history, false, "The operation history, newest first", "limit,dataset,type", NULL, "application/json"},
    {"GET", "/api/history/summary", route_history_summary, false, "Totals of the operation history", "dataset", NULL, "application/json"},
};
const size_t server_nroutes = sizeof server_routes / sizeof server_routes[0];

/* ------------------------------------------------------------------ helpers */

static bool parse_int(int64_t *out, const char *s, int64_t lo, int64_t hi)
{
    if (!s || !*s)
        return false;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* The dataset of the request: its change stamp and an open handle. */
static int open_dataset(request *req, reply *rep, uint64_t *stamp, handle_ref **ref,
                        mdm_dataset **ds)
{
    const char *name = req->params[0];
    int rc = mdm_catalog_change_stamp(stamp, req->srv->cat, name);
    if (!rc && ref)
        rc = handles_get(ref, ds, req->srv->handles, name, *stamp);
    if (rc)
        reply_mdm_error(rep, rc);
    return rc;
}

static bool cache_lookup(request *req, reply *rep, const char *key)
{
    char ctype[64];
    char *body;
    size_t len;
    if (cache_get(req->srv->cache, key, &body, &len, ctype, sizeof ctype) != 0) {
        if (redis_tier_get(req->srv->redis, key, &body, &len, ctype, sizeof ctype) == 0) {
            cache_put(req->srv->cache, key, body, len, ctype);
            mdm_counter_add(mdm_metrics_counter("mdm_cache_shared_hits_total",
                                                "Response cache misses served by Redis", NULL),
                            1);
        } else {
            if (req->srv->cache)
                mdm_counter_add(mdm_metrics_counter("mdm_cache_misses_total",
                                                    "Response cache misses", NULL),
                                1);
            return false;
        }
    } else {
        mdm_counter_add(mdm_metrics_counter("mdm_cache_hits_total", "Response cache hits", NULL), 1);
    }
    reply_json(rep, 200, body, len);
    rep->ctype = strcmp(ctype, "text/csv") == 0 ? "text/csv; charset=utf-8"
                 : strncmp(ctype, "application/json", 16) == 0 ? "application/json"
                                                                : "application/octet-stream";
    rep->cache = "hit";
    return true;
}

static void cache_store(request *req, reply *rep, const char *key, const char *ctype)
{
    if (rep->status != 200 || !rep->body)
        return;
    cache_put(req->srv->cache, key, rep->body, rep->len, ctype);
    redis_tier_put(req->srv->redis, key, rep->body, rep->len, ctype);
    rep->cache = req->srv->cache ? "miss" : NULL;
}

static char *norm_name(char *out, size_t size, const char *name)
{
    if (mdm_dataset_name_normalize(out, size, name))
        snprintf(out, size, "%s", name);
    return out;
}

/* ------------------------------------------------------------------ list, info */

int route_datasets(request *req, reply *rep)
{
    mdm_list_options lo = {.filter = req_arg(req, "filter"), .sort_by = req_arg(req, "sort_by")};
    const char *limit = req_arg(req, "limit");
    int64_t n = 0;
    if (limit && !parse_int(&n, limit, 0, 1000000))
        return reply_error(rep, 400, "EINVALID", "limit must be an integer from 0 to 1000000");
    lo.limit = (size_t)n;
    mdm_dataset_info **infos = NULL;
    size_t count = 0;
    int rc = mdm_catalog_list(&infos, &count, req->srv->cat, &lo);
    if (rc)
        return reply_mdm_error(rep, rc);
    buf b = {0};
    buf_puts(&b, "{\"datasets\":[");
    for (size_t i = 0; i < count && !rc; i++) {
        char *json = NULL;
        rc = mdm_dataset_info_to_json(&json, infos[i]);
        if (!rc) {
            if (i)
                buf_putc(&b, ',');
            buf_puts(&b, json);
        }
        free(json);
    }
    buf_puts(&b, "]}");
    mdm_dataset_infos_free(infos, count);
    if (rc || b.failed) {
        buf_free(&b);
        return rc ? reply_mdm_error(rep, rc) : reply_error(rep, 500, "ENOMEM", "out of memory");
    }
    size_t len;
    char *body = buf_take(&b, &len);
    return reply_json(rep, 200, body, len);
}

int route_dataset_info(request *req, reply *rep)
{
    uint64_t stamp;
    handle_ref *ref = NULL;
    mdm_dataset *ds;
    if (open_dataset(req, rep, &stamp, &ref, &ds))
        return 0;
    char *json = NULL;
    int rc = mdm_dataset_info_to_json(&json, mdm_dataset_record(ds));
    handles_put(req->srv->handles, ref);
    if (rc)
        return reply_mdm_error(rep, rc);
    return reply_json(rep, 200, json, strlen(json));
}

int route_dataset_columns(request *req, reply *rep)
{
    uint64_t stamp;
    handle_ref *ref = NULL;
    mdm_dataset *ds;
    if (open_dataset(req, rep, &stamp, &ref, &ds))
        return 0;
    const mdm_dataset_info *info = mdm_dataset_record(ds);
    json_t *tables = json_object();
    for (size_t t = 0; t < info->ncolumn_tables; t++) {
        const mdm_dataset_table_columns *tc = &info->columns[t];
        json_t *cols = json_array();
        for (size_t i = 0; i < tc->count; i++) {
            const mdm_dataset_column *c = &tc->columns[i];
            json_t *o = json_object();
            json_object_set_new(o, "name", json_string(c->name ? c->name : ""));
            json_object_set_new(o, "type", c->type ? json_string(c->type) : json_null());
            if (c->description)
                json_object_set_new(o, "description", json_string(c->description));
            if (c->extra && json_is_object(c->extra))
                json_object_update_missing(o, c->extra);
            json_array_append_new(cols, o);
        }
        json_object_set_new(tables, tc->table, cols);
    }
    handles_put(req->srv->handles, ref);
    json_t *doc = json_pack("{s:o}", "tables", tables);
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text)
        return reply_error(rep, 500, "ENOMEM", "out of memory");
    return reply_json(rep, 200, text, strlen(text));
}

int route_dataset_stats(request *req, reply *rep)
{
    const char *full = req_arg(req, "full");
    bool want_full = full && (strcmp(full, "true") == 0 || strcmp(full, "1") == 0);
    if (full && !want_full && strcmp(full, "false") != 0 && strcmp(full, "0") != 0)
        return reply_error(rep, 400, "EINVALID", "full must be true or false");
    uint64_t stamp;
    if (open_dataset(req, rep, &stamp, NULL, NULL))
        return 0;
    char key[512], norm[256];
    snprintf(key, sizeof key, "stats\x1f%s\x1f%llx\x1f%d", norm_name(norm, sizeof norm, req->params[0]),
             (unsigned long long)stamp, want_full);
    if (cache_lookup(req, rep, key))
        return 0;
    handle_ref *ref = NULL;
    mdm_dataset *ds;
    if (open_dataset(req, rep, &stamp, &ref, &ds))
        return 0;
    mdm_stats_options so = {.full = want_full};
    char *json = NULL;
    int rc = mdm_dataset_stats(&json, ds, &so);
    handles_put(req->srv->handles, ref);
    if (rc)
        return reply_mdm_error(rep, rc);
    reply_json(rep, 200, json, strlen(json));
    cache_store(req, rep, key, "application/json");
    return 0;
}

/* ------------------------------------------------------------------ table pages, queries */

static int check_columns(reply *rep, mdm_dataset *ds, const char *table, char **names, size_t n)
{
    mdm_field *fields = NULL;
    size_t nf = 0;
    int rc = mdm_dataset_table_schema(&fields, &nf, ds, table);
    if (rc)
        return reply_mdm_error(rep, rc), rc;
    for (size_t i = 0; i < n && !rc; i++) {
        bool found = false;
        for (size_t j = 0; j < nf && !found; j++)
            found = strcmp(fields[j].name, names[i]) == 0;
        if (!found) {
            reply_error(rep, 400, "EINVALID", "Column '%s' not found in table '%s'", names[i], table);
            rc = MDM_EINVALID;
        }
    }
    mdm_fields_free(fields, nf);
    return rc;
}

int route_table(request *req, reply *rep)
{
    const char *format = req_arg(req, "format");
    bool csv = format && strcmp(format, "csv") == 0;
    if (format && !csv && strcmp(format, "json") != 0)
        return reply_error(rep, 400, "EINVALID", "format must be json or csv");
    int64_t limit = 100, offset = 0;
    const char *ls = req_arg(req, "limit"), *os = req_arg(req, "offset");
    if (ls && !parse_int(&limit, ls, 0, MAX_PAGE_ROWS))
        return reply_error(rep, 400, "EINVALID", "limit must be an integer from 0 to %d", MAX_PAGE_ROWS);
    if (os && !parse_int(&offset, os, 0, INT64_MAX))
        return reply_error(rep, 400, "EINVALID", "offset must be a non-negative integer");
    const char *columns = req_arg(req, "columns");
    if (columns && strlen(columns) > 65536)
        return reply_error(rep, 400, "EINVALID", "columns is too long");

    uint64_t stamp;
    if (open_dataset(req, rep, &stamp, NULL, NULL))
        return 0;
    char norm[256];
    buf key = {0};
    buf_printf(&key, "table\x1f%s\x1f%llx\x1f", norm_name(norm, sizeof norm, req->params[0]),
               (unsigned long long)stamp);
    buf_puts(&key, req->params[1]);
    buf_printf(&key, "\x1f%s\x1f%lld\x1f%lld\x1f%d", columns ? columns : "*", (long long)limit,
               (long long)offset, csv);
    if (key.failed) {
        buf_free(&key);
        return reply_error(rep, 500, "ENOMEM", "out of memory");
    }
    if (cache_lookup(req, rep, key.data)) {
        buf_free(&key);
        return 0;
    }
    handle_ref *ref = NULL;
    mdm_dataset *ds;
    char *list = NULL;
    char *names[1024];
    size_t ncols = 0;
    page_encoder enc = {.csv = csv, .max_bytes = MAX_RESPONSE_BYTES};
    if (open_dataset(req, rep, &stamp, &ref, &ds))
        goto cleanup;
    const char *table;
    int rc = mdm_dataset_table_name(&table, ds, req->params[1]);
    if (rc) {
        reply_mdm_error(rep, rc);
        goto cleanup;
    }
    if (columns) {
        list = strdup(columns);
        if (!list) {
            reply_error(rep, 500, "ENOMEM", "out of memory");
            goto cleanup;
        }
        for (char *save, *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
            if (ncols == sizeof names / sizeof names[0]) {
                reply_error(rep, 400, "EINVALID", "at most 1024 columns");
                goto cleanup;
            }
            names[ncols++] = p;
        }
        if (check_columns(rep, ds, table, names, ncols))
            goto cleanup;
    }
    mdm_table_read rd = {.table = table, .columns = columns ? (const char *const *)names : NULL,
                         .ncolumns = ncols, .limit = limit, .offset = offset};
    if (limit > STREAM_ROWS) {
        struct MHD_Response *resp = NULL;
        rc = page_stream_start(&resp, req->srv->handles, ref, ds, &rd, csv);
        if (rc) {
            reply_mdm_error(rep, rc);
            goto cleanup;
        }
        ref = NULL; /* the response holds it now */
        rep->status = 200;
        rep->response = resp;
        rep->ctype = csv ? "text/csv; charset=utf-8" : "application/json";
        goto cleanup;
    }
    rc = mdm_dataset_read(ds, &rd, page_encode_batch, &enc);
    if (rc) {
        reply_mdm_error(rep, rc);
        goto cleanup;
    }
    page_encode_finish(&enc, limit, offset);
    if (enc.out.failed) {
        reply_error(rep, 500, "ENOMEM", "out of memory");
        goto cleanup;
    }
    size_t len;
    char *body = buf_take(&enc.out, &len);
    reply_json(rep, 200, body, len);
    if (csv)
        rep->ctype = "text/csv; charset=utf-8";
    cache_store(req, rep, key.data, csv ? "text/csv" : "application/json");
cleanup:
    handles_put(req->srv->handles, ref);
    buf_free(&enc.out);
    buf_free(&key);
    free(list);
    return 0;
}

int route_query(request *req, reply *rep)
{
    json_error_t jerr;
    json_t *doc = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return reply_error(rep, 400, "EINVALID", "Malformed JSON body: %s (line %d, column %d)",
                           jerr.text, jerr.line, jerr.column);
    char norm[256];
    buf key = {0};
    handle_ref *ref = NULL;
    page_encoder enc = {.max_bytes = MAX_RESPONSE_BYTES};
    json_t *jsql = json_object_get(doc, "sql"), *jlimit = json_object_get(doc, "limit"),
           *jtimeout = json_object_get(doc, "timeout_ms");
    const char *k;
    json_t *v;
    if (!json_is_object(doc)) {
        reply_error(rep, 400, "EINVALID", "The body must be a JSON object");
        goto cleanup;
    }
    json_object_foreach(doc, k, v)
    {
        if (strcmp(k, "sql") && strcmp(k, "limit") && strcmp(k, "timeout_ms")) {
            reply_error(rep, 400, "EINVALID", "Unknown member '%s' (sql, limit, timeout_ms)", k);
            goto cleanup;
        }
    }
    if (!json_is_string(jsql) || json_string_length(jsql) == 0) {
        reply_error(rep, 400, "EINVALID", "'sql' must be a non-empty string");
        goto cleanup;
    }
    int64_t limit = 1000, timeout = 5000;
    if (jlimit && (!json_is_integer(jlimit) || json_integer_value(jlimit) < 1 ||
                   json_integer_value(jlimit) > MAX_QUERY_ROWS)) {
        reply_error(rep, 400, "EINVALID", "'limit' must be an integer from 1 to %d", MAX_QUERY_ROWS);
        goto cleanup;
    }
    if (jlimit)
        limit = json_integer_value(jlimit);
    if (jtimeout && (!json_is_integer(jtimeout) || json_integer_value(jtimeout) < 1 ||
                     json_integer_value(jtimeout) > MAX_QUERY_TIMEOUT_MS)) {
        reply_error(rep, 400, "EINVALID", "'timeout_ms' must be an integer from 1 to %d",
                    MAX_QUERY_TIMEOUT_MS);
        goto cleanup;
    }
    if (jtimeout)
        timeout = json_integer_value(jtimeout);
    const char *sql = json_string_value(jsql);
    if (strlen(sql) != json_string_length(jsql)) {
        reply_error(rep, 400, "EINVALID", "'sql' must not contain NUL");
        goto cleanup;
    }
    uint64_t stamp;
    if (open_dataset(req, rep, &stamp, NULL, NULL))
        goto cleanup;
    buf_printf(&key, "query\x1f%s\x1f%llx\x1f%lld\x1f", norm_name(norm, sizeof norm, req->params[0]),
               (unsigned long long)stamp, (long long)limit);
    buf_puts(&key, sql);
    if (key.failed) {
        reply_error(rep, 500, "ENOMEM", "out of memory");
        goto cleanup;
    }
    if (cache_lookup(req, rep, key.data))
        goto cleanup;
    mdm_dataset *ds;
    if (open_dataset(req, rep, &stamp, &ref, &ds))
        goto cleanup;
    mdm_query_options qo = {.limit = limit, .timeout_ms = (uint64_t)timeout};
    int rc = mdm_dataset_query(ds, sql, &qo, page_encode_batch, &enc);
    if (rc == MDM_ETIMEOUT || rc == MDM_ECANCELED) {
        reply_error(rep, 408, "ETIMEOUT", "The query ran past its time limit of %lld ms",
                    (long long)timeout);
        goto cleanup;
    }
    if (rc == MDM_EBACKEND) { /* the engine refused the SQL: the caller's to fix */
        reply_error(rep, 400, "EBACKEND", "%s", mdm_error_last()->message);
        goto cleanup;
    }
    if (rc) {
        reply_mdm_error(rep, rc);
        goto cleanup;
    }
    page_encode_finish(&enc, limit, -1);
    if (enc.out.failed) {
        reply_error(rep, 500, "ENOMEM", "out of memory");
        goto cleanup;
    }
    size_t len;
    char *body = buf_take(&enc.out, &len);
    reply_json(rep, 200, body, len);
    cache_store(req, rep, key.data, "application/json");
cleanup:
    handles_put(req->srv->handles, ref);
    buf_free(&enc.out);
    buf_free(&key);
    json_decref(doc);
    return 0;
}
