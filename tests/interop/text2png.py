#!/usr/bin/python3
"""Turns a terminal rendering of a QR code into a PNG, the way a terminal
would show it, so that zbarimg can try to scan it.

  text2png.py utf8|ascii light|dark IN.txt OUT.png

utf8:  each character is one module wide and two modules tall: U+2588 full
       block, U+2580 upper half, U+2584 lower half, space.
ascii: each "##" or "  " pair is one module.
light: glyphs are drawn light on a dark background (a dark terminal);
dark:  glyphs are drawn dark on a light background (a light terminal).
A margin of terminal background is added around the picture, as a screen
would show it.  Only the Python standard library is used."""
import struct
import sys
import zlib

PX = 4       # pixels per module
MARGIN = 6   # modules of terminal background around the text


def parse(text, mode):
    rows = []
    for line in text.split("\n"):
        if line == "":
            continue
        if mode == "ascii":
            if len(line) % 2:
                raise SystemExit("odd ASCII line length")
            cells = [line[i:i + 2] for i in range(0, len(line), 2)]
            row = []
            for c in cells:
                if c == "##":
                    row.append(1)
                elif c == "  ":
                    row.append(0)
                else:
                    raise SystemExit("unexpected ASCII cell %r" % c)
            rows.append(row)
        else:
            top, bottom = [], []
            for ch in line:
                t, b = {" ": (0, 0), "\u2580": (1, 0), "\u2584": (0, 1),
                        "\u2588": (1, 1)}.get(ch, (None, None))
                if t is None:
                    raise SystemExit("unexpected character U+%04X" % ord(ch))
                top.append(t)
                bottom.append(b)
            rows.append(top)
            rows.append(bottom)
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        raise SystemExit("ragged lines")
    return rows


def write_png(path, rows, ink_light):
    glyph, background = (255, 0) if ink_light else (0, 255)
    width = len(rows[0]) + 2 * MARGIN
    blank = [0] * width
    padded = [blank] * MARGIN + [[0] * MARGIN + r + [0] * MARGIN for r in rows] + \
        [blank] * MARGIN
    raw = bytearray()
    for r in padded:
        line = bytearray()
        for v in r:
            line += bytes([glyph if v else background]) * PX
        for _ in range(PX):
            raw += b"\x00" + line
    side_w, side_h = width * PX, len(padded) * PX

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", side_w, side_h, 8, 0, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(bytes(raw), 9)))
        f.write(chunk(b"IEND", b""))


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("utf8", "ascii") or \
            sys.argv[2] not in ("light", "dark"):
        raise SystemExit(__doc__)
    with open(sys.argv[3], encoding="utf-8") as f:
        text = f.read()
    write_png(sys.argv[4], parse(text, sys.argv[1]), sys.argv[2] == "light")


if __name__ == "__main__":
    main()
