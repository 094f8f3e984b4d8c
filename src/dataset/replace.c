/* Replacing a dataset through a trash place (replace.h). */
#include "dataset/replace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/strbuf.h"
#include "dataset/catalog.h"
#include "dataset/name_lock.h"
#include "dataset/register.h"
#include "dataset/staging.h"
#include "mdm/sys/backend.h"

/* The old dataset's registry text, inside the trash directory. */
#define MARKER ".replaced.yaml"

struct replace {
    const mdm_config *cfg;
    const dataset_place *place; /* borrowed: the dataset's name, YAML and directory */
    char *old_backend;
    char *trash_dir;     /* <datasets_path>/.trash-<name>-<pid> */
    char *trash_dataset; /* "<name>.t<pid>": the trash schema's dataset name */
    bool schema_moved;
};

static char *format(const char *fmt, const char *a, const char *b, long pid)
{
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, fmt, a, b, pid);
    return strbuf_cstr(&sb) ? strbuf_detach(&sb) : NULL;
}

/* "<dir>/<base>" */
static char *join(const char *dir, const char *base)
{
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "%s/%s", dir, base);
    return strbuf_cstr(&sb) ? strbuf_detach(&sb) : NULL;
}

static void replace_free(replace *r)
{
    if (!r)
        return;
    free(r->old_backend);
    free(r->trash_dir);
    free(r->trash_dataset);
    free(r);
}

static int replace_new(replace **out, const mdm_config *cfg, const dataset_place *place,
                       const char *old_backend, long pid)
{
    replace *r = calloc(1, sizeof *r);
    *out = r;
    if (!r)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    r->cfg = cfg;
    r->place = place;
    r->old_backend = old_backend ? strdup(old_backend) : NULL;
    r->trash_dir = format("%s/.trash-%s-%ld", mdm_config_path(cfg, "datasets_path"),
                          place->name, pid);
    r->trash_dataset = format("%s%s.t%ld", place->name, "", pid);
    if ((old_backend && !r->old_backend) || !r->trash_dir || !r->trash_dataset)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    return 0;
}

static int settle(replace *r, const char *new_backend);

