"""People, ERP keys and the site record, for administrators: list, deactivate / reactivate a user, revoke a
key; read and replace the site record (company, address, GLN, licences) behind labels and EPCIS; the audit
trail: verify its hash chain, export a period as NDJSON (docs/audit.md).

Each change is audited and ends the sign-ins it affects at once, on every server process
(``identity.AUTH_CHANNEL``). Lists never carry a password hash, a key or its hash.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Response, Router, get, post, put
from litestar.params import JSONBody, QueryParameter
from litestar.response import Stream

from udipick.api.deps import CurrentActor, Db, allow
from udipick.domain.errors import InvalidRecord
from udipick.services import audit, identity, site
from udipick.services.identity import ApiKeySummary, UserSummary

ADMIN = allow("admin", scopes=("admin",))
#: the audit trail is read by QA too (an inspection is theirs to answer)
AUDIT_READ = allow("admin", "qa", scopes=("admin",))
NDJSON = "application/x-ndjson"


@get("/users", summary="Every user, active or not", **ADMIN)
async def list_users(db: Db) -> list[UserSummary]:
    return await identity.list_users(db)


@post("/users/{username:str}/deactivate", status_code=200, summary="Deactivate a user and end their sign-ins", **ADMIN)
async def deactivate_user(username: str, db: Db, actor: CurrentActor) -> UserSummary:
    """The user can no longer sign in, and every handheld they are signed in on is refused at its next request."""
    return await identity.set_user_active(db, actor, username, False)


@post("/users/{username:str}/activate", status_code=200, summary="Reactivate a user", **ADMIN)
async def activate_user(username: str, db: Db, actor: CurrentActor) -> UserSummary:
    """The user may sign in again (sign-ins ended by the deactivation stay ended)."""
    return await identity.set_user_active(db, actor, username, True)


@get("/api-keys", summary="Every ERP key, revoked or not (never the key)", **ADMIN)
async def list_api_keys(db: Db) -> list[ApiKeySummary]:
    return await identity.list_api_keys(db)


@post("/api-keys/{name:str}/revoke", status_code=200, summary="Revoke an ERP key for good", **ADMIN)
async def revoke_api_key(name: str, db: Db, actor: CurrentActor) -> ApiKeySummary:
    """Refused at its next request on every server process; revoking it again changes nothing."""
    return await identity.revoke_api_key(db, actor, name)


@get("/site", summary="The site record", **ADMIN)
async def get_site(db: Db) -> site.Site:
    """``not-found`` until an administrator has set it."""
    return await site.get_site(db)


@put("/site", summary="Replace the site record", **ADMIN)
async def put_site(data: JSONBody[site.SiteIn], db: Db, actor: CurrentActor) -> site.Site:
    """The GLN must carry a correct GS1 check digit and begin with ``gs1CompanyPrefix`` (``invalid-gln``).
    The next SSCC label's FROM block and the EPCIS export's places and parties follow at once."""
    return await site.put_site(db, actor, data)


@get("/audit/verify", summary="Recompute the audit hash chain and name the first broken record", **AUDIT_READ)
async def verify_audit(db: Db) -> audit.AuditVerified:
    """Seals what is final, then recomputes every link (docs/audit.md). ``ok`` false names the first link
    that does not follow and the record it seals; the answer is 200 either way (the check ran)."""
    return await audit.verify(db)


class AuditLine(msgspec.Struct, rename="camel"):
    """One sealed record: its place in the chain, the hash before it, its hash, and the canonical array
    the hash covers (``["audit", id, occurredAt, ...]`` or ``["ledger", ...]``, docs/audit.md)."""

    seq: int
    prev_hash: str
    hash: str
    record: list[Any]


@get(
    "/audit",
    summary="Audit records of a period (NDJSON, chain order)",
    media_type=NDJSON,
    response_description="One AuditLine per line (NDJSON), in chain order.",
    **AUDIT_READ,
)
async def export_audit(
    db: Db,
    since: Annotated[dt.datetime, QueryParameter(name="from", description="first instant (inclusive), ISO 8601")],
    until: Annotated[dt.datetime, QueryParameter(name="to", description="last instant (exclusive), ISO 8601")],
) -> Response[AuditLine]:
    """Streams audit records and ledger movements that occurred in ``[from, to)``, sealed first."""
    for name, value in (("from", since), ("to", until)):
        if value.tzinfo is None:
            raise InvalidRecord(f"{name} needs a time zone (e.g. 2026-12-01T00:00:00Z)", pointer=f"/{name}")
    if until <= since:
        raise InvalidRecord("to must be later than from", pointer="/to")
    return Stream(audit.export(db, since, until), media_type=NDJSON)


admin_router = Router(
    path="/api/v1/admin",
    route_handlers=[
        list_users,
        deactivate_user,
        activate_user,
        list_api_keys,
        revoke_api_key,
        verify_audit,
        export_audit,
        get_site,
        put_site,
    ],
    tags=["Administration"],
)
