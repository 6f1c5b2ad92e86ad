/* Test driver for tests/interop/qr_zbarimg.sh: builds key URIs and renders
 * them with lib/qr.
 *
 *   qr_tool uri ISSUER ACCOUNT BASE32       print the key URI
 *   qr_tool png TEXT FILE [SCALE]           write a PNG
 *   qr_tool svg TEXT                        print the SVG
 *   qr_tool text TEXT [invert] [ascii]      print the terminal rendering
 *
 * Exit status 1 on error, 2 for usage errors. */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "otpauth.h"
#include "qr.h"
#include "util.h"

static int
usage(void)
{
	fprintf(stderr, "usage: qr_tool uri ISSUER ACCOUNT BASE32 | png TEXT FILE [SCALE] |"
	                " svg TEXT | text TEXT [invert] [ascii]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	char uri[AG_OTPAUTH_URI_MAX], *out = NULL;
	const char *reason = "";
	struct ag_qr *qr = NULL;
	int64_t scale = AG_QR_DEFAULT_SCALE;
	size_t len = 0;
	int i, flags = 0, r;

	if (argc < 3)
		return usage();
	if (strcmp(argv[1], "uri") == 0) {
		if (argc != 5)
			return usage();
		r = ag_otpauth_uri(argv[2], argv[3], argv[4], 6, 30, uri, sizeof(uri), &reason);
		if (r != 0) {
			fprintf(stderr, "qr_tool: %s\n", reason);
			return 1;
		}
		puts(uri);
		return 0;
	}
	if ((r = ag_qr_encode(argv[2], &qr)) != 0) {
		fprintf(stderr, "qr_tool: %s\n", ag_strerror(r));
		return 1;
	}
	if (strcmp(argv[1], "png") == 0 && (argc == 4 || argc == 5)) {
		if (argc == 5 && ag_parse_int64(argv[4], 1, AG_QR_MAX_SCALE, &scale) != 0)
			r = AG_ERR_INVAL;
		else
			r = ag_qr_write_png(qr, argv[3], (unsigned)scale, &reason);
	} else if (strcmp(argv[1], "svg") == 0 && argc == 3) {
		r = ag_qr_render_svg(qr, &out, &len);
	} else if (strcmp(argv[1], "text") == 0) {
		for (i = 3; i < argc; i++) {
			if (strcmp(argv[i], "invert") == 0)
				flags |= AG_QR_TEXT_INVERT;
			else if (strcmp(argv[i], "ascii") == 0)
				flags |= AG_QR_TEXT_ASCII;
			else
				flags = -1;
		}
		r = flags < 0 ? AG_ERR_INVAL : ag_qr_render_text(qr, flags, &out, &len);
	} else {
		ag_qr_free(qr);
		return usage();
	}
	ag_qr_free(qr);
	if (r != 0) {
		fprintf(stderr, "qr_tool: %s %s\n", ag_strerror(r), reason);
		return 1;
	}
	if (out != NULL) {
		fwrite(out, 1, len, stdout);
		free(out);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
