"""Labels and printers: print, preview, the print-job table, and the printer registry.

``POST /api/v1/labels/{kind}/print`` renders and records the job, commits, then makes one
immediate attempt: 201 when the printer took it, 202 when it did not yet (the print worker
retries; the body says why), and a ``no-printer-for-label`` problem when no printer takes the
label, with the kept job's id so a supervisor can assign a printer and retry it.

``GET /api/v1/labels/{kind}/preview.png`` is the real ZPL rendered by zplkit. Label data comes
as query parameters (``?gtin=...&lot=...``; repeat ``to_address`` for several lines) or as one
JSON object in ``data``; a page fetches it with its bearer token and shows the blob in an
``<img>``.

``GET /api/v1/labels/{kind}.zpl`` hands a browser print agent (Zebra Browser Print, a page's own
print helper) the ZPL of a label udipick already knows, built from udipick's records rather than from
data the caller makes up: ``sscc.zpl?sscc=...`` the SSCC label of a closed carton (FROM from the site
record), ``location.zpl?code=...&warehouse=MAIN`` a location's label; ``size`` and ``dpi`` as for a
preview. Whoever packs may fetch them (pickers, supervisors, administrators).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from msgspec import Meta

from udipick.api.deps import CurrentActor, Db, Labels, allow
from udipick.api.picking import PICKERS
from udipick.api.request import refuse_deep_json
from udipick.db.models_printing import PrintJob
from udipick.domain.errors import InvalidLabelData, UnknownLabelTemplate
from udipick.domain.gs1_numbers import validate_sscc
from udipick.integrations import print_worker
from udipick.integrations.labels.preview import render_png
from udipick.services import packing, printing
from udipick.services.printing import (
    DevicePrinterOut,
    LabelOut,
    PrinterOut,
    PrintJobOut,
    job_out,
    printer_out,
)

#: an immediate attempt from the API waits at most this long for the printer; the worker does the rest
SEND_TIMEOUT = 3.0
REGISTRY_READ = allow("admin", "supervisor", scopes=("admin",))
REGISTRY_WRITE = allow("admin", scopes=("admin",))
ANY_USER = allow(any_user=True)
_RESERVED_QUERY = frozenset({"size", "dpi", "data", "access_token"})

Name = Annotated[str, Meta(min_length=1, max_length=64)]


class PrintIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    data: dict[str, Any]
    size: str | None = None
    dpi: int | None = None
    printer: Name | None = None
    zone: Annotated[str, Meta(min_length=1, max_length=32)] | None = None
    copies: Annotated[int, Meta(ge=1, le=printing.MAX_COPIES)] = 1


class JobActionIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    printer: Name | None = None


class PrinterIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    name: Name
    host: Annotated[str, Meta(min_length=1, max_length=253)]
    dpi: int
    label_size: str
    port: int = 9100
    zone: Annotated[str, Meta(min_length=1, max_length=32)] | None = None
    location: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    active: bool = True


class DevicePrinterIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    printer: Name


def _spec(data: PrinterIn) -> printing.PrinterSpec:
    return printing.PrinterSpec(
        name=data.name,
        host=data.host,
        dpi=data.dpi,
        label_size=data.label_size,
        port=data.port,
        zone=data.zone,
        location=data.location,
        active=data.active,
    )


async def _send_and_answer(db: Db, job: PrintJob) -> Response[PrintJobOut]:
    """After commit: a job without printer is an error the handheld shows; else one attempt now."""
    if job.status == "no_printer":
        raise printing.no_printer_error(job)
    await print_worker.send_now(db, job.id, timeout=SEND_TIMEOUT)
    async with db() as session:
        job = await printing.get_job(session, job.id)
    return Response(job_out(job), status_code=201 if job.status == "sent" else 202)


# ---- labels -------------------------------------------------------------------------------


@get("/api/v1/labels", **ANY_USER)
async def list_labels(labels: Labels) -> list[LabelOut]:
    """Every label kind, size and resolution that has a template."""
    return printing.list_labels(labels)


@post("/api/v1/labels/{kind:str}/print", **ANY_USER)
async def print_label(
    kind: FromPath[str], data: JSONBody[PrintIn], db: Db, actor: CurrentActor, labels: Labels
) -> Response[PrintJobOut]:
    """Print ``copies`` of one label on the named printer, else the device's or the zone's."""
    async with db() as session, session.begin():
        job = await printing.create_job(
            session,
            actor,
            labels,
            kind=kind,
            data=data.data,
            zone=data.zone,
            printer=data.printer,
            size=data.size,
            dpi=data.dpi,
            copies=data.copies,
        )
    return await _send_and_answer(db, job)


def _preview_data(request: Request) -> dict[str, Any]:
    params = request.query_params
    data: dict[str, Any] = {}
    raw = params.get("data")
    if raw:
        refuse_deep_json(raw, field="data")
        try:
            decoded = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise InvalidLabelData(
                f"The data parameter is not JSON: {exc}.", field="data", value=None, reason="json"
            ) from None
        if not isinstance(decoded, dict):
            raise InvalidLabelData("The data parameter must be a JSON object.", field="data", value=None, reason="json")
        data.update(decoded)
    for key in params:
        if key in _RESERVED_QUERY:
            continue
        values = params.getall(key)
        data[key] = values[0] if len(values) == 1 else values
    return data


def _dpi(raw: str | None) -> int:
    if raw is None:
        return printing.FALLBACK_DPI
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4):
        raise InvalidLabelData(
            f"Resolution {raw!r} is not a number of dpi (203 or 300).", field="dpi", value=raw, reason="dpi"
        )
    return int(raw)


async def _png(zpl: bytes, size: str, dpi: int) -> Response[bytes]:
    try:
        png = await asyncio.to_thread(render_png, zpl, size=size, dpi=dpi)
    except ValueError as exc:  # zplkit's RenderError: a template zplkit cannot draw
        raise InvalidLabelData(
            f"The label cannot be previewed: {exc}.", field="zpl", value=None, reason="preview"
        ) from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


@get("/api/v1/labels/{kind:str}/preview.png", media_type="image/png", **ANY_USER)
async def preview_label(kind: FromPath[str], request: Request, labels: Labels) -> Response[bytes]:
    """The label as the printer would print it (``size``, ``dpi`` and the label data as query parameters)."""
    size = request.query_params.get("size") or printing.FALLBACK_SIZE
    dpi = _dpi(request.query_params.get("dpi"))
    zpl = labels.render(kind, _preview_data(request), size=size, dpi=dpi)
    return await _png(zpl, size, dpi)


#: the kinds ``GET /api/v1/labels/{kind}.zpl`` serves, and the query parameter naming the record
ZPL_KINDS = {"sscc": "sscc", "location": "code"}


@get(
    "/api/v1/labels/{label:str}",
    media_type="text/plain; charset=utf-8",
    summary="A label's ZPL for a browser print agent: sscc.zpl?sscc=..., location.zpl?code=...",
    **allow(*PICKERS),
)
async def label_zpl(
    label: Annotated[str, FromPath, Meta(max_length=40)],
    db: Db,
    labels: Labels,
    sscc: FromQuery[str | None] = None,
    code: FromQuery[Annotated[str, Meta(max_length=64)] | None] = None,
    warehouse: FromQuery[Annotated[str, Meta(max_length=64)]] = "MAIN",
    size: FromQuery[Annotated[str, Meta(max_length=8)]] = printing.FALLBACK_SIZE,
    dpi: FromQuery[int] = printing.FALLBACK_DPI,
) -> Response[bytes]:
    """The ZPL (UTF-8 under ``^CI28``) exactly as a network printer would get it; ``unknown-label-template``
    for any other name, ``not-found`` for an SSCC or location udipick does not know."""
    kind, dot, extension = label.rpartition(".")
    if not dot or extension != "zpl" or kind not in ZPL_KINDS:
        raise UnknownLabelTemplate(
            f"No ZPL label {label!r}: udipick serves {', '.join(f'{k}.zpl' for k in ZPL_KINDS)}.",
            kind=kind or label,
            size=size,
            dpi=dpi,
        )
    key = ZPL_KINDS[kind]
    value = sscc if kind == "sscc" else code
    if not value:
        raise InvalidLabelData(
            f"A {kind} label needs the query parameter {key}.", field=key, value=None, reason="missing"
        )
    if kind == "sscc":
        data = await packing.sscc_label_data(db, sscc=validate_sscc(value))
    else:
        data = await printing.location_label_data(db, code=value, warehouse=warehouse)
    zpl = labels.render(kind, data, size=size, dpi=dpi)
    return Response(zpl, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-store"})


# ---- print jobs ---------------------------------------------------------------------------


@get("/api/v1/print-jobs", **ANY_USER)
async def list_print_jobs(
    db: Db,
    status: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    before_id: Annotated[int | None, QueryParameter(name="beforeId")] = None,
) -> list[PrintJobOut]:
    """Newest first; ``status`` = queued, sent, failed or no_printer."""
    async with db() as session:
        return await printing.list_jobs(session, status=status, limit=limit, before_id=before_id)


@get("/api/v1/print-jobs/{job_id:int}", **ANY_USER)
async def get_print_job(job_id: FromPath[int], db: Db) -> PrintJobOut:
    async with db() as session:
        return job_out(await printing.get_job(session, job_id))


@get("/api/v1/print-jobs/{job_id:int}/preview.png", media_type="image/png", **ANY_USER)
async def preview_print_job(job_id: FromPath[int], db: Db) -> Response[bytes]:
    """The job's own ZPL, byte for byte what was (or will be) sent."""
    async with db() as session:
        job = await printing.get_job(session, job_id)
    return await _png(job.zpl, job.size, job.dpi)


