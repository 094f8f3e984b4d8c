/* Format detection by file name and the format-independent entry point of readers. */
#include "io/reader.h"

#include <string.h>
#include <strings.h>

#include <unistd.h>

#include "core/fs_read.h"
#include "io/csv_source.h"
#include "io/duckdb_reader.h"
#include "io/json_depth.h"

static bool ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && strncasecmp(s + len - n, suffix, n) == 0;
}

int io_format_from_path(io_format *out, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t len = strlen(base);
    if (ends_with(base, len, ".gz"))
        len -= 3;
    static const struct {
        const char *ext;
        io_format format;
    } known[] = {
        {".csv", IO_FORMAT_CSV},     {".tsv", IO_FORMAT_TSV},       {".parquet", IO_FORMAT_PARQUET},
        {".json", IO_FORMAT_JSON},   {".jsonl", IO_FORMAT_JSON},    {".ndjson", IO_FORMAT_JSON},
        {".xlsx", IO_FORMAT_EXCEL},  {".xls", IO_FORMAT_EXCEL},
    };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        if (ends_with(base, len, known[i].ext)) {
            *out = known[i].format;
            return 0;
        }
    }
    return mdm_error_set(MDM_EINVALID,
                         "%s: unknown file type; supported: .csv .tsv .csv.gz .tsv.gz .parquet "
                         ".json .jsonl .ndjson (.json.gz)",
                         path);
}

const char *io_format_name(io_format format)
{
    switch (format) {
    case IO_FORMAT_CSV: return "csv";
    case IO_FORMAT_TSV: return "tsv";
    case IO_FORMAT_PARQUET: return "parquet";
    case IO_FORMAT_JSON: return "json";
    case IO_FORMAT_EXCEL: return "excel";
    }
    return "?";
}

/* Only regular files are read: a FIFO (or /dev/stdin, a socket, a terminal) would
 * block the reader forever, and the readers read a file more than once (sniffing,
 * a second pass). Opened with O_NONBLOCK so that the check itself never waits. */
static int check_regular(const char *path)
{
    int fd = fs_open_regular(path);
    if (fd == MDM_EINVALID)
        return fd;
    if (fd >= 0)
        close(fd);
    else
        mdm_error_clear(); /* missing, unreadable: the format's reader says it as usual */
    return 0;
}

static int open_reader(io_reader **out, const char *path, io_format format,
                       const mdm_config *cfg, bool exact)
{
    *out = NULL;
    int rc;
    if (format != IO_FORMAT_EXCEL && (rc = check_regular(path)))
        return rc;
    /* DuckDB's JSON reader recurses per level and crashes on deep nesting. */
    if (format == IO_FORMAT_JSON && (rc = io_json_check_depth(path, IO_JSON_MAX_DEPTH)))
        return rc;
    switch (format) {
    case IO_FORMAT_CSV:
    case IO_FORMAT_TSV:
        return io_csv_reader_open(out, path, format, cfg, exact);
    case IO_FORMAT_PARQUET:
    case IO_FORMAT_JSON:
    case IO_FORMAT_EXCEL:
        return io_duckdb_reader_open(out, path, format, cfg);
    }
    return mdm_error_set(MDM_EINVALID, "%s: unknown input format %d", path, (int)format);
}

int io_reader_open(io_reader **out, const char *path, io_format format, const mdm_config *cfg)
{
    return open_reader(out, path, format, cfg, false);
}

int io_reader_open_exact(io_reader **out, const char *path, io_format format,
                         const mdm_config *cfg)
{
    return open_reader(out, path, format, cfg, true);
}
