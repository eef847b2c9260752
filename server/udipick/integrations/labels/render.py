"""Render a label template to ZPL II that scans back to exactly the data it was made from.

Templates are plain ZPL files under ``label_templates/<kind>/<size>_<dpi>dpi.zpl`` with
``string.Template`` placeholders (``${lot}``); a warehouse's staff can edit them (see
``label_templates/README.md``). The renderer owns what must not be left to a template:

* every value is escaped for the field it lands in (``encoding.py``), and the template is
  checked to declare the escapes that escaping relies on (``^FH_`` before a text placeholder,
  ``#`` as the ``^BX`` escape character, ``^BC`` in mode N, ``^CI28``, one ``^XA``/``^XZ``);
* GS1 data is validated (GTIN and SSCC check digits, set 82 characters, AI pairing) before a
  single byte is produced, so a label either scans back unchanged or is refused with a
  ``DomainError`` saying why;
* a Code 128 that would run off the label for this size is refused, not clipped.

No database, no network, no clock: everything arrives in ``data`` (dates as ``datetime.date``
or ``YYMMDD``).
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from udipick.domain.barcodes.ahm import AhmCode, build_ahm, parse_ahm
from udipick.domain.barcodes.faults import Fault
from udipick.domain.barcodes.ma import MaCode, build_ma, parse_ma
from udipick.domain.errors import InvalidLabelData, UnknownLabelTemplate
from udipick.domain.gs1_numbers import validate_gtin14, validate_sscc
from udipick.domain.udi_di import di_fault
from udipick.integrations.labels.encoding import (
    Code128Data,
    Gs1Element,
    code128_data,
    escape_text,
    gs1_128_data,
    gs1_datamatrix_data,
    gs1_hri,
    plain_datamatrix_data,
)

#: ``label_templates/`` at the repository root; pass ``templates_dir`` to use a site's own copy.
TEMPLATES_DIR = Path(__file__).resolve().parents[4] / "label_templates"
#: Name of the TrueType font with CJK glyphs installed on the printers (see ``font_download_zpl``).
DEFAULT_UNICODE_FONT = "E:NOTOSANSSC.TTF"

KINDS = ("item", "sscc", "location", "lpn")
SIZES = ("4x6", "4x2", "2x1")
DPIS = (203, 300)
#: label size in inches (width, height)
SIZE_INCHES: Mapping[str, tuple[int, int]] = {"4x6": (4, 6), "4x2": (4, 2), "2x1": (2, 1)}

_FONT_NAME = re.compile(r"[REBA]:[A-Z0-9_\-]{1,16}\.(TTF|TTE|FNT|OTF)")
_TEXT_MAX = 200  # a safety bound; templates clip text to their boxes with ^TB


def label_dots(size: str, dpi: int) -> tuple[int, int]:
    """Printable width and length in dots (``^PW``/``^LL`` of the templates)."""
    if size not in SIZE_INCHES or dpi not in DPIS:
        raise UnknownLabelTemplate(f"No label size {size!r} at {dpi} dpi.", size=size, dpi=dpi)
    w, h = SIZE_INCHES[size]
    return w * dpi, h * dpi


def template_path(kind: str, size: str, dpi: int, templates_dir: Path | None = None) -> Path:
    return (templates_dir or TEMPLATES_DIR) / kind / f"{size}_{dpi}dpi.zpl"


def available_labels(templates_dir: Path | None = None) -> list[tuple[str, str, int]]:
    """Every (kind, size, dpi) that has a template file, in a stable order."""
    return [
        (kind, size, dpi)
        for kind in KINDS
        for size in SIZES
        for dpi in DPIS
        if template_path(kind, size, dpi, templates_dir).is_file()
    ]


# ---- values -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Value:
    """A placeholder's value and the kind of field it may only appear in."""

    role: str  # text | gs1_datamatrix | datamatrix | code128 | font
    text: str = ""
    code128: Code128Data | None = None


