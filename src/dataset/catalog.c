/* The dataset catalog on disk (see catalog.h). */
#include "dataset/catalog.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/fs_read.h"
#include "core/strbuf.h"
#include "mdm/sys/backend.h"

/* A normalized name: up to 100 characters of up to 4 bytes. */
#define NAME_BUF 512
/* A registry file larger than this is not one mdm wrote. */
#define REGISTRY_YAML_MAX ((size_t)256 << 20)
/* Below this many files, one thread parses them all (threads cost more than they save). */
#define LIST_FILES_PER_THREAD 32

void catalog_set_fault_hook(catalog_fault_hook hook, void *ctx)
{
    mdm_fs_set_fault_hook(hook, ctx);
}

static int oom(void) { return mdm_error_set(MDM_ENOMEM, "out of memory in the dataset catalog"); }

static int dup_path(char **out, const char *fmt, const char *a, const char *b)
{
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, fmt, a, b);
    if (!strbuf_cstr(&sb))
        return MDM_ENOMEM;
    *out = strbuf_detach(&sb);
    return 0;
}

int catalog_yaml_path(char **out, const mdm_config *cfg, const char *name)
{
    char norm[NAME_BUF];
    int rc = mdm_dataset_name_normalize(norm, sizeof norm, name);
    return rc ? rc : mdm_fs_dataset_yaml(out, cfg, norm);
}

int catalog_dataset_dir(char **out, const mdm_config *cfg, const char *name)
{
    char norm[NAME_BUF];
    int rc = mdm_dataset_name_normalize(norm, sizeof norm, name);
    return rc ? rc : mdm_fs_dataset_dir(out, cfg, norm);
}

int catalog_json_path(char **out, const mdm_config *cfg, const char *name)
{
    char norm[NAME_BUF];
    int rc = mdm_dataset_name_normalize(norm, sizeof norm, name);
    if (rc)
        return rc;
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "%s/%s/dataset_info.json", mdm_config_path(cfg, "datasets_path"), norm);
    if (!strbuf_cstr(&sb))
        return MDM_ENOMEM;
    *out = strbuf_detach(&sb);
    return 0;
}

int catalog_database_for(dataset_database *db, const mdm_config *cfg, const char *backend,
                         const char *name)
{
    char norm[NAME_BUF];
    int rc = mdm_dataset_name_normalize(norm, sizeof norm, name);
    if (rc)
        return rc;
    const mdm_backend *be = mdm_backend_find(backend);
    if (!be)
        return mdm_error_last()->code; /* unknown, or its module is missing */
    bool file = mdm_backend_caps(be) & MDM_BACKEND_CAP_FILE;
    mdm_backend_location where = {.port = 0};
    char *path = NULL;
    if (file)
        rc = mdm_fs_dataset_file(&path, cfg, norm, be->file_extension);
    else if (MDM_BACKEND_HAS(be, dataset_location))
        rc = be->dataset_location(&where, cfg, norm);
    if (!rc)
        rc = dataset_str_set(&db->backend, mdm_backend_catalog_name(be));
    if (!rc)
        rc = dataset_str_set(&db->path, path);
    if (!rc)
        rc = dataset_str_set(&db->schema, where.schema[0] ? where.schema : NULL);
    if (!rc)
        rc = dataset_str_set(&db->host, where.host);
    if (!rc)
        rc = dataset_str_set(&db->database, where.database);
    if (!rc)
        rc = dataset_str_set(&db->user, where.user);
    db->port = where.port;
    free(path);
    return rc;
}

/* ------------------------------------------------------------ files */


int catalog_write_atomic(const char *path, const char *data, size_t len)
{
    return mdm_fs_write_atomic(path, data, len);
}

/* ------------------------------------------------------------ commit, load */

int dataset_place_resolve(dataset_place *out, const mdm_config *cfg, const char *name)
{
    memset(out, 0, sizeof *out);
    int rc = mdm_dataset_name_normalize(out->name, sizeof out->name, name);
    if (!rc)
        rc = mdm_fs_dataset_yaml(&out->yaml, cfg, out->name);
    if (!rc)
        rc = mdm_fs_dataset_dir(&out->dir, cfg, out->name);
    if (!rc)
        rc = dup_path(&out->json, "%s/%s", out->dir, "dataset_info.json");
    out->configs_path = mdm_config_path(cfg, "configs_path");
    if (rc)
        dataset_place_clear(out);
    return rc;
}

