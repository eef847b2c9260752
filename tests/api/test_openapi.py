"""The OpenAPI document states every answer: success schemas, and problem responses from one rule.

The walk reads the document the app serves at ``/schema/openapi.json`` (``app.openapi_schema.to_schema()``,
so no database is needed); the flows then check that what the server really sends is what the
document says, status by status, with the document's own JSON Schemas.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
from jsonschema import Draft202012Validator

from tests import conftest
from tests.api.test_erp_inbound import ITEM
from tests.api.test_packing import PEN, pick_order
from tests.api.test_picking import GLOVE_BOX, SYR, gs1, lot_expiry
from tests.api.test_replenishment import big_wave, mover, planned, reserve_stocked, sup  # noqa: F401  (fixtures)
from tests.conftest import login
from udipick.api.app import create_app
from udipick.api.openapi import problem_statuses
from udipick.api.problems import HANDLER_CODES
from udipick.domain import errors as e
from udipick.services.picking import PickAccepted

#: operations whose success answer is an untyped object (``dict[str, Any]``): none. A new operation declares
#: its answer's type instead of joining this list.
UNTYPED: set[tuple[str, str]] = set()
PROBLEM = {"$ref": "#/components/schemas/Problem"}
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document() -> dict:
    return create_app(
        conftest.test_settings(), database_url="postgresql://unused@127.0.0.1/unused"
    ).openapi_schema.to_schema()


def _operations(app):
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not handler.resolve_include_in_schema():
                continue
            for method in handler.http_methods - {"OPTIONS"}:
                yield method, route.path_format, handler, bool(route.path_parameters)


def _untyped(schema: dict) -> bool:
    """``{}``, an object of anything, or a list of either: what ``Response`` and ``dict[str, Any]`` document."""
    if schema.get("type") == "array":
        return _untyped(schema.get("items", {}))
    return schema == {} or (schema.get("type") == "object" and not schema.get("properties") and "$ref" not in schema)


def test_every_operation_documents_its_success_and_its_problem_responses(document):
    app = create_app(conftest.test_settings(), database_url="postgresql://unused@127.0.0.1/unused")
    walked = 0
    for method, path, handler, has_path_parameters in _operations(app):
        op = document["paths"][path][method.lower()]
        responses = op["responses"]
        success = [s for s in responses if s.startswith("2")]
        assert success, (method, path)
        for status in success:
            if status == "204":
                assert not responses[status].get("content"), (method, path)
                continue
            # one media type, or several the same parameters choose between (the stock snapshot: NDJSON or CSV)
            for media, body in responses[status]["content"].items():
                assert "schema" in body, (method, path, status, media)
        rule = handler.opt["access"]
        expected = {400, 401, 403, 422} if not rule.public else set()
        if has_path_parameters:
            expected.add(404)
        if method in ("POST", "PUT", "PATCH", "DELETE") and not rule.public:
            expected |= {404, 409}
        problems = {int(s) if s.isdigit() else s for s in responses if not s.startswith("2")}
        assert problems >= expected | {"4XX", "5XX"}, (method, path, sorted(map(str, expected - problems)))
        for status in problems:
            assert responses[str(status)]["content"] == {"application/problem+json": {"schema": PROBLEM}}, (
                method,
                path,
                status,
            )
            assert responses[str(status)]["description"], (method, path, status)
        walked += 1
    assert walked == sum(1 for ops in document["paths"].values() for m in ops if m in METHODS) > 60


def test_the_problem_rule_as_a_table():
    assert problem_statuses("GET", public=False, path_parameters=False, takes_input=False) == [
        400,
        401,
        403,
        422,
        "4XX",
        "5XX",
    ]
    assert problem_statuses("GET", public=False, path_parameters=True, takes_input=False) == [
        400,
        401,
        403,
        404,
        422,
        "4XX",
        "5XX",
    ]
    assert problem_statuses("POST", public=False, path_parameters=False, takes_input=True) == [
        400,
        401,
        403,
        404,
        409,
        422,
        "4XX",
        "5XX",
    ]
    assert problem_statuses("DELETE", public=False, path_parameters=True, takes_input=False) == [
        400,
        401,
        403,
        404,
        409,
        422,
        "4XX",
        "5XX",
    ]
    assert problem_statuses("GET", public=True, path_parameters=False, takes_input=False) == ["4XX", "5XX"]
    assert problem_statuses("POST", public=True, path_parameters=False, takes_input=True) == [400, 422, "4XX", "5XX"]


def test_the_problem_schema_names_every_code_and_leaves_room_for_the_facts(document):
    problem = document["components"]["schemas"]["Problem"]
    assert problem["required"] == ["status", "title", "type"]
    assert problem["additionalProperties"] == {}

    def codes(cls: type[e.DomainError]) -> set[str]:
        return {cls.code}.union(*(codes(sub) for sub in cls.__subclasses__()))

    assert set(problem["properties"]["code"]["enum"]) == codes(e.DomainError) | set(HANDLER_CODES)


def test_success_answers_are_typed_except_the_listed_ones(document):
    untyped = set()
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                for media, body in (response.get("content") or {}).items() if status.startswith("2") else ():
                    # JSON in any of its dresses: plain, one document a line (NDJSON), JSON-LD
                    json_like = media in ("application/json", "application/x-ndjson") or media.endswith("+json")
                    if json_like and _untyped(body["schema"]):
                        untyped.add((method.upper(), path))
    assert untyped <= UNTYPED, f"declare the answer's type (a msgspec Struct) for {sorted(untyped - UNTYPED)}"


# ---- what the server sends is what the document says -----------------------------------------------


class Conformance:
    """Checks answers against the document: the status is documented, the media type and the body match."""

    def __init__(self, document: dict) -> None:
        self.document = document
        self.seen: set[tuple[str, str, int]] = set()

    def __call__(self, response, template: str):
        method = response.request.method
        path = response.request.url.path
        parts = re.split(r"(\{[^}]+\})", template)
        pattern = "^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$"
        assert re.match(pattern, path), (path, template)
        documented = self.document["paths"][template][method.lower()]["responses"]
        status = str(response.status_code)
        assert status in documented, (
            f"{method} {template} answered {status}, documented: {sorted(documented)}: {response.text}"
        )
        content = documented[status].get("content")
        if not content:
            assert not response.content, (method, template, status)
            return response
        media = response.headers["content-type"].split(";")[0]
        assert media in content, (method, template, status, media, sorted(content))
        schema = {**content[media]["schema"], "components": self.document["components"]}
        if media == "application/x-ndjson":  # the schema is each line's
            bodies = [json.loads(line) for line in response.text.splitlines()]
        elif media.startswith("text/"):
            bodies = [response.text]
        else:
            bodies = [response.json()]
        for body in bodies:
            errors = [
                f"{'/'.join(map(str, x.absolute_path))}: {x.message}"
                for x in Draft202012Validator(schema).iter_errors(body)
            ]
            assert not errors, (method, template, status, errors, response.text)
        self.seen.add((method, template, response.status_code))
        return response


@pytest.fixture
def conforms(document) -> Conformance:
    return Conformance(document)


async def test_replenishment_and_hold_answers_are_what_the_document_says(client, planned, mover, sup, conforms):  # noqa: F811
    (task,) = planned["tasks"]
    tasks = "/api/v1/replenishment/tasks"
    conforms(await client.get(tasks, headers=mover), tasks)
    conforms(await client.post("/api/v1/replenishment/plan", json={}, headers=sup), "/api/v1/replenishment/plan")

    confirm = tasks + "/{task_id}/confirm"
    body = {
        "clientScanId": str(uuid.uuid4()),
        "fromLocationRaw": task["from"]["barcode"],
        "raw": gs1(SYR, task["lot"], dt.date.fromisoformat(task["expiry"])),
        "toLocationRaw": task["to"]["barcode"],
        "quantity": 10,
    }
    moved = conforms(await client.post(f"{tasks}/{task['taskId']}/confirm", json=body, headers=mover), confirm)
    assert moved.status_code == 200 and moved.json()["taskStatus"] == "open"
    replayed = conforms(await client.post(f"{tasks}/{task['taskId']}/confirm", json=body, headers=mover), confirm)
    assert replayed.headers["idempotent-replayed"] == "true" and replayed.json() == moved.json()
    wrong = {**body, "clientScanId": str(uuid.uuid4()), "toLocationRaw": task["from"]["barcode"]}
    assert (
        conforms(await client.post(f"{tasks}/{task['taskId']}/confirm", json=wrong, headers=mover), confirm).status_code
        == 409
    )

    cancel = tasks + "/{task_id}/cancel"
    cancelled = conforms(
        await client.post(f"{tasks}/{task['taskId']}/cancel", json={"reason": "face refilled"}, headers=sup), cancel
    )
    assert cancelled.json()["released"] == 60 and cancelled.json()["status"] == "cancelled"
    assert (
        conforms(
            await client.post(f"{tasks}/{task['taskId']}/cancel", json={"reason": "again"}, headers=sup), cancel
        ).status_code
        == 409
    )
    assert (
        conforms(
            await client.post(f"{tasks}/999999/cancel", json={"reason": "nothing"}, headers=sup), cancel
        ).status_code
        == 404
    )
    assert (
        conforms(
            await client.post(f"{tasks}/{task['taskId']}/cancel", json={"reason": 1}, headers=sup), cancel
        ).status_code
        == 400
    )
    assert (
        conforms(
            await client.post(f"{tasks}/{task['taskId']}/cancel", json={"reason": "x y"}, headers=mover), cancel
        ).status_code
        == 403
    )
    assert (
        conforms(await client.post(f"{tasks}/{task['taskId']}/cancel", json={"reason": "x y"}), cancel).status_code
        == 401
    )

    holds = "/api/v1/holds"
    qa = await login(client, "qa")
    placed = conforms(
        await client.post(holds, json={"scope": "location", "location": "R-01-01", "reason": "leak"}, headers=qa), holds
    )
    assert placed.status_code == 201 and placed.json()["active"] is True
    missing = conforms(
        await client.post(holds, json={"scope": "lot", "item": "SYR-10ML", "reason": "x"}, headers=qa), holds
    )
    assert missing.status_code == 422 and missing.json()["pointer"] == "/lot"
    conforms(await client.get(holds, headers=mover), holds)
    release = holds + "/{hold_id}/release"
    hold_id = placed.json()["holdId"]
    refused = conforms(
        await client.post(f"{holds}/{hold_id}/release", json={"reason": "ok", "password": "wrong"}, headers=qa), release
    )
    assert refused.status_code == 403
    released = conforms(
        await client.post(f"{holds}/{hold_id}/release", json={"reason": "ok", "password": "qa-demo"}, headers=qa),
        release,
    )
    assert released.status_code == 200 and released.json()["active"] is False and released.json()["releasedBy"] == "qa"
    assert (
        conforms(
            await client.post(f"{holds}/{hold_id}/release", json={"reason": "ok", "password": "qa-demo"}, headers=qa),
            release,
        ).status_code
        == 409
    )
    assert {status for _, _, status in conforms.seen} == {200, 201, 400, 401, 403, 404, 409, 422}


async def test_packing_shipping_and_counting_answers_are_what_the_document_says(client, conforms):
    supervisor = await login(client, "supervisor")
    picker = await login(client, "picker")
    assert (await client.post("/api/v1/waves", json={"orders": ["SO-5002"]}, headers=supervisor)).status_code == 201
    await pick_order(client, picker, "SO-5002")

    packages = "/api/v1/packing/packages"
    opened = conforms(await client.post(packages, json={"order": "SO-5002"}, headers=picker), packages)
    sscc = opened.json()["sscc"]
    scans = packages + "/{sscc}/scans"
    for raw, times in ((gs1(GLOVE_BOX, "GL-77-01"), 2), (gs1(PEN, "PN3001"), 10), (gs1(SYR, "SY2405B"), 10)):
        for _ in range(times):
            packed = conforms(
                await client.post(
                    f"{packages}/{sscc}/scans", json={"clientScanId": str(uuid.uuid4()), "raw": raw}, headers=picker
                ),
                scans,
            )
            assert packed.status_code == 200, packed.text
    assert packed.json()["orderUnitsToPack"] == 0 and packed.json()["serial"] is None
    over = {"clientScanId": str(uuid.uuid4()), "raw": gs1(SYR, "SY2405B")}
    assert conforms(await client.post(f"{packages}/{sscc}/scans", json=over, headers=picker), scans).status_code == 409
    closed = conforms(await client.post(f"{packages}/{sscc}/close", headers=picker), packages + "/{sscc}/close")
    assert closed.status_code == 200 and closed.json()["contents"][0]["expiry"]
    shipped = conforms(
        await client.post("/api/v1/shipments", json={"order": "SO-5002"}, headers=picker), "/api/v1/shipments"
    )
    assert shipped.status_code == 200 and shipped.json()["ssccs"] == [sscc]

    counted = conforms(
        await client.post(
            "/api/v1/counts",
            json={
                "clientScanId": str(uuid.uuid4()),
                "location": "A-02-01",
                "item": "GLOVE-NIT-M",
                "lines": [{"lot": "GL-77-01", "quantity": 1}],
            },
            headers=picker,
        ),
        "/api/v1/counts",
    )
    assert counted.status_code == 200 and counted.json()["lines"][0]["counted"] == 1
    unknown = conforms(
        await client.post(
            "/api/v1/counts",
            json={"clientScanId": str(uuid.uuid4()), "location": "NOWHERE", "item": "GLOVE-NIT-M"},
            headers=picker,
        ),
        "/api/v1/counts",
    )
    assert unknown.status_code == 404


async def test_erp_outbound_and_health_answers_are_what_the_document_says(client, demo_db, conforms):
    """NDJSON is checked line by line against its schema, CSV as text, EPCIS JSON-LD as a document."""
    from tests.outbox.test_pull import _demo_events
    from udipick.services.identity import add_api_key

    await _demo_events(demo_db)
    erp = {"Authorization": f"Bearer {await add_api_key(demo_db, 'erp-pull', ['erp:read'])}"}
    admin = {"Authorization": f"Bearer {await add_api_key(demo_db, 'erp-admin', ['admin'])}"}

    assert conforms(await client.get("/healthz"), "/healthz").json() == {"status": "ok"}
    ready = conforms(await client.get("/readyz"), "/readyz")
    assert ready.json()["status"] == "ready" and ready.json()["checks"]["database"] == "up"

    pulled = conforms(await client.get("/api/v1/erp/events?after=0&limit=3", headers=erp), "/api/v1/erp/events")
    assert [json.loads(line)["position"] for line in pulled.text.splitlines()] == [1, 2, 3]
    assert pulled.headers["udipick-next-after"] == "3"
    assert (
        conforms(await client.get("/api/v1/erp/events?after=99", headers=erp), "/api/v1/erp/events").status_code == 422
    )
    assert conforms(await client.get("/api/v1/erp/events"), "/api/v1/erp/events").status_code == 401

    stock = conforms(await client.get("/api/v1/erp/stock", headers=erp), "/api/v1/erp/stock")
    assert stock.headers["content-type"].startswith("application/x-ndjson") and stock.text.count("\n") > 3
    csv = conforms(await client.get("/api/v1/erp/stock?format=csv", headers=erp), "/api/v1/erp/stock")
    assert csv.text.splitlines()[0] == "item,gtin,lot,expiry,serial,warehouse,location,status,quantity,reserved"

    document = conforms(await client.get("/api/v1/epcis/events?after=0&limit=3", headers=erp), "/api/v1/epcis/events")
    assert [e["udipick:position"] for e in document.json()["epcisBody"]["eventList"]] == [
        1,
        2,
    ]  # 3 has no EPCIS counterpart
    assert document.headers["udipick-next-after"] == "3"

    hooks, hook = "/api/v1/erp/webhooks", "/api/v1/erp/webhooks/{subscription_id}"
    body = {"name": "erp-main", "url": "http://127.0.0.1:9/hook", "eventTypes": ["pick.*"], "fromPosition": 0}
    created = conforms(await client.post(hooks, json=body, headers=admin), hooks)
    assert (
        created.status_code == 201 and created.json()["secret"].startswith("whsec_") and created.json()["cursor"] == 0
    )
    sub = created.json()["id"]
    assert conforms(await client.post(hooks, json=body, headers=admin), hooks).status_code == 409
    bad = conforms(await client.post(hooks, json={**body, "name": "x", "eventTypes": ["Pick"]}, headers=admin), hooks)
    assert bad.status_code == 422 and bad.json()["pointer"] == "/eventTypes/0"
    listed = conforms(await client.get(hooks, headers=admin), hooks).json()
    assert [(w["name"], w.get("pending", 0), "secret" in w) for w in listed] == [
        ("erp-main", 0, False)
    ]  # zeros left out
    paused = conforms(
        await client.patch(f"{hooks}/{sub}", json={"active": False, "maxAttempts": 3}, headers=admin), hook
    )
    assert (paused.json()["active"], paused.json()["maxAttempts"], paused.json()["eventTypes"]) == (
        False,
        3,
        ["pick.*"],
    )
    assert conforms(await client.get(f"{hooks}/{sub}", headers=admin), hook).json() == paused.json()
    assert (
        conforms(await client.patch(f"{hooks}/999999", json={"active": True}, headers=admin), hook).status_code == 404
    )
    deliveries = hook + "/deliveries"
    assert conforms(await client.get(f"{hooks}/{sub}/deliveries", headers=admin), deliveries).json() == []
    assert conforms(await client.get(f"{hooks}/999999/deliveries", headers=admin), deliveries).status_code == 404
    one = "/api/v1/erp/webhooks/deliveries/{delivery_id}"
    assert conforms(await client.get(f"{hooks}/deliveries/999999", headers=admin), one).status_code == 404
    replayed = conforms(await client.post(f"{hooks}/{sub}/replay", json={}, headers=admin), hook + "/replay")
    assert replayed.json() == {"requeued": 0}
    subscribers = "/api/v1/erp/stream/subscribers"
    assert conforms(await client.get(subscribers, headers=admin), subscribers).json() == []
    assert conforms(await client.delete(f"{hooks}/{sub}", headers=admin), hook).status_code == 204
    assert conforms(await client.delete(f"{hooks}/{sub}", headers=admin), hook).status_code == 404
    assert conforms(await client.get(hooks, headers=admin), hooks).json() == []


async def test_picking_answers_are_what_the_document_says(client, demo_db, conforms):
    supervisor = await login(client, "supervisor")
    picker = await login(client, "picker")
    waves = "/api/v1/waves"
    released = conforms(await client.post(waves, json={"orders": ["SO-5001", "SO-5002"]}, headers=supervisor), waves)
    assert released.status_code == 201 and "tasks" in released.json()["replenishment"]
    assert (
        conforms(await client.post(waves, json={"orders": ["SO-5001"]}, headers=supervisor), waves).status_code == 409
    )
    assert conforms(await client.post(waves, json={"orders": []}, headers=supervisor), waves).status_code == 400
    assert conforms(await client.post(waves, json={}, headers=picker), waves).status_code == 403

    tasks_path = "/api/v1/picking/tasks"
    tasks = conforms(await client.get(tasks_path, headers=picker), tasks_path).json()
    assert conforms(await client.get(tasks_path + "?status=done", headers=picker), tasks_path).json() == []
    syr = next(t for t in tasks if t["order"] == "SO-5001" and t["item"]["erpId"] == "SYR-10ML")
    glove = next(t for t in tasks if t["order"] == "SO-5002" and t["item"]["erpId"] == "GLOVE-NIT-M")

    location = tasks_path + "/{task_id}/location"
    checked = conforms(
        await client.post(
            f"{tasks_path}/{syr['taskId']}/location", json={"raw": syr["location"]["barcode"]}, headers=picker
        ),
        location,
    )
    assert checked.json() == {"taskId": syr["taskId"], "location": syr["location"]["code"], "ok": True}
    assert (
        conforms(
            await client.post(
                f"{tasks_path}/{syr['taskId']}/location", json={"raw": glove["location"]["barcode"]}, headers=picker
            ),
            location,
        ).status_code
        == 409
    )
    assert (
        conforms(
            await client.post(f"{tasks_path}/999999/location", json={"raw": "x"}, headers=picker), location
        ).status_code
        == 404
    )

    scans = tasks_path + "/{task_id}/scans"
    body = {"clientScanId": str(uuid.uuid4()), "raw": gs1(SYR, syr["lot"]), "locationRaw": syr["location"]["barcode"]}
    picked = conforms(await client.post(f"{tasks_path}/{syr['taskId']}/scans", json=body, headers=picker), scans)
    assert picked.status_code == 200 and picked.json()["remaining"] == syr["remaining"] - 1
    replayed = conforms(await client.post(f"{tasks_path}/{syr['taskId']}/scans", json=body, headers=picker), scans)
    assert replayed.headers["idempotent-replayed"] == "true" and replayed.json() == picked.json()
    # the pick answer is built as a dict on the hot path: ``PickAccepted`` must name exactly its members
    assert list(picked.json()) == list(PickAccepted.__struct_encode_fields__)
    later = gs1(SYR, "SY2409C", await lot_expiry(demo_db, "SY2409C"))
    refused = conforms(
        await client.post(
            f"{tasks_path}/{syr['taskId']}/scans",
            json={"clientScanId": str(uuid.uuid4()), "raw": later},
            headers=picker,
        ),
        scans,
    )
    assert refused.status_code == 409 and refused.json()["code"] == "fefo-violation"
    assert (
        conforms(
            await client.post(f"{tasks_path}/{syr['taskId']}/scans", json={"raw": later}, headers=picker), scans
        ).status_code
        == 400
    )
    assert conforms(await client.post(f"{tasks_path}/{syr['taskId']}/scans", json=body), scans).status_code == 401

    override = tasks_path + "/{task_id}/override"
    signed = {
        "clientScanId": str(uuid.uuid4()),
        "raw": later,
        "reason": "customer asked for one lot",
        "supervisor": {"username": "supervisor", "password": "wrong"},
    }
    assert (
        conforms(
            await client.post(f"{tasks_path}/{syr['taskId']}/override", json=signed, headers=picker), override
        ).status_code
        == 403
    )
    signed["supervisor"]["password"] = "supervisor-demo"
    approved = conforms(
        await client.post(f"{tasks_path}/{syr['taskId']}/override", json=signed, headers=picker), override
    )
    assert approved.status_code == 200 and approved.json()["fefoOverridden"] is True
    assert list(approved.json()) == list(PickAccepted.__struct_encode_fields__)

    totes = waves + "/{wave_id}/totes"
    wave_id = released.json()["waveId"]
    tote = conforms(
        await client.post(f"{waves}/{wave_id}/totes", json={"order": "SO-5002", "raw": "TOTE-0007"}, headers=picker),
        totes,
    )
    assert tote.json() == {"waveId": wave_id, "order": "SO-5002", "tote": "TOTE-0007", "tasks": 3}
    assert (
        conforms(
            await client.post(
                f"{waves}/{wave_id}/totes", json={"order": "SO-5001", "raw": "TOTE-0007"}, headers=picker
            ),
            totes,
        ).status_code
        == 409
    )
    assert (
        conforms(
            await client.post(f"{waves}/{wave_id}/totes", json={"order": "SO-5002", "raw": "A-01-02"}, headers=picker),
            totes,
        ).status_code
        == 422
    )

    short = tasks_path + "/{task_id}/short"
    shorted = conforms(
        await client.post(
            f"{tasks_path}/{glove['taskId']}/short", json={"clientScanId": str(uuid.uuid4())}, headers=picker
        ),
        short,
    )
    assert shorted.status_code == 200 and shorted.json()["locationBlocked"] == glove["location"]["code"]
    again = conforms(
        await client.post(
            f"{tasks_path}/{glove['taskId']}/short", json={"clientScanId": str(uuid.uuid4())}, headers=picker
        ),
        short,
    )
    assert again.status_code == 409
    assert {status for _, _, status in conforms.seen} == {200, 201, 400, 401, 403, 404, 409, 422}


async def test_sign_in_scan_and_erp_answers_are_what_the_document_says(client, conforms):
    login_path = "/api/v1/auth/login"
    signed_in = conforms(
        await client.post(login_path, json={"username": "picker", "password": "picker-demo", "deviceId": "d1"}),
        login_path,
    )
    assert signed_in.status_code == 200
    wrong = conforms(
        await client.post(login_path, json={"username": "picker", "password": "wrong", "deviceId": "d1"}), login_path
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "not-authenticated"
    assert conforms(await client.post(login_path, json={"username": "picker"}), login_path).status_code == 400
    picker = {"Authorization": f"Bearer {signed_in.json()['token']}", "X-Device-Id": "d1"}
    conforms(await client.get("/api/v1/auth/me", headers=picker), "/api/v1/auth/me")

    interpret = "/api/v1/scans/interpret"
    read = conforms(await client.post(interpret, json={"raw": gs1(SYR, "SY2405B")}, headers=picker), interpret)
    assert read.json()["item"]["erpId"] == "SYR-10ML"
    assert conforms(await client.post(interpret, json={"raw": "]d2019"}, headers=picker), interpret).status_code == 422

    admin = await login(client, "admin")
    items = "/api/v1/erp/items"
    created = conforms(await client.post(items, json=ITEM, headers=admin), items)
    assert created.status_code == 201 and created.json()["status"] == "created"
    assert conforms(await client.post(items, json=ITEM, headers=admin), items).json()["status"] == "unchanged"
    newer = {**ITEM, "version": ITEM["version"] + 1, "name": "Renamed"}
    assert conforms(await client.post(items, json=newer, headers=admin), items).json()["status"] == "updated"
    assert conforms(await client.post(items, json=ITEM, headers=admin), items).status_code == 409
    bulk = "/api/v1/erp/items/bulk"
    lines = b"\n".join([json.dumps(newer).encode(), b'{"erpId": "BROKEN", '])
    loaded = conforms(
        await client.post(bulk, content=lines, headers={**admin, "content-type": "application/x-ndjson"}), bulk
    )
    assert (loaded.json()["unchanged"], loaded.json()["problems"][0]["line"]) == (1, 2)
    users = "/api/v1/admin/users"
    conforms(await client.get(users, headers=admin), users)
    assert conforms(await client.get(users, headers=picker), users).status_code == 403


def _codes_constructed_in(module_path: str) -> set[str]:
    """The ``code`` of every ``DomainError`` subclass a module constructs (``Name(...)``), read with ``ast``."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(module_path).read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            cls = getattr(e, node.func.id, None)
            if isinstance(cls, type) and issubclass(cls, e.DomainError) and cls is not e.DomainError:
                found.add(cls.code)
    return found


