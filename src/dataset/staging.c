/* Staging places for datasets being registered, their promotion, and cleanup of what
 * crashed registrations left (see staging.h). */
#include "dataset/staging.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/strbuf.h"
#include "mdm/sys/backend.h"
#include "storage/conn_datasets.h"

struct staging {
    const mdm_config *cfg;
    mdm_config *load_cfg;  /* cfg with the backend's staging_settings, if it has them */
    const mdm_backend *backend;
    char *name;
    char *dir;          /* file backends: the staging directory */
    char *dataset;      /* schema backends: the staging dataset "<name>.s<pid>" */
    mdm_store *store;
};

/* A dataset that is a namespace on a server rather than a file: staged as a dataset of
 * its own, renamed into place. */
static bool is_server(const mdm_backend *b)
{
    return !(mdm_backend_caps(b) & MDM_BACKEND_CAP_FILE);
}


static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static int remove_tree(const char *path)
{
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        return mdm_error_set(MDM_EIO, "cannot remove %s: %s", path, strerror(errno));
    return 0;
}

/* Checks that `dataset`'s namespace fits the engine's names. */
static int check_location(const mdm_config *cfg, const mdm_backend *b, const char *dataset)
{
    mdm_backend_location where;
    return MDM_BACKEND_HAS(b, dataset_location) ? b->dataset_location(&where, cfg, dataset) : 0;
}

/* A store on dataset `dataset` of a server backend (config's server). */
static int server_store(mdm_store **out, const mdm_config *cfg, const mdm_backend *b,
                        const char *dataset)
{
    mdm_target t = {.dataset = dataset};
    return mdm_store_open(out, b->name, &t, cfg);
}

int staging_open(staging **out, const mdm_config *cfg, const char *backend, const char *name)
{
    *out = NULL;
    const mdm_backend *b = mdm_backend_find(backend);
    if (!b)
        return mdm_error_last()->code; /* unknown, or its module is missing */
    staging *s = calloc(1, sizeof *s);
    if (!s || !(s->name = strdup(name))) {
        free(s);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    s->cfg = cfg;
    s->backend = b;
    int rc = 0;
    strbuf sb = STRBUF_INIT;
    /* Staged data is thrown away on failure and made durable before the commit: the
     * backend may load it with cheaper settings. */
    if (MDM_BACKEND_HAS(b, staging_settings) &&
        ((rc = mdm_config_clone(&s->load_cfg, cfg)) || (rc = b->staging_settings(s->load_cfg)))) {
        staging_discard(s);
        return rc;
    }
    if (is_server(b)) {
        /* The staging dataset "<name>.s<pid>", renamed to <name> on promotion. */
        strbuf_appendf(&sb, "%s.s%ld", name, (long)getpid());
        s->dataset = strbuf_detach(&sb);
        /* The name itself first, so that a name that is too long is named as given. */
        rc = s->dataset ? check_location(cfg, b, name)
                        : mdm_error_set(MDM_ENOMEM, "out of memory");
        if (!rc)
            rc = check_location(cfg, b, s->dataset);
        if (!rc)
            rc = server_store(&s->store, s->load_cfg ? s->load_cfg : cfg, b, s->dataset);
    } else {
        const char *root = mdm_config_path(cfg, "datasets_path");
        strbuf_appendf(&sb, "%s/.staging-%s-%ld", root, name, (long)getpid());
        s->dir = strbuf_detach(&sb);
        if (!s->dir)
            return mdm_error_set(MDM_ENOMEM, "out of memory");
        /* A staging directory of ours from an earlier attempt in this process: start over. */
        if (!(rc = remove_tree(s->dir)) && !(rc = mdm_mkdirs(s->dir))) {
            strbuf_appendf(&sb, "%s/%s%s", s->dir, name, b->file_extension);
            char *file = strbuf_detach(&sb);
            mdm_target t = {.dataset = name, .path = file};
            rc = file ? mdm_store_open(&s->store, b->name, &t, s->load_cfg ? s->load_cfg : cfg)
                      : mdm_error_set(MDM_ENOMEM, "out of memory");
            free(file);
        }
    }
    if (!rc) {
        mdm_conn *c = NULL;
        rc = mdm_store_checkout(s->store, &c);
        if (!rc)
            rc = mdm_conn_dataset_create(c);
        mdm_store_checkin(s->store, c);
    }
    if (rc) {
        staging_discard(s);
        return rc;
    }
    *out = s;
    return 0;
}

mdm_store *staging_store(staging *s) { return s->store; }

static void staging_free(staging *s)
{
    mdm_store_free(s->store);
    mdm_config_free(s->load_cfg);
    free(s->name);
    free(s->dir);
    free(s->dataset);
    free(s);
}

/* fsync every file in `dir` and the directory itself. */
static int sync_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return mdm_error_set(MDM_EIO, "cannot read %s: %s", dir, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0)
            rc = mdm_error_set(MDM_EIO, "cannot sync %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    closedir(d);
    int fd = rc ? -1 : open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync(fd) != 0)
            rc = mdm_error_set(MDM_EIO, "cannot sync %s: %s", dir, strerror(errno));
        close(fd);
    }
    return rc;
}

