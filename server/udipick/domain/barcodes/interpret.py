"""``interpret``: what did the handheld just read?

One pure function from raw scanner output to a :class:`Scan`. It reads the AIM symbology
identifier, tolerates what keyboard-wedge scanners do to GS (drop it, replace it, send a leading
one), and picks the reading the identifier allows: GS1 element strings, a Digital Link URI, HIBC, MA,
AHM, a plain GTIN, or one of udipick's own labels. Anything else is refused with the position and the
reason, in words a picker can act on.
"""

from __future__ import annotations

import datetime as dt

from msgspec.structs import replace

from udipick.domain.barcodes import ahm, gs1, hibc, ma
from udipick.domain.barcodes.digital_link import looks_like_uri, parse_digital_link
from udipick.domain.barcodes.faults import Fault
from udipick.domain.barcodes.internal import match_internal
from udipick.domain.barcodes.scan import Element, Scan, ScanConfig, ScanKind
from udipick.domain.barcodes.symbology import GS1_MODES, GTIN_MODES, SymbologyFault, split_symbology
from udipick.domain.errors import DomainError, UnreadableBarcode

_DEFAULT_CONFIG = ScanConfig()
_GTIN_LENGTHS = frozenset({8, 12, 13, 14})
_LEADING = " \x1d"
_TRAILING = "\r\n\t"


def interpret(raw: str | bytes, *, today: dt.date, config: ScanConfig = _DEFAULT_CONFIG) -> Scan:
    """Interpret one scan. Raises :class:`UnreadableBarcode` and nothing else."""
    if isinstance(raw, (bytes, bytearray)):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            reason = f"byte 0x{raw[exc.start]:02X} is not UTF-8 text"
            raise UnreadableBarcode(reason, position=exc.start, reason=reason) from None
    elif isinstance(raw, str):
        text = raw
    else:
        reason = f"scan data must be text or bytes, not {type(raw).__name__}"
        raise UnreadableBarcode(reason, position=None, reason=reason)
    try:
        return _interpret(text, today, config)
    except Fault as fault:
        raise UnreadableBarcode(fault.reason, position=fault.index, reason=fault.reason) from None
    except DomainError:
        raise
    except Exception as exc:  # noqa: BLE001 - a scan must never take the request down
        reason = f"barcode could not be interpreted ({type(exc).__name__})"
        raise UnreadableBarcode(reason, position=None, reason=reason, internal=True) from exc


def _interpret(raw: str, today: dt.date, config: ScanConfig) -> Scan:
    end = len(raw.rstrip(_TRAILING))
    start = 0
    while start < end and raw[start] in _LEADING:
        start += 1
    text = raw[start:end]
    if not text:
        raise Fault("the scan is empty", start)
    try:
        aim, body = split_symbology(text)
    except SymbologyFault as exc:
        raise Fault(str(exc), start) from None
    at = start + (3 if aim else 0)

    if aim in GS1_MODES:
        return _gs1(raw, body, at, aim, today, config)
    if aim in GTIN_MODES:
        return _gtin_mode(raw, body, at, aim, today, config)
    if not body:
        raise Fault("no data after the symbology identifier", at)
    if looks_like_uri(body):
        return _digital_link(raw, body, at, aim, today, config)
    if body.startswith(("+", "*+")):
        return _hibc(raw, body, at, aim, today)
    if ma.looks_like_ma(body):
        return _ma(raw, body, at, aim, today)
    if ahm.looks_like_ahm(body):
        return _ahm(raw, body, at, aim, today)
    internal = None
    try:
        internal = match_internal(body, config)
    except Fault as fault:
        raise fault.shifted(at) from None
    if internal is not None:
        kind, code = internal
        return Scan(kind=kind, raw=raw, symbology=aim, code=code)
    if body.isascii() and body.isdigit() and len(body) in _GTIN_LENGTHS:
        return _plain_gtin(raw, body, at, aim)
    if aim is None and (body[:1].isdigit() or body.startswith(tuple(s for s in config.separator_stand_ins if s))):
        return _gs1(raw, body, at, aim, today, config)
    if body[:1].isascii() and body[:1].isdigit():
        raise Fault(f"symbology {aim} carries no GS1 data: not a GTIN, HIBC or udipick label", at)
    raise Fault("not a GS1, HIBC, MA, AHM, Digital Link or udipick barcode", at)


def _replace_stand_ins(body: str, config: ScanConfig) -> tuple[str, list[int] | None]:
    """Body with every separator stand-in turned into GS, and (when lengths change) a map from
    each index of the result back to the index in ``body``."""
    stand_ins = [s for s in config.separator_stand_ins if s and s in body]
    if config.space_is_separator and " " in body:
        stand_ins.append(" ")
    if not stand_ins:
        return body, None
    if all(len(s) == 1 for s in stand_ins):
        return body.translate({ord(s): gs1.GS for s in stand_ins}), None
    longest_first = sorted(stand_ins, key=len, reverse=True)
    out: list[str] = []
    where: list[int] = []
    i, n = 0, len(body)
    while i < n:
        for s in longest_first:
            if body.startswith(s, i):
                out.append(gs1.GS)
                where.append(i)
                i += len(s)
                break
        else:
            out.append(body[i])
            where.append(i)
            i += 1
    where.append(n)
    return "".join(out), where


