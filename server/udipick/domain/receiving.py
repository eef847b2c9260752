"""Receiving at the dock: what one scan of inbound goods may become, and where received stock may go.

Pure rules over immutable snapshots; the service loads (and locks) the facts, asks these functions,
and writes the answer. Mistakes accepted here (a wrong lot captured, a short-dated lot released, a
duplicate serial, a warm cold-chain pallet put into saleable stock) surface weeks later as recall
and compliance problems, so every check either refuses with a fact the receiver can act on, asks
for a missing datum (never guesses it), or sends the units to quarantine with a stated reason.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from udipick.domain.errors import (
    ItemNotOnDocument,
    LocationUnsuitable,
    LotExpired,
    LotExpiryConflict,
    LotRecalled,
    MissingExpiry,
    MissingLot,
    MissingSerial,
    MissingTemperature,
    OverReceipt,
    ReceiptInProgress,
    SerialAlreadyReceived,
    SerialCountMismatch,
    ShelfLifeTooShort,
)

SHORT_SHELF_LIFE_POLICIES = ("quarantine", "refuse")

# ---- snapshots -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What the item master requires at receipt (GS1: which AIs must be captured, and limits)."""

    item_id: int
    erp_id: str
    gtin: str
    lot_tracked: bool
    serial_tracked: bool
    expiry_tracked: bool
    min_temp_c: float | None
    max_temp_c: float | None
    min_shelf_life_days: int
    qc_required: bool
    bonded: bool

    @property
    def cold_chain(self) -> bool:
        return is_cold_chain(self.min_temp_c, self.max_temp_c)


def is_cold_chain(min_temp_c: object, max_temp_c: object) -> bool:
    """An item with a storage temperature limit travels and is stored in the cold chain."""
    return min_temp_c is not None or max_temp_c is not None


@dataclass(frozen=True, slots=True)
class ExpectedLot:
    """An ASN expectation: the lot the supplier says it ships, its expiry and serials."""

    lot: str
    expiry: dt.date | None = None
    serials: tuple[str, ...] = ()
    quantity: int | None = None


@dataclass(frozen=True, slots=True)
class LineFacts:
    """One document line as locked at the moment of the scan."""

    line_id: int
    line_no: int
    item_id: int
    ordered: int
    received: int
    expected: tuple[ExpectedLot, ...] = ()

    @property
    def open(self) -> int:
        return self.ordered - self.received


@dataclass(frozen=True, slots=True)
class Captured:
    """What the receiver captured for one scan, barcode and typed values merged, in base units."""

    units: int
    lot: str | None = None
    expiry: dt.date | None = None
    production_date: dt.date | None = None
    serial: str | None = None
    temperature_c: float | None = None


@dataclass(frozen=True, slots=True)
class KnownLot:
    """The lot as udipick already holds it (same item, same lot number)."""

    lot: str
    expiry: dt.date | None
    status: str
    #: the open recall that froze it (problem fields: ``recall``, ``recallId``, ...), when ``status`` is ``recalled``
    recall: dict[str, object] = field(default_factory=dict)
    #: the reason of an active hold on the lot (or its item), if any: its new units join it in quarantine
    hold: str | None = None


@dataclass(frozen=True, slots=True)
class KnownSerial:
    """The serial as udipick already holds it (same item), wherever it is now."""

    serial: str
    status: str
    location: str | None = None


@dataclass(frozen=True, slots=True)
class ReceivingPolicy:
    short_shelf_life: str = "quarantine"
    #: per-supplier over-receipt tolerance, percent of the ordered quantity
    over_receipt_tolerance_pct: float = 0.0

    def __post_init__(self) -> None:
        if self.short_shelf_life not in SHORT_SHELF_LIFE_POLICIES:
            raise ValueError(
                f"short shelf-life policy must be one of {SHORT_SHELF_LIFE_POLICIES}, got {self.short_shelf_life!r}"
            )


