"""The site record: who ships from here, for the SSCC label's FROM block and for EPCIS.

A receiving hospital in China checks the distributor's 医疗器械经营许可证 / 备案凭证 numbers against what
arrives; a trading partner's EPCIS repository matches places and parties by GLN. Both come from this
one record, which an administrator edits (``GET/PUT /api/v1/admin/site``). The GLN's check digit and
its company prefix are checked (``domain/site.py``) before anything is written, so every SGLN that
EPCIS names afterwards is a real GS1 key.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import Meta
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.domain import errors as e
from udipick.domain.access import Actor
from udipick.domain.site import SiteIds

Line = Annotated[str, Meta(max_length=200)]
Short = Annotated[str, Meta(min_length=1, max_length=64)]


class Licence(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """A licence or filing, e.g. kind ``医疗器械经营许可证``, number ``沪食药监械经营许20190001号``."""

    kind: Short
    number: Annotated[str, Meta(min_length=1, max_length=100)]
    issued_by: Annotated[str, Meta(max_length=200)] | None = None
    valid_until: dt.date | None = None


class SiteIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    company_name: Annotated[str, Meta(min_length=1, max_length=200)]
    gln: str
    #: the GS1 company prefix the GLN was allocated under: EPC URIs split the GLN there
    gs1_company_prefix: str
    address_lines: Annotated[list[Line], Meta(max_length=3)] = []
    city: Annotated[str, Meta(max_length=100)] = ""
    postal_code: Annotated[str, Meta(max_length=20)] = ""
    country: Annotated[str, Meta(pattern=r"^[A-Z]{2}$")] = "CN"
    licences: Annotated[list[Licence], Meta(max_length=20)] = []
    #: pickers scan a tote for an order before its first pick (batch picking: several orders on one cart);
    #: the server refuses a pick without one (``tote-required``)
    pick_requires_tote: bool = False
    #: enforce China GSP (医疗器械经营质量管理规范): receiving refuses goods from a supplier or of a product
    #: without first-business approval or with a missing or expired certificate, and a sales order for a
    #: customer without a valid business licence is held before allocation (``domain/regulatory.py``).
    #: Off by default: a site outside China, or whose ERP does not send the certificates yet, is not blocked.
    gsp_checks: bool = False


class Site(SiteIn, kw_only=True):
    updated_at: dt.datetime
    updated_by: str

    @property
    def ids(self) -> SiteIds:
        return SiteIds(self.gln, self.gs1_company_prefix)

    def label_from(self) -> dict[str, object]:
        """The SSCC label's FROM block: name, then up to 3 address lines (street, postal code and city)."""
        place = " ".join(x for x in (self.postal_code, self.city) if x)
        return {"from_name": self.company_name, "from_address": [*self.address_lines, place][:3]}


_COLUMNS = (
    "company_name, gln, gs1_company_prefix, address_lines, city, postal_code, country, licences, pick_requires_tote,"
    " gsp_checks,"
    " updated_at, updated_by"
)


async def load_site(session: AsyncSession) -> Site | None:
    row = (await session.execute(text(f"SELECT {_COLUMNS} FROM site_record WHERE id = 1"))).mappings().first()
    if row is None:
        return None
    return Site(**{**row, "licences": msgspec.convert(row["licences"], list[Licence])})


async def get_site(db: async_sessionmaker) -> Site:
    async with db() as session:
        site = await load_site(session)
    if site is None:
        raise e.NotFound("No site record yet: an administrator sets it with PUT /api/v1/admin/site.")
    return site


async def put_site(db: async_sessionmaker, actor: Actor, data: SiteIn) -> Site:
    """Replace the site record (the whole of it: a PUT)."""
    SiteIds.parse(data.gln, data.gs1_company_prefix)
    values = msgspec.to_builtins(data)
    async with db.begin() as session:
        await session.execute(
            text(
                "INSERT INTO site_record (id, company_name, gln, gs1_company_prefix, address_lines, city, postal_code,"
                " country, licences, pick_requires_tote, gsp_checks, updated_by) VALUES (1, :company_name, :gln, :prefix,"
                " CAST(:address AS jsonb), :city, :postal_code, :country, CAST(:licences AS jsonb), :tote, :gsp_checks, :by)"
                " ON CONFLICT (id) DO UPDATE SET"
                " company_name = EXCLUDED.company_name, gln = EXCLUDED.gln,"
                " gs1_company_prefix = EXCLUDED.gs1_company_prefix, address_lines = EXCLUDED.address_lines,"
                " city = EXCLUDED.city, postal_code = EXCLUDED.postal_code, country = EXCLUDED.country,"
                " licences = EXCLUDED.licences, pick_requires_tote = EXCLUDED.pick_requires_tote,"
                " gsp_checks = EXCLUDED.gsp_checks, updated_at = now(),"
                " updated_by = EXCLUDED.updated_by"
            ),
            {
                "company_name": data.company_name,
                "gln": data.gln,
                "prefix": data.gs1_company_prefix,
                "address": msgspec.json.encode(data.address_lines).decode(),
                "city": data.city,
                "postal_code": data.postal_code,
                "country": data.country,
                "licences": msgspec.json.encode(values["licences"]).decode(),
                "tote": data.pick_requires_tote,
                "gsp_checks": data.gsp_checks,
                "by": actor.username,
            },
        )
        site = await load_site(session)
    if site is None:  # pragma: no cover - written just above, in this transaction
        raise e.NotFound("The site record was not written.")
    return site
