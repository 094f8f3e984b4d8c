/* mdm_dashboard_write: the dashboard page with a snapshot of the catalog embedded as
 * window.MDM_SNAPSHOT, so that the file works from file:// with no server. The
 * snapshot mirrors the `mdm serve` routes the page reads otherwise (SERVE_CONTRACT). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mdm/dataset.h"

#define SNAPSHOT_MARKER "<!--MDM_SNAPSHOT-->"
#define SNAPSHOT_HISTORY 1000

static json_t *load_text(const char *text)
{
    return text ? json_loads(text, 0, NULL) : NULL;
}

/* The cached statistics document (<dataset dir>/metadata/statistics.json), read as a
 * file: the dashboard shows what is known and records no operation of its own. */
static json_t *cached_stats(const mdm_config *cfg, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/metadata/statistics.json",
             mdm_config_path(cfg, "datasets_path"), name);
    return json_load_file(path, 0, NULL);
}

static int build_snapshot(json_t **out, mdm_catalog *cat)
{
    const mdm_config *cfg = mdm_catalog_config(cat);
    mdm_dataset_info **infos = NULL;
    size_t n = 0;
    char *history = NULL, *summary = NULL;
    json_t *snap = json_object(), *datasets = json_array(), *stats = json_object();
    int rc = snap && datasets && stats ? 0 : mdm_error_set(MDM_ENOMEM, "out of memory");
    if (!rc)
        rc = mdm_catalog_list(&infos, &n, cat, NULL);
    for (size_t i = 0; !rc && i < n; i++) {
        char *text = NULL;
        if ((rc = mdm_dataset_info_to_json(&text, infos[i])))
            break;
        json_t *obj = load_text(text);
        free(text);
        if (!obj) {
            rc = mdm_error_set(MDM_EINVALID, "dashboard: record of '%s' is not JSON",
                               infos[i]->name);
            break;
        }
        json_array_append_new(datasets, obj);
        json_t *doc = cached_stats(cfg, infos[i]->name);
        json_object_set_new(stats, infos[i]->name, doc ? doc : json_null());
    }
    mdm_history_filter f = {.limit = SNAPSHOT_HISTORY};
    if (!rc)
        rc = mdm_history_list(&history, cfg, &f);
    if (!rc)
        rc = mdm_history_summary(&summary, cfg, NULL);
    if (!rc) {
        char now[64];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        mdm_time_format(now, sizeof now, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
        json_object_set_new(snap, "generated_at", json_string(now));
        json_object_set_new(snap, "home", json_string(mdm_config_home(cfg)));
        json_object_set(snap, "datasets", datasets);
        json_object_set(snap, "stats", stats);
        json_object_set_new(snap, "history", load_text(history));
        json_object_set_new(snap, "summary", load_text(summary));
        json_object_set_new(snap, "metrics", json_null());
    }
    mdm_dataset_infos_free(infos, n);
    free(history);
    free(summary);
    json_decref(datasets);
    json_decref(stats);
    if (rc) {
        json_decref(snap);
        return rc;
    }
    *out = snap;
    return 0;
}

/* Writes `text` to `path` through a temporary file and a rename. */
static int write_atomic(const char *path, const char *head, size_t nhead, const char *mid,
                        const char *tail)
{
    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    if (!tmp)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    snprintf(tmp, len, "%s.tmp-%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int rc = 0;
    if (!f) {
        rc = mdm_error_set(MDM_EIO, "Cannot write '%s': %s", path, strerror(errno));
    } else {
        fwrite(head, 1, nhead, f);
        fputs(mid, f);
        fputs(tail, f);
        if (ferror(f) | fclose(f))
            rc = mdm_error_set(MDM_EIO, "Cannot write '%s': %s", path, strerror(errno));
        if (!rc && rename(tmp, path) != 0)
            rc = mdm_error_set(MDM_EIO, "Cannot write '%s': %s", path, strerror(errno));
        if (rc)
            unlink(tmp);
    }
    free(tmp);
    return rc;
}

int mdm_dashboard_write(mdm_catalog *cat, const char *path)
{
    json_t *snap = NULL;
    int rc = build_snapshot(&snap, cat);
    if (rc)
        return rc;
    /* JSON_ESCAPE_SLASH: no "</script>" can come out of the data. */
    char *json = json_dumps(snap, JSON_COMPACT | JSON_ESCAPE_SLASH | JSON_PRESERVE_ORDER);
    json_decref(snap);
    if (!json)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    const char *page = mdm_dashboard_html();
    const char *at = strstr(page, SNAPSHOT_MARKER);
    if (!at) {
        free(json);
        return mdm_error_set(MDM_EINVALID, "dashboard page has no snapshot marker");
    }
    size_t plen = strlen("<script>window.MDM_SNAPSHOT=") + strlen(json) + 16;
    char *script = malloc(plen);
    if (!script) {
        free(json);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    snprintf(script, plen, "<script>window.MDM_SNAPSHOT=%s;</script>", json);
    rc = write_atomic(path, page, (size_t)(at - page), script, at + strlen(SNAPSHOT_MARKER));
    free(script);
    free(json);
    return rc;
}
