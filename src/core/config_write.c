/* Changing one key of mdm.yaml in place (`mdm config set`), keeping the rest of the
 * file as the user wrote it, comments included. The file is edited as lines of
 * block-style YAML (what mdm.yaml is in practice); the result is parsed again before it
 * replaces the file, so a layout this editor does not understand is refused rather
 * than damaged. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config_internal.h"
#include "core/config_schema.h"
#include "core/fs_read.h"
#include "core/strbuf.h"

void (*config_write_hook)(config_hook_event event);

typedef struct line {
    char *text;   /* without the newline */
    int indent;   /* -1: blank or comment */
    char *key;    /* the key of "key:" lines, else NULL */
    bool scalar;  /* "key: value" (else "key:" opening a mapping) */
} line;

typedef struct doc {
    line *lines;
    size_t n;
} doc;

static void doc_free(doc *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->lines[i].text);
        free(d->lines[i].key);
    }
    free(d->lines);
}

static int parse_line(line *l)
{
    const char *s = l->text;
    int indent = 0;
    while (s[indent] == ' ')
        indent++;
    const char *p = s + indent;
    l->indent = -1;
    if (!*p || *p == '#')
        return 0;
    if (*p == '\t' || *p == '-' || *p == '{' || *p == '[' || *p == '"' || *p == '\'')
        return -1; /* tabs, sequences at this level, flow style, quoted keys: not ours */
    const char *colon = strstr(p, ":");
    while (colon && colon[1] && colon[1] != ' ' && colon[1] != '\t')
        colon = strstr(colon + 1, ":");
    if (!colon)
        return -1;
    l->indent = indent;
    l->key = strndup(p, (size_t)(colon - p));
    const char *rest = colon + 1;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    l->scalar = *rest && *rest != '#';
    return l->key ? 0 : -1;
}

static int doc_read(doc *d, const char *path)
{
    memset(d, 0, sizeof *d);
    /* Never blocks: a FIFO named mdm.yaml is refused, not waited on. */
    int fd = fs_open_regular(path);
    if (fd == MDM_ENOTFOUND) {
        mdm_error_clear();
        return 0;
    }
    if (fd < 0)
        return fd;
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return mdm_error_set(MDM_EIO, "cannot read %s: %s", path, strerror(errno));
    }
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&buf, &cap, f)) >= 0) {
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        line *lines = realloc(d->lines, (d->n + 1) * sizeof *lines);
        if (!lines) {
            rc = mdm_error_set(MDM_ENOMEM, "out of memory");
            break;
        }
        d->lines = lines;
        line *l = &d->lines[d->n++];
        *l = (line){.text = strdup(buf)};
        if (!l->text || parse_line(l) != 0) {
            rc = mdm_error_set(MDM_ECONFIG,
                               "%s line %zu is not in the plain 'key: value' layout that "
                               "`mdm config set` edits; change it by hand",
                               path, d->n);
            break;
        }
    }
    free(buf);
    fclose(f);
    if (rc)
        doc_free(d);
    return rc;
}

/* Index of the line holding `segments[0..depth)` as a path, searching lines
 * [from, to) at indentation deeper than `parent_indent`; -1 when absent. */
static long find_key(const doc *d, size_t from, size_t to, int parent_indent, const char *key)
{
    int level = -1;
    for (size_t i = from; i < to; i++) {
        const line *l = &d->lines[i];
        if (l->indent < 0)
            continue;
        if (l->indent <= parent_indent)
            break;
        if (level < 0)
            level = l->indent;
        if (l->indent == level && strcmp(l->key, key) == 0)
            return (long)i;
    }
    return -1;
}

/* The end (exclusive) of the block under line i: lines indented deeper than it. */
static size_t block_end(const doc *d, size_t i)
{
    size_t end = i + 1, last = i + 1;
    for (; end < d->n; end++) {
        if (d->lines[end].indent < 0)
            continue;
        if (d->lines[end].indent <= d->lines[i].indent)
            break;
        last = end + 1;
    }
    return last;
}

