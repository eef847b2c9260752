"""People, devices and ERP keys: sign-in, bearer tokens, API keys, electronic signatures."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import msgspec
import zxcvbn
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.db.models import ApiKey, AuditEntry, DeviceToken, User
from udipick.db.pg import connection as pg_connection
from udipick.domain.access import ROLES, SCOPES, Actor, Role, check_device
from udipick.domain.audit import SIGNATURE_MEANINGS
from udipick.domain.errors import (
    Conflict,
    DomainError,
    InvalidRecord,
    LastAdministrator,
    NotAuthenticated,
    NotFound,
    SignatureRejected,
    TooManyAttempts,
    UnknownApiKey,
    UnknownUser,
)
from udipick.domain.lockout import after_failure, retry_after
from udipick.domain.passwords import Strength
from udipick.domain.passwords import check_password as check_password_policy
from udipick.services.password_checks import DUMMY_HASH as _DUMMY_HASH
from udipick.services.password_checks import PasswordChecks, hash_password, locked_user, throttled_address

T = TypeVar("T")


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
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    signature_meaning: str | None = None,
) -> None:
    """Append one audit record in the caller's transaction (it commits or rolls back with the change).

    ``before``/``after``: the changed record's fields either side, where there is a record that changed.
    ``signature_meaning`` makes the record an e-signature's manifestation (21 CFR Part 11 §11.50): the
    signer's full name (``users.display_name``) is read in the same statement, the time is the record's.
    The audit sealer chains the record later (docs/audit.md); nothing here waits for the chain."""
    if signature_meaning is not None and signature_meaning not in SIGNATURE_MEANINGS:
        raise ValueError(f"signature meaning {signature_meaning!r} is not one of {SIGNATURE_MEANINGS}")
    user_id = actor.user_id if actor else None
    signer_name: Any = None
    if signature_meaning is not None:
        signer_name = func.coalesce(
            select(User.display_name).where(User.id == user_id).scalar_subquery(),
            (actor.label if actor else None) or username,
        )
    await session.execute(
        insert(AuditEntry).values(
            user_id=user_id,
            username=(actor.username if actor else None) or username,
            api_key_id=actor.api_key_id if actor else None,
            device_id=(actor.device_id if actor else None) or device_id,
            action=action,
            target=target,
            outcome=outcome,
            detail=detail,
            reason=reason,
            before=before,
            after=after,
            signer_name=signer_name,
            signature_meaning=signature_meaning,
        )
    )


def zxcvbn_strength(password: str, known_words: list[str] | tuple[str, ...]) -> Strength:
    """The password policy's strength estimate (zxcvbn: dictionaries, keyboard patterns, dates, l33t)."""
    result = zxcvbn.zxcvbn(password, user_inputs=list(known_words))
    feedback = result["feedback"]
    return Strength(int(result["score"]), feedback.get("warning") or "", tuple(feedback.get("suggestions") or ()))


async def add_user(
    db: async_sessionmaker,
    username: str,
    password: str,
    roles: list[str],
    *,
    display_name: str | None = None,
    enforce_password_policy: bool = True,
) -> int:
    """Add a person. ``enforce_password_policy=False`` is for the demo users only, whose published
    passwords (``picker-demo``, ...) the README lists and which no real warehouse may keep."""
    username = username.strip().lower()
    if not username or len(username) > 64:
        raise InvalidRecord("user name must be 1 to 64 characters", pointer="/username")
    bad = set(roles) - ROLES
    if bad or not roles:
        raise InvalidRecord(f"unknown role {sorted(bad)}; roles are {', '.join(sorted(ROLES))}", pointer="/roles")
    if enforce_password_policy:
        check_password_policy(
            password, username=username, display_name=display_name, roles=roles, estimate=zxcvbn_strength
        )
    async with db.begin() as session:
        try:
            user_id = await session.scalar(
                insert(User)
                .values(
                    username=username,
                    display_name=display_name or username,
                    password_hash=hash_password(password),
                    roles=roles,
                )
                .returning(User.id)
            )
        except IntegrityError:
            raise Conflict(f"user {username!r} already exists", username=username) from None
        await audit(
            session, None, "user.added", "ok", target=f"user:{username}", username="cli", detail={"roles": roles}
        )
    return int(user_id)


