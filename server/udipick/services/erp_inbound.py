"""ERP → udipick: idempotent upserts of master data and documents, one by one or in bulk.

The key is the ERP's id and version: a replay (same version) changes nothing, an older version is
refused, a newer one replaces. Bulk loads refuse bad records one by one, each with a pointer to the
bad field, and keep the valid rest: an initial load of 100,000 items must not fail on one typo.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.db.models import (
    DI_AGENCIES,
    Customer,
    InboundDocument,
    InboundLine,
    Item,
    Location,
    OutboundDocument,
    OutboundLine,
    Supplier,
    Warehouse,
)
from udipick.domain.access import Actor
from udipick.domain.erp_versions import first_difference
from udipick.domain.errors import (
    Conflict,
    DomainError,
    InvalidGln,
    InvalidGtin,
    InvalidRecord,
    StaleVersion,
    VersionReused,
)
from udipick.domain.gtin import gtin14
from udipick.domain.problem import Problem, problem_body
from udipick.domain.site import validate_gln
from udipick.domain.udi_di import DI_MAX_LENGTH, di_fault
from udipick.services import regulatory, wave_control
from udipick.services.identity import audit

# ---- the messages the ERP sends (msgspec validates types, ranges and enums) ----------------------

ErpId = Annotated[str, Meta(min_length=1, max_length=64)]
Version = Annotated[int, Meta(ge=1, le=2**62)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Positive = Annotated[int, Meta(gt=0, le=10**9)]
NonNeg = Annotated[int, Meta(ge=0, le=36500)]
Gln = Annotated[str, Meta(pattern=r"^[0-9]{13}$")]
Code = Annotated[str, Meta(min_length=1, max_length=64)]
#: a registration certificate, filing or licence number as printed (e.g. 国械注准20153660123)
RegNo = Annotated[str, Meta(min_length=1, max_length=64)]
BaseUnit = Literal["EA", "BX", "CS", "PK", "KT", "ST", "PR"]
PackLevelName = Literal["each", "box", "case", "pallet"]
LocationType = Literal["receiving", "pick", "reserve", "quarantine", "bonded", "cold", "shipping"]


class Record(Struct, rename="camel", forbid_unknown_fields=False, kw_only=True):
    pass


#: a DI of the MA or AHM issuing agency, as printed (checked by ``domain.udi_di.di_fault``)
DeviceId = Annotated[str, Meta(min_length=1, max_length=DI_MAX_LENGTH)]


class PackLevelIn(Record, kw_only=True):
    level: PackLevelName
    #: the level's GS1 GTIN; a level named by MA or AHM only leaves it out (and gives ``maDi`` or ``ahmDi``)
    gtin: str | None = None
    quantity: Positive
    hibc_uom: Annotated[int, Meta(ge=0, le=9)] | None = None
    #: the pack level's DI from MA (IDcode, ``MA.156.M0.…``) and from AHM, when it has one
    ma_di: DeviceId | None = None
    ahm_di: DeviceId | None = None


class ItemIn(Record):
    erp_id: ErpId
    version: Version
    gtin: str
    name: Name
    base_unit: BaseUnit
    lot_tracked: bool = False
    serial_tracked: bool = False
    expiry_tracked: bool = False
    min_temp_c: Annotated[float, Meta(ge=-273, le=200)] | None = None
    max_temp_c: Annotated[float, Meta(ge=-273, le=200)] | None = None
    min_shelf_life_days: NonNeg = 0
    qc_required: bool = False
    bonded: bool = False
    hibc_lic: Annotated[str, Meta(pattern=r"^[A-Z][A-Z0-9]{3}$")] | None = None
    hibc_pcn: Annotated[str, Meta(pattern=r"^[A-Z0-9]{1,18}$")] | None = None
    pack_levels: list[PackLevelIn] = []
    #: units (base unit) the pick face should hold free beyond what open picks need from reserve; absent: none
    replenish_min: Annotated[int, Meta(ge=0, le=10_000_000)] | None = None
    #: the item's class for cycle counts (A counted most often, docs/counting.md); absent: classed by picks
    abc_class: Literal["A", "B", "C"] | None = None
    #: regulatory master data (China, docs/gsp.md): model/specification (规格型号), registration certificate
    #: or filing number (注册证编号/备案编号), its holder (注册人/备案人), class and last valid day
    specification: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    registration_no: RegNo | None = None
    registration_holder: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    device_class: Literal["I", "II", "III"] | None = None
    registration_valid_until: dt.date | None = None
    #: the base unit's (each level's) MA and AHM DIs; pack levels carry their own in ``packLevels``
    ma_di: DeviceId | None = None
    ahm_di: DeviceId | None = None
    #: the agency whose DI the item was registered with in the NMPA UDI database: its labels print that
    #: agency's code (so an ``ma`` or ``ahm`` item needs that agency's DI on its each level)
    udi_agency: Literal["gs1", "ma", "ahm"] = "gs1"
    #: the ERP approved the product for business itself (首营品种审核 done in the ERP); absent: it does not say,
    #: and QA approves in udipick. A change is kept as a first-business decision from the ERP
    first_business_approved: bool | None = None


class LocationIn(Record):
    code: Code
    version: Version
    zone: Annotated[str, Meta(min_length=1, max_length=32)]
    type: LocationType
    warehouse: Code = "MAIN"
    barcode: Annotated[str, Meta(min_length=1, max_length=80)] | None = None
    pick_sequence: Annotated[int, Meta(ge=0, le=10**9)] = 0
    frozen: bool = False
    #: base units the location takes (directed putaway); none: no limit
    capacity: Annotated[int, Meta(ge=1, le=10**9)] | None = None


class CustomerIn(Record):
    erp_id: ErpId
    version: Version
    name: Name
    gln: Gln | None = None
    min_shelf_life_days: NonNeg = 0
    #: medical-device business licence or filing number (经营许可证/备案凭证编号) and its last valid day
    licence_no: RegNo | None = None
    licence_valid_until: dt.date | None = None


class SupplierIn(Record):
    erp_id: ErpId
    version: Version
    name: Name
    gln: Gln | None = None
    over_receipt_tolerance_pct: Annotated[float, Meta(ge=0, le=100)] = 0
    licence_no: RegNo | None = None
    licence_valid_until: dt.date | None = None
    #: the ERP approved the supplier for business itself (首营企业审核 done in the ERP); as ``ItemIn``'s
    first_business_approved: bool | None = None


class ExpectedLotIn(Record):
    lot: Annotated[str, Meta(min_length=1, max_length=20)]
    expiry: dt.date | None = None
    serials: list[Annotated[str, Meta(min_length=1, max_length=20)]] = []
    quantity: Positive | None = None


class InboundLineIn(Record):
    line_no: Positive
    item: ErpId
    quantity: Positive
    expected: list[ExpectedLotIn] | None = None


class PurchaseOrderIn(Record):
    erp_id: ErpId
    version: Version
    number: Code
    supplier: ErpId
    lines: Annotated[list[InboundLineIn], Meta(min_length=1)]
    kind: Literal["purchase_order", "asn"] = "purchase_order"
    warehouse: Code = "MAIN"
    expected_date: dt.date | None = None


class ShipToIn(Record):
    name: Name
    address_lines: list[Annotated[str, Meta(max_length=200)]] = []
    city: Annotated[str, Meta(max_length=100)] = ""
    postal_code: Annotated[str, Meta(max_length=20)] = ""
    country: Annotated[str, Meta(pattern=r"^[A-Z]{2}$")] = "CN"
    gln: Gln | None = None


class OutboundLineIn(Record):
    line_no: Positive
    item: ErpId
    quantity: Positive
    min_shelf_life_days: NonNeg | None = None


class SalesOrderIn(Record):
    erp_id: ErpId
    version: Version
    number: Code
    customer: ErpId
    ship_to: ShipToIn
    lines: Annotated[list[OutboundLineIn], Meta(min_length=1)]
    warehouse: Code = "MAIN"
    priority: Annotated[int, Meta(ge=1, le=9)] = 5
    allow_bonded: bool = False
    requested_date: dt.date | None = None


class UpsertResult(Struct, rename="camel"):
    key: str
    status: Literal["created", "updated", "unchanged"]
    id: int


class LineResult(Struct, rename="camel"):
    """The verdict on one accepted line of a bulk load."""

    line: int
    key: str
    status: Literal["created", "updated", "unchanged"]
    id: int


class BulkSummary(Struct, rename="camel"):
    #: non-blank lines read; each has exactly one verdict, in ``results`` (accepted) or ``problems`` (refused)
    received: int
    created: int
    updated: int
    unchanged: int
    refused: int
    #: RFC 9457 problems (``problem_body``), each with the refused ``line``
    problems: list[Problem]
    results: list[LineResult]


# ---- bad records -----------------------------------------------------------------------------------


@dataclass
class Refusal:
    """One refused record: its line in the bulk file and the error (with a field pointer)."""

    line: int
    error: DomainError


_PATH = re.compile(r" - at `(\$[^`]*)`$")
_MISSING = re.compile(r"missing required field `([^`]+)`")


def decode_error(exc: msgspec.ValidationError | msgspec.DecodeError) -> InvalidRecord:
    """Turn msgspec's message into a problem with an RFC 6901 pointer to the bad field."""
    message = str(exc)
    if isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError):
        return InvalidRecord(f"not valid JSON: {message}", pointer="")
    path = ""
    if m := _PATH.search(message):
        path = m.group(1)
        message = message[: m.start()]
    pointer = "/" + "/".join(p for p in path.removeprefix("$").replace("[", ".").replace("]", "").split(".") if p)
    if m := _MISSING.search(message):
        pointer = pointer.rstrip("/") + "/" + m.group(1)
    return InvalidRecord(message, pointer=pointer if pointer != "/" else "")


