"""Who may call an endpoint, and the request-scoped values handlers receive."""

from __future__ import annotations

import random
import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.config import Settings
from udipick.domain.access import ANY_USER, DEVICE_QUERY, Access, Actor, access, check_device, permits
from udipick.domain.errors import NotAuthenticated, PermissionDenied
from udipick.services.identity import AUTH_CHANNEL, resolve_bearer, token_digest
from udipick.services.password_checks import PasswordChecks
from udipick.services.printing import LabelRenderer


def allow(*roles: str, scopes: tuple[str, ...] = (), public: bool = False, any_user: bool = False) -> dict[str, Any]:
    """Handler keyword arguments stating who may call it (also shown in the OpenAPI description)."""
    rule = access(*(ANY_USER if any_user else roles), scopes=scopes, public=public)
    return {"opt": {"access": rule}, "description": f"Who may call: {rule.describe()}."}


def bearer_token(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value; ``None`` for any other scheme."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _bearer(connection: ASGIConnection) -> str | None:
    header = connection.headers.get("authorization")
    if header:
        return bearer_token(header)
    # browsers cannot set headers on a WebSocket: accept ?access_token= there only
    if connection.scope["type"] == "websocket":
        return connection.query_params.get("access_token")
    return None


async def access_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    rule: Access | None = handler.opt.get("access")
    if rule is None and connection.scope.get("method") == "OPTIONS":
        return  # CORS pre-flight, answered by the framework without touching data
    if rule is None:
        raise PermissionDenied("this endpoint states no access rule, so nobody may call it")
    if rule.public:
        return
    token = _bearer(connection)
    if token is None:
        if connection.scope["type"] == "websocket":
            await _refuse_websocket(
                connection, CLOSE_UNAUTHENTICATED, "missing-key: send 'Authorization: Bearer <key>'"
            )
        raise NotAuthenticated("sign in first: send 'Authorization: Bearer <token>'")
    try:
        actor = await _actor_for(connection, token)
    except NotAuthenticated as exc:
        if connection.scope["type"] == "websocket":
            await _refuse_websocket(connection, CLOSE_UNAUTHENTICATED, f"{exc.code}: {exc.message}")
        raise
    if not permits(rule, actor):
        if connection.scope["type"] == "websocket":
            if actor.api_key_id is not None and rule.scopes:
                needed = f"scope {' or '.join(sorted(rule.scopes))} required"
            else:
                needed = f"role {' or '.join(sorted(rule.roles))} required"
                needed += " (a signed-in user, not an API key)" if actor.api_key_id is not None else ""
            await _refuse_websocket(connection, CLOSE_FORBIDDEN, f"permission-denied: {needed}")
        raise PermissionDenied(f"{actor.label} may not do this; allowed: {rule.describe()}", allowed=rule.describe())
    connection.state.actor = actor


#: WebSocket close codes of a refused connection (4000-4999 are the application's): 4000 + the HTTP status
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


async def _refuse_websocket(connection: ASGIConnection, code: int, reason: str) -> None:
    """Accept, then close with ``code`` and a reason a client can log, instead of the bare HTTP 403 an
    ASGI server answers a WebSocket refused before its handshake (no body, no reason a client sees).

    Raises ``WebSocketException``: the framework's WebSocket error path sends the close frame.
    """
    from litestar import WebSocket
    from litestar.exceptions import WebSocketException

    socket: WebSocket = WebSocket(connection.scope, connection.receive, connection.send)
    await socket.accept()
    # a close reason is at most 123 bytes (RFC 6455 5.5: a control frame's payload is 125, 2 for the code)
    raise WebSocketException(detail=reason.encode()[:123].decode(errors="ignore"), code=code)


TOKEN_CACHE_SECONDS = 5.0


class TokenCache(dict):
    """token -> (actor, remembered until (``time.monotonic``), token digest): sign-ins this process resolved.

    A sign-out, a revoked key or a deactivated user must end at once in every server process, so a
    remembered answer is trusted only while this process hears about such changes: the services
    NOTIFY ``udipick_auth`` in the changing transaction, and ``watch_auth_changes`` drops what the
    notification names. While the listening connection is down (``listening`` false) nothing is
    remembered: every request is looked up. ``generation`` moves on every notification and every
    change of ``listening``, so a look-up that overlapped one is not remembered (it may have read the
    row before the change committed).
    """

    def __init__(self) -> None:
        super().__init__()
        self.listening = False
        self.generation = 0

    def forget(self, payload: str) -> None:
        """Drop what a ``udipick_auth`` notification names (``token:<digest>``, ``user:<id>``, ``api_key:<id>``)."""
        self.generation += 1
        kind, _, ident = payload.partition(":")
        if kind == "token":
            drop = [t for t, (_, _, digest) in self.items() if digest == ident]
        elif kind == "user" and ident.isdigit():
            drop = [t for t, (actor, _, _) in self.items() if actor.user_id == int(ident)]
        elif kind == "api_key" and ident.isdigit():
            drop = [t for t, (actor, _, _) in self.items() if actor.api_key_id == int(ident)]
        else:  # a kind this version does not know: forget everything rather than guess
            self.clear()
            return
        for token in drop:
            self.pop(token, None)

    def set_listening(self, listening: bool) -> None:
        # changes made while nobody listened were missed: start from nothing either way
        self.generation += 1
        self.listening = listening
        self.clear()


def token_cache(app_state: Any) -> TokenCache:
    cache = app_state.get("token_cache")
    if cache is None:
        cache = app_state.token_cache = TokenCache()
    return cache


async def watch_auth_changes(app_state: Any, hub: Any) -> None:
    """Keep this process's token cache true to sign-outs, revoked keys and deactivated users made in any
    process: LISTEN on the outbox hub's connection, which the hub reconnects when it drops."""
    cache = token_cache(app_state)

    def changed(payload: str) -> None:
        kind, _, ident = payload.partition(":")
        if kind == "unlock":  # a sign-in lock lifted: no token changes
            app_state.password_checks.forget_lock(ident)
        else:
            cache.forget(payload)

    await hub.listen(AUTH_CHANNEL, changed, cache.set_listening)


async def actor_for_token(app_state: Any, token: str, device: str | None) -> Actor:
    """Resolve a bearer token, remembering the answer for a few seconds (``NotAuthenticated`` if refused).

    A handheld sends a scan every second or two, so the answer is remembered (``TokenCache``); a
    sign-out, a revoked key or a deactivated user ends it at once in every process. Each answer is
    remembered for a random 50-100 % of ``TOKEN_CACHE_SECONDS``: handhelds that signed in together
    would otherwise all be looked up again in the same instant, every time, a burst of slow requests
    that stalls the pick scans queued behind it.
    """
    cache = token_cache(app_state)
    hit = cache.get(token)
    now = time.monotonic()
    if hit is not None and hit[1] > now:
        actor = hit[0]
        check_device(actor, device)
        return actor
    generation = cache.generation
    actor = await resolve_bearer(app_state.db, token, device)
    if cache.listening and cache.generation == generation:
        if len(cache) > 10_000:
            cache.clear()
        cache[token] = (actor, now + TOKEN_CACHE_SECONDS * (0.5 + 0.5 * random.random()), token_digest(token))
    return actor


async def _actor_for(connection: ASGIConnection, token: str) -> Actor:
    device = connection.headers.get("x-device-id")
    if device is None and connection.scope["type"] == "websocket":
        # browsers cannot set headers on a WebSocket: the device comes with the token, as a query parameter
        device = connection.query_params.get(DEVICE_QUERY)
    return await actor_for_token(connection.app.state, token, device)


def remembered_actor(app_state: Any, token: str, device: str | None) -> Actor | None:
    """The actor ``_actor_for`` resolved ``token`` to in the last ``TOKEN_CACHE_SECONDS``, when it may
    be used from ``device``; ``None`` when the guard must decide (not remembered, expired, no or another device)."""
    cache = app_state.get("token_cache")
    hit = cache.get(token) if cache is not None else None
    if hit is None or hit[1] <= time.monotonic():
        return None
    actor = hit[0]
    if actor.device_id is not None and device != actor.device_id:
        return None
    return actor


def forget_token(connection: ASGIConnection, token: str) -> None:
    token_cache(connection.app.state).pop(token, None)


def client_address(connection: ASGIConnection) -> str:
    """Who to count a failed password check against. ``X-Forwarded-For`` only when the settings trust
    it (anyone can send the header), and then its last entry: the one the proxy in front added."""
    settings: Settings = connection.app.state.settings
    if settings.trust_x_forwarded_for and (forwarded := connection.headers.get("x-forwarded-for")):
        if last := forwarded.rsplit(",", 1)[-1].strip():
            return last[:64]
    return connection.client.host if connection.client else "unknown"


def password_checks(connection: ASGIConnection) -> PasswordChecks:
    return connection.app.state.password_checks


def provide_actor(request: ASGIConnection) -> Actor:
    return request.state.actor


def provide_db(request: ASGIConnection) -> async_sessionmaker:
    return request.app.state.db


def provide_settings(request: ASGIConnection) -> Settings:
    return request.app.state.settings


def provide_labels(request: ASGIConnection) -> LabelRenderer:
    """The label renderer ``create_app`` wired in (the ZPL templates), handed to the printing services."""
    return request.app.state.labels


# handler parameter types: ``db: Db``, ``actor: CurrentActor``, ``settings: AppSettings``, ``labels: Labels``
Db = NamedDependency[async_sessionmaker]
CurrentActor = NamedDependency[Actor]
AppSettings = NamedDependency[Settings]
Labels = NamedDependency[LabelRenderer]
