"""Go-live opening balances: the old system's stock booked in through the ledger (issue 19).

A load is one NDJSON body, one transaction: every line is checked (``domain.opening``), then copied into a
temporary staging table; the checks that need the whole load or the database (a lot known with another
expiry, a serial already in stock, locations that hold stock) are set-based queries on it, and the writes
are set-based ``INSERT ... SELECT``: lots, serials, ``opening`` ledger rows, holds, and last the load's
own row, whose trigger applies the ledger rows to ``stock`` in one statement (migration 0023). A load
with any problem books nothing (all or nothing: the old system's figures are never half in); a dry run
answers every problem and writes nothing. The load's id makes a repeat harmless: the same body again
gets the first answer, another body under the same id is refused.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from sqlalchemy.ext.asyncio import AsyncSession

from udipick.db.ledger import Movement, post_movements
from udipick.db.pg import raw
from udipick.domain import errors as e
from udipick.domain.access import Actor
from udipick.domain.opening import ItemFacts, OpeningLine, check_line
from udipick.domain.problem import Problem, problem_body
from udipick.services.erp_inbound import decode_error
from udipick.services.events import HoldPlaced, OpeningBooked, emit
from udipick.services.identity import audit

log = logging.getLogger(__name__)

#: rows copied into the staging table at a time (bounded memory whatever the load's size)
COPY_ROWS = 20_000
_STAGING = (
    "line",
    "item_id",
    "location_id",
    "lot",
    "expiry",
    "production_date",
    "serials",
    "quantity",
    "stock_status",
    "hold_reason",
)


class OpeningLineIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """One line of the old system's stock. ``item``: ERP id or the each-level GTIN; ``location``: code or
    barcode; ``serials``: one per unit of a serialised item; ``status`` ``hold`` needs ``reason``."""

    item: Annotated[str, Meta(min_length=1, max_length=64)]
    location: Annotated[str, Meta(min_length=1, max_length=80)]
    quantity: int
    status: Literal["available", "quarantine", "hold", "expired"] = "available"
    lot: Annotated[str, Meta(min_length=1, max_length=20)] | None = None
    expiry: dt.date | None = None
    production_date: dt.date | None = None
    serials: list[Annotated[str, Meta(min_length=1, max_length=20)]] = []
    reason: Annotated[str, Meta(max_length=500)] | None = None


_DECODER = msgspec.json.Decoder(OpeningLineIn)


class OpeningSummary(msgspec.Struct, rename="camel"):
    load_id: str
    dry_run: bool
    #: a repeat of a load already booked: nothing was booked again, this is the first answer
    replayed: bool
    #: non-blank lines read
    received: int
    #: lines with at least one problem; a load with any books nothing
    refused: int
    booked: bool
    ledger_rows: int
    units: int
    expired_units: int
    held_units: int
    holds_placed: int
    lots_created: int
    serials_created: int
    #: locations that hold stock already: refused unless ``replace=true``, then booked out first
    occupied_locations: list[str]
    #: RFC 9457 problems, each with its ``line`` and a ``pointer`` to the field
    problems: list[Problem]


class OpeningLoad:
    """One load in progress: ``start``, ``take`` each line, ``finish``. Lives inside one session transaction."""

    def __init__(
        self, session: AsyncSession, actor: Actor, *, load_id: str, today: dt.date, dry_run: bool, replace: bool
    ) -> None:
        self.session, self.actor, self.load_id, self.today = session, actor, load_id, today
        self.dry_run, self.replace = dry_run, replace
        self.received = 0
        self.problems: list[tuple[int, e.DomainError]] = []
        self.refused_lines: set[int] = set()
        self.rows: list[tuple[Any, ...]] = []
        self.staged = 0
        #: the first answer of a load with this id, when it was booked before: only the body's digest counts then
        self.earlier: tuple[str, dict[str, Any]] | None = None
        self.items: dict[str, ItemFacts] = {}
        self.locations: dict[str, list[int]] = {}
        self.occupied_ids: list[int] = []
        #: seconds per step, logged at the end (docs/benchmarks.md reads them)
        self.timings: dict[str, float] = {}
        self._clock = time.perf_counter()

    async def start(self) -> None:
        conn = await raw(self.session)
        # the load's sorts and aggregates (a lot's first line, the stock buckets) run over every line: in memory,
        # not spilled to disk in 4 MB pieces; for this transaction only
        await conn.execute("SET LOCAL work_mem = '256MB'")
        # two requests with one load id: the second waits for the first, then sees its row
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('opening:' || $1, 0))", self.load_id)
        row = await conn.fetchrow("SELECT body_sha256, summary FROM opening_loads WHERE load_id = $1", self.load_id)
        if row is not None:
            summary = row["summary"]  # the pool's connections decode jsonb; a bare one gives the text
            self.earlier = (row["body_sha256"], summary if isinstance(summary, dict) else msgspec.json.decode(summary))
            return
        facts = await conn.fetch("SELECT id, erp_id, gtin, lot_tracked, serial_tracked, expiry_tracked FROM items")
        by_id = {}
        for r in facts:
            f = ItemFacts(r["id"], r["erp_id"], r["lot_tracked"], r["serial_tracked"], r["expiry_tracked"])
            by_id[r["id"]] = f
            self.items[r["gtin"]] = f
        for r in await conn.fetch("SELECT item_id, gtin FROM item_gtins WHERE pack_level = 'each'"):
            self.items.setdefault(r["gtin"], by_id[r["item_id"]])
        for f in by_id.values():  # an ERP id wins over a GTIN that happens to spell the same
            self.items[f.erp_id] = f
        for r in await conn.fetch("SELECT id, code, barcode FROM locations"):
            self.locations.setdefault(r["code"], []).append(r["id"])
            if r["barcode"] != r["code"]:
                self.locations.setdefault(r["barcode"], []).append(r["id"])
        await conn.execute(
            "CREATE TEMP TABLE opening_staging (line int NOT NULL, item_id int NOT NULL, location_id int NOT NULL,"
            " lot text, expiry date, production_date date, serials text[], quantity int NOT NULL,"
            " stock_status text NOT NULL, hold_reason text) ON COMMIT DROP"
        )

    async def take(self, number: int, raw_line: bytes | None, refusal: e.DomainError | None = None) -> None:
        """One non-blank line (``raw_line``), or one already refused for its form (too long, too deep)."""
        self.received += 1
        if self.earlier is not None:
            return
        if refusal is not None:
            self._refuse(number, [refusal])
            return
        try:
            rec = _DECODER.decode(raw_line or b"")
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            self._refuse(number, [decode_error(exc)])
            return
        line = OpeningLine(
            item=rec.item,
            location=rec.location,
            quantity=rec.quantity,
            status=rec.status,
            lot=rec.lot,
            expiry=rec.expiry,
            production_date=rec.production_date,
            serials=tuple(rec.serials),
            reason=rec.reason,
        )
        item = self.items.get(rec.item)
        places = self.locations.get(rec.location, [])
        booking, problems = check_line(line, item, bool(places), today=self.today)
        if len(places) > 1:
            problems.append(
                e.InvalidRecord(
                    f"location code {rec.location} is used in more than one warehouse: send its barcode",
                    pointer="/location",
                )
            )
        if problems or booking is None or item is None:
            self._refuse(number, problems)
            return
        self.rows.append(
            (
                number,
                item.item_id,
                places[0],
                rec.lot,
                rec.expiry,
                rec.production_date,
                rec.serials or None,
                rec.quantity,
                booking.stock_status,
                booking.hold_reason,
            )
        )
        if len(self.rows) >= COPY_ROWS:
            await self._copy()

    def _lap(self, step: str) -> None:
        now = time.perf_counter()
        self.timings[step] = self.timings.get(step, 0.0) + now - self._clock
        self._clock = now

    def _refuse(self, number: int, problems: list[e.DomainError]) -> None:
        self.refused_lines.add(number)
        self.problems.extend((number, p) for p in problems)

    async def _copy(self) -> None:
        if self.rows:
            conn = await raw(self.session)
            await conn.copy_records_to_table("opening_staging", records=self.rows, columns=_STAGING)
            self.staged += len(self.rows)
            self.rows = []

    async def finish(self, body_sha256: str) -> OpeningSummary:
        if self.earlier is not None:
            digest, summary = self.earlier
            if digest != body_sha256:
                raise e.LoadIdReused(
                    f"load {self.load_id} was booked before with another body: a repeat must be the same load,"
                    " a new load needs its own id",
                    loadId=self.load_id,
                )
            return msgspec.convert({**summary, "replayed": True, "dryRun": self.dry_run}, OpeningSummary)
        self._lap("read and check lines")
        await self._copy()
        conn = await raw(self.session)
        await conn.execute("ANALYZE opening_staging")
        self._lap("copy")
        for number, problem in await _set_problems(conn, replace=self.replace):
            self._refuse(number, [problem])
        occupied_rows = await conn.fetch(
            "SELECT l.id, l.code FROM locations l WHERE l.id IN (SELECT DISTINCT location_id FROM opening_staging)"
            " AND EXISTS (SELECT 1 FROM stock s WHERE s.location_id = l.id AND s.quantity > 0) ORDER BY l.code"
        )
        self.occupied_ids = [r["id"] for r in occupied_rows]
        occupied = [r["code"] for r in occupied_rows]
        self._lap("load-wide checks")
        problems = [{**problem_body(p), "line": n} for n, p in sorted(self.problems, key=lambda np: np[0])]
        totals = await conn.fetchrow(
            "SELECT count(*) AS lines, coalesce(sum(quantity), 0) AS units,"
            " coalesce(sum(quantity) FILTER (WHERE stock_status = 'expired'), 0) AS expired,"
            " coalesce(sum(quantity) FILTER (WHERE hold_reason IS NOT NULL), 0) AS held,"
            " coalesce(sum(coalesce(cardinality(serials), 1)), 0) AS ledger_rows FROM opening_staging"
        )
        summary = OpeningSummary(
            load_id=self.load_id,
            dry_run=self.dry_run,
            replayed=False,
            received=self.received,
            refused=len(self.refused_lines),
            booked=False,
            ledger_rows=totals["ledger_rows"],
            units=totals["units"],
            expired_units=totals["expired"],
            held_units=totals["held"],
            holds_placed=0,
            lots_created=0,
            serials_created=0,
            occupied_locations=occupied,
            problems=problems,
        )
        if self.dry_run:
            return summary
        if problems:
            raise e.OpeningLoadRefused(
                f"{len(self.refused_lines)} of {self.received} lines have problems: nothing was booked."
                " Correct them (a dry run lists them all) and send the load again",
                loadId=self.load_id,
                received=self.received,
                refused=len(self.refused_lines),
                problems=problems,
            )
        if occupied and not self.replace:
            raise e.LocationHoldsStock(
                f"{len(occupied)} locations already hold stock ({', '.join(occupied[:10])}"
                f"{', ...' if len(occupied) > 10 else ''}): nothing was booked. Send replace=true to book that"
                " stock out first, or leave those lines out",
                locations=occupied,
            )
        if self.received == 0:
            raise e.InvalidRecord("the load has no lines", pointer="")
        booked = await self._book(conn, summary, occupied, body_sha256)
        log.info(
            "opening load %s: %d lines; %s",
            self.load_id,
            self.received,
            ", ".join(f"{k} {v:.2f} s" for k, v in self.timings.items()),
        )
        return booked

    async def _book(self, conn: Any, summary: OpeningSummary, occupied: list[str], body_sha256: str) -> OpeningSummary:
        reason = f"go-live opening balances, load {self.load_id}"
        replaced = await _book_out(self.session, self.actor, self.occupied_ids, reason) if occupied else []
        self._lap("replace")
        lots_created = int(
            (
                await conn.execute(
                    "INSERT INTO lots (item_id, lot, expiry, production_date)"
                    " SELECT DISTINCT ON (item_id, lot) item_id, lot, expiry, production_date FROM opening_staging"
                    " WHERE lot IS NOT NULL ORDER BY item_id, lot, line ON CONFLICT (item_id, lot) DO NOTHING"
                )
            ).split()[-1]
        )
        self._lap("lots")
        known_serials = await conn.fetchval(
            "SELECT count(*) FROM opening_staging s CROSS JOIN LATERAL unnest(s.serials) AS u(serial)"
            "  JOIN serials se ON se.item_id = s.item_id AND se.serial = u.serial"
        )
        # a known serial with no stock (shipped long ago, booked out by ``replace``) is booked in again
        serials_created = (
            int(
                (
                    await conn.execute(
                        "INSERT INTO serials (item_id, serial, lot_id, status, location_id)"
                        " SELECT s.item_id, u.serial, l.id, 'in_stock', s.location_id"
                        "   FROM opening_staging s CROSS JOIN LATERAL unnest(s.serials) AS u(serial)"
                        "   LEFT JOIN lots l ON l.item_id = s.item_id AND l.lot = s.lot"
                        " ON CONFLICT (item_id, serial) DO UPDATE"
                        "   SET lot_id = EXCLUDED.lot_id, status = 'in_stock', location_id = EXCLUDED.location_id"
                    )
                ).split()[-1]
            )
            - known_serials
        )
        self._lap("serials")
        holds = await conn.fetch(
            "INSERT INTO holds (scope, item_id, lot_id, serial_id, reason, placed_by, placed_device, placed_api_key_id)"
            " SELECT scope, item_id, lot_id, serial_id, hold_reason, $1, $2, $3 FROM ("
            "   (SELECT DISTINCT ON (l.id) 'lot' AS scope, s.item_id, l.id AS lot_id, NULL::int AS serial_id, s.hold_reason"
            "     FROM opening_staging s JOIN lots l ON l.item_id = s.item_id AND l.lot = s.lot"
            "    WHERE s.hold_reason IS NOT NULL AND s.serials IS NULL ORDER BY l.id, s.line)"
            "   UNION ALL"
            "   SELECT 'serial', s.item_id, NULL, se.id, s.hold_reason"
            "     FROM opening_staging s CROSS JOIN LATERAL unnest(s.serials) AS u(serial)"
            "     JOIN serials se ON se.item_id = s.item_id AND se.serial = u.serial WHERE s.hold_reason IS NOT NULL"
            " ) h RETURNING id, scope, item_id, lot_id, serial_id, reason",
            self.actor.user_id,
            self.actor.device_id,
            self.actor.api_key_id,
        )
        by_status = {
            r["stock_status"]: (r["lines"], r["units"])
            for r in await conn.fetch(
                "SELECT stock_status, count(*) AS lines, sum(quantity) AS units FROM opening_staging GROUP BY 1"
            )
        }
        locations = await conn.fetchval("SELECT count(DISTINCT location_id) FROM opening_staging")
        (event_id,) = await emit(
            self.session,
            self.actor,
            OpeningBooked(
                load_id=self.load_id,
                lines=self.received,
                ledger_rows=summary.ledger_rows,
                units={k: v[1] for k, v in sorted(by_status.items())},
                lines_by_status={k: v[0] for k, v in sorted(by_status.items())},
                held_units=summary.held_units,
                holds_placed=len(holds),
                lots_created=lots_created,
                serials_created=serials_created,
                locations=locations,
                replaced_locations=replaced,
            ),
        )
        await _emit_holds(self.session, self.actor, conn, holds)
        self._lap("holds and events")
        rows = int(
            (
                await conn.execute(
                    "INSERT INTO stock_ledger (movement, item_id, lot_id, serial_id, quantity, to_location_id, to_status,"
                    " reason, document_type, document_id, event_id, user_id, api_key_id, device_id)"
                    " SELECT 'opening', s.item_id, l.id, se.id, CASE WHEN se.id IS NULL THEN s.quantity ELSE 1 END,"
                    "        s.location_id, s.stock_status, s.hold_reason, 'opening', $1, $2, $3, $4, $5"
                    "   FROM opening_staging s"
                    "   LEFT JOIN lots l ON l.item_id = s.item_id AND l.lot = s.lot"
                    "   LEFT JOIN LATERAL unnest(s.serials) AS u(serial) ON true"
                    "   LEFT JOIN serials se ON se.item_id = s.item_id AND se.serial = u.serial"
                    # in index order: the ledger's (item, lot) index grows at its end instead of everywhere
                    "  ORDER BY s.item_id, l.id, s.location_id",
                    self.load_id,
                    event_id,
                    self.actor.user_id,
                    self.actor.api_key_id,
                    self.actor.device_id,
                )
            ).split()[-1]
        )
        self._lap("ledger")
        summary.booked = True
        summary.ledger_rows = rows
        summary.holds_placed = len(holds)
        summary.lots_created = lots_created
        summary.serials_created = serials_created
        # last: the load's row applies its ledger rows to stock (trigger ``opening_loads_apply``)
        await conn.execute(
            "INSERT INTO opening_loads (load_id, body_sha256, lines, ledger_rows, units, replaced, user_id, api_key_id,"
            " summary) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)",
            self.load_id,
            body_sha256,
            self.received,
            rows,
            summary.units,
            bool(replaced),
            self.actor.user_id,
            self.actor.api_key_id,
            msgspec.json.encode(summary).decode(),
        )
        self._lap("stock")
        await audit(
            self.session,
            self.actor,
            "opening.booked",
            "ok",
            target=f"opening:{self.load_id}",
            detail={"lines": self.received, "units": summary.units, "replacedLocations": replaced},
            reason=reason,
        )
        return summary


async def _set_problems(conn: Any, *, replace: bool) -> list[tuple[int, e.DomainError]]:
    """The checks that need the whole load or the database, set-based on the staging table."""
    found: list[tuple[int, e.DomainError]] = []
    for r in await conn.fetch(
        "SELECT s.line, s.lot, s.expiry, l.expiry AS known FROM opening_staging s"
        "  JOIN lots l ON l.item_id = s.item_id AND l.lot = s.lot WHERE s.expiry IS DISTINCT FROM l.expiry"
        "   AND (s.expiry IS NOT NULL AND l.expiry IS NOT NULL)"
    ):
        found.append(
            (
                r["line"],
                e.LotExpiryConflict(
                    f"lot {r['lot']} is known with expiry {r['known'].isoformat()}, this line says {r['expiry'].isoformat()}",
                    pointer="/expiry",
                    knownExpiry=r["known"],
                    scannedExpiry=r["expiry"],
                ),
            )
        )
    # one lot, one expiry within the load too: the first line of a lot sets it
    for r in await conn.fetch(
        "SELECT line, lot, expiry, first_expiry FROM ("
        "  SELECT line, lot, expiry, first_value(expiry) OVER (PARTITION BY item_id, lot ORDER BY line) AS first_expiry,"
        "         count(*) OVER (PARTITION BY item_id, lot) AS n"
        "    FROM opening_staging WHERE lot IS NOT NULL AND (item_id, lot) IN ("
        "      SELECT item_id, lot FROM opening_staging WHERE lot IS NOT NULL GROUP BY 1, 2"
        "      HAVING count(DISTINCT coalesce(expiry, 'infinity'::date)) > 1)"
        ") x WHERE expiry IS DISTINCT FROM first_expiry"
    ):
        found.append(
            (
                r["line"],
                e.LotExpiryConflict(
                    f"lot {r['lot']} has another expiry on an earlier line of this load"
                    f" ({r['first_expiry'].isoformat() if r['first_expiry'] else 'none'})",
                    pointer="/expiry",
                    knownExpiry=r["first_expiry"],
                    scannedExpiry=r["expiry"],
                ),
            )
        )
    for r in await conn.fetch(
        "SELECT line, serial FROM ("
        "  SELECT s.line, u.serial, row_number() OVER (PARTITION BY s.item_id, u.serial ORDER BY s.line) AS n"
        "    FROM opening_staging s CROSS JOIN LATERAL unnest(s.serials) AS u(serial)) x WHERE n > 1"
    ):
        found.append(
            (
                r["line"],
                e.SerialAlreadyReceived(
                    f"serial {r['serial']} is on an earlier line of this load", pointer="/serials", serial=r["serial"]
                ),
            )
        )
    # a serial on the books somewhere (stock of it): a load that replaces its location books it out first
    for r in await conn.fetch(
        "SELECT s.line, u.serial, loc.code FROM opening_staging s CROSS JOIN LATERAL unnest(s.serials) AS u(serial)"
        "  JOIN serials se ON se.item_id = s.item_id AND se.serial = u.serial"
        "  JOIN stock st ON st.serial_id = se.id AND st.quantity > 0 JOIN locations loc ON loc.id = st.location_id"
        " WHERE NOT ($1 AND st.location_id IN (SELECT location_id FROM opening_staging))",
        replace,
    ):
        found.append(
            (
                r["line"],
                e.SerialBookedElsewhere(
                    f"serial {r['serial']} is on udipick's books at {r['code']}",
                    pointer="/serials",
                    serial=r["serial"],
                    bookedAt=r["code"],
                ),
            )
        )
    return found


async def _book_out(session: AsyncSession, actor: Actor, location_ids: list[int], reason: str) -> list[str]:
    """The stock at locations a load replaces, booked out (``adjust``) with the load's reason. Units that
    open pick tasks hold are refused: those tasks must be shorted or cancelled first."""
    conn = await raw(session)
    rows = await conn.fetch(
        "SELECT s.id, s.item_id, s.lot_id, s.serial_id, s.location_id, s.container_id, s.status, s.quantity, s.reserved,"
        "       l.code FROM stock s JOIN locations l ON l.id = s.location_id"
        " WHERE s.location_id = ANY($1::int[]) AND s.quantity > 0 ORDER BY s.id FOR UPDATE OF s",
        location_ids,
    )
    reserved = sorted({r["code"] for r in rows if r["reserved"] > 0})
    if reserved:
        raise e.LocationHoldsStock(
            f"open pick tasks hold stock at {', '.join(reserved)}: short or cancel them before replacing it",
            locations=reserved,
        )
    await post_movements(
        session,
        actor,
        [
            Movement(
                "adjust",
                r["item_id"],
                r["quantity"],
                lot_id=r["lot_id"],
                serial_id=r["serial_id"],
                from_location_id=r["location_id"],
                from_container_id=r["container_id"],
                from_status=r["status"],
                reason=reason,
                document_type="opening",
            )
            for r in rows
        ],
    )
    return sorted({r["code"] for r in rows})


async def _emit_holds(session: AsyncSession, actor: Actor, conn: Any, holds: list[Any]) -> None:
    if not holds:
        return
    described = await conn.fetch(
        "SELECT h.id, h.scope, h.reason, i.gtin, l.lot, se.serial FROM holds h JOIN items i ON i.id = h.item_id"
        " LEFT JOIN lots l ON l.id = h.lot_id LEFT JOIN serials se ON se.id = h.serial_id WHERE h.id = ANY($1::int[])"
        " ORDER BY h.id",
        [h["id"] for h in holds],
    )
    await emit(
        session,
        actor,
        *(
            HoldPlaced(
                hold_id=h["id"],
                scope=h["scope"],
                gtin=h["gtin"],
                lot=h["lot"],
                serial=h["serial"],
                location=None,
                reason=h["reason"],
                reallocated_tasks=0,
            )
            for h in described
        ),
    )


def new_load_id() -> str:
    return uuid.uuid4().hex
