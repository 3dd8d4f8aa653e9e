"""Carts as data (tests/cases/*.toml), Klipper-style: one test runs every file."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from appliance.catalog_file import parse_store, parse_tax
from appliance.domain import errors
from appliance.domain.cart import Cart, Discount, DiscountKind, WeightSource
from appliance.domain.chain import GENESIS_HASH
from appliance.domain.money import Money
from appliance.domain.pricing import price_cart
from appliance.domain.rules import StoreRules
from appliance.domain.sale import CustomerState, SaleHeader, complete, rederive
from appliance.domain.tender import Tender, TenderKind

CASES = Path(__file__).resolve().parent.parent / "cases"
STORE = tomllib.loads((CASES / "_store.toml").read_text())
CASE_FILES = sorted(p for p in CASES.glob("*.toml") if not p.name.startswith("_"))


def _rules(case: dict[str, Any]) -> StoreRules:
    data = parse_store(STORE)
    wanted = set(case.get("promotions", []))
    unknown = wanted - {p.id for p in data.promotions}
    assert not unknown, f"case names unknown promotions {unknown}"
    return StoreRules(
        catalog=data.catalog,
        tax=parse_tax(STORE["taxes"][case["tax"]]),
        promotions=tuple(p for p in data.promotions if p.id in wanted),
        max_discount_percent=Decimal(case.get("max_discount_percent", "100")),
        cash_increment=case.get("cash_increment", 1),
        loyalty=data.loyalty,
        limits=data.limits,
    )


def _discount(spec: dict[str, Any]) -> Discount:
    kind = DiscountKind.PERCENT if "percent" in spec else DiscountKind.AMOUNT
    value = Decimal(str(spec.get("percent", spec.get("amount"))))
    return Discount(kind, value, spec.get("reason", ""), spec.get("approved_by"))


def _cart(case: dict[str, Any], rules: StoreRules) -> Cart:
    cart = Cart()
    for spec in case.get("lines", []):
        product = rules.catalog.product(spec["sku"])
        if "weight" in spec:
            source = WeightSource(spec.get("source", "scale"))
            packs = Decimal(spec.get("qty", "1"))
            cart = cart.add_weighed(product, Decimal(spec["weight"]), source, packs)
        else:
            cart = cart.add_item(product, Decimal(spec.get("qty", "1")))
        if "discount" in spec:
            cart = cart.set_line_discount(cart.lines[-1].line_id, _discount(spec["discount"]))
    if "order_discount" in case:
        cart = cart.set_order_discount(_discount(case["order_discount"]))
    if "customer" in case:
        cart = cart.attach_customer(case["customer"]["id"])
    return cart


def _tender(spec: dict[str, Any], rules: StoreRules) -> Tender:
    kind = TenderKind(spec["kind"])
    if kind is TenderKind.POINTS:
        assert rules.loyalty is not None
        reward = rules.loyalty.reward(spec["reward"])
        return Tender(kind, reward.value, account=reward.id, points=reward.points)
    amount = Money(spec["amount"], rules.currency)
    return Tender(kind, amount, spec.get("method", ""), spec.get("reference", ""),
                  spec.get("account", ""))  # fmt: skip


def _customer(case: dict[str, Any]) -> CustomerState | None:
    spec = case.get("customer")
    if spec is None:
        return None
    counters = {k: Decimal(v) for k, v in spec.get("limits", {}).items()}
    return CustomerState(spec["id"], "", spec.get("lifetime_points", 0), spec.get("points", 0),
                         counters)  # fmt: skip


def _run(case: dict[str, Any]) -> dict[str, Any]:
    """What the domain makes of the case, in the shape of [expect]."""
    rules = _rules(case)
    cart = _cart(case, rules)
    now = case["now"]
    priced = price_cart(cart, rules, now)
    got: dict[str, Any] = {
        "subtotal": priced.subtotal.minor,
        "discount_total": priced.discount_total.minor,
        "net_total": priced.net_total.minor,
        "taxes": {t.code: t.amount.minor for t in priced.taxes},
        "tax_total": priced.tax_total.minor,
        "total": priced.total.minor,
        "nets": [li.net.minor for li in priced.lines],
        "freebies": [li.sku for li in priced.lines if li.free],
    }
    if "tenders" in case:
        balances = {
            (TenderKind(k.split(":")[0]), k.split(":")[1]): Money(v, rules.currency)
            for k, v in case.get("balances", {}).items()
        }
        header = SaleHeader("case", "s", "r", 1, GENESIS_HASH, "c", now, True)
        tenders = [_tender(t, rules) for t in case["tenders"]]
        sale = complete(cart, rules, tenders, header, _customer(case), balances)
        assert rederive(sale, rules).clean
        got.update(rounding=sale.rounding.minor, change=sale.change.minor)
        if sale.loyalty is not None:
            got["points_earned"] = sale.loyalty.earned
    return got


def test_there_are_enough_cases() -> None:
    assert len(CASE_FILES) >= 30


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case(path: Path) -> None:
    case = tomllib.loads(path.read_text())
    expect = dict(case["expect"])
    error = expect.pop("error", None)
    contains = expect.pop("error_contains", "")
    if error is not None:
        with pytest.raises(getattr(errors, error)) as info:
            _run(case)
        assert contains in str(info.value)
        return
    got = _run(case)
    assert {k: got.get(k) for k in expect} == expect, case["description"]
