/* "Did you mean ...?" for unknown configuration keys: the closest known key or section
 * by edit distance, on the whole dotted name or on its last segment (so that a key put
 * in the wrong section, like a top-level `batch_size`, still finds its home). */
#include "core/config_internal.h"

#include <stdlib.h>
#include <string.h>

size_t config_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = malloc((lb + 1) * sizeof *row);
    if (!row)
        return la > lb ? la : lb;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t above = row[j];
            size_t best = diagonal + (a[i - 1] != b[j - 1]);
            if (above + 1 < best)
                best = above + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

bool config_is_close(size_t distance, size_t len)
{
    size_t allowed = len / 3;
    return distance <= (allowed < 1 ? 1 : allowed);
}

static const char *last_segment(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : name;
}

bool config_is_section(const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < mdm_config_nkeys; i++) {
        const char *key = mdm_config_keys[i].key;
        if (strncmp(key, name, len) == 0 && key[len] == '.')
            return true;
    }
    return false;
}

typedef struct candidate {
    char name[128];
    size_t score;    /* the smaller of the whole-name and last-segment distances */
    size_t full;     /* whole-name distance, to break ties */
    bool close;
} candidate;

static void consider(candidate *best, const char *name, const char *known, size_t known_len)
{
    char buf[sizeof best->name];
    if (known_len >= sizeof buf)
        return;
    memcpy(buf, known, known_len);
    buf[known_len] = '\0';
    const char *last = last_segment(name);
    size_t full = config_edit_distance(name, buf);
    size_t part = config_edit_distance(last, last_segment(buf));
    bool close = config_is_close(full, strlen(name)) || config_is_close(part, strlen(last));
    if (!close)
        return;
    size_t score = full < part ? full : part;
    if (best->close && (score > best->score || (score == best->score && full >= best->full)))
        return;
    memcpy(best->name, buf, known_len + 1);
    best->score = score;
    best->full = full;
    best->close = true;
}

/* "; known keys under 'database': default_backend, connection_timeout, sqlalchemy, ..." */
static void append_siblings(strbuf *sb, const char *name)
{
    const char *dot = strrchr(name, '.');
    size_t parent_len = dot ? (size_t)(dot - name) : 0;
    char parent[128] = "";
    if (dot && parent_len < sizeof parent) {
        memcpy(parent, name, parent_len);
        parent[parent_len] = '\0';
    }
    if (dot && !config_is_section(parent)) {
        /* An unknown section: list the top level instead. */
        dot = NULL;
        parent_len = 0;
    }
    if (dot)
        strbuf_appendf(sb, "; known keys under '%.*s': ", (int)parent_len, name);
    else
        strbuf_append(sb, "; known sections: ");
    const char *seen[64];
    size_t seen_len[64], nseen = 0;
    for (size_t i = 0; i < mdm_config_nkeys && nseen < 64; i++) {
        const char *key = mdm_config_keys[i].key;
        if (dot && (strncmp(key, name, parent_len) != 0 || key[parent_len] != '.'))
            continue;
        const char *child = dot ? key + parent_len + 1 : key;
        size_t child_len = strcspn(child, ".");
        bool duplicate = false;
        for (size_t s = 0; s < nseen && !duplicate; s++)
            duplicate = seen_len[s] == child_len && memcmp(seen[s], child, child_len) == 0;
        if (duplicate)
            continue;
        strbuf_appendf(sb, "%s%.*s", nseen ? ", " : "", (int)child_len, child);
        seen[nseen] = child;
        seen_len[nseen++] = child_len;
    }
}

void config_suggest_key(strbuf *sb, const char *name)
{
    candidate best = {.close = false};
    for (size_t i = 0; i < mdm_config_nkeys; i++) {
        const char *key = mdm_config_keys[i].key;
        /* Sections too: every proper prefix ending before a dot. */
        for (const char *dot = strchr(key, '.'); dot; dot = strchr(dot + 1, '.'))
            consider(&best, name, key, (size_t)(dot - key));
        consider(&best, name, key, strlen(key));
    }
    if (best.close)
        strbuf_appendf(sb, "; did you mean '%s'?", best.name);
    else
        append_siblings(sb, name);
}
