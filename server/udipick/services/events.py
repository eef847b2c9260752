"""Events udipick sends to the ERP: one msgspec struct per versioned type, registered here.

``docs/events.md`` and its JSON Schemas are generated from this registry, so the documented shape
is the shape on the wire. Workflows build the struct and ``emit`` it inside their own transaction
(the transactional outbox): the event exists exactly when the change does.

JSON keys are camelCase GS1 words: ``gtin`` (14 digits), ``lot``, ``expiry`` (ISO date),
``serial``, ``sscc``, ``gln``.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable
from typing import TypeVar

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from udipick.db.outbox import add_events
from udipick.domain.access import Actor

EVENT_TYPES: dict[str, type[msgspec.Struct]] = {}
_TYPE_OF: dict[type[msgspec.Struct], str] = {}

S = TypeVar("S", bound=type[msgspec.Struct])


def event(type_name: str) -> Callable[[S], S]:
    """Register ``type_name`` (``noun.past-tense-verb.vN``) for a struct."""

    def register(cls: S) -> S:
        if type_name in EVENT_TYPES:
            raise ValueError(f"event type {type_name} registered twice")
        EVENT_TYPES[type_name] = cls
        _TYPE_OF[cls] = type_name
        return cls

    return register


class EventData(msgspec.Struct, rename="camel", omit_defaults=False, kw_only=True):
    """Base for event bodies."""


async def emit(session: AsyncSession, actor: Actor, *events: EventData) -> list:
    """Write events to the outbox in the caller's transaction; returns their event ids."""
    return await add_events(session, actor, [(_TYPE_OF[type(e)], msgspec.to_builtins(e)) for e in events])


def encode_events(events: list[EventData] | tuple[EventData, ...]) -> tuple[list, list[str], list[str]]:
    """New event ids, types and JSON bodies, as the outbox write functions of migration 0004 take them."""
    return (
        [new_event_id() for _ in events],
        [_TYPE_OF[type(e)] for e in events],
        [msgspec.json.encode(e).decode() for e in events],
    )


_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_event_id() -> str:
    """A random (version 4) UUID as 32 hex digits, as ``uuid.uuid4().hex`` makes it, for a third of
    the CPU: the database reads it as a ``uuid``. One per event; a pick scan writes one or two."""
    return "%032x" % (int.from_bytes(os.urandom(16)) & _V4_CLEAR | _V4_SET)


def type_of(data: EventData) -> str:
    return _TYPE_OF[type(data)]


# ---- receiving (issue 4) ---------------------------------------------------------------


@event("receipt.confirmed.v1")
class ReceiptConfirmed(EventData):
    """Units received against one document line (or blind), per lot and stock status, at receipt close.

    ``status`` is ``available`` (released to stock) or ``quarantine`` (QC required or a check
    flagged it; ``reasons`` says why). ``quantity`` is in the item's base unit.
    """

    receipt: str
    document: str | None
    line_no: int | None
    item: str
    gtin: str
    lot: str | None
    expiry: str | None
    production_date: str | None
    serials: list[str]
    quantity: int
    status: str
    reasons: list[str]
    location: str
    lpn: str


@event("receipt.discrepancy-recorded.v1")
class ReceiptDiscrepancyRecorded(EventData):
    """Short, over or damaged units, an ASN mismatch or a lot data conflict found while receiving."""

    receipt: str
    document: str | None
    line_no: int | None
    kind: str
    item: str | None
    gtin: str | None
    lot: str | None
    serial: str | None
    quantity: int | None
    reason: str


@event("purchase-order.cancelled.v1")
class PurchaseOrderCancelled(EventData):
    """The ERP cancelled a purchase order or ASN (``POST /api/v1/erp/purchase-orders/{erpId}/cancel``):
    nothing more is received against it. ``status`` is ``cancelled`` when nothing had been received, or
    ``closed`` when some had: those units stay on the books, as their ``receipt.confirmed.v1`` said.
    ``priorStatus`` is the status it had; ``lines`` (``{lineNo, item, ordered, received}``)
    say what was ordered and received on each line."""

    document: str
    kind: str
    number: str
    status: str
    prior_status: str
    reason: str
    lines: list[dict]


