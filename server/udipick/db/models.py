"""SQLAlchemy 2 typed models. The database holds the rules that must never break.

Constraints live in PostgreSQL (checks, uniques, foreign keys, triggers in migration 0002), not only
in Python: a GTIN is 14 digits, a serial is unique per item, stock never goes negative, the stock
ledger is append-only and stock quantities change only through it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from udipick.domain.audit import SIGNATURE_MEANINGS

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("picker", "receiver", "supervisor", "qa", "admin")
LOCATION_TYPES = ("receiving", "pick", "reserve", "quarantine", "bonded", "cold", "shipping")
LOT_STATUSES = ("released", "quarantine", "hold", "recalled", "rejected")
SERIAL_STATUSES = ("in_stock", "picked", "packed", "shipped", "hold", "rejected", "scrapped", "to_supplier")
STOCK_STATUSES = ("available", "quarantine", "hold", "rejected", "damaged", "picked", "packed", "expired")
MOVEMENTS = (
    "receipt", "putaway", "pick", "pack", "ship", "adjust", "count", "hold", "release", "move",
    "opening", "expire", "return", "scrap",
)  # fmt: skip
PACK_LEVELS = ("each", "box", "case", "pallet")
#: the NMPA's UDI issuing agencies (``domain.udi_di``): GS1, MA (IDcode) and AHM (Alibaba Health)
UDI_AGENCIES = ("gs1", "ma", "ahm")
#: the agencies whose DIs live in ``item_dis`` (GS1's are GTINs, in ``item_gtins``)
DI_AGENCIES = ("ma", "ahm")
#: China's medical-device classes (医疗器械分类): I is filed (备案), II and III are registered (注册)
DEVICE_CLASSES = ("I", "II", "III")
BASE_UNITS = ("EA", "BX", "CS", "PK", "KT", "ST", "PR")
CONTAINER_KINDS = ("lpn", "tote", "carton", "pallet")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


TS = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ErpVersioned:
    """Master data and documents pushed by the ERP: its id and a version that only moves forward."""

    erp_id: Mapped[str] = mapped_column(String(64), unique=True)
    erp_version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())


# ---- master data -------------------------------------------------------------------------


class Warehouse(Base):
    __tablename__ = "warehouses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    gln: Mapped[str | None] = mapped_column(String(13))
    __table_args__ = (CheckConstraint("gln ~ '^[0-9]{13}$'", name="gln_13_digits"),)


class SiteRecord(Base):
    """Who ships from this site: the one row behind the SSCC label's FROM block and EPCIS's places and
    parties (``domain/site.py``). ``id`` is always 1; an administrator edits it (``PUT /api/v1/admin/site``)."""

    __tablename__ = "site_record"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, server_default=text("1"))
    company_name: Mapped[str] = mapped_column(String(200))
    address_lines: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    city: Mapped[str] = mapped_column(String(100), server_default="")
    postal_code: Mapped[str] = mapped_column(String(20), server_default="")
    country: Mapped[str] = mapped_column(String(2), server_default="CN")
    gln: Mapped[str] = mapped_column(String(13))
    gs1_company_prefix: Mapped[str] = mapped_column(String(12))
    #: licences and filings a customer's receiving checks (经营许可证, 备案凭证): ``[{kind, number, ...}]``
    licences: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    #: a tote must be scanned for an order before its first pick (``domain.picking.check_tote``)
    pick_requires_tote: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    #: enforce China GSP's first-business approvals and certificate dates (``domain/regulatory.py``): off for
    #: a site elsewhere, or one whose ERP does not send the master data yet
    gsp_checks: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    updated_by: Mapped[str] = mapped_column(String(64))
    __table_args__ = (
        CheckConstraint("id = 1", name="one_row"),
        CheckConstraint("gln ~ '^[0-9]{13}$'", name="gln_13_digits"),
        CheckConstraint("gs1_company_prefix ~ '^[0-9]{4,12}$' AND starts_with(gln, gs1_company_prefix)", name="prefix"),
    )


class Location(Base):
    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    code: Mapped[str] = mapped_column(String(64))
    barcode: Mapped[str] = mapped_column(String(80), unique=True)
    zone: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(16))
    pick_sequence: Mapped[int] = mapped_column(Integer, server_default="0")
    frozen: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    #: base units the location takes (directed putaway, moves); ``None``: no limit
    capacity: Mapped[int | None] = mapped_column(Integer)
    erp_version: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (
        UniqueConstraint("warehouse_id", "code"),
        CheckConstraint(_in("type", LOCATION_TYPES), name="type_known"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        # every pick scan looks up its warehouse's first shipping (staging) location
        Index(
            "ix_locations_staging", "warehouse_id", "pick_sequence", "id", postgresql_where=text("type = 'shipping'")
        ),
    )


class Item(ErpVersioned, Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), unique=True)
    hibc_lic: Mapped[str | None] = mapped_column(String(4))
    hibc_pcn: Mapped[str | None] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(200))
    base_unit: Mapped[str] = mapped_column(String(4))
    lot_tracked: Mapped[bool] = mapped_column(Boolean)
    serial_tracked: Mapped[bool] = mapped_column(Boolean)
    expiry_tracked: Mapped[bool] = mapped_column(Boolean)
    min_temp_c: Mapped[float | None] = mapped_column(Numeric(5, 2))
    max_temp_c: Mapped[float | None] = mapped_column(Numeric(5, 2))
    min_shelf_life_days: Mapped[int] = mapped_column(Integer, server_default="0")
    qc_required: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    bonded: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    #: units the pick face should hold free beyond what open picks need from reserve (replenishment);
    #: ``None``: replenish only for that demand
    replenish_min: Mapped[int | None] = mapped_column(Integer)
    #: the ERP's ABC class for cycle counts; ``None``: classed by picks (``domain.counting.abc_classes``)
    abc_class: Mapped[str | None] = mapped_column(String(1))
    # ---- regulatory master data (China: docs/gsp.md); all optional, the ERP sends what it holds ----
    #: model and specification as registered (规格型号)
    specification: Mapped[str | None] = mapped_column(String(200))
    #: registration certificate or filing number (注册证编号 / 备案编号)
    registration_no: Mapped[str | None] = mapped_column(String(64))
    #: registrant or filer, the certificate's holder (注册人 / 备案人)
    registration_holder: Mapped[str | None] = mapped_column(String(200))
    #: I, II or III (class I devices are filed, not registered)
    device_class: Mapped[str | None] = mapped_column(String(3))
    #: last day the registration certificate is valid; ``None``: no end (a class I filing)
    registration_valid_until: Mapped[dt.date | None] = mapped_column(Date)
    #: the agency whose DI the item was registered with in the NMPA UDI database: its labels print that code
    udi_agency: Mapped[str] = mapped_column(String(3), server_default="gs1")
    #: the ERP's own first-business approval (首营品种) as it last said; ``None``: it does not say. Each change
    #: is also written to ``first_business_decisions``, whose newest row is the item's state
    erp_first_business_approved: Mapped[bool | None] = mapped_column(Boolean)
    __table_args__ = (
        CheckConstraint(_in("device_class", DEVICE_CLASSES), name="device_class_known"),
        CheckConstraint(_in("udi_agency", UDI_AGENCIES), name="udi_agency_known"),
        CheckConstraint("gtin ~ '^[0-9]{14}$'", name="gtin_14_digits"),
        CheckConstraint("abc_class IN ('A', 'B', 'C')", name="abc_class_known"),
        CheckConstraint(_in("base_unit", BASE_UNITS), name="base_unit_known"),
        CheckConstraint("replenish_min >= 0", name="replenish_min_nonneg"),
        CheckConstraint("min_shelf_life_days >= 0", name="shelf_life_nonneg"),
        CheckConstraint("min_temp_c IS NULL OR max_temp_c IS NULL OR min_temp_c <= max_temp_c", name="temp_range"),
        CheckConstraint("(hibc_lic IS NULL) = (hibc_pcn IS NULL)", name="hibc_pair"),
        UniqueConstraint("hibc_lic", "hibc_pcn"),
    )


class ItemGtin(Base):
    """Every GTIN udipick knows, base unit and pack levels alike, so one lookup maps a scan to
    its item and quantity in base units (a case of 10 counts 10)."""

    __tablename__ = "item_gtins"
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    pack_level: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[int] = mapped_column(Integer)
    hibc_uom: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint("gtin ~ '^[0-9]{14}$'", name="gtin_14_digits"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(_in("pack_level", PACK_LEVELS), name="pack_level_known"),
        UniqueConstraint("item_id", "pack_level"),
    )


class ItemDi(Base):
    """Every MA and AHM device identifier udipick knows, by pack level, so one look-up maps an MA or AHM
    scan to its item and quantity in base units, as ``item_gtins`` does for GTINs."""

    __tablename__ = "item_dis"
    agency: Mapped[str] = mapped_column(String(3), primary_key=True)
    di: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    pack_level: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint(_in("agency", DI_AGENCIES), name="agency_known"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(_in("pack_level", PACK_LEVELS), name="pack_level_known"),
        UniqueConstraint("item_id", "agency", "pack_level"),
    )


class Supplier(ErpVersioned, Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    gln: Mapped[str | None] = mapped_column(String(13))
    over_receipt_tolerance_pct: Mapped[float] = mapped_column(Numeric(5, 2), server_default="0")
    #: business licence or filing number for medical devices (经营许可证 / 经营备案凭证编号)
    licence_no: Mapped[str | None] = mapped_column(String(64))
    #: last day the licence is valid; ``None``: no end (a filing)
    licence_valid_until: Mapped[dt.date | None] = mapped_column(Date)
    #: the ERP's own first-business approval (首营企业), as ``Item.erp_first_business_approved``
    erp_first_business_approved: Mapped[bool | None] = mapped_column(Boolean)
    __table_args__ = (CheckConstraint("over_receipt_tolerance_pct >= 0", name="tolerance_nonneg"),)


class Customer(ErpVersioned, Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    gln: Mapped[str | None] = mapped_column(String(13))
    min_shelf_life_days: Mapped[int] = mapped_column(Integer, server_default="0")
    #: business licence or filing number for medical devices (经营许可证 / 经营备案凭证编号)
    licence_no: Mapped[str | None] = mapped_column(String(64))
    #: last day the licence is valid; ``None``: no end (a filing)
    licence_valid_until: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (CheckConstraint("min_shelf_life_days >= 0", name="shelf_life_nonneg"),)


# ---- batches, serials, containers, stock -------------------------------------------------------


class Lot(Base):
    __tablename__ = "lots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot: Mapped[str] = mapped_column(String(20))
    expiry: Mapped[dt.date | None] = mapped_column(Date)
    production_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), server_default="released")
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (
        UniqueConstraint("item_id", "lot"),
        CheckConstraint(_in("status", LOT_STATUSES), name="status_known"),
        Index("ix_lots_item_expiry", "item_id", "expiry"),  # FEFO: an item's lots in expiry order
        Index("ix_lots_item_production", "item_id", "production_date"),  # a recall of a production-date range
    )


class Serial(Base):
    __tablename__ = "serials"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    serial: Mapped[str] = mapped_column(String(20))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    status: Mapped[str] = mapped_column(String(12), server_default="in_stock")
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (
        UniqueConstraint("item_id", "serial"),
        CheckConstraint(_in("status", SERIAL_STATUSES), name="status_known"),
    )


class Container(Base):
    """A licence plate (LPN), tote, carton or pallet; cartons and pallets that ship carry an SSCC."""

    __tablename__ = "containers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    sscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (
        CheckConstraint(_in("kind", CONTAINER_KINDS), name="kind_known"),
        CheckConstraint("sscc ~ '^[0-9]{18}$'", name="sscc_18_digits"),
    )


class Stock(Base):
    """Quantity on hand per item, lot, serial, location, container and status, in base units.

    Maintained only by the ledger trigger (migration 0002); ``reserved`` is what allocation has
    promised to pick tasks and is never more than ``quantity``.
    """

    __tablename__ = "stock"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    serial_id: Mapped[int | None] = mapped_column(ForeignKey("serials.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    container_id: Mapped[int | None] = mapped_column(ForeignKey("containers.id"))
    status: Mapped[str] = mapped_column(String(12))
    quantity: Mapped[int] = mapped_column(Integer, server_default="0")
    reserved: Mapped[int] = mapped_column(Integer, server_default="0")
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_nonneg"),
        CheckConstraint("reserved >= 0 AND reserved <= quantity", name="reserved_within_quantity"),
        CheckConstraint(_in("status", STOCK_STATUSES), name="status_known"),
        Index(
            "uq_stock_bucket",
            "item_id",
            "lot_id",
            "serial_id",
            "location_id",
            "container_id",
            "status",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_stock_location_item", "location_id", "item_id"),
        Index("ix_stock_lot", "lot_id"),
        Index("ix_stock_item_status", "item_id", "status"),
        Index("ix_stock_container", "container_id", postgresql_where=text("container_id IS NOT NULL")),
        # the stock view corrects the rows a serial hold covers, found by serial (migration 0026)
        Index("ix_stock_serial", "serial_id", postgresql_where=text("serial_id IS NOT NULL")),
    )


class StockLedger(Base):
    """Append-only movements. Stock is the sum of this table; triggers refuse UPDATE and DELETE.

    The ids it names carry no foreign keys (each pick paid a dozen checks with row locks for them):
    the rows are read in the same statement that writes the movement, and the master data they name
    is never deleted (trigger ``udipick_retain_master``, migration 0005)."""

    __tablename__ = "stock_ledger"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    movement: Mapped[str] = mapped_column(String(10))
    item_id: Mapped[int] = mapped_column(Integer)
    lot_id: Mapped[int | None] = mapped_column(Integer)
    serial_id: Mapped[int | None] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    from_location_id: Mapped[int | None] = mapped_column(Integer)
    from_container_id: Mapped[int | None] = mapped_column(Integer)
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_location_id: Mapped[int | None] = mapped_column(Integer)
    to_container_id: Mapped[int | None] = mapped_column(Integer)
    to_status: Mapped[str | None] = mapped_column(String(12))
    user_id: Mapped[int | None] = mapped_column(Integer)
    api_key_id: Mapped[int | None] = mapped_column(Integer)
    device_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    document_type: Mapped[str | None] = mapped_column(String(32))
    document_id: Mapped[str | None] = mapped_column(String(64))
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    #: the writing transaction, for the audit sealer's horizon (0015)
    tx_id: Mapped[int] = mapped_column(BigInteger, server_default=text("(pg_current_xact_id()::text)::bigint"))
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(_in("movement", MOVEMENTS), name="movement_known"),
        CheckConstraint("from_location_id IS NOT NULL OR to_location_id IS NOT NULL", name="has_side"),
        CheckConstraint("(from_location_id IS NULL) = (from_status IS NULL)", name="from_status_with_location"),
        CheckConstraint("(to_location_id IS NULL) = (to_status IS NULL)", name="to_status_with_location"),
        # udipick itself books only the expiry sweep's status change, under the sweep's name (migration 0023)
        CheckConstraint(
            "user_id IS NOT NULL OR api_key_id IS NOT NULL OR (movement = 'expire' AND device_id IS NOT NULL)",
            name="has_actor",
        ),
        # a go-live balance only books in, and names its load (its stock is applied by the load's row, 0023)
        CheckConstraint(
            "movement <> 'opening' OR (from_location_id IS NULL AND document_type = 'opening' AND document_id IS NOT NULL)",
            name="opening_books_in",
        ),
        Index("ix_stock_ledger_item_lot", "item_id", "lot_id"),
        # the trace (recalls, migration 0012): where a lot, a serial or a carton went
        Index("ix_stock_ledger_ship_lot", "lot_id", postgresql_where=text("movement = 'ship'")),
        Index("ix_stock_ledger_serial", "serial_id", postgresql_where=text("serial_id IS NOT NULL")),
        Index("ix_stock_ledger_ship_container", "from_container_id", postgresql_where=text("movement = 'ship'")),
        Index("ix_stock_ledger_pack_container", "to_container_id", postgresql_where=text("movement = 'pack'")),
        # the KPIs of a period (migration 0015): rows that change what a warehouse holds, by time
        Index(
            "ix_stock_ledger_one_sided",
            "occurred_at",
            postgresql_include=["movement", "quantity", "from_location_id", "to_location_id"],
            postgresql_where=text("from_location_id IS NULL OR to_location_id IS NULL"),
        ),
        Index(
            "ix_stock_ledger_ship_document",
            "document_id",
            postgresql_include=["item_id", "quantity", "occurred_at"],
            postgresql_where=text("movement = 'ship'"),
        ),
        Index("ix_stock_ledger_occurred_at_brin", "occurred_at", postgresql_using="brin"),
        # the audit chain seals a transaction's ledger rows in order (migration 0016)
        Index("ix_stock_ledger_tx_id_id", "tx_id", "id"),
    )


class Hold(Base):
    """A hold on an item, lot, serial or location. While ``released_at`` is null the stock cannot move."""

    __tablename__ = "holds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    serial_id: Mapped[int | None] = mapped_column(ForeignKey("serials.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    reason: Mapped[str] = mapped_column(Text)
    #: null only for a hold that belongs to a recall the ERP opened (``recall_id``)
    placed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    placed_device: Mapped[str | None] = mapped_column(String(64))
    placed_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    released_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[dt.datetime | None] = mapped_column(TS)
    release_reason: Mapped[str | None] = mapped_column(Text)
    #: the serial recall this hold freezes a serial for (migration 0018): released only by closing the recall
    recall_id: Mapped[int | None] = mapped_column(ForeignKey("recalls.id"))
    #: the ERP key that placed it with a go-live balance held at the old system (migration 0023)
    placed_api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    __table_args__ = (
        CheckConstraint(_in("scope", ("item", "lot", "serial", "location")), name="scope_known"),
        CheckConstraint(
            "placed_by IS NOT NULL OR recall_id IS NOT NULL OR placed_api_key_id IS NOT NULL", name="has_placer"
        ),
        CheckConstraint(
            "(scope = 'item' AND item_id IS NOT NULL) OR (scope = 'lot' AND lot_id IS NOT NULL)"
            " OR (scope = 'serial' AND serial_id IS NOT NULL) OR (scope = 'location' AND location_id IS NOT NULL)",
            name="scope_target",
        ),
        Index("ix_holds_active", "scope", postgresql_where=text("released_at IS NULL")),
    )


# ---- ERP documents ------------------------------------------------------------------------------


class InboundDocument(ErpVersioned, Base):
    """A purchase order or advance shipping notice (ASN) the ERP expects at the dock."""

    __tablename__ = "inbound_documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(64))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    status: Mapped[str] = mapped_column(String(12), server_default="open")
    expected_date: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (
        CheckConstraint(_in("kind", ("purchase_order", "asn")), name="kind_known"),
        CheckConstraint(_in("status", ("open", "receiving", "closed", "cancelled")), name="status_known"),
    )


class InboundLine(Base):
    __tablename__ = "inbound_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("inbound_documents.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity_ordered: Mapped[int] = mapped_column(Integer)
    quantity_received: Mapped[int] = mapped_column(Integer, server_default="0")
    #: ASN expectations: ``[{"lot", "expiry", "serials": [...], "quantity"}]``
    expected: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    __table_args__ = (
        UniqueConstraint("document_id", "line_no"),
        CheckConstraint("quantity_ordered > 0", name="ordered_positive"),
        CheckConstraint("quantity_received >= 0", name="received_nonneg"),
    )


class OutboundDocument(ErpVersioned, Base):
    """A sales order to pick, pack and ship."""

    __tablename__ = "outbound_documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    ship_to: Mapped[dict[str, Any]] = mapped_column(JSONB)
    priority: Mapped[int] = mapped_column(Integer, server_default="5")
    allow_bonded: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(12), server_default="open")
    requested_date: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (
        CheckConstraint(
            _in("status", ("open", "released", "picking", "picked", "packed", "shipped", "cancelled")),
            name="status_known",
        ),
    )


class OutboundLine(Base):
    __tablename__ = "outbound_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("outbound_documents.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    min_shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    quantity_allocated: Mapped[int] = mapped_column(Integer, server_default="0")
    quantity_picked: Mapped[int] = mapped_column(Integer, server_default="0")
    quantity_shipped: Mapped[int] = mapped_column(Integer, server_default="0")
    #: a cancelled line is never allocated again (until the ERP sends the order anew)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(TS)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("document_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("quantity_picked <= quantity", name="no_overpick"),
    )


# ---- people, devices, integrations ---------------------------------------------------------------


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    #: failed password checks (sign-in or e-signature) since the last successful one (0009)
    failed_attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    #: no password is checked for this user before then (``UDIPICK_LOGIN_MAX_FAILURES`` reached)
    locked_until: Mapped[dt.datetime | None] = mapped_column(TS)
    __table_args__ = (
        CheckConstraint(f"roles <@ ARRAY[{', '.join(repr(r) for r in ROLES)}]::varchar[]", name="roles_known"),
        CheckConstraint("failed_attempts >= 0", name="failed_attempts_nonneg"),
        CheckConstraint("cardinality(roles) > 0", name="has_role"),
        CheckConstraint("username = lower(username)", name="username_lower"),
    )


class DeviceToken(Base):
    """A bearer token bound to the handheld it was issued to (stored as a SHA-256 digest)."""

    __tablename__ = "device_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    expires_at: Mapped[dt.datetime] = mapped_column(TS)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(TS)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(TS)


class AuditEntry(Base):
    """Who did what, when, from which device, and whether it was allowed (21 CFR Part 11 §11.10(e)).

    Append-only (trigger in 0002). Failed sign-ins and rejected e-signatures are recorded too.
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str | None] = mapped_column(String(64))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    device_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(12))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    #: why (a hold's reason, a QC note); before/after: the changed record's fields either side (0015)
    reason: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    #: an e-signature's manifestation (21 CFR Part 11 §11.50): the signer's full name and the meaning;
    #: the time is ``occurred_at``
    signer_name: Mapped[str | None] = mapped_column(String(200))
    signature_meaning: Mapped[str | None] = mapped_column(String(16))
    #: the writing transaction, for the sealer's horizon (as ``outbox_events.tx_id``)
    tx_id: Mapped[int] = mapped_column(BigInteger, server_default=text("(pg_current_xact_id()::text)::bigint"))
    __table_args__ = (
        CheckConstraint(_in("outcome", ("ok", "denied", "failed")), name="outcome_known"),
        CheckConstraint(
            "signature_meaning IS NULL OR " + _in("signature_meaning", SIGNATURE_MEANINGS),
            name="signature_meaning_known",
        ),
        CheckConstraint("(signer_name IS NULL) = (signature_meaning IS NULL)", name="signature_complete"),
        Index("ix_audit_log_tx_id_id", "tx_id", "id"),
    )


