"""The audit chain on real PostgreSQL (issue 18, docs/audit.md): records cannot be rewritten, a record
changed with the protection lifted is named by ``udipick audit verify`` (the CLI, as a subprocess),
concurrent writers leave a chain that verifies, and the documented encoding recomputes every hash
without the database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy import text

from tests.conftest import _dsn
from udipick.db.engine import make_engine, make_sessionmaker
from udipick.domain.access import Actor
from udipick.domain.audit import GENESIS, canonical, first_break, jsonb_text, link_hash
from udipick.services import audit
from udipick.services.identity import audit as write_audit

ACTOR = Actor(user_id=None, username="tester", device_id="hh-1")


async def _write(db, n: int, *, tag: str = "t") -> None:
    for i in range(n):
        async with db.begin() as s:
            await write_audit(
                s, ACTOR, "test.write", "ok", target=f"{tag}:{i}", reason="why", before={"n": i}, after={"n": i + 1}
            )


def _cli(database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": _dsn(database_url)}
    return subprocess.run(
        [sys.executable, "-m", "udipick.cli", "audit", "verify"], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("table", ["audit_log", "audit_chain", "stock_ledger"])
@pytest.mark.parametrize(
    "statement",
    ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}", "TRUNCATE {t}"],
    ids=["update", "delete", "truncate"],
)
async def test_the_database_refuses_to_rewrite_audit_records(demo_db, demo_database_url, table, statement):
    await _write(demo_db, 2)
    await audit.seal(demo_db)
    column = {"audit_log": "action", "audit_chain": "hash", "stock_ledger": "reason"}[table]
    conn = await asyncpg.connect(_dsn(demo_database_url))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute(statement.format(t=table, c=column))
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("table", "tamper"),
    [
        ("audit_log", "UPDATE audit_log SET reason = 'nothing to see' WHERE id = {id}"),
        ("audit_log", "DELETE FROM audit_log WHERE id = {id}"),
        ("stock_ledger", "UPDATE stock_ledger SET quantity = quantity + 1 WHERE id = {id}"),
    ],
    ids=["audit-changed", "audit-deleted", "ledger-changed"],
)
async def test_audit_verify_names_the_record_changed_with_the_protection_lifted(
    demo_db, demo_database_url, table, tamper
):
    await _write(demo_db, 5)
    ok = await asyncio.to_thread(_cli, demo_database_url)
    assert ok.returncode == 0, ok.stderr
    assert "audit chain OK" in ok.stdout
    async with demo_db() as s:
        victim = await s.scalar(text(f"SELECT id FROM {table} ORDER BY id OFFSET 2 LIMIT 1"))
        seq = await s.scalar(
            text("SELECT seq FROM audit_chain WHERE source = :src AND source_id = :id"),
            {"src": 0 if table == "audit_log" else 1, "id": victim},
        )
    conn = await asyncpg.connect(_dsn(demo_database_url))
    try:
        async with conn.transaction():
            trigger = f"{table}_append_only"
            await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
            await conn.execute(tamper.format(id=victim))
            await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    finally:
        await conn.close()
    broken = await asyncio.to_thread(_cli, demo_database_url)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"BROKEN at link {seq}: {table} id {victim}:" in broken.stderr, broken.stderr
    result = await audit.verify(demo_db)
    assert result.broken is not None and (result.broken.seq, result.broken.source, result.broken.record_id) == (
        seq,
        table,
        victim,
    )
    assert result.records == seq - 1


async def test_concurrent_writers_and_sealers_leave_one_chain_that_verifies(database_url):
    engine = make_engine(database_url, pool_size=20)
    db = make_sessionmaker(engine)
    try:
        done = asyncio.Event()

        async def writer(w: int) -> None:
            for i in range(30):
                async with db.begin() as s:
                    await write_audit(s, ACTOR, "test.write", "ok", target=f"w{w}:{i}")
                    await write_audit(s, ACTOR, "test.write", "ok", target=f"w{w}:{i}b")

        async def sealer() -> None:
            while not done.is_set():
                await audit.seal(db)
                await asyncio.sleep(0)

        sealers = [asyncio.create_task(sealer()) for _ in range(3)]
        await asyncio.gather(*(writer(w) for w in range(12)))
        done.set()
        await asyncio.gather(*sealers)
        result = await audit.verify(db)
        assert result.ok, result
        assert result.records == 12 * 30 * 2
        async with db() as s:
            links = await s.scalar(text("SELECT count(DISTINCT source_id) FROM audit_chain WHERE source = 0"))
        assert links == 12 * 30 * 2
    finally:
        await engine.dispose()


async def test_a_record_whose_transaction_is_still_open_is_sealed_only_after_it_commits(db, database_url):
    """The horizon: a record of a transaction older than the sealer's snapshot cannot be chained behind
    a later one (it would be missing from a verified prefix)."""
    await _write(db, 1, tag="first")
    conn = await asyncpg.connect(_dsn(database_url))
    try:
        tx = conn.transaction()
        await tx.start()
        await conn.execute(
            "INSERT INTO audit_log (username, action, outcome, target) VALUES ('slow', 'test.write', 'ok', 'slow')"
        )
        await _write(db, 1, tag="later")
        await audit.seal(db)
        async with db() as s:
            sealed = (
                (
                    await s.execute(
                        text("SELECT a.target FROM audit_chain c JOIN audit_log a ON a.id = c.source_id ORDER BY seq")
                    )
                )
                .scalars()
                .all()
            )
        assert sealed == ["first:0"]  # "later" waits behind the open transaction
        await tx.commit()
    finally:
        await conn.close()
    await audit.seal(db)
    async with db() as s:
        sealed = (
            (
                await s.execute(
                    text("SELECT a.target FROM audit_chain c JOIN audit_log a ON a.id = c.source_id ORDER BY seq")
                )
            )
            .scalars()
            .all()
        )
    assert sealed == ["first:0", "slow", "later:0"]
    assert (await audit.verify(db)).ok


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "aa": 2, "a": [1, 2.50, None, True]},
        {"ü": "straße", "zz": 'tab\there "quoted" back\\slash', "ctl": "\x01\x1f", "e": {}},
        ["x", {"long key": 1, "k": {"y": False}}],
        "emoji 🧪 and 中文",
    ],
)
async def test_the_documented_encoding_is_what_postgresql_prints(db, value):
    async with db() as s:
        printed = await s.scalar(text("SELECT CAST(:v AS jsonb)::text"), {"v": json.dumps(value)})
    assert jsonb_text(json.loads(json.dumps(value), parse_float=Decimal)) == printed


AUDIT_ARRAY = """jsonb_build_array('audit', a.id,
    to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), a.user_id, a.username, a.api_key_id,
    a.device_id, a.action, a.target, a.outcome, a.reason, a.detail, a.before, a.after, a.signer_name,
    a.signature_meaning)::text"""
LEDGER_ARRAY = """jsonb_build_array('ledger', l.id,
    to_char(l.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), l.movement, l.item_id, l.lot_id,
    l.serial_id, l.quantity, l.from_location_id, l.from_container_id, l.from_status, l.to_location_id,
    l.to_container_id, l.to_status, l.user_id, l.api_key_id, l.device_id, l.reason, l.document_type, l.document_id,
    l.event_id)::text"""


async def test_the_record_functions_print_exactly_the_jsonb_array_of_the_record(demo_db):
    """``udipick_audit_record`` / ``udipick_ledger_record`` concatenate for speed; the text must be the
    jsonb array's, which docs/audit.md specifies."""
    async with demo_db.begin() as s:
        await write_audit(
            s,
            ACTOR,
            'test."quoted"',
            "ok",
            target="tab\there ü 中 \x01 back\\slash",
            reason=None,
            detail={"b": 1, "aa": [1.5, None, True], "ü": {"z": "y"}},
            before={},
        )
    async with demo_db() as s:
        differ = await s.scalar(text(f"SELECT count(*) FROM audit_log a WHERE {audit.AUDIT_RECORD} <> {AUDIT_ARRAY}"))
        ledger_differ = await s.scalar(
            text(f"SELECT count(*) FROM stock_ledger l WHERE {audit.LEDGER_RECORD} <> {LEDGER_ARRAY}")
        )
        counted = (
            await s.scalar(text("SELECT count(*) FROM audit_log")),
            await s.scalar(text("SELECT count(*) FROM stock_ledger")),
        )
    assert (differ, ledger_differ) == (0, 0)
    assert all(counted)


