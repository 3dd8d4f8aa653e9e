from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest

from appliance.domain.cart import Cart, Discount, WeightSource
from appliance.domain.chain import GENESIS_HASH, Link, payload_hash, verify_chain
from appliance.domain.errors import (
    BalanceOverdrawn,
    DomainError,
    EncodingError,
    PurchaseLimitExceeded,
)
from appliance.domain.money import Money
from appliance.domain.pricing import PricedLine
from appliance.domain.promotions import Promotion, PromotionKind
from appliance.domain.rules import StoreRules
from appliance.domain.sale import (
    CustomerState,
    Sale,
    SaleHeader,
    complete,
    decode,
    encode,
    rederive,
)
from appliance.domain.tender import Tender, TenderKind
from tests.domain.conftest import NOW, cad

SALE_ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


def header(seq: int = 1, prev: str = GENESIS_HASH) -> SaleHeader:
    return SaleHeader(SALE_ID, "s1", "r1", seq, prev, "ann", NOW, offline=False)


def a_sale(rules: StoreRules, seq: int = 1, prev: str = GENESIS_HASH) -> Sale:
    catalog = rules.catalog
    cart = Cart().add_item(catalog.product("milk"), Decimal(2))
    cart = cart.add_weighed(catalog.product("bd"), Decimal(7), WeightSource.PRESET)
    cart = cart.add_weighed(catalog.product("apples"), Decimal("1.234"), WeightSource.SCALE)
    cart = cart.set_line_discount(1, Discount.percent(10, "dented"))
    return complete(cart, rules, [Tender.cash(cad(10000))], header(seq, prev))


def test_complete_builds_the_record(rules: StoreRules) -> None:
    sale = a_sale(rules)
    assert (sale.id, sale.sequence, sale.cashier, sale.offline) == (SALE_ID, 1, "ann", False)
    assert sale.promotions == ("fl10",)
    assert sale.paid == sale.total + sale.rounding
    assert sale.limits[0].limit == "cannabis" and sale.limits[0].amount == 7
    assert sale.loyalty is None  # no customer


def test_the_chain_shows_a_gap_or_an_edit(rules: StoreRules) -> None:
    first = a_sale(rules)
    second = a_sale(rules, 2, payload_hash(encode(first)))
    links = [Link(s.sequence, s.previous_hash, encode(s)) for s in (first, second)]
    head = verify_chain(links)
    assert head == payload_hash(encode(second))
    with pytest.raises(DomainError, match="expected 2, found 3"):
        verify_chain([links[0], replace(links[1], sequence=3)])
    edited = Link(1, GENESIS_HASH, encode(replace(first, cashier="mallory")))
    with pytest.raises(DomainError, match="hash chain broken at entry 2"):
        verify_chain([edited, links[1]])
    with pytest.raises(DomainError, match="hash chain broken at entry 1"):
        verify_chain(links[:1], start_hash="f" * 64)
    assert verify_chain([], start_hash="a" * 64) == "a" * 64


def test_header_validation() -> None:
    with pytest.raises(DomainError, match="start at 1"):
        header(seq=0)
    with pytest.raises(DomainError, match="SHA-256"):
        header(prev="abc")


