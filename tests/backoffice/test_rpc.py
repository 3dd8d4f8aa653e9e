"""RPC handlers called directly (no MQTT), on SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from appliance.catalog_file import parse_store, parse_tax
from appliance.domain import codec
from appliance.domain.cart import WeightSource
from appliance.domain.codec import decimal_text
from appliance.domain.pricing import PricedCart
from appliance.sync import wire
from appliance.sync.parts import join_parts, read_part
from appliance.sync.wire import RpcRequest, RpcResponse
from backoffice import ledger
from backoffice.consumer import Consumer
from backoffice.db import Database, DatabaseUnavailable
from backoffice.rpc import Rpc
from tests.backoffice.conftest import NOW, Till

AT = "2026-11-25T09:00:00"


def call(db: Database, method: str, params: dict[str, Any], store: str = "s1") -> RpcResponse:
    return Rpc(db).call(store, RpcRequest(method, params), NOW)


def test_price_cart_gives_what_the_register_computes(stocked: Database, till: Till) -> None:
    lines = [
        {"sku": "cola", "quantity": "2"},
        {"sku": "bananas", "quantity": "1", "weight": "1.25", "weight_source": "scale"},
        {"sku": "sencha", "quantity": "2", "weight": "50", "weight_source": "preset"},
    ]
    response = call(stocked, "price_cart", {"lines": lines, "at": AT})
    assert response.status == "ok", response.error
    assert response.result["version"] == 1
    priced = codec.from_data(PricedCart, response.result["cart"], "CAD")
    till.register.add_sku("cola", Decimal(2))
    till.register.add_weighed("bananas", Decimal("1.25"), WeightSource.SCALE)
    till.register.add_weighed("sencha", Decimal(50), WeightSource.PRESET, Decimal(2))
    local = till.register.price()
    assert priced.total == local.total and priced.taxes == local.taxes
    assert [li.net for li in priced.lines] == [li.net for li in local.lines]


@pytest.mark.parametrize(
    "params, error",
    [
        ({"at": AT}, "lines: missing"),
        ({"lines": [], "at": AT}, "lines: expected a list of 1 to 500 lines"),
        ({"lines": [{"sku": "cola", "quantity": "1"}]}, "at: missing"),
        ({"lines": [{"sku": "cola", "quantity": "1"}], "at": 5}, "at: expected the register"),
        ({"lines": [{"sku": "cola", "quantity": "1"}], "at": "noon"}, "at: expected an ISO"),
        ({"lines": [{"sku": "cola", "quantity": "1"}], "at": AT, "x": 1}, "x: unknown parameter"),
        ({"lines": ["cola"], "at": AT}, "lines[0]: expected an object"),
        ({"lines": [{"sku": "nope", "quantity": "1"}], "at": AT}, "unknown product: sku 'nope'"),
        ({"lines": [{"sku": "cola", "quantity": 1}], "at": AT}, "lines[0].quantity: expected a"),
        ({"lines": [{"sku": "cola", "quantity": "x"}], "at": AT}, "lines[0].quantity: expected"),
        ({"lines": [{"sku": "cola", "quantity": "-1"}], "at": AT}, "lines[0].quantity: must be"),
        ({"lines": [{"sku": "cola", "quantity": "1.5"}], "at": AT}, "lines[0].quantity: must be a"),
        ({"lines": [{"sku": 5, "quantity": "1"}], "at": AT}, "lines[0].sku: expected a string"),
        ({"lines": [{"sku": "cola"}], "at": AT}, "quantity: missing"),
        ({"lines": [{"sku": "bananas", "quantity": "1"}], "at": AT}, "line 1: bananas is sold by"),
        (
            {
                "lines": [{"sku": "bananas", "quantity": "1", "weight": "1", "weight_source": "x"}],
                "at": AT,
            },
            "lines[0].weight_source: expected one of preset, manual, scale",
        ),
        (
            {"lines": [{"sku": "bananas", "quantity": "2", "weight": "1"}], "at": AT},
            "lines[0].quantity: a weighed line is one pack",
        ),
        (
            {
                "lines": [
                    {"sku": "sencha", "quantity": "1", "weight": "7", "weight_source": "preset"}
                ],
                "at": AT,
            },
            "sencha: 7 is not one of its presets",
        ),
    ],
)
def test_price_cart_refuses_params_it_cannot_use(
    stocked: Database, params: dict[str, Any], error: str
) -> None:
    response = call(stocked, "price_cart", params)
    assert response.status == "invalid" and response.for_the_cashier
    assert response.error.startswith(error) or error in response.error, response.error


def test_a_store_without_catalogue_is_the_back_office_failure(db: Database) -> None:
    lines = [{"sku": "cola", "quantity": "1"}]
    response = call(db, "price_cart", {"lines": lines, "at": AT}, store="s9")
    assert response.status == "error" and not response.for_the_cashier
    assert "s9" in response.error
    assert call(db, "changes_since", {"version": 0}, store="s9").status == "error"


def test_customer_search(stocked: Database) -> None:
    with stocked.transaction() as tx:
        ledger.put_customer(tx, "s1", "c1", "Cy Young", lifetime_points=50, points=20)
        ledger.put_customer(tx, "s1", "c2", "Dee 100% Real", points=5)
        ledger.put_customer(tx, "s2", "c3", "Cy Elsewhere")
    found = call(stocked, "customer_search", {"query": "CY"})
    assert found.status == "ok"
    assert found.result == {
        "customers": [{"id": "c1", "name": "Cy Young", "points": 20, "lifetime_points": 50}]
    }
    by_id = call(stocked, "customer_search", {"query": "c2", "limit": 5}).result["customers"]
    assert [c["id"] for c in by_id] == ["c2"]
    literal = call(stocked, "customer_search", {"query": "0%"}).result["customers"]
    assert [c["id"] for c in literal] == ["c2"]  # % is a character, not a wildcard
    assert call(stocked, "customer_search", {"query": "_"}).result == {"customers": []}
    for params, error in (
        ({"query": " "}, "query: expected 1 to 100 characters"),
        ({"query": 7}, "query: expected"),
        ({"query": "cy", "limit": 0}, "limit: expected a whole number from 1 to 50"),
        ({"query": "cy", "limit": True}, "limit: expected"),
        ({}, "query: missing"),
    ):
        response = call(stocked, "customer_search", params)
        assert (response.status, response.error[: len(error)]) == ("invalid", error)


def test_customer_search_folds_case_beyond_ascii(stocked: Database) -> None:
    with stocked.transaction() as tx:
        ledger.put_customer(tx, "s1", "c1", "Émile Zola")
        ledger.put_customer(tx, "s1", "c2", "Emile Dupont")
    for query, expected in (("Émile Zola", ["c1"]), ("émile", ["c1"]), ("ÉMILE", ["c1"]),
                            ("emile", ["c2"]), ("ZOLA", ["c1"])):  # fmt: skip
        found = call(stocked, "customer_search", {"query": query}).result["customers"]
        assert [c["id"] for c in found] == expected, query


def test_balance_check(stocked: Database) -> None:
    with stocked.transaction() as tx:
        ledger.put_balance(tx, "s1", "gift_card", "g-100", 1000)
    ok = call(stocked, "balance_check", {"kind": "gift_card", "account": "g-100"})
    assert ok.result == {
        "kind": "gift_card",
        "account": "g-100",
        "balance": 1000,
        "currency": "CAD",
    }
    unknown = call(stocked, "balance_check", {"kind": "gift_card", "account": "g-999"})
    assert (unknown.status, unknown.error) == ("invalid", "gift card g-999: unknown account")
    cash = call(stocked, "balance_check", {"kind": "cash", "account": "g-100"})
    assert cash.status == "invalid" and cash.error.startswith("kind: expected one of")
    blank = call(stocked, "balance_check", {"kind": "gift_card", "account": ""})
    assert blank.status == "invalid"


def test_changes_since(stocked: Database, till: Till) -> None:
    fresh = call(stocked, "changes_since", {"version": 0})
    assert fresh.status == "ok" and fresh.result["version"] == 1
    data = parse_store(fresh.result["catalog"], currency="CAD")
    assert data.catalog.product("cola").price.minor == 149
    assert parse_tax(fresh.result["tax"]).components["GST"].rate == Decimal("0.05")
    cap = decimal_text(till.config.discounts.max_percent)
    assert fresh.result["settings"] == {"cash_increment": 5, "max_discount_percent": cap}
    assert call(stocked, "changes_since", {"version": 1}).result == {}
    for version in (-1, "1", None, True):
        assert call(stocked, "changes_since", {"version": version}).status == "invalid"


def test_answer_decodes_the_request(stocked: Database) -> None:
    rpc = Rpc(stocked)
    raw = wire.encode_request(RpcRequest("balance_check", {"kind": "gift_card", "account": "x"}))
    assert rpc.answer("s1", raw, NOW).status == "invalid"
    junk = rpc.answer("s1", b"junk", NOW)
    assert junk.status == "invalid" and junk.error.startswith("request: not JSON")
    unknown = rpc.answer("s1", b'{"v":1,"method":"refund","params":{}}', NOW)
    assert unknown.status == "invalid" and unknown.error.startswith("method: expected one of")


def test_failures_of_the_back_office_are_errors(
    stocked: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextmanager
    def unavailable(readonly: bool = False) -> Any:
        raise DatabaseUnavailable("down")
        yield

    monkeypatch.setattr(stocked, "transaction", unavailable)
    response = call(stocked, "customer_search", {"query": "cy"})
    assert (response.status, response.error) == ("error", "the back office database is unavailable")
    monkeypatch.undo()

    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Rpc, "_balance_check", broken)
    response = call(stocked, "balance_check", {"kind": "gift_card", "account": "g"})
    assert (response.status, response.error) == ("error", "the back office failed to answer")


def test_refresh_gives_every_customer_and_balance_of_the_store(stocked: Database) -> None:
    with stocked.transaction() as tx:
        ledger.put_customer(tx, "s1", "c1", "Cy", lifetime_points=50, points=20)
        ledger.put_customer(tx, "s2", "c9", "Elsewhere")
        ledger.put_balance(tx, "s1", "gift_card", "g-1", 700)
        ledger.put_balance(tx, "s1", "store_credit", "c1", 2500)
    response = call(stocked, "refresh", {})
    assert response.status == "ok"
    assert response.result == {
        "customers": [{"id": "c1", "name": "Cy", "points": 20, "lifetime_points": 50}],
        "balances": [
            {"kind": "gift_card", "account": "g-1", "amount": 700},
            {"kind": "store_credit", "account": "c1", "amount": 2500},
        ],
        "watermark": 0,
    }
    assert call(stocked, "refresh", {"all": True}).status == "invalid"


def test_refresh_says_how_far_the_registers_entries_are_stored(
    stocked: Database, till: Till
) -> None:
    """The register applies a snapshot only if it holds its newest entry: with two
    consumers, one can answer from before a sale the other has stored and acked."""
    consumer = Consumer(stocked)
    for sent in (till.sell("cola"), till.sell("cola")):
        consumer.handle(sent.topic, sent.payload, NOW)
    asked = RpcRequest("refresh", {})
    assert Rpc(stocked).call("s1", asked, NOW, "r1").result["watermark"] == 2
    assert Rpc(stocked).call("s1", asked, NOW, "r2").result["watermark"] == 0


def test_an_answer_over_the_payload_limit_comes_in_parts(stocked: Database) -> None:
    with stocked.transaction() as tx:
        for n in range(3000):
            ledger.put_customer(tx, "s1", f"c{n:05d}", "A customer with a long name " * 3)
    first = call(stocked, "refresh", {})
    part = read_part(first.result)
    assert part is not None and part.index == 0 and part.count >= 2
    parts = [part]
    for index in range(1, part.count):
        response = call(stocked, "refresh", {"part": index, "digest": part.digest})
        assert len(wire.encode_response(response)) <= wire.MAX_PAYLOAD
        parts.append(read_part(response.result))  # type: ignore[arg-type]
    whole = join_parts(parts)
    assert [c["id"] for c in whole["customers"]] == [f"c{n:05d}" for n in range(3000)]
    assert call(stocked, "refresh", {"part": part.count, "digest": part.digest}).error == (
        f"part: there are only {part.count} parts"
    )
    assert call(stocked, "refresh", {"part": 1}).status == "invalid"
    with stocked.transaction() as tx:  # the answer changes between two parts
        ledger.put_customer(tx, "s1", "c99999", "Late")
    stale = call(stocked, "refresh", {"part": 1, "digest": part.digest})
    assert (stale.status, stale.error) == ("error", "the answer changed while it was being fetched")