def _gtin(value: str, pointer: str) -> str:
    try:
        return gtin14(value)
    except InvalidGtin as exc:
        raise InvalidGtin(exc.message, gtin=value, pointer=pointer) from None


# ---- per-kind rules ------------------------------------------------------------------------------


def check_item(rec: ItemIn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validate what the schema cannot say; return the item row and its GTIN rows."""
    base = _gtin(rec.gtin, "/gtin")
    if rec.min_temp_c is not None and rec.max_temp_c is not None and rec.min_temp_c > rec.max_temp_c:
        raise InvalidRecord("minTempC is above maxTempC", pointer="/minTempC")
    if (rec.hibc_lic is None) != (rec.hibc_pcn is None):
        raise InvalidRecord("hibcLic and hibcPcn go together", pointer="/hibcPcn" if rec.hibc_lic else "/hibcLic")
    # each pack level, with ``at``: the pointer to where the record gives it (dropped before it is stored)
    each = {
        "gtin": base,
        "pack_level": "each",
        "quantity": 1,
        "hibc_uom": None,
        "ma_di": None,
        "ahm_di": None,
        "at": "",
    }
    gtins = [each]
    seen = {base: "/gtin"}
    levels = {"each"}
    dis: dict[tuple[str, str], str] = {}

    def take_dis(pack: dict[str, Any], holder: ItemIn | PackLevelIn, at: str) -> None:
        for agency in DI_AGENCIES:
            di = getattr(holder, f"{agency}_di")
            if di is None:
                continue
            pointer = f"{at}/{agency}Di"
            if (fault := di_fault(agency, di)) is not None:
                raise InvalidRecord(fault, pointer=pointer)
            if (agency, di) in dis and pack[f"{agency}_di"] != di:
                raise InvalidRecord(f"{agency.upper()} DI {di} is used twice in this item", pointer=pointer)
            if pack[f"{agency}_di"] not in (None, di):
                raise InvalidRecord(f"the 'each' level has two {agency.upper()} DIs", pointer=pointer)
            dis[(agency, di)] = pointer
            pack[f"{agency}_di"] = di

    take_dis(each, rec, "")
    for i, level in enumerate(rec.pack_levels):
        if level.gtin is None:
            if level.ma_di is None and level.ahm_di is None:
                raise InvalidRecord(
                    "a pack level needs a GTIN, an MA DI (maDi) or an AHM DI (ahmDi)", pointer=f"/packLevels/{i}/gtin"
                )
            if level.hibc_uom is not None:
                raise InvalidRecord(
                    "hibcUom is kept with the level's GTIN: give the GTIN too", pointer=f"/packLevels/{i}/hibcUom"
                )
        g = None if level.gtin is None else _gtin(level.gtin, f"/packLevels/{i}/gtin")
        if level.level == "each" and g is None:  # the base unit's DIs, given as a pack level
            if level.quantity != 1:
                raise InvalidRecord("the 'each' level has quantity 1", pointer=f"/packLevels/{i}/quantity")
            take_dis(each, level, f"/packLevels/{i}")
            continue
        if g is not None and g in seen:
            raise InvalidRecord(f"GTIN {g} is used twice in this item", pointer=f"/packLevels/{i}/gtin")
        if level.level in levels:
            raise InvalidRecord(f"pack level {level.level!r} is given twice", pointer=f"/packLevels/{i}/level")
        if level.level == "each" and level.quantity != 1:
            raise InvalidRecord("the 'each' level has quantity 1", pointer=f"/packLevels/{i}/quantity")
        if g is not None:
            seen[g] = f"/packLevels/{i}/gtin"
        levels.add(level.level)
        pack = {
            "gtin": g,
            "pack_level": level.level,
            "quantity": level.quantity,
            "hibc_uom": level.hibc_uom,
            "ma_di": None,
            "ahm_di": None,
            "at": f"/packLevels/{i}",
        }
        take_dis(pack, level, f"/packLevels/{i}")
        gtins.append(pack)
    if rec.udi_agency != "gs1" and each[f"{rec.udi_agency}_di"] is None:
        raise InvalidRecord(
            f"an item registered with {rec.udi_agency.upper()} (udiAgency) needs its each level's"
            f" {rec.udi_agency.upper()} DI: its labels print that code",
            pointer=f"/{rec.udi_agency}Di",
        )
    row = {
        "erp_id": rec.erp_id,
        "erp_version": rec.version,
        "gtin": base,
        "hibc_lic": rec.hibc_lic,
        "hibc_pcn": rec.hibc_pcn,
        "name": rec.name,
        "base_unit": rec.base_unit,
        "lot_tracked": rec.lot_tracked,
        "serial_tracked": rec.serial_tracked,
        "expiry_tracked": rec.expiry_tracked,
        "min_temp_c": rec.min_temp_c,
        "max_temp_c": rec.max_temp_c,
        "min_shelf_life_days": rec.min_shelf_life_days,
        "qc_required": rec.qc_required,
        "bonded": rec.bonded,
        "replenish_min": rec.replenish_min,
        "abc_class": rec.abc_class,
        "specification": rec.specification,
        "registration_no": rec.registration_no,
        "registration_holder": rec.registration_holder,
        "device_class": rec.device_class,
        "registration_valid_until": rec.registration_valid_until,
        "udi_agency": rec.udi_agency,
        "erp_first_business_approved": rec.first_business_approved,
    }
    return row, gtins


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    results: list[UpsertResult] = field(default_factory=list)
    #: the line of each of ``results``
    lines: list[int] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)

    def add(self, result: UpsertResult, line: int) -> None:
        setattr(self, result.status, getattr(self, result.status) + 1)
        self.results.append(result)
        self.lines.append(line)

    def merge(self, part: Tally) -> None:
        self.created += part.created
        self.updated += part.updated
        self.unchanged += part.unchanged
        self.results.extend(part.results)
        self.lines.extend(part.lines)
        self.refusals.extend(part.refusals)

    def summary(self, received: int) -> BulkSummary:
        problems = []
        for r in sorted(self.refusals, key=lambda r: r.line):
            body = problem_body(r.error)
            body["line"] = r.line
            problems.append(body)
        results = sorted(
            (LineResult(line, r.key, r.status, r.id) for line, r in zip(self.lines, self.results, strict=True)),
            key=lambda r: r.line,
        )
        return BulkSummary(received, self.created, self.updated, self.unchanged, len(self.refusals), problems, results)


def _versioned_status(existing: int | None, incoming: int, what: str, key: str) -> str | None:
    """``None`` when the record must be written; ``unchanged`` on a replay; refuse an older one."""
    if existing is None:
        return None
    if incoming == existing:
        return "unchanged"
    if incoming < existing:
        raise StaleVersion(
            f"{what} {key} is at version {existing}; version {incoming} is older and was refused",
            pointer="/version",
            currentVersion=existing,
        )
    return None


def _camel(column: str) -> str:
    head, *rest = column.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _view(values: dict[str, Any], skip: Sequence[str] = ("erp_id", "erp_version")) -> dict[str, Any]:
    """A row's columns as the record's (camelCase) fields, as JSON values (dates as ISO strings; numbers with
    a fraction at the two decimals their ``numeric(5, 2)`` column keeps, rounded as PostgreSQL rounds)."""
    return {_camel(k): _cents(v) for k, v in msgspec.to_builtins(values).items() if k not in skip}


def _cents(value: Any) -> Any:
    if isinstance(value, float):
        return float(Decimal(repr(value)).quantize(Decimal("0.01"), ROUND_HALF_UP))
    return value


def _json(value: Any) -> Any:
    """``to_jsonb(...)`` read through ``text()``: a string or already decoded, depending on the driver."""
    return json.loads(value) if isinstance(value, str) else value


def _same_content(what: str, key: str, version: int, stored: Any, incoming: Any, pointer: str | None = None) -> None:
    """A replay must carry the content udipick holds for that version (``domain.erp_versions``); ``pointer``
    names a difference the caller found itself."""
    pointer = first_difference(stored, incoming) or pointer
    if pointer is not None:
        raise VersionReused(
            f"{what} {key} version {version} is already stored with other content ({pointer} differs);"
            " a change needs a new version",
            pointer=pointer,
            currentVersion=version,
        )


# ---- master data in chunks ---------------------------------------------------------------------

CHUNK = 2000


@dataclass(frozen=True)
class MasterKind:
    name: str
    model: Any
    check: Callable[[Any], tuple[dict[str, Any], list[dict[str, Any]] | None]]


def _gln(value: str | None, pointer: str) -> None:
    """A party's GLN names it in EPCIS (``destinationList``): a wrong check digit would name nobody."""
    if value is not None:
        try:
            validate_gln(value)
        except InvalidGln as exc:
            raise InvalidGln(exc.message, **{**exc.context, "pointer": pointer}) from None


def _plain(fields: Sequence[str]) -> Callable[[Any], tuple[dict[str, Any], None]]:
    def check(rec: Any) -> tuple[dict[str, Any], None]:
        if "gln" in fields:
            _gln(rec.gln, "/gln")
        row = {f: getattr(rec, f) for f in fields}
        if hasattr(rec, "first_business_approved"):
            row["erp_first_business_approved"] = rec.first_business_approved
        row["erp_id"] = rec.erp_id
        row["erp_version"] = rec.version
        return row, None

    return check


ITEMS = MasterKind("item", Item, check_item)
CUSTOMERS = MasterKind(
    "customer", Customer, _plain(["name", "gln", "min_shelf_life_days", "licence_no", "licence_valid_until"])
)
SUPPLIERS = MasterKind(
    "supplier", Supplier, _plain(["name", "gln", "over_receipt_tolerance_pct", "licence_no", "licence_valid_until"])
)


async def upsert_master(
    db: async_sessionmaker, kind: MasterKind, records: Iterable[tuple[int, Any]], actor: Actor
) -> Tally:
    """Upsert ERP master records (line number, record) in chunks of ``CHUNK``."""
    tally = Tally()
    prepared: list[tuple[int, dict[str, Any], list[dict[str, Any]] | None]] = []
    for line, rec in records:
        try:
            row, children = kind.check(rec)
        except DomainError as exc:
            tally.refusals.append(Refusal(line, exc))
            continue
        prepared.append((line, row, children))
    # a key twice in one load: later lines go in a later round, so each statement sees a key once
    rounds: list[list[tuple[int, dict[str, Any], Any]]] = []
    seen_in: dict[str, int] = {}
    for entry in prepared:
        n = seen_in.get(entry[1]["erp_id"], -1) + 1
        seen_in[entry[1]["erp_id"]] = n
        while len(rounds) <= n:
            rounds.append([])
        rounds[n].append(entry)
    for batch in rounds:
        for start in range(0, len(batch), CHUNK):
            chunk = batch[start : start + CHUNK]
            # a chunk's verdicts count only once its transaction has committed, so a line rolled back
            # and redone below gets one verdict, not two
            try:
                async with db.begin() as session:
                    part = await _write_chunk(session, kind, chunk, actor)
                tally.merge(part)
            except DBAPIError as exc:
                if not _one_records_fault(exc):
                    raise
                # a race, a conflict the pre-checks did not see or a value PostgreSQL cannot hold: redo one
                # by one to name the record
                for entry in chunk:
                    try:
                        async with db.begin() as session:
                            part = await _write_chunk(session, kind, [entry], actor)
                        tally.merge(part)
                    except DBAPIError as exc:
                        if not _one_records_fault(exc):
                            raise
                        tally.refusals.append(Refusal(entry[0], _record_fault(exc, pointer="")))
    if tally.created or tally.updated:
        async with db.begin() as session:
            await audit(
                session,
                actor,
                f"erp.{kind.name}.upserted",
                "ok",
                detail={"created": tally.created, "updated": tally.updated, "refused": len(tally.refusals)},
            )
    return tally


def _integrity_message(exc: DBAPIError) -> str:
    text = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
    return re.sub(r"^<class '[^']+'>: ", "", text)


def _one_records_fault(exc: DBAPIError) -> bool:
    """A constraint the record breaks, or a data exception (SQLSTATE class 22): a value PostgreSQL cannot
    hold, such as text with a NUL character, which no schema check before the write catches."""
    if isinstance(exc, IntegrityError):
        return True
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return isinstance(code, str) and code.startswith("22")


def _record_fault(exc: DBAPIError, *, pointer: str) -> DomainError:
    if isinstance(exc, IntegrityError):
        return Conflict(_integrity_message(exc), pointer=pointer)
    # PostgreSQL does not say which column held the value
    return InvalidRecord(f"a value PostgreSQL cannot store: {_integrity_message(exc)}", pointer="")


async def _write_chunk(
    session: AsyncSession, kind: MasterKind, chunk: list[tuple[int, dict[str, Any], Any]], actor: Actor
) -> Tally:
    tally = Tally()
    model = kind.model
    keys = [row["erp_id"] for _, row, _ in chunk]
    found = (
        await session.execute(
            text(
                f"SELECT erp_id, erp_version, id, to_jsonb(t)::text FROM {model.__tablename__} t"
                " WHERE erp_id = ANY(CAST(:keys AS text[]))"
            ),
            {"keys": keys},
        )
    ).all()
    existing = {erp_id: version for erp_id, version, _, _ in found}
    ids = {erp_id: id_ for erp_id, _, id_, _ in found}
    # the master record as it was, for the audit record of its change (21 CFR Part 11 §11.10(e))
    before = {erp_id: row for erp_id, _, _, row in found}
    to_write: list[tuple[int, dict[str, Any], Any]] = []
    replays: list[tuple[int, dict[str, Any], Any]] = []
    results: list[tuple[int, UpsertResult]] = []
    for line, row, children in chunk:
        try:
            status = _versioned_status(existing.get(row["erp_id"]), row["erp_version"], kind.name, row["erp_id"])
        except DomainError as exc:
            tally.refusals.append(Refusal(line, exc))
            continue
        if status == "unchanged":
            replays.append((line, row, children))
        else:
            to_write.append((line, row, children))
    if replays:
        results += await _check_replays(session, kind, replays, before, ids, tally)
    if kind is ITEMS and to_write:
        to_write = await _refuse_gtin_clashes(session, to_write, tally)
    if to_write:
        rows = [row for _, row, _ in to_write]
        written = dict((await session.execute(*_upsert_unnest(model, rows))).all())
        for line, row, _children in to_write:
            key = row["erp_id"]
            if key not in written:  # lost a race to a newer version written meanwhile
                tally.refusals.append(
                    Refusal(line, StaleVersion(f"{kind.name} {key} changed meanwhile; resend", pointer="/version"))
                )
                continue
            results.append((line, UpsertResult(key, "updated" if key in existing else "created", written[key])))
        await _audit_master_changes(session, actor, kind.name, model.__tablename__, written, before)
        if kind is ITEMS or kind is SUPPLIERS:
            await _erp_first_business(session, kind, actor, to_write, written)
        if kind is ITEMS:
            ids = list(written.values())
            await session.execute(text("DELETE FROM item_gtins WHERE item_id = ANY(CAST(:ids AS int[]))"), {"ids": ids})
            await session.execute(text("DELETE FROM item_dis WHERE item_id = ANY(CAST(:ids AS int[]))"), {"ids": ids})
            pack_rows = [
                {**g, "item_id": written[row["erp_id"]]}
                for _, row, children in to_write
                if row["erp_id"] in written
                for g in children
            ]
            gtin_rows = [g for g in pack_rows if g["gtin"] is not None]
            await session.execute(
                text(
                    "INSERT INTO item_gtins (gtin, item_id, pack_level, quantity, hibc_uom) SELECT * FROM unnest("
                    "CAST(:gtin AS text[]), CAST(:item_id AS int[]), CAST(:pack_level AS text[]), CAST(:quantity AS int[]),"
                    " CAST(:hibc_uom AS int[]))"
                ),
                {c: [g[c] for g in gtin_rows] for c in ("gtin", "item_id", "pack_level", "quantity", "hibc_uom")},
            )
            di_rows = [
                (agency, g[f"{agency}_di"], g["item_id"], g["pack_level"], g["quantity"])
                for g in pack_rows
                for agency in DI_AGENCIES
                if g[f"{agency}_di"] is not None
            ]
            if di_rows:
                await session.execute(
                    text(
                        "INSERT INTO item_dis (agency, di, item_id, pack_level, quantity) SELECT * FROM unnest("
                        "CAST(:agency AS text[]), CAST(:di AS text[]), CAST(:item_id AS int[]),"
                        " CAST(:pack_level AS text[]), CAST(:quantity AS int[]))"
                    ),
                    {
                        c: [r[i] for r in di_rows]
                        for i, c in enumerate(("agency", "di", "item_id", "pack_level", "quantity"))
                    },
                )
    for line, r in results:
        tally.add(r, line)
    return tally


async def _erp_first_business(
    session: AsyncSession,
    kind: MasterKind,
    actor: Actor,
    to_write: list[tuple[int, dict[str, Any], Any]],
    written: dict[str, int],
) -> None:
    """Where the ERP's word on its own first-business approval changed, a decision from the ERP (GSP 首营审核):
    the newest decision, the ERP's or QA's, is the supplier's or item's state. Silence changes nothing: the
    word is compared with the ERP's last decision, not with the stored column a silent version cleared (else
    approved, silent, approved again would undo QA's revocation in between)."""
    said = {
        written[row["erp_id"]]: bool(row["erp_first_business_approved"])
        for _, row, _ in to_write
        if row["erp_id"] in written and row.get("erp_first_business_approved") is not None
    }
    was = await regulatory.erp_last_words(session, kind.name, sorted(said))
    changes = [(id_, approved) for id_, approved in said.items() if was.get(id_) != approved]
    await regulatory.record_erp_decisions(session, kind.name, changes, by=actor.label)


async def _check_replays(
    session: AsyncSession,
    kind: MasterKind,
    replays: list[tuple[int, dict[str, Any], Any]],
    before: dict[str, str],
    ids: dict[str, int],
    tally: Tally,
) -> list[tuple[int, UpsertResult]]:
    """Replays (the version udipick holds) are unchanged if their content is the stored one, else refused."""
    packs: dict[int, list[dict[str, Any]]] = {}
    if kind is ITEMS:
        rows = await session.execute(
            text(
                "SELECT p.item_id, g.gtin, p.pack_level, coalesce(g.quantity, ma.quantity, ahm.quantity), g.hibc_uom,"
                "       ma.di, ahm.di"
                "  FROM (SELECT item_id, pack_level FROM item_gtins WHERE item_id = ANY(CAST(:ids AS int[]))"
                "        UNION SELECT item_id, pack_level FROM item_dis WHERE item_id = ANY(CAST(:ids AS int[]))) p"
                "  LEFT JOIN item_gtins g ON g.item_id = p.item_id AND g.pack_level = p.pack_level"
                "  LEFT JOIN item_dis ma ON ma.item_id = p.item_id AND ma.pack_level = p.pack_level AND ma.agency = 'ma'"
                "  LEFT JOIN item_dis ahm ON ahm.item_id = p.item_id AND ahm.pack_level = p.pack_level AND ahm.agency = 'ahm'"
                " ORDER BY p.item_id, p.pack_level"
            ),
            {"ids": [ids[row["erp_id"]] for _, row, _ in replays]},
        )
        for item_id, gtin, level, quantity, uom, ma_di, ahm_di in rows:
            packs.setdefault(item_id, []).append(
                {
                    "gtin": gtin,
                    "pack_level": level,
                    "quantity": quantity,
                    "hibc_uom": uom,
                    "ma_di": ma_di,
                    "ahm_di": ahm_di,
                }
            )
    out = []
    for line, row, children in replays:
        key = row["erp_id"]
        stored_row = _json(before[key])
        incoming = _view(row)
        stored = _view({c: stored_row.get(c) for c in row})
        incoming_packs = sorted(({k: v for k, v in g.items() if k != "at"} for g in children or ()), key=_level)
        packs_differ = children is not None and incoming_packs != sorted(packs.get(ids[key], []), key=_level)
        try:
            _same_content(kind.name, key, row["erp_version"], stored, incoming, "/packLevels" if packs_differ else None)
        except VersionReused as exc:
            tally.refusals.append(Refusal(line, exc))
            continue
        out.append((line, UpsertResult(key, "unchanged", ids[key])))
    return out


def _level(pack: dict[str, Any]) -> str:
    return str(pack["pack_level"])


_PG_ARRAY = {
    "String": "text",
    "Text": "text",
    "BigInteger": "bigint",
    "Integer": "int",
    "Boolean": "bool",
    "Numeric": "float8",
    "Date": "date",
}


async def _audit_master_changes(
    session: AsyncSession, actor: Actor, kind: str, table: str, written: dict[str, int], before: dict[str, str]
) -> None:
    """One audit record per master record written, with the record before (none when created) and after,
    in one statement with the write's transaction."""
    if not written:
        return
    keys = list(written)
    await session.execute(
        text(
            "INSERT INTO audit_log (user_id, username, api_key_id, device_id, action, target, outcome, before, after)"
            " SELECT :u, :n, :k, :d, 'erp.' || :kind || CASE WHEN b.row IS NULL THEN '.created' ELSE '.updated' END,"
            "        :kind || ':' || t.erp_id, 'ok', CAST(b.row AS jsonb), to_jsonb(t)"
            f"   FROM {table} t"
            "   LEFT JOIN unnest(CAST(:keys AS text[]), CAST(:rows AS text[])) AS b(erp_id, row) ON b.erp_id = t.erp_id"
            "  WHERE t.erp_id = ANY(CAST(:keys AS text[]))"
            "  ORDER BY t.erp_id"
        ),
        {
            "u": actor.user_id,
            "n": actor.username,
            "k": actor.api_key_id,
            "d": actor.device_id,
            "kind": kind,
            "keys": keys,
            "rows": [before.get(key) for key in keys],
        },
    )


def _upsert_unnest(model: Any, rows: list[dict[str, Any]]) -> tuple[Any, dict[str, list[Any]]]:
    """One prepared ``INSERT ... SELECT FROM unnest(arrays) ON CONFLICT`` for a whole chunk.

    Bulk loads send one array per column instead of one bind parameter per value, so the statement
    text is the same for every chunk and PostgreSQL plans it once.
    """
    table = model.__table__
    cols = list(rows[0])
    arrays = ", ".join(f"CAST(:{c} AS {_PG_ARRAY[type(table.c[c].type).__name__]}[])" for c in cols)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c != "erp_id")
    sql = (
        f"INSERT INTO {table.name} ({', '.join(cols)}) SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT (erp_id) DO UPDATE SET {updates}, updated_at = now() "
        f"WHERE {table.name}.erp_version < EXCLUDED.erp_version RETURNING erp_id, id"
    )
    return text(sql), {c: [r[c] for r in rows] for c in cols}


