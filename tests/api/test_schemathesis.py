"""Every operation of the OpenAPI, fuzzed by schemathesis against the real app over the demo database.

Three checks: no 5xx for any request (bad input is a 4xx problem, never a crash); every response's
status is one the OpenAPI documents for the operation (errors are documented as ``4XX``/``5XX``
problems, so in effect: no undocumented success status); and its body matches the schema documented
for that status and media type.

The app runs under a real uvicorn on a loopback port (real HTTP parsing, a real client address) over
a copy of the demo database. Each operation is called with each outside credential that may call it:
the demo ``admin`` user's token, bound to its device (``X-Device-Id``), and an ERP API key with every
scope. The few operations neither may call (QA's e-signed lot decisions, releasing a hold) run as a
demo user of a role that may. Schemathesis also sends cases without the ``Authorization`` header on
purpose (its negative cases for the security scheme); they must get a 401 problem, not a crash.

No operation is excluded (``EXCLUDED`` is empty; ``test_every_operation_is_fuzzed_or_listed_as_excluded``
keeps it honest). The routes the OpenAPI leaves out are listed in ``NOT_IN_OPENAPI`` with the reason.
Signing out is fuzzed with tokens signed in for it, so the shared token survives; signing in is fuzzed
last, since its failed attempts may throttle this client address.

Bounded and reproducible for CI: ``MAX_EXAMPLES`` generated cases per operation and credential on top
of schemathesis' schema-derived (coverage) cases, hypothesis derandomised and without its example
database. Every fuzzed operation must send at least one request: nothing is skipped quietly.
"""

from __future__ import annotations

import asyncio
import collections
import re
import socket
import threading
import time

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.conftest import _admin_exec, _fresh_database, _run_in_thread, _with_database
from tests.conftest import test_settings as app_settings
from udipick.domain.access import Access

#: fuzzed (hypothesis) cases per operation and credential; schemathesis adds its explicit examples and
#: boundary/negative coverage cases. Sized so the file runs in well under 3 minutes on 2 cores.
MAX_EXAMPLES = 15

#: operations left out of the run, with the reason. Empty: every operation in the OpenAPI is fuzzed.
EXCLUDED: dict[str, str] = {}

#: routes the app serves that the OpenAPI does not describe, so schemathesis never sees them, and why
NOT_IN_OPENAPI = {
    "WEBSOCKET /api/v1/erp/stream": "a WebSocket, which OpenAPI cannot describe (tests/outbox covers the stream)",
    "WEBSOCKET /api/v1/live": "a WebSocket, which OpenAPI cannot describe (tests/api/test_live.py covers it)",
    "GET /metrics": "Prometheus text for the scraper, left out of the schema; it takes no input",
    "GET /schema/*": "the OpenAPI document itself and its viewers",
}

ADMIN = "admin-user"
ERP_KEY = "erp-key"
OTHER_ROLE = "other-role"
ERP_KEY_SCOPES = ["erp:read", "erp:write", "admin", "sensors:write"]
DEVICE = "schemathesis"
LOGIN = "POST /api/v1/auth/login"
LOGOUT = "POST /api/v1/auth/logout"


def _openapi_path(litestar_path: str) -> str:
    # Litestar routes carry parameter types (`{job_id:int}`); the OpenAPI does not
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", litestar_path)


def access_rules(app) -> dict[str, Access]:
    """``"METHOD /path"`` (as schemathesis labels operations) -> the access rule the server enforces."""
    rules = {}
    for route in app.routes:
        for method, entry in (getattr(route, "route_handler_map", None) or {}).items():
            handler = entry[0] if isinstance(entry, tuple) else entry
            rule = handler.opt.get("access")
            if rule is not None and method != "OPTIONS":
                rules[f"{method} {_openapi_path(route.path)}"] = rule
    return rules


def callers_for(rule: Access) -> list[str]:
    """Which credentials fuzz an operation: the admin user and the ERP key wherever they may, another role elsewhere."""
    if rule.public:
        return [ADMIN]  # needs no credential; fuzzed once
    callers = []
    if "admin" in rule.roles:
        callers.append(ADMIN)
    if rule.scopes & set(ERP_KEY_SCOPES):
        callers.append(ERP_KEY)
    return callers or ([OTHER_ROLE] if rule.roles else [])


