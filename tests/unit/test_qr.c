/* Unit tests for lib/qr: encoding limits, finder patterns, and that every
 * rendering (UTF-8 half blocks, ASCII, both polarities, SVG, PNG) carries
 * exactly the symbol's modules with a 4-module quiet zone.  That the
 * renderings scan is checked with zbarimg in tests/interop/qr_zbarimg.sh. */
#include "autoconf.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "qr.h"

#include "tap.h"

#define URI "otpauth://totp/Example%20Co:alice@example.com?secret=JBSWY3DPEHPK3PXP" \
            "&issuer=Example%20Co&algorithm=SHA1&digits=6&period=30"

/* Is (x, y), 0..6, dark in a finder pattern?  Dark ring, light ring,
 * dark 3x3 centre. */
static int
finder_dark(int x, int y)
{
	if (x == 0 || y == 0 || x == 6 || y == 6)
		return 1;
	if (x == 1 || y == 1 || x == 5 || y == 5)
		return 0;
	return 1;
}

static void
test_encode(void)
{
	struct ag_qr *qr = NULL;
	char *big;
	int w, x, y, bad = 0;

	is_int(ag_qr_encode("hello", &qr), 0, "encode \"hello\"");
	is_int(ag_qr_width(qr), 21, "version 1: 21 modules");
	ag_qr_free(qr);
	qr = NULL;

	is_int(ag_qr_encode(URI, &qr), 0, "encode a key URI");
	w = ag_qr_width(qr);
	ok(w >= 21 && w <= 177 && (w - 17) % 4 == 0, "width %d is a QR version's", w);
	/* the three finder patterns and their light separators */
	for (y = 0; y < 7; y++) {
		for (x = 0; x < 7; x++) {
			bad += ag_qr_module(qr, x, y) != finder_dark(x, y);
			bad += ag_qr_module(qr, w - 7 + x, y) != finder_dark(x, y);
			bad += ag_qr_module(qr, x, w - 7 + y) != finder_dark(x, y);
		}
	}
	for (x = 0; x < 8; x++)
		bad += ag_qr_module(qr, x, 7) + ag_qr_module(qr, 7, x);
	is_int(bad, 0, "finder patterns and separators in place");
	is_int(ag_qr_module(qr, -1, 0) + ag_qr_module(qr, 0, -1) + ag_qr_module(qr, w, 0) +
	               ag_qr_module(qr, 0, w),
	       0, "outside the symbol is light");
	ag_qr_free(qr);
	qr = NULL;

	is_int(ag_qr_encode("", &qr), AG_ERR_INVAL, "empty text refused");
	ok(qr == NULL, "no code on error");
	is_int(ag_qr_encode(NULL, &qr), AG_ERR_INVAL, "NULL text refused");
	big = malloc(100 * 1024 + 1);
	if (big == NULL) {
		ok(0, "malloc");
		return;
	}
	memset(big, 'a', 100 * 1024);
	big[100 * 1024] = '\0';
	is_int(ag_qr_encode(big, &qr), AG_ERR_TOOLONG, "100 KiB refused");
	big[AG_QR_MAX_INPUT + 1] = '\0';
	is_int(ag_qr_encode(big, &qr), AG_ERR_TOOLONG, "%d bytes refused", AG_QR_MAX_INPUT + 1);
	big[AG_QR_MAX_INPUT] = '\0';
	is_int(ag_qr_encode(big, &qr), 0, "%d bytes encoded", AG_QR_MAX_INPUT);
	ok(ag_qr_width(qr) > 150, "a large version (%d modules)", ag_qr_width(qr));
	ag_qr_free(qr);
	free(big);
	ag_qr_free(NULL);
	ok(1, "ag_qr_free(NULL)");
}

/* Parses a text rendering back into modules; returns the number of
 * disagreements with qr (quiet zone included), or -1 for a malformed
 * rendering. */
