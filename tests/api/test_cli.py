"""The CLI end to end: ``udipick serve --demo`` on an embedded PostgreSQL, and the commands that work
beside it on the same data directory."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

UDIPICK = [sys.executable, "-m", "udipick.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(extra)
    return env


def _wait_healthy(base: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("serve did not become healthy")


def test_serve_demo_on_embedded_postgres_with_cli_commands_beside_it(tmp_path: Path):
    port = _free_port()
    env = _env(UDIPICK_DATA_DIR=str(tmp_path / "data"), UDIPICK_RUN_RELAY="0")
    proc = subprocess.Popen(
        [*UDIPICK, "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
        assert httpx.get(base + "/readyz").json()["status"] == "ready"
        r = httpx.post(
            base + "/api/v1/auth/login", json={"username": "supervisor", "password": "supervisor-demo", "deviceId": "d"}
        )
        assert r.status_code == 200

        added = subprocess.run(
            [*UDIPICK, "users", "add", "Lin.Wei", "--role", "picker", "--role", "receiver"],
            input="violet-harbour-tram-9\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert added.returncode == 0, added.stderr
        r = httpx.post(
            base + "/api/v1/auth/login",
            json={"username": "lin.wei", "password": "violet-harbour-tram-9", "deviceId": "d"},
        )
        assert r.status_code == 200 and r.json()["user"]["roles"] == ["picker", "receiver"]

        dup = subprocess.run(
            [*UDIPICK, "users", "add", "lin.wei", "--role", "qa"],
            input="amber-quarry-ferns-31\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert dup.returncode == 1 and "already exists" in dup.stderr

        key = subprocess.run(
            [*UDIPICK, "api-keys", "add", "erp-prod", "--scope", "erp:write"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert key.returncode == 0, key.stderr
        token = key.stdout.strip()
        item = {"erpId": "CLI-1", "version": 1, "gtin": "4006381333931", "name": "x", "baseUnit": "EA"}
        r = httpx.post(base + "/api/v1/erp/items", json=item, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201, r.text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    # the last process out stops the embedded server
    pid_file = tmp_path / "data" / "pgdata" / "postmaster.pid"
    deadline = time.monotonic() + 15
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pid_file.exists()


def test_a_bad_database_url_is_a_clear_cli_error():
    r = subprocess.run(
        [*UDIPICK, "db", "upgrade"], env=_env(DATABASE_URL="mysql://x/y"), capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2
    assert "DATABASE_URL must be a PostgreSQL URL" in r.stderr


def test_unknown_role_is_refused_by_the_cli():
    r = subprocess.run(
        [*UDIPICK, "users", "add", "x", "--role", "janitor"], env=_env(), capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2 and "invalid choice" in r.stderr


@pytest.mark.parametrize("argv", [["db", "upgrade"]])
def test_db_upgrade_on_a_configured_server(database_url, argv):
    r = subprocess.run(
        [*UDIPICK, *argv], env=_env(DATABASE_URL=database_url), capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert "at head" in r.stdout


def _cli(*argv: str, database_url: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*UDIPICK, *argv], input=stdin, env=_env(DATABASE_URL=database_url), capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("password", ["123456", "      ", "root", "root-Quartz-Lantern-42", "password1234"])
def test_users_add_refuses_a_weak_password_and_says_why(database_url, password):
    r = _cli("users", "add", "root", "--role", "admin", database_url=database_url, stdin=password + "\n")
    assert r.returncode == 1, r.stdout
    assert "password refused" in r.stderr
    listed = _cli("users", "list", database_url=database_url)
    assert listed.returncode == 0 and "root" not in listed.stdout


def test_a_weak_password_gets_the_estimators_advice(database_url):
    r = _cli("users", "add", "lin.wei", "--role", "picker", database_url=database_url, stdin="password1234\n")
    assert r.returncode == 1
    assert "too easy to guess" in r.stderr and "common password" in r.stderr


async def test_users_and_api_keys_listed_deactivated_and_revoked_from_the_cli(client, demo_database_url):
    from tests.conftest import login

    picker = await login(client, "picker")
    assert (await client.get("/api/v1/auth/me", headers=picker)).status_code == 200  # the server remembers it
    cache = client.app.state.token_cache
    before = cache.generation

    r = await asyncio.to_thread(_cli, "users", "deactivate", "picker", database_url=demo_database_url)
    assert r.returncode == 0, r.stderr
    assert "picker deactivated" in r.stdout
    async with asyncio.timeout(1):  # the running server hears it at once
        while cache.generation == before:
            await asyncio.sleep(0.005)
    assert (await client.get("/api/v1/auth/me", headers=picker)).status_code == 401
    listed = await asyncio.to_thread(_cli, "users", "list", database_url=demo_database_url)
    rows = {line.split()[0]: line.split()[1] for line in listed.stdout.splitlines()[1:]}
    assert rows == {"admin": "yes", "picker": "no", "qa": "yes", "receiver": "yes", "supervisor": "yes"}
    assert "$argon2" not in listed.stdout
    r = await asyncio.to_thread(_cli, "users", "activate", "picker", database_url=demo_database_url)
    assert r.returncode == 0 and "picker activated" in r.stdout
    assert (await client.get("/api/v1/auth/me", headers=await login(client, "picker"))).status_code == 200

    made = await asyncio.to_thread(
        _cli, "api-keys", "add", "erp-prod", "--scope", "erp:read", database_url=demo_database_url
    )
    erp_key = {"Authorization": f"Bearer {made.stdout.strip()}"}
    assert (await client.get("/api/v1/auth/me", headers=erp_key)).status_code == 200
    before = cache.generation
    r = await asyncio.to_thread(_cli, "api-keys", "revoke", "erp-prod", database_url=demo_database_url)
    assert r.returncode == 0 and "erp-prod revoked" in r.stdout
    async with asyncio.timeout(1):
        while cache.generation == before:
            await asyncio.sleep(0.005)
    assert (await client.get("/api/v1/auth/me", headers=erp_key)).status_code == 401
    keys = await asyncio.to_thread(_cli, "api-keys", "list", database_url=demo_database_url)
    assert keys.returncode == 0
    [row] = keys.stdout.splitlines()[1:]
    assert row.split()[:3] == ["erp-prod", made.stdout.strip().split("_", 2)[1], "erp:read"] and row.split()[3] != "-"
    assert made.stdout.strip().split("_", 2)[2] not in keys.stdout

    unknown = await asyncio.to_thread(_cli, "users", "deactivate", "nobody", database_url=demo_database_url)
    assert unknown.returncode == 1 and "no user 'nobody'" in unknown.stderr


async def test_users_unlock_lifts_a_lock_and_is_audited(demo_database_url, demo_db):
    from sqlalchemy import text

    async with demo_db.begin() as s:
        await s.execute(
            text(
                "UPDATE users SET failed_attempts = 2, locked_until = now() + interval '10 minutes' WHERE username = 'qa'"
            )
        )
    env = _env(DATABASE_URL=demo_database_url)
    r = subprocess.run([*UDIPICK, "users", "unlock", "QA"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "user qa unlocked; 2 failed attempt(s) forgotten"
    async with demo_db() as s:
        assert tuple(
            await s.execute(text("SELECT failed_attempts, locked_until FROM users WHERE username = 'qa'"))
        ) == ((0, None),)
        audit = (
            await s.execute(
                text("SELECT username, outcome, target, detail FROM audit_log WHERE action = 'user.unlocked'")
            )
        ).all()
    assert [tuple(a) for a in audit] == [("cli", "ok", "user:qa", {"wasLocked": True, "failedAttempts": 2})]
    r = subprocess.run([*UDIPICK, "users", "unlock", "nobody"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "no user 'nobody'" in r.stderr