static int doc_insert(doc *d, size_t at, const char *text)
{
    line *lines = realloc(d->lines, (d->n + 1) * sizeof *lines);
    if (!lines)
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    d->lines = lines;
    memmove(&d->lines[at + 1], &d->lines[at], (d->n - at) * sizeof *lines);
    d->lines[at] = (line){.text = strdup(text), .indent = -1};
    d->n++;
    return d->lines[at].text ? 0 : mdm_error_set(MDM_ENOMEM, "out of memory");
}

/* The YAML form of a value given as text: quoted unless it is plainly safe. */
static void yaml_scalar(strbuf *sb, const char *value, bool is_list)
{
    if (is_list) {
        strbuf_append_char(sb, '[');
        for (const char *p = value; *p; p++)
            strbuf_append(sb, *p == ',' ? ", " : (char[]){*p, 0});
        strbuf_append_char(sb, ']');
        return;
    }
    bool plain = *value && strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_.-/+") == strlen(value);
    if (plain) {
        strbuf_append(sb, value);
        return;
    }
    strbuf_append_char(sb, '"');
    for (const char *p = value; *p; p++) {
        if (*p == '"' || *p == '\\')
            strbuf_append_char(sb, '\\');
        strbuf_append_char(sb, *p);
    }
    strbuf_append_char(sb, '"');
}

/* Writes `key: value` into the lines of `path` (created when missing) and the result
 * to `out_path`, a new file of permissions `mode`. */
static int write_key(const char *path, const char *out_path, mode_t mode, const char *key,
                     const char *value, bool is_list)
{
    doc d;
    int rc = doc_read(&d, path);
    if (rc)
        return rc;
    if (config_write_hook)
        config_write_hook(CONFIG_HOOK_READ);
    char *segs[8];
    int nseg = 0;
    char *dup = strdup(key);
    for (char *save = NULL, *t = strtok_r(dup, ".", &save); t && nseg < 8;
         t = strtok_r(NULL, ".", &save))
        segs[nseg++] = t;
    strbuf sb = STRBUF_INIT;
    size_t from = 0, to = d.n;
    int parent = -1, depth = 0;
    long at = -1;
    for (; depth < nseg; depth++) {
        at = find_key(&d, from, to, parent, segs[depth]);
        if (at < 0)
            break;
        if (depth + 1 < nseg) {
            if (d.lines[at].scalar) {
                rc = mdm_error_set(MDM_ECONFIG, "%s: '%s' holds a value where '%s' expects a section",
                                   path, segs[depth], key);
                goto cleanup;
            }
            parent = d.lines[at].indent;
            from = (size_t)at + 1;
            to = block_end(&d, (size_t)at);
        }
    }
    if (depth == nseg) {
        /* Replace the value, keep indentation and a trailing comment. */
        line *l = &d.lines[at];
        const char *comment = strstr(l->text + l->indent + strlen(l->key) + 1, " #");
        /* Keep the spaces the user put before the comment. */
        while (comment && comment > l->text && comment[-1] == ' ' && comment[-2] == ' ')
            comment--;
        strbuf_appendf(&sb, "%*s%s: ", l->indent, "", l->key);
        yaml_scalar(&sb, value, is_list);
        if (comment)
            strbuf_append(&sb, comment);
        free(l->text);
        l->text = strbuf_detach(&sb);
    } else {
        /* Add the missing sections and the key at the end of the deepest one found. */
        int indent = parent < 0 ? 0 : parent + 2;
        size_t insert = depth == 0 ? d.n : to;
        for (int k = depth; k < nseg && !rc; k++, indent += 2) {
            strbuf_reset(&sb);
            strbuf_appendf(&sb, "%*s%s:", indent, "", segs[k]);
            if (k + 1 == nseg) {
                strbuf_append_char(&sb, ' ');
                yaml_scalar(&sb, value, is_list);
            }
            rc = strbuf_cstr(&sb) ? doc_insert(&d, insert++, sb.data) : MDM_ENOMEM;
        }
        strbuf_free(&sb);
    }
    if (rc)
        goto cleanup;

    /* A file left at that name by a killed run of the same pid goes (we hold the
     * lock); O_EXCL|O_NOFOLLOW: nothing planted there is ever written through. */
    if (unlink(out_path) != 0 && errno != ENOENT) {
        rc = mdm_error_set(MDM_EIO, "cannot remove %s: %s", out_path, strerror(errno));
        goto cleanup;
    }
    int fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 0600);
    if (fd < 0) {
        rc = mdm_error_set(MDM_EIO, "cannot write %s: %s", out_path, strerror(errno));
        goto cleanup;
    }
    /* fchmod: the mode is the old file's whatever the umask says. */
    FILE *f = fchmod(fd, mode) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        rc = mdm_error_set(MDM_EIO, "cannot write %s: %s", out_path, strerror(errno));
        close(fd);
        goto cleanup;
    }
    for (size_t i = 0; i < d.n; i++)
        fprintf(f, "%s\n", d.lines[i].text);
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok)
        rc = mdm_error_set(MDM_EIO, "cannot write %s: %s", out_path, strerror(errno));