def _schema_app():
    from udipick.api.app import create_app

    return create_app(app_settings(), database_url="postgresql+asyncpg://unused/unused")


# Read at collection, as schemathesis makes one test per operation; the app builds its OpenAPI without a
# database. `test_the_fuzzed_schema_is_the_served_one` ties it to what /schema/openapi.json serves.
_APP = _schema_app()
RULES = access_rules(_APP)
SCHEMA = schemathesis.openapi.from_dict(_APP.openapi_schema.to_schema())
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # the health checks judge data generation, not the API; a function-scoped fixture is meant
    suppress_health_check=list(HealthCheck),
)


def test_every_operation_is_fuzzed_or_listed_as_excluded():
    """A new endpoint no fuzzing credential may call, and that EXCLUDED does not explain, fails here."""
    operations = {f"{m.upper()} {p}" for p, ops in SCHEMA.raw_schema["paths"].items() for m in ops}
    assert len(operations) >= 70
    assert operations <= set(RULES), sorted(operations - set(RULES))
    unfuzzed = {op for op in operations if not callers_for(RULES[op])}
    assert unfuzzed == set(EXCLUDED), (
        f"no credential fuzzes these and EXCLUDED does not say why: {sorted(unfuzzed - set(EXCLUDED))}"
    )


def test_every_operation_documents_its_errors_as_problems():
    """Every error is an RFC 9457 problem; the OpenAPI must say so, or schemathesis validates no error body
    at all (it checks only the statuses an operation documents, in the media type it documents)."""
    for path, operations in SCHEMA.raw_schema["paths"].items():
        for method, operation in operations.items():
            errors = [status for status in operation["responses"] if status[0] in "45"]
            assert "4XX" in errors and "5XX" in errors, (method, path, errors)
            for status in errors:
                content = operation["responses"][status]["content"]
                assert content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}, (
                    method,
                    path,
                    status,
                )


def test_every_route_outside_the_openapi_is_listed_with_its_reason():
    operations = {f"{m.upper()} {p}" for p, ops in SCHEMA.raw_schema["paths"].items() for m in ops}
    hidden = {op for op in RULES if op not in operations}
    hidden = {"GET /schema/*" if op.startswith("GET /schema") else op for op in hidden}
    hidden |= {f"WEBSOCKET {r.path}" for r in _APP.routes if getattr(r, "route_handler_map", None) is None}
    assert hidden == set(NOT_IN_OPENAPI)


class LiveServer:
    """The real app under uvicorn on 127.0.0.1, in a thread with its own event loop."""

    def __init__(self, database_url: str) -> None:
        import uvicorn

        from udipick.api.app import create_app

        self.database_url = database_url
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        app = create_app(app_settings(), database_url=database_url)
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=lambda: self.server.run(sockets=[self.sock]), name="schemathesis-uvicorn")

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start: the schemathesis run cannot happen")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


def _sign_in(url: str, username: str, device: str) -> dict[str, str]:
    r = requests.post(
        f"{url}/api/v1/auth/login",
        json={"username": username, "password": f"{username}-demo", "deviceId": device},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}", "X-Device-Id": device}


def _erp_key(database_url: str) -> dict[str, str]:
    from udipick.db.engine import make_engine, make_sessionmaker
    from udipick.services.identity import add_api_key

    holder: dict[str, str] = {}

    async def make() -> None:
        engine = make_engine(database_url, pool_size=1)
        try:
            holder["key"] = await add_api_key(make_sessionmaker(engine), "schemathesis-erp", ERP_KEY_SCOPES)
        finally:
            await engine.dispose()

    _run_in_thread(lambda: asyncio.run(make()))
    return {"Authorization": f"Bearer {holder['key']}"}