@post("/api/v1/print-jobs/{job_id:int}/reprint", **ANY_USER)
async def reprint_print_job(
    job_id: FromPath[int], db: Db, actor: CurrentActor, labels: Labels, data: JSONBody[JobActionIn | None] = None
) -> Response[PrintJobOut]:
    """The same label again, as a new job (``reprintOf``), on ``printer`` or the original one."""
    async with db() as session, session.begin():
        job = await printing.reprint_job(session, actor, labels, job_id, printer=data.printer if data else None)
    return await _send_and_answer(db, job)


@post("/api/v1/print-jobs/{job_id:int}/retry", **ANY_USER)
async def retry_print_job(
    job_id: FromPath[int], db: Db, actor: CurrentActor, labels: Labels, data: JSONBody[JobActionIn | None] = None
) -> Response[PrintJobOut]:
    """Send a failed or printer-less job again, on ``printer`` or its own / the default printer."""
    async with db() as session, session.begin():
        job = await printing.retry_job(session, actor, labels, job_id, printer=data.printer if data else None)
    return await _send_and_answer(db, job)


# ---- printer registry ---------------------------------------------------------------------


@get("/api/v1/printers", **REGISTRY_READ)
async def list_printers(db: Db, labels: Labels) -> list[PrinterOut]:
    async with db() as session:
        return await printing.list_printers(session, labels)


