/* authguard-webhook: Clerk (Svix / Standard Webhooks) webhooks for a web
 * backend.
 *
 *   authguard-webhook [--conf FILE] receive [--header 'Name: value']...
 *                     [--headers FILE]                     < raw body
 *
 * verifies the signature, the timestamp and that the message id is new,
 * then syncs the event into the local sessions: session.ended,
 * session.removed and session.revoked end the sessions linked to that
 * Clerk session (and their refresh families), user.deleted ends all
 * sessions and refresh families of that user; other events are
 * acknowledged and ignored.
 *
 *   authguard-webhook [--conf FILE] verify  (same arguments)  < raw body
 *
 * checks the signature and the timestamp only: no state is read or
 * written, the message id is not consumed, the body is not interpreted.
 *
 * The signing secret comes from webhook_secret_file, never from argv.
 * One JSON object on stdout; exit 0 accepted (also when ignored), 1
 * rejected (signature, timestamp, replay, headers, body), 2 usage or
 * configuration (the secret file included), 3 internal or store error.
 *
 * The command line becomes the request of the op webhook_receive (or
 * webhook_verify) -- the header lines as given, the body -- answered by
 * lib/web as in authguard-token's batch mode. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "config.h"
#include "web_cli.h"
#include "webhook.h"

static const char *conf_path;
static struct ag_config cfg;

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr,
	        "usage: authguard-webhook [--conf FILE] receive [--header 'Name: value']...\n"
	        "                         [--headers FILE]             (the raw body on stdin)\n"
	        "       authguard-webhook [--conf FILE] verify  [--header 'Name: value']...\n"
	        "                         [--headers FILE]             (the raw body on stdin)\n"
	        "       authguard-webhook version\n"
	        "Headers: svix-id, svix-timestamp, svix-signature (or webhook-id,\n"
	        "webhook-timestamp, webhook-signature); other headers are ignored.\n"
	        "--daemon (or daemon = yes in the file): ask authguardd, which holds the\n"
	        "state and the secret; given before the command like --conf.\n");
	exit(CLI_USAGE);
}

/* Reads a whole file of at most max bytes (a FIFO or /dev/fd/N too: the
 * header block is request data, not a trusted file).  Returns 0, 1 when it
 * is longer than max (max + 1 bytes read), or -1 (errno set). */
static int
read_bounded(int fd, char *buf, size_t max, size_t *lenp)
{
	size_t n = 0;
	ssize_t got;

	for (;;) {
		got = read(fd, buf + n, max + 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > max)
			break;
	}
	*lenp = n;
	return n > max ? 1 : 0;
}

static int
add_line(void *req, const char *line, size_t n)
{
	json_t *arr = json_object_get(req, "headers");

	if (json_array_append_new(arr, json_stringn_nocheck(line, n)) != 0)
		cli_die(CLI_INTERNAL, "out of memory");
	return 0;
}

/* --headers FILE: its lines up to the first empty one, as --header
 * lines.  A block over the limit gets an empty line, which is no header:
 * it is refused as bad_header, as the whole block is. */
static void
read_header_file(const char *path, json_t *req)
{
	char *buf = malloc(AG_WEBHOOK_BLOCK_MAX + 1);
	size_t len = 0;
	int fd, r;

	if (buf == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	r = fd < 0 ? -1 : read_bounded(fd, buf, AG_WEBHOOK_BLOCK_MAX, &len);
	if (r < 0) {
		int e = errno;

		free(buf);
		cli_die(CLI_USAGE, "--headers %s: %s", path, strerror(e));
	}
	close(fd);
	if (r > 0)
		add_line(req, "", 0);
	else
		ag_webhook_block_lines(buf, len, add_line, req);
	free(buf);
}

static int
cmd_webhook(struct ag_web *w, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "header", required_argument, NULL, 'H' },
		{ "headers", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *req = web_req(strcmp(argv[0], "receive") == 0 ? "webhook_receive"
	                                                      : "webhook_verify");
	uint8_t *body;
	size_t len = 0;
	int c;

	web_req_set(req, "headers", json_array());
	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			add_line(req, optarg, strlen(optarg));
			break;
		case 'F':
			read_header_file(optarg, req);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* The body, byte for byte, as the sender signed it; one byte over
	 * the limit is enough for lib/web to refuse it. */
	if ((body = malloc(AG_WEBHOOK_BODY_MAX + 1)) == NULL)
		cli_die(CLI_INTERNAL, "out of memory");
	if (read_bounded(STDIN_FILENO, (char *)body, AG_WEBHOOK_BODY_MAX, &len) < 0) {
		int e = errno;

		free(body);
		cli_die(CLI_USAGE, "cannot read the body on stdin: %s", strerror(e));
	}
	web_req_bytes(req, "body", (const char *)body, len);
	free(body);
	return web_run(w, req);
}

int
main(int argc, char **argv)
{
	static const struct ag_log log = { .sink = ag_log_sink_syslog };
	struct ag_web w;
	int i, code;

	cli_progname = "authguard-webhook";
	cli_json_wipe_memory();
	i = cli_global_options(argc, argv, &conf_path, usage);
	if (strcmp(argv[i], "version") == 0) {
		printf("authguard-webhook %s\n", PACKAGE_VERSION);
		return CLI_OK;
	}
	if (strcmp(argv[i], "receive") != 0 && strcmp(argv[i], "verify") != 0) {
		cli_warn("unknown command %s", argv[i]);
		usage();
	}
	if (sodium_init() < 0)
		cli_die(CLI_INTERNAL, "libsodium failed to initialise");
	cli_log_open();
	cli_load_config(&cfg, conf_path);
	ag_web_init(&w, &cfg, &log);
	code = cmd_webhook(&w, argc - i, argv + i);
	ag_web_close(&w);
	return code;
}
