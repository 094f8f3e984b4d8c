/* mdm_catalog_change_stamp: a dataset's registry YAML as a number, from stat() alone.
 * Every change of a dataset rewrites that file through a temp file and a rename, so
 * its inode changes even when size and times would not. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mdm/dataset.h"

static uint64_t mix(uint64_t h, uint64_t v)
{
    /* FNV-1a over the 8 bytes of v */
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (i * 8)) & 0xff;
        h *= 0x100000001b3ULL;
    }
    return h;
}

int mdm_catalog_change_stamp(uint64_t *stamp, mdm_catalog *cat, const char *name)
{
    char norm[256];
    int rc = mdm_dataset_name_normalize(norm, sizeof norm, name);
    if (rc)
        return rc;
    const char *dir = mdm_config_path(mdm_catalog_config(cat), "configs_path");
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s.yaml", dir, norm);
    if (n < 0 || (size_t)n >= sizeof path)
        return mdm_error_set(MDM_EINVALID, "Path of dataset '%s' is too long", norm);
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return mdm_error_set(MDM_ENOTFOUND, "Dataset '%s' not found", norm);
        return mdm_error_set(MDM_EIO, "Cannot stat %s: %s", path, strerror(errno));
    }
    uint64_t h = 0xcbf29ce484222325ULL;
    h = mix(h, (uint64_t)st.st_dev);
    h = mix(h, (uint64_t)st.st_ino);
    h = mix(h, (uint64_t)st.st_size);
    h = mix(h, (uint64_t)st.st_mtim.tv_sec);
    h = mix(h, (uint64_t)st.st_mtim.tv_nsec);
    h = mix(h, (uint64_t)st.st_ctim.tv_sec);
    h = mix(h, (uint64_t)st.st_ctim.tv_nsec);
    *stamp = h ? h : 1;
    return 0;
}
