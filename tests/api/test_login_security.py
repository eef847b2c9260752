"""Passwords (sign-in and electronic signatures) are checked off the event loop, a bounded number at
once, and throttled per user and per client address; a supervisor's approval is no password oracle.

Real argon2 and real PostgreSQL throughout; where a test must hold a check in flight, the argon2 call
itself is replaced by one that waits for the test's word (``held_checks``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from litestar.testing import transport
from sqlalchemy import text

from tests.api.test_picking import SYR, gs1, task_for
from tests.conftest import login
from tests.conftest import test_settings as settings_for_tests

WRONG = {"password": "guess", "deviceId": "x"}


@contextlib.asynccontextmanager
async def app_client(database_url: str, **settings) -> AsyncIterator:
    """A client on the real app with some settings changed (the ``client`` fixture's, otherwise)."""
    from litestar.testing import AsyncTestClient

    from udipick.api.app import create_app

    async with AsyncTestClient(app=create_app(settings_for_tests(**settings), database_url=database_url)) as c:
        yield c


#: 3 failures in a row lock a user; 8 from one address throttle it; refusals are not held back
STRICT = {"login_max_failures": 3, "login_address_max_failures": 8, "login_refusal_delay_seconds": 0}


@pytest.fixture
async def strict(demo_database_url):
    async with app_client(demo_database_url, **STRICT) as c:
        yield c


@pytest.fixture
def argon2_calls(monkeypatch) -> list[str]:
    """Every argon2 check made (the real one), by the thread that made it."""
    calls: list[str] = []
    real = PasswordHasher.verify

    def counted(self, password_hash, password):
        calls.append(threading.current_thread().name)
        return real(self, password_hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    return calls


class HeldChecks:
    """argon2 replaced by a check that waits until ``released`` and then says "wrong password" (with a
    time-out, so that code checking on the event loop fails the test instead of hanging it)."""

    def __init__(self) -> None:
        self.entered = 0
        self.timed_out = 0
        self.released = threading.Event()

    def verify(self, password_hash: str, password: str) -> bool:
        self.entered += 1
        if not self.released.wait(timeout=3):
            self.timed_out += 1
        raise VerifyMismatchError("held")


@pytest.fixture
def held_checks(monkeypatch) -> Iterator[HeldChecks]:
    held = HeldChecks()
    monkeypatch.setattr(
        PasswordHasher, "verify", lambda _hasher, password_hash, password: held.verify(password_hash, password)
    )
    yield held
    held.released.set()


async def until(condition, what: str, seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"waited {seconds} s for {what}")


def same_answer(body: dict) -> dict:
    """A problem body without its numbers (the seconds left change from one answer to the next)."""
    return {k: re.sub(r"\d+", "N", v) if isinstance(v, str) else v for k, v in body.items() if k != "retryAfter"}


async def audit_rows(db, action: str) -> list[tuple]:
    async with db() as s:
        return [
            tuple(r)
            for r in (
                await s.execute(
                    text("SELECT username, outcome, target FROM audit_log WHERE action = :a ORDER BY id"), {"a": action}
                )
            ).all()
        ]


# ---- finding 1: a flood of wrong passwords does not stall the server -----------------------------------


@contextlib.contextmanager
def side_by_side(client):
    """Send requests to the client's running app from threads, several at once. (The test client
    answers one request at a time: the test's event loop waits while the app's loop, in a thread of
    its own, handles it.)"""
    pool = ThreadPoolExecutor(max_workers=16)
    http = httpx.Client(transport=transport.TestClientTransport(client), base_url=str(client.base_url))
    try:
        yield lambda method, path, **kw: asyncio.wrap_future(pool.submit(http.request, method, path, **kw))
    finally:
        pool.shutdown(wait=True)  # (the test transport holds nothing to close)


async def test_passwords_are_checked_off_the_event_loop(client, held_checks):
    with side_by_side(client) as send:
        logins = [send("POST", "/api/v1/auth/login", json={"username": "qa", **WRONG}) for _ in range(2)]
        await until(lambda: held_checks.entered >= 1, "a password check to start")
        # while a check is running, the server answers everything else: the cheap request is answered
        # before the check ends (checked on the event loop, it would end first, by its time-out)
        assert (await send("GET", "/healthz")).status_code == 200
        assert held_checks.timed_out == 0 and not any(f.done() for f in logins)
        held_checks.released.set()
        assert [r.status_code for r in await asyncio.gather(*logins)] == [401, 401]


async def test_checks_beyond_the_bound_are_refused_at_once_without_checking(demo_database_url, held_checks):
    async with app_client(
        demo_database_url, login_verify_threads=1, login_verify_queue=1, login_refusal_delay_seconds=0
    ) as c:
        checks = c.app.state.password_checks
        with side_by_side(c) as send:
            logins = [send("POST", "/api/v1/auth/login", json={"username": "qa", **WRONG}) for _ in range(2)]
            await until(lambda: checks.pending == 2 and held_checks.entered == 1, "one check running and one waiting")
            r = await send(
                "POST",
                "/api/v1/auth/login",
                json={"username": "supervisor", "password": "supervisor-demo", "deviceId": "x"},
            )
            assert r.status_code == 429
            assert r.json()["code"] == "sign-in-busy" and r.json()["retryAfter"] == 1
            assert r.headers["retry-after"] == "1"
            assert held_checks.entered == 1  # refused before it cost a check
            held_checks.released.set()
            assert [r.status_code for r in await asyncio.gather(*logins)] == [401, 401]
        await until(lambda: checks.pending == 0, "the checks to finish")


async def test_checks_queued_behind_the_failure_that_locks_a_user_are_not_made(demo_database_url, demo_db, monkeypatch):
    releases = [threading.Event() for _ in range(3)]
    entered: list[int] = []

    def held(_hasher, password_hash, password):
        entered.append(len(entered))
        releases[len(entered) - 1].wait(timeout=3)
        raise VerifyMismatchError("held")

    monkeypatch.setattr(PasswordHasher, "verify", held)
    async with app_client(
        demo_database_url, login_max_failures=1, login_verify_threads=1, login_refusal_delay_seconds=0
    ) as c:
        with side_by_side(c) as send:
            logins = [send("POST", "/api/v1/auth/login", json={"username": "qa", **WRONG}) for _ in range(3)]
            await until(lambda: c.app.state.password_checks.pending == 3, "one check running and two waiting")
            releases[0].set()
            for _ in range(1000):  # the first failure locks qa
                async with demo_db() as s:
                    if await s.scalar(text("SELECT locked_until IS NOT NULL FROM users WHERE username = 'qa'")):
                        break
                await asyncio.sleep(0.01)
            # the second may have started before the lock was noted; the third waits for it, so it cannot
            releases[1].set()
            statuses = [r.status_code for r in await asyncio.gather(*logins)]
    assert len(entered) <= 2
    assert statuses.count(401) == len(entered) and statuses.count(429) == 3 - len(entered)
    for event in releases:
        event.set()


async def test_a_refusal_is_held_back_so_a_looping_client_cannot_keep_the_server_busy(demo_database_url):
    async with app_client(demo_database_url, login_max_failures=1, login_refusal_delay_seconds=0.5) as c:
        assert (await c.post("/api/v1/auth/login", json={"username": "qa", **WRONG})).status_code == 401
        t0 = time.perf_counter()
        assert (await c.post("/api/v1/auth/login", json={"username": "qa", **WRONG})).status_code == 429
        assert time.perf_counter() - t0 >= 0.5


async def test_no_database_connection_is_held_while_a_password_is_checked(demo_database_url, held_checks):
    async with app_client(demo_database_url, login_verify_threads=1, login_verify_queue=8) as c:
        with side_by_side(c) as send:
            logins = [send("POST", "/api/v1/auth/login", json={"username": "qa", **WRONG}) for _ in range(6)]
            await until(lambda: c.app.state.password_checks.pending == 6, "six checks running or waiting")
            assert c.app.state.engine.pool.checkedout() == 0
            held_checks.released.set()
            await asyncio.gather(*logins)


# ---- finding 2: throttling and lockout -------------------------------------------------------------------


async def test_a_user_is_locked_after_failures_in_a_row_whatever_the_password_then(strict, demo_db, argon2_calls):
    for _ in range(3):
        r = await strict.post("/api/v1/auth/login", json={"username": "qa", **WRONG})
        assert r.status_code == 401
    assert len(argon2_calls) == 3 and all(name.startswith("udipick-password") for name in argon2_calls)
    right = await strict.post("/api/v1/auth/login", json={"username": "qa", "password": "qa-demo", "deviceId": "x"})
    wrong = await strict.post("/api/v1/auth/login", json={"username": "qa", **WRONG})
    assert right.status_code == wrong.status_code == 429
    assert same_answer(right.json()) == same_answer(wrong.json())  # a locked user's right password says nothing
    body = right.json()
    assert body["code"] == "too-many-attempts" and 890 <= body["retryAfter"] <= 900
    assert right.headers["retry-after"] == str(body["retryAfter"])
    assert len(argon2_calls) == 3  # nothing checked while locked
    async with demo_db() as s:
        failed, locked = (
            await s.execute(text("SELECT failed_attempts, locked_until > now() FROM users WHERE username = 'qa'"))
        ).one()
    assert (failed, locked) == (0, True)
    assert [r[:2] for r in await audit_rows(demo_db, "login")] == [("qa", "failed")] * 3
    assert await audit_rows(demo_db, "user.locked") == [("qa", "ok", "user:qa")]


async def test_a_right_password_clears_the_count_of_failures(strict, demo_db):
    for _ in range(2):
        assert (await strict.post("/api/v1/auth/login", json={"username": "qa", **WRONG})).status_code == 401
    await login(strict, "qa")
    for _ in range(2):
        assert (await strict.post("/api/v1/auth/login", json={"username": "qa", **WRONG})).status_code == 401
    await login(strict, "qa")  # 4 failures, but never 3 in a row


async def test_an_unknown_name_is_locked_exactly_like_a_known_user(strict):
    answers = {}
    for name in ("qa", "nobody"):
        for _ in range(3):
            assert (await strict.post("/api/v1/auth/login", json={"username": name, **WRONG})).status_code == 401
        answers[name] = await strict.post("/api/v1/auth/login", json={"username": name, **WRONG})
    assert answers["qa"].status_code == answers["nobody"].status_code == 429
    assert same_answer(answers["qa"].json()) == same_answer(answers["nobody"].json())


async def test_an_admin_unlocks_a_user_and_it_is_audited(strict, demo_db):
    for _ in range(3):
        await strict.post("/api/v1/auth/login", json={"username": "qa", **WRONG})
    assert (
        await strict.post("/api/v1/auth/login", json={"username": "qa", "password": "qa-demo", "deviceId": "x"})
    ).status_code == 429
    admin = await login(strict, "admin")
    r = await strict.post("/api/v1/admin/users/QA/unlock", headers=admin)
    assert r.status_code == 200 and r.json() == {"username": "qa", "wasLocked": True, "failedAttempts": 0}
    await login(strict, "qa")
    assert await audit_rows(demo_db, "user.unlocked") == [("admin", "ok", "user:qa")]
    assert (await strict.post("/api/v1/admin/users/nobody/unlock", headers=admin)).status_code == 404
    picker = await login(strict, "picker")
    assert (await strict.post("/api/v1/admin/users/qa/unlock", headers=picker)).status_code == 403


async def test_a_locked_name_is_refused_from_memory_until_an_unlock_made_anywhere_reaches_the_process(strict, demo_db):
    """A client looping on a locked name costs no database query per attempt (the process notes the lock);
    an unlock by another process (here: the service on a session of its own, as `udipick users unlock`
    does) reaches this one through PostgreSQL's notification."""
    from tests.conftest import wait_until
    from udipick.services import identity

    for _ in range(3):
        await strict.post("/api/v1/auth/login", json={"username": "qa", **WRONG})
    right = {"username": "qa", "password": "qa-demo", "deviceId": "x"}
    assert (await strict.post("/api/v1/auth/login", json=right)).status_code == 429
    async with demo_db.begin() as s:  # lifted behind udipick's back: no notification
        await s.execute(text("UPDATE users SET locked_until = NULL, failed_attempts = 0 WHERE username = 'qa'"))
    assert (await strict.post("/api/v1/auth/login", json=right)).status_code == 429  # the note, not the row
    await identity.unlock_user(demo_db, "qa", actor=None)  # another process's unlock: it notifies

    async def signs_in() -> bool:
        return (await strict.post("/api/v1/auth/login", json=right)).status_code == 200

    await wait_until(signs_in, timeout=5)


async def test_a_client_address_is_throttled_across_user_names(strict, demo_db):
    # X-Forwarded-For is anyone's to send: without the setting it changes nothing
    for i in range(8):
        r = await strict.post(
            "/api/v1/auth/login", json={"username": f"guess-{i}", **WRONG}, headers={"X-Forwarded-For": f"10.0.0.{i}"}
        )
        assert r.status_code == 401
    r = await strict.post(
        "/api/v1/auth/login",
        json={"username": "supervisor", "password": "supervisor-demo", "deviceId": "x"},
        headers={"X-Forwarded-For": "10.0.0.99"},
    )
    assert r.status_code == 429 and r.json()["code"] == "too-many-attempts"
    assert r.headers["retry-after"] == str(r.json()["retryAfter"])
    assert await audit_rows(demo_db, "address.throttled") == [("guess-7", "ok", "address:testclient")]


async def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_apart(demo_database_url):
    async with app_client(demo_database_url, **STRICT, trust_x_forwarded_for=True) as c:
        for i in range(8):
            r = await c.post(
                "/api/v1/auth/login",
                json={"username": f"guess-{i}", **WRONG},
                headers={"X-Forwarded-For": "192.0.2.7, 10.0.0.1"},
            )
            assert r.status_code == 401
        r = await c.post(
            "/api/v1/auth/login",
            json={"username": "supervisor", "password": "supervisor-demo", "deviceId": "x"},
            headers={"X-Forwarded-For": "10.0.0.1"},
        )
        assert r.status_code == 429
        # the proxy's own entry is the last one: what a client put before it does not matter
        r = await c.post(
            "/api/v1/auth/login",
            json={"username": "supervisor", "password": "supervisor-demo", "deviceId": "x"},
            headers={"X-Forwarded-For": "10.0.0.1, 10.0.0.2"},
        )
        assert r.status_code == 200


# ---- finding 3: the supervisor's approval is no password oracle -------------------------------------------


async def _override(c, picker, task_id: int, username: str, password: str):
    raw = gs1(SYR, "SY2409C")
    body = {
        "clientScanId": str(uuid.uuid4()),
        "raw": raw,
        "reason": "customer asked for one lot",
        "supervisor": {"username": username, "password": password},
    }
    return await c.post(f"/api/v1/picking/tasks/{task_id}/override", json=body, headers=picker)


async def _open_task(c) -> tuple[dict, dict]:
    sup = await login(c, "supervisor")
    assert (await c.post("/api/v1/waves", json={}, headers=sup)).status_code == 201
    picker = await login(c, "picker", device="tc52-01")
    return picker, await task_for(c, picker, "SO-5001", "SYR-10ML")


async def test_every_failed_countersignature_gets_one_answer_after_one_check(client, demo_db, argon2_calls):
    picker, task = await _open_task(client)
    async with demo_db.begin() as s:
        await s.execute(text("UPDATE users SET active = false WHERE username = 'admin'"))
    cases = {
        "unknown user": ("nobody", "supervisor-demo"),
        "wrong password": ("supervisor", "guess"),
        "inactive": ("admin", "admin-demo"),
        "may not approve": ("qa", "qa-demo"),
    }
    answers = {}
    for case, (username, password) in cases.items():
        before = len(argon2_calls)
        r = await _override(client, picker, task["taskId"], username, password)
        answers[case] = (r.status_code, r.json())
        assert len(argon2_calls) == before + 1, case  # an unknown user costs a check too: the same time
    assert len({str(a) for a in answers.values()}) == 1, answers
    status, body = answers["unknown user"]
    assert status == 403 and body["code"] == "signature-rejected"
    assert [r[:2] for r in await audit_rows(demo_db, "signature")] == [
        ("nobody", "failed"),
        ("supervisor", "failed"),
        ("admin", "failed"),
        ("qa", "failed"),
    ]


async def test_an_override_of_a_missing_task_is_refused_before_any_password_is_checked(client, demo_db, argon2_calls):
    picker = await login(client, "picker", device="tc52-01")
    calls = len(argon2_calls)  # the picker's sign-in
    right = await _override(client, picker, 999999, "supervisor", "supervisor-demo")
    wrong = await _override(client, picker, 999999, "supervisor", "guess")
    assert right.status_code == wrong.status_code == 404
    assert right.json() == wrong.json() and right.json()["code"] == "not-found"
    assert len(argon2_calls) == calls
    assert await audit_rows(demo_db, "signature") == []


async def test_repeated_wrong_countersignatures_lock_the_signer(strict, demo_db):
    picker, task = await _open_task(strict)
    for _ in range(3):
        assert (await _override(strict, picker, task["taskId"], "supervisor", "guess")).status_code == 403
    r = await _override(strict, picker, task["taskId"], "supervisor", "supervisor-demo")
    assert r.status_code == 429 and r.json()["code"] == "too-many-attempts"
    assert r.headers["retry-after"] == str(r.json()["retryAfter"])
    # one lock, whether the password failed at sign-in or in a signature
    r = await strict.post(
        "/api/v1/auth/login", json={"username": "supervisor", "password": "supervisor-demo", "deviceId": "x"}
    )
    assert r.status_code == 429
    assert await audit_rows(demo_db, "user.locked") == [("supervisor", "ok", "user:supervisor")]
    async with demo_db() as s:
        assert await s.scalar(text("SELECT count(*) FROM picks")) == 0


async def test_a_signers_own_e_signature_is_checked_off_the_loop_and_counts_toward_the_lock(
    strict, demo_db, argon2_calls
):
    sup = await login(strict, "supervisor")
    r = await strict.post(
        "/api/v1/holds", json={"scope": "lot", "item": "SYR-10ML", "lot": "SY2405B", "reason": "complaint"}, headers=sup
    )
    assert r.status_code == 201, r.text
    hold_id = r.json()["holdId"]
    calls = len(argon2_calls)
    missing = await strict.post(
        "/api/v1/holds/999999/release", json={"reason": "checked", "password": "guess"}, headers=sup
    )
    assert missing.status_code == 404 and len(argon2_calls) == calls  # no hold, no check
    for _ in range(3):
        r = await strict.post(
            f"/api/v1/holds/{hold_id}/release", json={"reason": "checked", "password": "guess"}, headers=sup
        )
        assert r.status_code == 403 and r.json()["code"] == "signature-rejected"
    assert all(name.startswith("udipick-password") for name in argon2_calls[calls:])
    r = await strict.post(
        f"/api/v1/holds/{hold_id}/release", json={"reason": "checked", "password": "supervisor-demo"}, headers=sup
    )
    assert r.status_code == 429 and r.json()["code"] == "too-many-attempts"
    assert len(argon2_calls) == calls + 3
    async with demo_db() as s:
        assert await s.scalar(text("SELECT released_at IS NULL FROM holds WHERE id = :h"), {"h": hold_id}) is True
    assert [r[:2] for r in await audit_rows(demo_db, "signature")] == [("supervisor", "failed")] * 3
