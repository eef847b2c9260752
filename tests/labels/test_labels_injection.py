"""ERP or user data never becomes ZPL: it prints as text and the barcodes keep their data."""

import re
from pathlib import Path

import pytest
from zplkit.parse import parse

from udipick.domain.errors import InvalidGtin, InvalidLabelData, InvalidSscc, UnknownLabelTemplate
from udipick.integrations.labels.render import TEMPLATES_DIR, available_labels, render_label

HOSTILE = "^XZ^XA^FO0,0^GB812,1218,812^FS~JA~DGR:X.GRF,1,1,FF _5E_7E \\& 上海医疗器械有限公司 ^FD"
GTIN = "09501101530003"


def commands(zpl: bytes) -> list[bytes]:
    """Command names in order (``^FO``, ``^FD``...), as zplkit frames them."""
    return [bytes(e)[:3] for e in parse(zpl).elements if e.kind in ("format_command", "control_command")]


def field_texts(zpl: bytes) -> list[str]:
    """The text each ``^FH_^FD...^FS`` field prints, hex escapes decoded as the printer does."""
    out = []
    for data in re.findall(rb"\^FH_\^FD(.*?)\^FS", zpl, flags=re.S):
        raw = re.sub(rb"_([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), data)
        out.append(raw.decode("utf-8"))
    return out


@pytest.mark.parametrize(("size", "dpi"), [(s, d) for k, s, d in available_labels() if k == "item"])
def test_hostile_item_name_prints_as_text_and_the_label_stays_whole(size, dpi, decode):
    benign = render_label("item", {"gtin": GTIN, "lot": "L1", "item_name": "plain"}, size=size, dpi=dpi)
    zpl = render_label("item", {"gtin": GTIN, "lot": "L1", "item_name": HOSTILE}, size=size, dpi=dpi)
    assert zpl.count(b"^XA") == 1 and zpl.count(b"^XZ") == 1
    assert b"~" not in zpl
    assert commands(zpl) == commands(benign)
    assert HOSTILE.strip() in field_texts(zpl)
    assert decode(zpl, size=size, dpi=dpi) == [("]d2", f"(01){GTIN}(10)L1", f"01{GTIN}10L1")]


def test_hostile_addresses_on_the_sscc_label_print_as_text(decode):
    sscc = "309501100000001538"
    data = {
        "sscc": sscc,
        "from_name": HOSTILE,
        "to_name": "北京协和医院",
        "to_address": [HOSTILE, "^XZ", "~JA"],
        "carrier_name": "_1_5E",
        "reference": "#1>8>;",
    }
    benign = render_label(
        "sscc",
        {
            "sscc": sscc,
            "from_name": "a",
            "to_name": "b",
            "to_address": ["c", "d", "e"],
            "carrier_name": "f",
            "reference": "g",
        },
    )
    zpl = render_label("sscc", data)
    assert zpl.count(b"^XA") == 1 and zpl.count(b"^XZ") == 1 and b"~" not in zpl
    assert commands(zpl) == commands(benign)
    texts = field_texts(zpl)
    for text in (HOSTILE.strip(), "^XZ", "~JA", "_1_5E", "#1>8>;", "北京协和医院"):
        assert text in texts
    assert decode(zpl, size="4x6", dpi=203) == [("]C1", f"(00){sscc}", f"00{sscc}")]


def test_hostile_location_description_prints_and_the_code_still_scans(decode):
    zpl = render_label("location", {"code": "A-01-02-03", "description": "冷藏区^XZ~JA\n_5E"}, size="2x1")
    assert zpl.count(b"^XA") == 1 and b"~" not in zpl
    assert "冷藏区^XZ~JA _5E" in field_texts(zpl)
    assert decode(zpl, size="2x1", dpi=203) == [
        ("]C0", "A-01-02-03", "A-01-02-03"),
        ("]d1", "A-01-02-03", "A-01-02-03"),
    ]


@pytest.mark.parametrize(
    ("kind", "data", "error"),
    [
        ("item", {"gtin": GTIN, "lot": "A^XZ"}, InvalidLabelData),
        ("item", {"gtin": GTIN, "serial": "S~JA"}, InvalidLabelData),
        ("item", {"gtin": GTIN, "lot": "A#1B"}, InvalidLabelData),  # '#' is the DataMatrix escape
        ("item", {"gtin": GTIN, "lot": "批号1"}, InvalidLabelData),
        ("item", {"gtin": GTIN, "lot": "X" * 21}, InvalidLabelData),
        ("item", {"gtin": "09501101530004"}, InvalidGtin),
        ("item", {"gtin": GTIN, "expiry": "2026-13-01"}, InvalidLabelData),
        ("sscc", {"sscc": "309501100000001539"}, InvalidSscc),
        ("sscc", {"sscc": "309501100000001538", "content_gtin": GTIN}, InvalidLabelData),  # (02) needs (37)
        ("location", {"code": "A-01^XZ"}, InvalidLabelData),
        ("lpn", {"lpn": ""}, InvalidLabelData),
    ],
)
def test_data_that_would_not_scan_back_is_refused(kind, data, error):
    with pytest.raises(error):
        render_label(kind, data)


def test_a_code_too_long_for_the_label_is_refused_not_clipped():
    with pytest.raises(InvalidLabelData, match="too long for a 2x1 label"):
        render_label("location", {"code": "AISLE-12-RACK-34-L5"}, size="2x1")


def test_unknown_kind_size_or_font_is_refused():
    with pytest.raises(UnknownLabelTemplate):
        render_label("pallet", {})
    with pytest.raises(UnknownLabelTemplate, match="offered: 4x6@203, 4x6@300, 4x2@203, 4x2@300"):
        render_label("sscc", {"sscc": "309501100000001538"}, size="2x1")
    with pytest.raises(InvalidLabelData):
        render_label("lpn", {"lpn": "L1"}, unicode_font="E:X.TTF^XZ")


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda t: t.replace("^FH_^FD${lot_line}", "^FD${lot_line}"), "^FH_"),
        (lambda t: t.replace(",,,,#^FD", ",,,,_^FD"), "escape #"),
        (lambda t: t.replace("^CI28", ""), "CI28"),
        (lambda t: t + "^XA^XZ", "exactly one"),
        (lambda t: t.replace("${lot_line}", "${lot_line}${price}"), "price"),
    ],
)
def test_a_template_edit_that_breaks_escaping_is_refused(tmp_path: Path, edit, reason):
    source = (TEMPLATES_DIR / "item" / "4x6_203dpi.zpl").read_text()
    (tmp_path / "item").mkdir()
    (tmp_path / "item" / "4x6_203dpi.zpl").write_text(edit(source))
    with pytest.raises(UnknownLabelTemplate, match=re.escape(reason)):
        render_label("item", {"gtin": GTIN, "lot": "L1"}, templates_dir=tmp_path)


def test_a_font_downloaded_with_font_download_zpl_is_the_one_the_label_uses():
    from udipick.integrations.labels.preview import render_png
    from udipick.integrations.labels.render import font_download_zpl

    dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not dejavu.exists():
        pytest.skip("DejaVu Sans is not installed")
    command = font_download_zpl(dejavu.read_bytes())
    assert command.startswith(b"~DYE:NOTOSANSSC,B,T,%d,," % dejavu.stat().st_size)
    label = render_label("lpn", {"lpn": "LPN1", "description": "Inbound"})
    assert render_png(command + label, fonts={"E:NOTOSANSSC.TTF": dejavu.read_bytes()}).startswith(b"\x89PNG")
    with pytest.raises(InvalidLabelData):
        font_download_zpl(b"", "E:X.OTF")