async def _refuse_gtin_clashes(session: AsyncSession, chunk: list[tuple[int, dict[str, Any], Any]], tally: Tally):
    """A GTIN identifies one trade item: refuse a record whose GTIN belongs to another item."""
    all_gtins = [g["gtin"] for _, _, children in chunk for g in children if g["gtin"] is not None]
    owners = dict(
        (
            await session.execute(
                text(
                    "SELECT g.gtin, i.erp_id FROM item_gtins g JOIN items i ON i.id = g.item_id"
                    " WHERE g.gtin = ANY(CAST(:gtins AS text[]))"
                ),
                {"gtins": all_gtins},
            )
        ).all()
    )
    # an MA or AHM DI identifies one item's pack level just as a GTIN does
    all_dis = [(agency, g[f"{agency}_di"]) for _, _, children in chunk for g in children for agency in DI_AGENCIES]
    all_dis = [(agency, di) for agency, di in all_dis if di is not None]
    di_owners: dict[tuple[str, str], str] = {}
    if all_dis:
        rows = await session.execute(
            text(
                "SELECT d.agency, d.di, i.erp_id FROM item_dis d JOIN items i ON i.id = d.item_id"
                " WHERE (d.agency, d.di) IN (SELECT * FROM unnest(CAST(:agencies AS text[]), CAST(:dis AS text[])))"
            ),
            {"agencies": [a for a, _ in all_dis], "dis": [d for _, d in all_dis]},
        )
        di_owners = {(agency, di): owner for agency, di, owner in rows}
    kept = []
    claimed: dict[str, str] = {}
    claimed_dis: dict[tuple[str, str], str] = {}
    for line, row, children in chunk:
        clash = None
        for g in children:
            at = g["at"]
            owner = owners.get(g["gtin"]) or claimed.get(g["gtin"]) if g["gtin"] is not None else None
            if owner is not None and owner != row["erp_id"]:
                clash = Conflict(
                    f"GTIN {g['gtin']} already belongs to item {owner}",
                    pointer=f"{at}/gtin",
                    gtin=g["gtin"],
                    item=owner,
                )
                break
            for agency in DI_AGENCIES:
                di = g[f"{agency}_di"]
                owner = di_owners.get((agency, di)) or claimed_dis.get((agency, di))
                if di is not None and owner is not None and owner != row["erp_id"]:
                    clash = Conflict(
                        f"{agency.upper()} DI {di} already belongs to item {owner}",
                        pointer=f"{at}/{agency}Di",
                        agency=agency,
                        di=di,
                        item=owner,
                    )
                    break
            if clash:
                break
        if clash:
            tally.refusals.append(Refusal(line, clash))
            continue
        for g in children:
            if g["gtin"] is not None:
                claimed[g["gtin"]] = row["erp_id"]
            for agency in DI_AGENCIES:
                if g[f"{agency}_di"] is not None:
                    claimed_dis[(agency, g[f"{agency}_di"])] = row["erp_id"]
        kept.append((line, row, children))
    return kept