class AuditChain(Base):
    """The hash chain over ``audit_log`` and ``stock_ledger`` (docs/audit.md): one link per record, in
    the order the sealer (``udipick_seal_audit``) found them final. Append-only (0015)."""

    __tablename__ = "audit_chain"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tx_id: Mapped[int] = mapped_column(BigInteger)
    #: 0 audit_log, 1 stock_ledger
    source: Mapped[int] = mapped_column(SmallInteger)
    source_id: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary)
    hash: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (
        CheckConstraint("source IN (0, 1)", name="source_known"),
        UniqueConstraint("source", "source_id"),
    )


class OutboxEvent(Base):
    """Every state change's event, written in the same transaction as the change.

    ``tx_id`` is the writing transaction's id; the sequencer gives ``position`` (gap-free, strictly
    increasing) only to rows of transactions older than every running one, so a reader that has
    seen position N has seen everything before it.
    """

    __tablename__ = "outbox_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column(TS)
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    tx_id: Mapped[int] = mapped_column(BigInteger, server_default=text("(pg_current_xact_id()::text)::bigint"))
    position: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    __table_args__ = (
        Index("ix_outbox_unsequenced", "tx_id", "id", postgresql_where=text("position IS NULL")),
        # the KPIs (migration 0015) read two event types by time
        Index(
            "ix_outbox_events_kpi",
            "type",
            "occurred_at",
            postgresql_where=text("type IN ('wave.released.v1', 'pick.shorted.v1')"),
        ),
    )


class ScanReply(Base):
    """The first answer to a client scan id; a replay (offline queue, retry) gets it back unchanged."""

    __tablename__ = "scan_replies"
    client_scan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(Integer)
    device_id: Mapped[str | None] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (Index("ix_scan_replies_created_at_brin", "created_at", postgresql_using="brin"),)  # KPIs (0013)
