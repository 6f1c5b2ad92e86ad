#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <png.h>
#include <qrencode.h>

#include "error.h"
#include "qr.h"

struct ag_qr {
	int width;              /* modules per side, quiet zone excluded */
	unsigned char *modules; /* width * width bytes, 1 = dark */
};

int
ag_qr_encode(const char *text, struct ag_qr **qrp)
{
	struct ag_qr *qr = NULL;
	QRcode *code = NULL;
	size_t len, n, i;
	int ret = AG_ERR_INVAL;

	if (qrp == NULL)
		return AG_ERR_INVAL;
	*qrp = NULL;
	if (text == NULL)
		goto out;
	len = strnlen(text, AG_QR_MAX_INPUT + 1);
	if (len == 0)
		goto out;
	if (len > AG_QR_MAX_INPUT) {
		ret = AG_ERR_TOOLONG;
		goto out;
	}
	/* QRcode_encodeData: the whole input in 8-bit mode. */
	code = QRcode_encodeData((int)len, (const unsigned char *)text, 0, QR_ECLEVEL_M);
	if (code == NULL) {
		ret = errno == ENOMEM ? AG_ERR_NOMEM : errno == ERANGE ? AG_ERR_TOOLONG
		                                                       : AG_ERR_INVAL;
		goto out;
	}
	if (code->width < 21 || code->width > 177) {
		ret = AG_ERR_INVAL;
		goto out;
	}
	ret = AG_ERR_NOMEM;
	if ((qr = calloc(1, sizeof(*qr))) == NULL)
		goto out;
	n = (size_t)code->width * (size_t)code->width;
	if ((qr->modules = malloc(n)) == NULL)
		goto out;
	qr->width = code->width;
	for (i = 0; i < n; i++)
		qr->modules[i] = code->data[i] & 1; /* bit 0: dark module */
	*qrp = qr;
	qr = NULL;
	ret = 0;
out:
	if (code != NULL)
		QRcode_free(code);
	ag_qr_free(qr);
	return ret;
}

void
ag_qr_free(struct ag_qr *qr)
{
	if (qr == NULL)
		return;
	if (qr->modules != NULL) {
		/* the code may spell a TOTP secret */
		explicit_bzero(qr->modules, (size_t)qr->width * (size_t)qr->width);
		free(qr->modules);
	}
	free(qr);
}

int
ag_qr_width(const struct ag_qr *qr)
{
	return qr != NULL ? qr->width : 0;
}

int
ag_qr_module(const struct ag_qr *qr, int x, int y)
{
	if (qr == NULL || x < 0 || y < 0 || x >= qr->width || y >= qr->width)
		return 0;
	return qr->modules[(size_t)y * (size_t)qr->width + (size_t)x];
}

/* Module at (x, y) of the picture with its quiet zone. */
static int
dark_at(const struct ag_qr *qr, int x, int y)
{
	return ag_qr_module(qr, x - AG_QR_QUIET, y - AG_QR_QUIET);
}

int
ag_qr_render_text(const struct ag_qr *qr, int flags, char **outp, size_t *lenp)
{
	static const char *const half[4] = {
		" ",            /* neither half */
		"\xe2\x96\x80", /* U+2580 upper half block */
		"\xe2\x96\x84", /* U+2584 lower half block */
		"\xe2\x96\x88"  /* U+2588 full block */
	};
	char *buf = NULL;
	size_t size, o = 0;
	int full, x, y, ink_dark, top, bottom;
	const char *g;

	if (outp != NULL)
		*outp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if (qr == NULL || outp == NULL || lenp == NULL ||
	    (flags & ~(AG_QR_TEXT_INVERT | AG_QR_TEXT_ASCII)) != 0)
		return AG_ERR_INVAL;
	full = qr->width + 2 * AG_QR_QUIET;
	ink_dark = (flags & AG_QR_TEXT_INVERT) != 0;
	/* ASCII: full rows of 2 bytes per module; UTF-8: half as many rows
	 * of at most 3 bytes per module.  Plus newlines and the NUL. */
	if (flags & AG_QR_TEXT_ASCII)
		size = (size_t)full * ((size_t)full * 2 + 1) + 1;
	else
		size = (size_t)((full + 1) / 2) * ((size_t)full * 3 + 1) + 1;
	if ((buf = malloc(size)) == NULL)
		return AG_ERR_NOMEM;
	if (flags & AG_QR_TEXT_ASCII) {
		for (y = 0; y < full; y++) {
			for (x = 0; x < full; x++) {
				g = dark_at(qr, x, y) == ink_dark ? "##" : "  ";
				memcpy(buf + o, g, 2);
				o += 2;
			}
			buf[o++] = '\n';
		}
	} else {
		for (y = 0; y < full; y += 2) {
			for (x = 0; x < full; x++) {
				top = dark_at(qr, x, y) == ink_dark;
				/* below the last row is the terminal background */
				bottom = y + 1 < full && dark_at(qr, x, y + 1) == ink_dark;
				g = half[top | (bottom << 1)];
				memcpy(buf + o, g, strlen(g));
				o += strlen(g);
			}
			buf[o++] = '\n';
		}
	}
	buf[o] = '\0';
	*outp = buf;
	*lenp = o;
	return 0;
}

