"""Field data for ZPL: escaped text, GS1 DataMatrix and GS1-128 / Code 128 data strings.

Every function here is pure and returns ASCII that is safe to put between ``^FD`` and ``^FS``
of the field kind it is made for. Nothing from the ERP or a user can become a ZPL command:

* text goes through ``^FH_`` hexadecimal escapes: anything but plain printable ASCII (and
  ``^``, ``~``, ``_``, ``\\`` themselves) is written as ``_XX`` per UTF-8 byte, which the
  printer turns back into the character under ``^CI28``;
* barcode data is validated against the GS1 character set 82 (or a stricter set for internal
  codes), which contains neither ``^`` nor ``~``; the only escapes in it are the ones written
  here: ``#1`` (FNC1, with ``#`` declared as the ``^BX`` escape character) and the ``^BC``
  invocation codes ``>;`` ``>:`` (start C / B), ``>5`` ``>6`` (switch to C / B), ``>8`` (FNC1)
  and ``>0`` (a literal ``>`` in subset B).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from udipick.domain.errors import InvalidLabelData

#: GS1 AI encodable character set 82 (GS1 General Specifications figure 7.11-1).
GS1_CHARSET_82 = frozenset("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")
#: Internal codes (locations, LPNs): what a keyboard-wedge scanner types back unchanged.
INTERNAL_CODE_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-./_:+")
#: AIs whose data has a fixed length, so no FNC1 separator follows them (GS1 GS 7.8.5).
FIXED_LENGTH_AI_PREFIXES = (
    "00",
    "01",
    "02",
    "03",
    "11",
    "12",
    "13",
    "15",
    "16",
    "17",
    "20",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "41",
)

#: escape character declared in every ``^BX`` of the templates (7th parameter); outside set 82
DATAMATRIX_ESCAPE = "#"
#: hexadecimal indicator declared with ``^FH_`` in front of every text field
FH_INDICATOR = "_"

_TEXT_UNSAFE = frozenset("^~_\\")


def escape_text(value: str) -> str:
    """``value`` as ``^FH_`` field data that prints exactly ``value`` (under ``^CI28``).

    Control characters (tab, newline, NUL...) would be printer controls, not text: they become
    a space. Everything outside printable ASCII, and the four ZPL-significant characters, is
    hex-escaped byte by byte from its UTF-8 encoding.
    """
    out: list[str] = []
    for char in value:
        code = ord(char)
        if code < 0x20 or 0x7F <= code < 0xA0:
            out.append(" ")
        elif code < 0x7F and char not in _TEXT_UNSAFE:
            out.append(char)
        else:
            out.extend(f"{FH_INDICATOR}{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def is_fixed_length_ai(ai: str) -> bool:
    return ai.startswith(FIXED_LENGTH_AI_PREFIXES) and not (ai.startswith("41") and ai[2:3] not in "01234567")


@dataclass(frozen=True, slots=True)
class Gs1Element:
    """One GS1 element: application identifier and its data (already validated by the caller)."""

    ai: str
    value: str

    def check(self) -> None:
        bad = [c for c in self.value if c not in GS1_CHARSET_82]
        if not self.value or bad:
            raise InvalidLabelData(
                f"({self.ai}) {self.value!r} cannot be encoded in a GS1 barcode:"
                f" {'it is empty' if not self.value else 'character ' + repr(bad[0]) + ' is not in GS1 set 82'}.",
                field=self.ai,
                value=self.value,
                reason="charset",
            )


def _ordered(elements: Sequence[Gs1Element]) -> list[Gs1Element]:
    """Fixed-length AIs first: each variable-length AI before the last one costs an FNC1."""
    for element in elements:
        element.check()
    fixed = [e for e in elements if is_fixed_length_ai(e.ai)]
    variable = [e for e in elements if not is_fixed_length_ai(e.ai)]
    return fixed + variable


def gs1_hri(elements: Sequence[Gs1Element]) -> str:
    """Human-readable interpretation, ``(01)09501101530003(10)ABC``, in encoded order."""
    return "".join(f"({e.ai}){e.value}" for e in _ordered(elements))


def gs1_element_string(elements: Sequence[Gs1Element], separator: str = "\x1d") -> str:
    """The element string a scanner transmits after the symbology identifier (GS between fields)."""
    ordered = _ordered(elements)
    parts = []
    for i, e in enumerate(ordered):
        parts.append(e.ai + e.value)
        if not is_fixed_length_ai(e.ai) and i < len(ordered) - 1:
            parts.append(separator)
    return "".join(parts)


def gs1_datamatrix_data(elements: Sequence[Gs1Element]) -> str:
    """``^FD`` data for ``^BXN,h,200,,,,#``: FNC1 in first position, FNC1 after variable fields."""
    return f"{DATAMATRIX_ESCAPE}1" + gs1_element_string(elements, separator=f"{DATAMATRIX_ESCAPE}1")