@event("putaway.completed.v1")
class PutawayCompleted(EventData):
    """A licence plate (or part of one, or loose stock QC released) moved to its storage location.

    ``lpn`` is ``None`` for loose stock; ``receipt`` is ``None`` for stock a QC release freed in quarantine."""

    lpn: str | None
    receipt: str | None
    from_location: str
    to_location: str
    contents: list[dict]


class _QcDecision(EventData):
    item: str
    gtin: str
    lot: str
    expiry: str | None
    quantity: int
    serials: list[str]
    reason: str
    signed_by: str


@event("qc.released.v1")
class QcReleased(_QcDecision):
    """QA released a lot's quarantined stock to saleable stock, with an electronic signature."""


@event("qc.rejected.v1")
class QcRejected(_QcDecision):
    """QA rejected a lot's quarantined stock (it can never be picked), with an electronic signature."""


# ---- picking, holds, packing, shipping ------------------------------------------------------------


@event("wave.released.v1")
class WaveReleased(EventData):
    wave_id: int
    orders: list[str]
    tasks: int
    #: lines that could not be filled: ``{order, lineNo, missing, reason}`` (no-stock, short-dated, on-hold, ...)
    short_lines: list[dict]


class PutBackLine(msgspec.Struct, rename="camel", kw_only=True):
    """Picked units a cancel handed to a put-back task: back from staging (or the tote) to where they were taken."""

    put_back_id: int
    order: str
    gtin: str
    item: str
    lot: str | None
    expiry: _dt.date | None
    serial: str | None
    quantity: int
    #: where the units are: the staging location, and the tote they were picked into, if any
    from_location: str
    tote: str | None
    #: where they go back to: the location they were picked from
    to_location: str


@event("wave.cancelled.v1")
class WaveCancelled(EventData):
    """A supervisor cancelled a wave: its open pick tasks are cancelled and their reservations released
    (``released`` units); units already picked go back to stock on put-back tasks (``putBacks``). The
    orders are not cancelled: they are open again (``reopened``) to be released in another wave, or stay
    released when another wave still has work for them."""

    wave_id: int
    reason: str
    orders: list[str]
    reopened: list[str]
    tasks: int
    released: int
    put_backs: list[PutBackLine]


@event("order.cancelled.v1")
class OrderCancelled(EventData):
    """A sales order's picking was cancelled: by a supervisor (``source``: ``udipick``), or because the ERP
    cancelled it (``erp``) or sent a new version of it while it was being picked (``erp-change``; the
    order is then open again with the new lines, and ``version`` is that version). Reservations are
    released; picked units go back to stock on put-back tasks."""

    order: str
    reason: str
    source: str
    version: int | None
    waves: list[int]
    tasks: int
    released: int
    put_backs: list[PutBackLine]


@event("order.line-cancelled.v1")
class OrderLineCancelled(EventData):
    """A supervisor cancelled one line of a sales order: it is never allocated again (until the ERP sends the
    order anew); the rest of the order goes on."""

    order: str
    line_no: int
    reason: str
    waves: list[int]
    tasks: int
    released: int
    put_backs: list[PutBackLine]


@event("put-back.confirmed.v1")
class PutBackConfirmed(EventData):
    """Units of a cancelled wave, order or line were carried back from staging to the location they were picked
    from (ledger movement ``move``, status ``picked`` to ``available``), confirmed by scanning that location."""

    put_back_id: int
    order: str
    gtin: str
    item: str
    lot: str | None
    expiry: _dt.date | None
    serial: str | None
    quantity: int
    from_location: str
    tote: str | None
    to_location: str