@dataclass(frozen=True, slots=True)
class QuarantineReason:
    """Why accepted units went to quarantine, as facts the handheld words in its user's language
    (``code`` and its members); ``text`` is the same in English, for the ledger and API clients."""

    code: str
    text: str
    facts: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReceiptDecision:
    """Accepted units: where they stand (``available`` or ``quarantine``) and why."""

    units: int
    status: str
    reasons: tuple[str, ...] = ()
    #: ``reasons`` as facts (same order)
    why: tuple[QuarantineReason, ...] = ()
    asn_mismatches: tuple[str, ...] = ()
    line_id: int | None = None
    new_lot_status: str | None = field(default=None)


# ---- rules ---------------------------------------------------------------------------------------


def over_receipt_allowance(ordered: int, tolerance_pct: float) -> int:
    """Units above the ordered quantity a supplier's tolerance allows (rounded down: never more)."""
    return math.floor(ordered * tolerance_pct / 100 + 1e-9)


def choose_line(lines: Sequence[LineFacts], item: ItemFacts, *, document: str) -> LineFacts:
    """The document line a scan of ``item`` counts against: the first one with quantity still open,
    else the last line of that item (so an over-receipt is judged against it)."""
    mine = sorted((ln for ln in lines if ln.item_id == item.item_id), key=lambda ln: ln.line_no)
    if not mine:
        raise ItemNotOnDocument(
            f"{item.erp_id} is not on {document}: set the goods aside and call the supervisor",
            item=item.erp_id,
            gtin=item.gtin,
            document=document,
        )
    for line in mine:
        if line.open > 0:
            return line
    return mine[-1]


def missing_fields(item: ItemFacts, captured: Captured) -> list[str]:
    """Data the item requires that the scan did not carry, in the order the handheld asks for them."""
    needs = []
    if item.lot_tracked and not captured.lot:
        needs.append("lot")
    if item.expiry_tracked and captured.expiry is None:
        needs.append("expiry")
    if item.serial_tracked and not captured.serial:
        needs.append("serial")
    if item.cold_chain and captured.temperature_c is None:
        needs.append("temperature")
    return needs


_MISSING = {"lot": MissingLot, "expiry": MissingExpiry, "serial": MissingSerial, "temperature": MissingTemperature}


