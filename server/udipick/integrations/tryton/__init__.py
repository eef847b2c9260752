"""The Tryton connector (``udipick connect tryton``): a running Tryton ERP and udipick kept in step.

Into udipick, over its ERP API: products (code, GTIN from the product's EAN identifier, lot and expiry
tracking), the warehouse's storage locations, the parties of purchases (suppliers) and sales (customers),
confirmed purchases as purchase orders and confirmed sales as sales orders, with their changes (version:
Tryton's change time) and cancellations. Back into Tryton, from udipick's event stream: receipts, picks,
put-backs, shipments, count adjustments, customer returns with QA's decisions, and scrap as done stock
moves with lots and expiry dates. See ``docs/tryton.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading

log = logging.getLogger("udipick.tryton")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tryton-db", required=True, help="Tryton's database (a name, or a postgresql:// URI)")
    p.add_argument("--config", default=os.environ.get("TRYTOND_CONFIG"), help="trytond's configuration file")
    p.add_argument("--tryton-user", default="admin", help="the Tryton user the connector books as")
    p.add_argument("--tryton-warehouse", default="WH", help="the code of Tryton's warehouse")
    p.add_argument("--warehouse", default="MAIN", help="udipick's warehouse code for Tryton's warehouse")
    p.add_argument("--url", default=os.environ.get("UDIPICK_URL", "http://127.0.0.1:8000"), help="udipick's base URL")
    p.add_argument(
        "--api-key-env",
        default="UDIPICK_API_KEY",
        help="the environment variable holding an API key with erp:read and erp:write (never on the command line)",
    )
    p.add_argument("--once", action="store_true", help="one pull and every pending event, then exit")
    p.add_argument(
        "--reconcile", action="store_true", help="print the stock reconciliation (JSON); exit 1 on differences"
    )
    p.add_argument("--interval", type=float, default=0.2, help="seconds between polls of udipick's events")
    p.add_argument("--pull-every", type=float, default=2.0, help="seconds between passes over Tryton's changes")


def run(database_url: str, args: argparse.Namespace) -> int:
    from udipick.integrations.tryton.books import TrytonBooks
    from udipick.integrations.tryton.connector import Connector, Cursors, UdipickApi

    key = os.environ.get(args.api_key_env)
    if not key:
        print(f"udipick: set {args.api_key_env} to an API key with scopes erp:read and erp:write", file=sys.stderr)
        return 2
    books = TrytonBooks(args.tryton_db, args.config, warehouse=args.tryton_warehouse, user=args.tryton_user)
    cursors = Cursors(database_url, f"tryton:{books.database}", exclusive=not args.reconcile)
    connector = Connector(books, UdipickApi(args.url, key), cursors, warehouse=args.warehouse)
    try:
        if args.reconcile:
            report = connector.reconcile()
            out = {
                "inStep": report.in_step,
                "udipickAsOfPosition": report.udipick_as_of_position,
                "connectorEventsAfter": report.connector_events_after,
                "comparedItems": report.compared_items,
                "differences": report.differences,
            }
            print(json.dumps(out, indent=2))
            return 0 if report.in_step else 1
        if args.once:
            pulled = connector.pull()
            while connector.push():
                pass
            print(json.dumps({"sent": pulled.sent, "refused": pulled.refused}, default=str))
            return 0
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        log.info("Tryton connector: %s ⇄ %s", books.database, args.url)
        connector.run(interval=args.interval, pull_every=args.pull_every, stop=stop)
        return 0
    finally:
        cursors.close()