def test_encoding_is_canonical(rules: StoreRules) -> None:
    raw = encode(a_sale(rules))
    data = json.loads(raw)
    assert raw == json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    assert data["lines"][1]["weight"] == "7" and data["total"] == a_sale(rules).total.minor
    assert data["lines"][2]["weight"] == "1.234" and data["local_time"] == "2026-11-25T12:00:00"


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("lines", 0, "quantity"), 2, "Sale.lines[0].quantity: expected a decimal string, got 2"),
        (("lines", 0, "quantity"), "two", "expected a decimal string"),
        (("lines", 0, "quantity"), "Infinity", "expected a finite decimal"),
        (("total",), "12.00", "Sale.total: expected an integer of minor units"),
        (("offline",), "yes", "Sale.offline: expected true or false"),
        (("sequence",), True, "Sale.sequence: expected an integer"),
        (("cashier",), 5, "Sale.cashier: expected a string"),
        (("local_time",), "yesterday", "Sale.local_time: expected an ISO 8601 time"),
        (("local_time",), 5, "expected an ISO 8601 time"),
        (("lines", 0, "weight_source"), "guess", "Sale.lines[0].weight_source: expected one of"),
        (("lines",), {}, "Sale.lines: expected a list"),
        (("loyalty",), [], "Sale.loyalty: expected an object"),
        (("version",), 2, "unknown version 2"),
        (("lines", 0, "base"), -5, None),
    ],
)
def test_decode_names_the_bad_field(
    rules: StoreRules, path: tuple[object, ...], value: object, message: str | None
) -> None:
    data = json.loads(encode(a_sale(rules)))
    target = data
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    if message is None:  # a negative line base decodes: decoding is not validation
        assert decode(json.dumps(data).encode()).lines[0].base.minor == -5
        return
    with pytest.raises(EncodingError, match=message.replace("[", r"\[").replace("]", r"\]")):
        decode(json.dumps(data).encode())


def test_decode_refuses_structural_junk(rules: StoreRules) -> None:
    data = json.loads(encode(a_sale(rules)))
    for bad, message in [
        (b"\xff", "not JSON"),
        (b"[1]", "Sale: expected an object"),
        (json.dumps({**data, "currency": 5}).encode(), "Sale.currency"),
        (json.dumps({**data, "extra": 1}).encode(), "unknown field 'extra'"),
        (
            json.dumps({k: v for k, v in data.items() if k != "total"}).encode(),
            "Sale.total: missing",
        ),
        (json.dumps({**data, "currency": "usd"}).encode(), "currency"),
    ]:
        with pytest.raises(EncodingError, match=message):
            decode(bad)


def test_rederive_reports_price_and_arithmetic_drift(rules: StoreRules) -> None:
    sale = a_sale(rules)
    assert rederive(sale, rules).clean
    milk = rules.catalog.product("milk")
    products = {**rules.catalog.products, "milk": replace(milk, price=cad(529))}
    newer = replace(rules, catalog=replace(rules.catalog, products=products))
    drift = rederive(sale, newer)
    fields = {item.field for item in drift.items}
    assert {"lines[1].unit_price", "lines[1].base", "subtotal", "total", "taxes.GST"} <= fields
    assert (
        drift.total is not None and drift.total.minor < 0
    )  # the register charged less than the current price
    tampered = replace(sale, total=sale.total + cad(1))
    assert {i.field for i in rederive(tampered, rules).items} == {
        "total",
        "tenders.paid",
        "rounding",
    }


def test_rederive_reports_lines_the_rules_cannot_price(rules: StoreRules) -> None:
    sale = a_sale(rules)
    gone = {k: v for k, v in rules.catalog.products.items() if k != "milk"}
    drift = rederive(sale, replace(rules, catalog=replace(rules.catalog, products=gone)))
    assert drift.items[0].field == "pricing" and "milk" in drift.items[0].derived
    assert drift.total is None and not drift.clean


def test_rederive_notices_missing_and_extra_lines(rules: StoreRules) -> None:
    sale = a_sale(rules)
    line = sale.lines[0]
    extra: PricedLine = replace(line, line_id=-1, free=True)
    drift = rederive(replace(sale, lines=(*sale.lines, extra)), rules)
    assert any(i.field == "lines[-1]" and i.derived == "" for i in drift.items)


def test_rederive_checks_rounding_and_change(rules: StoreRules) -> None:
    sale = a_sale(rules)
    wrong = replace(sale, change=sale.change + cad(5))
    assert [i.field for i in rederive(wrong, rules).items] == ["change"]
    card_sale = complete(Cart().add_item(rules.catalog.product("milk")), rules,
                         [Tender.card(cad(524), "visa")], header())  # fmt: skip
    assert rederive(card_sale, rules).clean
    wrong = replace(card_sale, rounding=cad(1))
    assert {i.field for i in rederive(wrong, rules).items} == {"rounding", "tenders.paid"}


