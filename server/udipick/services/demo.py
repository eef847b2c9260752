"""A coherent demo warehouse, loaded through the same ERP inbound services a real ERP uses.

Loading twice changes nothing (same ERP versions; opening stock only once). Expiries are relative
to today so FEFO, short-dated and expired cases are always there to try.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.config import Settings
from udipick.db.ledger import Movement, post_movements
from udipick.db.models import Item, Location, Lot, Serial, StockLedger, User
from udipick.domain.access import Actor
from udipick.domain.errors import Conflict
from udipick.domain.gs1_numbers import gs1_check_digit
from udipick.services import erp_inbound as erp
from udipick.services import site as site_record
from udipick.services.identity import add_user

#: the demo company: GLN and SSCCs under the demo company prefix 0614141
DEMO_SITE = site_record.SiteIn(
    company_name="优迪医疗器械（上海）有限公司",
    gln="0614141000005",
    gs1_company_prefix="0614141",
    address_lines=["浦东新区张江路 100 号 3 号库"],
    city="上海",
    postal_code="201203",
    licences=[
        site_record.Licence(kind="医疗器械经营许可证", number="沪浦食药监械经营许20260001号"),
        site_record.Licence(kind="第二类医疗器械经营备案凭证", number="沪浦食药监械经营备20260002号"),
    ],
)

DEMO_USERS: list[tuple[str, str, list[str]]] = [
    ("picker", "picker-demo", ["picker"]),
    ("receiver", "receiver-demo", ["receiver"]),
    ("supervisor", "supervisor-demo", ["supervisor"]),
    ("qa", "qa-demo", ["qa"]),
    ("admin", "admin-demo", ["admin"]),
]


def demo_gtin(item_ref: int, indicator: int = 0) -> str:
    """GTIN-14 under the demo company prefix 0614141; ``indicator`` 1-8 for pack levels."""
    digits = f"{indicator}0614141{item_ref:05d}"
    return digits + str(gs1_check_digit(digits))


ITEMS: list[dict[str, Any]] = [
    dict(
        erpId="SYR-10ML",
        specification="10ml 鲁尔锁接",
        registrationNo="苏械注准20193140123",
        registrationHolder="苏州示范医疗器械有限公司",
        deviceClass="III",
        registrationValidDays=900,
        name="Sterile syringe 10 ml, Luer lock",
        ref=1001,
        baseUnit="EA",
        lotTracked=True,
        expiryTracked=True,
        minShelfLifeDays=60,
        packs=[("box", 1, 100), ("case", 2, 1000)],
    ),
    dict(
        erpId="STENT-DES-3018",
        specification="3.0mm×18mm",
        registrationNo="国械注进20203130456",
        registrationHolder="MedTec Devices GmbH",
        deviceClass="III",
        registrationValidDays=1200,
        name="Drug-eluting coronary stent 3.0 x 18 mm",
        ref=1002,
        baseUnit="EA",
        lotTracked=True,
        serialTracked=True,
        expiryTracked=True,
        minShelfLifeDays=90,
        packs=[],
    ),
    dict(
        erpId="PEN-NDL-4MM",
        specification="32G×4mm",
        registrationNo="国械注进20183150789",
        registrationHolder="MedTec Devices GmbH",
        deviceClass="III",
        registrationValidDays=600,
        name="Insulin pen needle 32G 4 mm (2-8 °C)",
        ref=1003,
        baseUnit="EA",
        lotTracked=True,
        expiryTracked=True,
        minTempC=2,
        maxTempC=8,
        minShelfLifeDays=30,
        packs=[("box", 1, 100)],
    ),
    dict(
        erpId="GLOVE-NIT-M",
        specification="M 号 无粉",
        registrationNo="沪械注准20202140321",
        registrationHolder="上海示范防护用品有限公司",
        deviceClass="II",
        registrationValidDays=1500,
        name="Nitrile examination gloves, size M",
        ref=1004,
        baseUnit="EA",
        lotTracked=True,
        expiryTracked=True,
        packs=[("box", 1, 10), ("case", 2, 100)],
    ),
    dict(
        erpId="SCREW-CORT-45",
        specification="Φ4.5mm×40mm",
        registrationNo="国械注进20173130654",
        registrationHolder="Ortho Implants Inc.",
        deviceClass="III",
        registrationValidDays=300,
        name="Cortical bone screw 4.5 x 40 mm",
        ref=1005,
        baseUnit="EA",
        lotTracked=True,
        expiryTracked=False,
        hibcLic="A123",
        hibcPcn="SCREW45",
        packs=[],
    ),
    dict(
        erpId="CATH-IMP-6F",
        specification="6F 100cm",
        registrationNo="国械注进20213030987",
        registrationHolder="MedTec Devices GmbH",
        deviceClass="III",
        registrationValidDays=1000,
        name="Imported guiding catheter 6F (bonded)",
        ref=1006,
        baseUnit="EA",
        lotTracked=True,
        expiryTracked=True,
        bonded=True,
        packs=[],
    ),
    dict(
        erpId="IMPLANT-QC",
        specification="32mm",
        registrationNo="国械注进20193130222",
        registrationHolder="Ortho Implants Inc.",
        deviceClass="III",
        registrationValidDays=800,
        name="Hip implant head 32 mm (QC on receipt)",
        ref=1007,
        baseUnit="EA",
        lotTracked=True,
        serialTracked=True,
        expiryTracked=True,
        qcRequired=True,
        packs=[],
    ),
    dict(
        erpId="DRESS-MA-10",
        specification="10 x 10 cm 无菌",
        registrationNo="苏械注准20222140456",
        registrationHolder="苏州示范医疗器械有限公司",
        deviceClass="II",
        registrationValidDays=700,
        name="Sterile wound dressing 10 x 10 cm (MA code)",
        ref=1008,
        baseUnit="EA",
        lotTracked=True,
        expiryTracked=True,
        # registered with MA (IDcode): its labels and the handheld's scans carry MA codes, not GS1
        udiAgency="ma",
        maDi="MA.156.M0.100001.10080016",
        packs=[("box", 1, 10)],
        packMaDis={"box": "MA.156.M0.100001.20080013"},
    ),
]

# (code, zone, type, pick sequence)
LOCATIONS: list[tuple[str, str, str, int]] = [
    ("RCV-01", "DOCK", "receiving", 0),
    ("QC-01", "QC", "quarantine", 0),
    *[(f"A-01-{i:02d}", "A", "pick", 100 + i) for i in range(1, 7)],
    *[(f"A-02-{i:02d}", "A", "pick", 200 + i) for i in range(1, 7)],
    *[(f"R-01-{i:02d}", "R", "reserve", 500 + i) for i in range(1, 5)],
    ("COLD-01", "COLD", "cold", 300),
    ("COLD-02", "COLD", "cold", 301),
    ("BOND-01", "BOND", "bonded", 400),
    ("SHIP-01", "SHIP", "shipping", 900),
    # quarantine cages inside the cold room and the bonded area (receiving: cold / bonded stock awaiting QC)
    ("QC-COLD-01", "COLD", "quarantine", 0),
    ("QC-BOND-01", "BOND", "quarantine", 0),
]

# (item, lot, expiry offset days (None: no expiry), production offset, location, quantity, serials)
OPENING_STOCK: list[tuple[str, str, int | None, int, str, int, list[str]]] = [
    ("SYR-10ML", "SY2401A", 45, -300, "A-01-01", 40, []),  # short-dated for a 60-day customer
    ("SYR-10ML", "SY2405B", 200, -150, "A-01-02", 120, []),
    ("SYR-10ML", "SY2405C", 200, -150, "A-01-02", 50, []),  # same expiry: a picker may take it instead (swap)
    ("SYR-10ML", "SY2409C", 500, -20, "A-01-02", 60, []),  # expires later: taking it first is a FEFO violation
    ("SYR-10ML", "SY2409C", 500, -20, "R-01-01", 1000, []),
    ("SYR-10ML", "SY2312X", -10, -400, "A-01-03", 15, []),  # expired
    ("GLOVE-NIT-M", "GL-77-01", 120, -200, "A-02-01", 200, []),
    ("GLOVE-NIT-M", "GL-77-02", 365, -30, "A-02-02", 500, []),
    ("PEN-NDL-4MM", "PN3001", 90, -60, "COLD-01", 300, []),
    ("PEN-NDL-4MM", "PN3002", 240, -10, "COLD-02", 300, []),
    ("STENT-DES-3018", "ST-A1", 300, -60, "A-02-03", 3, ["STN000101", "STN000102", "STN000103"]),
    ("STENT-DES-3018", "ST-B2", 600, -5, "A-02-04", 2, ["STN000201", "STN000202"]),
    ("SCREW-CORT-45", "SC0042", None, -100, "A-02-05", 50, []),
    ("CATH-IMP-6F", "CI-88", 400, -30, "BOND-01", 20, []),
]


async def load(
    db: async_sessionmaker, settings: Settings, *, today: dt.date | None = None
) -> list[tuple[str, str, list[str]]]:
    """Load master data, documents, opening stock and one user per role; return the demo users."""
    today = today or dt.date.today()
    for name, password, roles in DEMO_USERS:
        try:
            # the README publishes these passwords: only demo users may skip the password policy
            await add_user(db, name, password, roles, display_name=name.capitalize(), enforce_password_policy=False)
        except Conflict:
            pass
    async with db() as session:
        admin_id = await session.scalar(select(User.id).where(User.username == "admin"))
    actor = Actor(user_id=admin_id, username="admin", roles=frozenset({"admin"}), device_id="demo-loader")

    await erp.upsert_locations(
        db,
        [
            (i, erp.LocationIn(code=c, version=1, zone=z, type=t, pick_sequence=s))
            for i, (c, z, t, s) in enumerate(LOCATIONS)
        ],
        actor,
        barcode_prefix=settings.location_prefix,
    )
    await erp.upsert_master(
        db,
        erp.SUPPLIERS,
        [
            (
                1,
                erp.SupplierIn(
                    erp_id="SUP-MEDTEC",
                    version=1,
                    name="MedTec Devices GmbH",
                    gln="4012345000009",
                    over_receipt_tolerance_pct=5,
                    licence_no="沪浦食药监械经营许20210015号",
                    licence_valid_until=today + dt.timedelta(days=900),
                    first_business_approved=True,
                ),
            ),
            (
                2,
                erp.SupplierIn(
                    erp_id="SUP-ORTHO",
                    version=1,
                    name="Ortho Implants Inc. (HIBC)",
                    over_receipt_tolerance_pct=0,
                    licence_no="苏食药监械经营许20200088号",
                    licence_valid_until=today + dt.timedelta(days=400),
                    first_business_approved=True,
                ),
            ),
        ],
        actor,
    )
    await erp.upsert_master(
        db,
        erp.CUSTOMERS,
        [
            (
                1,
                erp.CustomerIn(
                    erp_id="CUST-SH-01",
                    version=1,
                    name="上海市第一人民医院",
                    gln="6901234000016",  # a GLN with its GS1 check digit: EPCIS names the customer by it
                    min_shelf_life_days=90,
                    # a hospital holds a medical institution practice licence (医疗机构执业许可证), not a trade licence
                    licence_no="42502867531010117A1001",
                    licence_valid_until=today + dt.timedelta(days=700),
                ),
            ),
            (
                2,
                erp.CustomerIn(
                    erp_id="CUST-RIVER",
                    version=1,
                    name="Riverside Clinic",
                    min_shelf_life_days=0,
                    licence_no="MA1FL8XK432050517D2192",
                    licence_valid_until=today + dt.timedelta(days=365),
                ),
            ),
        ],
        actor,
    )
    async with db() as session:
        have_site = await site_record.load_site(session) is not None
    if not have_site:  # an administrator's own site record is never overwritten
        await site_record.put_site(db, actor, DEMO_SITE)
    items = []
    for i, it in enumerate(ITEMS):
        packs = [
            erp.PackLevelIn(
                level=level,
                gtin=demo_gtin(it["ref"], indicator),
                quantity=qty,
                ma_di=it.get("packMaDis", {}).get(level),
            )
            for level, indicator, qty in it["packs"]
        ]
        items.append(
            (
                i,
                erp.ItemIn(
                    erp_id=it["erpId"],
                    version=1,
                    gtin=demo_gtin(it["ref"]),
                    name=it["name"],
                    base_unit=it["baseUnit"],
                    lot_tracked=it.get("lotTracked", False),
                    serial_tracked=it.get("serialTracked", False),
                    expiry_tracked=it.get("expiryTracked", False),
                    min_temp_c=it.get("minTempC"),
                    max_temp_c=it.get("maxTempC"),
                    min_shelf_life_days=it.get("minShelfLifeDays", 0),
                    qc_required=it.get("qcRequired", False),
                    bonded=it.get("bonded", False),
                    hibc_lic=it.get("hibcLic"),
                    hibc_pcn=it.get("hibcPcn"),
                    ma_di=it.get("maDi"),
                    udi_agency=it.get("udiAgency", "gs1"),
                    pack_levels=packs,
                    specification=it.get("specification"),
                    registration_no=it.get("registrationNo"),
                    registration_holder=it.get("registrationHolder"),
                    device_class=it.get("deviceClass"),
                    registration_valid_until=today + dt.timedelta(days=it["registrationValidDays"]),
                    first_business_approved=True,
                ),
            )
        )
    await erp.upsert_master(db, erp.ITEMS, items, actor)
    await erp.upsert_purchase_orders(
        db,
        [
            (
                1,
                erp.PurchaseOrderIn(
                    erp_id="PO-1001",
                    version=1,
                    number="PO-1001",
                    supplier="SUP-MEDTEC",
                    expected_date=today,
                    lines=[
                        erp.InboundLineIn(line_no=1, item="SYR-10ML", quantity=200),
                        erp.InboundLineIn(line_no=2, item="GLOVE-NIT-M", quantity=100),
                        erp.InboundLineIn(line_no=3, item="PEN-NDL-4MM", quantity=100),
                    ],
                ),
            ),
            (
                2,
                erp.PurchaseOrderIn(
                    erp_id="ASN-2001",
                    version=1,
                    kind="asn",
                    number="ASN-2001",
                    supplier="SUP-MEDTEC",
                    expected_date=today,
                    lines=[
                        erp.InboundLineIn(
                            line_no=1,
                            item="STENT-DES-3018",
                            quantity=3,
                            expected=[
                                erp.ExpectedLotIn(
                                    lot="ST-C3",
                                    expiry=today + dt.timedelta(days=720),
                                    serials=["STN000301", "STN000302", "STN000303"],
                                    quantity=3,
                                )
                            ],
                        ),
                        erp.InboundLineIn(line_no=2, item="IMPLANT-QC", quantity=2),
                    ],
                ),
            ),
            (
                3,
                erp.PurchaseOrderIn(
                    erp_id="PO-1002",
                    version=1,
                    number="PO-1002",
                    supplier="SUP-ORTHO",
                    lines=[erp.InboundLineIn(line_no=1, item="SCREW-CORT-45", quantity=20)],
                ),
            ),
            (
                4,
                # a mixed truck for the receiving walk: syringes and gloves (pack levels), cold pen
                # needles and serialised stents with ASN lot/serial expectations
                erp.PurchaseOrderIn(
                    erp_id="ASN-2002",
                    version=1,
                    kind="asn",
                    number="ASN-2002",
                    supplier="SUP-MEDTEC",
                    expected_date=today,
                    lines=[
                        erp.InboundLineIn(
                            line_no=1,
                            item="SYR-10ML",
                            quantity=300,
                            expected=[
                                erp.ExpectedLotIn(lot="SY2502A", expiry=today + dt.timedelta(days=400), quantity=300)
                            ],
                        ),
                        erp.InboundLineIn(line_no=2, item="GLOVE-NIT-M", quantity=100),
                        erp.InboundLineIn(line_no=3, item="PEN-NDL-4MM", quantity=50),
                        erp.InboundLineIn(
                            line_no=4,
                            item="STENT-DES-3018",
                            quantity=2,
                            expected=[
                                erp.ExpectedLotIn(
                                    lot="ST-D4",
                                    expiry=today + dt.timedelta(days=700),
                                    serials=["STN000401", "STN000402"],
                                    quantity=2,
                                )
                            ],
                        ),
                    ],
                ),
            ),
        ],
        actor,
    )
    ship_hospital = erp.ShipToIn(
        name="上海市第一人民医院 设备科", address_lines=["武进路85号"], city="上海", postal_code="200080", country="CN"
    )
    ship_clinic = erp.ShipToIn(
        name="Riverside Clinic", address_lines=["12 River Road"], city="Suzhou", postal_code="215000", country="CN"
    )
    await erp.upsert_sales_orders(
        db,
        [
            (
                1,
                erp.SalesOrderIn(
                    erp_id="SO-5001",
                    version=1,
                    number="SO-5001",
                    customer="CUST-SH-01",
                    ship_to=ship_hospital,
                    priority=2,
                    lines=[
                        erp.OutboundLineIn(line_no=1, item="SYR-10ML", quantity=30),
                        erp.OutboundLineIn(line_no=2, item="STENT-DES-3018", quantity=2),
                    ],
                ),
            ),
            (
                2,
                erp.SalesOrderIn(
                    erp_id="SO-5002",
                    version=1,
                    number="SO-5002",
                    customer="CUST-RIVER",
                    ship_to=ship_clinic,
                    lines=[
                        erp.OutboundLineIn(line_no=1, item="GLOVE-NIT-M", quantity=20),
                        erp.OutboundLineIn(line_no=2, item="PEN-NDL-4MM", quantity=10),
                        erp.OutboundLineIn(line_no=3, item="SYR-10ML", quantity=10),
                    ],
                ),
            ),
        ],
        actor,
    )
    await _opening_stock(db, actor, today)
    return DEMO_USERS


async def _opening_stock(db: async_sessionmaker, actor: Actor, today: dt.date) -> None:
    async with db.begin() as session:
        if await session.scalar(select(func.count()).select_from(StockLedger)):
            return
        items = dict((await session.execute(select(Item.erp_id, Item.id))).all())
        locations = dict((await session.execute(select(Location.code, Location.id))).all())
        movements = []
        for item, lot, exp, prod, loc, qty, serials in OPENING_STOCK:
            lot_id = await session.scalar(select(Lot.id).where(Lot.item_id == items[item], Lot.lot == lot))
            if lot_id is None:
                lot_id = await session.scalar(
                    Lot.__table__.insert()
                    .values(
                        item_id=items[item],
                        lot=lot,
                        expiry=today + dt.timedelta(days=exp) if exp is not None else None,
                        production_date=today + dt.timedelta(days=prod),
                    )
                    .returning(Lot.id)
                )
            common = dict(
                item_id=items[item],
                lot_id=lot_id,
                to_location_id=locations[loc],
                to_status="available",
                document_type="opening-balance",
                document_id="DEMO",
            )
            if serials:
                for s in serials:
                    serial_id = await session.scalar(
                        Serial.__table__.insert()
                        .values(item_id=items[item], serial=s, lot_id=lot_id, location_id=locations[loc])
                        .returning(Serial.id)
                    )
                    movements.append(Movement("receipt", quantity=1, serial_id=serial_id, **common))
            else:
                movements.append(Movement("receipt", quantity=qty, **common))
        await post_movements(session, actor, movements)