def _text(data: Mapping[str, object], key: str, max_length: int = _TEXT_MAX) -> str:
    value = data.get(key)
    if value is None:
        return ""
    text = str(value).strip()
    return text[:max_length]


def _lines(data: Mapping[str, object], key: str, count: int) -> list[str]:
    value = data.get(key)
    if value is None:
        lines: list[str] = []
    elif isinstance(value, str):
        lines = value.splitlines()
    elif isinstance(value, Sequence):
        lines = [str(v) for v in value]
    else:
        lines = [str(value)]
    lines = [line.strip()[:_TEXT_MAX] for line in lines if line.strip()]
    if len(lines) > count:  # keep every word: fold the overflow into the last line
        lines = lines[: count - 1] + [", ".join(lines[count - 1 :])[:_TEXT_MAX]]
    return lines + [""] * (count - len(lines))


def _gs1_text(data: Mapping[str, object], key: str, ai: str, max_length: int = 20) -> str:
    text = _text(data, key, max_length=10_000)
    if len(text) > max_length:
        raise InvalidLabelData(
            f"({ai}) {key} {text!r} is longer than the {max_length} characters GS1 allows.",
            field=key,
            value=text,
            reason="length",
        )
    if text:
        Gs1Element(ai, text).check()
    return text


def _expiry(data: Mapping[str, object], key: str = "expiry") -> tuple[str, str]:
    """(YYMMDD for AI 17, ISO text for people). ``YYMMDD`` with day 00 means end of month."""
    value = data.get(key)
    if value is None or value == "":
        return "", ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.strftime("%y%m%d"), value.isoformat()
    text = str(value).strip()
    m = re.fullmatch(r"(\d{2})(\d{2})(\d{2})", text) or re.fullmatch(r"\d{2}(\d{2})-(\d{2})-(\d{2})", text)
    if not m:
        raise InvalidLabelData(
            f"{key} {text!r} is not a date (YYYY-MM-DD or YYMMDD).", field=key, value=text, reason="date"
        )
    yy, mm, dd = m.groups()
    try:
        human = dt.date(2000 + int(yy), int(mm), int(dd) or 1)
    except ValueError:
        raise InvalidLabelData(f"{key} {text!r} is not a valid date.", field=key, value=text, reason="date") from None
    return yy + mm + dd, (human.isoformat() if dd != "00" else human.strftime("%Y-%m"))


def _line(caption: str, value: str) -> str:
    return f"{caption} {value}" if value else ""


@dataclass(frozen=True, slots=True)
class _AgencyLabel:
    """How an issuing agency's code is spelled on an item label: the data key of its DI, its data unit
    names for lot, serial and expiry, and how to build and read its code."""

    agency: str  # "ma" | "ahm"
    key: str  # the label data key holding the DI
    lot: str
    serial: str
    expiry: str
    build: Callable[[str, str | None, str | None, dt.date | None], str]
    read: Callable[[str, dt.date], tuple[str, str | None, str | None, dt.date | None]]


def _ma_build(di: str, lot: str | None, serial: str | None, expiry: dt.date | None) -> str:
    return build_ma(MaCode(di=di, lot=lot, serial=serial, expiry_date=expiry))


def _ma_read(text: str, today: dt.date) -> tuple[str, str | None, str | None, dt.date | None]:
    code = parse_ma(text, today)
    return code.di, code.lot, code.serial, code.expiry


def _ahm_build(di: str, lot: str | None, serial: str | None, expiry: dt.date | None) -> str:
    return build_ahm(AhmCode(di=di, lot=lot, serial=serial, expiry_date=expiry))


def _ahm_read(text: str, today: dt.date) -> tuple[str, str | None, str | None, dt.date | None]:
    code = parse_ahm(text, today)
    return code.di, code.lot, code.serial, code.expiry


