"""Who may call an endpoint, and the request-scoped values handlers receive."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.config import Settings
from udipick.domain.access import ANY_USER, Access, Actor, access, permits
from udipick.domain.errors import NotAuthenticated, PermissionDenied
from udipick.services.identity import resolve_bearer


def allow(*roles: str, scopes: tuple[str, ...] = (), public: bool = False, any_user: bool = False) -> dict[str, Any]:
    """Handler keyword arguments stating who may call it (also shown in the OpenAPI description)."""
    rule = access(*(ANY_USER if any_user else roles), scopes=scopes, public=public)
    return {"opt": {"access": rule}, "description": f"Who may call: {rule.describe()}."}


def _bearer(connection: ASGIConnection) -> str | None:
    header = connection.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
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
        raise NotAuthenticated("sign in first: send 'Authorization: Bearer <token>'")
    actor = await resolve_bearer(connection.app.state.db, token, connection.headers.get("x-device-id"))
    if not permits(rule, actor):
        raise PermissionDenied(f"{actor.label} may not do this; allowed: {rule.describe()}", allowed=rule.describe())
    connection.state.actor = actor


def provide_actor(request: ASGIConnection) -> Actor:
    return request.state.actor


def provide_db(request: ASGIConnection) -> async_sessionmaker:
    return request.app.state.db


def provide_settings(request: ASGIConnection) -> Settings:
    return request.app.state.settings


# handler parameter types: ``db: Db``, ``actor: CurrentActor``, ``settings: AppSettings``
Db = NamedDependency[async_sessionmaker]
CurrentActor = NamedDependency[Actor]
AppSettings = NamedDependency[Settings]
