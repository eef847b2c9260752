"""People, devices and ERP keys: sign-in, bearer tokens, API keys, electronic signatures."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.db.models import ApiKey, AuditEntry, DeviceToken, User
from udipick.db.pg import connection as pg_connection
from udipick.domain.access import ROLES, SCOPES, Actor
from udipick.domain.errors import Conflict, InvalidRecord, NotAuthenticated, SignatureRejected

_hasher = PasswordHasher()
# a hash of nothing in particular, so an unknown user costs the same time as a wrong password
_DUMMY_HASH = _hasher.hash("udipick-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def audit(
    session: AsyncSession,
    actor: Actor | None,
    action: str,
    outcome: str,
    *,
    target: str | None = None,
    username: str | None = None,
    device_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        insert(AuditEntry).values(
            user_id=actor.user_id if actor else None,
            username=(actor.username if actor else None) or username,
            api_key_id=actor.api_key_id if actor else None,
            device_id=(actor.device_id if actor else None) or device_id,
            action=action,
            target=target,
            outcome=outcome,
            detail=detail,
        )
    )


async def add_user(
    db: async_sessionmaker, username: str, password: str, roles: list[str], *, display_name: str | None = None
) -> int:
    username = username.strip().lower()
    if not username or len(username) > 64:
        raise InvalidRecord("user name must be 1 to 64 characters", pointer="/username")
    bad = set(roles) - ROLES
    if bad or not roles:
        raise InvalidRecord(f"unknown role {sorted(bad)}; roles are {', '.join(sorted(ROLES))}", pointer="/roles")
    if len(password) < 6:
        raise InvalidRecord("password must have at least 6 characters", pointer="/password")
    async with db.begin() as session:
        try:
            user_id = await session.scalar(
                insert(User)
                .values(username=username, display_name=display_name or username, password_hash=hash_password(password), roles=roles)
                .returning(User.id)
            )
        except IntegrityError:
            raise Conflict(f"user {username!r} already exists", username=username) from None
        await audit(session, None, "user.added", "ok", target=f"user:{username}", username="cli", detail={"roles": roles})
    return int(user_id)  # type: ignore[arg-type]


async def login(db: async_sessionmaker, username: str, password: str, device_id: str, *, ttl_hours: int) -> tuple[str, User]:
    """Check the password (argon2) and issue a bearer token bound to ``device_id``."""
    username = username.strip().lower()
    async with db.begin() as session:
        user = await session.scalar(select(User).where(User.username == username))
        ok = verify_password(user.password_hash if user else _DUMMY_HASH, password) and bool(user and user.active)
        if not ok or user is None:
            await audit(session, None, "login", "failed", username=username, device_id=device_id)
        else:
            token = "udt_" + secrets.token_urlsafe(32)
            await session.execute(
                insert(DeviceToken).values(
                    token_hash=_digest(token),
                    user_id=user.id,
                    device_id=device_id,
                    expires_at=_now() + dt.timedelta(hours=ttl_hours),
                )
            )
            await audit(session, Actor(user_id=user.id, username=user.username, device_id=device_id), "login", "ok")
            return token, user
    raise NotAuthenticated("user name or password is wrong")


async def logout(db: async_sessionmaker, token: str) -> None:
    async with db.begin() as session:
        await session.execute(update(DeviceToken).where(DeviceToken.token_hash == _digest(token)).values(revoked_at=_now()))


async def add_api_key(db: async_sessionmaker, name: str, scopes: list[str]) -> str:
    """Create an ERP key; only its digest is stored, so the key is shown this once."""
    bad = set(scopes) - SCOPES
    if bad or not scopes:
        raise InvalidRecord(f"unknown scope {sorted(bad)}; scopes are {', '.join(sorted(SCOPES))}", pointer="/scopes")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = f"udk_{prefix}_{secret}"
    async with db.begin() as session:
        try:
            await session.execute(insert(ApiKey).values(name=name, prefix=prefix, key_hash=_digest(key), scopes=scopes))
        except IntegrityError:
            raise Conflict(f"API key {name!r} already exists", name=name) from None
        await audit(session, None, "api_key.added", "ok", target=f"api_key:{name}", username="cli", detail={"scopes": scopes})
    return key


_API_KEY = "SELECT id, name, key_hash, scopes FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL"
_DEVICE_TOKEN = """SELECT t.device_id, t.expires_at, u.id, u.username, u.roles, u.active
  FROM device_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL"""


async def prepare_statements(conn: asyncpg.Connection) -> None:
    """Prepare the bearer look-ups on a new hot-pool connection (with values that match nothing)."""
    await conn.fetchrow(_API_KEY, "")
    await conn.fetchrow(_DEVICE_TOKEN, "")


async def resolve_bearer(db: async_sessionmaker, token: str, device_header: str | None) -> Actor:
    """Map an ``Authorization: Bearer`` value to an actor, or refuse.

    Every handheld's token is looked up again every few seconds (``api.deps``), so this is one
    prepared statement on the hot pool rather than an ORM query.
    """
    async with pg_connection(db) as conn:
        if token.startswith("udk_"):
            parts = token.split("_", 2)
            if len(parts) == 3:
                key = await conn.fetchrow(_API_KEY, parts[1])
                if key is not None and secrets.compare_digest(key["key_hash"], _digest(token)):
                    return Actor(api_key_id=key["id"], api_key_name=key["name"], scopes=frozenset(key["scopes"]))
            raise NotAuthenticated("API key is unknown or revoked")
        row = await conn.fetchrow(_DEVICE_TOKEN, _digest(token))
    if row is None or not row["active"]:
        raise NotAuthenticated("sign-in expired or unknown: sign in again")
    if row["expires_at"] <= _now():
        raise NotAuthenticated("sign-in expired: sign in again")
    if device_header is not None and device_header != row["device_id"]:
        raise NotAuthenticated("this token belongs to another device: sign in on this device")
    return Actor(user_id=row["id"], username=row["username"], roles=frozenset(row["roles"]), device_id=row["device_id"])


async def verify_signature(session: AsyncSession, actor: Actor, password: str, meaning: str, target: str) -> None:
    """Electronic signature (21 CFR Part 11 §11.200): the signer re-enters the password.

    A failed attempt is audited in its own transaction, so it survives the refusal's rollback.
    """
    password_hash = await session.scalar(select(User.password_hash).where(User.id == actor.user_id))
    if actor.user_id is None or password_hash is None or not verify_password(password_hash, password):
        raise SignatureRejected("password does not match: signature not applied", meaning=meaning)
    await audit(session, actor, "signature", "ok", target=target, detail={"meaning": meaning})


async def record_failed_signature(db: async_sessionmaker, actor: Actor, meaning: str, target: str) -> None:
    async with db.begin() as session:
        await audit(session, actor, "signature", "failed", target=target, detail={"meaning": meaning})


async def countersign(
    session: AsyncSession, username: str, password: str, *, roles: frozenset[str], meaning: str, target: str, device_id: str | None
) -> Actor:
    """A second person signs on this device (a supervisor approving a picker's exception).

    Returns the signer as an actor; the caller records the failed attempt after rollback when this raises.
    """
    user = await session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise SignatureRejected("user name or password does not match: approval not signed", meaning=meaning)
    if not set(user.roles) & roles:
        raise SignatureRejected(
            f"{user.username} may not approve this; it needs one of: {', '.join(sorted(roles))}", meaning=meaning
        )
    signer = Actor(user_id=user.id, username=user.username, roles=frozenset(user.roles), device_id=device_id)
    await audit(session, signer, "signature", "ok", target=target, detail={"meaning": meaning})
    return signer


async def record_failed_countersign(db: async_sessionmaker, username: str, device_id: str | None, meaning: str, target: str) -> None:
    async with db.begin() as session:
        await audit(session, None, "signature", "failed", target=target, username=username.strip().lower(),
                    device_id=device_id, detail={"meaning": meaning})
