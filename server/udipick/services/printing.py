"""Printing labels: the printer registry, device defaults and the print-job table.

A label is rendered when it is asked for, inside the caller's transaction, so data that cannot
become a label that scans back unchanged (a bad GTIN check digit, a lot outside GS1 set 82)
refuses the whole step with a ``DomainError`` instead of printing something wrong later. The
job row is written in that same transaction and sent only after commit (by the print worker,
or ``print_worker.send_now``): a label exists exactly when the receipt, putaway or pack does.

A job that finds no printer is kept as ``no_printer``, never dropped: a supervisor assigns a
printer and retries it. Every job keeps its ZPL and its data, so it can be reprinted as the
same bytes or re-rendered for another printer's label size and resolution.

Rendering is an adapter (``LabelRenderer``) the caller hands in: the ZPL templates live with the printing
integration (``integrations/labels``), which itself builds on this module, so this module names only the
protocol and ``api/app.py`` wires in the templates.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

import msgspec
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.db.models import Location, Warehouse
from udipick.db.models_printing import (
    LABEL_SIZES,
    PRINT_JOB_STATUSES,
    PRINTER_DPIS,
    DevicePrinter,
    Printer,
    PrintJob,
)
from udipick.domain.access import Actor
from udipick.domain.errors import (
    InvalidLabelData,
    InvalidRecord,
    NoPrinterForLabel,
    NotFound,
    PrinterAlreadyRegistered,
    PrintJobAlreadySent,
    UnknownPrinter,
    UnknownPrintJob,
)
from udipick.services.identity import audit

#: size and resolution a job is rendered at while no printer takes it (every kind has it)
FALLBACK_SIZE = "4x6"
FALLBACK_DPI = 203
#: sends the worker tries before a job waits for a person (backoff between them)
DEFAULT_MAX_ATTEMPTS = 5
MAX_COPIES = 100
PENDING = ("queued", "failed")

_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    r"|\[?[0-9A-Fa-f:.]{2,45}\]?"
)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@runtime_checkable  # the API hands it to handlers as a dependency, and Litestar checks its type
class LabelRenderer(Protocol):
    """Label data in, printer bytes out; implemented by ``integrations.labels.render.ZplTemplates``."""

    def render(self, kind: str, data: Mapping[str, Any], *, size: str, dpi: int) -> bytes:
        """The label, or a ``DomainError`` when the data cannot become one that scans back unchanged."""
        ...

    def available(self) -> list[tuple[str, str, int]]:
        """Every (kind, size, dpi) there is a template for, in a stable order."""
        ...


@dataclass(frozen=True, slots=True)
class PrintJobRef:
    """What a workflow tells the handheld about the label it asked for."""

    job_id: int
    status: str
    printer: str | None
    message: str


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A due job locked by one sender (``FOR UPDATE SKIP LOCKED``) for one attempt."""

    id: int
    payload: bytes
    host: str
    port: int
    printer: str
    attempts: int
    max_attempts: int
    #: a serialised UDI label: retried automatically only when nothing can have reached the printer
    unique: bool


# ---- messages ---------------------------------------------------------------------------


def job_message(job: PrintJob) -> str:
    """One sentence a person at the handheld can act on, in the job's current state."""
    label = f"{job.kind} label" + (f" ×{job.copies}" if job.copies > 1 else "")
    if job.status == "sent":
        return f"The {label} was sent to printer {job.printer_name}."
    if job.status == "queued":
        return f"The {label} is queued for printer {job.printer_name}."
    if job.status == "failed":
        error = job.last_error or "no reason recorded"
        if job.next_attempt_at is not None:
            return (
                f"Printer {job.printer_name} did not take the {label} yet ({error}). udipick tries again by itself"
                f" (attempt {job.attempts} of {job.max_attempts}); check that the printer is on and online."
            )
        return (
            f"Printer {job.printer_name} did not take the {label} ({error}). It is kept as print job {job.id}:"
            " fix the printer, then press retry."
        )
    where = f" in zone {job.zone}" if job.zone else ""
    device = f" or device {job.device_id}" if job.device_id else ""
    return (
        f"No printer is set up for {label}s{where}{device}. The label is kept as print job {job.id}:"
        " ask a supervisor to assign a printer, then retry it."
    )