void dataset_place_clear(dataset_place *p)
{
    free(p->yaml);
    free(p->dir);
    free(p->json);
    p->yaml = p->dir = p->json = NULL;
}

int catalog_commit_at(const dataset_place *p, const dataset_info *info)
{
    char *yaml = NULL, *json = NULL;
    size_t yaml_len = 0, json_len = 0;
    if (!info->name || strcmp(p->name, info->name) != 0)
        return mdm_error_set(MDM_EINVALID, "dataset name '%s' is not normalized (expected '%s')",
                             info->name ? info->name : "", p->name);
    /* Serialize both first: a record that cannot be written fails before any file. */
    int rc = dataset_info_to_json(&json, &json_len, info);
    if (!rc)
        rc = dataset_info_to_yaml(&yaml, &yaml_len, info);
    if (rc || (rc = mdm_mkdirs(p->dir)) || (rc = mdm_mkdirs(p->configs_path)))
        goto cleanup;
    char yaml_base[NAME_BUF + 8];
    snprintf(yaml_base, sizeof yaml_base, "%s.yaml", p->name);
    mdm_fs_remove_dead_temps(p->configs_path, yaml_base);
    mdm_fs_remove_dead_temps(p->dir, "dataset_info.json");
    if ((rc = mdm_fs_write_atomic(p->json, json, json_len)) != 0)
        goto cleanup;
    if ((rc = mdm_fs_fault("json-written", p->json)) != 0)
        goto cleanup;
    rc = mdm_fs_write_atomic(p->yaml, yaml, yaml_len);
cleanup:
    free(yaml);
    free(json);
    return rc;
}

int catalog_commit(const dataset_info *info, const mdm_config *cfg)
{
    dataset_place p;
    int rc = dataset_place_resolve(&p, cfg, info->name);
    if (!rc)
        rc = catalog_commit_at(&p, info);
    dataset_place_clear(&p);
    return rc;
}

int catalog_exists_at(bool *exists, const dataset_place *p)
{
    *exists = false;
    struct stat st;
    if (stat(p->yaml, &st) == 0)
        *exists = true;
    else if (errno != ENOENT)
        return mdm_error_set(MDM_EIO, "cannot check %s: %s", p->yaml, strerror(errno));
    return 0;
}

int catalog_exists(bool *exists, const mdm_config *cfg, const char *name)
{
    *exists = false;
    dataset_place p;
    int rc = dataset_place_resolve(&p, cfg, name);
    if (!rc)
        rc = catalog_exists_at(exists, &p);
    dataset_place_clear(&p);
    return rc;
}

/* Parses one registry file; the record's name is the file's (normalized) stem. */
static int load_file(dataset_info **out, char **text_out, const char *path, const char *stem)
{
    char *text;
    size_t len;
    /* Never blocks: a FIFO or other non-regular file is refused at once, by name. */
    int rc = fs_read_regular_file(&text, &len, path, REGISTRY_YAML_MAX);
    if (rc == MDM_ENOTFOUND)
        return mdm_error_set(MDM_ENOTFOUND, "Dataset '%s' not found", stem);
    if (rc)
        return rc;
    dataset_info *info = NULL;
    rc = dataset_info_from_yaml(&info, text, len, path, stem);
    if (!rc && strcmp(info->name, stem) != 0) {
        char norm[NAME_BUF];
        if (mdm_dataset_name_normalize(norm, sizeof norm, info->name) != 0 ||
            strcmp(norm, stem) != 0)
            MDM_WARN("%s: name '%s' differs from the file name; using '%s'", path, info->name,
                     stem);
        rc = dataset_str_set(&info->name, stem);
    }
    if (rc) {
        dataset_info_free(info);
        free(text);
        return rc;
    }
    *out = info;
    if (text_out)
        *text_out = text;
    else
        free(text);
    return 0;
}

int catalog_load_at(dataset_info **out, const dataset_place *p)
{
    *out = NULL;
    return load_file(out, NULL, p->yaml, p->name);
}

int catalog_load(dataset_info **out, const mdm_config *cfg, const char *name)
{
    *out = NULL;
    dataset_place p;
    int rc = dataset_place_resolve(&p, cfg, name);
    if (!rc)
        rc = catalog_load_at(out, &p);
    if (rc == MDM_ENOTFOUND)
        rc = mdm_error_set(MDM_ENOTFOUND, "Dataset '%s' not found", name);
    dataset_place_clear(&p);
    return rc;
}