int replace_begin(replace **out, const mdm_config *cfg, const dataset_place *place,
                  const char *old_backend)
{
    *out = NULL;
    replace *r = NULL;
    const char *name = place->name;
    char *yaml = NULL, *marker = NULL;
    size_t len = 0;
    bool found = false;
    int rc = replace_new(&r, cfg, place, old_backend, (long)getpid());
    if (!rc)
        rc = mdm_fs_read_file(&yaml, &len, &found, place->yaml);
    if (!rc && !found)
        rc = mdm_error_set(MDM_ENOTFOUND, "Dataset '%s' not found", name);
    if (!rc && !(marker = join(r->place->dir, MARKER)))
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    /* A dataset of the Python tool may have no directory: the journal needs one. */
    if (!rc)
        rc = mdm_mkdirs(r->place->dir);
    if (!rc)
        rc = mdm_fs_write_atomic(marker, yaml, len);
    if (!rc)
        rc = mdm_fs_fault("replace-marked", marker);
    if (!rc)
        rc = mdm_fs_rename(r->place->dir, r->trash_dir);
    if (!rc && (rc = dataset_schema_rename(&r->schema_moved, cfg, r->old_backend, name,
                                           r->trash_dataset))) {
        /* Nothing else moved: the directory goes back. */
        if (mdm_fs_rename(r->trash_dir, r->place->dir) != 0)
            MDM_WARN("%s", mdm_error_last()->message);
    }
    if (!rc)
        rc = mdm_fs_fault("replace-aside", r->trash_dir);
    if (rc && !mdm_fs_exists(r->trash_dir))
        unlink(marker);
    free(marker);
    free(yaml);
    if (rc) {
        /* A simulated failure after the move leaves the trash: undo puts it back. */
        if (r && mdm_fs_exists(r->trash_dir)) {
            int keep = rc;
            char msg[sizeof mdm_error_last()->message];
            snprintf(msg, sizeof msg, "%s", mdm_error_last()->message);
            if (settle(r, r->old_backend) != 0)
                MDM_WARN("%s", mdm_error_last()->message);
            replace_free(r);
            mdm_error_set(keep, "%s", msg);
            return keep;
        }
        replace_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* Drops the trash schema (if any), then the trash directory, the journal, last. */
static int delete_trash(const replace *r)
{
    int rc = 0;
    const mdm_backend *b = r->old_backend ? mdm_backend_find(r->old_backend) : NULL;
    if (b && !b->file_extension)
        rc = dataset_storage_remove(r->cfg, r->old_backend, r->trash_dataset);
    if (!rc)
        rc = mdm_fs_remove_tree(r->trash_dir);
    return rc;
}

void replace_finish(replace *r)
{
    if (!r)
        return;
    if (delete_trash(r) != 0)
        MDM_WARN("could not delete the replaced dataset '%s' (%s): %s; the next command on it "
                 "will",
                 r->place->name, r->trash_dir, mdm_error_last()->message);
    replace_free(r);
}

/* Puts the old dataset back: whatever is at its place goes, the trash comes back. */
static int restore(const replace *r, const char *new_backend)
{
    int rc = 0;
    bool trash_schema = false;
    const mdm_backend *old = r->old_backend ? mdm_backend_find(r->old_backend) : NULL;
    if (old && !old->file_extension) {
        /* Is the old schema aside? Then what holds the dataset's schema name is new. */
        bool moved_back = false;
        mdm_store *store = NULL;
        mdm_conn *c = NULL;
        mdm_target t = {.dataset = r->trash_dataset};
        rc = mdm_store_open(&store, old->name, &t, r->cfg);
        if (!rc)
            rc = mdm_store_checkout(store, &c);
        if (!rc)
            rc = mdm_conn_dataset_exists(c, &trash_schema);
        mdm_store_checkin(store, c);
        mdm_store_free(store);
        if (!rc && trash_schema)
            rc = dataset_storage_remove(r->cfg, old->name, r->place->name);
        if (!rc && trash_schema)
            rc = dataset_schema_rename(&moved_back, r->cfg, old->name, r->trash_dataset,
                                       r->place->name);
    } else if (new_backend) {
        const mdm_backend *nb = mdm_backend_find(new_backend);
        /* A new server dataset promoted over an old file one: its schema goes. */
        if (nb && !nb->file_extension)
            rc = dataset_storage_remove(r->cfg, nb->name, r->place->name);
    }
    if (!rc)
        rc = mdm_fs_remove_tree(r->place->dir);
    if (!rc)
        rc = mdm_fs_rename(r->trash_dir, r->place->dir);
    if (!rc) {
        char *marker = join(r->place->dir, MARKER);
        if (marker)
            unlink(marker);
        free(marker);
    }
    return rc;
}

/* The pids of trash places of `name` in `root` (at most `max`). */
static size_t find_trash(long *pids, size_t max, const char *root, const char *name)
{
    char prefix[600];
    snprintf(prefix, sizeof prefix, ".trash-%s-", name);
    return mdm_fs_pid_entries(pids, max, root, prefix);
}

/* Puts the old dataset back or deletes it, from whether the registry still holds the
 * old text (see replace.h). `new_backend` (may be NULL) is the new dataset's. */
static int settle(replace *r, const char *new_backend)
{
    char *marker = NULL, *old_text = NULL, *yaml = NULL;
    size_t old_len = 0, len = 0;
    bool has_marker = false, has_yaml = false;
    dataset_info *old = NULL;
    int rc = (marker = join(r->trash_dir, MARKER)) ? 0 : mdm_error_set(MDM_ENOMEM, "out of memory");
    if (!rc)
        rc = mdm_fs_read_file(&old_text, &old_len, &has_marker, marker);
    if (!rc)
        rc = mdm_fs_read_file(&yaml, &len, &has_yaml, r->place->yaml);
    if (!rc && !r->old_backend && has_marker &&
        dataset_info_from_yaml(&old, old_text, old_len, marker, r->place->name) == 0 &&
        old->database.backend &&
        !(r->old_backend = strdup(dataset_backend_registry_name(old->database.backend))))
        rc = mdm_error_set(MDM_ENOMEM, "out of memory");
    if (rc)
        goto cleanup;
    /* The registry still holds the old text: the new dataset never committed. Without a
     * marker (mdm always writes one first) the old one is put back when its place is
     * empty. */
    bool committed = has_marker ? !(has_yaml && len == old_len && memcmp(yaml, old_text, len) == 0)
                                : mdm_fs_exists(r->place->dir);
    if (committed) {
        MDM_INFO("deleting %s, left by a finished replacement of '%s'", r->trash_dir, r->place->name);
        rc = delete_trash(r);
    } else {
        MDM_INFO("putting dataset '%s' back from %s: its replacement did not commit", r->place->name,
                 r->trash_dir);
        rc = restore(r, new_backend);
    }
cleanup:
    dataset_info_free(old);
    free(marker);
    free(old_text);
    free(yaml);
    return rc;
}

int replace_undo(replace *r, const char *new_backend)
{
    if (!r)
        return 0;
    int rc = settle(r, new_backend);
    if (rc)
        MDM_WARN("could not settle the replacement of dataset '%s' (%s): %s; the next command "
                 "on it will",
                 r->place->name, r->trash_dir, mdm_error_last()->message);
    replace_free(r);
    return rc;
}

/* One trash place of a dead process. */
static int settle_one(const mdm_config *cfg, const dataset_place *place, long pid)
{
    replace *r = NULL;
    int rc = replace_new(&r, cfg, place, NULL, pid);
    if (!rc)
        rc = settle(r, NULL);
    replace_free(r);
    return rc;
}

int replace_recover(const mdm_config *cfg, const dataset_place *place)
{
    long pids[16];
    size_t n = find_trash(pids, 16, mdm_config_path(cfg, "datasets_path"), place->name);
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        if (mdm_fs_process_gone(pids[i]) || pids[i] == (long)getpid())
            rc = settle_one(cfg, place, pids[i]);
    return rc;
}

int replace_settle(const mdm_config *cfg, const dataset_place *place)
{
    long pid;
    if (find_trash(&pid, 1, mdm_config_path(cfg, "datasets_path"), place->name) == 0)
        return 0;
    name_lock *lock = NULL;
    uint64_t timeout_ms = (uint64_t)mdm_config_int(cfg, "database.connection_timeout") * 1000;
    int rc = name_lock_acquire(&lock, cfg, place->name, "repaired", timeout_ms);
    if (!rc)
        rc = replace_recover(cfg, place);
    name_lock_release(lock);
    return rc;
}