/* A bounded output buffer: appends stop at the first overflow. */
struct outbuf {
	char *buf;
	size_t size, len;
	int overflow;
};

static void __attribute__((format(printf, 2, 3)))
put_fmt(struct outbuf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len) {
		o->overflow = 1;
		return;
	}
	o->len += (size_t)n;
}

int
ag_qr_render_svg(const struct ag_qr *qr, char **outp, size_t *lenp)
{
	struct outbuf o = { NULL, 0, 0, 0 };
	int full, x, y, run;

	if (outp != NULL)
		*outp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if (qr == NULL || outp == NULL || lenp == NULL)
		return AG_ERR_INVAL;
	full = qr->width + 2 * AG_QR_QUIET;
	/* At most (width + 1) / 2 runs per row, each "M%d %dh%dv1h-%dz" of
	 * at most 22 bytes; 512 for the rest of the document. */
	o.size = 512 + (size_t)qr->width * (size_t)((qr->width + 1) / 2) * 22;
	if ((o.buf = malloc(o.size)) == NULL)
		return AG_ERR_NOMEM;
	o.buf[0] = '\0';
	put_fmt(&o,
	            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	            "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
	            "shape-rendering=\"crispEdges\">\n",
	            full, full, full * AG_QR_DEFAULT_SCALE, full * AG_QR_DEFAULT_SCALE);
	put_fmt(&o, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
	            "<path fill=\"#000000\" d=\"",
	        full, full);
	for (y = 0; y < qr->width; y++) {
		for (x = 0; x < qr->width; x += run) {
			run = 0;
			while (x + run < qr->width && ag_qr_module(qr, x + run, y))
				run++;
			if (run == 0) {
				run = 1;
				continue;
			}
			put_fmt(&o, "M%d %dh%dv1h-%dz", x + AG_QR_QUIET, y + AG_QR_QUIET, run, run);
		}
	}
	put_fmt(&o, "\"/>\n</svg>\n");
	if (o.overflow) {
		free(o.buf);
		return AG_ERR_NOMEM; /* the bound above is wrong: never expected */
	}
	*outp = o.buf;
	*lenp = o.len;
	return 0;
}

/* libpng reports errors by calling this; it must not return. */
static void
png_fail(png_structp png, png_const_charp msg)
{
	(void)msg;
	png_longjmp(png, 1);
}

static void
png_warn(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* Writes the PNG stream to fp; row must hold full * scale bytes.
 * Returns 0 or -1. */
static int
png_stream(FILE *fp, const struct ag_qr *qr, unsigned scale, unsigned char *row)
{
	png_structp png;
	png_infop info;
	unsigned px, side, x, y;
	int full = qr->width + 2 * AG_QR_QUIET;

	side = (unsigned)full * scale;
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_fail, png_warn);
	if (png == NULL)
		return -1;
	info = png_create_info_struct(png);
	if (info == NULL) {
		png_destroy_write_struct(&png, NULL);
		return -1;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return -1;
	}
	png_init_io(png, fp);
	png_set_IHDR(png, info, side, side, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
	             PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (y = 0; y < side; y++) {
		for (x = 0; x < (unsigned)full; x++)
			for (px = 0; px < scale; px++)
				row[x * scale + px] =
				        dark_at(qr, (int)x, (int)(y / scale)) ? 0x00 : 0xff;
		png_write_row(png, row);
	}
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	return 0;
}

int
ag_qr_write_png(const struct ag_qr *qr, const char *path, unsigned scale,
                const char **reasonp)
{
	char tmp[PATH_MAX];
	unsigned char *row = NULL;
	FILE *fp = NULL;
	const char *reason = "is invalid";
	int fd = -1, made = 0, ret = AG_ERR_INVAL, n;

	if (qr == NULL || path == NULL || *path == '\0') {
		reason = "no QR code or path given";
		goto out;
	}
	if (scale == 0 || scale > AG_QR_MAX_SCALE) {
		reason = "scale must be 1 to 32 pixels per module";
		goto out;
	}
	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		reason = "is too long";
		ret = AG_ERR_TOOLONG;
		goto out;
	}
	ret = AG_ERR_NOMEM;
	reason = "could not be written (out of memory)";
	row = malloc((size_t)(qr->width + 2 * AG_QR_QUIET) * scale);
	if (row == NULL)
		goto out;
	ret = AG_ERR_IO;
	reason = "could not be created";
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		goto out;
	made = 1;
	/* mkostemp creates 0600; say so explicitly, whatever the umask. */
	if (fchmod(fd, 0600) != 0 || (fp = fdopen(fd, "wb")) == NULL)
		goto out;
	fd = -1; /* owned by fp now */
	reason = "could not be written";
	if (png_stream(fp, qr, scale, row) != 0 || fflush(fp) != 0 || fsync(fileno(fp)) != 0)
		goto out;
	n = fclose(fp);
	fp = NULL;
	if (n != 0)
		goto out;
	if (rename(tmp, path) != 0) {
		reason = "could not be renamed into place";
		goto out;
	}
	made = 0;
	ret = 0;
out:
	if (fp != NULL)
		fclose(fp);
	if (fd >= 0)
		close(fd);
	if (made)
		unlink(tmp);
	free(row);
	if (ret != 0 && reasonp != NULL)
		*reasonp = reason;
	return ret;
}