def plain_datamatrix_data(value: str, *, field: str) -> str:
    """``^FD`` data for a non-GS1 DataMatrix (no leading FNC1) of an internal code."""
    check_internal_code(value, field=field)
    return value


def check_internal_code(value: str, *, field: str, max_length: int = 20) -> str:
    bad = [c for c in value if c not in INTERNAL_CODE_CHARS]
    if not value or bad or len(value) > max_length:
        reason = "empty" if not value else ("length" if not bad else "charset")
        raise InvalidLabelData(
            f"{field} {value!r} cannot be printed as a barcode: use 1 to {max_length} of A-Z a-z 0-9 - . / _ : +.",
            field=field,
            value=value,
            reason=reason,
        )
    return value


@dataclass(frozen=True, slots=True)
class Code128Data:
    """ZPL ``^BC`` field data (mode N) and the number of symbol characters it makes."""

    zpl: str
    #: data symbols, start and check character included, stop excluded
    symbols: int

    def modules(self) -> int:
        """Width in modules without quiet zones (stop pattern is 13 modules)."""
        return 11 * self.symbols + 13


_FNC1 = object()


def _digit_run(tokens: list[object], i: int) -> int:
    n = 0
    while i + n < len(tokens) and isinstance(token := tokens[i + n], str) and token.isdigit():
        n += 1
    return n


def _encode_code128(tokens: list[object]) -> Code128Data:
    """Subsets B and C with explicit invocation codes, so nothing is left to the printer.

    In subset C digits go in pairs: an odd digit or a letter there is silently dropped by the
    printer, so C is used only for whole pairs and B for everything else.
    """
    out: list[str] = []
    symbols = 2  # start + check
    i = 0
    n = len(tokens)
    first_digits = _digit_run(tokens, 1 if tokens and tokens[0] is _FNC1 else 0)
    set_c = first_digits >= 4 or (first_digits >= 2 and first_digits + (tokens[0] is _FNC1) == n)
    out.append(">;" if set_c else ">:")
    while i < n:
        token = tokens[i]
        if token is _FNC1:
            out.append(">8")
            symbols += 1
            i += 1
            continue
        run = _digit_run(tokens, i)
        if set_c:
            if run >= 2:
                out.append(token + tokens[i + 1])  # type: ignore[operator]  # _digit_run found both to be digit strings
                symbols += 1
                i += 2
                continue
            out.append(">6")
            symbols += 1
            set_c = False
            continue
        if run >= 4 and run % 2 == 0:
            out.append(">5")
            symbols += 1
            set_c = True
            continue
        if run >= 5:  # odd run: one digit in B, then C for the pairs
            out.append(token)  # type: ignore[arg-type]  # _digit_run found it to be a digit string
            symbols += 1
            i += 1
            continue
        assert isinstance(token, str)
        out.append(">0" if token == ">" else token)
        symbols += 1
        i += 1
    return Code128Data("".join(out), symbols)


def gs1_128_data(elements: Sequence[Gs1Element]) -> Code128Data:
    """``^FD`` data for ``^BCN,h,N,N,N,N`` (mode N) making a GS1-128 symbol."""
    tokens: list[object] = [_FNC1]
    ordered = _ordered(elements)
    for i, e in enumerate(ordered):
        tokens.extend(e.ai + e.value)
        if not is_fixed_length_ai(e.ai) and i < len(ordered) - 1:
            tokens.append(_FNC1)
    return _encode_code128(tokens)


def code128_data(value: str, *, field: str) -> Code128Data:
    """``^FD`` data for a plain Code 128 (mode N) of an internal code."""
    check_internal_code(value, field=field)
    return _encode_code128(list(value))