def test_loyalty_earn_and_redeem(rules: StoreRules) -> None:
    customer = CustomerState("c1", "Cy", lifetime_points=1200, points=150)
    cart = Cart().add_item(rules.catalog.product("vape")).attach_customer("c1")
    reward = Tender(TenderKind.POINTS, cad(500), account="r5", points=100)
    sale = complete(cart, rules, [reward, Tender.cash(cad(5000))], header(), customer)
    assert sale.loyalty is not None
    # 30.00 pre-tax - 5.00 paid with points = 25.00 x Gold rate 2 = 50 points
    assert (sale.loyalty.tier, sale.loyalty.earned, sale.loyalty.redeemed) == ("Gold", 50, 100)
    assert sale.loyalty.points_after == 100
    poor = replace(customer, points=50)
    with pytest.raises(BalanceOverdrawn, match="needs 100 points"):
        complete(cart, rules, [reward, Tender.cash(cad(5000))], header(), poor)
    with pytest.raises(DomainError, match="loyalty program"):
        complete(cart, rules, [reward, Tender.cash(cad(5000))], header())
    forged = replace(reward, amount=cad(5000))
    with pytest.raises(DomainError, match="does not match reward 'r5'"):
        complete(cart, rules, [forged], header(), customer)


def test_inclusive_loyalty_earns_on_the_price_without_tax(rules: StoreRules) -> None:
    inclusive = replace(rules, tax=replace(rules.tax, prices_include_tax=True))
    customer = CustomerState("c1")
    cart = Cart().add_item(rules.catalog.product("mug"))  # 8.00 incl. 12% -> 7.14 net
    sale = complete(cart, inclusive, [Tender.cash(cad(800))], header(), customer)
    assert sale.loyalty is not None and sale.loyalty.earned == 7


def test_complete_refuses_bad_sales(rules: StoreRules) -> None:
    with pytest.raises(DomainError, match="cart is empty"):
        complete(Cart(), rules, [], header())
    cart = Cart().add_item(rules.catalog.product("milk")).attach_customer("c2")
    with pytest.raises(DomainError, match="belongs to customer c2"):
        complete(cart, rules, [Tender.cash(cad(600))], header(), CustomerState("c1"))
    bd = rules.catalog.product("bd")
    heavy = Cart().add_weighed(bd, Decimal(7), WeightSource.PRESET, Decimal(2))
    customer = CustomerState("c1", limit_counters={"cannabis": Decimal(20)})
    with pytest.raises(PurchaseLimitExceeded, match="20 g bought today"):
        complete(heavy, rules, [Tender.cash(cad(20000))], header(), customer)


def test_money_in_the_record_is_in_the_sale_currency(rules: StoreRules) -> None:
    sale = a_sale(rules)
    assert all(isinstance(li.net, Money) and li.net.currency == "CAD" for li in sale.lines)


def test_a_free_item_counts_toward_a_purchase_limit(rules: StoreRules) -> None:
    """A pre-roll the promotions give away is cannabis handed over all the same: refused at
    the limit, and counted in the sale's limits below it."""
    free_preroll = Promotion("pr", "Free pre-roll over 50", PromotionKind.FREEBIE,
                             threshold=cad(5000), free_sku="preroll")  # fmt: skip
    rules = replace(rules, promotions=(free_preroll,))
    cart = Cart().add_item(rules.catalog.product("vape"), Decimal(2)).attach_customer("c1")
    pay = [Tender.cash(cad(100_000))]
    at_limit = CustomerState("c1", limit_counters={"cannabis": Decimal(30)})
    with pytest.raises(PurchaseLimitExceeded, match=r"\+ 0.5 g in this sale"):
        complete(cart, rules, pay, header(), customer=at_limit)
    sale = complete(cart, rules, pay, header(), customer=CustomerState("c1"))
    assert [li.sku for li in sale.lines if li.free] == ["preroll"]
    assert [(li.limit, li.amount) for li in sale.limits] == [("cannabis", Decimal("0.5"))]
