"""Two receivers scanning the last open units of one purchase-order line at the same moment: the
line is locked before its open quantity is judged, so exactly one wins and nothing is over-received."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select, text

from tests.receiving.helpers import LEDGER_FOR, datamatrix, days, rows, scalar
from udipick.config import Settings
from udipick.db.engine import make_engine, make_sessionmaker
from udipick.db.models import User
from udipick.domain.access import Actor
from udipick.integrations.labels.render import ZplTemplates
from udipick.services.receiving import receipt as svc

LABELS = ZplTemplates()  # the renderer api/app.py wires in


async def _actor(db, username: str, device: str) -> Actor:
    async with db() as s:
        user = (await s.execute(select(User).where(User.username == username))).scalar_one()
    return Actor(user_id=user.id, username=user.username, roles=frozenset(user.roles), device_id=device)


async def _waiting_on_locks(db) -> int:
    return await scalar(
        db,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )


async def test_two_receivers_racing_for_the_last_open_units_never_over_receive(demo_database_url, demo_db):
    settings = Settings(short_shelf_life_policy="quarantine")
    box = datamatrix("SYR-10ML", indicator=1, lot="SY2502A", expiry=days(400))  # 100 units
    one, two = make_engine(demo_database_url, pool_size=2), make_engine(demo_database_url, pool_size=2)
    db1, db2 = make_sessionmaker(one), make_sessionmaker(two)
    try:
        alice = await _actor(db1, "receiver", "hh-1")
        bob = await _actor(db2, "supervisor", "hh-2")
        a = (await svc.start_receipt(db1, alice, document="PO-1001")).id
        b = (await svc.start_receipt(db2, bob, document="PO-1001")).id
        # line 1: 200 ordered, supplier tolerance 5 % (210 at most); 100 already received
        first = await svc.scan_receipt(db1, alice, settings, LABELS, a, svc.ScanInput(uuid.uuid4(), box), today=days(0))
        assert first.status == 200 and first.body["line"]["open"] == 100

        # hold the line so that both scans are inside their transactions before either may judge it
        blocker = await demo_db().__aenter__()
        await blocker.execute(
            text(
                "SELECT 1 FROM inbound_lines l JOIN inbound_documents d ON d.id = l.document_id"
                " WHERE d.erp_id = 'PO-1001' AND l.line_no = 1 FOR UPDATE"
            )
        )
        race = [
            asyncio.create_task(
                svc.scan_receipt(db1, alice, settings, LABELS, a, svc.ScanInput(uuid.uuid4(), box), today=days(0))
            ),
            asyncio.create_task(
                svc.scan_receipt(db2, bob, settings, LABELS, b, svc.ScanInput(uuid.uuid4(), box), today=days(0))
            ),
        ]
        for _ in range(200):
            if await _waiting_on_locks(demo_db) == 2:
                break
            await asyncio.sleep(0.02)
        assert await _waiting_on_locks(demo_db) == 2, "both scans should be waiting on the line lock"
        await blocker.rollback()
        await blocker.close()
        replies = await asyncio.gather(*race)
    finally:
        await one.dispose()
        await two.dispose()

    assert sorted(r.status for r in replies) == [200, 409]
    loser = next(r for r in replies if r.status == 409)
    assert (loser.body["code"], loser.body["received"], loser.body["maxAcceptable"]) == ("over-receipt", 200, 10)
    assert (
        await scalar(
            demo_db,
            "SELECT l.quantity_received FROM inbound_lines l JOIN inbound_documents d ON d.id = l.document_id"
            " WHERE d.erp_id = 'PO-1001' AND l.line_no = 1",
        )
        == 200
    )
    assert await rows(
        demo_db,
        "SELECT s.status, sum(s.quantity) FROM stock s JOIN lots l ON l.id = s.lot_id WHERE l.lot = 'SY2502A' GROUP BY s.status",
    ) == [("available", 200)]
    ledger = await rows(demo_db, LEDGER_FOR, doc=svc.receipt_number(a)) + await rows(
        demo_db, LEDGER_FOR, doc=svc.receipt_number(b)
    )
    assert sorted(r[4] for r in ledger) == [100, 100]
