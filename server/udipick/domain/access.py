"""Who may do what. Pure: the API declares an ``Access`` per endpoint; ``permits`` decides."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from udipick.domain.errors import DeviceIdRequired, NotAuthenticated

#: a person's roles, as answers name them (the handheld's types are generated from this)
Role = Literal["picker", "receiver", "supervisor", "qa", "admin"]
ROLES = frozenset(get_args(Role))
#: API key scopes; ``sensors:write``: a cold-chain sensor gateway posting temperature readings (GSP)
SCOPES = frozenset({"erp:write", "erp:read", "admin", "sensors:write"})


@dataclass(frozen=True, slots=True)
class Actor:
    """The person (user + device) or ERP integration (API key) behind a request."""

    user_id: int | None = None
    username: str | None = None
    roles: frozenset[str] = frozenset()
    device_id: str | None = None
    api_key_id: int | None = None
    api_key_name: str | None = None
    scopes: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return self.username or f"api-key:{self.api_key_name}"


@dataclass(frozen=True, slots=True)
class Access:
    """Roles (people) and scopes (ERP keys) that may call an endpoint. ``public`` needs no sign-in."""

    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    public: bool = False

    def describe(self) -> str:
        if self.public:
            return "public"
        parts = []
        if self.roles:
            parts.append("roles: " + ", ".join(sorted(self.roles)))
        if self.scopes:
            parts.append("API key scopes: " + ", ".join(sorted(self.scopes)))
        return "; ".join(parts) or "nobody"


def access(*roles: str, scopes: tuple[str, ...] = (), public: bool = False) -> Access:
    unknown = (set(roles) - ROLES) | (set(scopes) - SCOPES)
    if unknown:
        raise ValueError(f"unknown roles/scopes {sorted(unknown)}")
    return Access(frozenset(roles), frozenset(scopes), public)


ANY_USER = tuple(sorted(ROLES))


def permits(rule: Access, actor: Actor | None) -> bool:
    if rule.public:
        return True
    if actor is None:
        return False
    if actor.api_key_id is not None:
        return bool(rule.scopes & actor.scopes)
    return bool(rule.roles & actor.roles)


#: where a request names its device: the header on HTTP; browsers cannot set headers on a WebSocket
DEVICE_HEADER = "X-Device-Id"
DEVICE_QUERY = "device_id"


def check_device(actor: Actor, device: str | None) -> None:
    """A person's sign-in counts only from the handheld it was issued to, and the request must say which
    one it comes from: a token alone (copied from a handheld's storage or a log) is refused.
    ERP keys (no ``device_id``) are not bound to a device."""
    if actor.device_id is None:
        return
    if device is None:
        raise DeviceIdRequired(
            f"sign-in bound to a handheld: send its id in the '{DEVICE_HEADER}' header (WebSocket: ?{DEVICE_QUERY}=)",
            header=DEVICE_HEADER,
        )
    if device != actor.device_id:
        raise NotAuthenticated("this token belongs to another device: sign in on this device")