def _gs1(raw: str, body: str, at: int, aim: str | None, today: dt.date, config: ScanConfig) -> Scan:
    text, where = _replace_stand_ins(body, config)
    try:
        located = gs1.parse_element_strings(text, today)
    except Fault as fault:
        if fault.index is None:
            raise
        index = fault.index if where is None else where[min(fault.index, len(where) - 1)]
        raise Fault(fault.reason, at + index) from None
    elements = tuple(item.element for item in located)
    kind: ScanKind = "sscc" if len(elements) == 1 and elements[0].ai == "00" else "gs1"
    return Scan(kind=kind, raw=raw, symbology=aim, elements=elements, **gs1.fields_from_elements(elements, today))


def _gtin_mode(raw: str, body: str, at: int, aim: str, today: dt.date, config: ScanConfig) -> Scan:
    """EAN/UPC: exactly the GTIN, maybe followed by a ``|]e0`` composite component (CC-A/B)."""
    linear, composite = body, None
    bar = body.find("|")
    if bar != -1:
        linear, composite = body[:bar], body[bar + 1 :]
    width = GTIN_MODES[aim]
    for i, ch in enumerate(linear):
        if not ("0" <= ch <= "9"):
            raise Fault(f"character {ch!r} is not a digit in a {aim} barcode", at + i)
    if len(linear) != width:
        raise Fault(f"symbology {aim} carries {width} digits, got {len(linear)}", at + len(linear))
    try:
        gtin = gs1.parse_plain_gtin(linear)
    except Fault as fault:
        raise fault.shifted(at) from None
    if composite is None:
        return Scan(kind="gtin", raw=raw, symbology=aim, gtin=gtin)
    cc_at = at + bar + 1
    if not composite.startswith("]e0"):
        raise Fault("composite component must start with ]e0", cc_at)
    scan = _gs1(raw, composite[3:], cc_at + 3, aim, today, config)
    elements = (Element("01", gtin), *scan.elements)
    return replace(scan, kind="gs1", gtin=gtin, elements=elements)


def _plain_gtin(raw: str, body: str, at: int, aim: str | None) -> Scan:
    try:
        gtin = gs1.parse_plain_gtin(body)
    except Fault as fault:
        raise fault.shifted(at) from None
    return Scan(kind="gtin", raw=raw, symbology=aim, gtin=gtin)


def _digital_link(raw: str, body: str, at: int, aim: str | None, today: dt.date, config: ScanConfig) -> Scan:
    try:
        elements = parse_digital_link(body, today, config)
    except Fault as fault:
        raise fault.shifted(at) from None
    return Scan(
        kind="digital_link",
        raw=raw,
        symbology=aim,
        elements=elements,
        digital_link_uri=body,
        **gs1.fields_from_elements(elements, today),
    )


def _hibc(raw: str, body: str, at: int, aim: str | None, today: dt.date) -> Scan:
    if body.startswith("*"):
        if not body.endswith("*") or len(body) < 3:
            raise Fault("Code 39 start character * has no matching stop character", at)
        body, at = body[1:-1], at + 1
    try:
        parsed = hibc.parse_hibc(body, today)
    except Fault as fault:
        raise fault.shifted(at) from None
    return Scan(
        kind="hibc",
        raw=raw,
        symbology=aim,
        lot=parsed.lot,
        serial=parsed.serial,
        expiry=parsed.expiry,
        expiry_time=parsed.expiry_time,
        production_date=parsed.production_date,
        quantity=parsed.quantity,
        hibc_lic=parsed.lic,
        hibc_pcn=parsed.pcn,
        hibc_uom=parsed.uom,
        hibc_check=parsed.check,
        hibc_link=parsed.link,
    )


def _ma(raw: str, body: str, at: int, aim: str | None, today: dt.date) -> Scan:
    try:
        parsed = ma.parse_ma(body, today)
    except Fault as fault:
        raise fault.shifted(at) from None
    return Scan(
        kind="ma",
        raw=raw,
        symbology=aim,
        di=parsed.di,
        lot=parsed.lot,
        serial=parsed.serial,
        production_date=parsed.production_date,
        expiry=parsed.expiry,
        validity_date=parsed.validity_date,
        sterilisation_lot=parsed.sterilisation_lot,
    )


def _ahm(raw: str, body: str, at: int, aim: str | None, today: dt.date) -> Scan:
    try:
        parsed = ahm.parse_ahm(body, today)
    except Fault as fault:
        raise fault.shifted(at) from None
    return Scan(
        kind="ahm",
        raw=raw,
        symbology=aim,
        di=parsed.di,
        lot=parsed.lot,
        serial=parsed.serial,
        production_date=parsed.production_date,
        expiry=parsed.expiry,
        best_before=parsed.best_before,
    )
