/* pam_delay_probe: one pam_authenticate() whose fail delay is recorded
 * instead of slept, for the tests of the delay the module requests
 * (tests/pam/delays.sh).  Timing is never measured: libpam hands the
 * delay it would sleep to the application's PAM_FAIL_DELAY function, and
 * this program prints it.
 *
 *     pam_delay_probe SERVICE USER [RHOST] < answers
 *
 * pam_start(SERVICE, USER), PAM_RHOST (when given and not empty), the
 * PAM_FAIL_DELAY item, pam_authenticate.  Each prompt is answered with the
 * next line of stdin (no line: the conversation fails).  What the modules
 * say (PAM_ERROR_MSG, PAM_TEXT_INFO) goes to stdout as "error: TEXT" or
 * "info: TEXT", then two lines:
 *
 *     result=PAM_STRERROR_TEXT
 *     fail_delay_calls=N fail_delay_usec=U
 *
 * libpam calls the function once per pam_authenticate(), also when no
 * module asked for a delay: U is then 0.  Otherwise U is the largest delay
 * any module passed to pam_fail_delay(3), varied by libpam by up to 50%
 * either way (so a request of 1 s gives 500000..1500000).
 *
 * Run it like pamtester, under pam_wrapper (LD_PRELOAD=libpam_wrapper.so
 * PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=...).
 *
 * Exit status: 0 authenticated, 1 refused, 64 usage, 70 PAM could not
 * start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

static unsigned delay_calls;
static unsigned delay_usec;

static void
record_delay(int status, unsigned usec, void *data)
{
	(void)status;
	(void)data;
	delay_calls++;
	delay_usec = usec;
}

/* One line of stdin without its newline, or NULL at end of file. */
static char *
next_line(void)
{
	char buf[1024];
	size_t len;

	if (fgets(buf, sizeof(buf), stdin) == NULL)
		return NULL;
	len = strcspn(buf, "\n");
	buf[len] = '\0';
	return strdup(buf);
}

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r;
	int i;

	(void)data;
	*resp = NULL;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			if ((r[i].resp = next_line()) == NULL)
				goto fail;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			printf("%s: %s\n", msg[i]->msg_style == PAM_ERROR_MSG ? "error" : "info",
			       msg[i]->msg != NULL ? msg[i]->msg : "");
			break;
		default:
			goto fail;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < n; i++)
		free(r[i].resp);
	free(r);
	return PAM_CONV_ERR;
}

int
main(int argc, char **argv)
{
	struct pam_conv pc = { conv, NULL };
	pam_handle_t *pamh = NULL;
	int r;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: pam_delay_probe SERVICE USER [RHOST] < answers\n");
		return 64;
	}
	if (pam_start(argv[1], argv[2], &pc, &pamh) != PAM_SUCCESS) {
		fprintf(stderr, "pam_delay_probe: pam_start failed\n");
		return 70;
	}
	if ((argc == 4 && argv[3][0] != '\0' &&
	     pam_set_item(pamh, PAM_RHOST, argv[3]) != PAM_SUCCESS) ||
	    pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)record_delay) != PAM_SUCCESS) {
		fprintf(stderr, "pam_delay_probe: pam_set_item failed\n");
		pam_end(pamh, PAM_SYSTEM_ERR);
		return 70;
	}
	r = pam_authenticate(pamh, 0);
	printf("result=%s\n", pam_strerror(pamh, r));
	printf("fail_delay_calls=%u fail_delay_usec=%u\n", delay_calls, delay_usec);
	fflush(stdout);
	pam_end(pamh, r);
	return r == PAM_SUCCESS ? 0 : 1;
}
