"""The value a scan turns into, and the options that shape how raw scanner output is read."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from udipick.domain.values import Value


class Element(Value):
    """One GS1 element string: Application Identifier and its data, exactly as encoded."""

    ai: str
    value: str


class ScanConfig(Value):
    """How the handhelds on this site send data.

    Keyboard-wedge scanners cannot type GS (0x1D), so they send a stand-in; ``#`` and ``|`` are
    outside GS1 CSET 82 and can therefore never be part of an AI value. A space *is* outside CSET 82
    too, but some sites print spaces in HRI-like internal codes, so it only separates when asked.
    """

    separator_stand_ins: tuple[str, ...] = ("|", "#", "Alt029", "<GS>")
    space_is_separator: bool = False
    location_prefix: str = "LOC-"
    lpn_prefix: str = "LPN"
    tote_prefix: str = "TOTE-"
    badge_prefix: str = "USR-"
    #: legacy Digital Link URIs carrying a GTIN-8/12/13 in (01); the GS1 engine refuses them by default
    dl_zero_suppressed_gtin: bool = False
    #: deprecated Digital Link convenience alphas (``/gtin/``, ``/ser/``, ...); refused by default
    dl_convenience_alphas: bool = False


#: what a scan is: a GS1 element string, Digital Link URI, HIBC label, MA code (IDcode), AHM code (Alibaba Health) or
#: bare GTIN / SSCC, or one of udipick's own labels (location, licence plate, tote, user badge)
ScanKind = Literal["gs1", "digital_link", "hibc", "ma", "ahm", "gtin", "sscc", "location", "lpn", "tote", "badge"]


class Scan(Value):
    """What one scan says, in GS1 words. Fields a barcode does not carry are ``None``."""

    kind: ScanKind
    raw: str
    symbology: str | None = None
    gtin: str | None = None
    content_gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    expiry: dt.date | None = None
    production_date: dt.date | None = None
    #: GS1 AI 15; AHM code ``.BD`` (保质日期), which is also ``expiry`` when there is no ``.ED``
    best_before: dt.date | None = None
    expiry_time: dt.datetime | None = None
    sscc: str | None = None
    quantity: int | None = None
    additional_id: str | None = None
    elements: tuple[Element, ...] = ()
    digital_link_uri: str | None = None
    hibc_lic: str | None = None
    hibc_pcn: str | None = None
    hibc_uom: int | None = None
    #: the check character of an HIBC symbol; a split secondary label repeats the primary's as its link
    hibc_check: str | None = None
    #: link character of a stand-alone HIBC secondary label (must equal the primary's check character)
    hibc_link: str | None = None
    #: MA code (IDcode): the device identifier, everything before the first data unit; AHM code: ``AHM`` and the
    #: manufacturer and product codes
    di: str | None = None
    #: MA code ``.V`` validity date (有效期); ``expiry`` is ``.E`` (失效期) or, without one, this date
    validity_date: dt.date | None = None
    #: MA code ``.D`` sterilisation lot (灭菌批号)
    sterilisation_lot: str | None = None
    code: str | None = None