def job_ref(job: PrintJob) -> PrintJobRef:
    return PrintJobRef(job_id=job.id, status=job.status, printer=job.printer_name, message=job_message(job))


class LabelJob(msgspec.Struct, rename="camel"):
    """A queued label as a workflow's answer names it (``PrintJobRef`` on the wire)."""

    job_id: int
    status: str
    printer: str | None
    message: str


def label_job(ref: PrintJobRef) -> LabelJob:
    return LabelJob(job_id=ref.job_id, status=ref.status, printer=ref.printer, message=ref.message)


# ---- answers ---------------------------------------------------------------------------


class PrintJobOut(msgspec.Struct, rename="camel"):
    id: int
    kind: str
    size: str
    dpi: int
    copies: int
    status: str
    printer: str | None
    zone: str | None
    attempts: int
    max_attempts: int
    will_retry: bool
    next_attempt_at: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    username: str | None
    device_id: str | None
    reprint_of: int | None
    data: dict[str, Any]
    message: str


class PrinterOut(msgspec.Struct, rename="camel"):
    name: str
    host: str
    port: int
    dpi: int
    label_size: str
    zone: str | None
    location: str | None
    active: bool
    labels: list[str]


class DevicePrinterOut(msgspec.Struct, rename="camel"):
    device_id: str
    printer: str


class LabelOut(msgspec.Struct, rename="camel"):
    kind: str
    size: str
    dpi: int


def job_out(job: PrintJob) -> PrintJobOut:
    """A print job as the API answers it: its state, where it prints, and a sentence to act on."""
    return PrintJobOut(
        id=job.id,
        kind=job.kind,
        size=job.size,
        dpi=job.dpi,
        copies=job.copies,
        status=job.status,
        printer=job.printer_name,
        zone=job.zone,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        will_retry=job.status in ("queued", "failed") and job.next_attempt_at is not None,
        next_attempt_at=job.next_attempt_at,
        last_error=job.last_error,
        created_at=job.created_at,
        sent_at=job.sent_at,
        username=job.username,
        device_id=job.device_id,
        reprint_of=job.reprint_of,
        data=job.data,
        message=job_message(job),
    )


def printer_out(printer: Printer, location: str | None, labels: LabelRenderer) -> PrinterOut:
    kinds = [k for k, s, d in labels.available() if (s, d) == (printer.label_size, printer.dpi)]
    return PrinterOut(
        printer.name,
        printer.host,
        printer.port,
        printer.dpi,
        printer.label_size,
        printer.zone,
        location,
        printer.active,
        kinds,
    )


def list_labels(labels: LabelRenderer) -> list[LabelOut]:
    """Every label kind, size and resolution that has a template."""
    return [LabelOut(k, s, d) for k, s, d in labels.available()]


def no_printer_error(job: PrintJob) -> NoPrinterForLabel:
    return NoPrinterForLabel(job_message(job), job_id=job.id, kind=job.kind, zone=job.zone, device_id=job.device_id)


# ---- rendering ----------------------------------------------------------------------------


def _normalise(data: Mapping[str, object]) -> dict[str, Any]:
    """The data as JSON values, stored with the job and rendered from, so a re-render matches."""
    if not isinstance(data, Mapping):
        raise InvalidLabelData(
            "Label data must be an object of field names and values.", field="data", value=None, reason="type"
        )
    plain: dict[str, object] = {}
    for key, value in data.items():
        plain[str(key)] = value.date() if isinstance(value, dt.datetime) else value
    try:
        out = msgspec.to_builtins(plain)
    except TypeError as exc:
        raise InvalidLabelData(
            f"Label data cannot be stored: {exc}.", field="data", value=None, reason="type"
        ) from None
    return out  # type: ignore[no-any-return]  # to_builtins of a str-keyed dict is a dict; msgspec types it Any


#: the item label data key naming the code of each issuing agency (``integrations/labels/render.py``)
DI_KEYS: Final = {"gs1": "gtin", "ma": "ma_di", "ahm": "ahm_di"}