def _documented_codes(response: dict) -> set[str]:
    return set(re.findall(r"`([a-z][a-z0-9-]+)`", response.get("description", "")))


def test_every_erp_upsert_documents_each_problem_code_it_can_answer_under_its_status(document):
    """The codes the ERP inbound service raises, each under the status the problem table gives it, on every
    upsert route; the bulk routes name their own (a body too large, a load interrupted)."""
    from pathlib import Path

    from udipick.domain.problem import STATUS

    status_of = {cls.code: status for cls, status in STATUS.items()}
    service = Path(__file__).resolve().parents[2] / "server" / "udipick" / "services" / "erp_inbound.py"
    raised = _codes_constructed_in(str(service))
    assert {"stale-version", "version-reused", "invalid-record", "conflict"} <= raised  # the walker sees them
    upserts = [p for p in document["paths"] if p.startswith("/api/v1/erp/") and p + "/bulk" in document["paths"]]
    assert len(upserts) == 8, upserts
    for path in upserts:
        responses = document["paths"][path]["post"]["responses"]
        for code in raised | {"invalid-request", "json-too-deep"}:
            status = str(status_of.get(code, 400))
            assert code in _documented_codes(responses[status]), (path, status, code)
        bulk = document["paths"][path + "/bulk"]["post"]["responses"]
        assert "body-too-large" in _documented_codes(bulk["413"]) and "bulk-interrupted" in _documented_codes(
            bulk["500"]
        )
    known = set(status_of) | set(HANDLER_CODES)
    for path, ops in document["paths"].items():
        if not path.startswith("/api/v1/erp/"):
            continue
        for op in ops.values():
            for status, response in op.get("responses", {}).items():
                if not status.startswith("2"):
                    assert _documented_codes(response) <= known | _NOT_CODES, (path, status)


#: words in backticks in problem descriptions that are field names, not codes
_NOT_CODES = {"pointer", "errors", "code"}
