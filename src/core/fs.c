#include "core/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mdm/mdm.h"

int mdm_mkdirs(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    int rc = 0;
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
            rc = mdm_error_set(MDM_EIO, "cannot create directory %s: %s", copy, strerror(errno));
            break;
        }
        *p = saved;
        if (!saved)
            break;
    }
    free(copy);
    return rc;
}