async def registered_item_code(session: AsyncSession, data: dict[str, Any]) -> dict[str, Any]:
    """Item label data naming the item by its ERP id (``item``, and ``pack_level``, default ``each``): the
    label prints the DI of the agency the item was registered with (``items.udi_agency``) at that level."""
    level = str(data.get("pack_level") or "each")
    row = (
        await session.execute(
            text(
                "SELECT i.udi_agency, i.name, g.gtin, d.di FROM items i"
                "  LEFT JOIN item_gtins g ON g.item_id = i.id AND g.pack_level = :level"
                "  LEFT JOIN item_dis d ON d.item_id = i.id AND d.pack_level = :level AND d.agency = i.udi_agency"
                " WHERE i.erp_id = :item"
            ),
            {"item": str(data["item"]), "level": level},
        )
    ).first()
    if row is None:
        raise InvalidLabelData(f"No item {data['item']!r}.", field="item", value=data["item"], reason="unknown")
    code = row.gtin if row.udi_agency == "gs1" else row.di
    if code is None:
        raise InvalidLabelData(
            f"Item {data['item']} has no {row.udi_agency.upper()} code at pack level {level!r}.",
            field="pack_level",
            value=level,
            reason="unknown",
        )
    out = {**data, "item_name": data.get("item_name") or row.name}
    out[DI_KEYS[row.udi_agency]] = code
    return out


def _serialised(kind: str, data: Mapping[str, Any]) -> bool:
    return kind == "item" and bool(str(data.get("serial") or "").strip())


# ---- choosing a printer -----------------------------------------------------------------


async def printer_by_name(session: AsyncSession, name: str, *, lock: bool = False) -> Printer:
    query = select(Printer).where(Printer.name == name)
    if lock:
        query = query.with_for_update()
    printer = (await session.execute(query)).scalar_one_or_none()
    if printer is None:
        raise UnknownPrinter(f"No printer is registered as {name!r}.", printer=name)
    return printer


def _takes(printer: Printer, kind: str, size: str | None, dpi: int | None, labels: LabelRenderer) -> bool:
    return (
        printer.active
        and (size is None or printer.label_size == size)
        and (dpi is None or printer.dpi == dpi)
        and (kind, printer.label_size, printer.dpi) in set(labels.available())
    )


async def choose_printer(
    session: AsyncSession,
    labels: LabelRenderer,
    *,
    kind: str,
    device_id: str | None,
    zone: str | None,
    size: str | None = None,
    dpi: int | None = None,
) -> Printer | None:
    """The device's default printer, else the zone's (by name), that holds labels for ``kind``.

    A printer loaded with 2x1 labels cannot print an SSCC label; the next candidate is taken.
    """
    candidates: list[Printer] = []
    if device_id:
        candidates += (
            (
                await session.execute(
                    select(Printer)
                    .join(DevicePrinter, DevicePrinter.printer_id == Printer.id)
                    .where(DevicePrinter.device_id == device_id)
                )
            )
            .scalars()
            .all()
        )
    if zone:
        candidates += (
            (await session.execute(select(Printer).where(Printer.zone == zone, Printer.active).order_by(Printer.name)))
            .scalars()
            .all()
        )
    return next((p for p in candidates if _takes(p, kind, size, dpi, labels)), None)


async def _named_printer(session: AsyncSession, name: str, size: str | None, dpi: int | None) -> Printer:
    printer = await printer_by_name(session, name)
    if not printer.active:
        raise UnknownPrinter(f"Printer {name} is switched off in udipick (inactive); choose another.", printer=name)
    for field, wanted, has in (("size", size, printer.label_size), ("dpi", dpi, printer.dpi)):
        if wanted is not None and wanted != has:
            raise InvalidLabelData(
                f"Printer {name} holds {printer.label_size} labels at {printer.dpi} dpi, not {wanted}.",
                field=field,
                value=wanted,
                reason="printer-mismatch",
                printer=name,
            )
    return printer


# ---- queueing ----------------------------------------------------------------------------


async def queue_label(
    session: AsyncSession,
    actor: Actor,
    labels: LabelRenderer,
    *,
    kind: str,
    data: Mapping[str, object],
    zone: str | None = None,
) -> PrintJobRef:
    """Render a label now and record its print job in the caller's transaction (no commit).

    The printer is the actor's device default, else the zone's printer. With none, the job is
    kept as ``no_printer`` and the returned ``message`` says so; it is sent after commit by the
    print worker. Bad data raises a ``DomainError`` (``InvalidLabelData``, ``InvalidGtin``,
    ``InvalidSscc``, ``UnknownLabelTemplate``) so the caller's step is refused whole.
    """
    job = await create_job(session, actor, labels, kind=kind, data=data, zone=zone)
    return job_ref(job)


