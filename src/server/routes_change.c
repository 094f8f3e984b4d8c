/* Routes that hand a file over or change a dataset: export, update, remove. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/internal.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int route_export(request *req, reply *rep)
{
    const char *format = req_arg(req, "format");
    if (!format)
        format = "csv";
    if (strcmp(format, "csv") != 0 && strcmp(format, "parquet") != 0)
        return reply_error(rep, 400, "EINVALID", "format must be csv or parquet");
    uint64_t stamp;
    handle_ref *ref = NULL;
    mdm_dataset *ds;
    int rc = mdm_catalog_change_stamp(&stamp, req->srv->cat, req->params[0]);
    if (!rc)
        rc = handles_get(&ref, &ds, req->srv->handles, req->params[0], stamp);
    if (rc)
        return reply_mdm_error(rep, rc);

    char dir[4096] = "";
    char **paths = NULL;
    size_t npaths = 0;
    const char *table = req_arg(req, "table");
    const mdm_dataset_info *info = mdm_dataset_record(ds);
    if (!table)
        table = mdm_strmap_get(&info->tables, "train") ? "train"
                : info->tables.count                   ? info->tables.keys[0]
                                                       : "data";
    const char *real;
    rc = mdm_dataset_table_name(&real, ds, table);
    if (rc) {
        reply_mdm_error(rep, rc);
        goto cleanup;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mdm-serve-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        dir[0] = '\0';
        reply_error(rep, 500, "EIO", "Cannot make a temporary directory: %s", strerror(errno));
        goto cleanup;
    }
    mdm_export_options eo = {.output_dir = dir, .table = table, .format = format,
                             .compression = strcmp(format, "csv") == 0 ? "none" : NULL};
    rc = mdm_dataset_export(&paths, &npaths, ds, &eo);
    if (rc) {
        reply_mdm_error(rep, rc);
        goto cleanup;
    }
    const char *file = NULL;
    for (size_t i = 0; i < npaths; i++)
        if (!ends_with(paths[i], "_metadata.json"))
            file = paths[i];
    if (!file) {
        reply_error(rep, 500, "EIO", "The export wrote no data file");
        goto cleanup;
    }
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        reply_error(rep, 500, "EIO", "Cannot open the export: %s", strerror(errno));
        goto cleanup;
    }
    /* The open descriptor keeps the bytes; the names go now. */
    rep->status = 200;
    rep->fd = fd;
    rep->fd_size = (uint64_t)st.st_size;
    rep->ctype = strcmp(format, "csv") == 0 ? "text/csv; charset=utf-8" : "application/vnd.apache.parquet";
    const char *base = strrchr(file, '/');
    snprintf(rep->disposition, sizeof rep->disposition, "attachment; filename=\"%s\"",
             base ? base + 1 : file);
cleanup:
    for (size_t i = 0; i < npaths; i++)
        unlink(paths[i]);
    mdm_paths_free(paths, npaths);
    if (dir[0])
        rmdir(dir);
    handles_put(req->srv->handles, ref);
    return 0;
}

/* A member as a string: strings as they are, an array of strings joined by commas
 * (tags, id_columns), null as "" (clears). NULL with the error replied otherwise. */
static char *member_text(reply *rep, json_t *v, const char *key)
{
    if (json_is_null(v))
        return strdup("");
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_array(v)) {
        size_t i, len = 1;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e)) {
                reply_error(rep, 400, "EINVALID", "'%s' must be a string or a list of strings", key);
                return NULL;
            }
            len += json_string_length(e) + 1;
        }
        char *out = calloc(1, len);
        if (!out)
            return NULL;
        json_array_foreach(v, i, e)
        {
            if (i)
                strcat(out, ",");
            strcat(out, json_string_value(e));
        }
        return out;
    }
    reply_error(rep, 400, "EINVALID", "'%s' must be a string", key);
    return NULL;
}

int route_update(request *req, reply *rep)
{
    json_error_t jerr;
    json_t *doc = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return reply_error(rep, 400, "EINVALID", "Malformed JSON body: %s (line %d, column %d)",
                           jerr.text, jerr.line, jerr.column);
    static const char *const keys[] = {"description", "tags", "target_column", "problem_type",
                                       "id_columns"};
    char *vals[5] = {NULL};
    mdm_dataset_info *info = NULL;
    if (!json_is_object(doc)) {
        reply_error(rep, 400, "EINVALID", "The body must be a JSON object");
        goto cleanup;
    }
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        size_t i = 0;
        while (i < 5 && strcmp(keys[i], k) != 0)
            i++;
        if (i == 5) {
            reply_error(rep, 400, "EINVALID",
                        "Unknown member '%s' (description, tags, target_column, problem_type, "
                        "id_columns)",
                        k);
            goto cleanup;
        }
        vals[i] = member_text(rep, v, k);
        if (!vals[i]) {
            if (rep->status != 400)
                reply_error(rep, 500, "ENOMEM", "out of memory");
            goto cleanup;
        }
    }
    mdm_dataset_changes ch = {.description = vals[0], .tags = vals[1], .target_column = vals[2],
                              .problem_type = vals[3], .id_columns = vals[4]};
    int rc = mdm_catalog_update(&info, req->srv->cat, req->params[0], &ch);
    handles_forget(req->srv->handles, req->params[0]);
    if (rc) {
        reply_mdm_error(rep, rc);
        goto cleanup;
    }
    char *json = NULL;
    rc = mdm_dataset_info_to_json(&json, info);
    if (rc)
        reply_mdm_error(rep, rc);
    else
        reply_json(rep, 200, json, strlen(json));
cleanup:
    for (size_t i = 0; i < 5; i++)
        free(vals[i]);
    mdm_dataset_info_free(info);
    json_decref(doc);
    return 0;
}

int route_remove(request *req, reply *rep)
{
    char norm[256];
    int rc = mdm_dataset_name_normalize(norm, sizeof norm, req->params[0]);
    if (rc)
        return reply_mdm_error(rep, rc);
    /* Close our handle first: its pool must not keep the files or schema in use. */
    handles_forget(req->srv->handles, norm);
    rc = mdm_catalog_remove(req->srv->cat, norm);
    if (rc)
        return reply_mdm_error(rep, rc);
    json_t *doc = json_pack("{s:s}", "removed", norm);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return reply_error(rep, 500, "ENOMEM", "out of memory");
    return reply_json(rep, 200, text, strlen(text));
}
