/* JSON input through jansson, with running out of memory told apart from
 * bad input.
 *
 * jansson 2.14's lexer ignores a failed allocation while it buffers a
 * token (lex_save drops the byte and goes on), so json_loadb() can succeed
 * with a document that is not its input: a webhook's "session.revoked"
 * read as "session.revoke", a token's kid or iss one byte short, a batch
 * request's subject changed.  Other failures come back as a syntax error,
 * or as NULL with no error at all.  Every parse of outside input therefore
 * goes through ag_json_loadb / ag_json_loadf, which count the failures of
 * jansson's allocator during the parse: any failure is AG_ERR_NOMEM,
 * whatever jansson returned, and no document.
 *
 * jansson's allocator is process-wide: the counting allocator is put in
 * front of the one installed (keeping its free) on the first parse, or by
 * ag_json_wipe_on_free().  The count is per thread. */
#ifndef AG_JSON_H
#define AG_JSON_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* Parses the len bytes at buf (ag_json_loadb) or the stream f, read up to
 * the end of the value (ag_json_loadf, as json_loadf), with jansson's
 * flags (JSON_REJECT_DUPLICATES, ...).  Returns 0 and a new reference in
 * *out; AG_ERR_NOMEM when an allocation failed during the parse; or
 * AG_ERR_INVAL when the text is not JSON (jerr, if not NULL, says why).
 * *out is NULL unless 0 is returned. */
int ag_json_loadb(const void *buf, size_t len, size_t flags, json_t **out, json_error_t *jerr);
int ag_json_loadf(FILE *f, size_t flags, json_t **out, json_error_t *jerr);

/* Makes jansson allocate with malloc through the counting allocator and
 * wipe every block it releases (tokens, claims and session ids pass
 * through JSON values).  For a program's main(), before any other jansson
 * call; not thread-safe (jansson's allocator is process-wide). */
void ag_json_wipe_on_free(void);

#endif