# ---- locations -------------------------------------------------------------------------------------


async def _warehouse_id(session: AsyncSession, code: str, *, create: bool) -> int:
    wid = await session.scalar(select(Warehouse.id).where(Warehouse.code == code))
    if wid is None:
        if not create:
            raise InvalidRecord(f"unknown warehouse {code!r}", pointer="/warehouse")
        wid = await session.scalar(
            pg_insert(Warehouse)
            .values(code=code, name=code)
            .on_conflict_do_update(index_elements=["code"], set_={"name": Warehouse.name})
            .returning(Warehouse.id)
        )
    return int(wid)  # type: ignore[arg-type]  # found, or made by an upsert whose RETURNING always gives the id


async def upsert_locations(
    db: async_sessionmaker, records: Iterable[tuple[int, LocationIn]], actor: Actor, *, barcode_prefix: str
) -> Tally:
    tally = Tally()
    for line, rec in records:
        try:
            async with db.begin() as session:
                result = await _upsert_location(session, rec, barcode_prefix, actor)
            tally.add(result, line)
        except DomainError as exc:
            tally.refusals.append(Refusal(line, exc))
        except DBAPIError as exc:
            if not _one_records_fault(exc):
                raise
            tally.refusals.append(Refusal(line, _record_fault(exc, pointer="/barcode")))
    return tally