static int
text_mismatches(const struct ag_qr *qr, const char *text, int flags)
{
	int full = ag_qr_width(qr) + 2 * AG_QR_QUIET, ink_dark = (flags & AG_QR_TEXT_INVERT) != 0;
	int x, y, rows = 0, bad = 0, top, bottom, dark;
	const char *p = text;

	for (y = 0; y < full; y += (flags & AG_QR_TEXT_ASCII) ? 1 : 2, rows++) {
		for (x = 0; x < full; x++) {
			if (flags & AG_QR_TEXT_ASCII) {
				if (strncmp(p, "##", 2) == 0)
					top = 1;
				else if (strncmp(p, "  ", 2) == 0)
					top = 0;
				else
					return -1;
				p += 2;
				dark = top == ink_dark;
				bad += dark != ag_qr_module(qr, x - 4, y - 4);
				continue;
			}
			if (*p == ' ') {
				top = bottom = 0;
				p++;
			} else if (strncmp(p, "\xe2\x96\x80", 3) == 0) {
				top = 1, bottom = 0;
				p += 3;
			} else if (strncmp(p, "\xe2\x96\x84", 3) == 0) {
				top = 0, bottom = 1;
				p += 3;
			} else if (strncmp(p, "\xe2\x96\x88", 3) == 0) {
				top = bottom = 1;
				p += 3;
			} else {
				return -1;
			}
			bad += (top == ink_dark) != ag_qr_module(qr, x - 4, y - 4);
			if (y + 1 < full)
				bad += (bottom == ink_dark) != ag_qr_module(qr, x - 4, y - 3);
			else
				bad += bottom != 0; /* past the last row: background */
		}
		if (*p++ != '\n')
			return -1;
	}
	return *p == '\0' ? bad : -1;
}

static void
test_text(void)
{
	static const struct {
		int flags;
		const char *name;
	} modes[] = {
		{ 0, "UTF-8 for dark terminals" },
		{ AG_QR_TEXT_INVERT, "UTF-8 for light terminals" },
		{ AG_QR_TEXT_ASCII, "ASCII for dark terminals" },
		{ AG_QR_TEXT_ASCII | AG_QR_TEXT_INVERT, "ASCII for light terminals" },
	};
	struct ag_qr *qr = NULL;
	char *text = NULL;
	size_t len = 0, i;
	int full;

	if (ag_qr_encode(URI, &qr) != 0) {
		ok(0, "encode");
		return;
	}
	full = ag_qr_width(qr) + 8;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		is_int(ag_qr_render_text(qr, modes[i].flags, &text, &len), 0, "render %s",
		       modes[i].name);
		is_int(len, text != NULL ? strlen(text) : 0, "%s: length", modes[i].name);
		is_int(text_mismatches(qr, text, modes[i].flags), 0,
		       "%s: every module and the quiet zone as documented", modes[i].name);
		free(text);
		text = NULL;
	}
	/* the default's first row is all glyphs (light quiet zone on a dark
	 * terminal); the inverted one's first row is blank */
	if (ag_qr_render_text(qr, 0, &text, &len) == 0) {
		ok(strncmp(text, "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88", 9) == 0,
		   "default: quiet zone drawn as full blocks");
		free(text);
	}
	if (ag_qr_render_text(qr, AG_QR_TEXT_INVERT, &text, &len) == 0) {
		ok(strspn(text, " ") == (size_t)full, "inverted: quiet zone left blank");
		free(text);
	}
	text = NULL;
	is_int(ag_qr_render_text(qr, 4, &text, &len), AG_ERR_INVAL, "unknown flag refused");
	is_int(ag_qr_render_text(NULL, 0, &text, &len), AG_ERR_INVAL, "no code refused");
	ok(text == NULL && len == 0, "outputs cleared");
	ag_qr_free(qr);
}

