"""The site's GS1 identity, and the EPC URIs a trading partner resolves it by.

A trading partner's EPCIS repository matches udipick's events to its own by GS1 keys, so the places
udipick names must be GS1 keys too: the site's GLN (AI 414), and each storage location as that GLN
plus a GLN extension (AI 254, the location code). In the EPC URI form (GS1 EPC Tag Data Standard 2.0,
section 6.3.3) a GLN is split at the end of the GS1 company prefix, which the 13 digits alone do not
tell, so the site record carries its company prefix as well:

    GLN 0614141000005, prefix 0614141, location A-01-01  ->  urn:epc:id:sgln:0614141.00000.A-01-01
    the site itself (no extension)                        ->  urn:epc:id:sgln:0614141.00000.0
    the company as a party (AI 417, PGLN)                 ->  urn:epc:id:pgln:0614141.00000

An extension is 1-20 characters of GS1 character set 82, and ``0`` is reserved for "no extension";
``"%&/<>?`` are percent-escaped in the URI (TDS 2.0 table I.3.1-1). A location code outside that
(Chinese characters, spaces, longer than 20) cannot be an SGLN extension: ``sgln`` then answers
``None`` (``location_sgln``) and the caller names the site's SGLN instead. Partners' GLNs (customers, suppliers) come
without a known prefix length and are named as GS1 Digital Link URIs (``https://id.gs1.org/414/...``),
which EPCIS 2.0 accepts equally.

Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from udipick.domain.errors import InvalidGln
from udipick.domain.gs1_numbers import gs1_check_digit

#: GS1 character set 82 (GS1 General Specifications figure 7.11-1)
_CSET82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
#: characters of set 82 that TDS 2.0 escapes in an EPC URI component
_URI_ESCAPES = {c: f"%{ord(c):02X}" for c in '"%&/<>?'}
DL = "https://id.gs1.org"


def validate_gln(gln: str, *, field: str = "gln") -> str:
    """Return ``gln`` if it is 13 digits with a correct GS1 mod-10 check digit, else raise ``InvalidGln``."""
    if len(gln) != 13 or not gln.isascii() or not gln.isdigit():
        raise InvalidGln(f"A GLN has 13 digits, got {gln!r}.", field=field, gln=gln, reason="length")
    expected = gs1_check_digit(gln[:12])
    if int(gln[12]) != expected:
        raise InvalidGln(
            f"Invalid GLN check digit for {gln!r}: Expected {expected}, got {gln[12]}.",
            field=field,
            gln=gln,
            reason="check-digit",
            expected=expected,
        )
    return gln


@dataclass(frozen=True, slots=True)
class SiteIds:
    """The site's GLN and the GS1 company prefix it was allocated under."""

    gln: str
    company_prefix: str

    @staticmethod
    def parse(gln: str, company_prefix: str) -> SiteIds:
        validate_gln(gln)
        if not (company_prefix.isascii() and company_prefix.isdigit() and 4 <= len(company_prefix) <= 12):
            raise InvalidGln(
                f"A GS1 company prefix is 4 to 12 digits, got {company_prefix!r}.",
                field="gs1CompanyPrefix",
                gln=gln,
                reason="company-prefix",
            )
        if not gln.startswith(company_prefix):
            raise InvalidGln(
                f"GLN {gln} does not begin with the GS1 company prefix {company_prefix}.",
                field="gln",
                gln=gln,
                reason="company-prefix",
            )
        return SiteIds(gln, company_prefix)

    def _split(self) -> str:
        n = len(self.company_prefix)
        return f"{self.company_prefix}.{self.gln[n:12]}"

    def sgln(self) -> str:
        """The site itself as a place (SGLN without extension)."""
        return f"urn:epc:id:sgln:{self._split()}.0"

    def location_sgln(self, code: str) -> str | None:
        """A location at the site: its code as GLN extension; ``None`` if the code cannot be one."""
        extension = gln_extension(code)
        return None if extension is None else f"urn:epc:id:sgln:{self._split()}.{extension}"

    def pgln(self) -> str:
        """The company as a party (owning party of what leaves the site)."""
        return f"urn:epc:id:pgln:{self._split()}"


def gln_extension(code: str) -> str | None:
    """``code`` as the URI form of a GLN extension (AI 254), or ``None`` when it cannot be one."""
    if code == "0" or not _CSET82.fullmatch(code):
        return None
    return "".join(_URI_ESCAPES.get(c, c) for c in code)


def party_uri(gln: str) -> str:
    """A partner's GLN as a party (AI 417) in GS1 Digital Link form: its prefix length is unknown."""
    return f"{DL}/417/{gln}"


def location_uri(gln: str) -> str:
    """A partner's GLN as a place (AI 414) in GS1 Digital Link form."""
    return f"{DL}/414/{gln}"