async def _upsert_location(session: AsyncSession, rec: LocationIn, barcode_prefix: str, actor: Actor) -> UpsertResult:
    wid = await _warehouse_id(session, rec.warehouse, create=True)
    key = f"{rec.warehouse}/{rec.code}"
    current = (
        await session.execute(
            select(Location.id, Location.erp_version)
            .where(Location.warehouse_id == wid, Location.code == rec.code)
            .with_for_update()
        )
    ).first()
    status = _versioned_status(current.erp_version if current else None, rec.version, "location", key)
    values = {
        "warehouse_id": wid,
        "code": rec.code,
        "barcode": rec.barcode or barcode_prefix + rec.code,
        "zone": rec.zone,
        "type": rec.type,
        "pick_sequence": rec.pick_sequence,
        "frozen": rec.frozen,
        "capacity": rec.capacity,
        "erp_version": rec.version,
    }
    if status == "unchanged":
        stored = await session.scalar(text("SELECT to_jsonb(l) FROM locations l WHERE id = :id"), {"id": current.id})  # type: ignore[union-attr]  # only a stored row can be unchanged
        skip = ("warehouse_id", "code", "erp_version")
        _same_content(
            "location", key, rec.version, _view({c: _json(stored).get(c) for c in values}, skip), _view(values, skip)
        )
        return UpsertResult(key, "unchanged", current.id)  # type: ignore[union-attr]  # only a stored row can be unchanged
    stmt = pg_insert(Location).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["warehouse_id", "code"],
        set_={**{k: stmt.excluded[k] for k in values}, "updated_at": func.now()},
    ).returning(Location.id)
    before = (
        await session.scalar(text("SELECT to_jsonb(l) FROM locations l WHERE id = :id"), {"id": current.id})
        if current
        else None
    )
    lid = await session.scalar(stmt)
    after = await session.scalar(text("SELECT to_jsonb(l) FROM locations l WHERE id = :id"), {"id": lid})
    await audit(
        session,
        actor,
        "erp.location.updated" if current else "erp.location.created",
        "ok",
        target=f"location:{key}",
        before=before,
        after=after,
    )
    return UpsertResult(key, "updated" if current else "created", int(lid))


