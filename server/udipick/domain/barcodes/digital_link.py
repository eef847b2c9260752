"""GS1 Digital Link URIs (``https://brand.example/01/09520123456788/10/ABC?17=261231``).

The URI is taken apart the way the GS1 Barcode Syntax Engine does it (the stem ends at the
right-most primary key, key qualifiers in their fixed order, attributes in the query, fragment
ignored); every AI value then goes through biip and the same linters as a GS1-128 scan.
"""

from __future__ import annotations

import datetime as dt

from udipick.domain.barcodes import gs1
from udipick.domain.barcodes.faults import Fault
from udipick.domain.barcodes.scan import Element, ScanConfig

_URI_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%")
_BAD_DOMAIN_CHARACTERS = frozenset("_~?#@!$&'()*+,;=%")
_SCHEMES = ("https://", "HTTPS://", "http://", "HTTP://")

#: primary key -> allowed key-qualifier sequences (any ordered subsequence of one of them)
_PRIMARY_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "00": ((),),
    "01": (("22", "10", "21"), ("235",)),
    "253": ((),),
    "255": ((),),
    "401": ((),),
    "402": ((),),
    "414": (("254",), ("7040",)),
    "415": (("8020",),),
    "417": (("7040",),),
    "8003": ((),),
    "8004": (("7040",),),
    "8006": (("22", "10", "21"),),
    "8010": (("8011",),),
    "8013": ((),),
    "8017": (("8019",),),
    "8018": (("8019",),),
}

#: AIs the GS1 Barcode Syntax Dictionary does not permit as Digital Link data attributes
_NOT_ATTRIBUTES = frozenset(
    {
        "03",
        "21",
        "22",
        "235",
        "254",
        "7040",
        "7041",
        "8011",
        "8014",
        "8019",
        "8020",
        "8040",
        "8041",
        "8042",
        "8043",
        "8200",
    }
)

#: deprecated convenience alphas, only with ScanConfig.dl_convenience_alphas
_ALPHAS = {
    "cpid": "8010",
    "cpsn": "8011",
    "cpv": "22",
    "gcn": "255",
    "gdti": "253",
    "giai": "8004",
    "ginc": "401",
    "gln": "414",
    "glnx": "254",
    "gmn": "8013",
    "grai": "8003",
    "gsin": "402",
    "gsrn": "8018",
    "gsrnp": "8017",
    "gtin": "01",
    "itip": "8006",
    "lot": "10",
    "party": "417",
    "refno": "8020",
    "ser": "21",
    "srin": "8019",
    "sscc": "00",
}

_HEX = frozenset("0123456789abcdefABCDEF")


def looks_like_uri(text: str) -> bool:
    return text[:4].lower() == "http"


def _is_subsequence(items: list[str], sequence: tuple[str, ...]) -> bool:
    it = iter(sequence)
    return all(item in it for item in items)


def _valid_path(ais: list[str]) -> bool:
    alternatives = _PRIMARY_KEYS.get(ais[0])
    if alternatives is None:
        return False
    return any(_is_subsequence(ais[1:], alt) for alt in alternatives)


def _unescape(text: str, *, query: bool) -> str | None:
    """Percent-decoding as the GS1 engine does it; None when it decodes to NUL."""
    if "%" not in text and not (query and "+" in text):
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "%" and i + 2 < n and text[i + 1] in _HEX and text[i + 2] in _HEX:
            code = int(text[i + 1 : i + 3], 16)
            if code == 0:
                return None
            out.append(chr(code))
            i += 3
            continue
        out.append(" " if query and ch == "+" else ch)
        i += 1
    return "".join(out)


def _ai_of(segment: str, config: ScanConfig) -> str | None:
    if config.dl_convenience_alphas and 3 <= len(segment) <= 5 and not segment[0].isdigit():
        alpha = _ALPHAS.get(segment)
        if alpha is not None:
            return alpha
    found = gs1.lookup_ai(segment)
    return found.ai if found else None


def _element(ai: str, value: str, index: int, today: dt.date) -> Element:
    """Validate one AI value with biip's format and the linters; ``index`` is where it starts."""
    try:
        gs1.match_element(ai + value, today, full=True)
        gs1.lint(ai, value, today)
    except Fault as fault:
        raise Fault(fault.reason, index) from None
    return Element(ai, value)