@event("pick.confirmed.v1")
class PickConfirmed(EventData):
    order: str
    line_no: int
    task_id: int
    gtin: str
    item: str
    lot: str | None
    expiry: _dt.date | None
    serial: str | None
    quantity: int
    location: str
    #: the lot allocation had chosen; differs from ``lot`` when the picker took an earlier-or-equal expiring lot
    allocated_lot: str | None
    swapped: bool
    tote: str | None
    client_scan_id: str


@event("pick.undone.v1")
class PickUndone(EventData):
    """The picker took back a pick scan moments after it (a double trigger, a wrong count): a reversing
    ledger movement (``move``, status ``picked`` to ``available``) put the units back on the shelf they
    were taken from, reserved for the task again. The ``pick.confirmed.v1`` it reverses
    (``undoneClientScanId``) stays in the stream: book this one against it."""

    order: str
    line_no: int
    task_id: int
    gtin: str
    item: str
    lot: str | None
    expiry: _dt.date | None
    serial: str | None
    quantity: int
    #: where the units went back to (the location they were picked from)
    location: str
    tote: str | None
    #: the pick scan taken back (its ``pick.confirmed.v1`` carries the same ``clientScanId``)
    undone_client_scan_id: str
    client_scan_id: str


@event("pick.refused.v1")
class PickRefused(EventData):
    """A refused pick scan, for accuracy KPIs: ``code`` is the problem code (fefo-violation, wrong-item, ...)."""

    task_id: int
    order: str | None
    location: str | None
    code: str
    detail: str
    scanned_gtin: str | None
    scanned_lot: str | None
    scanned_serial: str | None
    client_scan_id: str


@event("pick.override.approved.v1")
class PickOverridden(EventData):
    """A supervisor approved, with an electronic signature, taking a later-expiring lot than FEFO allows."""

    order: str
    task_id: int
    gtin: str
    lot: str | None
    expiry: _dt.date | None
    allocated_lot: str | None
    allocated_expiry: _dt.date | None
    approved_by: str
    reason: str


@event("pick.shorted.v1")
class PickShorted(EventData):
    """The shelf held less than udipick's stock: a count discrepancy; the location is blocked for the item."""

    order: str
    line_no: int
    task_id: int
    gtin: str
    lot: str | None
    location: str
    expected: int
    found: int
    reallocated: int
    backordered: int


@event("stock.alert.raised.v1")
class StockAlertRaised(EventData):
    """Someone tried to pick held or recalled stock: the supervisor should look."""

    code: str
    detail: str
    lot: str | None
    gtin: str | None
    location: str | None
    task_id: int | None


@event("coldchain.excursion-recorded.v1")
class ColdChainExcursionRecorded(EventData):
    """A sensor read a location outside the range the items stored there must keep (GSP cold chain):
    QA should look at what lies there. One event per out-of-range reading, when it is first stored."""

    location: str
    sensor: str
    measured_at: _dt.datetime
    temperature_c: float
    min_c: float | None
    max_c: float | None


class _HoldChange(EventData):
    hold_id: int
    scope: str
    gtin: str | None
    lot: str | None
    serial: str | None
    location: str | None
    reason: str


@event("hold.placed.v1")
class HoldPlaced(_HoldChange):
    reallocated_tasks: int


@event("hold.released.v1")
class HoldReleased(_HoldChange):
    signed_by: str


@event("package.packed.v1")
class PackagePacked(EventData):
    sscc: str
    order: str
    contents: list[dict]


@event("shipment.confirmed.v1")
class ShipmentConfirmed(EventData):
    """Every shipped unit with lot, serial, expiry and SSCC: the ERP's invoice and the forward trace of a recall."""

    order: str
    customer: str
    customer_gln: str | None
    ship_to: dict
    lines: list[dict]
    ssccs: list[str]


# ---- counting --------------------------------------------------------------------------------------


