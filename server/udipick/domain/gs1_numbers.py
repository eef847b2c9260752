"""GS1 number arithmetic: the mod-10 check digit behind GTIN, SSCC and GLN.

Standard library only. A label printed with a wrong SSCC check digit is rejected by every
receiving dock that scans it, so the digit is computed (``make_sscc``) or verified
(``validate_sscc``) before anything reaches a printer (GS1 General Specifications 7.9.1).
"""

from __future__ import annotations

from udipick.domain.errors import InvalidGtin, InvalidSscc


def gs1_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit for ``digits`` (the number without its check digit).

    Weights 3,1,3,1... are applied from the rightmost digit, whatever the length, so one
    function serves GTIN-8/12/13/14, GLN (13) and SSCC (18).
    """
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"GS1 check digits are computed over digits only, got {digits!r}")
    codes = digits.encode()  # ASCII: each digit's byte is 48 + the digit (summed in C, not one int() each)
    tripled, single = codes[::-2], codes[-2::-2]  # weights 3, 1, 3, ... from the rightmost digit
    total = 3 * (sum(tripled) - 48 * len(tripled)) + sum(single) - 48 * len(single)
    return -total % 10


def sscc_check_digit(digits17: str) -> int:
    """Check digit of an SSCC given its first 17 digits (extension + company prefix + serial reference)."""
    if len(digits17) != 17 or not digits17.isascii() or not digits17.isdigit():
        raise InvalidSscc(f"An SSCC without its check digit has 17 digits, got {digits17!r}.", sscc=digits17)
    return gs1_check_digit(digits17)


def make_sscc(extension: int | str, company_prefix: str, serial_reference: int | str) -> str:
    """The 18-digit SSCC: extension digit, GS1 company prefix, serial reference, check digit.

    The serial reference is zero-padded on the left to fill the 16 digits that the company
    prefix leaves (GS1 General Specifications 2.2.1).
    """
    ext = str(extension)
    if len(ext) != 1 or not ext.isdigit():
        raise InvalidSscc(f"The SSCC extension digit must be one digit 0-9, got {extension!r}.", sscc=None)
    if not (company_prefix.isascii() and company_prefix.isdigit() and 4 <= len(company_prefix) <= 12):
        raise InvalidSscc(f"A GS1 company prefix is 4 to 12 digits, got {company_prefix!r}.", sscc=None)
    serial = str(serial_reference)
    width = 16 - len(company_prefix)
    if not (serial.isascii() and serial.isdigit()) or len(serial) > width:
        raise InvalidSscc(
            f"With company prefix {company_prefix} the serial reference has at most {width} digits,"
            f" got {serial_reference!r}.",
            sscc=None,
        )
    digits17 = ext + company_prefix + serial.zfill(width)
    return digits17 + str(sscc_check_digit(digits17))


def validate_sscc(sscc: str) -> str:
    """Return ``sscc`` if it is 18 digits with a correct check digit, else raise ``InvalidSscc``."""
    if len(sscc) != 18 or not sscc.isascii() or not sscc.isdigit():
        raise InvalidSscc(f"An SSCC has 18 digits, got {sscc!r}.", sscc=sscc)
    expected = gs1_check_digit(sscc[:17])
    if int(sscc[17]) != expected:
        raise InvalidSscc(
            f"Invalid SSCC check digit for {sscc!r}: Expected {expected}, got {sscc[17]}.",
            sscc=sscc,
            expected=expected,
        )
    return sscc


def validate_gtin14(gtin: str) -> str:
    """Return the GTIN as 14 digits (shorter GTINs are left-padded) if its check digit is right."""
    if not gtin.isascii() or not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
        raise InvalidGtin(f"A GTIN has 8, 12, 13 or 14 digits, got {gtin!r}.", gtin=gtin)
    gtin14 = gtin.zfill(14)
    expected = gs1_check_digit(gtin14[:13])
    if int(gtin14[13]) != expected:
        raise InvalidGtin(
            f"Invalid GTIN check digit for {gtin!r}: Expected {expected}, got {gtin14[13]}.",
            gtin=gtin,
            expected=expected,
        )
    return gtin14