_AGENCY_LABELS: Mapping[str, _AgencyLabel] = {
    # MA (IDcode): .L lot, .S serial, .E expiry (docs/ma_codes.md)
    "ma": _AgencyLabel("ma", "ma_di", "L", "S", "E", _ma_build, _ma_read),
    # AHM (Alibaba Health): .BN lot, .SN serial, .ED expiry (docs/ahm_codes.md, udipick's reading)
    "ahm": _AgencyLabel("ahm", "ahm_di", "BN", "SN", "ED", _ahm_build, _ahm_read),
}


def _agency_item_values(data: Mapping[str, object], spec: _AgencyLabel) -> dict[str, _Value]:
    """An item registered with MA (IDcode) or AHM (Alibaba Health): its UDI is the agency's code (``MA.…``
    with ``.L`` lot, ``.S`` serial, ``.E`` expiry; ``AHM.…`` with ``.BN``, ``.SN``, ``.ED``; dates of 8
    digits) in a Data Matrix without FNC1 (not GS1 data), as docs/ma_codes.md and docs/ahm_codes.md
    describe; it reads back through ``interpret`` to the same fields, or the label is refused."""
    name = spec.agency.upper()
    di = _text(data, spec.key, 10_000)
    if (fault := di_fault(spec.agency, di)) is not None:
        raise InvalidLabelData(f"{fault}.", field=spec.key, value=di, reason="di")
    fields: dict[str, str] = {}
    for key, unit in (("lot", spec.lot), ("serial", spec.serial)):
        value = _text(data, key, 10_000)
        if value and not (value.isascii() and value.isalnum() and len(value) <= 20):
            raise InvalidLabelData(
                f"{name} {key} (.{unit}) {value!r} must be 1 to 20 ASCII letters and digits.",
                field=key,
                value=value,
                reason="charset",
            )
        fields[key] = value
    _, expiry_text = _expiry(data)
    if expiry_text and len(expiry_text) != 10:
        raise InvalidLabelData(
            f"{name} expiry (.{spec.expiry}) needs a whole date, not {expiry_text!r} (no day 00).",
            field="expiry",
            value=expiry_text,
            reason="date",
        )
    expiry = dt.date.fromisoformat(expiry_text) if expiry_text else None
    fields_in = (di, fields["lot"] or None, fields["serial"] or None, expiry)
    text = spec.build(*fields_in)
    try:
        read_back = spec.read(text, expiry or dt.date(2000, 1, 1))
    except Fault:
        read_back = None
    if read_back != fields_in:  # the label must read back as its data
        raise InvalidLabelData(
            f"{name} code {text!r} would not read back as its data.", field=spec.key, value=di, reason="di"
        )
    lines = {
        "item_name": _text(data, "item_name"),
        "gtin": "",
        "lot": fields["lot"],
        "serial": fields["serial"],
        "expiry": expiry_text,
        "gtin_line": _line(name, di),
        "lot_line": _line(f"LOT (.{spec.lot})", fields["lot"]),
        "expiry_line": _line(f"EXP (.{spec.expiry})", expiry_text),
        "serial_line": _line(f"SN (.{spec.serial})", fields["serial"]),
        "hri": text,
    }
    values = {k: _Value("text", v) for k, v in lines.items()}
    values["udi_datamatrix"] = _Value("datamatrix", text)
    return values


def _item_values(data: Mapping[str, object]) -> dict[str, _Value]:
    for spec in _AGENCY_LABELS.values():
        if _text(data, spec.key, 10_000):
            return _agency_item_values(data, spec)
    gtin_raw = _text(data, "gtin", 10_000)
    if not gtin_raw:
        raise InvalidLabelData("An item label needs a GTIN.", field="gtin", value=None, reason="missing")
    gtin = validate_gtin14(gtin_raw)
    lot = _gs1_text(data, "lot", "10")
    serial = _gs1_text(data, "serial", "21")
    expiry, expiry_text = _expiry(data)
    elements = [Gs1Element("01", gtin)]
    if expiry:
        elements.append(Gs1Element("17", expiry))
    if lot:
        elements.append(Gs1Element("10", lot))
    if serial:
        elements.append(Gs1Element("21", serial))
    text = {
        "item_name": _text(data, "item_name"),
        "gtin": gtin,
        "lot": lot,
        "serial": serial,
        "expiry": expiry_text,
        "gtin_line": _line("GTIN (01)", gtin),
        "lot_line": _line("LOT (10)", lot),
        "expiry_line": _line("EXP (17)", expiry_text),
        "serial_line": _line("SN (21)", serial),
        "hri": gs1_hri(elements),
    }
    values = {k: _Value("text", v) for k, v in text.items()}
    values["udi_datamatrix"] = _Value("gs1_datamatrix", gs1_datamatrix_data(elements))
    return values