@event("stock.counted.v1")
class StockCounted(EventData):
    """Someone counted one item at one location (after a short pick, or a cycle count).

    ``lines`` has one entry per lot (or serial) that was on the books or found:
    ``{lot, serial, expected, counted, difference}``; a booked lot the counter did not report was not
    there (counted 0). The differences are booked as ``stock.adjusted.v1`` events in the same
    transaction. ``blocksCleared`` is how many "count required" blocks of the item at the location
    the count lifted, so allocation may use that place again.
    """

    location: str
    item: str
    gtin: str
    lines: list[dict]
    blocks_cleared: int
    client_scan_id: str


@event("stock.adjusted.v1")
class StockAdjusted(EventData):
    """The books were corrected to what is physically there, for one lot (or serial) at one location.

    ``difference`` is signed (a gain is positive, a loss negative), ``quantity`` its absolute value in
    base units; ``status`` is the stock status corrected (``available``); ``reason`` is ``count``.
    """

    location: str
    item: str
    gtin: str
    lot: str | None
    expiry: _dt.date | None
    serial: str | None
    status: str
    difference: int
    quantity: int
    reason: str
    client_scan_id: str


@event("count.adjusted.v1")
class CountAdjusted(EventData):
    """A cycle count corrected the books for one lot (or serial) at one location (issue 19).

    ``bookQuantity`` is what udipick had there (saleable and expired units), ``countedQuantity`` what
    was counted, ``delta`` their difference (a gain positive); ``status`` is the status the counted
    units are booked in (``expired`` past the lot's expiry, else ``available``). ``reason``: a reason
    code a supervisor chose (``counting-error``, ``damage``, ``theft-loss``, ``found``,
    ``unrecorded-receipt``, ``other: <words>``) or ``within-tolerance`` for a small difference booked
    without approval. ``countId`` names the count task line (``count-line:<id>``).
    """

    location: str
    item: str
    gtin: str
    lot: str | None
    expiry: _dt.date | None
    serial: str | None
    status: str
    book_quantity: int
    counted_quantity: int
    delta: int
    reason: str
    count_id: str


# ---- replenishment ---------------------------------------------------------------------------------


class _ReplenishmentTask(EventData):
    task_id: int
    item: str
    gtin: str
    lot: str | None
    expiry: _dt.date | None
    #: the reserve location the units come from
    from_location: str
    #: the pick face they go to
    to_location: str


@event("replenishment.created.v1")
class ReplenishmentCreated(_ReplenishmentTask):
    """A pick face runs short: move ``quantity`` units of this lot from reserve to it.

    The units are reserved at the source until the task is confirmed or cancelled, so no wave
    promises them meanwhile. ``waveId``: the wave whose release triggered the planning (``null`` for
    a supervisor's or the periodic planner's run); ``reason``: the face's numbers at the time.
    """

    quantity: int
    wave_id: int | None
    reason: str


@event("replenishment.increased.v1")
class ReplenishmentIncreased(_ReplenishmentTask):
    """The open task for this lot, source and pick face was raised by ``added`` units to ``quantity``
    (there is never a second open task for the same lot, source and face); reserved like the rest."""

    quantity: int
    added: int
    wave_id: int | None
    reason: str


@event("replenishment.confirmed.v1")
class ReplenishmentConfirmed(_ReplenishmentTask):
    """Units moved from reserve to the pick face (ledger movement ``move``), confirmed by scanning the
    source location, the goods (lot checked against the task) and the pick face.

    ``quantity``: units this confirm moved; ``moved`` / ``remaining``: the task's totals after it;
    ``taskStatus`` is ``done`` when nothing remains.
    """

    quantity: int
    moved: int
    remaining: int
    task_status: str
    client_scan_id: str