cleanup:
    free(dup);
    doc_free(&d);
    return rc;
}

/* Takes the exclusive lock of `<file>.lock` (created beside the file, kept: removing
 * it would let a third writer lock a new inode while the second holds the old one).
 * *fd is the descriptor to close to release it. */
static int lock_config(int *fd, const char *file)
{
    strbuf path = STRBUF_INIT;
    strbuf_appendf(&path, "%s.lock", file);
    if (!strbuf_cstr(&path))
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    int rc = 0;
    *fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (*fd < 0) {
        rc = mdm_error_set(MDM_EIO, "cannot create the lock file %s: %s", path.data,
                           strerror(errno));
        goto cleanup;
    }
    int how = LOCK_EX | LOCK_NB;
    while (flock(*fd, how) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK && how != LOCK_EX) {
            if (config_write_hook)
                config_write_hook(CONFIG_HOOK_LOCK_BUSY);
            how = LOCK_EX; /* another writer has it: wait for it */
            continue;
        }
        rc = mdm_error_set(MDM_EIO, "cannot lock %s: %s", path.data, strerror(errno));
        close(*fd);
        *fd = -1;
        break;
    }
cleanup:
    strbuf_free(&path);
    return rc;
}

/* The file to rewrite and the permissions the new one gets. mdm.yaml may be a symlink
 * (a dotfiles repository): then its target is rewritten, in the target's directory,
 * and the link stays a link. A dangling link or a link to something that is not a
 * regular file is refused. A new file is 0600: it may come to hold a password. */
