/* Finding a dataset's files (SPEC §4 steps 3-5). */
#include "dataset/discover.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs_read.h"
#include "core/strbuf.h"
#include "mdm/mdm.h"

static const struct {
    const char *suffix;
    io_format format;
    bool gzip;
} suffixes[] = {
    /* Longest first: ".csv.gz" must win over ".gz" alone. */
    {".parquet.snappy", IO_FORMAT_PARQUET, false},
    {".csv.gz", IO_FORMAT_CSV, true},
    {".tsv.gz", IO_FORMAT_TSV, true},
    {".parquet", IO_FORMAT_PARQUET, false},
    {".ndjson", IO_FORMAT_JSON, false},
    {".jsonl", IO_FORMAT_JSON, false},
    {".json", IO_FORMAT_JSON, false},
    {".xlsx", IO_FORMAT_EXCEL, false},
    {".csv", IO_FORMAT_CSV, false},
    {".tsv", IO_FORMAT_TSV, false},
    {".xls", IO_FORMAT_EXCEL, false},
    {".pq", IO_FORMAT_PARQUET, false},
};

/* Standard stems and the table each becomes (SPEC §4 step 5). */
static const struct {
    const char *stem;
    const char *table;
} standard[] = {
    {"train", "train"},           {"training", "train"},      {"test", "test"},
    {"testing", "test"},          {"validation", "validation"}, {"val", "validation"},
    {"dev", "validation"},        {"sample_submission", "sample_submission"},
};

/* Registration order: what type inference should see first comes first. */
static int table_rank(const char *table)
{
    static const char *const order[] = {"train", "validation", "test", "sample_submission"};
    for (int i = 0; i < 4; i++)
        if (strcmp(table, order[i]) == 0)
            return i;
    return 4;
}

bool source_format_of(const char *name, io_format *format, bool *gzip, size_t *stem_len)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t s = strlen(suffixes[i].suffix);
        if (n > s && strcasecmp(name + n - s, suffixes[i].suffix) == 0) {
            *format = suffixes[i].format;
            *gzip = suffixes[i].gzip;
            *stem_len = n - s;
            return true;
        }
    }
    return false;
}

static const char *standard_table(const char *stem)
{
    for (size_t i = 0; i < sizeof standard / sizeof standard[0]; i++)
        if (strcasecmp(stem, standard[i].stem) == 0)
            return standard[i].table;
    return NULL;
}

void discovery_free(discovery *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nfiles; i++) {
        free(d->files[i].path);
        free(d->files[i].table);
    }
    for (size_t i = 0; i < d->nskipped; i++)
        free(d->skipped[i]);
    free(d->files);
    free(d->skipped);
    free(d->root);
    memset(d, 0, sizeof *d);
}

/* The absolute form of a path that may not exist (for the error message). */
static char *absolute(const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return strdup(path);
    strbuf sb = STRBUF_INIT;
    strbuf_appendf(&sb, "%s/%s", cwd, path);
    return strbuf_detach(&sb);
}

