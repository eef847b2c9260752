"""Tryton's side of the connector: trytond in this process (its own modules, its own transactions).

The connector opens Tryton's database with trytond itself (as ``proteus.config.set_trytond`` does) rather
than over Tryton's JSON-RPC, so that the stock moves booking one udipick event and the record that the
event was booked (table ``udipick_booked_events`` in Tryton's database, which the connector creates) commit
in ONE Tryton transaction: an event is either booked with its marker or not at all, whatever crashes when.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from udipick.integrations.tryton.plan import MoveSpec, Role, version

log = logging.getLogger("udipick.tryton")

MARKERS = """
CREATE TABLE IF NOT EXISTS udipick_booked_events (
    event_id uuid PRIMARY KEY,
    position bigint NOT NULL,
    type text NOT NULL,
    move_ids integer[] NOT NULL,
    booked_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
)
"""


def database_uri(database: str, config_file: str | None) -> str:
    """``postgresql://.../NAME`` for a database name, from the ``[database] uri`` of trytond's config file
    (proteus otherwise falls back to trytond's default backend, SQLite)."""
    if "://" in database or not config_file:
        return database
    import configparser

    parser = configparser.ConfigParser()
    parser.read(config_file)
    uri = parser.get("database", "uri", fallback="")
    return uri.rstrip("/") + "/" + database if uri else database


class TrytonBooks:
    """One Tryton database, one warehouse (by its code), the connector's user (``admin`` by default)."""

    def __init__(self, database: str, config_file: str | None, *, warehouse: str = "WH", user: str = "admin") -> None:
        from proteus import config as proteus_config

        # set_trytond starts trytond's pool for the database and finds the user and its preferences
        # (company, language): the context every transaction below runs in
        self._cfg = proteus_config.set_trytond(database_uri(database, config_file), user=user, config_file=config_file)
        self.database = self._cfg.database_name
        self.warehouse_code = warehouse
        self._role_ids: dict[Role, int] | None = None
        with self.transaction() as tx:
            tx.connection.cursor().execute(MARKERS)
            tx.commit()

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Any]:
        from trytond.transaction import Transaction

        context = {**self._cfg.context, "_skip_warnings": True}
        with Transaction().start(self.database, self._cfg.user, context=context, readonly=readonly) as tx:
            yield tx

    @property
    def pool(self) -> Any:
        return self._cfg.pool

    # ---- the warehouse's roles ---------------------------------------------------------------------------

    def _roles(self) -> dict[Role, Any]:
        """The warehouse's locations by role (ids, read once: a warehouse's zones do not move)."""
        if self._role_ids is None:
            self._role_ids = {role: loc.id for role, loc in self._find_roles().items()}
        return self._role_ids

    def _find_roles(self) -> dict[Role, Any]:
        Location = self.pool.get("stock.location")
        warehouses = Location.search([("type", "=", "warehouse"), ("code", "=", self.warehouse_code)])
        if not warehouses:
            raise LookupError(f"Tryton has no warehouse with code {self.warehouse_code!r}")
        (wh,) = warehouses

        def first(type_: str) -> Any:
            found = Location.search([("type", "=", type_)], order=[("id", "ASC")], limit=1)
            if not found:
                raise LookupError(f"Tryton has no location of type {type_!r}")
            return found[0]

        return {
            "storage": wh.storage_location,
            "output": wh.output_location,
            "supplier": first("supplier"),
            "customer": first("customer"),
            "lost_found": first("lost_found"),
        }

    # ---- udipick events → Tryton moves -------------------------------------------------------------------

    def book(
        self, event_id: str, position: int, event_type: str, moves: list[MoveSpec], *, today: dt.date
    ) -> list[int]:
        """Create the moves, set them done and record the event as booked, in one Tryton transaction.

        Returns the move ids; ``[]`` when the event was booked before (nothing is written twice). Moves of
        items Tryton does not know are left out (logged)."""
        pool = self.pool
        Move, Product, Lot = pool.get("stock.move"), pool.get("product.product"), pool.get("stock.lot")
        Company = pool.get("company.company")
        with self.transaction() as tx:
            cur = tx.connection.cursor()
            # the marker row is written first: a second connector on the same event waits here, then finds it
            cur.execute(
                "INSERT INTO udipick_booked_events (event_id, position, type, move_ids) VALUES (%s, %s, %s, '{}')"
                " ON CONFLICT (event_id) DO NOTHING",
                (event_id, position, event_type),
            )
            if cur.rowcount == 0:
                return []
            roles = self._roles()
            company = Company(tx.context["company"])
            values = []
            for spec in moves:
                products = Product.search([("code", "=", spec.item)], limit=1)
                if not products:
                    log.info("event %s: %s is no Tryton product; not booked", event_id, spec.item)
                    continue
                (product,) = products
                lot = self._lot(Lot, product, spec) if spec.lot else None
                # Tryton prices a move only in or out of the company (supplier, customer): it values stock there
                priced = {spec.source, spec.destination} & {"supplier", "customer"}
                values.append(
                    {
                        "product": product.id,
                        "unit": product.default_uom.id,
                        "quantity": float(spec.quantity),
                        "from_location": roles[spec.source],
                        "to_location": roles[spec.destination],
                        "lot": lot.id if lot else None,
                        "planned_date": today,
                        "effective_date": today,
                        "company": company.id,
                        **({"unit_price": product.cost_price or 0, "currency": company.currency.id} if priced else {}),
                    }
                )
            created = Move.create(values) if values else []
            if created:
                Move.do(created)
            ids = [m.id for m in created]
            cur.execute("UPDATE udipick_booked_events SET move_ids = %s WHERE event_id = %s", (ids, event_id))
            tx.commit()
            return ids

    @staticmethod
    def _lot(Lot: Any, product: Any, spec: MoveSpec) -> Any:
        found = Lot.search([("number", "=", spec.lot), ("product", "=", product.id)], limit=1)
        if found:
            lot = found[0]
            if spec.expiry and not lot.expiration_date:
                Lot.write([lot], {"expiration_date": spec.expiry})
            return lot
        (lot,) = Lot.create([{"number": spec.lot, "product": product.id, "expiration_date": spec.expiry}])
        return lot

    # ---- Tryton records → udipick --------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        """Tryton's database clock (naive UTC, as its ``write_date``)."""
        with self.transaction(readonly=True) as tx:
            cur = tx.connection.cursor()
            cur.execute("SELECT CURRENT_TIMESTAMP AT TIME ZONE 'UTC'")
            return cur.fetchone()[0]

    def changes(self, since: dt.datetime | None) -> dict[str, list[dict[str, Any]]]:
        """Products, storage locations, parties, purchases and sales changed at or after ``since`` (all
        when ``None``), as plain dicts for ``plan``. Parties of the documents are always included."""
        pool = self.pool
        Product, Location = pool.get("product.product"), pool.get("stock.location")
        Purchase, Sale = pool.get("purchase.purchase"), pool.get("sale.sale")

        def changed(prefixes: tuple[str, ...] = ("",)) -> list[Any]:
            if since is None:
                return []
            clauses: list[Any] = ["OR"]
            for p in prefixes:
                clauses += [(f"{p}write_date", ">=", since), (f"{p}create_date", ">=", since)]
            return [clauses]

        out: dict[str, list[dict[str, Any]]] = {}
        with self.transaction(readonly=True):
            products = Product.search([("type", "=", "goods")] + changed(("", "template.", "identifiers.")))
            out["products"] = [self._product(p) for p in products]
            wh = Location.search([("type", "=", "warehouse"), ("code", "=", self.warehouse_code)])
            locations = (
                Location.search(
                    [("type", "=", "storage"), ("parent", "child_of", [w.id for w in wh]), ("code", "!=", None)]
                    + changed()
                )
                if wh
                else []
            )
            out["locations"] = [
                {
                    "code": loc.code,
                    "version": version(loc.create_date, loc.write_date),
                    "parent_code": loc.parent.code if loc.parent else None,
                }
                for loc in locations
            ]
            # a done purchase or sale is finished business (a first run must not bring years of history in as open
            # orders); a cancelled one is cancelled in udipick if udipick has it. A purchase processing when Tryton
            # cancelled it ends done (its moves cancelled and ignored: plan.purchase_cancelled): a done one that
            # changed since the last pass is read for that
            states = ["confirmed", "processing", "cancelled"] + (["done"] if since is not None else [])
            purchases = Purchase.search([("state", "in", states)] + changed(("", "lines.")))
            sales = Sale.search([("state", "in", ["confirmed", "processing", "cancelled"])] + changed(("", "lines.")))
            out["purchases"] = [self._document(p, moves=True) for p in purchases]
            out["sales"] = [self._document(s, address=True) for s in sales]
            suppliers = {p.party.id: p.party for p in purchases}
            customers = {s.party.id: s.party for s in sales}
            out["suppliers"] = [self._party(p) for p in suppliers.values()]
            out["customers"] = [self._party(p) for p in customers.values()]
        return out

    @staticmethod
    def _product(p: Any) -> dict[str, Any]:
        gtins = [i.code for i in p.identifiers if i.type == "ean"]
        t = p.template
        stamps = [p.create_date, p.write_date, t.create_date, t.write_date]
        stamps += [s for i in p.identifiers for s in (i.create_date, i.write_date)]
        return {
            "id": p.id,
            "code": p.code,
            "name": p.name,
            "gtin": gtins[0] if gtins else None,
            "lot_required": list(getattr(t, "lot_required", None) or []),
            "shelf_life_state": getattr(t, "shelf_life_state", "none") or "none",
            "expiration_state": getattr(t, "expiration_state", "none") or "none",
            "version": version(*stamps),
        }

    @staticmethod
    def _party(p: Any) -> dict[str, Any]:
        return {"code": p.code, "name": p.name, "version": version(p.create_date, p.write_date)}

    @staticmethod
    def _document(d: Any, *, address: bool = False, moves: bool = False) -> dict[str, Any]:
        lines = [ln for ln in d.lines if ln.type == "line" and ln.product and ln.product.type == "goods"]
        stamps = [d.create_date, d.write_date] + [s for ln in d.lines for s in (ln.create_date, ln.write_date)]

        def line(ln: Any) -> dict[str, Any]:
            out = {"id": ln.id, "product_code": ln.product.code, "quantity": ln.quantity}
            if moves:  # the line's own moves (not the connector's), and which cancelled ones the buyer ignored
                ignored = {m.id for m in ln.moves_ignored}
                out["moves"] = [{"state": m.state, "ignored": m.id in ignored} for m in ln.moves]
            return out

        doc: dict[str, Any] = {
            "id": d.id,
            "number": d.number,
            "state": d.state,
            "party_code": d.party.code,
            "party_name": d.party.name,
            "date": getattr(d, "purchase_date", None) or getattr(d, "sale_date", None),
            "version": version(*stamps),
            "lines": [line(ln) for ln in lines],
        }
        if address:
            a = d.shipment_address
            doc["address"] = (
                {
                    "name": a.party_name or d.party.name,
                    "street": a.street or "",
                    "city": a.city or "",
                    "postal_code": a.postal_code or "",
                    "country": a.country.code if a.country else None,
                }
                if a
                else None
            )
        return doc

    # ---- reconciliation ------------------------------------------------------------------------------------

    def stock_by_item_and_lot(self, *, today: dt.date) -> dict[tuple[str, str | None], int]:
        """The warehouse's stock (storage, input and output zones) by product code and lot number, from done
        moves up to today."""
        pool = self.pool
        Product, Location, Lot = pool.get("product.product"), pool.get("stock.location"), pool.get("stock.lot")
        from trytond.transaction import Transaction

        with self.transaction(readonly=True):
            (wh,) = Location.search([("type", "=", "warehouse"), ("code", "=", self.warehouse_code)])
            with Transaction().set_context(stock_date_end=today):
                quantities = Product.products_by_location([wh.id], with_childs=True, grouping=("product", "lot"))
            products = {p.id: p.code for p in Product.browse(list({k[1] for k in quantities}))}
            lots = {lot.id: lot.number for lot in Lot.browse([k[2] for k in quantities if k[2] is not None])}
            out: dict[tuple[str, str | None], int] = {}
            for (_loc, product_id, lot_id), qty in quantities.items():
                code = products.get(product_id)
                if code is None or not qty:
                    continue
                key = (code, lots.get(lot_id) if lot_id is not None else None)
                out[key] = out.get(key, 0) + int(qty)
            return out

    def product_codes(self) -> set[str]:
        with self.transaction(readonly=True):
            Product = self.pool.get("product.product")
            return {p.code for p in Product.search([("type", "=", "goods"), ("code", "!=", None)])}