static int resolve_target(char **out, mode_t *mode, const char *file)
{
    *out = NULL;
    *mode = 0600;
    struct stat st;
    if (lstat(file, &st) != 0) {
        if (errno != ENOENT)
            return mdm_error_set(MDM_EIO, "cannot read %s: %s", file, strerror(errno));
        *out = strdup(file);
        return *out ? 0 : mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    if (S_ISLNK(st.st_mode)) {
        char *resolved = realpath(file, NULL);
        if (!resolved)
            return mdm_error_set(MDM_EIO,
                                 "%s is a symbolic link whose target cannot be reached (%s); "
                                 "fix or remove the link",
                                 file, strerror(errno));
        if (stat(resolved, &st) != 0) {
            int rc = mdm_error_set(MDM_EIO, "cannot read %s (the target of %s): %s", resolved,
                                   file, strerror(errno));
            free(resolved);
            return rc;
        }
        if (!S_ISREG(st.st_mode)) {
            int rc = mdm_error_set(MDM_EINVALID, "%s is a symbolic link to %s, which is %s",
                                   file, resolved, fs_kind_name(st.st_mode));
            free(resolved);
            return rc;
        }
        *out = resolved;
    } else if (!S_ISREG(st.st_mode)) {
        return mdm_error_set(MDM_EINVALID, "%s is %s, not a regular file", file,
                             fs_kind_name(st.st_mode));
    } else if (!(*out = strdup(file))) {
        return mdm_error_set(MDM_ENOMEM, "out of memory");
    }
    *mode = st.st_mode & 07777;
    return 0;
}

int mdm_config_save_key(const mdm_config *cfg, const char *key, const char *value)
{
    long idx = config_lookup(key);
    if (idx < 0) {
        strbuf sb = STRBUF_INIT;
        config_suggest_key(&sb, key);
        int rc = mdm_error_set(MDM_ENOTFOUND, "unknown configuration key '%s'%s", key,
                               sb.data ? sb.data : "");
        strbuf_free(&sb);
        return rc;
    }
    /* The value must be one the key accepts before anything is written. */
    mdm_config *check = NULL;
    int rc = mdm_config_defaults(&check, cfg->home);
    if (!rc)
        rc = mdm_config_set(check, key, value);
    if (rc) {
        mdm_config_free(check);
        return rc;
    }
    /* The home holds secrets (mdm.yaml, PostgreSQL passwords): only its owner may
     * enter it when mdm makes it. An existing home keeps its permissions. */
    if (mkdir(cfg->home, 0700) != 0 && errno != EEXIST) {
        mdm_config_free(check);
        return mdm_error_set(MDM_EIO, "cannot create %s: %s", cfg->home, strerror(errno));
    }
    /* Two `config set`s at once would each read the old file and the second rename
     * would drop the first one's key: the whole read-modify-write holds the lock. */
    int lock = -1;
    char *target = NULL;
    strbuf tmp = STRBUF_INIT;
    char *canonical = NULL;
    if ((rc = lock_config(&lock, cfg->file)))
        goto cleanup;
    mode_t mode;
    if ((rc = resolve_target(&target, &mode, cfg->file)))
        goto cleanup;
    if (mdm_config_keys[idx].secret)
        mode &= (mode_t)~077; /* a file that holds a password is its owner's alone */
    strbuf_appendf(&tmp, "%s.tmp-%ld", target, (long)getpid());
    rc = strbuf_cstr(&tmp) ? mdm_config_format(&canonical, check, key, false) : MDM_ENOMEM;
    if (!rc)
        rc = write_key(target, tmp.data, mode, key, canonical,
                       mdm_config_keys[idx].kind == CFG_INT_LIST);
    /* Read the new file back as mdm would, and make sure it says what was asked. */
    if (!rc) {
        char *saved_file = check->file;
        check->file = tmp.data;
        rc = config_load_yaml(check);
        check->file = saved_file;
        char *now = NULL;
        if (!rc && mdm_config_format(&now, check, key, false) == 0 && strcmp(now, canonical) != 0)
            rc = mdm_error_set(MDM_ECONFIG,
                               "could not update %s safely (it would read %s = %s); edit it by "
                               "hand",
                               cfg->file, key, now);
        free(now);
    }
    if (!rc && rename(tmp.data, target) != 0)
        rc = mdm_error_set(MDM_EIO, "cannot replace %s: %s", target, strerror(errno));
    if (rc && tmp.data)
        unlink(tmp.data);
cleanup:
    if (lock >= 0)
        close(lock); /* releases the flock */
    free(target);
    free(canonical);
    strbuf_free(&tmp);
    mdm_config_free(check);
    return rc;
}

const char *mdm_config_source(const mdm_config *cfg, const char *key, char *buf, size_t size)
{
    long idx = config_lookup(key);
    if (idx < 0) {
        snprintf(buf, size, "unknown");
        return buf;
    }
    const config_source *src = &cfg->sources[idx];
    switch (src->origin) {
    case CFG_FROM_FILE: snprintf(buf, size, "mdm.yaml line %d", src->line); break;
    case CFG_FROM_ENV: snprintf(buf, size, "environment %s", src->env); break;
    case CFG_FROM_SET: snprintf(buf, size, "set"); break;
    default: snprintf(buf, size, "default"); break;
    }
    return buf;
}

int mdm_config_clone(mdm_config **out, const mdm_config *cfg)
{
    *out = NULL;
    mdm_config *copy = NULL;
    int rc = mdm_config_defaults(&copy, cfg->home);
    for (size_t i = 0; !rc && i < mdm_config_nkeys; i++) {
        char *text = NULL;
        rc = mdm_config_format(&text, cfg, mdm_config_keys[i].key, false);
        if (!rc)
            rc = mdm_config_set(copy, mdm_config_keys[i].key, text);
        if (!rc)
            copy->sources[i] = cfg->sources[i];
        free(text);
    }
    if (rc) {
        mdm_config_free(copy);
        return rc;
    }
    *out = copy;
    return 0;
}
