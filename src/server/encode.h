/* Result batches as the body of a table page or a query: JSON or CSV. */
#ifndef MDM_SERVER_ENCODE_H
#define MDM_SERVER_ENCODE_H

#include <stdbool.h>
#include <stdint.h>

#include "mdm/mdm.h"
#include "server/buf.h"

typedef struct page_encoder {
    buf out;
    bool csv;
    bool started;   /* header written (from the first batch) */
    bool any_row;
    size_t ncols;
    uint64_t rows;
    uint64_t max_bytes; /* stop with MDM_ECONSTRAINT past this many bytes; 0: none */
} page_encoder;

/* mdm_batch_sink: appends the batch's rows. */
int page_encode_batch(const mdm_batch *batch, void *ctx);
/* Closes the document; limit/offset are echoed in JSON (offset < 0: left out). */
void page_encode_finish(page_encoder *e, int64_t limit, int64_t offset);

#endif
