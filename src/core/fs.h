/* File-system helpers shared by the modules that create and remove mdm's directories. */
#ifndef MDM_CORE_FS_H
#define MDM_CORE_FS_H

/* Creates `path` and its missing parents (mkdir -p). MDM_EIO names the directory that
 * could not be made. */
int mdm_mkdirs(const char *path);

#endif