int staging_promote(staging *s)
{
    int rc = 0;
    if (is_server(s->backend)) {
        mdm_conn *c = NULL;
        rc = mdm_store_checkout(s->store, &c);
        if (!rc)
            rc = mdm_conn_dataset_rename(c, s->name);
        mdm_store_checkin(s->store, c);
        if (rc)
            return rc;
        staging_free(s);
        return 0;
    }
    /* Close every connection first: SQLite checkpoints its WAL, DuckDB its file. Then
     * make the files durable: the registry YAML written after this is the commit. */
    mdm_store_free(s->store);
    s->store = NULL;
    if ((rc = sync_tree(s->dir)))
        return rc;
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "%s/%s", mdm_config_path(s->cfg, "datasets_path"), s->name);
    const char *final = strbuf_cstr(&sb);
    if (!final)
        rc = MDM_ENOMEM;
    else if (rename(s->dir, final) != 0)
        rc = mdm_error_set(errno == EEXIST || errno == ENOTEMPTY ? MDM_EEXISTS : MDM_EIO,
                           "cannot move %s to %s: %s", s->dir, final, strerror(errno));
    strbuf_free(&sb);
    if (rc)
        return rc;
    staging_free(s);
    return 0;
}

void staging_discard(staging *s)
{
    if (!s)
        return;
    if (s->store) {
        mdm_conn *c = NULL;
        if (is_server(s->backend) && mdm_store_checkout(s->store, &c) == 0) {
            if (mdm_conn_dataset_drop(c) != 0)
                MDM_WARN("could not drop staging dataset %s: %s", s->dataset,
                         mdm_error_last()->message);
            mdm_store_checkin(s->store, c);
        }
        mdm_store_free(s->store);
        s->store = NULL;
    }
    if (s->dir && remove_tree(s->dir) != 0)
        MDM_WARN("%s", mdm_error_last()->message);
    staging_free(s);
}

int dataset_storage_exists(const mdm_config *cfg, const char *backend, const char *name,
                           bool *exists)
{
    *exists = false;
    const mdm_backend *b = mdm_backend_find(backend);
    if (!b)
        return mdm_error_last()->code; /* unknown, or its module is missing */
    if (!is_server(b)) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", mdm_config_path(cfg, "datasets_path"), name);
        struct stat st;
        *exists = lstat(path, &st) == 0;
        return 0;
    }
    mdm_store *store = NULL;
    mdm_conn *c = NULL;
    int rc = server_store(&store, cfg, b, name);
    if (!rc)
        rc = mdm_store_checkout(store, &c);
    if (!rc)
        rc = mdm_conn_dataset_exists(c, exists);
    mdm_store_checkin(store, c);
    mdm_store_free(store);
    return rc;
}

int dataset_storage_remove(const mdm_config *cfg, const char *backend, const char *name)
{
    const mdm_backend *b = mdm_backend_find(backend);
    if (!b)
        return mdm_error_last()->code; /* unknown, or its module is missing */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", mdm_config_path(cfg, "datasets_path"), name);
    int rc = 0;
    if (is_server(b)) {
        mdm_store *store = NULL;
        mdm_conn *c = NULL;
        rc = server_store(&store, cfg, b, name);
        if (!rc)
            rc = mdm_store_checkout(store, &c);
        if (!rc)
            rc = mdm_conn_dataset_drop(c);
        mdm_store_checkin(store, c);
        mdm_store_free(store);
    }
    /* The directory holds metadata files for server datasets too. */
    int rc2 = remove_tree(path);
    return rc ? rc : rc2;
}

static bool process_gone(long pid)
{
    return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int staging_cleanup(const mdm_config *cfg, const char *backend, const char *name)
{
    const mdm_backend *b = mdm_backend_find(backend);
    if (!b)
        return mdm_error_last()->code; /* unknown, or its module is missing */
    int rc = 0;
    char prefix[PATH_MAX];
    snprintf(prefix, sizeof prefix, ".staging-%s-", name);
    const char *root = mdm_config_path(cfg, "datasets_path");
    DIR *d = opendir(root);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char *end = NULL;
        long pid = strtol(e->d_name + strlen(prefix), &end, 10);
        if (*end || !(process_gone(pid) || pid == (long)getpid()))
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", root, e->d_name);
        MDM_INFO("removing %s, left by an interrupted registration", path);
        if (remove_tree(path) != 0 && !rc)
            rc = MDM_EIO;
    }
    if (d)
        closedir(d);
    if (rc || !is_server(b))
        return rc;

    /* Schema backends: staging datasets "<name>.s<pid>" of processes that are gone. */
    mdm_store *store = NULL;
    mdm_conn *c = NULL;
    char **found = NULL;
    size_t nfound = 0;
    strbuf like = STRBUF_INIT;
    strbuf_appendf(&like, "%s.s", name);
    rc = !strbuf_cstr(&like) ? MDM_ENOMEM : server_store(&store, cfg, b, name);
    if (!rc)
        rc = mdm_store_checkout(store, &c);
    if (!rc)
        rc = mdm_conn_dataset_list(c, like.data, &found, &nfound);
    mdm_store_checkin(store, c);
    mdm_store_free(store);
    for (size_t i = 0; !rc && i < nfound; i++) {
        char *end = NULL;
        long pid = strtol(found[i] + like.len, &end, 10);
        if (*end || !(process_gone(pid) || pid == (long)getpid()))
            continue;
        MDM_INFO("dropping dataset %s, left by an interrupted registration", found[i]);
        store = NULL;
        c = NULL;
        rc = server_store(&store, cfg, b, found[i]);
        if (!rc)
            rc = mdm_store_checkout(store, &c);
        if (!rc)
            rc = mdm_conn_dataset_drop(c);
        mdm_store_checkin(store, c);
        mdm_store_free(store);
    }
    for (size_t i = 0; i < nfound; i++)
        free(found[i]);
    free(found);
    strbuf_free(&like);
    return rc;
}