def decide_receipt(
    item: ItemFacts,
    captured: Captured,
    *,
    today: dt.date,
    policy: ReceivingPolicy,
    line: LineFacts | None = None,
    known_lot: KnownLot | None = None,
    known_serial: KnownSerial | None = None,
    serials_in_receipt: Iterable[str] = (),
) -> ReceiptDecision:
    """Judge one scan of inbound goods. ``line`` is ``None`` for a blind receipt (no document).

    Order matters for the person at the dock: first ask for what is missing, then refuse what can
    never be received (data conflicts, expired, duplicate serials, over-receipt), then decide
    between saleable stock and quarantine.
    """
    if captured.units <= 0:
        raise ValueError("units must be positive")
    needs = missing_fields(item, captured)
    if needs:
        first = needs[0]
        raise _MISSING[first](
            f"{item.erp_id} needs its {first} captured: "
            + ("enter the temperature reading" if first == "temperature" else f"scan or type the {first}"),
            needs=needs,
            item=item.erp_id,
            gtin=item.gtin,
        )
    if item.serial_tracked and captured.units != 1:
        raise SerialCountMismatch(
            f"{item.erp_id} is serialised: scan each unit's own barcode ({captured.units} units in one scan)",
            item=item.erp_id,
            units=captured.units,
        )

    # a recalled lot is not taken back into stock, not even into quarantine: the goods stay at the dock
    # and the recall (named in the refusal) decides what happens to them
    if known_lot is not None and known_lot.status == "recalled":
        recall = known_lot.recall.get("recall")
        raise LotRecalled(
            f"lot {known_lot.lot} of {item.erp_id} is recalled"
            + (f" (recall {recall})" if recall else "")
            + ": do not receive it, set it aside and call QA",
            item=item.erp_id,
            lot=known_lot.lot,
            **known_lot.recall,
        )

    # a lot number identifies one production batch: one expiry (GS1 AI 10 + 17)
    if (
        known_lot is not None
        and known_lot.expiry is not None
        and captured.expiry is not None
        and known_lot.expiry != captured.expiry
    ):
        raise LotExpiryConflict(
            f"lot {known_lot.lot} of {item.erp_id} is known with expiry {known_lot.expiry.isoformat()}, "
            f"the goods say {captured.expiry.isoformat()}: set aside and report to QA",
            item=item.erp_id,
            lot=known_lot.lot,
            knownExpiry=known_lot.expiry,
            scannedExpiry=captured.expiry,
        )

    why: list[QuarantineReason] = []
    if captured.expiry is not None:
        remaining = (captured.expiry - today).days
        if remaining < 0:
            # an expired device is not stocked, not even in quarantine: it is refused at the dock and goes back
            # with the carrier (GSP: expired goods are not accepted), so the handheld says the same (``action``)
            raise LotExpired(
                f"lot {captured.lot or '-'} of {item.erp_id} expired on {captured.expiry.isoformat()}: refuse the goods,"
                " do not receive them",
                item=item.erp_id,
                lot=captured.lot,
                expiry=captured.expiry,
                action="refuse-goods",
            )
        if remaining < item.min_shelf_life_days:
            if policy.short_shelf_life == "refuse":
                raise ShelfLifeTooShort(
                    f"lot {captured.lot or '-'} of {item.erp_id} has {remaining} days of shelf life left, "
                    f"{item.min_shelf_life_days} are required: refuse the goods",
                    item=item.erp_id,
                    lot=captured.lot,
                    expiry=captured.expiry,
                    remainingDays=remaining,
                    requiredDays=item.min_shelf_life_days,
                    action="refuse-goods",
                )
            why.append(
                QuarantineReason(
                    "short-shelf-life",
                    f"short shelf life: {remaining} days left, {item.min_shelf_life_days} required",
                    {"remainingDays": remaining, "requiredDays": item.min_shelf_life_days},
                )
            )

    if captured.serial:
        if known_serial is not None:
            raise SerialAlreadyReceived(
                f"serial {captured.serial} of {item.erp_id} is already in udipick ({known_serial.status}"
                + (f" at {known_serial.location}" if known_serial.location else "")
                + "): set the unit aside",
                item=item.erp_id,
                serial=captured.serial,
                serialStatus=known_serial.status,
                location=known_serial.location,
                inThisReceipt=captured.serial in set(serials_in_receipt),
            )
        if captured.serial in set(serials_in_receipt):
            raise SerialAlreadyReceived(
                f"serial {captured.serial} of {item.erp_id} was already scanned in this receipt",
                item=item.erp_id,
                serial=captured.serial,
                inThisReceipt=True,
            )

    if line is not None:
        allowance = over_receipt_allowance(line.ordered, policy.over_receipt_tolerance_pct)
        if line.received + captured.units > line.ordered + allowance:
            raise OverReceipt(
                f"line {line.line_no} ordered {line.ordered}, {line.received} received; {captured.units} more would exceed "
                f"the supplier's tolerance ({allowance} over): keep the extra units apart",
                item=item.erp_id,
                lineNo=line.line_no,
                ordered=line.ordered,
                received=line.received,
                open=max(line.open, 0),
                units=captured.units,
                maxAcceptable=max(line.ordered + allowance - line.received, 0),
            )

    if item.cold_chain:
        t = captured.temperature_c
        assert t is not None  # asked for above
        low = item.min_temp_c if item.min_temp_c is not None else -math.inf
        high = item.max_temp_c if item.max_temp_c is not None else math.inf
        if not low <= t <= high:
            why.append(
                QuarantineReason(
                    "temperature-out-of-range",
                    f"temperature {t:g} °C outside {_range(item)}",
                    {"temperatureC": t, "range": _range(item)},
                )
            )
    if known_lot is not None and known_lot.status != "released":
        why.append(QuarantineReason("lot-not-released", f"lot is {known_lot.status}", {"lotStatus": known_lot.status}))
    if known_lot is not None and known_lot.hold is not None:
        # units of a held lot are held too: never available to pick while the lot's hold stands
        why.append(
            QuarantineReason(
                "lot-on-hold",
                f"lot {known_lot.lot} is on hold ({known_lot.hold}): keep these units apart and tell QA",
                {"lot": known_lot.lot, "hold": known_lot.hold},
            )
        )
    if item.qc_required:
        why.append(QuarantineReason("qc-required", "QC inspection required on receipt"))
    reasons = [w.text for w in why]

    mismatches = asn_mismatches(line.expected if line else (), captured) if line is not None else ()
    status = "quarantine" if reasons else "available"
    new_lot_status = None
    if known_lot is None and captured.lot:
        # a lot first seen here is quarantined as a whole only for lot-wide reasons
        lot_wide = item.qc_required or any(w.code == "short-shelf-life" for w in why)
        new_lot_status = "quarantine" if lot_wide else "released"
    return ReceiptDecision(
        units=captured.units,
        status=status,
        reasons=tuple(reasons),
        why=tuple(why),
        asn_mismatches=tuple(mismatches),
        line_id=line.line_id if line else None,
        new_lot_status=new_lot_status,
    )