async def login(
    db: async_sessionmaker,
    checks: PasswordChecks,
    username: str,
    password: str,
    device_id: str,
    *,
    address: str,
    ttl_hours: int,
) -> tuple[str, User]:
    """Check the password (argon2, off the event loop) and issue a bearer token bound to ``device_id``."""

    async def issue(session: AsyncSession, user: User) -> tuple[str, User]:
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

    return await check_password(
        db,
        checks,
        username,
        password,
        Attempt("login", address, device_id=device_id),
        accept=lambda user: user.active,
        refusal=NotAuthenticated("user name or password is wrong"),
        then=issue,
    )


@dataclass(frozen=True, slots=True)
class Attempt:
    """What a password is checked for, as the audit log records a failure: ``login`` or ``signature``."""

    action: str
    address: str
    actor: Actor | None = None
    device_id: str | None = None
    target: str | None = None
    detail: dict[str, Any] | None = None


async def check_password(
    db: async_sessionmaker,
    checks: PasswordChecks,
    username: str,
    password: str,
    attempt: Attempt,
    *,
    accept: Callable[[User], bool],
    refusal: DomainError,
    then: Callable[[AsyncSession, User], Awaitable[T]],
) -> T:
    """Check ``username``'s password and, if it is right and ``accept`` lets the user act, run ``then``
    in the transaction that clears the user's failures. Otherwise count the failure, audit it and raise
    ``refusal``: one answer whatever was wrong (no such user, wrong password, inactive, not allowed).

    Before any password is checked: ``TooManyAttempts`` for a throttled client address, or for a
    locked user (or an unknown name that failed as often), whether or not this password is right;
    ``SignInBusy`` when this process checks as many passwords as it may. No database connection is
    held while the password is checked.
    """
    username = username.strip().lower()
    try:
        if (wait := await checks.address_retry_after(attempt.address)) is not None:
            raise throttled_address(wait)
        if (wait := checks.noted_lock(username)) is not None:
            raise locked_user(wait)
        async with db() as session:
            user = await session.scalar(select(User).where(User.username == username))
        wait = (
            retry_after(user.locked_until, _now())
            if user is not None
            else await checks.unknown_name_retry_after(username)
        )
        if wait is not None:
            checks.refuse("name", username, wait)  # the next attempt is refused without asking PostgreSQL
            raise locked_user(wait)
        # an unknown name is checked against a dummy hash: it takes as long as a wrong password
        right = await checks.verify(
            user.password_hash if user is not None else _DUMMY_HASH,
            password,
            username=username,
            address=attempt.address,
        )
        if right and user is not None and accept(user):
            async with db.begin() as session:
                # failures that raced this check may have locked the user meanwhile: they win
                locked_until = await session.scalar(
                    select(User.locked_until).where(User.id == user.id).with_for_update()
                )
                if (wait := retry_after(locked_until, _now())) is not None:
                    raise locked_user(wait)
                if user.failed_attempts:
                    await session.execute(update(User).where(User.id == user.id).values(failed_attempts=0))
                return await then(session, user)
    except TooManyAttempts:
        # a client that sends again at once would keep the event loop busy with refusals
        await asyncio.sleep(checks.refusal_delay)
        raise
    await _count_failure(db, checks, username, user, attempt)
    raise refusal


