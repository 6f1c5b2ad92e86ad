/* Unit tests for lib/session_policy: the verdict on a web session, when
 * activity is written, the idle slide, and which sessions go at the limit
 * -- pure functions over plain structs, no store. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "session_policy.h"
#include "util.h"

#include "tap.h"

#define NOW INT64_C(1700000000)

static struct ag_web_session *
session(struct ag_web_session *s, uint8_t id, int64_t created, int64_t last_seen,
        int64_t used_seq)
{
	memset(s, 0, sizeof(*s));
	memset(s->id_hash, id, sizeof(s->id_hash));
	memset(s->fingerprint, 0xaa, sizeof(s->fingerprint));
	ag_strlcpy(s->user, "Eve", sizeof(s->user));
	ag_strlcpy(s->user_key, "eve", sizeof(s->user_key));
	s->created = created;
	s->last_seen = last_seen;
	s->idle_expires = last_seen + 600;
	s->abs_expires = created + 3600;
	s->used_seq = used_seq;
	return s;
}

static void
test_judge(void)
{
	struct ag_web_session *s = malloc(sizeof(*s));
	uint8_t fp[32];

	if (s == NULL) {
		ok(0, "malloc");
		return;
	}
	session(s, 1, NOW, NOW, 1);
	memset(fp, 0xaa, sizeof(fp));
	is_int(ag_session_judge(s, 1, fp, NOW), AG_SESSION_OK, "judge: live, same fingerprint");
	is_int(ag_session_judge(s, 0, fp, NOW), AG_SESSION_UNKNOWN, "judge: not found");
	memset(s, 0x5a, sizeof(*s)); /* whatever the struct holds */
	is_int(ag_session_judge(s, 0, NULL, NOW), AG_SESSION_UNKNOWN,
	       "judge: not found, whatever the struct holds");

	session(s, 1, NOW, NOW, 1);
	is_int(ag_session_judge(s, 1, fp, NOW + 599), AG_SESSION_OK, "judge: a second before idle");
	is_int(ag_session_judge(s, 1, fp, NOW + 600), AG_SESSION_EXPIRED, "judge: at idle expiry");
	s->idle_expires = s->abs_expires + 100; /* abs caps even a longer idle */
	is_int(ag_session_judge(s, 1, fp, NOW + 3599), AG_SESSION_OK,
	       "judge: a second before the absolute expiry");
	is_int(ag_session_judge(s, 1, fp, NOW + 3600), AG_SESSION_EXPIRED,
	       "judge: at the absolute expiry");

	session(s, 1, NOW, NOW, 1);
	fp[31] ^= 1;
	is_int(ag_session_judge(s, 1, fp, NOW), AG_SESSION_MISMATCH,
	       "judge: fingerprint differs in its last bit");
	fp[31] ^= 1;
	fp[0] ^= 0x80;
	is_int(ag_session_judge(s, 1, fp, NOW), AG_SESSION_MISMATCH,
	       "judge: fingerprint differs in its first bit");
	is_int(ag_session_judge(s, 1, NULL, NOW), AG_SESSION_OK,
	       "judge: no fingerprint given (logout, rotation): not compared");
	is_int(ag_session_judge(s, 1, fp, NOW + 600), AG_SESSION_EXPIRED,
	       "judge: expired and another fingerprint: expired (it is deleted either way)");

	is_int(ag_session_drop_after(AG_SESSION_EXPIRED, 0), 1, "drop: expired, revoke off");
	is_int(ag_session_drop_after(AG_SESSION_EXPIRED, 1), 1, "drop: expired, revoke on");
	is_int(ag_session_drop_after(AG_SESSION_MISMATCH, 1), 1, "drop: mismatch, revoke on");
	is_int(ag_session_drop_after(AG_SESSION_MISMATCH, 0), 0, "drop: mismatch, revoke off");
	is_int(ag_session_drop_after(AG_SESSION_OK, 1), 0, "drop: ok");
	is_int(ag_session_drop_after(AG_SESSION_UNKNOWN, 1), 0, "drop: unknown (nothing to drop)");
	free(s);
}

static void
test_touch_and_slide(void)
{
	struct ag_web_session *s = malloc(sizeof(*s));

	if (s == NULL) {
		ok(0, "malloc");
		return;
	}
	session(s, 1, NOW, NOW + 100, 7);
	is_int(ag_session_needs_touch(s, NOW + 159, 60), 0, "touch: 59 s after the last write: no");
	is_int(ag_session_needs_touch(s, NOW + 160, 60), 1, "touch: 60 s after: yes");
	is_int(ag_session_needs_touch(s, NOW + 100, 0), 1, "touch: interval 0: every use");
	is_int(ag_session_needs_touch(s, NOW + 50, 60), 0,
	       "touch: the clock stepped back: not written");

	ag_session_slide(s, NOW + 200, 600);
	is_int(s->last_seen, NOW + 200, "slide: last_seen is now");
	is_int(s->idle_expires, NOW + 800, "slide: idle expiry now + idle");
	ok(s->created == NOW && s->abs_expires == NOW + 3600 && s->used_seq == 7 &&
	           strcmp(s->user, "Eve") == 0 && s->id_hash[0] == 1,
	   "slide: nothing else changes");
	ag_session_slide(s, NOW + 3000, 600);
	is_int(s->idle_expires, NOW + 3600, "slide: exactly up to the absolute expiry");
	ag_session_slide(s, NOW + 3001, 600);
	is_int(s->idle_expires, NOW + 3600, "slide: never past it");
	ag_session_slide(s, NOW + 4000, 600);
	is_int(s->idle_expires, NOW + 3600, "slide: after the absolute expiry, capped there");
	is_int(ag_session_judge(s, 1, NULL, NOW + 4000), AG_SESSION_EXPIRED,
	       "slide: does not revive an expired session");
	ag_session_slide(s, NOW + 100, 0);
	is_int(s->idle_expires, NOW + 100, "slide: idle 0: expires now");
	free(s);
}

