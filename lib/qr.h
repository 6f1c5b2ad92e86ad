/* QR codes for key URIs (libqrencode: 8-bit mode, error correction level
 * M, smallest version that fits), rendered for a terminal, as SVG and as
 * PNG.  Every rendering has the 4-module light quiet zone scanners need.
 *
 * Terminal rendering.  By default it is for a DARK-background terminal
 * (light text on dark, the common default): the printed glyphs are the
 * LIGHT modules and the quiet zone, the terminal background shows through
 * as the dark modules, so the code appears dark-on-light as scanners
 * expect.  AG_QR_TEXT_INVERT is for light-background terminals (dark text):
 * glyphs are the dark modules.  UTF-8 output packs two module rows into
 * one text row with U+2580 (upper half), U+2584 (lower half), U+2588 (full
 * block) and space; AG_QR_TEXT_ASCII prints one text row per module, "##"
 * for a glyph module and two spaces otherwise. */
#ifndef AG_QR_H
#define AG_QR_H

#include <stddef.h>

#define AG_QR_MAX_INPUT 2048 /* bytes; fits version 40-M in 8-bit mode */
#define AG_QR_QUIET 4        /* quiet zone, in modules, on every side */
#define AG_QR_MAX_SCALE 32   /* PNG pixels per module */
#define AG_QR_DEFAULT_SCALE 8

struct ag_qr;

enum ag_qr_text_flags {
	AG_QR_TEXT_INVERT = 1, /* glyphs are dark modules (light terminals) */
	AG_QR_TEXT_ASCII = 2   /* "##" and spaces instead of half blocks */
};

/* Encodes text (1..AG_QR_MAX_INPUT bytes, NUL-terminated) into *qrp.
 * Returns 0, AG_ERR_INVAL, AG_ERR_TOOLONG or AG_ERR_NOMEM. */
int ag_qr_encode(const char *text, struct ag_qr **qrp);

/* Frees qr; NULL is allowed. */
void ag_qr_free(struct ag_qr *qr);

/* Width of the symbol in modules, quiet zone excluded. */
int ag_qr_width(const struct ag_qr *qr);

/* Returns 1 when module (x, y) of the symbol is dark, 0 when light or
 * outside the symbol (the quiet zone is light). */
int ag_qr_module(const struct ag_qr *qr, int x, int y);

/* Renders qr as text for a terminal (see above; every line ends in "\n")
 * into a fresh NUL-terminated *outp of *lenp bytes (free with free()).
 * Returns 0, AG_ERR_INVAL or AG_ERR_NOMEM. */
int ag_qr_render_text(const struct ag_qr *qr, int flags, char **outp, size_t *lenp);

/* Renders qr as a standalone SVG document (white background with the
 * quiet zone, black modules as one <path>, viewBox in modules, intrinsic
 * size 8 px per module) into a fresh *outp.  Returns 0, AG_ERR_INVAL or
 * AG_ERR_NOMEM. */
int ag_qr_render_svg(const struct ag_qr *qr, char **outp, size_t *lenp);

/* Writes qr as an 8-bit greyscale PNG, scale (1..AG_QR_MAX_SCALE) pixels
 * per module, to path: a temporary file in the same directory, mode 0600,
 * renamed over path once complete.  Returns 0, AG_ERR_INVAL, AG_ERR_TOOLONG,
 * AG_ERR_IO or AG_ERR_NOMEM, with *reasonp set on failure. */
int ag_qr_write_png(const struct ag_qr *qr, const char *path, unsigned scale,
                    const char **reasonp);

#endif