@post("/api/v1/printers", status_code=201, **REGISTRY_WRITE)
async def add_printer(data: JSONBody[PrinterIn], db: Db, actor: CurrentActor, labels: Labels) -> PrinterOut:
    async with db() as session, session.begin():
        printer = await printing.add_printer(session, actor, _spec(data))
    return printer_out(printer, data.location, labels)


@put("/api/v1/printers/{name:str}", **REGISTRY_WRITE)
async def update_printer(
    name: FromPath[str], data: JSONBody[PrinterIn], db: Db, actor: CurrentActor, labels: Labels
) -> PrinterOut:
    """Replace a printer's settings; jobs waiting for it follow (re-rendered if its labels changed)."""
    async with db() as session, session.begin():
        printer = await printing.update_printer(session, actor, labels, name, _spec(data))
    return printer_out(printer, data.location, labels)


@delete("/api/v1/printers/{name:str}", status_code=204, **REGISTRY_WRITE)
async def remove_printer(name: FromPath[str], db: Db, actor: CurrentActor) -> None:
    """Jobs still waiting for it are kept as ``no_printer``."""
    async with db() as session, session.begin():
        await printing.remove_printer(session, actor, name)


@get("/api/v1/device-printers", **REGISTRY_READ)
async def list_device_printers(db: Db) -> list[DevicePrinterOut]:
    async with db() as session:
        return await printing.list_device_printers(session)


@put("/api/v1/device-printers/{device_id:str}", **REGISTRY_WRITE)
async def set_device_printer(
    device_id: FromPath[str], data: JSONBody[DevicePrinterIn], db: Db, actor: CurrentActor
) -> DevicePrinterOut:
    async with db() as session, session.begin():
        await printing.set_device_printer(session, actor, device_id, data.printer)
    return DevicePrinterOut(device_id, data.printer)


@delete("/api/v1/device-printers/{device_id:str}", status_code=204, **REGISTRY_WRITE)
async def clear_device_printer(device_id: FromPath[str], db: Db, actor: CurrentActor) -> None:
    async with db() as session, session.begin():
        await printing.clear_device_printer(session, actor, device_id)


ROUTES = [
    list_labels,
    print_label,
    preview_label,
    label_zpl,
    list_print_jobs,
    get_print_job,
    preview_print_job,
    reprint_print_job,
    retry_print_job,
    list_printers,
    add_printer,
    update_printer,
    remove_printer,
    list_device_printers,
    set_device_printer,
    clear_device_printer,
]