static void
test_svg(void)
{
	struct ag_qr *qr = NULL;
	char *svg = NULL, view[64];
	const char *p;
	size_t len = 0;
	long x, y, h, sum = 0, dark = 0;
	char *end;
	int i, j, w, bad = 0;

	if (ag_qr_encode(URI, &qr) != 0) {
		ok(0, "encode");
		return;
	}
	w = ag_qr_width(qr);
	is_int(ag_qr_render_svg(qr, &svg, &len), 0, "render SVG");
	is_int(len, strlen(svg), "SVG length");
	ok(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0, "starts with <svg");
	ok(len > 7 && strcmp(svg + len - 7, "</svg>\n") == 0, "ends with </svg>");
	snprintf(view, sizeof(view), "viewBox=\"0 0 %d %d\"", w + 8, w + 8);
	ok(strstr(svg, view) != NULL, "viewBox includes the quiet zone: %s", view);
	ok(strstr(svg, "fill=\"#ffffff\"") != NULL, "white background");
	/* sum the runs "M x y h n v1h-n z" and check each one against the code */
	p = strstr(svg, " d=\"");
	for (p = p != NULL ? p + 4 : ""; *p == 'M'; p = end) {
		x = strtol(p + 1, &end, 10);
		y = strtol(end + 1, &end, 10);
		h = strtol(end + 1, &end, 10); /* after 'h' */
		end = strchr(end, 'z');
		if (end == NULL)
			break;
		end++;
		for (i = 0; i < h; i++)
			bad += !ag_qr_module(qr, (int)x - 4 + i, (int)y - 4);
		sum += h;
	}
	for (j = 0; j < w; j++)
		for (i = 0; i < w; i++)
			dark += ag_qr_module(qr, i, j);
	is_int(bad, 0, "every run covers dark modules only");
	is_int(sum, dark, "runs cover all %ld dark modules", dark);
	free(svg);
	is_int(ag_qr_render_svg(NULL, &svg, &len), AG_ERR_INVAL, "no code refused");
	ag_qr_free(qr);
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
test_png(void)
{
	char tmpl[] = "/tmp/test_qr.XXXXXX", path[PATH_MAX], link[PATH_MAX], other[PATH_MAX];
	char cmd[PATH_MAX + 16];
	unsigned char head[24];
	struct ag_qr *qr = NULL;
	const char *reason = NULL;
	struct stat st;
	FILE *fp;
	mode_t old;
	int w, n;

	if (mkdtemp(tmpl) == NULL || ag_qr_encode(URI, &qr) != 0) {
		ok(0, "setup");
		return;
	}
	w = ag_qr_width(qr);
	snprintf(path, sizeof(path), "%s/qr.png", tmpl);
	old = umask(0);
	is_int(ag_qr_write_png(qr, path, 8, &reason), 0, "write PNG");
	umask(old);
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "mode 0600 despite umask 0");
	fp = fopen(path, "rb");
	n = fp != NULL ? (int)fread(head, 1, sizeof(head), fp) : 0;
	if (fp != NULL)
		fclose(fp);
	ok(n == 24 && memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0, "PNG signature");
	ok(n == 24 && memcmp(head + 12, "IHDR", 4) == 0, "IHDR first");
	is_int(n == 24 ? be32(head + 16) : 0, (w + 8) * 8, "width = (modules + quiet) * 8");
	is_int(n == 24 ? be32(head + 20) : 0, (w + 8) * 8, "height likewise");
	/* no temporary left behind */
	{
		char probe[PATH_MAX + 32];

		snprintf(probe, sizeof(probe), "ls -A '%s' | grep -v '^qr.png$' | grep -q .", tmpl);
		ok(system(probe) != 0, "no temporary file left in the directory");
	}

	is_int(ag_qr_write_png(qr, path, 1, &reason), 0, "overwrite with scale 1");
	ok(stat(path, &st) == 0 && st.st_size > 0, "replaced");

	/* a symlink at the destination is replaced, its target untouched */
	snprintf(other, sizeof(other), "%s/other", tmpl);
	snprintf(link, sizeof(link), "%s/link.png", tmpl);
	fp = fopen(other, "w");
	if (fp != NULL) {
		fputs("keep", fp);
		fclose(fp);
	}
	if (symlink(other, link) != 0)
		diag("symlink failed");
	is_int(ag_qr_write_png(qr, link, 4, &reason), 0, "write over a symlink");
	ok(lstat(link, &st) == 0 && S_ISREG(st.st_mode), "the link itself was replaced");
	ok(stat(other, &st) == 0 && st.st_size == 4, "the link target is untouched");

	reason = NULL;
	snprintf(path, sizeof(path), "%s/missing/qr.png", tmpl);
	is_int(ag_qr_write_png(qr, path, 8, &reason), AG_ERR_IO, "missing directory");
	ok(reason != NULL, "reason: %s", reason != NULL ? reason : "");
	is_int(ag_qr_write_png(qr, path, 0, &reason), AG_ERR_INVAL, "scale 0 refused");
	is_int(ag_qr_write_png(qr, path, AG_QR_MAX_SCALE + 1, &reason), AG_ERR_INVAL,
	       "scale 33 refused");
	is_int(ag_qr_write_png(NULL, path, 8, &reason), AG_ERR_INVAL, "no code refused");
	ag_qr_free(qr);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpl);
}

int
main(void)
{
	test_encode();
	test_text();
	test_svg();
	test_png();
	return done_testing();
}
