#include "io/json_depth.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "mdm/mdm.h"

bool json_depth_feed(json_depth_scan *s, const unsigned char *buf, size_t n, long limit)
{
    const unsigned char *p = buf, *end = buf + n;
    while (p < end) {
        if (s->in_string) {
            /* Skip to the next byte that matters inside a string. */
            while (p < end && *p != '"' && *p != '\\' && *p != '\n')
                p++;
            if (p == end)
                break;
            unsigned char c = *p++;
            if (c == '\n')
                s->line++;
            if (s->escape)
                s->escape = false;
            else if (c == '\\')
                s->escape = true;
            else if (c == '"')
                s->in_string = false;
            continue;
        }
        unsigned char c = *p++;
        switch (c) {
        case '\n': s->line++; break;
        case '"': s->in_string = true; break;
        case '[':
        case '{':
            if (++s->depth > limit)
                return false;
            break;
        case ']':
        case '}':
            if (s->depth > 0)
                s->depth--;
            break;
        default: break;
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