def parse_digital_link(uri: str, today: dt.date, config: ScanConfig) -> tuple[Element, ...]:
    """AI data of a Digital Link URI, path first then query, in URI order."""
    for i, ch in enumerate(uri):
        if ch not in _URI_CHARACTERS:
            raise Fault(f"character {ch!r} is not allowed in a Digital Link URI", i)
    scheme = next((s for s in _SCHEMES if uri.startswith(s)), None)
    if scheme is None:
        raise Fault("a Digital Link URI starts with http:// or https:// (one case)", 0)
    host_at = len(scheme)
    slash = uri.find("/", host_at)
    if slash <= host_at:
        raise Fault("Digital Link URI has no domain or no path", host_at)
    for i in range(host_at, slash):
        if uri[i] in _BAD_DOMAIN_CHARACTERS:
            raise Fault(f"character {uri[i]!r} is not allowed in a domain name", i)

    end = len(uri)
    fragment = uri.find("#", slash)
    if fragment != -1:
        end = fragment
    query_at = uri.find("?", slash, end)
    path_end = query_at if query_at != -1 else end

    # segments of the path with their start index
    segments: list[tuple[str, int]] = []
    at = slash + 1
    while True:
        nxt = uri.find("/", at, path_end)
        if nxt == -1:
            segments.append((uri[at:path_end], at))
            break
        segments.append((uri[at:nxt], at))
        at = nxt + 1

    # walk back pair by pair from the end to the right-most primary key
    root = None
    k = len(segments) - 2
    while k >= 0:
        ai = _ai_of(segments[k][0], config)
        if ai is None:
            break
        if ai in _PRIMARY_KEYS:
            root = k
            break
        k -= 2
    if root is None:
        raise Fault("no GS1 primary key (such as /01/ or /00/) in the Digital Link path", slash)

    elements: list[Element] = []
    path_ais: list[str] = []
    for k in range(root, len(segments), 2):
        ai = _ai_of(segments[k][0], config)
        assert ai is not None
        raw_value, value_at = segments[k + 1]
        if not raw_value:
            raise Fault(f"AI {ai}: value is empty in the Digital Link path", value_at)
        value = _unescape(raw_value, query=False)
        if value is None:
            raise Fault(f"AI {ai}: value contains an encoded NUL", value_at)
        if ai == "01" and config.dl_zero_suppressed_gtin and len(value) in (8, 12, 13):
            value = value.zfill(14)
        elements.append(_element(ai, value, value_at, today))
        path_ais.append(ai)

    if query_at != -1:
        at = query_at + 1
        while at < end:
            amp = uri.find("&", at, end)
            stop = end if amp == -1 else amp
            pair = uri[at:stop]
            pair_at = at
            at = stop + 1
            if not pair or "=" not in pair:
                continue  # empty or singleton parameter
            key, raw_value = pair.split("=", 1)
            if not (key.isascii() and key.isdigit()) and key:
                continue  # non-AI parameter, ignored
            definition = gs1.lookup_ai(key)
            if definition is None:
                raise Fault(f"query parameter {key!r} is numeric but not a GS1 Application Identifier", pair_at)
            ai = definition.ai
            value_at = pair_at + len(key) + 1
            if not raw_value:
                raise Fault(f"AI {ai}: value is empty in the Digital Link query", value_at)
            value = _unescape(raw_value, query=True)
            if value is None:
                raise Fault(f"AI {ai}: value contains an encoded NUL", value_at)
            if ai == "01" and config.dl_zero_suppressed_gtin and len(value) in (8, 12, 13):
                value = value.zfill(14)
            if any(e.ai == ai for e in elements):
                raise Fault(f"AI {ai} appears twice in the Digital Link URI", pair_at)
            if ai in _NOT_ATTRIBUTES:
                raise Fault(f"AI {ai} is not allowed as a Digital Link query attribute", pair_at)
            for j in range(1, len(path_ais) + 1):
                if _valid_path([*path_ais[:j], ai, *path_ais[j:]]):
                    raise Fault(f"AI {ai} belongs in the Digital Link path, not the query", pair_at)
            elements.append(_element(ai, value, value_at, today))

    if not _valid_path(path_ais):
        raise Fault(
            "Digital Link path AIs " + "/".join(path_ais) + " are not a valid key-qualifier sequence",
            segments[root][1],
        )
    return tuple(elements)
