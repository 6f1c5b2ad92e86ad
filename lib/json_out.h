/* JSON that leaves a program: names anyone may have chosen, and memory
 * that held secrets.  Shared by the helpers (helpers/cli.c) and the web
 * protocol (lib/web/proto.h), which put tokens, session ids and user names
 * into answers. */
#ifndef AG_JSON_OUT_H
#define AG_JSON_OUT_H

#include <stdio.h>

#include <jansson.h>

/* Sets obj[key] to name, a string anyone may have chosen (a PAM user or
 * service name, a remote host, a web subject), as one representation
 * everywhere, so that no name can hide from a JSON reader:
 *   - valid UTF-8 (see ag_utf8_valid) is the JSON string as it is;
 *   - anything else becomes a printable form -- the well-formed UTF-8
 *     sequences kept, each other byte and each backslash written \xHH --
 *     and obj[key "_hex"] holds the exact bytes as lower-case hex.
 * key_hex is present exactly when the name is not UTF-8: then key is for
 * people and key_hex is the name.  name NULL sets null.  Returns 0, or -1
 * when out of memory (obj is then incomplete: drop it). */
int ag_json_set_name(json_t *obj, const char *key, const char *name);

/* Makes jansson wipe every block it frees (its allocations hold the
 * tokens, session ids and codes of requests and answers) and count the
 * allocations that fail.  Call once, before any JSON is made;
 * process-wide. */
void ag_json_wipe_on_free(void);

/* ag_json_wipe_on_free(), unless the program has set an allocator of its
 * own: for library code that needs the property whoever calls it. */
void ag_json_wipe_by_default(void);

/* json_loadb() for input from outside, which fails instead of returning a
 * document when an allocation failed while parsing: jansson's lexer drops
 * the bytes it cannot store and may still return one -- a string cut
 * short ("session.revoked" as "session.revoke", an issuer that no longer
 * matches), its meaning changed.  Then NULL with *nomem set (an internal
 * error, not bad input); otherwise as json_loadb(), *nomem 0.  Calls
 * ag_json_wipe_by_default(), whose allocator counts the failures. */
json_t *ag_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *error,
                      int *nomem);

/* The same for json_loadf(). */
json_t *ag_json_loadf(FILE *f, size_t flags, json_error_t *error, int *nomem);

#endif