def _sscc_values(data: Mapping[str, object]) -> dict[str, _Value]:
    sscc = validate_sscc(_text(data, "sscc", 10_000))
    content_raw = _text(data, "content_gtin", 10_000)
    count = _text(data, "count", 10_000)
    if bool(content_raw) != bool(count):
        raise InvalidLabelData(
            "(02) content GTIN and (37) count go together on an SSCC label: give both or neither.",
            field="count" if content_raw else "content_gtin",
            value=None,
            reason="pairing",
        )
    if count and not (count.isascii() and count.isdigit() and len(count) <= 8 and int(count) > 0):
        raise InvalidLabelData(
            f"(37) count {count!r} must be 1 to 8 digits.", field="count", value=count, reason="count"
        )
    content = validate_gtin14(content_raw) if content_raw else ""
    lot = _gs1_text(data, "lot", "10")
    expiry, expiry_text = _expiry(data)
    content_elements = [Gs1Element("02", content), Gs1Element("37", count)] if content else []
    batch_elements = ([Gs1Element("17", expiry)] if expiry else []) + ([Gs1Element("10", lot)] if lot else [])
    sscc_element = [Gs1Element("00", sscc)]
    values = {
        k: _Value("text", v)
        for k, v in {
            "sscc": sscc,
            "sscc_hri": gs1_hri(sscc_element),
            "content_gtin": content,
            "count": count,
            "lot": lot,
            "expiry": expiry_text,
            "content_line": _line("CONTENT", content),
            "count_line": _line("COUNT", count),
            "lot_line": _line("BATCH/LOT", lot),
            "expiry_line": _line("EXPIRY", expiry_text),
            "content_hri": gs1_hri(content_elements) if content_elements else "",
            "batch_hri": gs1_hri(batch_elements) if batch_elements else "",
            "from_name": _text(data, "from_name"),
            "to_name": _text(data, "to_name"),
            "carrier_name": _text(data, "carrier_name"),
            "carrier_service": _text(data, "carrier_service"),
            "reference": _text(data, "reference"),
        }.items()
    }
    for key in ("from_address", "to_address"):
        for i, line in enumerate(_lines(data, key, 3), start=1):
            values[f"{key}_{i}"] = _Value("text", line)
    values["sscc_barcode"] = _Value("code128", code128=gs1_128_data(sscc_element))
    values["content_barcode"] = _Value("code128", code128=gs1_128_data(content_elements) if content_elements else None)
    values["batch_barcode"] = _Value("code128", code128=gs1_128_data(batch_elements) if batch_elements else None)
    return values


def _code_values(key: str) -> Callable[[Mapping[str, object]], dict[str, _Value]]:
    def values(data: Mapping[str, object]) -> dict[str, _Value]:
        code = _text(data, key, 10_000)
        return {
            key: _Value("text", code),
            "description": _Value("text", _text(data, "description")),
            f"{key}_barcode": _Value("code128", code128=code128_data(code, field=key)),
            f"{key}_datamatrix": _Value("datamatrix", plain_datamatrix_data(code, field=key)),
        }

    return values


_VALUES: Mapping[str, Callable[[Mapping[str, object]], dict[str, _Value]]] = {
    "item": _item_values,
    "sscc": _sscc_values,
    "location": _code_values("code"),
    "lpn": _code_values("lpn"),
}