async def _count_failure(
    db: async_sessionmaker, checks: PasswordChecks, username: str, user: User | None, attempt: Attempt
) -> None:
    """Audit a failed check and count it for the user (PostgreSQL) or the unknown name, and for the address."""
    async with db.begin() as session:
        await audit(
            session,
            attempt.actor,
            attempt.action,
            "failed",
            target=attempt.target,
            username=username,
            device_id=attempt.device_id,
            detail={**(attempt.detail or {}), "address": attempt.address},
        )
        if user is not None:
            failed = await session.scalar(select(User.failed_attempts).where(User.id == user.id).with_for_update())
            now = _now()
            outcome = after_failure(failed or 0, checks.policy, now)
            values: dict[str, Any] = {"failed_attempts": outcome.failed_attempts}
            if outcome.locked_until is not None:
                values["locked_until"] = outcome.locked_until
            await session.execute(update(User).where(User.id == user.id).values(**values))
            locked_until = outcome.locked_until
        else:
            locked_until = _now() + checks.policy.lockout if await checks.unknown_name_failed(username) else None
        if locked_until is not None:
            checks.refuse("name", username, checks.policy.lockout.total_seconds())
            await audit(
                session,
                None,
                "user.locked",
                "ok",
                target=f"user:{username}",
                username=username,
                device_id=attempt.device_id,
                detail={
                    "lockedUntil": locked_until.isoformat(),
                    "failures": checks.policy.max_failures,
                    "after": attempt.action,
                    "known": user is not None,
                    "address": attempt.address,
                },
            )
        if await checks.address_failed(attempt.address):
            checks.refuse("address", attempt.address, await checks.address_retry_after(attempt.address) or 1)
            await audit(
                session,
                None,
                "address.throttled",
                "ok",
                target=f"address:{attempt.address}",
                username=username,
                device_id=attempt.device_id,
                detail={
                    "failures": checks.policy.address_max_failures,
                    "windowSeconds": checks.policy.address_window.total_seconds(),
                },
            )


class Unlocked(msgspec.Struct, rename="camel", frozen=True):
    username: str
    #: whether a lock was in force
    was_locked: bool
    #: failed password checks counted since the last successful one, now forgotten
    failed_attempts: int


async def unlock_user(db: async_sessionmaker, username: str, *, actor: Actor | None) -> Unlocked:
    """An administrator lifts a lock (and forgets the failures counted so far); ``actor`` ``None``: the CLI."""
    username = username.strip().lower()
    async with db.begin() as session:
        row = (
            await session.execute(
                select(User.id, User.failed_attempts, User.locked_until)
                .where(User.username == username)
                .with_for_update()
            )
        ).first()
        if row is None:
            raise NotFound(f"no user {username!r}", username=username)
        await session.execute(update(User).where(User.id == row.id).values(failed_attempts=0, locked_until=None))
        # every server process forgets the lock it noted (PasswordChecks.noted_lock), when this commits
        await notify_auth_change(session, "unlock", username)
        was_locked = retry_after(row.locked_until, _now()) is not None
        await audit(
            session,
            actor,
            "user.unlocked",
            "ok",
            target=f"user:{username}",
            username=None if actor else "cli",
            detail={"wasLocked": was_locked, "failedAttempts": row.failed_attempts},
        )
    return Unlocked(username, was_locked, row.failed_attempts)


async def logout(db: async_sessionmaker, token: str, *, actor: Actor | None = None) -> None:
    async with db.begin() as session:
        ended = await session.scalar(
            update(DeviceToken)
            .where(DeviceToken.token_hash == _digest(token), DeviceToken.revoked_at.is_(None))
            .values(revoked_at=_now())
            .returning(DeviceToken.user_id)
        )
        if ended is not None:
            await audit(session, actor or Actor(user_id=ended), "logout", "ok")
        await notify_auth_change(session, "token", _digest(token))


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
        await audit(
            session, None, "api_key.added", "ok", target=f"api_key:{name}", username="cli", detail={"scopes": scopes}
        )
    return key


# ---- users and keys: list, deactivate, revoke; every change reaches every server process at once ----

