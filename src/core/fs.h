/* The one file-system helper module: directories, atomic writes, tree removal and
 * sizes, and where a dataset's files live. Every function that fails sets the error
 * record (MDM_EIO naming the path and the system's reason) and returns its code. */
#ifndef MDM_CORE_FS_H
#define MDM_CORE_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mdm/mdm.h"

/* Creates `path` and its missing parents (mkdir -p). MDM_EIO names the directory that
 * could not be made. */
int mdm_mkdirs(const char *path);

/* Remembers `home` as an mdm home (mdm_config_defaults calls it): when mdm_mkdirs is the
 * first to create that directory it makes it 0700 (owner only); other directories get
 * 0755 as before. An existing home keeps its mode. */
void mdm_fs_note_home(const char *home);

/* Writes `data` to `path` atomically: a temp file ".<base>.tmp.<pid>.<n>" beside it,
 * write, fsync, rename over `path`, fsync of the directory. On failure `path` is
 * untouched and no temp file is left behind (unless the process dies: see
 * mdm_fs_remove_dead_temps). */
int mdm_fs_write_atomic(const char *path, const char *data, size_t len);
/* fsync of a directory (its entries: renames, unlinks). */
int mdm_fs_sync_dir(const char *dir);
/* fsync of every regular file directly in `dir`, then of `dir` itself. */
int mdm_fs_sync_files(const char *dir);
/* Removes "<dir>/.<base>.tmp.<pid>.*" files whose process is gone. */
void mdm_fs_remove_dead_temps(const char *dir, const char *base);

/* Reads a whole (small) regular file; *out is NUL-terminated, caller frees. A missing
 * file is not an error: *found says whether it was there. */
int mdm_fs_read_file(char **out, size_t *len, bool *found, const char *path);
/* True when something (a file, directory or symlink) is at `path`. */
bool mdm_fs_exists(const char *path);

/* Removes `path` and everything under it (rm -rf, symlinks removed, never followed).
 * Nothing at `path` is success. */
int mdm_fs_remove_tree(const char *path);
/* Apparent size of the regular files under `path` (symlinks not followed); 0 when
 * nothing is there. */
int mdm_fs_tree_size(uint64_t *bytes, const char *path);
/* Renames `from` to `to` (same file system) and syncs the directory of `to`. */
int mdm_fs_rename(const char *from, const char *to);

/* Where a dataset (normalized name) lives in the home of `cfg`; caller frees *out.
 *   dir:   <datasets_path>/<name>
 *   file:  <datasets_path>/<name>/<name><ext>   (ext ".sqlite", ".duckdb")
 *   yaml:  <configs_path>/<name>.yaml           (the registry record) */
int mdm_fs_dataset_dir(char **out, const mdm_config *cfg, const char *name);
int mdm_fs_dataset_file(char **out, const mdm_config *cfg, const char *name, const char *ext);
int mdm_fs_dataset_yaml(char **out, const mdm_config *cfg, const char *name);

/* The pids of the entries of `dir` named "<prefix><pid>" (staging and trash places
 * carry their process's pid), at most `max`. A missing directory has none. */
size_t mdm_fs_pid_entries(long *pids, size_t max, const char *dir, const char *prefix);

/* True when process `pid` no longer exists (kill(pid, 0) says ESRCH). */
bool mdm_fs_process_gone(long pid);

/* Test hook: called at the steps of mdm_fs_write_atomic ("temp-written": the temp file
 * is complete and synced; "renamed": it replaced the target, the directory is not yet
 * synced) with the target's path, and wherever mdm_fs_fault is called. A non-zero
 * return makes the operation fail there as if the disk had failed, leaving what a crash
 * at that moment would leave. NULL removes it. */
typedef int (*mdm_fs_fault_hook)(const char *step, const char *path, void *ctx);
void mdm_fs_set_fault_hook(mdm_fs_fault_hook hook, void *ctx);
/* MDM_EIO "<path>: simulated failure at step '<step>'" when the hook says so, else 0. */
int mdm_fs_fault(const char *step, const char *path);

#endif
