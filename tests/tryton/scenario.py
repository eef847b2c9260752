"""Tryton's side of the end-to-end test, written with proteus as a Tryton user would script it:
a company, products with GTINs and expiry dates, a supplier, a customer, a purchase and a sale, confirmed.

Run in its own process (``python -m tests.tryton.scenario DB CONF [SCALE]``; SCALE multiplies the quantities) so trytond's process-wide pool never
meets the test's event loop; prints the numbers of the purchase and the sale as JSON.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal

#: (code, name, GTIN-14, purchase quantity, sale quantity)
PRODUCTS = [
    ("TRY-SYR-5ML", "Syringe 5 ml", "09506000134352", 40, 25),
    ("TRY-CATH-8F", "Catheter 8 Fr", "09506000134369", 12, 7),
]


def build(database: str, config_file: str, scale: int = 1) -> dict[str, str]:
    from proteus import Model
    from proteus import config as pconfig

    from udipick.integrations.tryton.books import database_uri

    # trytond picks its database backend when first imported: set it up before importing its modules
    pconfig.set_trytond(database_uri(database, config_file), config_file=config_file)
    from trytond.modules.company.tests.tools import create_company

    create_company()
    Party = Model.get("party.party")
    Uom = Model.get("product.uom")
    Template = Model.get("product.template")
    Purchase = Model.get("purchase.purchase")
    Sale = Model.get("sale.sale")
    unit = Uom.find([("name", "=", "Unit")])[0]

    products = {}
    for code, name, gtin, _, _ in PRODUCTS:
        template = Template(name=name, type="goods", default_uom=unit, list_price=Decimal("10"))
        template.purchasable = True
        template.salable = True
        template.shelf_life_state = "optional"
        template.lot_required = ["supplier", "storage", "customer", "lost_found"]
        (product,) = template.products
        product.suffix_code = code
        identifier = product.identifiers.new()
        identifier.type = "ean"
        identifier.code = gtin
        template.code = ""
        template.save()
        product = template.products[0]
        products[code] = product

    supplier = Party(name="Shenzhen MedSupply")
    supplier.save()
    customer = Party(name="River Hospital")
    address = customer.addresses[0]
    address.street = "1 River Road"
    address.city = "Hangzhou"
    address.postal_code = "310000"
    customer.save()

    purchase = Purchase(party=supplier, invoice_method="manual")
    for code, _, _, qty, _ in PRODUCTS:
        line = purchase.lines.new()
        line.product = products[code]
        line.quantity = qty * scale
        line.unit_price = Decimal("2")
    purchase.click("quote")
    purchase.click("confirm")

    sale = Sale(party=customer, invoice_method="manual")
    for code, _, _, _, qty in PRODUCTS:
        line = sale.lines.new()
        line.product = products[code]
        line.quantity = qty * scale
    sale.click("quote")
    sale.click("confirm")
    purchase.reload()
    sale.reload()
    return {
        "purchase": purchase.number,
        "sale": sale.number,
        "purchaseState": purchase.state,
        "saleState": sale.state,
        "supplier": supplier.code,
        "customer": customer.code,
        "products": {c: products[c].code for c, *_ in PRODUCTS},
    }


def rename(database: str, config_file: str, code: str, name: str) -> dict[str, str]:
    """A change in Tryton: the product's template gets a new name."""
    from proteus import Model
    from proteus import config as pconfig

    from udipick.integrations.tryton.books import database_uri

    pconfig.set_trytond(database_uri(database, config_file), config_file=config_file)
    (product,) = Model.get("product.product").find([("code", "=", code)])
    template = product.template
    template.name = name
    template.save()
    return {"renamed": code}


def purchases(database: str, config_file: str, orders: list[tuple[str, int]]) -> dict[str, list[str]]:
    """More purchases from the scenario's supplier, one per (product code, quantity), quoted and confirmed
    (Tryton processes each at once); their numbers in that order."""
    from proteus import Model
    from proteus import config as pconfig

    from udipick.integrations.tryton.books import database_uri

    pconfig.set_trytond(database_uri(database, config_file), config_file=config_file)
    (supplier,) = Model.get("party.party").find([("name", "=", "Shenzhen MedSupply")])
    numbers = []
    for code, quantity in orders:
        (product,) = Model.get("product.product").find([("code", "=", code)])
        order = Model.get("purchase.purchase")(party=supplier, invoice_method="manual")
        line = order.lines.new()
        line.product = product
        line.quantity = quantity
        line.unit_price = Decimal("2")
        order.click("quote")
        order.click("confirm")
        order.reload()
        assert order.state == "processing", order.state
        numbers.append(order.number)
    return {"purchases": numbers}


def cancel_purchases(database: str, config_file: str, numbers: list[str]) -> dict[str, dict[str, str]]:
    """A buyer cancels purchases that are processing, the way Tryton allows it (its cancel button is for
    drafts and quotations only): their moves are cancelled, then the shipment exception is handled by
    ignoring them (Tryton's own scenario ``scenario_purchase_line_cancelled``)."""
    from proteus import Model
    from proteus import config as pconfig

    from udipick.integrations.tryton.books import database_uri

    pconfig.set_trytond(database_uri(database, config_file), config_file=config_file)
    out = {}
    for number in numbers:
        (order,) = Model.get("purchase.purchase").find([("number", "=", number)])
        for move in order.moves:
            move.click("cancel")
        order.reload()
        exception = order.shipment_state
        handle = order.click("handle_shipment_exception")
        handle.form.ignore_moves.extend(handle.form.ignore_moves.find())
        handle.execute("handle")
        order.reload()
        out[number] = {"exception": exception, "state": order.state, "shipmentState": order.shipment_state}
    return out


if __name__ == "__main__":
    if sys.argv[3:4] == ["rename"]:
        print(json.dumps(rename(sys.argv[1], sys.argv[2], sys.argv[4], sys.argv[5])))
    elif sys.argv[3:4] == ["purchases"]:  # CODE:QUANTITY ...
        pairs = [(a.split(":")[0], int(a.split(":")[1])) for a in sys.argv[4:]]
        print(json.dumps(purchases(sys.argv[1], sys.argv[2], pairs)))
    elif sys.argv[3:4] == ["cancel-purchases"]:  # NUMBER ...
        print(json.dumps(cancel_purchases(sys.argv[1], sys.argv[2], sys.argv[4:])))
    else:
        print(json.dumps(build(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1)))
