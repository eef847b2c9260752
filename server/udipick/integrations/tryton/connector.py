"""The Tryton connector's loop: Tryton's records into udipick, udipick's events into Tryton, and the
reconciliation report of where the two disagree on stock by item and lot.

udipick is reached over its HTTP API like any ERP (an API key with ``erp:read`` and ``erp:write``); Tryton
in this process (``books.TrytonBooks``). The cursors live in udipick's database (``erp_connector_cursors``):

- events: read with ``GET /api/v1/erp/events?after=<cursor>``; each event that moves stock is booked in
  Tryton in one transaction with its event id (``udipick_booked_events`` in Tryton's database), and only
  then the cursor is written. A crash between the two reads the event again on restart and finds it booked:
  nothing is booked twice, nothing is skipped.
- Tryton's changes: records changed since ``pulled_until`` minus ``SLACK`` are sent (a re-send is a replay
  that udipick answers ``unchanged``); the slack covers a Tryton transaction that started before the pass
  and committed after it (``write_date`` is its start time).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
import msgspec

from udipick.integrations.tryton import plan
from udipick.integrations.tryton.books import TrytonBooks

log = logging.getLogger("udipick.tryton")

SLACK = dt.timedelta(seconds=60)
PAGE = 500
#: fault injection for the crash tests: exit the process (as ``kill -9`` would) right after the Nth event
#: committed in Tryton and before its cursor is written
CRASH_AFTER_BOOKING = "UDIPICK_TRYTON_CRASH_AFTER_BOOKING"


class UdipickApi:
    """udipick's ERP API, as the connector uses it."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30.0) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout
        )

    def upsert(self, kind: str, record: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        r = self.http.post(f"/api/v1/erp/{kind}", json=record)
        if r.status_code >= 500:
            r.raise_for_status()
        return r.status_code, r.json()

    def cancel_sales_order(self, erp_id: str, reason: str) -> int:
        r = self.http.post(f"/api/v1/erp/sales-orders/{erp_id}/cancel", json={"reason": reason})
        if r.status_code >= 500:
            r.raise_for_status()
        return r.status_code

    def cancel_purchase_order(self, erp_id: str, reason: str) -> tuple[int, dict[str, Any]]:
        r = self.http.post(f"/api/v1/erp/purchase-orders/{erp_id}/cancel", json={"reason": reason})
        if r.status_code >= 500:
            r.raise_for_status()
        return r.status_code, r.json()

    def events_after(self, after: int, limit: int = PAGE) -> tuple[list[dict[str, Any]], int]:
        r = self.http.get("/api/v1/erp/events", params={"after": str(after), "limit": limit})
        r.raise_for_status()
        events = [msgspec.json.decode(line) for line in r.content.splitlines() if line.strip()]
        return events, int(r.headers["udipick-next-after"])

    def stock(self) -> tuple[list[dict[str, Any]], int]:
        r = self.http.get("/api/v1/erp/stock", params={"format": "ndjson"})
        r.raise_for_status()
        rows = [msgspec.json.decode(line) for line in r.content.splitlines() if line.strip()]
        return rows, int(r.headers["udipick-as-of-position"])


class Cursors:
    """The connector's row in udipick's ``erp_connector_cursors`` (psycopg, synchronous like trytond).

    The connection also holds a session advisory lock on the connector's name: a second connector for the
    same Tryton database refuses to start instead of booking the same events concurrently."""

    def __init__(self, database_url: str, name: str, *, exclusive: bool = True, lock_wait_s: float = 15.0) -> None:
        import psycopg

        self.name = name
        self.conn = psycopg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1), autocommit=True)
        if exclusive:  # the reconciliation report only reads, beside a running connector
            # waits a little: the session of a connector that just stopped (or was killed) may take a moment to end
            self.conn.execute(f"SET lock_timeout = '{int(lock_wait_s * 1000)}ms'")
            try:
                self.conn.execute("SELECT pg_advisory_lock(hashtext('udipick-erp-connector'), hashtext(%s))", (name,))
            except psycopg.errors.LockNotAvailable:
                self.conn.close()
                raise RuntimeError(f"another connector {name!r} is running") from None
            self.conn.execute("RESET lock_timeout")
        self.conn.execute("INSERT INTO erp_connector_cursors (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", (name,))

    def read(self) -> tuple[int, dt.datetime | None]:
        row = self.conn.execute(
            "SELECT events_after, pulled_until FROM erp_connector_cursors WHERE name = %s", (self.name,)
        ).fetchone()
        assert row is not None
        return int(row[0]), row[1]

    def save_events_after(self, position: int) -> None:
        # never backwards: a page read again after a crash ends where the cursor already is
        self.conn.execute(
            "UPDATE erp_connector_cursors SET events_after = greatest(events_after, %s), updated_at = now()"
            " WHERE name = %s",
            (position, self.name),
        )

    def save_pulled_until(self, moment: dt.datetime) -> None:
        self.conn.execute(
            "UPDATE erp_connector_cursors SET pulled_until = %s, updated_at = now() WHERE name = %s",
            (moment, self.name),
        )

    def close(self) -> None:
        self.conn.close()


