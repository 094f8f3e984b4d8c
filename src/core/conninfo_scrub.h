/* Hiding PostgreSQL passwords in text that may quote a connection string (libpq's
 * messages, a target's description). Masking by position, not by substring: only the
 * value of a password field is replaced, wherever it sits, so a short password (or one
 * equal to the user name, or to a word of the message) cannot be read off the masks. */
#ifndef MDM_CORE_CONNINFO_SCRUB_H
#define MDM_CORE_CONNINFO_SCRUB_H

/* *out gets a copy of `text` with "********" in place of the value of every password
 * field: `password=value` and `password = 'quoted \' value'` (keyword/value strings;
 * keyword matched case-insensitively), `?password=` / `&password=` (URI parameters) and
 * the password of `postgres[ql]://user:password@host` URIs. Nothing else is changed.
 * Returns 0, or MDM_ENOMEM (*out NULL). */
int mdm_conninfo_scrub(char **out, const char *text);

#endif
