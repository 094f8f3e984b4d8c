/* Validation of identifiers and dataset names: what may reach SQL and the file system. */
#include "mdm/mdm.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Length of the UTF-8 sequence at s, or 0 when it is malformed. */
static size_t utf8_seq(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || (n == 2 && s[0] < 0xC2))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* Longest identifier any backend accepts (PostgreSQL: 63 bytes). */
#define IDENT_MAX 63

int mdm_ident_check(const char *name)
{
    if (!name || !*name)
        return mdm_error_set(MDM_EINVALID, "identifier is empty");
    size_t len = strlen(name);
    if (len > IDENT_MAX)
        return mdm_error_set(MDM_EINVALID, "identifier '%.80s' is longer than %d bytes", name,
                             IDENT_MAX);
    for (const unsigned char *p = (const unsigned char *)name; *p;) {
        if (*p < 0x20 || *p == 0x7F)
            return mdm_error_set(MDM_EINVALID, "identifier '%.80s' contains a control character",
                                 name);
        size_t n = utf8_seq(p);
        if (!n)
            return mdm_error_set(MDM_EINVALID, "identifier '%.80s' is not valid UTF-8", name);
        p += n;
    }
    return 0;
}

int mdm_dataset_name_normalize(char *out, size_t size, const char *name)
{
    if (!name || !*name)
        return mdm_error_set(MDM_EINVALID, "Dataset name cannot be empty");
    size_t len = strlen(name), chars = 0;
    if (len + 1 > size)
        return mdm_error_set(MDM_EINVALID, "Dataset name cannot exceed 100 characters");
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p;) {
        size_t n = utf8_seq(p);
        if (!n)
            return mdm_error_set(MDM_EINVALID, "Dataset name is not valid UTF-8");
        if (n == 1) {
            unsigned char c = *p;
            if (c == '-')
                c = '_';
            if (!isalnum(c) && c != '_')
                return mdm_error_set(MDM_EINVALID,
                                     "Dataset name can only contain alphanumeric characters, "
                                     "underscores, and dashes");
            out[o++] = (char)tolower(c);
        } else {
            /* Letters beyond ASCII are allowed (SPEC §4.1); kept as written. */
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
        chars++;
    }
    out[o] = '\0';
    if (chars > 100)
        return mdm_error_set(MDM_EINVALID, "Dataset name cannot exceed 100 characters");
    return 0;
}