async def create_job(
    session: AsyncSession,
    actor: Actor,
    labels: LabelRenderer,
    *,
    kind: str,
    data: Mapping[str, object],
    zone: str | None = None,
    printer: str | None = None,
    size: str | None = None,
    dpi: int | None = None,
    copies: int = 1,
    reprint_of: int | None = None,
    device_id: str | None = None,
) -> PrintJob:
    """``queue_label`` with the API's choices: a named printer, a size/dpi, copies."""
    if size is not None and size not in LABEL_SIZES:
        raise InvalidLabelData(
            f"No label size {size!r}; sizes are {', '.join(LABEL_SIZES)}.", field="size", value=size, reason="size"
        )
    if dpi is not None and dpi not in PRINTER_DPIS:
        raise InvalidLabelData(
            f"No resolution {dpi} dpi; printers are 203 or 300 dpi.", field="dpi", value=dpi, reason="dpi"
        )
    if not 1 <= copies <= MAX_COPIES:
        raise InvalidLabelData(
            f"Copies must be 1 to {MAX_COPIES}, not {copies}.", field="copies", value=copies, reason="copies"
        )
    plain = _normalise(data)
    if kind == "item" and plain.get("item") and not any(plain.get(key) for key in DI_KEYS.values()):
        plain = await registered_item_code(session, plain)
    if copies > 1 and _serialised(kind, plain):
        raise InvalidLabelData(
            "A serial number identifies one unit: print one label per serial, not copies of it.",
            field="copies",
            value=copies,
            reason="serial-copies",
        )
    device = device_id if device_id is not None else actor.device_id
    if printer is not None:
        chosen: Printer | None = await _named_printer(session, printer, size, dpi)
    else:
        chosen = await choose_printer(session, labels, kind=kind, device_id=device, zone=zone, size=size, dpi=dpi)
    job_size = chosen.label_size if chosen else (size or FALLBACK_SIZE)
    job_dpi = chosen.dpi if chosen else (dpi or FALLBACK_DPI)
    zpl = labels.render(kind, plain, size=job_size, dpi=job_dpi)
    job_id = (
        await session.execute(
            insert(PrintJob)
            .values(
                kind=kind,
                size=job_size,
                dpi=job_dpi,
                zpl=zpl,
                data=plain,
                copies=copies,
                zone=zone,
                printer_id=chosen.id if chosen else None,
                printer_name=chosen.name if chosen else None,
                status="queued" if chosen else "no_printer",
                next_attempt_at=func.now() if chosen else None,
                max_attempts=DEFAULT_MAX_ATTEMPTS,
                user_id=actor.user_id,
                username=actor.label,
                device_id=device,
                reprint_of=reprint_of,
            )
            .returning(PrintJob.id)
        )
    ).scalar_one()
    return await get_job(session, job_id)


async def get_job(session: AsyncSession, job_id: int, *, lock: bool = False) -> PrintJob:
    query = select(PrintJob).where(PrintJob.id == job_id).execution_options(populate_existing=True)
    if lock:
        query = query.with_for_update()
    job = (await session.execute(query)).scalar_one_or_none()
    if job is None:
        raise UnknownPrintJob(f"There is no print job {job_id}.", job_id=job_id)
    return job


async def list_jobs(
    session: AsyncSession, *, status: str | None = None, limit: int = 100, before_id: int | None = None
) -> list[PrintJobOut]:
    """Newest first; ``before_id`` pages on."""
    if status is not None and status not in PRINT_JOB_STATUSES:
        raise InvalidLabelData(
            f"No print-job status {status!r}; statuses are {', '.join(PRINT_JOB_STATUSES)}.",
            field="status",
            value=status,
            reason="status",
        )
    query = select(PrintJob).order_by(PrintJob.id.desc()).limit(max(1, min(limit, 500)))
    if status is not None:
        query = query.where(PrintJob.status == status)
    if before_id is not None:
        query = query.where(PrintJob.id < before_id)
    return [job_out(j) for j in (await session.execute(query)).scalars().all()]