async def test_an_auditor_recomputes_the_exported_chain_without_the_database(client, demo_db):
    from tests.conftest import login

    await _write(demo_db, 3)
    admin = await login(client, "admin")
    r = await client.get(
        "/api/v1/admin/audit", params={"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}, headers=admin
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line, parse_float=Decimal) for line in r.text.splitlines()]
    async with demo_db() as s:
        head = await s.scalar(text("SELECT max(seq) FROM audit_chain"))
    assert len(lines) == head > 3
    links = [
        (
            x["seq"],
            bytes.fromhex(x["prevHash"]),
            bytes.fromhex(x["hash"]),
            canonical(x["record"][0], _named(x["record"])),
        )
        for x in lines
    ]
    assert first_break(links) is None
    assert lines[0]["prevHash"] == GENESIS.hex()
    assert link_hash(links[-1][1], links[-1][0], links[-1][3]).hex() == lines[-1]["hash"]
    # one changed field breaks the link it is in
    seq, prev, digest, body = links[2]
    links[2] = (seq, prev, digest, body.replace('"ok"', '"denied"', 1) if '"ok"' in body else body + " ")
    assert first_break(links) == links[2][0]
    # the verify endpoint agrees
    r = await client.get("/api/v1/admin/audit/verify", headers=admin)
    assert r.status_code == 200 and r.json()["ok"] is True and r.json()["records"] == head


def _named(record: list) -> dict:
    from udipick.domain.audit import FIELDS

    return dict(zip(FIELDS[record[0]], record[1:], strict=True))
