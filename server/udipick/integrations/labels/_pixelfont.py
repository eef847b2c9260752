"""A tiny TrueType font traced from a system font's bitmaps, for previews only.

zplkit renders downloaded fonts only when they are quadratic TrueType (``glyf``); the CJK
fonts Debian ships (Noto Sans CJK) are CFF OpenType, and no font tooling is installed.
Pillow's FreeType can still *rasterise* Noto, so each glyph a label needs is drawn at
``PIXELS_PER_EM`` and its black runs become rectangles in a ``glyf`` outline. The result is
a few kilobytes, covers exactly the characters asked for, and looks like Noto at label sizes.
It is never sent to a printer: printers use their own resident TrueType font.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pillow is imported only when a preview needs the font
    from PIL.ImageFont import FreeTypeFont

UNITS_PER_EM = 1000
PIXELS_PER_EM = 40

#: (path, face index) tried in order; index 2 of the Noto CJK collection is Simplified Chinese.
SYSTEM_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
)


@functools.lru_cache(maxsize=1)
def _source_font() -> FreeTypeFont | None:
    from PIL import ImageFont

    for path, index in SYSTEM_FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size=PIXELS_PER_EM, index=index)
    return None


def available() -> bool:
    return _source_font() is not None


@functools.lru_cache(maxsize=4096)
def _glyph(char: str) -> tuple[int, tuple[tuple[int, int, int, int], ...]]:
    """Advance width and rectangles (x0, y0, x1, y1) in font units, y up, for one character."""
    from PIL import Image, ImageDraw

    font = _source_font()
    ascent, descent = font.getmetrics()
    advance = font.getlength(char)
    width = max(1, int(advance) + PIXELS_PER_EM // 4)
    image = Image.new("1", (width, ascent + descent), 0)
    ImageDraw.Draw(image).text((0, ascent), char, font=font, fill=1, anchor="ls")
    px = image.load()
    scale = UNITS_PER_EM / PIXELS_PER_EM
    # runs per row, then merge identical runs on consecutive rows into one rectangle
    open_rects: dict[tuple[int, int], list[int]] = {}
    rects: list[tuple[int, int, int, int]] = []
    for y in range(image.height):
        runs: list[tuple[int, int]] = []
        x = 0
        while x < width:
            if px[x, y]:
                start = x
                while x < width and px[x, y]:
                    x += 1
                runs.append((start, x))
            x += 1
        for key in list(open_rects):
            if key not in runs:
                top = open_rects.pop(key)[0]
                rects.append((key[0], top, key[1], y))
        for run in runs:
            open_rects.setdefault(run, [y])
    for key, (top,) in open_rects.items():
        rects.append((key[0], top, key[1], image.height))
    to_units = tuple(
        (round(x0 * scale), round((ascent - y1) * scale), round(x1 * scale), round((ascent - y0) * scale))
        for x0, y0, x1, y1 in rects
    )
    return round(advance * scale), to_units


def _glyf_entry(rects: tuple[tuple[int, int, int, int], ...]) -> bytes:
    if not rects:
        return b""
    points: list[tuple[int, int]] = []
    for x0, y0, x1, y1 in rects:  # clockwise with y up: filled in TrueType
        points += [(x0, y1), (x1, y1), (x1, y0), (x0, y0)]
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    out = struct.pack(">hhhhh", len(rects), min(xs), min(ys), max(xs), max(ys))
    out += struct.pack(f">{len(rects)}H", *(4 * i + 3 for i in range(len(rects))))
    out += struct.pack(">H", 0) + bytes([0x01]) * len(points)
    dx = b"".join(struct.pack(">h", x - px) for x, px in zip(xs, [0, *xs[:-1]], strict=True))
    dy = b"".join(struct.pack(">h", y - py) for y, py in zip(ys, [0, *ys[:-1]], strict=True))
    out += dx + dy
    return out + b"\0" * (-len(out) % 4)


def _checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


def build_font(chars: Iterable[str], family: str = "udipick preview") -> bytes:
    """A TrueType font (bytes) with a glyph for every printable character in ``chars``."""
    if not available():
        raise RuntimeError("no system font to trace a preview font from")
    font = _source_font()
    ascent_px, descent_px = font.getmetrics()
    scale = UNITS_PER_EM / PIXELS_PER_EM
    ascent, descent = round(ascent_px * scale), round(descent_px * scale)
    codepoints = sorted({ord(c) for c in chars if c.isprintable() and ord(c) >= 0x20} | {0x20})
    glyphs = [(UNITS_PER_EM // 2, ())] + [_glyph(chr(cp)) for cp in codepoints]
    glyf = b""
    loca = [0]
    for _, rects in glyphs:
        glyf += _glyf_entry(rects)
        loca.append(len(glyf))
    max_points = max((4 * len(r) for _, r in glyphs), default=0)
    max_contours = max((len(r) for _, r in glyphs), default=0)
    advance_max = max(a for a, _ in glyphs)
    tables: dict[bytes, bytes] = {}
    tables[b"head"] = struct.pack(
        ">IIIIHHqqhhhhHHhhh",
        0x00010000,
        0x00010000,
        0,
        0x5F0F3CF5,
        0x000B,
        UNITS_PER_EM,
        0,
        0,
        0,
        -descent,
        advance_max,
        ascent,
        0,
        8,
        2,
        1,
        0,
    )
    tables[b"hhea"] = struct.pack(
        ">IhhhHhhhhhhhhhhhH",
        0x00010000,
        ascent,
        -descent,
        0,
        advance_max,
        0,
        0,
        advance_max,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        len(glyphs),
    )
    tables[b"maxp"] = struct.pack(
        ">IHHHHHHHHHHHHHH",
        0x00010000,
        len(glyphs),
        max_points,
        max_contours,
        0,
        0,
        2,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    )
    tables[b"hmtx"] = b"".join(struct.pack(">Hh", adv, min((r[0] for r in rects), default=0)) for adv, rects in glyphs)
    tables[b"loca"] = struct.pack(f">{len(loca)}I", *loca)
    tables[b"glyf"] = glyf
    groups = b"".join(struct.pack(">III", cp, cp, gid) for gid, cp in enumerate(codepoints, start=1))
    fmt12 = struct.pack(">HHIII", 12, 0, 16 + len(groups), 0, len(codepoints)) + groups
    # format 4 for BMP characters, one segment each, plus the final 0xFFFF segment
    bmp = [(cp, gid) for gid, cp in enumerate(codepoints, start=1) if cp < 0xFFFF]
    seg = len(bmp) + 1
    ends = [cp for cp, _ in bmp] + [0xFFFF]
    deltas = [(gid - cp) & 0xFFFF for cp, gid in bmp] + [1]
    search = 2 ** (seg.bit_length() - 1)
    fmt4_body = (
        struct.pack(">HHHH", seg * 2, search * 2, search.bit_length() - 1, seg * 2 - search * 2)
        + struct.pack(f">{seg}H", *ends)
        + b"\0\0"
        + struct.pack(f">{seg}H", *ends)
        + struct.pack(f">{seg}H", *deltas)
        + struct.pack(f">{seg}H", *([0] * seg))
    )
    fmt4 = struct.pack(">HHH", 4, 6 + len(fmt4_body), 0) + fmt4_body
    tables[b"cmap"] = (
        struct.pack(">HH", 0, 2)
        + struct.pack(">HHI", 3, 1, 20)
        + struct.pack(">HHI", 3, 10, 20 + len(fmt4))
        + fmt4
        + fmt12
    )
    name = family.encode("utf-16-be")
    records = [
        (1, name),
        (2, "Regular".encode("utf-16-be")),
        (4, name),
        (6, b"".join(c.upper().encode("utf-16-be") for c in family if c.isalnum())),
    ]
    strings = b""
    recs = b""
    for name_id, text in records:
        recs += struct.pack(">HHHHHH", 3, 1, 0x409, name_id, len(text), len(strings))
        strings += text
    tables[b"name"] = struct.pack(">HHH", 0, len(records), 6 + 12 * len(records)) + recs + strings
    tables[b"post"] = struct.pack(">IIhhIIIII", 0x00030000, 0, -100, 50, 0, 0, 0, 0, 0)
    tables[b"OS/2"] = (
        struct.pack(">HhHHHhhhhhhhhhhh", 4, UNITS_PER_EM // 2, 400, 5, 0, 650, 600, 0, 75, 650, 600, 0, 350, 50, 250, 0)
        + bytes(10)
        + struct.pack(">IIII", 1, 0, 0, 0)
        + b"UDIP"
        + struct.pack(
            ">HHHhhhHHII",
            0x40,
            min(codepoints[0], 0xFFFF),
            min(codepoints[-1], 0xFFFF),
            ascent,
            -descent,
            0,
            ascent,
            descent,
            1,
            0,
        )
        + struct.pack(">hhHHH", 500, 700, 0, 0x20, 1)
    )
    tags = sorted(tables)
    num = len(tags)
    entry = 2 ** (num.bit_length() - 1)
    header = struct.pack(">IHHHH", 0x00010000, num, entry * 16, entry.bit_length() - 1, num * 16 - entry * 16)
    offset = 12 + 16 * num
    directory = b""
    body = b""
    for tag in tags:
        data = tables[tag]
        directory += struct.pack(">4sIII", tag, _checksum(data), offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    return header + directory + body