@dataclass
class PullReport:
    sent: dict[str, int] = field(default_factory=dict)
    refused: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class StockReport:
    """Where Tryton and udipick disagree on the warehouse's stock, by item and lot."""

    udipick_as_of_position: int
    connector_events_after: int
    compared_items: int
    differences: list[dict[str, Any]]

    @property
    def in_step(self) -> bool:
        return not self.differences


class Connector:
    def __init__(self, books: TrytonBooks, api: UdipickApi, cursors: Cursors, *, warehouse: str = "MAIN") -> None:
        self.books, self.api, self.cursors, self.warehouse = books, api, cursors, warehouse
        #: versions udipick accepted from this process, so the slack's re-reads are not sent again
        self._sent: dict[tuple[str, str], int] = {}
        self._codes: set[str] = set()
        self._after: int | None = None
        self._crash_after = int(os.environ.get(CRASH_AFTER_BOOKING, "0") or 0)
        self._booked_count = 0

    # ---- Tryton → udipick ------------------------------------------------------------------------------

    def pull(self) -> PullReport:
        """Send what changed in Tryton since the last pass: masters first, then the documents naming them."""
        report = PullReport()
        _, since = self.cursors.read()
        started = self.books.now()
        changes = self.books.changes(since - SLACK if since else None)

        def send(kind: str, record: dict[str, Any] | None) -> bool:
            if record is None:
                return False
            key = (kind, str(record.get("erpId", record.get("code"))))
            if self._sent.get(key) == record["version"]:
                return True  # accepted at this version by this process already: the slack's re-read
            status, body = self.api.upsert(kind, record)
            if status >= 400:
                report.refused.append({"kind": kind, "key": record.get("erpId", record.get("code")), **body})
                log.warning("udipick refused %s %s: %s", kind, record.get("erpId", record.get("code")), body)
                return False
            report.sent[kind] = report.sent.get(kind, 0) + 1
            self._sent[key] = record["version"]
            return True

        for product in changes["products"]:
            record = plan.item_record(product)
            if record is None:
                log.info("Tryton product %s has no code or no GTIN (identifier of type EAN): not sent", product["id"])
            send("items", record)
        for location in changes["locations"]:
            send("locations", plan.location_record(location, self.warehouse))
        for party in changes["suppliers"]:
            send("suppliers", plan.party_record(party, "supplier"))
        for party in changes["customers"]:
            send("customers", plan.party_record(party, "customer"))
        # the change time of a cancel udipick could not take yet (a receipt open at its dock): the next passes
        # read Tryton from there again, so the cancel is sent until it is taken, across restarts too
        held_back: dt.datetime | None = None
        for purchase in changes["purchases"]:
            if plan.purchase_cancelled(purchase):
                key = ("purchase-order-cancels", purchase["number"])
                if self._sent.get(key) == purchase["version"]:
                    continue
                reason = "cancelled in Tryton" + ("" if purchase["state"] == "cancelled" else " (its moves ignored)")
                status, body = self.api.cancel_purchase_order(purchase["number"], reason)
                if status == 409 and body.get("code") == "receipt-in-progress":
                    log.info("Tryton purchase %s is cancelled; udipick is receiving it: %s", purchase["number"], body)
                    changed_at = plan.EPOCH + dt.timedelta(microseconds=purchase["version"])
                    held_back = min(held_back or changed_at, changed_at)
                    continue
                if status < 300:
                    if body.get("changed"):
                        report.sent[key[0]] = report.sent.get(key[0], 0) + 1
                elif status == 404:  # never sent to udipick (cancelled before it was confirmed)
                    log.info("Tryton purchase %s is cancelled; udipick never had it", purchase["number"])
                else:
                    report.refused.append({"kind": key[0], "key": purchase["number"], **body})
                    log.warning("udipick refused the cancel of purchase %s: %s", purchase["number"], body)
                self._sent[key] = purchase["version"]
                continue
            if purchase["state"] not in ("confirmed", "processing"):
                continue  # done: finished business, never sent
            send("purchase-orders", plan.purchase_record(purchase, self.warehouse))
        for sale in changes["sales"]:
            if sale["state"] == "cancelled":
                key = ("sales-order-cancels", sale["number"])
                if self._sent.get(key) != sale["version"]:
                    # 404: never sent to udipick; 409: cancelled or shipped there already
                    status = self.api.cancel_sales_order(sale["number"], "cancelled in Tryton")
                    if status < 300:
                        report.sent[key[0]] = report.sent.get(key[0], 0) + 1
                    self._sent[key] = sale["version"]
                continue
            send("sales-orders", plan.sale_record(sale, self.warehouse))
        self.cursors.save_pulled_until(min(started, held_back) if held_back else started)
        if report.sent.get("items"):
            self._codes = self.books.product_codes()
        return report

    # ---- udipick → Tryton ------------------------------------------------------------------------------

    def push(self, *, today: dt.date | None = None) -> int:
        """Book the next page of udipick's events in Tryton; returns how many events were read."""
        if self._after is None:  # read once: this connector holds the lock on its name, nobody else moves it
            self._after = self.cursors.read()[0]
        events, next_after = self.api.events_after(self._after)
        if not events:
            return 0
        # events of items that are no Tryton product (another ERP's, demo data) are not booked; the codes are
        # read again when a pull has sent products, or when an event names an item not seen yet
        if any(m.item not in self._codes for e in events for m in plan.moves_for(e["type"], e["data"])):
            self._codes = self.books.product_codes()
        for event in events:
            moves = [m for m in plan.moves_for(event["type"], event["data"]) if m.item in self._codes]
            if moves:
                # booked before (a crash between Tryton's commit and the cursor): book() writes nothing
                day = today or dt.date.fromisoformat(event["occurredAt"][:10])
                ids = self.books.book(event["eventId"], event["position"], event["type"], moves, today=day)
                log.info(
                    "event %s (%s, position %s): Tryton moves %s",
                    event["eventId"],
                    event["type"],
                    event["position"],
                    ids,
                )
                self._booked_count += 1
                if self._crash_after and self._booked_count >= self._crash_after:
                    log.warning("%s: exiting after booking, before the cursor", CRASH_AFTER_BOOKING)
                    os._exit(137)
                self.cursors.save_events_after(event["position"])
        self.cursors.save_events_after(next_after)
        self._after = next_after
        return len(events)

    def run(self, *, interval: float = 0.2, pull_every: float = 2.0, stop: threading.Event | None = None) -> None:
        """Until ``stop``: book udipick's events as they come (polling every ``interval`` s) and, in a thread of
        its own so a pass over Tryton never holds a pick's move back, pull Tryton's changes every ``pull_every``
        s. A failure on either side is logged and retried; the cursors say where to resume."""
        stop = stop or threading.Event()
        puller = threading.Thread(target=self._pull_loop, args=(stop, pull_every), name="tryton-pull", daemon=True)
        puller.start()
        try:
            while not stop.is_set():
                try:
                    while self.push():
                        pass
                except Exception:  # a side is down or refused: keep the cursors and try again
                    log.exception("booking udipick's events in Tryton failed; retrying")
                    self._after = None
                    stop.wait(min(5.0, interval * 10))
                    continue
                stop.wait(interval)
        finally:
            stop.set()
            puller.join(timeout=60)

    def _pull_loop(self, stop: threading.Event, pull_every: float) -> None:
        while not stop.is_set():
            try:
                report = self.pull()
                if report.sent or report.refused:
                    log.info("sent to udipick: %s; refused: %d", report.sent, len(report.refused))
            except Exception:
                log.exception("sending Tryton's changes to udipick failed; retrying")
            stop.wait(pull_every)

    # ---- reconciliation ----------------------------------------------------------------------------------

    def reconcile(self, *, today: dt.date | None = None) -> StockReport:
        rows, as_of = self.api.stock()
        rows = [r for r in rows if r.get("warehouse") == self.warehouse]
        tryton = self.books.stock_by_item_and_lot(today=today or dt.date.today())
        items = self.books.product_codes()
        diffs = plan.stock_differences(tryton, rows, items)
        after, _ = self.cursors.read()
        return StockReport(
            udipick_as_of_position=as_of,
            connector_events_after=after,
            compared_items=len(items),
            differences=[asdict(d) for d in diffs],
        )
