/* pam_session_holder: opens a PAM session and keeps it open, for the tests
 * of the session phase (tests/pam/sessions.sh).
 *
 *     pam_session_holder SERVICE USER [TTY [RHOST]]
 *
 * pam_start(SERVICE, USER), PAM_TTY (default "pts/0") and PAM_RHOST (when
 * given and not empty), pam_open_session; prints "open", or the
 * pam_strerror() of the failure, on one line of stdout and flushes.  A
 * session that opened is then held -- the process stays alive, which is
 * what the module's limit counts -- until stdin reaches end of file or
 * SIGTERM/SIGINT/SIGHUP arrives (or, as a safety net, 300 seconds pass);
 * then pam_close_session, "closed" or its pam_strerror(), and pam_end.
 *
 * What the modules say through the conversation (PAM_ERROR_MSG and
 * PAM_TEXT_INFO, e.g. "Too many logins ...") goes to stderr as
 * "error: TEXT" or "info: TEXT".
 *
 * Run it like pamtester, under pam_wrapper (LD_PRELOAD=libpam_wrapper.so
 * PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=...): without PAM_WRAPPER=1 libpam
 * would read the system's /etc/pam.d.
 *
 * Exit status: 0 opened and closed, 1 open refused, 2 close failed,
 * 64 usage, 70 PAM could not start. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_appl.h>

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The session phase asks nothing: messages (PAM_ERROR_MSG, PAM_TEXT_INFO)
 * go to stderr, one line each, as a terminal program would show them; a
 * prompt is answered with an error. */
static int
conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r;
	int i;

	(void)data;
	*resp = NULL;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	for (i = 0; i < n; i++)
		if (msg[i]->msg_style != PAM_ERROR_MSG && msg[i]->msg_style != PAM_TEXT_INFO)
			return PAM_CONV_ERR;
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s: %s\n", msg[i]->msg_style == PAM_ERROR_MSG ? "error" : "info",
		        msg[i]->msg != NULL ? msg[i]->msg : "");
	*resp = r;
	return PAM_SUCCESS;
}

/* Waits for end of file on stdin or a signal; input is discarded. */
static void
hold(void)
{
	char buf[256];
	ssize_t got;

	while (!stop) {
		got = read(STDIN_FILENO, buf, sizeof(buf));
		if (got == 0)
			return;
		if (got < 0 && errno != EINTR)
			return;
	}
}

int
main(int argc, char **argv)
{
	struct pam_conv pc = { conv, NULL };
	struct sigaction sa;
	pam_handle_t *pamh = NULL;
	const char *tty = argc > 3 ? argv[3] : "pts/0";
	int r, ret = 0;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: pam_session_holder SERVICE USER [TTY [RHOST]]\n");
		return 64;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: read() returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	alarm(300);

	r = pam_start(argv[1], argv[2], &pc, &pamh);
	if (r != PAM_SUCCESS) {
		printf("pam_start: %s\n", pam_strerror(pamh, r));
		fflush(stdout);
		return 70;
	}
	if ((r = pam_set_item(pamh, PAM_TTY, tty)) != PAM_SUCCESS ||
	    (argc > 4 && argv[4][0] != '\0' &&
	     (r = pam_set_item(pamh, PAM_RHOST, argv[4])) != PAM_SUCCESS)) {
		printf("pam_set_item: %s\n", pam_strerror(pamh, r));
		fflush(stdout);
		pam_end(pamh, r);
		return 70;
	}
	r = pam_open_session(pamh, 0);
	if (r != PAM_SUCCESS) {
		printf("%s\n", pam_strerror(pamh, r));
		fflush(stdout);
		pam_end(pamh, r);
		return 1;
	}
	printf("open\n");
	fflush(stdout);
	hold();
	r = pam_close_session(pamh, 0);
	if (r != PAM_SUCCESS) {
		printf("%s\n", pam_strerror(pamh, r));
		ret = 2;
	} else {
		printf("closed\n");
	}
	fflush(stdout);
	pam_end(pamh, r);
	return ret;
}