#: PostgreSQL NOTIFY channel; payload ``token:<sha256 of the token>``, ``user:<id>`` or ``api_key:<id>``.
#: Each server process LISTENs on it and drops what it remembers of that sign-in (``api.deps``).
AUTH_CHANNEL = "udipick_auth"


def token_digest(token: str) -> str:
    """What a sign-in is known by outside its holder: the stored digest, never the token itself."""
    return _digest(token)


async def notify_auth_change(session: AsyncSession, kind: str, ident: str | int) -> None:
    """Tell every server process, in the changing transaction (so it is sent if, and only when, it commits)."""
    await session.execute(select(func.pg_notify(AUTH_CHANNEL, f"{kind}:{ident}")))


class UserSummary(msgspec.Struct, rename="camel"):
    """A person as an administrator sees them: never the password hash."""

    username: str
    display_name: str
    roles: list[Role]
    active: bool
    created_at: dt.datetime
    language: str | None = None


class ApiKeySummary(msgspec.Struct, rename="camel"):
    """An ERP key as an administrator sees it: never the key or its hash; ``prefix`` is the key's
    public part (``udk_<prefix>_...``), to tell which key a client holds."""

    name: str
    prefix: str
    scopes: list[str]
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def _user_out(u: User) -> UserSummary:
    return UserSummary(u.username, u.display_name, sorted(u.roles), u.active, u.created_at, u.language)


def _key_out(k: ApiKey) -> ApiKeySummary:
    return ApiKeySummary(k.name, k.prefix, sorted(k.scopes), k.created_at, k.revoked_at)


async def list_users(db: async_sessionmaker) -> list[UserSummary]:
    async with db() as session:
        return [_user_out(u) for u in await session.scalars(select(User).order_by(User.username))]


#: advisory lock key (with ``pg_advisory_xact_lock``) held while a user is deactivated
ADMIN_ROSTER_LOCK = 7302


async def set_user_active(db: async_sessionmaker, actor: Actor | None, username: str, active: bool) -> UserSummary:
    """Deactivate (or reactivate) a person. Deactivating also revokes every sign-in they hold, so
    reactivating never brings an old handheld session back: they sign in again."""
    username = username.strip().lower()
    async with db.begin() as session:
        if not active:  # deactivations one at a time, so two cannot each leave the other as the last administrator
            await session.execute(select(func.pg_advisory_xact_lock(ADMIN_ROSTER_LOCK)))
        user = await session.scalar(select(User).where(User.username == username).with_for_update())
        if user is None:
            raise UnknownUser(f"no user {username!r}", username=username)
        revoked = 0
        if not active and user.active and "admin" in user.roles:
            await _keep_an_administrator(session, user)
        if not active:
            revoked = len(
                (
                    await session.execute(
                        update(DeviceToken)
                        .where(DeviceToken.user_id == user.id, DeviceToken.revoked_at.is_(None))
                        .values(revoked_at=_now())
                        .returning(DeviceToken.token_hash)
                    )
                ).all()
            )
        if user.active != active or revoked:
            user.active = active
            await audit(
                session,
                actor,
                "user.activated" if active else "user.deactivated",
                "ok",
                target=f"user:{username}",
                username=None if actor else "cli",
                detail={"signInsRevoked": revoked} if not active else None,
            )
            await notify_auth_change(session, "user", user.id)
        await session.flush()
        return _user_out(user)


async def _keep_an_administrator(session: AsyncSession, user: User) -> None:
    """Refuse to deactivate the last active administrator: nobody could then add users, revoke keys or
    unlock names from the API (the caller holds ``ADMIN_ROSTER_LOCK``)."""
    others = (
        await session.scalars(select(User.id).where(User.active, User.roles.contains(["admin"]), User.id != user.id))
    ).all()
    if not others:
        raise LastAdministrator(
            f"{user.username} is the last active administrator: make another user an administrator first",
            username=user.username,
        )


