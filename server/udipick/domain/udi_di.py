"""Device identifiers (DIs) of China's three UDI issuing agencies, and how a scan names an item.

The NMPA accepts UDIs from GS1 (the DI is a GTIN), MA (IDcode, ``MA.156.M0.…``) and AHM (Alibaba
Health). An item's pack levels may each carry a DI of each agency; udipick keeps GTINs in
``item_gtins`` and MA/AHM DIs in ``item_dis``. This module holds the rules that need no database:

* :func:`di_fault` — is this text a DI the agency could have issued (length and characters)?
* :func:`item_key` — which key a scan names its item by: a GTIN, an HIBC LIC+PCN, or an (agency, DI).
  Every workflow that judges a scan asks it (``services.scans.match_item`` and the pick scan's read),
  so an MA or AHM code resolves the same way everywhere.

Sources and decisions: ``docs/ma_codes.md`` ("Items with MA and AHM DIs").
"""

from __future__ import annotations

import re
from typing import Final, Literal

from udipick.domain.barcodes.ma import UNITS as MA_UNITS
from udipick.domain.barcodes.scan import Scan
from udipick.domain.errors import WrongItem
from udipick.domain.values import Value

Agency = Literal["gs1", "ma", "ahm"]
DiAgency = Literal["ma", "ahm"]
AGENCIES: Final = ("gs1", "ma", "ahm")
#: the width of ``item_dis.di``
DI_MAX_LENGTH: Final = 64

#: MA (IDcode) medical-device DI, as the MA coding handbook (医疗器械唯一标识 MA(IDcode) 编码手册) describes it:
#: ``MA`` . manufacturer code (country code 3, industry code 2 (``M0``), registrant code 6, separated by
#: ``.``) . product code (packaging code 1, item code 6, check character 1). The check character's
#: algorithm is not published where we could read it, so it is not verified.
_MA_DI = re.compile(r"MA\.([0-9]{3})\.([A-Za-z0-9]{2})\.([A-Za-z0-9]{6})\.([A-Za-z0-9]{8})")
#: AHM DI: ``AHM`` . manufacturer code . product code (厂商标识代码 + 产品标识代码), letters and digits, as the AHM
#: reader spells it (docs/ahm_codes.md: no published length or check character; at most the column's width)
_AHM_DI = re.compile(r"AHM\.([A-Za-z0-9]+)\.([A-Za-z0-9]+)")
#: the AHM data units; a DI segment starting with one would be read as the PI (docs/ahm_codes.md, decision 3)
_AHM_UNITS = ("BN", "SN", "MD", "BD", "ED")


def di_fault(agency: str, di: str) -> str | None:
    """Why ``di`` cannot be an ``agency`` DI, in words for the ERP's people; ``None`` when it can."""
    if agency == "ma":
        if not di.startswith("MA."):
            return f"an MA device identifier starts with 'MA.', got {di[:8]!r}"
        m = _MA_DI.fullmatch(di)
        if m is None:
            return (
                f"MA device identifier {di!r} is not MA.<country code, 3 digits>.<industry code, 2>"
                ".<registrant code, 6>.<product code, 8> (letters and digits)"
            )
        for segment in (m.group(3), m.group(4)):
            # the MA reader takes a segment starting with a data-unit letter for the first data unit
            # (docs/ma_codes.md, decision 1): such a DI would never scan back as itself
            if segment[0] in MA_UNITS:
                return (
                    f"MA device identifier segment {segment!r} starts with {segment[0]!r}, the letter of an MA data"
                    f" unit (.{segment[0]}): its codes would not read back as this DI"
                )
        return None
    if agency == "ahm":
        m = _AHM_DI.fullmatch(di)
        if m is None or len(di) > DI_MAX_LENGTH:
            return (
                f"AHM device identifier {di!r} is not AHM.<manufacturer code>.<product code>"
                f" (letters and digits, at most {DI_MAX_LENGTH} characters)"
            )
        for segment in m.groups():
            if segment.startswith(_AHM_UNITS):
                return (
                    f"AHM device identifier segment {segment!r} starts with {segment[:2]!r}, the name of an AHM data"
                    f" unit (.{segment[:2]}): its codes would not read back as this DI"
                )
        return None
    return f"no issuing agency {agency!r} (MA or AHM; GS1 DIs are GTINs)"


# ---- how a scan names its item ------------------------------------------------------------------


class GtinKey(Value):
    gtin: str


class HibcKey(Value):
    lic: str
    pcn: str
    uom: int | None


class DiKey(Value):
    agency: DiAgency
    di: str


ItemKey = GtinKey | HibcKey | DiKey

#: the scan kinds that carry an agency's DI in ``Scan.di``
_DI_KINDS: Final[dict[str, DiAgency]] = {"ma": "ma", "ahm": "ahm"}


def item_key(scan: Scan) -> ItemKey | None:
    """The key that names the scanned trade item: the GTIN (or a logistic unit's content GTIN, AI 02),
    the HIBC labeler and product code, or the issuing agency and its DI; ``None`` for a scan that
    names no goods (a location, plate, tote or badge label, an SSCC)."""
    gtin = scan.gtin or scan.content_gtin
    if gtin:
        return GtinKey(gtin)
    if scan.hibc_lic and scan.hibc_pcn:
        return HibcKey(scan.hibc_lic, scan.hibc_pcn, scan.hibc_uom)
    agency = _DI_KINDS.get(scan.kind)
    if agency is not None and scan.di:
        return DiKey(agency, scan.di)
    return None


def key_text(key: ItemKey | None) -> str | None:
    """The key as a person reads it on the label (for refusals: "… is not an item udipick knows")."""
    if isinstance(key, GtinKey):
        return key.gtin
    if isinstance(key, HibcKey):
        return f"{key.lic}/{key.pcn}"
    if isinstance(key, DiKey):
        return key.di
    return None


# ---- the code an item's labels carry ------------------------------------------------------------------


def registered_code(agency: str, gtin: str, di: str | None) -> tuple[Agency, str]:
    """The code on an item's labels, to name the item to a person looking at them: the DI of the agency the
    item was registered with (``items.udi_agency``), else its GTIN. An MA or AHM item without its DI (the ERP
    must send one; see ``erp_inbound``) is named by its GTIN rather than by nothing."""
    if agency in ("ma", "ahm") and di:
        return ("ma" if agency == "ma" else "ahm"), di
    return "gs1", gtin


def code_words(agency: Agency, code: str) -> str:
    """``GTIN 0950…``, ``MA code MA.156.…``, ``AHM code AHM.…``: the code with what it is, for a refusal's words."""
    return f"GTIN {code}" if agency == "gs1" else f"{agency.upper()} code {code}"


def wrong_item(
    *, item_name: str, gtin: str, udi_agency: str, udi_di: str | None, scanned_gtin: str | None, location: str
) -> WrongItem:
    """The refusal of a unit that is not the task's item (picking, replenishment): it names the item and the
    code on its labels (``registered_code``), so the worker looks for what is printed on the shelf."""
    agency, code = registered_code(udi_agency, gtin, udi_di)
    return WrongItem(
        f"This is not {item_name}: take {item_name} ({code_words(agency, code)}) from {location}",
        expectedItem=item_name,
        expectedGtin=gtin,
        expectedAgency=agency,
        expectedCode=code,
        expectedDi=code if agency != "gs1" else None,
        scannedGtin=scanned_gtin,
        takeLocation=location,
    )
