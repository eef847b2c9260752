"""PNG previews of ZPL with zplkit, exactly as the printer would get it.

The ZPL is rendered unchanged, except for one addition: labels refer to the printer's
resident Unicode font by name (``^CWJ,E:NOTOSANSSC.TTF``), which zplkit does not have. For
each such name that the caller does not supply in ``fonts``, a small TrueType font with the
label's own characters is traced from the machine's Noto Sans CJK (``_pixelfont``) and
downloaded in front of the label with ``~DY``, as one would download a font to a printer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import zplkit
from zplkit.output import Scene
from zplkit.rendering import Limits

from udipick.integrations.labels import _pixelfont
from udipick.integrations.labels.render import label_dots

if TYPE_CHECKING:  # Pillow is imported only when a gray image is asked for
    from PIL import Image

_FONT_REFERENCE = re.compile(rb"\^(?:CW[A-Z0-9],|A@[NRIB]?,?[0-9]*,?[0-9]*,)([REBA]:[A-Z0-9_\-]{1,16}\.(?:TTF|TTE))")
_HEX = re.compile(rb"_([0-9A-Fa-f]{2})")


def label_characters(zpl: bytes) -> str:
    """Every character the label could print: ``^FH_`` escapes decoded, UTF-8 read leniently."""
    decoded = _HEX.sub(lambda m: bytes([int(m.group(1), 16)]), zpl)
    return decoded.decode("utf-8", errors="ignore")


def font_downloads(zpl: bytes, fonts: Mapping[str, bytes] | None = None) -> bytes:
    """``~DY`` commands for every TrueType font name ``zpl`` refers to (preview fonts unless given)."""
    out = b""
    names = sorted({m.group(1).decode() for m in _FONT_REFERENCE.finditer(zpl)})
    preview_font: bytes | None = None
    for name in names:
        font = (fonts or {}).get(name)
        if font is None:
            if preview_font is None:
                preview_font = _pixelfont.build_font(label_characters(zpl))
            font = preview_font
        device, file = name.split(":", 1)
        stem, ext = file.rsplit(".", 1)
        out += f"~DY{device}:{stem},B,{'T' if ext == 'TTF' else 'E'},{len(font)},,".encode() + font
    return out


def render_png(
    zpl: bytes,
    *,
    size: str = "4x6",
    dpi: int = 203,
    fonts: Mapping[str, bytes] | None = None,
) -> bytes:
    """PNG of the first label in ``zpl`` at the label's size in dots (``label_dots``).

    ``fonts`` maps printer font names (``E:NOTOSANSSC.TTF``) to TrueType bytes, for a
    preview with the very font the printers have; by default a traced Noto font is used.
    Raises ``zplkit.rendering.RenderError`` (a ``ValueError``) on ZPL zplkit cannot render.
    """
    return _scene(zpl, size=size, dpi=dpi, fonts=fonts).png()


def render_gray(
    zpl: bytes, *, size: str = "4x6", dpi: int = 203, fonts: Mapping[str, bytes] | None = None
) -> Image.Image:
    """The rendered label as a Pillow ``L`` image (for barcode decoding in tests and checks)."""
    from PIL import Image

    raster = _scene(zpl, size=size, dpi=dpi, fonts=fonts).rasterize()
    return Image.frombytes("L", (raster.width, raster.height), raster.pixels)


def _scene(zpl: bytes, *, size: str, dpi: int, fonts: Mapping[str, bytes] | None) -> Scene:
    width, height = label_dots(size, dpi)
    source = font_downloads(zpl, fonts) + zpl
    document = zplkit.render(
        source,
        zplkit.Options(profile="specification", width=width, height=height, dpi=dpi),
        limits=Limits(input_bytes=max(1 << 20, 2 * len(source))),
    )
    return document.labels[0]
