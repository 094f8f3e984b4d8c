/* A dataset's table read or query as an Arrow C stream (mdm_dataset_read_arrow,
 * mdm_dataset_query_arrow): the read or the query runs as the producer of an
 * arrow_stream, on the stream's thread, with copies of the request (the caller's may
 * be gone by the time it runs). Releasing the stream interrupts a query's engine. */
#include <stdlib.h>
#include <string.h>

#include "dataset/api_query.h"
#include "storage/arrow_stream.h"

typedef struct job {
    mdm_dataset *ds;
    mdm_table_read read;   /* a read: its strings below */
    char *table;
    char **columns;
    char *sql;             /* a query */
    mdm_query_options opt;
} job;

static void job_free(void *p)
{
    job *j = p;
    if (!j)
        return;
    for (size_t i = 0; j->columns && i < j->read.ncolumns; i++)
        free(j->columns[i]);
    free(j->columns);
    free(j->table);
    free(j->sql);
    free(j);
}

static int produce_read(void *p, mdm_batch_sink sink, void *sink_ctx)
{
    job *j = p;
    return mdm_dataset_read(j->ds, &j->read, sink, sink_ctx);
}

static int produce_query(void *p, mdm_batch_sink sink, void *sink_ctx)
{
    job *j = p;
    return api_query_run(j->ds, j->sql, &j->opt, arrow_stream_released, sink_ctx, sink,
                         sink_ctx);
}

int mdm_dataset_read_arrow(struct ArrowArrayStream *out, mdm_dataset *ds,
                           const mdm_table_read *req)
{
    memset(out, 0, sizeof *out);
    if (!req || !req->table)
        return mdm_error_set(MDM_EINVALID, "read_arrow needs a table");
    job *j = calloc(1, sizeof *j);
    if (!j)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    j->ds = ds;
    j->read = *req;
    j->read.ncolumns = req->columns ? req->ncolumns : 0;
    bool ok = (j->table = strdup(req->table)) != NULL;
    if (ok && j->read.ncolumns) {
        ok = (j->columns = calloc(j->read.ncolumns, sizeof *j->columns)) != NULL;
        for (size_t i = 0; ok && i < j->read.ncolumns; i++)
            ok = (j->columns[i] = strdup(req->columns[i])) != NULL;
    }
    if (!ok) {
        job_free(j);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    j->read.table = j->table;
    j->read.columns = (const char *const *)j->columns;
    return arrow_stream_start(out, produce_read, j, job_free);
}

int mdm_dataset_query_arrow(struct ArrowArrayStream *out, mdm_dataset *ds, const char *sql,
                            const mdm_query_options *opt)
{
    memset(out, 0, sizeof *out);
    if (!sql)
        return mdm_error_set(MDM_EINVALID, "query needs SQL text");
    job *j = calloc(1, sizeof *j);
    if (!j || !(j->sql = strdup(sql))) {
        free(j);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    j->ds = ds;
    if (opt)
        j->opt = *opt;
    return arrow_stream_start(out, produce_query, j, job_free);
}