# ---- documents -----------------------------------------------------------------------------------


async def _ids_by_erp_id(session: AsyncSession, model: Any, keys: set[str]) -> dict[str, int]:
    return dict((await session.execute(select(model.erp_id, model.id).where(model.erp_id.in_(keys)))).all())


async def _line_items(session: AsyncSession, lines: Sequence[Any]) -> dict[str, int]:
    items = await _ids_by_erp_id(session, Item, {line.item for line in lines})
    seen: set[int] = set()
    for i, line in enumerate(lines):
        if line.item not in items:
            raise InvalidRecord(f"unknown item {line.item!r}: send the item master first", pointer=f"/lines/{i}/item")
        if line.line_no in seen:
            raise InvalidRecord(f"line number {line.line_no} is used twice", pointer=f"/lines/{i}/lineNo")
        seen.add(line.line_no)
    return items


async def upsert_purchase_orders(
    db: async_sessionmaker, records: Iterable[tuple[int, PurchaseOrderIn]], actor: Actor
) -> Tally:
    return await _each(db, records, _upsert_purchase_order)


async def upsert_sales_orders(
    db: async_sessionmaker, records: Iterable[tuple[int, SalesOrderIn]], actor: Actor
) -> Tally:
    return await _each(db, records, lambda session, rec: _upsert_sales_order(session, rec, actor))


