"""The print service and worker on real PostgreSQL, sending to a real local TCP "printer"."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select, text

from tests.conftest import wait_until
from tests.printing.conftest import FakePrinter, free_port
from udipick.db.models import User
from udipick.db.models_printing import PrintJob
from udipick.domain.access import Actor
from udipick.domain.errors import (
    InvalidGtin,
    InvalidLabelData,
    PrintJobAlreadySent,
    UnknownLabelTemplate,
)
from udipick.integrations.labels.render import ZplTemplates, render_label
from udipick.integrations.print_worker import Backoff, PrintWorker, send_now
from udipick.services import printing
from udipick.services.printing import PrinterSpec, queue_label

#: the templates the app wires in (api/app.py), handed to the services as their LabelRenderer
LABELS = ZplTemplates()

FAST = Backoff(base=0.05, factor=2.0, maximum=0.2)
ITEM = {"gtin": "09501101530003", "lot": "AB-12x", "expiry": dt.date(2027, 3, 31), "item_name": "Syringe 10 ml"}
SERIAL_ITEM = {**ITEM, "serial": "SN-0000000000000001"}
SSCC = {"sscc": "106141411234567897", "to_name": "上海市第一人民医院"}


async def actor(db, username: str, device: str | None = "scanner-1") -> Actor:
    async with db() as s:
        user = (await s.execute(select(User).where(User.username == username))).scalar_one()
    return Actor(user_id=user.id, username=user.username, roles=frozenset(user.roles), device_id=device)


async def add_printer(db, name: str, port: int, *, size: str = "4x6", dpi: int = 203, zone: str | None = None) -> None:
    admin = await actor(db, "admin", device=None)
    async with db() as s, s.begin():
        await printing.add_printer(
            s, admin, PrinterSpec(name=name, host="127.0.0.1", port=port, dpi=dpi, label_size=size, zone=zone)
        )


async def job(db, job_id: int) -> PrintJob:
    async with db() as s:
        return await printing.get_job(s, job_id)


async def test_a_label_with_no_printer_is_kept_as_no_printer_with_a_message_the_handheld_shows(demo_db):
    picker = await actor(demo_db, "picker")
    async with demo_db() as s, s.begin():
        ref = await queue_label(s, picker, LABELS, kind="lpn", data={"lpn": "LPN000123"}, zone="DOCK")
    assert ref.status == "no_printer" and ref.printer is None
    assert f"print job {ref.job_id}" in ref.message and "zone DOCK" in ref.message
    kept = await job(demo_db, ref.job_id)
    assert kept.status == "no_printer"
    assert kept.zpl == render_label("lpn", {"lpn": "LPN000123"}, size="4x6", dpi=203)
    assert kept.data == {"lpn": "LPN000123"} and kept.username == "picker" and kept.device_id == "scanner-1"


async def test_queue_label_writes_in_the_callers_transaction_and_does_not_commit(demo_db):
    picker = await actor(demo_db, "picker")
    async with demo_db() as s, s.begin():
        ref = await queue_label(s, picker, LABELS, kind="location", data={"code": "A-01-01"}, zone="A")
        await s.rollback()
    async with demo_db() as s:
        assert (
            await s.execute(select(func.count()).select_from(PrintJob).where(PrintJob.id == ref.job_id))
        ).scalar() == 0


@pytest.mark.parametrize(
    ("kind", "data", "error"),
    [
        ("item", {"gtin": "09501101530004"}, InvalidGtin),
        ("item", {"gtin": "09501101530003", "lot": "LOT^XZ"}, InvalidLabelData),
        ("item", {"gtin": "09501101530003", "serial": "S" * 21}, InvalidLabelData),
        ("pallet", {"sscc": "106141411234567897"}, UnknownLabelTemplate),
    ],
)
async def test_bad_label_data_refuses_the_callers_step_and_records_no_job(demo_db, kind, data, error):
    picker = await actor(demo_db, "picker")
    with pytest.raises(error):
        async with demo_db() as s, s.begin():
            await queue_label(s, picker, LABELS, kind=kind, data=data)
    async with demo_db() as s:
        assert (await s.execute(select(func.count()).select_from(PrintJob))).scalar() == 0


async def test_the_device_default_wins_over_the_zone_printer_and_a_printer_without_the_size_is_skipped(demo_db):
    await add_printer(demo_db, "dock-small", 9101, size="2x1", zone="DOCK")
    await add_printer(demo_db, "dock-big", 9102, size="4x6", zone="DOCK")
    await add_printer(demo_db, "bench-7", 9103, size="4x2", dpi=300)
    picker = await actor(demo_db, "picker", device="scanner-7")
    async with demo_db() as s, s.begin():
        sscc = await queue_label(s, picker, LABELS, kind="sscc", data=SSCC, zone="DOCK")  # no 2x1 SSCC label
        lpn_zone = await queue_label(s, picker, LABELS, kind="lpn", data={"lpn": "LPN1"}, zone="DOCK")
        await printing.set_device_printer(s, picker, "scanner-7", "bench-7")
        lpn_device = await queue_label(s, picker, LABELS, kind="lpn", data={"lpn": "LPN1"}, zone="DOCK")
    assert (sscc.printer, lpn_zone.printer, lpn_device.printer) == ("dock-big", "dock-big", "bench-7")
    assert {sscc.status, lpn_zone.status, lpn_device.status} == {"queued"}
    device_job = await job(demo_db, lpn_device.job_id)
    assert (device_job.size, device_job.dpi) == ("4x2", 300)
    assert device_job.zpl == render_label("lpn", {"lpn": "LPN1"}, size="4x2", dpi=300)


async def test_the_worker_sends_the_exact_zpl_to_the_printer_and_records_sent(demo_db, fake_printer):
    await add_printer(demo_db, "dock", fake_printer.port, zone="DOCK")
    picker = await actor(demo_db, "picker")
    async with demo_db() as s, s.begin():
        item = await queue_label(s, picker, LABELS, kind="item", data=ITEM, zone="DOCK")
        sscc = await queue_label(s, picker, LABELS, kind="sscc", data=SSCC, zone="DOCK")
    assert await PrintWorker(demo_db, timeout=2, backoff=FAST).run_once() == 2
    received = sorted(fake_printer.wait_for_jobs(2))
    assert received == sorted([render_label("item", ITEM), render_label("sscc", SSCC)])
    for ref in (item, sscc):
        sent = await job(demo_db, ref.job_id)
        assert (sent.status, sent.attempts, sent.next_attempt_at) == ("sent", 1, None)
        assert sent.sent_at is not None and printing.job_message(sent).startswith("The ")


async def test_a_printer_that_is_down_then_up_gets_the_job_after_retry_and_the_table_shows_each_state(demo_db):
    port = free_port()
    await add_printer(demo_db, "dock", port, zone="DOCK")
    picker = await actor(demo_db, "picker")
    async with demo_db() as s, s.begin():
        ref = await queue_label(s, picker, LABELS, kind="item", data=SERIAL_ITEM, zone="DOCK")
    states = [(await job(demo_db, ref.job_id)).status]
    # a backoff longer than one round can take on a loaded machine, so the round ends after one attempt
    slow = Backoff(base=1.0, factor=2.0, maximum=2.0)
    worker = PrintWorker(demo_db, timeout=1, backoff=slow)
    assert await worker.run_once() == 1  # printer off: one attempt, then due again only after the backoff
    failed = await job(demo_db, ref.job_id)
    states.append(failed.status)
    assert failed.attempts == 1 and failed.last_error and "did not take the label" in failed.last_error
    assert failed.next_attempt_at is not None and "tries again by itself" in printing.job_message(failed)
    printer = FakePrinter(port).start()
    try:

        async def due() -> bool:  # by PostgreSQL's clock, the one the worker's claim compares with
            async with demo_db() as s:
                return await s.scalar(select(PrintJob.next_attempt_at <= func.now()).where(PrintJob.id == ref.job_id))

        await wait_until(due, timeout=slow.maximum + 5)
        assert await worker.run_once() == 1
        received = printer.wait_for_jobs(1)
    finally:
        printer.stop()
    done = await job(demo_db, ref.job_id)
    states.append(done.status)
    assert states == ["queued", "failed", "sent"]
    assert received == [render_label("item", SERIAL_ITEM)]
    assert done.attempts == 2 and done.last_error == failed.last_error


async def test_after_the_last_attempt_a_failed_job_waits_for_a_person_and_retry_sends_it(demo_db):
    port = free_port()
    await add_printer(demo_db, "dock", port, zone="DOCK")
    picker = await actor(demo_db, "picker")
    async with demo_db() as s, s.begin():
        ref = await queue_label(s, picker, LABELS, kind="lpn", data={"lpn": "LPN9"}, zone="DOCK")
    worker = PrintWorker(demo_db, timeout=1, backoff=Backoff(base=0.0, maximum=0.0))
    assert await worker.run_once() == printing.DEFAULT_MAX_ATTEMPTS
    given_up = await job(demo_db, ref.job_id)
    assert (given_up.status, given_up.attempts, given_up.next_attempt_at) == (
        "failed",
        printing.DEFAULT_MAX_ATTEMPTS,
        None,
    )
    assert "press retry" in printing.job_message(given_up)
    assert await worker.run_once() == 0
    printer = FakePrinter(port).start()
    try:
        async with demo_db() as s, s.begin():
            await printing.retry_job(s, picker, LABELS, ref.job_id)
        result = await send_now(demo_db, ref.job_id)
        assert printer.wait_for_jobs(1) == [render_label("lpn", {"lpn": "LPN9"})]
    finally:
        printer.stop()
    assert (result.status, result.printer) == ("sent", "dock")
    with pytest.raises(PrintJobAlreadySent):
        async with demo_db() as s, s.begin():
            await printing.retry_job(s, picker, LABELS, ref.job_id)


async def test_a_reprint_is_a_new_job_with_the_same_bytes_or_re_rendered_for_another_printer(demo_db, fake_printer):
    await add_printer(demo_db, "dock", fake_printer.port, zone="DOCK")
    await add_printer(demo_db, "bench-300", fake_printer.port, size="4x2", dpi=300)
    picker = await actor(demo_db, "picker")
    async with demo_db() as s, s.begin():
        ref = await queue_label(s, picker, LABELS, kind="item", data=ITEM, zone="DOCK")
    await send_now(demo_db, ref.job_id)
    async with demo_db() as s, s.begin():
        same = await printing.reprint_job(s, picker, LABELS, ref.job_id)
        other = await printing.reprint_job(s, picker, LABELS, ref.job_id, printer="bench-300")
    assert (same.reprint_of, other.reprint_of) == (ref.job_id, ref.job_id)
    assert same.zpl == (await job(demo_db, ref.job_id)).zpl and same.printer_name == "dock"
    assert other.zpl == render_label("item", ITEM, size="4x2", dpi=300)
    await PrintWorker(demo_db, timeout=2, backoff=FAST).run_once()
    assert sorted(fake_printer.wait_for_jobs(3)) == sorted([same.zpl, same.zpl, other.zpl])


async def test_removing_a_printer_keeps_its_waiting_jobs_as_no_printer_and_they_can_be_reassigned(
    demo_db, fake_printer
):
    await add_printer(demo_db, "dock", free_port(), zone="DOCK")
    await add_printer(demo_db, "ship-300", fake_printer.port, size="4x6", dpi=300)
    picker = await actor(demo_db, "picker")
    admin = await actor(demo_db, "admin", device=None)
    async with demo_db() as s, s.begin():
        ref = await queue_label(s, picker, LABELS, kind="sscc", data=SSCC, zone="DOCK")
    async with demo_db() as s, s.begin():
        await printing.remove_printer(s, admin, "dock")
    parked = await job(demo_db, ref.job_id)
    assert (parked.status, parked.printer_id, parked.printer_name) == ("no_printer", None, "dock")
    async with demo_db() as s, s.begin():
        moved = await printing.retry_job(s, admin, LABELS, ref.job_id, printer="ship-300")
    assert (moved.status, moved.dpi) == ("queued", 300)
    assert (await send_now(demo_db, ref.job_id)).status == "sent"
    assert fake_printer.wait_for_jobs(1) == [render_label("sscc", SSCC, size="4x6", dpi=300)]


async def test_copies_go_out_in_one_job_but_a_serial_label_is_never_copied(demo_db, fake_printer):
    await add_printer(demo_db, "dock", fake_printer.port, zone="DOCK")
    picker = await actor(demo_db, "picker")
    async with demo_db() as s, s.begin():
        three = await printing.create_job(
            s, picker, LABELS, kind="location", data={"code": "A-01-01"}, zone="DOCK", copies=3
        )
    assert (await send_now(demo_db, three.id)).status == "sent"
    assert fake_printer.wait_for_jobs(1) == [render_label("location", {"code": "A-01-01"}) * 3]
    with pytest.raises(InvalidLabelData, match="one label per serial"):
        async with demo_db() as s, s.begin():
            await printing.create_job(s, picker, LABELS, kind="item", data=SERIAL_ITEM, zone="DOCK", copies=2)


async def test_two_workers_send_every_job_exactly_once(demo_db, fake_printer):
    await add_printer(demo_db, "dock", fake_printer.port, zone="DOCK")
    picker = await actor(demo_db, "picker")
    async with demo_db() as s, s.begin():
        refs = [
            await queue_label(s, picker, LABELS, kind="lpn", data={"lpn": f"LPN{i:04d}"}, zone="DOCK")
            for i in range(12)
        ]
    a, b = PrintWorker(demo_db, timeout=2, concurrency=2), PrintWorker(demo_db, timeout=2, concurrency=2)
    counts = await asyncio.gather(a.run_once(), b.run_once())
    assert sum(counts) == 12
    received = fake_printer.wait_for_jobs(12)
    assert sorted(received) == sorted(render_label("lpn", {"lpn": f"LPN{i:04d}"}) for i in range(12))
    async with demo_db() as s:
        statuses = (
            await s.execute(select(PrintJob.status, PrintJob.attempts).where(PrintJob.id.in_([r.job_id for r in refs])))
        ).all()
    assert set(statuses) == {("sent", 1)}


async def test_the_worker_loop_stops_when_asked(demo_db):
    stop = asyncio.Event()
    worker = PrintWorker(demo_db, poll_interval=0.05)
    task = asyncio.create_task(worker.run(stop))
    # part of the scenario: let the loop go round twice, so the stop reaches it idle between polls
    # (set at once, it would be seen before the first round and prove nothing)
    await asyncio.sleep(0.12)
    stop.set()
    await asyncio.wait_for(task, 2)


@pytest.mark.parametrize(
    ("item", "level", "code"),
    [
        ("DRESS-MA-10", "each", {"ma_di": "MA.156.M0.100001.10080016"}),  # registered with MA: its MA code
        ("DRESS-MA-10", "box", {"ma_di": "MA.156.M0.100001.20080013"}),
        ("SYR-10ML", "box", {"gtin": "10614141010018"}),  # registered with GS1: its GTIN
    ],
)
async def test_an_item_label_naming_the_item_prints_the_di_it_was_registered_with(demo_db, item, level, code):
    picker = await actor(demo_db, "picker")
    data = {"item": item, "pack_level": level, "lot": "AB12", "expiry": "2027-03-31"}
    async with demo_db() as s, s.begin():
        made = await printing.create_job(s, picker, LABELS, kind="item", data=data, zone="DOCK")
        name = await s.scalar(text("SELECT name FROM items WHERE erp_id = :i"), {"i": item})
    expected = {**data, "item_name": name, **code}
    assert made.data == expected
    assert made.zpl == render_label("item", expected, size=made.size, dpi=made.dpi)


async def test_an_item_label_for_a_level_without_the_registered_code_is_refused(demo_db):
    picker = await actor(demo_db, "picker")
    with pytest.raises(InvalidLabelData, match="has no MA code at pack level 'case'"):
        async with demo_db() as s, s.begin():
            await printing.create_job(
                s, picker, LABELS, kind="item", data={"item": "DRESS-MA-10", "pack_level": "case"}, zone="DOCK"
            )


async def test_an_ahm_registered_items_label_prints_its_ahm_code_at_each_pack_level(demo_db):
    from udipick.services import erp_inbound as erp
    from udipick.services.demo import demo_gtin

    admin = await actor(demo_db, "admin", device=None)
    item = erp.ItemIn(
        erp_id="AHM-GAUZE",
        version=1,
        gtin=demo_gtin(1098),
        name="医用纱布 (AHM)",
        base_unit="EA",
        lot_tracked=True,
        udi_agency="ahm",
        ahm_di="AHM.1000001.2000001",
        pack_levels=[erp.PackLevelIn(level="box", quantity=5, ahm_di="AHM.1000001.2000002")],
    )
    tally = await erp.upsert_master(demo_db, erp.ITEMS, [(1, item)], admin)
    assert not tally.refusals, tally.refusals
    picker = await actor(demo_db, "picker")
    for level, di in (("each", "AHM.1000001.2000001"), ("box", "AHM.1000001.2000002")):
        data = {"item": "AHM-GAUZE", "pack_level": level, "lot": "G1", "expiry": "2029-01-01"}
        async with demo_db() as s, s.begin():
            made = await printing.create_job(s, picker, LABELS, kind="item", data=data, zone="DOCK")
        expected = {**data, "item_name": "医用纱布 (AHM)", "ahm_di": di}
        assert made.data == expected
        assert made.zpl == render_label("item", expected, size=made.size, dpi=made.dpi)
        assert f"{di}.BNG1.ED20290101".encode() in made.zpl
    with pytest.raises(InvalidLabelData, match="has no AHM code at pack level 'case'"):
        async with demo_db() as s, s.begin():
            await printing.create_job(
                s, picker, LABELS, kind="item", data={"item": "AHM-GAUZE", "pack_level": "case"}, zone="DOCK"
            )
    with pytest.raises(InvalidLabelData) as err:  # what cannot be encoded in an AHM code is refused
        async with demo_db() as s, s.begin():
            await printing.create_job(
                s, picker, LABELS, kind="item", data={"item": "AHM-GAUZE", "lot": "G-1"}, zone="DOCK"
            )
    assert err.value.context["field"] == "lot"