# ---- template checks and substitution ------------------------------------------------------


def _params(chunk: str, command: str) -> list[str] | None:
    m = re.search(re.escape(command) + r"([^\^~]*)", chunk)
    return None if m is None else m.group(1).split(",")


def _broken(kind: str, size: str, dpi: int, reason: str) -> UnknownLabelTemplate:
    return UnknownLabelTemplate(
        f"Label template {kind}/{size}_{dpi}dpi.zpl cannot be used: {reason}",
        kind=kind,
        size=size,
        dpi=dpi,
        reason=reason,
    )


def render_label(
    kind: str,
    data: Mapping[str, object],
    *,
    size: str = "4x6",
    dpi: int = 203,
    templates_dir: Path | None = None,
    unicode_font: str = DEFAULT_UNICODE_FONT,
) -> bytes:
    """ZPL II (bytes, UTF-8 under ``^CI28``) for one ``kind`` label filled from ``data``.

    ``kind``: ``item`` (keys ``gtin``, ``lot``, ``expiry``, ``serial``, ``item_name``; with ``ma_di`` or
    ``ahm_di`` instead of ``gtin``, the MA or AHM code of an item registered with that agency),
    ``sscc`` (``sscc``, ``content_gtin``+``count``, ``lot``, ``expiry``, ``from_name``,
    ``from_address``, ``to_name``, ``to_address``, ``carrier_name``, ``carrier_service``,
    ``reference``), ``location`` (``code``, ``description``), ``lpn`` (``lpn``,
    ``description``). Addresses are a string with newlines or a list of up to 3 lines.

    Raises ``UnknownLabelTemplate`` (no such kind/size/dpi, or a template that breaks the
    escaping rules), ``InvalidLabelData``, ``InvalidGtin`` or ``InvalidSscc``.
    """
    if kind not in _VALUES:
        raise UnknownLabelTemplate(
            f"No label kind {kind!r}; kinds are {', '.join(KINDS)}.", kind=kind, size=size, dpi=dpi
        )
    width, _ = label_dots(size, dpi)
    path = template_path(kind, size, dpi, templates_dir)
    if not path.is_file():
        offered = ", ".join(f"{s}@{d}" for k, s, d in available_labels(templates_dir) if k == kind)
        raise UnknownLabelTemplate(
            f"No {kind} label template for {size} at {dpi} dpi (offered: {offered or 'none'}).",
            kind=kind,
            size=size,
            dpi=dpi,
        )
    if not _FONT_NAME.fullmatch(unicode_font):
        raise InvalidLabelData(
            f"Printer font name {unicode_font!r} is not like E:NOTOSANSSC.TTF.",
            field="unicode_font",
            value=unicode_font,
            reason="font",
        )
    source = path.read_text(encoding="utf-8")
    values = _VALUES[kind](data)
    values["unicode_font"] = _Value("font", unicode_font)
    return _fill(source, values, kind=kind, size=size, dpi=dpi, width=width)