/* ------------------------------------------------------------ list */

typedef struct list_job {
    catalog_entry *entries; /* path set; info/text filled by workers */
    size_t count;
    atomic_size_t next;
    bool keep_text;
} list_job;

static void *list_worker(void *arg)
{
    list_job *job = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&job->next, 1);
        if (i >= job->count)
            break;
        catalog_entry *e = &job->entries[i];
        const char *base = strrchr(e->path, '/') + 1;
        char stem[NAME_BUF];
        snprintf(stem, sizeof stem, "%.*s", (int)(strlen(base) - 5), base);
        if (load_file(&e->info, job->keep_text ? &e->text : NULL, e->path, stem) != 0) {
            const char *why = mdm_error_last()->message;
            if (strstr(why, e->path))
                MDM_WARN("Skipping dataset file: %s", why);
            else
                MDM_WARN("Skipping dataset file %s: %s", e->path, why);
        }
    }
    return NULL;
}

static int compare_entries(const void *a, const void *b)
{
    return strcmp(((const catalog_entry *)a)->info->name, ((const catalog_entry *)b)->info->name);
}

/* Registry files of `dir`: "<normalized name>.yaml". */
static int scan_registry(catalog_entry **out, size_t *count, const char *dir)
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return mdm_error_set(MDM_EIO, "cannot list %s: %s", dir, strerror(errno));
    }
    catalog_entry *entries = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= 5 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        char stem[NAME_BUF], norm[NAME_BUF];
        snprintf(stem, sizeof stem, "%.*s", (int)(len - 5), e->d_name);
        if (mdm_dataset_name_normalize(norm, sizeof norm, stem) != 0 || strcmp(norm, stem) != 0) {
            MDM_WARN("Skipping %s/%s: not a dataset file (dataset names are lower-case letters, "
                     "digits and '_')",
                     dir, e->d_name);
            mdm_error_clear();
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            catalog_entry *grown = realloc(entries, cap * sizeof *grown);
            if (!grown) {
                rc = oom();
                break;
            }
            entries = grown;
        }
        memset(&entries[n], 0, sizeof entries[n]);
        if (dup_path(&entries[n].path, "%s/%s", dir, e->d_name) != 0) {
            rc = MDM_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc) {
        catalog_entries_free(entries, n);
        return rc;
    }
    *out = entries;
    *count = n;
    return 0;
}

