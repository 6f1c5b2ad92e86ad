/* Subject keys: the one spelling under which a person is counted.
 *
 * A web backend hands over what a user typed ("Carol@Example.com ",
 * fullwidth letters, a trailing dot after the domain); counted byte for
 * byte, every spelling would be a fresh counter with its own ten guesses.
 * Folding maps the spellings of one name to one key:
 *
 *   1. Unicode compatibility caseless form, from GNU libunistring (never
 *      our own tables): NFKC of the full case folding of the NFKD of the
 *      full case folding -- the "compatibility caseless match" of Unicode
 *      section 3.13 (D146), so folding a key again gives the same key;
 *      language-independent (no Turkish rules, the process locale plays
 *      no part): "ß" -> "ss", "Ｃ" -> "c", "İ" -> "i̇" (i and a combining
 *      dot, not "i"), dotless "ı" stays itself;
 *   2. white space (Unicode White_Space) and default-ignorable characters
 *      (U+200B, U+FEFF, ...) removed at both ends;
 *   3. for an e-mail address (the part after the last '@'): U+3002, the
 *      ideographic full stop, read as '.' (RFC 3490 label separator; the
 *      other two become '.' under NFKC) and trailing dots of the domain
 *      removed ("example.com." is the same domain as "example.com").
 *
 * Not folded: IDNA (an A-label "xn--..." and its U-label are two keys),
 * dots or "+tags" in local parts (their meaning is the mail provider's),
 * and characters inside the name (a space between two words stays).
 * Keys depend on the Unicode version of the installed libunistring: an
 * upgrade can only change keys that contain newly assigned characters.
 *
 * Which subjects fold is configuration (web_subject_fold, pam_user_fold in
 * authguard.conf.5); ag_guard_subject_key() applies it for the guard. */
#ifndef AG_SUBJECT_H
#define AG_SUBJECT_H

#include <stddef.h>

#include "config.h"
#include "store.h"

/* Folds name (len bytes, at most AG_NAME_MAX) into out (outsize bytes,
 * NUL-terminated).  Returns 0; AG_ERR_INVAL with a reason for input that
 * is not UTF-8 or that folds to nothing; AG_ERR_TOOLONG for input, or a
 * result (folding can lengthen: "ﬃ" -> "ffi"), longer than AG_NAME_MAX
 * bytes or than outsize - 1.  On error out is "". */
int ag_subject_fold(const char *name, size_t len, char *out, size_t outsize,
                    const char **reasonp);

/* Where a subject comes from: a login name (the PAM module, the enroll
 * helper) or a web subject (authguard-token, authguard-webhook). */
enum ag_subject_realm { AG_REALM_LOGIN = 0, AG_REALM_WEB = 1 };

/* The key for name under cfg: the name itself (1 to AG_NAME_MAX bytes) or,
 * when the realm's folding option is on, its fold.  out holds
 * AG_NAME_MAX + 1 bytes.  Returns 0 or AG_ERR_INVAL / AG_ERR_TOOLONG with
 * a reason (an empty or over-long name; with folding, also invalid UTF-8
 * or a name that folds to nothing). */
int ag_subject_key(const struct ag_config *cfg, enum ag_subject_realm realm, const char *name,
                   char out[AG_NAME_MAX + 1], const char **reasonp);

#endif