def _fill(source: str, values: Mapping[str, _Value], *, kind: str, size: str, dpi: int, width: int) -> bytes:
    if source.count("^XA") != 1 or source.count("^XZ") != 1 or source.index("^XA") > source.index("^XZ"):
        raise _broken(kind, size, dpi, "it must hold exactly one ^XA ... ^XZ label format.")
    if "^CI28" not in source:
        raise _broken(kind, size, dpi, "it must select UTF-8 with ^CI28.")
    pattern = string.Template.pattern
    unknown = sorted(
        {
            m.group("named") or m.group("braced")
            for m in pattern.finditer(source)
            if (m.group("named") or m.group("braced")) and (m.group("named") or m.group("braced")) not in values
        }
    )
    if unknown:
        raise _broken(kind, size, dpi, f"unknown placeholder(s) {', '.join(unknown)}.")
    chunks = re.split(r"(?<=\^FS)", source)
    out: list[str] = []
    module = 2
    for chunk in chunks:
        by = re.findall(r"\^BY(\d+)", chunk)
        if by:
            module = int(by[-1])
        drop = False
        for m in pattern.finditer(chunk):
            name = m.group("named") or m.group("braced")
            if not name:
                continue
            value = values[name]
            before = chunk[: m.start()]
            if value.role == "text":
                fd = before.rfind("^FD")
                if fd < 4 or before[fd - 4 : fd] != "^FH_":
                    raise _broken(kind, size, dpi, f"${{{name}}} must sit in a ^FH_^FD...^FS field.")
            elif value.role == "font":
                continue
            else:
                if "^FH" in chunk:
                    raise _broken(kind, size, dpi, f"${{{name}}} is barcode data: its field must not use ^FH.")
                if value.role in ("gs1_datamatrix", "datamatrix"):
                    params = _params(chunk, "^BX")
                    if params is None or len(params) < 7 or params[6] != "#":
                        raise _broken(kind, size, dpi, f"${{{name}}} needs ^BXN,<module>,200,,,,# (escape #).")
                else:
                    params = _params(chunk, "^BC")
                    if params is None or (len(params) >= 6 and params[5] not in ("", "N")):
                        raise _broken(kind, size, dpi, f"${{{name}}} needs ^BC in mode N (^BCN,<height>,N,N,N,N).")
                    if value.code128 is None:
                        drop = True
                        continue
                    fo = re.search(r"\^FO(\d+),(\d+)", chunk)
                    x = int(fo.group(1)) if fo else 0
                    needed = x + (value.code128.modules() + 10) * module
                    if needed > width:
                        raise InvalidLabelData(
                            f"The {name.replace('_', ' ')} is too long for a {size} label: it needs"
                            f" {needed} of {width} dots. Use a larger label or shorter data.",
                            field=name,
                            value=None,
                            reason="too-long",
                            size=size,
                        )
        if drop:
            continue
        out.append(chunk)
    mapping = {
        name: (v.code128.zpl if v.code128 is not None else "")
        if v.role == "code128"
        else escape_text(v.text)
        if v.role == "text"
        else v.text
        for name, v in values.items()
    }
    return string.Template("".join(out)).substitute(mapping).encode("utf-8")


def font_download_zpl(font: bytes, name: str = DEFAULT_UNICODE_FONT) -> bytes:
    """``~DY`` command storing a TrueType font on a printer once, under ``name``.

    Send it with ``send_zpl`` when a printer is commissioned; labels then refer to the font by
    name (``^CWJ,E:NOTOSANSSC.TTF``) and stay small.
    """
    if not _FONT_NAME.fullmatch(name):
        raise InvalidLabelData(
            f"Printer font name {name!r} is not like E:NOTOSANSSC.TTF.", field="name", value=name, reason="font"
        )
    device, file = name.split(":", 1)
    stem, ext = file.rsplit(".", 1)
    if ext not in ("TTF", "TTE"):
        raise InvalidLabelData(
            f"Only TrueType fonts (.TTF, .TTE) can be downloaded, not {name!r}.",
            field="name",
            value=name,
            reason="font",
        )
    kind = {"TTF": "T", "TTE": "E"}[ext]
    return f"~DY{device}:{stem},B,{kind},{len(font)},,".encode("ascii") + font


@dataclass(frozen=True)
class ZplTemplates:
    """``services.printing.LabelRenderer`` from the ZPL templates: what ``api/app.py`` hands the services.

    ``templates_dir`` and ``unicode_font`` as for ``render_label`` (a site's own copy of the templates,
    the CJK font its printers hold).
    """

    templates_dir: Path | None = None
    unicode_font: str = DEFAULT_UNICODE_FONT

    def render(self, kind: str, data: Mapping[str, object], *, size: str, dpi: int) -> bytes:
        return render_label(
            kind, data, size=size, dpi=dpi, templates_dir=self.templates_dir, unicode_font=self.unicode_font
        )

    def available(self) -> list[tuple[str, str, int]]:
        return available_labels(self.templates_dir)
