#include "io/json_depth.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "mdm/mdm.h"

/* Bytes that matter outside strings, and inside them. */
enum { OUTSIDE = 1, INSIDE = 2 };
static const unsigned char matters[256] = {
    ['\n'] = OUTSIDE | INSIDE, ['"'] = OUTSIDE | INSIDE, ['\\'] = INSIDE,
    ['['] = OUTSIDE, [']'] = OUTSIDE, ['{'] = OUTSIDE, ['}'] = OUTSIDE,
};

bool json_depth_feed(json_depth_scan *s, const unsigned char *buf, size_t n, long limit)
{
    const unsigned char *p = buf, *end = buf + n;
    while (p < end) {
        if (s->escape) {
            /* The byte after a backslash is never special (a '\n' is still a line). */
            s->escape = false;
            if (*p++ == '\n')
                s->line++;
            continue;
        }
        unsigned char want = s->in_string ? INSIDE : OUTSIDE;
        while (p < end && !(matters[*p] & want))
            p++;
        if (p == end)
            break;
        unsigned char c = *p++;
        switch (c) {
        case '\n': s->line++; break;
        case '"': s->in_string = !s->in_string; break;
        case '\\': s->escape = true; break; /* only reached inside a string */
        case '[':
        case '{':
            if (++s->depth > limit)
                return false;
            break;
        default: /* ']' or '}' */
            if (s->depth > 0)
                s->depth--;
            break;
        }
    }
    return true;
}

int io_json_check_depth(const char *path, long limit)
{
    gzFile in = gzopen(path, "rb");
    if (!in)
        return mdm_error_set(MDM_EIO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOMEM));
    gzbuffer(in, 1 << 17);
    json_depth_scan s = JSON_DEPTH_SCAN_INIT;
    unsigned char buf[1 << 16];
    int n, rc = 0;
    while ((n = gzread(in, buf, sizeof buf)) > 0) {
        if (!json_depth_feed(&s, buf, (size_t)n, limit)) {
            rc = mdm_error_set(MDM_EINVALID,
                               "%s line %llu: JSON nested deeper than %ld levels (mdm reads at "
                               "most %ld)",
                               path, (unsigned long long)s.line, limit, limit);
            break;
        }
    }
    if (rc == 0 && n < 0) {
        int err = 0;
        rc = mdm_error_set(MDM_EINVALID, "%s: cannot read: %s", path, gzerror(in, &err));
    }
    gzclose(in);
    return rc;
}