async def list_api_keys(db: async_sessionmaker) -> list[ApiKeySummary]:
    async with db() as session:
        return [_key_out(k) for k in await session.scalars(select(ApiKey).order_by(ApiKey.name))]


async def revoke_api_key(db: async_sessionmaker, actor: Actor | None, name: str) -> ApiKeySummary:
    """Revoke an ERP key for good (a new one is added under another name); revoking it again changes nothing."""
    async with db.begin() as session:
        key = await session.scalar(select(ApiKey).where(ApiKey.name == name).with_for_update())
        if key is None:
            raise UnknownApiKey(f"no API key {name!r}", name=name)
        if key.revoked_at is None:
            key.revoked_at = _now()
            await audit(
                session, actor, "api_key.revoked", "ok", target=f"api_key:{name}", username=None if actor else "cli"
            )
            await notify_auth_change(session, "api_key", key.id)
        await session.flush()
        return _key_out(key)


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
    actor = Actor(
        user_id=row["id"], username=row["username"], roles=frozenset(row["roles"]), device_id=row["device_id"]
    )
    check_device(actor, device_header)
    return actor


async def verify_signature(
    db: async_sessionmaker,
    checks: PasswordChecks,
    actor: Actor,
    password: str,
    meaning: str,
    target: str,
    *,
    address: str,
) -> None:
    """Electronic signature (21 CFR Part 11 §11.200): the signer re-enters the password.

    Checked before the caller's transaction opens (no rows locked, no connection held while argon2
    runs); a failure is audited and counted here, and the caller records the signature with
    ``signed`` in the transaction that makes the signed change.
    """

    async def nothing(session: AsyncSession, user: User) -> None:
        return None

    await check_password(
        db,
        checks,
        actor.username or f"api-key:{actor.api_key_name}",
        password,
        Attempt(
            "signature", address, actor=actor, device_id=actor.device_id, target=target, detail={"meaning": meaning}
        ),
        accept=lambda user: user.active and user.id == actor.user_id,
        refusal=SignatureRejected("password does not match: signature not applied", meaning=meaning),
        then=nothing,
    )


async def signed(
    session: AsyncSession,
    actor: Actor,
    meaning: str,
    target: str,
    *,
    signature_meaning: str = "approval",
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Record a verified signature in the transaction of the change it signs: the signer's full name,
    the time and what the signature means (21 CFR Part 11 §11.50; ``signature_meaning`` is one of
    ``domain.audit.SIGNATURE_MEANINGS``), with the reason and the signed record's before and after."""
    await audit(
        session,
        actor,
        "signature",
        "ok",
        target=target,
        detail={"meaning": meaning},
        reason=reason,
        before=before,
        after=after,
        signature_meaning=signature_meaning,
    )


async def countersign(
    db: async_sessionmaker,
    checks: PasswordChecks,
    username: str,
    password: str,
    *,
    roles: frozenset[str],
    meaning: str,
    target: str,
    device_id: str | None,
    address: str,
    signature_meaning: str = "approval",
    reason: str | None = None,
) -> Actor:
    """A second person signs on this device (a supervisor approving a picker's exception).

    Every failure gets one answer: an unknown user, a wrong password, an inactive user and a user who
    may not approve are not told apart, and take as long, so the form cannot be used to find whose
    password is what. Failures count toward the signer's lock as failed sign-ins do.
    """

    async def sign(session: AsyncSession, user: User) -> Actor:
        signer = Actor(user_id=user.id, username=user.username, roles=frozenset(user.roles), device_id=device_id)
        await signed(session, signer, meaning, target, signature_meaning=signature_meaning, reason=reason)
        return signer

    return await check_password(
        db,
        checks,
        username,
        password,
        Attempt("signature", address, device_id=device_id, target=target, detail={"meaning": meaning}),
        accept=lambda user: user.active and bool(set(user.roles) & roles),
        refusal=SignatureRejected(
            "user name or password does not match, or this user may not approve: approval not signed", meaning=meaning
        ),
        then=sign,
    )