async def _assign(session: AsyncSession, job: PrintJob, printer: Printer | None, labels: LabelRenderer) -> None:
    """Point a job at ``printer`` (re-rendered if its label size or resolution differs), due now."""
    if printer is None:
        job.status, job.printer_id, job.next_attempt_at = "no_printer", None, None
        return
    if (printer.label_size, printer.dpi) != (job.size, job.dpi):
        job.zpl = labels.render(job.kind, job.data, size=printer.label_size, dpi=printer.dpi)
        job.size, job.dpi = printer.label_size, printer.dpi
    job.printer_id, job.printer_name = printer.id, printer.name
    job.status = "queued"
    job.next_attempt_at = func.now()
    job.max_attempts = job.attempts + DEFAULT_MAX_ATTEMPTS


async def _target(
    session: AsyncSession, labels: LabelRenderer, job: PrintJob, printer: str | None, device_id: str | None
) -> Printer | None:
    if printer is not None:
        return await _named_printer(session, printer, None, None)
    if job.printer_id is not None:
        current = (await session.execute(select(Printer).where(Printer.id == job.printer_id))).scalar_one_or_none()
        if current is not None and current.active and _takes(current, job.kind, None, None, labels):
            return current
    return await choose_printer(session, labels, kind=job.kind, device_id=device_id, zone=job.zone)


async def retry_job(
    session: AsyncSession, actor: Actor, labels: LabelRenderer, job_id: int, *, printer: str | None = None
) -> PrintJob:
    """Send a job that did not print again: to ``printer``, its own printer, or the default one."""
    job = await get_job(session, job_id, lock=True)
    if job.status == "sent":
        raise PrintJobAlreadySent(
            f"Print job {job_id} was sent to printer {job.printer_name}; use reprint for another copy.", job_id=job_id
        )
    await _assign(session, job, await _target(session, labels, job, printer, job.device_id), labels)
    await session.flush()
    await audit(session, actor, "print.retry", "ok", target=f"print_job:{job_id}", detail={"printer": job.printer_name})
    return await get_job(session, job_id)


async def reprint_job(
    session: AsyncSession, actor: Actor, labels: LabelRenderer, job_id: int, *, printer: str | None = None
) -> PrintJob:
    """A new job for the same label (``reprint_of``): same bytes on the same printer, re-rendered for another."""
    original = await get_job(session, job_id)
    target = await _target(session, labels, original, printer, actor.device_id)
    if target is not None and (target.label_size, target.dpi) == (original.size, original.dpi):
        zpl, size, dpi = original.zpl, original.size, original.dpi
    else:
        size = target.label_size if target else original.size
        dpi = target.dpi if target else original.dpi
        zpl = labels.render(original.kind, original.data, size=size, dpi=dpi)
    new_id = (
        await session.execute(
            insert(PrintJob)
            .values(
                kind=original.kind,
                size=size,
                dpi=dpi,
                zpl=zpl,
                data=original.data,
                copies=original.copies,
                zone=original.zone,
                printer_id=target.id if target else None,
                printer_name=target.name if target else None,
                status="queued" if target else "no_printer",
                next_attempt_at=func.now() if target else None,
                max_attempts=DEFAULT_MAX_ATTEMPTS,
                user_id=actor.user_id,
                username=actor.label,
                device_id=actor.device_id,
                reprint_of=original.id,
            )
            .returning(PrintJob.id)
        )
    ).scalar_one()
    await audit(session, actor, "print.reprint", "ok", target=f"print_job:{job_id}", detail={"reprint": new_id})
    return await get_job(session, new_id)


# ---- the sender's side (used by integrations/print_worker.py) ------------------------------


