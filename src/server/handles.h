/* Open dataset handles kept across requests, so that a dataset's store and pool live
 * as long as the server rather than one request. A handle is reopened when the
 * dataset's change stamp moves (another process updated, replaced or removed it). */
#ifndef MDM_SERVER_HANDLES_H
#define MDM_SERVER_HANDLES_H

#include <stdint.h>

#include "mdm/dataset.h"

typedef struct handles handles;
typedef struct handle_ref handle_ref;

int handles_new(handles **out, mdm_catalog *cat);
/* Closes every handle; no reference may be outstanding. */
void handles_free(handles *h);
/* The open dataset `name` as of `stamp` (from mdm_catalog_change_stamp). */
int handles_get(handle_ref **ref, mdm_dataset **ds, handles *h, const char *name, uint64_t stamp);
void handles_put(handles *h, handle_ref *ref);
/* Forgets the dataset's handle (closed once its last user puts it back). */
void handles_forget(handles *h, const char *name);

#endif
