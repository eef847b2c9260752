"""Cold-chain temperature readings: a sensor gateway posts batches (API key scope ``sensors:write``),
a retry stores nothing twice, bad input is an RFC 9457 problem, the database refuses to change or
delete a reading, and QA reads a location's readings of a period (NDJSON, CSV, page)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.conftest import login
from udipick.services.identity import add_api_key

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def reading(minutes: int, c: float, *, sensor: str = "TS-COLD-01", location: str = "COLD-01") -> dict:
    return {
        "sensor": sensor,
        "location": location,
        "at": (T0 + dt.timedelta(minutes=minutes)).isoformat(),
        "temperatureC": c,
    }


@pytest.fixture
async def sensor(demo_db):
    return {"Authorization": f"Bearer {await add_api_key(demo_db, 'cold-room-gateway', ['sensors:write'])}"}


async def test_a_batch_is_stored_once_and_flagged_against_the_items_range(client, demo_db, sensor):
    # COLD-01 holds pen needles kept at 2–8 °C (demo opening stock): 8.6 °C is out of range
    batch = {"readings": [reading(0, 4.2), reading(5, 8.6), reading(0, 20.0, sensor="TS-AMB-01", location="A-01-01")]}
    r = await client.post("/api/v1/gsp/temperatures", json=batch, headers=sensor)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["stored"], answer["alreadyStored"], answer["conflicts"]) == (3, 0, [])
    assert [(x["sensor"], x["temperatureC"], x["minC"], x["maxC"]) for x in answer["outOfRange"]] == [
        ("TS-COLD-01", 8.6, 2.0, 8.0)
    ]

    # the gateway did not get the answer and sends the batch again: nothing is stored twice
    r = await client.post("/api/v1/gsp/temperatures", json=batch, headers=sensor)
    assert r.status_code == 200 and (r.json()["stored"], r.json()["alreadyStored"]) == (0, 3)
    # the excursion is an event for QA and the ERP, once
    async with demo_db() as s:
        events = (
            (await s.execute(text("SELECT data FROM outbox_events WHERE type = 'coldchain.excursion-recorded.v1'")))
            .scalars()
            .all()
        )
    assert events == [
        {"location": "COLD-01", "sensor": "TS-COLD-01", "measuredAt": "2026-03-01T08:05:00+08:00",
         "temperatureC": 8.6, "minC": 2.0, "maxC": 8.0}
    ]  # fmt: skip
    # the same (sensor, time) with another value is never overwritten: reported as a conflict
    r = await client.post(
        "/api/v1/gsp/temperatures", json={"readings": [reading(5, 5.0), reading(10, 5.1)]}, headers=sensor
    )
    assert (r.json()["stored"], r.json()["alreadyStored"]) == (1, 0)
    assert [(c["sensor"], c["temperatureC"]) for c in r.json()["conflicts"]] == [("TS-COLD-01", 5.0)]
    async with demo_db() as s:
        assert (await s.execute(text("SELECT count(*), max(temperature_c) FILTER (WHERE measured_at = :t) FROM cold_chain_readings WHERE sensor = 'TS-COLD-01'"), {"t": T0 + dt.timedelta(minutes=5)})).one() == (3, Decimal("8.60"))  # fmt: skip

    qa = await login(client, "qa")
    r = await client.get("/api/v1/gsp/temperatures", params={"from": "2026-03-01", "to": "2026-03-01", "location": "COLD-01"}, headers=qa)  # fmt: skip
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert [
        (x["location"], x["sensor"], x["measuredAt"], x["temperatureC"], x["minC"], x["maxC"], x["outOfRange"])
        for x in lines
    ] == [  # fmt: skip
        ("COLD-01", "TS-COLD-01", "2026-03-01T08:00:00+08:00", 4.2, 2.0, 8.0, False),
        ("COLD-01", "TS-COLD-01", "2026-03-01T08:05:00+08:00", 8.6, 2.0, 8.0, True),
        ("COLD-01", "TS-COLD-01", "2026-03-01T08:10:00+08:00", 5.1, 2.0, 8.0, False),
    ]
    assert all(x["warehouse"] == "MAIN" for x in lines)
    # the ambient location holds no item with a range: nothing to be out of
    every = await client.get("/api/v1/gsp/temperatures", params={"from": "2026-03-01", "to": "2026-03-01"}, headers=qa)
    ambient = [json.loads(x) for x in every.text.splitlines() if '"A-01-01"' in x]
    assert [(x["minC"], x["maxC"], x["outOfRange"]) for x in ambient] == [(None, None, False)]

    r = await client.get("/api/v1/gsp/temperatures", params={"from": "2026-03-01", "to": "2026-03-01", "location": "COLD-01", "format": "csv"}, headers=qa)  # fmt: skip
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["仓库", "库位", "传感器", "测量时间", "温度(°C)", "下限(°C)", "上限(°C)", "超出范围", "接收时间"]
    assert [row[:8] for row in rows[1:]] == [
        ["MAIN", "COLD-01", "TS-COLD-01", "2026-03-01 08:00:00", "4.2", "2", "8", "否"],
        ["MAIN", "COLD-01", "TS-COLD-01", "2026-03-01 08:05:00", "8.6", "2", "8", "是"],
        ["MAIN", "COLD-01", "TS-COLD-01", "2026-03-01 08:10:00", "5.1", "2", "8", "否"],
    ]
    # the day before, in Shanghai time, holds none of them
    r = await client.get("/api/v1/gsp/temperatures", params={"from": "2026-02-28", "to": "2026-02-28"}, headers=qa)
    assert r.text == ""


async def test_readings_cannot_be_changed_or_deleted(client, demo_db, sensor):
    r = await client.post("/api/v1/gsp/temperatures", json={"readings": [reading(0, 4.2)]}, headers=sensor)
    assert r.status_code == 200
    for sql in (
        "UPDATE cold_chain_readings SET temperature_c = 5",
        "DELETE FROM cold_chain_readings",
        "TRUNCATE cold_chain_readings",
    ):
        async with demo_db() as s:
            with pytest.raises(Exception, match="cold_chain_readings is append-only"):
                await s.execute(text(sql))
            await s.rollback()


@pytest.mark.parametrize(
    ("body", "status", "pointer"),
    [
        ({"readings": [reading(0, 4.2, location="NOWHERE")]}, 422, "/readings/0/location"),
        ({"readings": [{**reading(0, 4.2), "at": "2026-03-01T08:00:00"}]}, 400, None),  # no UTC offset
        ({"readings": [reading(0, 400.0)]}, 400, None),
        ({"readings": []}, 400, None),
        ({"readings": [{**reading(0, 4.2), "humidity": 40}]}, 400, None),
        ({"readings": [reading(0, 4.2), {**reading(0, 4.2), "at": "2099-01-01T00:00:00Z"}]}, 422, "/readings/1/at"),
    ],
)
async def test_bad_readings_are_refused_as_problems(client, demo_db, sensor, body, status, pointer):
    r = await client.post("/api/v1/gsp/temperatures", json=body, headers=sensor)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if pointer:
        assert r.json()["pointer"] == pointer
    async with demo_db() as s:
        assert await s.scalar(text("SELECT count(*) FROM cold_chain_readings")) == 0


async def test_only_a_sensor_key_posts_and_only_qa_and_supervisors_read(client, demo_db, sensor):
    erp = {"Authorization": f"Bearer {await add_api_key(demo_db, 'erp', ['erp:write', 'erp:read'])}"}
    body = {"readings": [reading(0, 4.2)]}
    assert (await client.post("/api/v1/gsp/temperatures", json=body, headers=erp)).status_code == 403
    assert (
        await client.post("/api/v1/gsp/temperatures", json=body, headers=await login(client, "qa"))
    ).status_code == 403
    assert (await client.get("/api/v1/gsp/temperatures", headers=sensor)).status_code == 403
    assert (await client.get("/api/v1/gsp/temperatures", headers=await login(client, "picker"))).status_code == 403
    r = await client.get(
        "/api/v1/gsp/temperatures", params={"location": "NOWHERE"}, headers=await login(client, "supervisor")
    )
    assert r.status_code == 404 and r.json()["location"] == "NOWHERE"