_REASON_TEXTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "short-shelf-life",
        re.compile(r"short shelf life: (?P<remainingDays>-?\d+) days left, (?P<requiredDays>\d+) required"),
    ),
    ("temperature-out-of-range", re.compile(r"temperature (?P<temperatureC>-?[\d.e+-]+) °C outside (?P<range>.+)")),
    ("lot-not-released", re.compile(r"lot is (?P<lotStatus>\w+)")),
    ("lot-on-hold", re.compile(r"lot (?P<lot>.+?) is on hold \((?P<hold>.*)\): keep these units apart and tell QA")),
    ("qc-required", re.compile(r"QC inspection required on receipt")),
)


def read_reason(text: str) -> QuarantineReason | None:
    """A quarantine reason as ``decide_receipt`` wrote it (receipt scans keep the English text) back as facts,
    so a handheld can word what was stored before the facts were sent; ``None`` for any other text."""
    for code, pattern in _REASON_TEXTS:
        m = pattern.fullmatch(text)
        if m:
            facts: dict[str, object] = {}
            for k, v in m.groupdict().items():
                facts[k] = int(v) if k.endswith("Days") else float(v) if k == "temperatureC" else v
            return QuarantineReason(code, text, facts)
    return None


def _range(item: ItemFacts) -> str:
    low = f"{item.min_temp_c:g}" if item.min_temp_c is not None else "-∞"
    high = f"{item.max_temp_c:g}" if item.max_temp_c is not None else "∞"
    return f"{low}–{high} °C"


def asn_mismatches(expected: Sequence[ExpectedLot], captured: Captured) -> tuple[str, ...]:
    """Differences between what the ASN announced and what arrived; reported, not refused
    (the goods are what they are; the ERP and the supplier sort out the paperwork)."""
    if not expected:
        return ()
    by_lot = {e.lot: e for e in expected}
    out: list[str] = []
    exp = by_lot.get(captured.lot or "")
    if captured.lot and exp is None:
        out.append(f"lot {captured.lot} is not on the ASN (expected {', '.join(sorted(by_lot))})")
    if exp is not None:
        if exp.expiry is not None and captured.expiry is not None and exp.expiry != captured.expiry:
            out.append(
                f"lot {exp.lot} expiry {captured.expiry.isoformat()} differs from the ASN's {exp.expiry.isoformat()}"
            )
        if captured.serial and exp.serials and captured.serial not in exp.serials:
            out.append(f"serial {captured.serial} is not on the ASN for lot {exp.lot}")
    return tuple(out)


# ---- putaway -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Content:
    """One kind of stock in a licence plate (or loose at the dock) about to be put away."""

    item: str
    cold_chain: bool
    bonded: bool
    status: str


@dataclass(frozen=True, slots=True)
class LocationFacts:
    """A destination. ``cold_zone``/``bonded_zone``: a quarantine cage inside the cold room or the
    bonded area (its zone holds cold / bonded locations) keeps that physical condition."""

    code: str
    type: str
    frozen: bool
    cold_zone: bool = False
    bonded_zone: bool = False

    @property
    def cold(self) -> bool:
        return self.type == "cold" or (self.type == "quarantine" and self.cold_zone)

    @property
    def bonded(self) -> bool:
        return self.type == "bonded" or (self.type == "quarantine" and self.bonded_zone)


