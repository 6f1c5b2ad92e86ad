/* libFuzzer target: batch request lines (lib/web/proto.c) -- the JSON
 * envelope, the id rules, the op table's member checks and every
 * handler's own checks before it reaches the state.
 *
 * The input is one request line.  The configuration names a state file,
 * a key directory and a webhook secret that do not exist, so nothing is
 * written and nothing can be accepted: every answer must be a JSON object
 * with a status from 1 to 3 (a 0 would be a verdict reached without the
 * state), and must dump as JSON. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json_out.h"
#include "proto.h"
#include "util.h"

#define NOWHERE "/nonexistent-authguard-fuzz"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ag_config cfg;
	static struct ag_web w;
	static int ready;
	json_t *a, *st;
	char *text;

	if (!ready) {
		ag_json_wipe_on_free();
		ag_config_defaults(&cfg);
		ag_strlcpy(cfg.state_file, NOWHERE "/state.db", sizeof(cfg.state_file));
		ag_strlcpy(cfg.token_keys_dir, NOWHERE "/keys", sizeof(cfg.token_keys_dir));
		ag_strlcpy(cfg.webhook_secret_file, NOWHERE "/webhook.secret",
		           sizeof(cfg.webhook_secret_file));
		ag_strlcpy(cfg.secrets_key, NOWHERE "/secrets.key", sizeof(cfg.secrets_key));
		ag_strlcpy(cfg.token_issuer, "https://auth.example.test", sizeof(cfg.token_issuer));
		ag_strlcpy(cfg.token_audience, "api.example.test", sizeof(cfg.token_audience));
		ag_web_init(&w, &cfg, NULL);
		ready = 1;
	}
	if (size > ag_web_line_max(&cfg))
		return 0;
	a = ag_web_answer_line(&w, (const char *)data, size, 0);
	if (a == NULL)
		return 0; /* out of memory */
	st = json_object_get(a, "status");
	if (!json_is_integer(st) || json_integer_value(st) < 1 || json_integer_value(st) > 3)
		abort();
	if ((text = json_dumps(a, JSON_COMPACT)) == NULL)
		abort();
	free(text);
	json_decref(a);
	return 0;
}