/* Runs ag_session_evictions on n sessions and returns the ids, in order,
 * of the ones it puts first (go of them) in ids. */
static long
evictions(struct ag_web_session *s, size_t n, int64_t max, int evict, uint8_t ids[],
          size_t nids)
{
	long go = ag_session_evictions(s, n, max, evict);
	size_t i;

	for (i = 0; i < nids && i < n; i++)
		ids[i] = s[i].id_hash[0];
	return go;
}

static void
test_evictions(void)
{
	struct ag_web_session *s = calloc(8, sizeof(*s));
	uint8_t ids[8], seen[256];
	size_t i;
	int perm;

	if (s == NULL) {
		ok(0, "calloc");
		return;
	}
	/* below the limit, no limit, refusal */
	for (i = 0; i < 5; i++)
		session(&s[i], (uint8_t)(i + 1), NOW, NOW + (int64_t)i, (int64_t)i + 1);
	is_int(ag_session_evictions(s, 4, 5, 1), 0, "evict: 4 of 5: none");
	is_int(ag_session_evictions(s, 0, 5, 1), 0, "evict: none yet: none");
	is_int(ag_session_evictions(s, 5, 0, 1), 0, "evict: max 0 (no limit): none");
	is_int(ag_session_evictions(s, 5, -1, 0), 0, "evict: max below 0: no limit");
	is_int(ag_session_evictions(s, 5, 5, 0), -1, "evict: 5 of 5, refuse: -1");
	ok(s[0].id_hash[0] == 1 && s[4].id_hash[0] == 5, "evict: refusing leaves the order alone");

	/* least recently used first: last_seen */
	session(&s[0], 1, NOW, NOW + 30, 1);
	session(&s[1], 2, NOW, NOW + 10, 2);
	session(&s[2], 3, NOW, NOW + 40, 3);
	session(&s[3], 4, NOW, NOW + 20, 4);
	session(&s[4], 5, NOW, NOW + 50, 5);
	is_int(evictions(s, 5, 5, 1, ids, 5), 1, "evict: 5 of 5: one goes (room for the new one)");
	is_int(ids[0], 2, "evict: the one last seen longest ago");

	/* the limit was lowered: as many go as leave room for one more */
	session(&s[0], 1, NOW, NOW + 30, 1);
	session(&s[1], 2, NOW, NOW + 10, 2);
	session(&s[2], 3, NOW, NOW + 40, 3);
	session(&s[3], 4, NOW, NOW + 20, 4);
	session(&s[4], 5, NOW, NOW + 50, 5);
	is_int(evictions(s, 5, 2, 1, ids, 5), 4, "evict: 5 sessions, limit lowered to 2: 4 go");
	ok(ids[0] == 2 && ids[1] == 4 && ids[2] == 1 && ids[3] == 3 && ids[4] == 5,
	   "evict: oldest use first, the newest stays");

	/* ties: the order of use within the second, then creation */
	session(&s[0], 1, NOW + 5, NOW + 100, 9);
	session(&s[1], 2, NOW + 1, NOW + 100, 12);
	session(&s[2], 3, NOW + 2, NOW + 100, 10);
	session(&s[3], 4, NOW + 3, NOW + 100, 11);
	is_int(evictions(s, 4, 4, 1, ids, 4), 1, "evict: four used in one second");
	is_int(ids[0], 1, "evict: the lowest use number goes, not the oldest created");
	ok(ids[1] == 3 && ids[2] == 4 && ids[3] == 2, "evict: then by use number");
	session(&s[0], 1, NOW + 5, NOW + 100, 0);
	session(&s[1], 2, NOW + 1, NOW + 100, 0);
	session(&s[2], 3, NOW + 3, NOW + 100, 0);
	is_int(evictions(s, 3, 3, 1, ids, 3), 1, "evict: no use numbers (rows from before them)");
	ok(ids[0] == 2 && ids[1] == 3 && ids[2] == 1, "evict: then the oldest created");

	/* hash order never decides: the lowest and highest hashes are not
	 * the ones chosen for it */
	session(&s[0], 0x00, NOW, NOW + 100, 3);
	session(&s[1], 0xff, NOW, NOW + 100, 1);
	session(&s[2], 0x80, NOW, NOW + 100, 2);
	is_int(evictions(s, 3, 3, 1, ids, 3), 1, "evict: hashes against use numbers");
	is_int(ids[0], 0xff, "evict: the first used goes, whatever its hash");

	/* identical keys: some session goes, none is lost or doubled */
	for (i = 0; i < 6; i++)
		session(&s[i], (uint8_t)(0x40 + i), NOW, NOW, 1);
	is_int(evictions(s, 6, 4, 1, ids, 6), 3, "evict: six identical, limit 4: three go");
	memset(seen, 0, sizeof(seen));
	perm = 1;
	for (i = 0; i < 6; i++)
		if (ids[i] < 0x40 || ids[i] > 0x45 || seen[ids[i]]++)
			perm = 0;
	ok(perm, "evict: the sessions are reordered, none lost or doubled");
	free(s);
}

int
main(void)
{
	test_judge();
	test_touch_and_slide();
	test_evictions();
	return done_testing();
}