@event("replenishment.suggested.v1")
class ReplenishmentSuggested(EventData):
    """Available stock of the item in the warehouse fell below purchasing's minimum (the ERP's stock level
    ``stockLevel``): order ``suggestedQuantity`` = maximum − available − in transit. Sent once per fall below
    the minimum; not again until available stock has been at or above the minimum."""

    stock_level: str
    item: str
    gtin: str
    warehouse: str
    available: int
    in_transit: int
    minimum: int
    maximum: int
    suggested_quantity: int


@event("replenishment.cancelled.v1")
class ReplenishmentCancelled(_ReplenishmentTask):
    """A supervisor cancelled the task; the ``released`` units it still reserved at the source are free again."""

    quantity: int
    moved: int
    released: int
    reason: str


# ---- recalls ---------------------------------------------------------------------------------------


@event("stock.moved.v1")
class StockMoved(EventData):
    """Stock moved between locations or licence plates by a person's scans (status kept: a move never
    releases quarantine). ``kind``: ``units`` (part of a place or plate), ``plate`` (a whole plate moved),
    ``merge`` (a whole plate's content onto another plate) or ``split`` (part of a plate onto another)."""

    move: str
    kind: str
    from_location: str
    from_lpn: str | None
    to_location: str
    to_lpn: str | None
    #: ``[{item, gtin, lot, serial, quantity, status}]``
    lines: list[dict]


@event("recall.opened.v1")
class RecallOpened(EventData):
    """A recall froze lots of one item: every lot named in ``lots`` (``{gtin, lot, expiry, priorStatus}``)
    is ``recalled`` from this event on; open allocations of them were re-allocated or shorted
    (``reallocatedTasks``), closed but unshipped cartons holding them were flagged (``flaggedSsccs``)
    and will not ship. ``recallClass`` is I, II or III (I: the most serious); ``reference`` is the
    ERP's or the manufacturer's own number, when given. ``shippedTo`` names every customer that
    received units of these lots, ``inStock`` the units still in the building. A recall of single
    serials names them in ``serials`` (``{gtin, serial, lot, expiry, priorStatus}``) and ``lots`` is
    empty: only those units are frozen (each by a serial hold of the recall), the rest of their lots
    stays available; the totals count those units only."""

    recall: str
    recall_id: int
    item: str
    gtin: str
    recall_class: str
    reason: str
    reference: str | None
    lots: list[dict]
    serials: list[dict]
    produced_from: _dt.date | None
    produced_to: _dt.date | None
    reallocated_tasks: int
    flagged_ssccs: list[str]
    shipped_to: list[str]
    shipped: int
    in_stock: int


@event("recall.closed.v1")
class RecallClosed(EventData):
    """A recall was closed with an electronic signature: ``disposition`` is ``destroyed``,
    ``returned_to_supplier`` or ``released`` (then each lot got back the status it had, unless another
    open recall still covers it: ``lots`` says each lot's status now). ``responseSeconds`` is the
    time from opening to closing. ``serials`` (``{gtin, serial, lot, frozen}``) names the units of a
    recall of serials: ``frozen`` false once released, true for good otherwise."""

    recall: str
    recall_id: int
    item: str
    gtin: str
    disposition: str
    note: str | None
    lots: list[dict]
    serials: list[dict]
    response_seconds: int
    signed_by: str


# ---- returns and scrap (issue 19) ------------------------------------------------------------------


@event("return.received.v1")
class ReturnReceived(EventData):
    """Units a customer sent back were received into quarantine (ledger movement ``return``), checked against
    the shipment history: ``shippedOn`` names the sales orders that shipped them to ``customer``. ``rma`` is the
    ERP's RMA (absent for a blind return). ``recall`` names the open recall covering the lot or serial: the unit
    stays in quarantine for it. QA's decision follows as ``return.disposed.v1``."""

    return_number: str
    return_line_id: int
    rma: str | None
    customer: str
    location: str
    item: str
    gtin: str
    lot: str | None
    expiry: _dt.date | None
    serial: str | None
    quantity: int
    status: str
    shipped_on: list[str]
    reason: str | None
    recall: str | None
    client_scan_id: str


