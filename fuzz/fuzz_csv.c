/* The CSV/TSV reader: sniffing, decoding, quoting, gzip, then the typed reader
 * (inference, conversion, the parsing thread) over the same bytes. The first byte picks
 * the options so that forced dialects and limits are explored too. */
#include "fuzz_common.h"

#include "io/csv.h"
#include "io/reader.h"

static void read_all(const char *path, const csv_options *opt)
{
    csv_reader *r = NULL;
    if (csv_open(&r, path, opt) != 0)
        return;
    (void)csv_dialect_of(r);
    const io_record *header = csv_header(r);
    size_t ncols = csv_ncolumns(r);
    if (header && header->nfields != ncols)
        abort();
    io_record rec;
    int rc;
    size_t records = 0;
    while ((rc = csv_next(r, &rec)) == 1) {
        if (rec.nfields != ncols)
            abort(); /* the reader promises exactly ncolumns fields */
        for (size_t i = 0; i < rec.nfields; i++)
            if (!rec.fields[i].ptr || rec.fields[i].ptr[rec.fields[i].len] != '\0')
                abort();
        records++;
    }
    /* A second pass reads the same records. */
    if (rc == 0 && csv_rewind(r) == 0) {
        size_t again = 0;
        while (csv_next(r, &rec) == 1)
            again++;
        if (again != records)
            abort();
    }
    csv_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    uint8_t flags = size ? data[0] : 0;
    if (size) {
        data++;
        size--;
    }
    const char *path = fuzz_file((flags & 0x80) ? "in.tsv" : "in.csv", data, size);
    csv_options opt = CSV_OPTIONS_DEFAULT;
    static const char delimiters[] = {0, ',', ';', '\t', '|'};
    opt.delimiter = delimiters[(flags & 0x07) % 5];
    opt.header = (flags & 0x08) ? -1 : (flags >> 4) & 1;
    opt.no_quoting = (flags & 0x20) != 0;
    if (flags & 0x40) {
        opt.sample_bytes = 64;
        opt.max_record_bytes = 256;
    }
    read_all(path, &opt);

    /* The typed reader over the same file (types inferred, then every record checked). */
    static mdm_config *cfg;
    if (!cfg && (mdm_config_defaults(&cfg, fuzz_dir) != 0 ||
                 mdm_config_set(cfg, "performance.batch_size", "100") != 0))
        abort(); /* small batches: several per input, and no 10,000-row buffers */
    io_format format = (flags & 0x80) ? IO_FORMAT_TSV : IO_FORMAT_CSV;
    for (int exact = 0; exact < 2; exact++) {
        io_reader *reader = NULL;
        int rc = exact ? io_reader_open_exact(&reader, path, format, cfg)
                       : io_reader_open(&reader, path, format, cfg);
        if (rc != 0)
            break;
        size_t nfields;
        (void)io_reader_schema(reader, &nfields);
        const mdm_batch *batch;
        while ((rc = io_reader_next(reader, &batch)) == 1)
            ;
        io_reader_close(reader);
        if (rc != IO_READER_RETYPE)
            break;
        if (exact)
            abort(); /* the exact reader never asks for a second reading */
    }
    return 0;
}
