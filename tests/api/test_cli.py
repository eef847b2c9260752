"""The CLI end to end: ``udipick serve --demo`` on an embedded PostgreSQL, and the commands that work
beside it on the same data directory."""

from __future__ import annotations

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
    proc = subprocess.Popen([*UDIPICK, "serve", "--demo", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
        assert httpx.get(base + "/readyz").json()["status"] == "ready"
        r = httpx.post(base + "/api/v1/auth/login", json={"username": "supervisor", "password": "supervisor-demo", "deviceId": "d"})
        assert r.status_code == 200

        added = subprocess.run([*UDIPICK, "users", "add", "Lin.Wei", "--role", "picker", "--role", "receiver"], input="s3cret-pw\n",
                               env=env, capture_output=True, text=True, timeout=60)
        assert added.returncode == 0, added.stderr
        r = httpx.post(base + "/api/v1/auth/login", json={"username": "lin.wei", "password": "s3cret-pw", "deviceId": "d"})
        assert r.status_code == 200 and r.json()["user"]["roles"] == ["picker", "receiver"]

        dup = subprocess.run([*UDIPICK, "users", "add", "lin.wei", "--role", "qa"], input="whatever1\n", env=env, capture_output=True, text=True, timeout=60)
        assert dup.returncode == 1 and "already exists" in dup.stderr

        key = subprocess.run([*UDIPICK, "api-keys", "add", "erp-prod", "--scope", "erp:write"], env=env, capture_output=True, text=True, timeout=60)
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
    r = subprocess.run([*UDIPICK, "db", "upgrade"], env=_env(DATABASE_URL="mysql://x/y"), capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "DATABASE_URL must be a PostgreSQL URL" in r.stderr


def test_unknown_role_is_refused_by_the_cli():
    r = subprocess.run([*UDIPICK, "users", "add", "x", "--role", "janitor"], env=_env(), capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "invalid choice" in r.stderr


@pytest.mark.parametrize("argv", [["db", "upgrade"]])
def test_db_upgrade_on_a_configured_server(database_url, argv):
    r = subprocess.run([*UDIPICK, *argv], env=_env(DATABASE_URL=database_url), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "at head" in r.stdout


async def test_users_unlock_lifts_a_lock_and_is_audited(demo_database_url, demo_db):
    from sqlalchemy import text

    async with demo_db.begin() as s:
        await s.execute(text("UPDATE users SET failed_attempts = 2, locked_until = now() + interval '10 minutes' WHERE username = 'qa'"))
    env = _env(DATABASE_URL=demo_database_url)
    r = subprocess.run([*UDIPICK, "users", "unlock", "QA"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "user qa unlocked; 2 failed attempt(s) forgotten"
    async with demo_db() as s:
        assert tuple(await s.execute(text("SELECT failed_attempts, locked_until FROM users WHERE username = 'qa'"))) == ((0, None),)
        audit = (await s.execute(text("SELECT username, outcome, target, detail FROM audit_log WHERE action = 'user.unlocked'"))).all()
    assert [tuple(a) for a in audit] == [("cli", "ok", "user:qa", {"wasLocked": True, "failedAttempts": 2})]
    r = subprocess.run([*UDIPICK, "users", "unlock", "nobody"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "no user 'nobody'" in r.stderr