static int add_file(discovery *d, const char *path, const char *table, io_format f, bool gz)
{
    source_file *files = realloc(d->files, (d->nfiles + 1) * sizeof *files);
    if (!files)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    d->files = files;
    source_file *sf = &d->files[d->nfiles];
    *sf = (source_file){.path = strdup(path), .table = strdup(table), .format = f, .gzip = gz};
    if (!sf->path || !sf->table) {
        free(sf->path);
        free(sf->table);
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    d->nfiles++;
    return 0;
}

static int add_skipped(discovery *d, const char *name)
{
    char **s = realloc(d->skipped, (d->nskipped + 1) * sizeof *s);
    if (!s)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    d->skipped = s;
    if (!(s[d->nskipped] = strdup(name)))
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    d->nskipped++;
    return 0;
}

static int compare_files(const void *a, const void *b)
{
    const source_file *x = a, *y = b;
    int rx = table_rank(x->table), ry = table_rank(y->table);
    return rx != ry ? rx - ry : strcmp(x->table, y->table);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One data file registered alone becomes table "data". */
static int discover_file(discovery *d, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    io_format f;
    bool gz;
    size_t stem;
    if (!source_format_of(base, &f, &gz, &stem))
        return mdm_error_set(MDM_EINVALID,
                             "%s is not a data file mdm reads (.csv, .tsv, .csv.gz, .tsv.gz, "
                             ".parquet, .json, .jsonl)",
                             path);
    return add_file(d, path, "data", f, gz);
}

/* What to do with directory entry `full`: read it (a regular file, or a symbolic link
 * to one inside `dir`, already resolved), pass over it (a directory, or what does not
 * carry a data file's name), or refuse it with a warning naming it: a link that leads
 * out of the directory (train.csv -> /etc/passwd) is never followed, and a data file's
 * name on a FIFO, socket or device is reported instead of silently passed over. */
typedef enum { ENTRY_USE, ENTRY_IGNORE, ENTRY_REFUSED } entry_use;

static entry_use check_entry(const char *dir, const char *full, bool data_name)
{
    struct stat st;
    if (lstat(full, &st) != 0)
        return ENTRY_IGNORE; /* gone meanwhile */
    if (S_ISLNK(st.st_mode)) {
        char *target = realpath(full, NULL);
        size_t n = strlen(dir);
        bool inside = target && strncmp(target, dir, n) == 0 &&
                      (target[n] == '/' || (n == 1 && dir[0] == '/'));
        entry_use use = ENTRY_REFUSED;
        if (!target) {
            if (data_name)
                MDM_WARN("Skipping %s: a symbolic link that leads nowhere", full);
        } else if (!inside) {
            if (data_name)
                MDM_WARN("Skipping %s: a symbolic link to %s, outside %s (mdm follows links "
                         "only within the given directory)",
                         full, target, dir);
        } else if (stat(target, &st) != 0) {
            use = ENTRY_IGNORE;
        } else {
            use = ENTRY_USE; /* the target, inside: judged below like a file */
        }
        free(target);
        if (use != ENTRY_USE)
            return data_name ? use : ENTRY_IGNORE;
    }
    if (S_ISREG(st.st_mode))
        return ENTRY_USE;
    if (S_ISDIR(st.st_mode) || !data_name)
        return ENTRY_IGNORE;
    MDM_WARN("Skipping %s: it is %s, not a regular file; mdm reads only regular files", full,
             fs_kind_name(st.st_mode));
    return ENTRY_REFUSED;
}

static int discover_directory(discovery *d, const char *dir)
{
    struct dirent **entries = NULL;
    int n = scandir(dir, &entries, NULL, alphasort);
    if (n < 0)
        return mdm_error_set(MDM_EIO, "cannot read directory %s: %s", dir, strerror(errno));
    int rc = 0;
    bool any_standard = false;
    /* First pass: does any file carry a standard stem? Then only those become tables. */
    for (int i = 0; i < n && !any_standard; i++) {
        io_format f;
        bool gz;
        size_t stem;
        const char *name = entries[i]->d_name;
        if (name[0] == '.' || !source_format_of(name, &f, &gz, &stem))
            continue;
        char s[NAME_MAX + 1];
        snprintf(s, sizeof s, "%.*s", (int)stem, name);
        any_standard = standard_table(s) != NULL;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        const char *name = entries[i]->d_name;
        if (name[0] == '.')
            continue;
        char full[PATH_MAX];
        if (snprintf(full, sizeof full, "%s/%s", dir, name) >= (int)sizeof full)
            continue;
        io_format f = IO_FORMAT_CSV;
        bool gz = false;
        size_t stem = 0;
        bool data_name = source_format_of(name, &f, &gz, &stem);
        entry_use use = check_entry(dir, full, data_name);
        if (use != ENTRY_USE) {
            if (use == ENTRY_REFUSED)
                rc = add_skipped(d, name);
            continue;
        }
        if (!data_name) {
            rc = add_skipped(d, name);
            continue;
        }
        char s[NAME_MAX + 1];
        snprintf(s, sizeof s, "%.*s", (int)stem, name);
        const char *table = standard_table(s);
        if (!table && any_standard) {
            rc = add_skipped(d, name);
            continue;
        }
        char *resolved = realpath(full, NULL);
        rc = add_file(d, resolved ? resolved : full, table ? table : s, f, gz);
        free(resolved);
    }
    for (int i = 0; i < n; i++)
        free(entries[i]);
    free(entries);
    return rc;
}

int discover(discovery *out, const char *path)
{
    memset(out, 0, sizeof *out);
    if (!path || !*path)
        path = ".";
    char *resolved = realpath(path, NULL);
    if (!resolved) {
        char *abs = absolute(path);
        int rc = mdm_error_set(MDM_ENOTFOUND, "Path does not exist: %s", abs ? abs : path);
        free(abs);
        return rc;
    }
    out->root = resolved;
    struct stat st;
    if (stat(resolved, &st) != 0)
        return mdm_error_set(MDM_EIO, "cannot read %s: %s", resolved, strerror(errno));
    int rc;
    if (S_ISDIR(st.st_mode)) {
        out->is_directory = true;
        rc = discover_directory(out, resolved);
    } else {
        rc = discover_file(out, resolved);
    }
    if (rc)
        goto fail;
    if (out->nfiles == 0) {
        rc = mdm_error_set(MDM_ENOTFOUND, "No data files found in %s", resolved);
        goto fail;
    }
    qsort(out->files, out->nfiles, sizeof *out->files, compare_files);
    if (out->nskipped) /* qsort's array must not be NULL, even when empty */
        qsort(out->skipped, out->nskipped, sizeof *out->skipped, compare_names);
    for (size_t i = 1; i < out->nfiles; i++)
        if (strcmp(out->files[i - 1].table, out->files[i].table) == 0) {
            rc = mdm_error_set(MDM_EINVALID, "two files would both be table '%s': %s and %s",
                               out->files[i].table, out->files[i - 1].path, out->files[i].path);
            goto fail;
        }
    /* Kaggle: sample_submission.csv beside train, test, submission.csv or
     * data_description.txt (SPEC §4 step 4). */
    bool submission = false, companion = false;
    for (size_t i = 0; i < out->nfiles; i++) {
        const char *t = out->files[i].table;
        if (strcmp(t, "sample_submission") == 0)
            submission = true;
        else if (strcmp(t, "train") == 0 || strcmp(t, "test") == 0)
            companion = true;
    }
    for (size_t i = 0; i < out->nskipped; i++)
        if (strcasecmp(out->skipped[i], "data_description.txt") == 0 ||
            strcasecmp(out->skipped[i], "submission.csv") == 0)
            companion = true;
    out->kaggle = submission && companion;
    return 0;
fail:
    discovery_free(out);
    return rc;
}

int discover_files(discovery *out, const char *const files[4])
{
    static const char *const tables[4] = {"train", "test", "validation", "sample_submission"};
    memset(out, 0, sizeof *out);
    int rc = 0;
    for (int i = 0; i < 4 && !rc; i++) {
        if (!files[i])
            continue;
        char *resolved = realpath(files[i], NULL);
        if (!resolved) {
            char *abs = absolute(files[i]);
            rc = mdm_error_set(MDM_ENOTFOUND, "Path does not exist: %s", abs ? abs : files[i]);
            free(abs);
            break;
        }
        const char *base = strrchr(resolved, '/');
        io_format f;
        bool gz;
        size_t stem;
        if (!source_format_of(base ? base + 1 : resolved, &f, &gz, &stem))
            rc = mdm_error_set(MDM_EINVALID, "%s is not a data file mdm reads", resolved);
        else
            rc = add_file(out, resolved, tables[i], f, gz);
        if (!rc && !out->root)
            out->root = strdup(resolved);
        free(resolved);
    }
    if (!rc && out->nfiles == 0)
        rc = mdm_error_set(MDM_EINVALID, "no files given");
    if (rc)
        discovery_free(out);
    return rc;
}