class Callers:
    """Every credential, signed in before any fuzzing (failed sign-ins and signatures may throttle later
    ones from this address; sign-out runs before any of those), and a tally of what came back."""

    def __init__(self, server: LiveServer) -> None:
        url = server.url
        self.url = url
        self.headers = {ADMIN: _sign_in(url, "admin", DEVICE), ERP_KEY: _erp_key(server.database_url)}
        self.by_role = {
            role: _sign_in(url, role, f"{DEVICE}-{role}") for role in ("picker", "qa", "receiver", "supervisor")
        }
        self.statuses: collections.Counter[int] = collections.Counter()
        self.runs = 0
        self.started = time.monotonic()

    def headers_for(self, credential: str, label: str) -> dict[str, str]:
        if label == LOGOUT:
            # signing out revokes the token it is sent with: each case gets one of its own
            return _sign_in(self.url, "admin", f"{DEVICE}-logout")
        if credential == OTHER_ROLE:
            return self.by_role[min(RULES[label].roles)]
        return self.headers[credential]


@pytest.fixture(scope="module")
def callers(pg_admin_url, template_names, request):
    """One server and one copy of the demo database for the whole file: each credential's run sees what
    the earlier ones created, as a real warehouse would."""
    holder: dict[str, str] = {}
    _run_in_thread(lambda: holder.update(name=asyncio.run(_fresh_database(pg_admin_url, template_names["demo"]))))
    try:
        with LiveServer(_with_database(pg_admin_url, holder["name"])) as server:
            c = Callers(server)
            yield c
            sent = sum(c.statuses.values())
            plugins = request.config.pluginmanager
            with plugins.get_plugin("capturemanager").global_and_fixture_disabled():
                plugins.get_plugin("terminalreporter").write_line(
                    f"\nschemathesis: {c.runs} operation runs, {sent} requests in {time.monotonic() - c.started:.0f} s; "
                    f"statuses {dict(sorted(c.statuses.items()))}"
                )
    finally:
        _run_in_thread(
            lambda: asyncio.run(_admin_exec(pg_admin_url, f"DROP DATABASE IF EXISTS {holder['name']} WITH (FORCE)"))
        )


@pytest.fixture
def sent(callers):
    """Fails the operation's test when it sent no request (a skipped or unsatisfiable operation)."""
    before = sum(callers.statuses.values())
    yield
    callers.runs += 1
    assert sum(callers.statuses.values()) > before, "schemathesis sent no request for this operation"


def test_the_fuzzed_schema_is_the_served_one(callers):
    assert requests.get(f"{callers.url}/schema/openapi.json", timeout=30).json() == SCHEMA.raw_schema


def _call(case, callers: Callers, credential: str) -> None:
    label = case.operation.label
    headers = callers.headers_for(credential, label)
    response = case.call_and_validate(base_url=callers.url, headers=headers, checks=CHECKS, timeout=60)
    callers.statuses[response.status_code] += 1
    if response.status_code == 401 and label != LOGIN and label != LOGOUT:
        # a 401 is right when schemathesis left the credential out on purpose; with it, the credential died
        # mid-run (lockout, throttling, revocation) and the rest of the run would test nothing but 401s
        assert response.request.headers.get("Authorization") != headers["Authorization"], (
            f"{credential}'s credential was refused during the run: {response.text}"
        )


def _fuzzed_by(credential: str):
    return SCHEMA.include(
        lambda ctx: ctx.operation.label != LOGIN and credential in callers_for(RULES[ctx.operation.label])
    )


@_fuzzed_by(ADMIN).parametrize()
@SETTINGS
def test_as_the_admin_user(case, callers, sent):
    _call(case, callers, ADMIN)


@_fuzzed_by(ERP_KEY).parametrize()
@SETTINGS
def test_with_the_erp_key(case, callers, sent):
    _call(case, callers, ERP_KEY)


@_fuzzed_by(OTHER_ROLE).parametrize()
@SETTINGS
def test_as_a_role_where_admin_and_the_key_may_not(case, callers, sent):
    _call(case, callers, OTHER_ROLE)


@SCHEMA.include(lambda ctx: ctx.operation.label == LOGIN).parametrize()
@SETTINGS
def test_signing_in_last(case, callers, sent):
    _call(case, callers, ADMIN)
