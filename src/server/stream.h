/* Table pages too big to hold: streamed batch by batch (MHD_create_response_from_callback). */
#ifndef MDM_SERVER_STREAM_H
#define MDM_SERVER_STREAM_H

#include <stdbool.h>

#include "mdm/dataset.h"
#include "server/handles.h"

struct MHD_Response;

/* A response that reads `rd` as it is sent. On success the response owns `ref` (put
 * back when the response is done); on failure the caller keeps it. */
int page_stream_start(struct MHD_Response **out, handles *hs, handle_ref *ref, mdm_dataset *ds,
                      const mdm_table_read *rd, bool csv);

#endif
