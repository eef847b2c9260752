"""Sign-in on a handheld: a bearer token bound to that device."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.params import JSONBody
from msgspec import Meta

from udipick.api.deps import AppSettings, CurrentActor, Db, allow, client_address, forget_token, password_checks
from udipick.services import identity


class LoginIn(msgspec.Struct, rename="camel"):
    username: Annotated[str, Meta(min_length=1, max_length=64)]
    password: Annotated[str, Meta(min_length=1, max_length=256)]
    device_id: Annotated[str, Meta(min_length=1, max_length=64)]


class UserOut(msgspec.Struct, rename="camel"):
    username: str
    display_name: str
    roles: list[str]
    language: str | None = None


class LoginOut(msgspec.Struct, rename="camel"):
    token: str
    user: UserOut
    device_id: str


@post("/api/v1/auth/login", status_code=200, **allow(public=True))
async def login(data: JSONBody[LoginIn], request: Request, db: Db, settings: AppSettings) -> LoginOut:
    """Wrong passwords are counted per user and per client address: past the limits the answer is
    ``429 too-many-attempts`` with ``Retry-After`` (whatever the password), ``429 sign-in-busy`` when
    the server is checking too many passwords at once."""
    token, user = await identity.login(db, password_checks(request), data.username, data.password, data.device_id,
                                       address=client_address(request), ttl_hours=settings.token_ttl_hours)
    return LoginOut(token, UserOut(user.username, user.display_name, sorted(user.roles), user.language), data.device_id)


@post("/api/v1/auth/logout", status_code=204, **allow(any_user=True))
async def logout(request: Request, db: Db) -> None:
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    forget_token(request, token)
    await identity.logout(db, token)


class MeOut(msgspec.Struct, rename="camel"):
    username: str | None
    roles: list[str]
    device_id: str | None
    api_key: str | None
    scopes: list[str]


@get("/api/v1/auth/me", **allow(*(), any_user=True, scopes=("erp:read", "erp:write", "admin")))
async def me(actor: CurrentActor) -> MeOut:
    return MeOut(actor.username, sorted(actor.roles), actor.device_id, actor.api_key_name, sorted(actor.scopes))


@post("/api/v1/admin/users/{username:str}/unlock", status_code=200, **allow("admin", scopes=("admin",)))
async def unlock_user(username: str, db: Db, actor: CurrentActor) -> identity.Unlocked:
    """Lift a user's lock after too many failed password checks (audited as ``user.unlocked``)."""
    return await identity.unlock_user(db, username, actor=actor)
