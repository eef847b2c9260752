"""Sign-in on a handheld: a bearer token bound to that device."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.params import JSONBody
from msgspec import Meta

from udipick.api.deps import AppSettings, CurrentActor, Db, allow, client_address, forget_token, password_checks
from udipick.api.openapi import problem_responses
from udipick.domain.access import Role
from udipick.services import identity


class LoginIn(msgspec.Struct, rename="camel"):
    username: Annotated[str, Meta(min_length=1, max_length=64)]
    password: Annotated[str, Meta(min_length=1, max_length=256)]
    device_id: Annotated[str, Meta(min_length=1, max_length=64)]


class UserOut(msgspec.Struct, rename="camel"):
    username: str
    display_name: str
    roles: list[Role]
    language: str | None = None


class LoginOut(msgspec.Struct, rename="camel"):
    token: str
    user: UserOut
    device_id: str


#: a public route documents no 401 of its own (``api/openapi.py``), but a sign-in refuses with one, and is throttled
LOGIN_PROBLEMS = problem_responses(
    {
        401: "The user name or password is wrong, or the user is deactivated: `not-authenticated`.",
        429: "Too many failed sign-ins for this user or from this address (`too-many-attempts`, with `Retry-After`),"
        " or too many passwords being checked at once (`sign-in-busy`).",
    }
)


@post("/api/v1/auth/login", status_code=200, responses=LOGIN_PROBLEMS, **allow(public=True))
async def login(data: JSONBody[LoginIn], request: Request, db: Db, settings: AppSettings) -> LoginOut:
    """Wrong passwords are counted per user and per client address: past the limits the answer is
    ``429 too-many-attempts`` with ``Retry-After`` (whatever the password), ``429 sign-in-busy`` when
    the server is checking too many passwords at once."""
    token, user = await identity.login(
        db,
        password_checks(request),
        data.username,
        data.password,
        data.device_id,
        address=client_address(request),
        ttl_hours=settings.token_ttl_hours,
    )
    return LoginOut(token, UserOut(user.username, user.display_name, sorted(user.roles), user.language), data.device_id)


@post("/api/v1/auth/logout", status_code=204, **allow(any_user=True))
async def logout(request: Request, db: Db, actor: CurrentActor) -> None:
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    forget_token(request, token)
    await identity.logout(db, token, actor=actor)


class MeOut(msgspec.Struct, rename="camel"):
    username: str | None
    roles: list[Role]
    device_id: str | None
    api_key: str | None
    scopes: list[str]


@get("/api/v1/auth/me", **allow(*(), any_user=True, scopes=("erp:read", "erp:write", "admin")))
async def me(actor: CurrentActor) -> MeOut:
    return MeOut(actor.username, sorted(actor.roles), actor.device_id, actor.api_key_name, sorted(actor.scopes))


@post("/api/v1/admin/users/{username:str}/unlock", status_code=200, **allow("admin", scopes=("admin",)))
async def unlock_user(username: str, db: Db, actor: CurrentActor, request: Request) -> identity.Unlocked:
    """Lift a user's lock after too many failed password checks (audited as ``user.unlocked``)."""
    unlocked = await identity.unlock_user(db, username, actor=actor)
    request.app.state.password_checks.forget_lock(unlocked.username)
    return unlocked