STORAGE_TYPES = frozenset({"pick", "reserve", "quarantine", "bonded", "cold"})


def check_putaway(contents: Sequence[Content], location: LocationFacts) -> None:
    """Refuse a destination that does not fit every piece of stock going there.

    Cold-chain items only to temperature-controlled places; quarantined (not released) stock only
    to quarantine, so it cannot be picked by mistake (ISO 13485 §8.3 segregation); bonded goods
    only to the bonded area (customs), and nothing else into it; a frozen location (stock count,
    hold) takes nothing.
    """

    def refuse(why: str, reason: str, needs: str | None, item: str | None = None) -> LocationUnsuitable:
        # ``why`` is the fact as a code the handheld words in its user's language; ``reason`` the same in English
        return LocationUnsuitable(
            f"{location.code} cannot take this: {reason}" + (f"; take it to a {needs} location" if needs else ""),
            location=location.code,
            locationType=location.type,
            reason=reason,
            why=why,
            needs=needs,
            item=item,
        )

    if location.frozen:
        raise refuse("frozen", "the location is frozen", None)
    if location.type not in STORAGE_TYPES:
        raise refuse("not-storage", f"a {location.type} location is not a storage place", "storage")
    for c in contents:
        held = c.status != "available"
        if held and location.type != "quarantine":
            raise refuse("segregate", f"{c.item} is {c.status} and must stay segregated", "quarantine", c.item)
        if not held and location.type == "quarantine":
            raise refuse(
                "released", f"{c.item} is released stock; quarantine is for stock awaiting a decision", None, c.item
            )
        if c.cold_chain and not location.cold:
            raise refuse("cold-chain", f"{c.item} is cold-chain", "cold quarantine" if held else "cold", c.item)
        if c.bonded and not location.bonded:
            raise refuse(
                "bonded",
                f"{c.item} is bonded (customs not cleared)",
                "bonded quarantine" if held else "bonded",
                c.item,
            )
        if not c.bonded and location.type == "bonded":
            raise refuse(
                "not-bonded",
                f"{c.item} is not bonded; the bonded area holds only goods under customs control",
                None,
                c.item,
            )


def putaway_group(item: ItemFacts, status: str) -> str:
    """Stock that may share one licence plate: same status, same storage condition."""
    condition = ("cold" if item.cold_chain else "ambient") + ("+bonded" if item.bonded else "")
    return f"{condition}/{status}"


def needed_location(contents: Sequence[Content]) -> str:
    """The kind of location a licence plate needs, in the words the handheld shows."""
    if not contents:
        return "any storage"
    held = any(c.status != "available" for c in contents)
    cold = any(c.cold_chain for c in contents)
    bonded = any(c.bonded for c in contents)
    words = (["cold"] if cold else []) + (["bonded"] if bonded else [])
    if held:
        return " ".join(words + ["quarantine"])
    return " ".join(words) if words else "pick or reserve"


# ---- the ERP cancels a purchase order ------------------------------------------------------------


def status_after_erp_cancel(document: str, status: str, *, received: int, open_receipts: Sequence[str]) -> str:
    """The purchase order's (or ASN's) status once the ERP cancelled it.

    ``cancelled`` when nothing was received against it; ``closed`` when some was: the received units are on
    the books and their ``receipt.confirmed.v1`` went out, so the document stays the record they were
    received against, with nothing more to come. A closed or cancelled document keeps its status (a repeat,
    or a cancel of what was fully received: either way nothing more comes). An open receipt refuses the
    cancel: the receiver may be counting the goods on the dock right now, and the ERP must learn what they
    were before it drops the order."""
    if status in ("closed", "cancelled"):
        return status
    if open_receipts:
        listed = ", ".join(open_receipts)
        raise ReceiptInProgress(
            f"{document} is being received ({listed} open at the dock): the cancel is refused until the receipt"
            " is closed; send it again then",
            document=document,
            receipts=list(open_receipts),
        )
    return "closed" if received > 0 else "cancelled"