int catalog_list_entries(catalog_entry **out, size_t *count, const mdm_config *cfg,
                         bool keep_text)
{
    catalog_entry *entries;
    size_t n;
    int rc = scan_registry(&entries, &n, mdm_config_path(cfg, "configs_path"));
    if (rc)
        return rc;
    list_job job = {.entries = entries, .count = n, .keep_text = keep_text};
    atomic_init(&job.next, 0);
    size_t threads = (size_t)mdm_config_int(cfg, "performance.max_concurrent_operations");
    if (threads > n / LIST_FILES_PER_THREAD)
        threads = n / LIST_FILES_PER_THREAD;
    pthread_t tids[64];
    if (threads > 64)
        threads = 64;
    size_t started = 0;
    for (; started + 1 < threads; started++)
        if (pthread_create(&tids[started], NULL, list_worker, &job) != 0)
            break; /* fewer helpers; this thread does the rest */
    list_worker(&job);
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    /* Keep the files that parsed, sorted by name. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (entries[i].info)
            entries[kept++] = entries[i];
        else
            free(entries[i].path);
    }
    if (kept > 1)
        qsort(entries, kept, sizeof *entries, compare_entries);
    *out = entries;
    *count = kept;
    return 0;
}

void catalog_entries_free(catalog_entry *entries, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        dataset_info_free(entries[i].info);
        free(entries[i].path);
        free(entries[i].text);
    }
    free(entries);
}

int catalog_list(dataset_info ***out, size_t *count, const mdm_config *cfg)
{
    *out = NULL;
    *count = 0;
    catalog_entry *entries;
    size_t n;
    int rc = catalog_list_entries(&entries, &n, cfg, false);
    if (rc)
        return rc;
    dataset_info **infos = malloc((n ? n : 1) * sizeof *infos);
    if (!infos) {
        catalog_entries_free(entries, n);
        return oom();
    }
    for (size_t i = 0; i < n; i++) {
        infos[i] = entries[i].info;
        entries[i].info = NULL;
    }
    catalog_entries_free(entries, n);
    *out = infos;
    *count = n;
    return 0;
}

void catalog_infos_free(dataset_info **infos, size_t count)
{
    for (size_t i = 0; infos && i < count; i++)
        dataset_info_free(infos[i]);
    free(infos);
}

/* ------------------------------------------------------------ remove */

int catalog_remove(const mdm_config *cfg, const char *name)
{
    char norm[NAME_BUF], *yaml_path = NULL, *data_dir = NULL;
    int rc = mdm_dataset_name_normalize(norm, sizeof norm, name);
    if (rc || (rc = catalog_yaml_path(&yaml_path, cfg, norm)) ||
        (rc = catalog_dataset_dir(&data_dir, cfg, norm)))
        goto cleanup;
    bool had_yaml = unlink(yaml_path) == 0;
    if (!had_yaml && errno != ENOENT) {
        rc = mdm_error_set(MDM_EIO, "cannot remove %s: %s", yaml_path, strerror(errno));
        goto cleanup;
    }
    if (had_yaml && (rc = mdm_fs_sync_dir(mdm_config_path(cfg, "configs_path"))) != 0)
        goto cleanup;
    bool had_dir = mdm_fs_exists(data_dir);
    if (had_dir && (rc = mdm_fs_remove_tree(data_dir)))
        goto cleanup;
    if (!had_yaml && !had_dir)
        rc = mdm_error_set(MDM_ENOTFOUND, "Dataset '%s' not found", name);
cleanup:
    free(yaml_path);
    free(data_dir);
    return rc;
}

int catalog_dataset_size(uint64_t *bytes, const mdm_config *cfg, const char *name)
{
    *bytes = 0;
    char *dir;
    int rc = catalog_dataset_dir(&dir, cfg, name);
    if (rc)
        return rc;
    rc = mdm_fs_tree_size(bytes, dir);
    free(dir);
    return rc;
}

/* ------------------------------------------------------------ update */

static bool has_column(const dataset_info *info, const char *column)
{
    for (size_t t = 0; t < info->ncolumn_tables; t++)
        for (size_t i = 0; i < info->columns[t].count; i++)
            if (strcmp(info->columns[t].columns[i].name, column) == 0)
                return true;
    return false;
}

int catalog_update(dataset_info **out, const mdm_config *cfg, const char *name,
                   const catalog_changes *changes)
{
    if (out)
        *out = NULL;
    if (!changes->description && !changes->target_column && !changes->problem_type &&
        !changes->id_columns && !changes->tags)
        return mdm_error_set(MDM_EINVALID, "No updates specified");
    dataset_info *info = NULL;
    int rc = catalog_load(&info, cfg, name);
    if (rc)
        return rc;
    if (changes->problem_type && *changes->problem_type &&
        (rc = dataset_problem_type_check(changes->problem_type)) != 0)
        goto cleanup;
    if (changes->target_column && *changes->target_column && info->ncolumn_tables &&
        !has_column(info, changes->target_column)) {
        rc = mdm_error_set(MDM_EINVALID, "Target column '%s' not found in dataset '%s'",
                           changes->target_column, info->name);
        goto cleanup;
    }
    if (changes->description && (rc = dataset_str_set(&info->description, changes->description)))
        goto cleanup;
    if (changes->target_column &&
        (rc = dataset_str_set(&info->target_column,
                              *changes->target_column ? changes->target_column : NULL)))
        goto cleanup;
    if (changes->problem_type &&
        (rc = dataset_str_set(&info->problem_type,
                              *changes->problem_type ? changes->problem_type : NULL)))
        goto cleanup;
    if (changes->id_columns && (rc = dataset_strlist_set_csv(&info->id_columns, changes->id_columns)))
        goto cleanup;
    if (changes->tags && (rc = dataset_strlist_set_csv(&info->tags, changes->tags)))
        goto cleanup;
    info->last_updated_at = dataset_time_now();
    info->has_last_updated_at = true;
    rc = catalog_commit(info, cfg);
cleanup:
    if (!rc && out)
        *out = info;
    else
        dataset_info_free(info);
    return rc;
}
