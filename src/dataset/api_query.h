/* Read-only queries of a dataset (api_query.c), shared with its Arrow stream
 * (api_arrow.c). */
#ifndef MDM_DATASET_API_QUERY_H
#define MDM_DATASET_API_QUERY_H

#include "mdm/dataset.h"

/* mdm_dataset_query, also stopped when `stop(stop_ctx)` (may be NULL) says so: the
 * engine is interrupted as for a cancel. */
int api_query_run(mdm_dataset *ds, const char *sql, const mdm_query_options *opt,
                  bool (*stop)(void *), void *stop_ctx, mdm_batch_sink sink, void *ctx);

#endif
