"""The stock view reads summaries (migration 0026): whatever has been folded into them, it must answer what
summing every stock row answers. The oracle here sums ``stock`` itself (the view's first, summary-less
query) and decides each row with the domain's rule; the view is compared with it for every grouping and
filter, with nothing folded, after a fold, after lot facts changed since the fold (a hold, a QC decision),
with a location hold, after a location changed type, and after a rebuild."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import text

from tests.api.test_stock_view import admin, book, scenario, sup  # noqa: F401  (fixtures)
from udipick.domain.stock_view import STATUSES, StockFacts, effective_status, expiry_bucket, split_reserved
from udipick.services.stock_view import (
    _KEY_FIELDS,
    StockFilter,
    _transit_sql,
    fold_summary,
    rebuild_summary,
    stock_view,
)

ORACLE = """
SELECT w.code AS warehouse, i.erp_id AS item, i.gtin, l.lot, l.expiry, loc.type AS location_type,
       st.status AS stock_status, coalesce(l.status, 'released') AS lot_status,
       (hi.item_id IS NOT NULL OR hl.lot_id IS NOT NULL OR hs.serial_id IS NOT NULL OR hc.location_id IS NOT NULL) AS held,
       coalesce(hs.recall, false) AS recall_hold, i.bonded AS item_bonded, st.quantity, st.reserved
  FROM stock st JOIN locations loc ON loc.id = st.location_id JOIN warehouses w ON w.id = loc.warehouse_id
  JOIN items i ON i.id = st.item_id LEFT JOIN lots l ON l.id = st.lot_id
  LEFT JOIN (SELECT DISTINCT item_id FROM holds WHERE released_at IS NULL AND scope = 'item') hi ON hi.item_id = st.item_id
  LEFT JOIN (SELECT DISTINCT lot_id FROM holds WHERE released_at IS NULL AND scope = 'lot') hl ON hl.lot_id = st.lot_id
  LEFT JOIN (SELECT serial_id, bool_or(recall_id IS NOT NULL) AS recall FROM holds
              WHERE released_at IS NULL AND scope = 'serial' GROUP BY serial_id) hs ON hs.serial_id = st.serial_id
  LEFT JOIN (SELECT DISTINCT location_id FROM holds WHERE released_at IS NULL AND scope = 'location') hc
         ON hc.location_id = st.location_id
 WHERE st.quantity > 0