async def _each(db: async_sessionmaker, records: Iterable[tuple[int, Any]], fn: Callable) -> Tally:
    tally = Tally()
    for line, rec in records:
        try:
            async with db.begin() as session:
                result = await fn(session, rec)
            tally.add(result, line)
        except DomainError as exc:
            tally.refusals.append(Refusal(line, exc))
        except DBAPIError as exc:
            if not _one_records_fault(exc):
                raise
            tally.refusals.append(Refusal(line, _record_fault(exc, pointer="")))
    return tally


async def _party_id(session: AsyncSession, model: Any, erp_id: str, kind: str) -> int:
    """The id of the supplier or customer a document names; it must have been sent first."""
    ids = await _ids_by_erp_id(session, model, {erp_id})
    if erp_id not in ids:
        raise InvalidRecord(f"unknown {kind} {erp_id!r}: send the {kind} first", pointer=f"/{kind}")
    return ids[erp_id]


async def _locked_document(session: AsyncSession, model: Any, erp_id: str) -> Any:
    """The stored document's id, version and status, locked until the upsert commits (``None``: new)."""
    return (
        await session.execute(
            select(model.id, model.erp_version, model.status).where(model.erp_id == erp_id).with_for_update()
        )
    ).first()


async def _upsert_purchase_order(session: AsyncSession, rec: PurchaseOrderIn) -> UpsertResult:
    supplier_id = await _party_id(session, Supplier, rec.supplier, "supplier")
    wid = await _warehouse_id(session, rec.warehouse, create=False)
    items = await _line_items(session, rec.lines)
    current = await _locked_document(session, InboundDocument, rec.erp_id)
    status = _versioned_status(current.erp_version if current else None, rec.version, "purchase order", rec.erp_id)
    values = dict(
        erp_id=rec.erp_id,
        erp_version=rec.version,
        kind=rec.kind,
        number=rec.number,
        supplier_id=supplier_id,
        warehouse_id=wid,
        expected_date=rec.expected_date,
    )
    lines = [
        dict(
            line_no=line.line_no,
            item_id=items[line.item],
            quantity_ordered=line.quantity,
            expected=msgspec.to_builtins(line.expected) if line.expected is not None else None,
        )
        for line in rec.lines
    ]
    if status == "unchanged":
        await _same_document(
            session, "purchase order", rec.erp_id, rec.version, InboundDocument, current.id, values, InboundLine, lines
        )  # type: ignore[union-attr]  # only a stored row can be unchanged
        return UpsertResult(rec.erp_id, "unchanged", current.id)  # type: ignore[union-attr]  # only a stored row can be unchanged
    if current is None:
        doc_id = await session.scalar(insert(InboundDocument).values(values).returning(InboundDocument.id))
        await session.execute(insert(InboundLine), [{**ln, "document_id": doc_id} for ln in lines])
        return UpsertResult(rec.erp_id, "created", int(doc_id))  # type: ignore[arg-type]  # INSERT ... RETURNING always gives the new id
    if current.status in ("closed", "cancelled"):
        raise Conflict(
            f"purchase order {rec.erp_id} is {current.status} in udipick and cannot change", pointer="/version"
        )
    doc_id = current.id
    await session.execute(
        InboundDocument.__table__.update().where(InboundDocument.id == doc_id).values(**values, updated_at=func.now())
    )
    received = dict(
        (
            await session.execute(
                select(InboundLine.line_no, InboundLine.quantity_received).where(InboundLine.document_id == doc_id)
            )
        ).all()
    )
    new_nos = {ln["line_no"] for ln in lines}
    for no, qty in received.items():
        if no not in new_nos and qty > 0:
            raise Conflict(f"line {no} has {qty} received and cannot be removed", pointer="/lines")
    await session.execute(
        delete(InboundLine).where(InboundLine.document_id == doc_id, InboundLine.line_no.not_in(new_nos))
    )
    stmt = pg_insert(InboundLine).values([{**ln, "document_id": doc_id} for ln in lines])
    stmt = stmt.on_conflict_do_update(
        index_elements=["document_id", "line_no"],
        set_={k: stmt.excluded[k] for k in ("item_id", "quantity_ordered", "expected")},
    )
    await session.execute(stmt)
    return UpsertResult(rec.erp_id, "updated", doc_id)


