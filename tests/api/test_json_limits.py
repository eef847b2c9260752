"""JSON from outside is bounded: nesting depth on every JSON body, body size per route, line size in bulk loads.

Deep JSON used to reach msgspec's recursive decoder and come back as a 500, before sign-in; in a bulk
load one such line turned the whole answer into a 500 "nothing was changed" after 5,000 lines had
been committed, and dropped the valid line after it.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.conftest import login
from tests.conftest import test_settings as settings_for_test
from udipick.db.models import Item
from udipick.domain.gs1_numbers import gs1_check_digit

NDJSON = {"content-type": "application/x-ndjson"}
DEEP = "[" * 1000 + "]" * 1000


def _item(n: int) -> dict:
    gtin = f"479{n:09d}"
    return {
        "erpId": f"LIM-{n}",
        "version": 1,
        "gtin": gtin + str(gs1_check_digit(gtin)),
        "name": f"Item {n}",
        "baseUnit": "EA",
    }


@pytest.fixture
async def admin(client):
    return await login(client, "admin")


async def test_deep_json_before_sign_in_is_a_400_problem_naming_the_limit(client):
    r = await client.post("/api/v1/auth/login", content=DEEP, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "json-too-deep"
    assert problem["maxDepth"] == 64
    assert "64" in problem["detail"]


async def test_deep_json_inside_a_field_is_refused_on_a_typed_route_too(client, admin):
    body = '{"raw": "0104006381333931", "extra": ' + DEEP + "}"
    r = await client.post(
        "/api/v1/scans/interpret", content=body, headers={**admin, "content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["code"] == "json-too-deep"


async def test_json_at_the_depth_limit_is_decoded_and_one_deeper_is_not(client, admin):
    def body(depth: int) -> str:  # the object itself is one level
        return '{"raw": "0104006381333931", "extra": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"

    r = await client.post(
        "/api/v1/scans/interpret", content=body(64), headers={**admin, "content-type": "application/json"}
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        "/api/v1/scans/interpret", content=body(65), headers={**admin, "content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["code"] == "json-too-deep"


async def test_a_json_body_over_the_limit_is_a_413_problem_naming_it(client):
    body = json.dumps({"username": "admin", "password": "x" * (1 << 20), "deviceId": "d"})
    r = await client.post("/api/v1/auth/login", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert (r.json()["code"], r.json()["maxBytes"]) == ("body-too-large", 1 << 20)


async def test_a_deep_line_in_a_bulk_load_is_refused_by_number_and_every_other_line_is_answered(client, admin, demo_db):
    # 5,000 lines fill the first slice, which is written before the deep line is read
    lines = [json.dumps(_item(n)) for n in range(1, 5001)]
    lines.append('{"erpId": "LIM-DEEP", "version": 1, "comment": ' + DEEP + "}")
    lines.append(json.dumps(_item(5002)))
    r = await client.post("/api/v1/erp/items/bulk", content="\n".join(lines).encode(), headers={**admin, **NDJSON})

    assert r.status_code == 200, r.text[:500]
    summary = r.json()
    assert (summary["received"], summary["created"], summary["updated"], summary["unchanged"], summary["refused"]) == (
        5002,
        5001,
        0,
        0,
        1,
    )
    [problem] = summary["problems"]
    assert (problem["line"], problem["code"], problem["status"], problem["pointer"], problem["maxDepth"]) == (
        5001,
        "json-too-deep",
        400,
        "",
        64,
    )
    results = summary["results"]
    assert [x["line"] for x in results] == [*range(1, 5001), 5002]
    assert {x["status"] for x in results} == {"created"}
    assert results[-1]["key"] == "LIM-5002"
    async with demo_db() as s:
        assert await s.scalar(select(func.count()).select_from(Item).where(Item.erp_id.like("LIM-%"))) == 5001
        assert await s.scalar(select(Item.id).where(Item.erp_id == "LIM-5002")) == results[-1]["id"]


async def test_a_line_over_the_line_limit_is_refused_by_number_and_the_lines_around_it_are_stored(
    client, admin, demo_db
):
    huge = json.dumps({**_item(2), "name": "x" * (2 << 20)})
    body = "\n".join([json.dumps(_item(1)), huge, json.dumps(_item(3)), ""]).encode()
    r = await client.post("/api/v1/erp/items/bulk", content=body, headers={**admin, **NDJSON})

    assert r.status_code == 200, r.text[:500]
    summary = r.json()
    assert (summary["received"], summary["created"], summary["refused"]) == (3, 2, 1)
    [problem] = summary["problems"]
    assert (problem["line"], problem["code"], problem["status"], problem["maxLineBytes"], problem["lineBytes"]) == (
        2,
        "line-too-long",
        413,
        1 << 20,
        len(huge),
    )
    assert [(x["line"], x["key"]) for x in summary["results"]] == [(1, "LIM-1"), (3, "LIM-3")]
    async with demo_db() as s:
        stored = (await s.scalars(select(Item.erp_id).where(Item.erp_id.like("LIM-%")).order_by(Item.erp_id))).all()
    assert stored == ["LIM-1", "LIM-3"]


async def test_a_replayed_bulk_load_answers_each_line_unchanged_with_its_id(client, admin):
    body = "\n".join(json.dumps(_item(n)) for n in (1, 2)).encode()
    first = (await client.post("/api/v1/erp/items/bulk", content=body, headers={**admin, **NDJSON})).json()
    again = (await client.post("/api/v1/erp/items/bulk", content=body, headers={**admin, **NDJSON})).json()
    assert [(x["line"], x["status"]) for x in again["results"]] == [(1, "unchanged"), (2, "unchanged")]
    assert [x["id"] for x in again["results"]] == [x["id"] for x in first["results"]]


async def test_a_database_fault_part_way_through_a_bulk_load_says_what_was_stored(client, admin, demo_db):
    """Not "nothing was changed": the first slice is committed, and the answer lists it line by line."""
    from sqlalchemy import text

    async with demo_db.begin() as s:  # a real fault in PostgreSQL, for one record only
        await s.execute(
            text(
                "CREATE FUNCTION test_refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " IF NEW.erp_id = 'LIM-5001' THEN RAISE EXCEPTION 'disk on fire'; END IF; RETURN NEW; END $$"
            )
        )
        await s.execute(
            text(
                "CREATE TRIGGER test_refuse_boom BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION test_refuse_boom()"
            )
        )
    body = "\n".join(json.dumps(_item(n)) for n in range(1, 5003)).encode()
    r = await client.post("/api/v1/erp/items/bulk", content=body, headers={**admin, **NDJSON})

    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "bulk-interrupted"
    assert (problem["uncertainFromLine"], problem["uncertainToLine"]) == (5001, 5002)
    assert "nothing was changed" not in problem["detail"]
    assert (problem["received"], problem["created"]) == (5002, 5000)
    assert [x["line"] for x in problem["results"]] == list(range(1, 5001))
    async with demo_db() as s:
        assert await s.scalar(select(func.count()).select_from(Item).where(Item.erp_id.like("LIM-%"))) == 5000


async def test_a_bulk_body_over_its_limit_is_a_413_problem(demo_database_url):
    from litestar.testing import AsyncTestClient

    from udipick.api.app import create_app

    app = create_app(settings_for_test(bulk_max_body_bytes=4096), database_url=demo_database_url)
    async with AsyncTestClient(app=app) as c:
        admin = await login(c, "admin")
        body = "\n".join(json.dumps(_item(n)) for n in range(1, 100)).encode()
        assert len(body) > 4096
        r = await c.post("/api/v1/erp/items/bulk", content=body, headers={**admin, **NDJSON})
    assert r.status_code == 413
    problem = r.json()
    assert (problem["code"], problem["maxBytes"], problem["received"], problem["created"]) == (
        "body-too-large",
        4096,
        0,
        0,
    )


async def test_a_bulk_body_that_passes_its_limit_while_streaming_keeps_and_answers_the_lines_read(
    demo_database_url, demo_db
):
    import httpx

    from udipick.api.app import create_app

    app = create_app(settings_for_test(bulk_max_body_bytes=4096), database_url=demo_database_url)
    lines = [json.dumps(_item(n)).encode() + b"\n" for n in range(1, 100)]
    fits = max(n for n in range(len(lines) + 1) if sum(map(len, lines[:n])) <= 4096)

    async def chunks():  # one ASGI message per line and no content-length: the limit is met part-way through
        for line in lines:
            yield line

    # httpx's ASGI transport hands the app each chunk of the body as its own message, in this event loop
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c,
    ):
        admin = await login(c, "admin")
        r = await c.post("/api/v1/erp/items/bulk", content=chunks(), headers={**admin, **NDJSON})
    assert r.status_code == 413
    problem = r.json()
    assert (problem["code"], problem["lastLineRead"], problem["received"], problem["created"]) == (
        "body-too-large",
        fits,
        fits,
        fits,
    )
    assert [x["line"] for x in problem["results"]] == list(range(1, fits + 1))
    async with demo_db() as s:
        assert await s.scalar(select(func.count()).select_from(Item).where(Item.erp_id.like("LIM-%"))) == fits


@pytest.mark.parametrize("kind", ["items", "sales-orders"])
async def test_a_value_postgresql_cannot_store_is_refused_on_its_line_and_the_rest_is_stored(
    client, admin, demo_db, kind
):
    if kind == "items":
        records = [_item(1), {**_item(2), "name": "nul \u0000 inside"}, _item(3)]
    else:
        order = {
            "version": 1,
            "customer": "CUST-RIVER",
            "shipTo": {"name": "Ward 3"},
            "lines": [{"lineNo": 1, "item": "SYR-10ML", "quantity": 1}],
        }
        records = [{**order, "erpId": f"SO-LIM-{n}", "number": f"SO-LIM-{n}"} for n in (1, 2, 3)]
        records[1]["shipTo"] = {"name": "Ward \u0000 3"}
    body = "\n".join(json.dumps(r) for r in records).encode()
    r = await client.post(f"/api/v1/erp/{kind}/bulk", content=body, headers={**admin, **NDJSON})
    assert r.status_code == 200, r.text[:500]
    summary = r.json()
    assert (summary["received"], summary["created"], summary["refused"]) == (3, 2, 1)
    [problem] = summary["problems"]
    assert (problem["line"], problem["code"]) == (2, "invalid-record")
    assert [x["line"] for x in summary["results"]] == [1, 3]


async def test_deep_json_in_a_label_previews_data_parameter_is_a_400_problem(client, admin):
    r = await client.get("/api/v1/labels/item/preview.png", params={"data": DEEP}, headers=admin)
    assert r.status_code == 400
    assert (r.json()["code"], r.json()["field"], r.json()["maxDepth"]) == ("json-too-deep", "data", 64)