"""


async def oracle(db, f: StockFilter, group_by: list[str], today: dt.date) -> tuple[dict, dict]:
    """Groups and totals from every stock row, one by one."""
    keys = [k for k in ("warehouse", "item", "lot", "expiry_bucket", "location_type", "status") if k in group_by]
    fields = list(dict.fromkeys(x for k in keys for x in _KEY_FIELDS[k]))
    groups: dict[tuple, int] = {}
    totals = dict.fromkeys(STATUSES, 0)

    def add(row: dict, status: str, quantity: int) -> None:
        if f.status is not None and status != f.status:
            return
        totals[status] += quantity
        k = tuple(status if x == "status" else row.get(x) for x in fields)
        groups[k] = groups.get(k, 0) + quantity

    async with db() as s:
        rows = (await s.execute(text(ORACLE))).mappings().all()
        transit = _transit_sql(keys, f) if f.status in (None, "in_transit") else None
        transit_rows = (await s.execute(text(transit[0]), transit[1])).mappings().all() if transit else []
    for r in rows:
        if (
            (f.warehouse is not None and r["warehouse"] != f.warehouse)
            or (f.item is not None and r["item"] != f.item)
            or (f.lot is not None and r["lot"] != f.lot)
            or (f.location_type is not None and r["location_type"] != f.location_type)
            or (f.expiry_before is not None and not (r["expiry"] is not None and r["expiry"] < f.expiry_before))
            or (f.expiry_after is not None and not (r["expiry"] is not None and r["expiry"] > f.expiry_after))
        ):
            continue
        facts = StockFacts(
            r["stock_status"], r["lot_status"], r["expiry"], r["held"], r["recall_hold"], r["location_type"],
            r["item_bonded"],
        )  # fmt: skip
        row = {**r, "expiry_bucket": expiry_bucket(r["expiry"], today)}
        for status, q in split_reserved(effective_status(facts, today=today), r["quantity"], r["reserved"]):
            add(row, status, q)
    for r in transit_rows:
        if r["quantity"] > 0:
            add({**r, "expiry_bucket": "none", "location_type": None}, "in_transit", r["quantity"])
    return {k: q for k, q in groups.items() if q}, totals


GROUPINGS = [
    ["lot", "expiry_bucket"],
    ["expiry_bucket", "status"],
    ["status"],
    ["warehouse", "location_type", "status"],
    ["lot", "status"],
    ["item"],
    ["item", "location_type"],
    ["item", "expiry_bucket"],
    ["warehouse", "item"],
]
FILTERS = [
    StockFilter(),
    StockFilter(warehouse="MAIN"),
    StockFilter(status="available"),
    StockFilter(status="hold"),
    StockFilter(status="allocated"),
    StockFilter(location_type="pick"),
    StockFilter(expiry_before=dt.date.today() + dt.timedelta(days=30)),
    StockFilter(item="SV-KIT"),
    StockFilter(lot="L1"),
]


async def same_as_oracle(db, state: str) -> None:
    today = dt.date.today()
    for group_by, f in itertools.product(GROUPINGS, FILTERS):
        v = await stock_view(db, f, group_by, today=today, limit=100_000)
        fields = list(dict.fromkeys(x for k in v.group_by for x in _KEY_FIELDS[k]))
        got = {tuple(getattr(g, x) for x in fields): g.quantity for g in v.groups}
        groups, totals = await oracle(db, f, group_by, today)
        assert (got, v.totals) == (groups, totals), (state, group_by, f)
        order = [tuple(getattr(g, x) for x in fields) for g in v.groups]
        assert order == sorted(order, key=lambda k: tuple((x is not None, x) for x in k)), (state, group_by, f)


async def summary_is_stock(db) -> None:
    """After a fold: nothing left in the delta, and each summary equals the stock rows summed its way."""
    async with db() as s:
        assert await s.scalar(text("SELECT count(*) FROM stock_summary_delta")) == 0
        off = await s.scalar(
            text(
                "SELECT count(*) FROM stock_summary s FULL JOIN (SELECT st.item_id, st.lot_id, l.warehouse_id, l.type,"
                " st.status, sum(st.quantity) q, sum(st.reserved) r FROM stock st JOIN locations l ON l.id = st.location_id"
                " GROUP BY 1, 2, 3, 4, 5 HAVING sum(st.quantity) <> 0 OR sum(st.reserved) <> 0) t"
                " ON t.item_id = s.item_id AND t.lot_id IS NOT DISTINCT FROM s.lot_id AND t.warehouse_id = s.warehouse_id"
                " AND t.type = s.location_type AND t.status = s.status"
                " WHERE (s.quantity, s.reserved) IS DISTINCT FROM (t.q, t.r)"
            )
        )
        assert off == 0
        lots_off = await s.scalar(
            text(
                "SELECT count(*) FROM stock_summary_lots s FULL JOIN (SELECT item_id, lot_id, warehouse_id,"
                " sum(quantity) q, sum(reserved) r FROM stock_summary GROUP BY 1, 2, 3) t"
                " ON t.item_id = s.item_id AND t.lot_id IS NOT DISTINCT FROM s.lot_id AND t.warehouse_id = s.warehouse_id"
                " WHERE (s.quantity, s.reserved) IS DISTINCT FROM (t.q, t.r)"
            )
        )
        assert lots_off == 0


@pytest.mark.usefixtures("scenario")
async def test_the_summaries_answer_what_the_stock_rows_answer(client, sup, demo_db):
    await same_as_oracle(demo_db, "nothing folded")
    assert await fold_summary(demo_db) > 0
    await summary_is_stock(demo_db)
    await same_as_oracle(demo_db, "folded")
    assert await fold_summary(demo_db) == 0  # nothing new

    # lot and item facts change after the fold: a hold on an item and on a lot, a lot released by QC
    async with demo_db.begin() as s:
        await s.execute(text("UPDATE lots SET status = 'quarantine' WHERE lot = 'L1'"))
    r = await client.post(
        "/api/v1/holds", json={"scope": "item", "item": "SV-KIT", "reason": "field notice"}, headers=sup
    )
    assert r.status_code == 201, r.text
    item_hold = r.json()["holdId"]
    await same_as_oracle(demo_db, "facts changed after the fold")
    await fold_summary(demo_db)
    await same_as_oracle(demo_db, "facts changed, folded")

    # the hold released, new stock arriving, a location hold, a location re-typed
    release = {"reason": "closed", "password": "supervisor-demo"}
    r = await client.post(f"/api/v1/holds/{item_hold}/release", json=release, headers=sup)
    assert r.status_code == 200, r.text
    await book(demo_db, "SV-KIT", "L6", 45, "A-01-04", 6)
    r = await client.post(
        "/api/v1/holds", json={"scope": "location", "location": "A-01-05", "reason": "spill"}, headers=sup
    )
    assert r.status_code == 201, r.text
    async with demo_db.begin() as s:
        await s.execute(text("UPDATE locations SET type = 'reserve' WHERE code = 'A-01-06'"))
    await same_as_oracle(demo_db, "moved on, not folded")
    await fold_summary(demo_db)
    await summary_is_stock(demo_db)
    await same_as_oracle(demo_db, "moved on, folded")

    assert await rebuild_summary(demo_db) > 0
    await summary_is_stock(demo_db)
    await same_as_oracle(demo_db, "rebuilt")


async def test_the_cli_rebuilds_the_summaries_after_stock_written_without_its_triggers(demo_database_url, demo_db):
    """A bulk import with the summary triggers off leaves the summaries behind; ``udipick stock rebuild-summary``
    brings them back to the stock rows."""
    import os
    import subprocess
    import sys

    await fold_summary(demo_db)
    async with demo_db.begin() as s:
        await s.execute(text("ALTER TABLE stock DISABLE TRIGGER stock_summary_update"))
        await s.execute(text("ALTER TABLE stock DISABLE TRIGGER stock_guard"))
        await s.execute(text("UPDATE stock SET quantity = quantity + 1 WHERE id = (SELECT min(id) FROM stock)"))
        await s.execute(text("ALTER TABLE stock ENABLE TRIGGER stock_guard"))
        await s.execute(text("ALTER TABLE stock ENABLE TRIGGER stock_summary_update"))
    with pytest.raises(AssertionError):
        await summary_is_stock(demo_db)
    out = subprocess.run(
        [sys.executable, "-m", "udipick.cli", "stock", "rebuild-summary"],
        env={**os.environ, "DATABASE_URL": demo_database_url},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.startswith("stock summary rebuilt: "), out.stdout + out.stderr
    await summary_is_stock(demo_db)