async def _upsert_sales_order(session: AsyncSession, rec: SalesOrderIn, actor: Actor) -> UpsertResult:
    _gln(rec.ship_to.gln, "/shipTo/gln")
    customer_id = await _party_id(session, Customer, rec.customer, "customer")
    wid = await _warehouse_id(session, rec.warehouse, create=False)
    items = await _line_items(session, rec.lines)
    current = await _locked_document(session, OutboundDocument, rec.erp_id)
    status = _versioned_status(current.erp_version if current else None, rec.version, "sales order", rec.erp_id)
    values = dict(
        erp_id=rec.erp_id,
        erp_version=rec.version,
        number=rec.number,
        customer_id=customer_id,
        warehouse_id=wid,
        ship_to=msgspec.to_builtins(rec.ship_to),
        priority=rec.priority,
        allow_bonded=rec.allow_bonded,
        requested_date=rec.requested_date,
    )
    lines = [
        dict(
            line_no=ln.line_no, item_id=items[ln.item], quantity=ln.quantity, min_shelf_life_days=ln.min_shelf_life_days
        )
        for ln in rec.lines
    ]
    if status == "unchanged":
        await _same_document(
            session, "sales order", rec.erp_id, rec.version, OutboundDocument, current.id, values, OutboundLine, lines
        )  # type: ignore[union-attr]  # only a stored row can be unchanged
        return UpsertResult(rec.erp_id, "unchanged", current.id)  # type: ignore[union-attr]  # only a stored row can be unchanged
    if current is None:
        doc_id = await session.scalar(insert(OutboundDocument).values(values).returning(OutboundDocument.id))
        await session.execute(insert(OutboundLine), [{**ln, "document_id": doc_id} for ln in lines])
        return UpsertResult(rec.erp_id, "created", int(doc_id))  # type: ignore[arg-type]  # INSERT ... RETURNING always gives the new id
    if current.status not in _CHANGEABLE:
        raise Conflict(
            f"sales order {rec.erp_id} is already {current.status} in udipick and cannot change", pointer="/version"
        )
    doc_id = current.id
    if current.status == "released":
        # a new version of an order being picked: its picking is cancelled as a supervisor's cancel would
        # (reservations released, picked units put back, ``order.cancelled.v1``), then it is open again
        await wave_control.cancel_order_in(
            session,
            actor,
            SimpleNamespace(id=doc_id, erp_id=rec.erp_id, status=current.status),
            reason=f"changed by the ERP (version {rec.version})",
            source="erp-change",
            version=rec.version,
        )
    await session.execute(
        OutboundDocument.__table__.update()
        .where(OutboundDocument.id == doc_id)
        .values(**values, status="open", updated_at=func.now())
    )
    await _replace_sales_lines(session, doc_id, lines, rec.version)
    return UpsertResult(rec.erp_id, "updated", doc_id)


#: a document's columns and line columns as the record names them
_DOC_FIELDS = {"supplier_id": "supplier", "customer_id": "customer", "warehouse_id": "warehouse"}
_LINE_FIELDS = {"item_id": "item", "quantity_ordered": "quantity"}


async def _same_document(
    session: AsyncSession,
    what: str,
    key: str,
    version: int,
    model: Any,
    doc_id: int,
    values: dict[str, Any],
    line_model: Any,
    lines: list[dict[str, Any]],
) -> None:
    """A replayed document version must carry the stored header and lines (``version-reused`` otherwise).

    Lines are compared in the record's order, matched by line number; lines udipick keeps cancelled (the
    ERP removed them in an earlier version while pick tasks named them) are not the ERP's any more."""
    table, line_table = model.__tablename__, line_model.__tablename__
    header = _json(await session.scalar(text(f"SELECT to_jsonb(d) FROM {table} d WHERE id = :id"), {"id": doc_id}))
    keep = (
        " AND (cancel_reason IS NULL OR cancel_reason NOT LIKE 'removed by the ERP%')"
        if "cancel_reason" in line_model.__table__.c
        else ""
    )
    stored_lines = {
        row["line_no"]: row
        for row in (
            _json(r)
            for (r,) in await session.execute(
                text(f"SELECT to_jsonb(l) FROM {line_table} l WHERE document_id = :id{keep} ORDER BY line_no"),
                {"id": doc_id},
            )
        )
    }

    def named(row: dict[str, Any], columns: Sequence[str], names: dict[str, str]) -> dict[str, Any]:
        return {names.get(c, _camel(c)): msgspec.to_builtins(row.get(c)) for c in columns}

    header_cols = [c for c in values if c not in ("erp_id", "erp_version")]
    line_cols = list(lines[0])
    incoming = named(values, header_cols, _DOC_FIELDS)
    stored = named(header, header_cols, _DOC_FIELDS)
    incoming["lines"] = [named(ln, line_cols, _LINE_FIELDS) for ln in lines]
    order = [ln["line_no"] for ln in lines]
    stored["lines"] = [named(stored_lines[n], line_cols, _LINE_FIELDS) for n in order if n in stored_lines]
    if [n for n in order if n in stored_lines] != order or len(stored_lines) != len(order):
        # a line number only one side has: name the first such line of the record, or the lines as a whole
        missing = next((i for i, n in enumerate(order) if n not in stored_lines), None)
        _same_content(what, key, version, {}, {}, f"/lines/{missing}" if missing is not None else "/lines")
    _same_content(what, key, version, stored, incoming)


#: an order the ERP may still change: not yet released, being picked (its picking is cancelled first),
#: or cancelled (in udipick or by the ERP: a new version opens it again)
_CHANGEABLE = ("open", "released", "cancelled")


async def _replace_sales_lines(session: AsyncSession, doc_id: int, lines: list[dict], version: int) -> None:
    """The order's lines become the new version's, matched by line number. A line the new version drops is
    deleted, unless pick tasks name it (a cancelled wave's history): then it is kept, cancelled."""
    stmt = pg_insert(OutboundLine).values([{**ln, "document_id": doc_id} for ln in lines])
    stmt = stmt.on_conflict_do_update(
        index_elements=["document_id", "line_no"],
        set_={
            **{k: stmt.excluded[k] for k in ("item_id", "quantity", "min_shelf_life_days")},
            "cancelled_at": None,
            "cancel_reason": None,
        },
    )
    await session.execute(stmt)
    kept = [ln["line_no"] for ln in lines]
    await session.execute(
        text(
            "DELETE FROM outbound_lines ol WHERE ol.document_id = :d AND ol.line_no <> ALL(CAST(:kept AS int[]))"
            " AND NOT EXISTS (SELECT 1 FROM pick_tasks t WHERE t.line_id = ol.id)"
        ),
        {"d": doc_id, "kept": kept},
    )
    await session.execute(
        text(
            "UPDATE outbound_lines SET cancelled_at = now(), cancel_reason = :r"
            " WHERE document_id = :d AND line_no <> ALL(CAST(:kept AS int[])) AND cancelled_at IS NULL"
        ),
        {"d": doc_id, "kept": kept, "r": f"removed by the ERP in version {version}"},
    )


async def cancel_sales_order(db: async_sessionmaker, actor: Actor, erp_id: str, reason: str) -> wave_control.Cancelled:
    """The ERP cancelled the order: the same effect as a supervisor's cancel in udipick."""
    return await wave_control.cancel_order(db, actor, order=erp_id, reason=reason, source="erp")