@event("return.disposed.v1")
class ReturnDisposed(EventData):
    """QA decided a returned unit with an electronic signature: ``restock`` (saleable again, a putaway task
    takes it to stock), ``scrap`` (booked out, ledger movement ``scrap``) or ``to_supplier`` (booked out to the
    supplier, ledger movement ``return``)."""

    return_number: str
    return_line_id: int
    rma: str | None
    customer: str
    decision: str
    item: str
    gtin: str
    lot: str | None
    expiry: _dt.date | None
    serial: str | None
    quantity: int
    reason: str
    recall: str | None
    signed_by: str


@event("stock.scrapped.v1")
class StockScrapped(EventData):
    """Units were destroyed (ledger movement ``scrap``), signed electronically by QA or a supervisor:
    ``reason`` is ``expired``, ``damaged``, ``rejected``, ``recalled`` or ``quarantine``; ``statuses`` the
    stock statuses the units had."""

    location: str
    item: str
    gtin: str
    lot: str | None
    expiry: _dt.date | None
    serial: str | None
    quantity: int
    reason: str
    note: str | None
    statuses: list[str]
    signed_by: str


# ---- inventory lifecycle (issue 19) ---------------------------------------------------------------------


@event("stock.opening-booked.v1")
class OpeningBooked(EventData):
    """A go-live load of opening balances was booked (``opening`` ledger movements, each carrying this
    event's id). One event per load, not per line: a load of a million lines is the old system's own
    stock list, which the ERP sent and holds already; this says that it is now on udipick's books, with
    totals per stock status (``units`` and ``lines``: ``{available, quarantine, expired}``), the units
    held (``heldUnits``: covered by the ``hold.placed.v1`` holds the load placed), the lots and serials
    it created, and the locations whose earlier stock it replaced (``replacedLocations``, booked out by
    ``adjust`` movements with the load's reason)."""

    load_id: str
    lines: int
    ledger_rows: int
    units: dict[str, int]
    lines_by_status: dict[str, int]
    held_units: int
    holds_placed: int
    lots_created: int
    serials_created: int
    locations: int
    replaced_locations: list[str]


@event("stock.expired.v1")
class StockExpired(EventData):
    """Units whose lot expiry has passed were moved to stock status ``expired`` (blocked: never allocated,
    picked or counted as saleable) by the expiry sweep: one event per item, lot and location, with the
    status they were in (``priorStatus``)."""

    item: str
    gtin: str
    lot: str | None
    expiry: _dt.date
    location: str
    quantity: int
    prior_status: str


# ---- China GSP: first-business approvals and exceptions (issue 22) ------------------------------------------


class _FirstBusinessDecision(EventData):
    #: ``supplier`` (首营企业) or ``item`` (首营品种)
    subject: str
    #: the supplier's or item's ERP id
    erp_id: str
    reason: str
    signed_by: str


@event("first-business.approved.v1")
class FirstBusinessApproved(_FirstBusinessDecision):
    """QA approved a supplier or an item for business (GSP 首营审核) in udipick, with an electronic signature.
    Not sent for an approval the ERP itself sent."""


@event("first-business.revoked.v1")
class FirstBusinessRevoked(_FirstBusinessDecision):
    """QA revoked a supplier's or an item's first-business approval, with an electronic signature: goods from
    it, or of it, are refused at receiving from now on."""


@event("regulatory.exception-approved.v1")
class RegulatoryExceptionApproved(EventData):
    """QA signed an exception to a GSP block: ``code`` is the refusal it lets through, for one receipt
    (``receipt``, and ``item`` unless it is a supplier's block) or one sales order (``order``)."""

    code: str
    receipt: str | None
    item: str | None
    order: str | None
    reason: str
    signed_by: str