async def claim_due_job(session: AsyncSession, *, job_id: int | None = None) -> ClaimedJob | None:
    """Lock one due job whose printer is active; concurrent senders skip locked rows."""
    query = (
        select(PrintJob, Printer.host, Printer.port)
        .join(Printer, Printer.id == PrintJob.printer_id)
        .where(PrintJob.status.in_(PENDING), PrintJob.next_attempt_at <= func.now(), Printer.active)
        .order_by(PrintJob.next_attempt_at, PrintJob.id)
        .limit(1)
        .with_for_update(of=PrintJob, skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if job_id is not None:
        query = query.where(PrintJob.id == job_id)
    row = (await session.execute(query)).first()
    if row is None:
        return None
    job, host, port = row
    return ClaimedJob(
        id=job.id,
        payload=job.zpl * job.copies,
        host=host,
        port=port,
        printer=job.printer_name or "",
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        unique=_serialised(job.kind, job.data),
    )


async def record_sent(session: AsyncSession, job_id: int) -> None:
    await session.execute(
        update(PrintJob)
        .where(PrintJob.id == job_id)
        .values(status="sent", attempts=PrintJob.attempts + 1, sent_at=func.now(), next_attempt_at=None)
    )


async def record_failed(session: AsyncSession, job_id: int, *, error: str, retry_in: float | None) -> None:
    """A failed attempt: due again after ``retry_in`` seconds, or (``None``) waiting for a person."""
    await session.execute(
        update(PrintJob)
        .where(PrintJob.id == job_id)
        .values(
            status="failed",
            attempts=PrintJob.attempts + 1,
            last_error=error[:2000],
            next_attempt_at=None if retry_in is None else func.now() + dt.timedelta(seconds=retry_in),
        )
    )


# ---- printer registry ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrinterSpec:
    name: str
    host: str
    dpi: int
    label_size: str
    port: int = 9100
    zone: str | None = None
    location: str | None = None
    active: bool = True


def _check_spec(spec: PrinterSpec) -> None:
    def bad(field: str, message: str) -> InvalidRecord:
        return InvalidRecord(message, pointer=f"/{field}", field=field)

    if not _NAME.fullmatch(spec.name):
        raise bad("name", f"Printer name {spec.name!r} must be 1-64 letters, digits, '.', '_' or '-'.")
    if len(spec.host) > 253 or not _HOST.fullmatch(spec.host):
        raise bad("host", f"Printer host {spec.host!r} is not a host name or IP address.")
    if not 1 <= spec.port <= 65535:
        raise bad("port", f"Port {spec.port} is not 1-65535 (Zebra raw printing uses 9100).")
    if spec.dpi not in PRINTER_DPIS:
        raise bad("dpi", f"Resolution {spec.dpi} dpi is not one of {', '.join(map(str, PRINTER_DPIS))}.")
    if spec.label_size not in LABEL_SIZES:
        raise bad("labelSize", f"Label size {spec.label_size!r} is not one of {', '.join(LABEL_SIZES)}.")
    if spec.zone is not None and not (0 < len(spec.zone) <= 32):
        raise bad("zone", "A zone is 1-32 characters.")


async def _location_id(session: AsyncSession, code: str | None) -> int | None:
    if not code:
        return None
    found = (
        await session.execute(select(Location.id).where(Location.code == code).order_by(Location.id).limit(1))
    ).scalar()
    if found is None:
        raise NotFound(f"There is no location {code!r}.", location=code)
    return found


async def list_printers(session: AsyncSession, labels: LabelRenderer) -> list[PrinterOut]:
    rows = (
        await session.execute(
            select(Printer, Location.code)
            .outerjoin(Location, Location.id == Printer.location_id)
            .order_by(Printer.name)
        )
    ).all()
    return [printer_out(p, code, labels) for p, code in rows]


async def _park_pending(session: AsyncSession, printer_id: int) -> None:
    """Jobs waiting for a printer that goes away are kept as ``no_printer``, never lost."""
    await session.execute(
        update(PrintJob)
        .where(PrintJob.printer_id == printer_id, PrintJob.status.in_(PENDING))
        .values(status="no_printer", printer_id=None, next_attempt_at=None)
    )


async def add_printer(session: AsyncSession, actor: Actor, spec: PrinterSpec) -> Printer:
    _check_spec(spec)
    if (await session.execute(select(Printer.id).where(Printer.name == spec.name))).scalar() is not None:
        raise PrinterAlreadyRegistered(f"A printer named {spec.name} is registered already.", printer=spec.name)
    printer = Printer(
        name=spec.name,
        host=spec.host,
        port=spec.port,
        dpi=spec.dpi,
        label_size=spec.label_size,
        zone=spec.zone,
        location_id=await _location_id(session, spec.location),
        active=spec.active,
    )
    session.add(printer)
    await session.flush()
    await audit(session, actor, "printer.add", "ok", target=f"printer:{spec.name}", detail=_spec_detail(spec))
    return printer


def _spec_detail(spec: PrinterSpec) -> dict[str, Any]:
    return {f: getattr(spec, f) for f in PrinterSpec.__dataclass_fields__}


async def update_printer(
    session: AsyncSession, actor: Actor, labels: LabelRenderer, name: str, spec: PrinterSpec
) -> Printer:
    """Replace a printer's settings (a rename keeps its jobs and device defaults)."""
    _check_spec(spec)
    printer = await printer_by_name(session, name, lock=True)
    if (
        spec.name != name
        and (await session.execute(select(Printer.id).where(Printer.name == spec.name))).scalar() is not None
    ):
        raise PrinterAlreadyRegistered(f"A printer named {spec.name} is registered already.", printer=spec.name)
    printer.name, printer.host, printer.port = spec.name, spec.host, spec.port
    printer.dpi, printer.label_size, printer.zone = spec.dpi, spec.label_size, spec.zone
    printer.location_id = await _location_id(session, spec.location)
    printer.active = spec.active
    printer.updated_at = func.now()
    await session.flush()
    if not spec.active:
        await _park_pending(session, printer.id)
    else:  # pending jobs follow a renamed printer and are re-rendered if its labels changed
        pending = (
            (
                await session.execute(
                    select(PrintJob).where(PrintJob.printer_id == printer.id, PrintJob.status.in_(PENDING))
                )
            )
            .scalars()
            .all()
        )
        for job in pending:
            if _takes(printer, job.kind, None, None, labels):
                job.printer_name = printer.name
                if (job.size, job.dpi) != (printer.label_size, printer.dpi):
                    job.zpl = labels.render(job.kind, job.data, size=printer.label_size, dpi=printer.dpi)
                    job.size, job.dpi = printer.label_size, printer.dpi
            else:
                job.status, job.printer_id, job.next_attempt_at = "no_printer", None, None
    await audit(session, actor, "printer.update", "ok", target=f"printer:{name}", detail=_spec_detail(spec))
    await session.refresh(printer)
    return printer


async def remove_printer(session: AsyncSession, actor: Actor, name: str) -> None:
    printer = await printer_by_name(session, name, lock=True)
    await _park_pending(session, printer.id)
    await session.delete(printer)
    await session.flush()
    await audit(session, actor, "printer.remove", "ok", target=f"printer:{name}")


async def list_device_printers(session: AsyncSession) -> list[DevicePrinterOut]:
    rows = await session.execute(
        select(DevicePrinter.device_id, Printer.name)
        .join(Printer, Printer.id == DevicePrinter.printer_id)
        .order_by(DevicePrinter.device_id)
    )
    return [DevicePrinterOut(d, p) for d, p in rows.all()]


async def set_device_printer(session: AsyncSession, actor: Actor, device_id: str, printer: str) -> None:
    if not 0 < len(device_id) <= 64:
        raise InvalidRecord("A device id is 1-64 characters.", pointer="/deviceId", field="deviceId")
    found = await printer_by_name(session, printer)
    existing = await session.get(DevicePrinter, device_id)
    if existing is None:
        session.add(DevicePrinter(device_id=device_id, printer_id=found.id))
    else:
        existing.printer_id = found.id
        existing.updated_at = func.now()
    await session.flush()
    await audit(
        session, actor, "printer.device-default", "ok", target=f"device:{device_id}", detail={"printer": printer}
    )


async def clear_device_printer(session: AsyncSession, actor: Actor, device_id: str) -> None:
    existing = await session.get(DevicePrinter, device_id)
    if existing is None:
        raise NotFound(f"Device {device_id!r} has no default printer.", device_id=device_id)
    await session.delete(existing)
    await session.flush()
    await audit(session, actor, "printer.device-default", "ok", target=f"device:{device_id}", detail={"printer": None})


async def location_label_data(db: async_sessionmaker, *, code: str, warehouse: str) -> dict[str, object]:
    """A location's label: its barcode (what a scan must read) and, as text, its code and zone."""
    async with db() as session:
        row = (
            await session.execute(
                select(Location.barcode, Location.code, Location.zone)
                .join(Warehouse, Warehouse.id == Location.warehouse_id)
                .where(Location.code == code, Warehouse.code == warehouse)
            )
        ).first()
    if row is None:
        raise NotFound(f"no location {code} in warehouse {warehouse}", location=code, warehouse=warehouse)
    return {"code": row.barcode, "description": f"{row.code} · {row.zone}"}
