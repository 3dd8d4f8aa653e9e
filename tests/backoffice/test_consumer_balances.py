"""The back office and the balances a sale moves: gift cards, store credit, points.

Balance movements and redeemed points are the sale's own tenders' (no rules decide
them, so no register can differ: one that does is refused, online or offline); store
credit is its customer's own; points earned are the back office's rules' to decide.
"""

from __future__ import annotations

import pytest

from appliance.domain.tender import Tender, TenderKind
from appliance.sync import wire
from backoffice import ledger
from backoffice.consumer import Consumer
from backoffice.db import Database
from tests.backoffice.conftest import NOW, Till, cad, count, rebuilt


def test_balance_and_loyalty_ledgers_mirror_the_sale(stocked: Database, till: Till) -> None:
    with stocked.transaction() as tx:
        ledger.put_balance(tx, "s1", "store_credit", "c1", 2500)
        ledger.put_customer(tx, "s1", "c1", "Cy", lifetime_points=0, points=300)
    till.register.attach_customer("c1")
    tenders = (Tender.balance(TenderKind.STORE_CREDIT, "c1", cad(300)), Tender.cash(cad(100_00)))
    sent = till.sell("cola", "chips", tenders=tenders)
    ack = Consumer(stocked).handle(sent.topic, sent.payload, NOW)
    assert ack is not None and ack.status == "accepted", ack
    body = wire.decode_envelope(sent.payload).body
    (use,) = body["balance_uses"]
    with stocked.transaction() as tx:
        rows = tx.all(
            "SELECT kind, account, delta, recorded_before, recorded_after, sale FROM balance_ledger"
        )
        balance = tx.scalar("SELECT amount FROM balances WHERE account = 'c1'")
        points = tx.one("SELECT earned, redeemed FROM loyalty_ledger WHERE customer = 'c1'")
        customer = tx.one("SELECT points, lifetime_points FROM customers WHERE id = 'c1'")
        tenders_rows = tx.all("SELECT kind, applied FROM sale_tenders ORDER BY position")
    assert rows == [("store_credit", "c1", -300, use["before"], use["after"], sent.id)]
    assert balance == 2200
    earned = body["loyalty"]["earned"]
    assert points == (earned, 0) and earned > 0
    assert customer == (300 + earned, earned)
    assert tenders_rows == [("store_credit", 300), ("cash", body["total"] - 300 + body["rounding"])]


def _use(account: str, amount: int, before: int, after: int) -> dict[str, object]:
    return {"account": account, "after": after, "amount": amount, "before": before,
            "kind": "gift_card"}  # fmt: skip


@pytest.mark.parametrize("offline", [True, False])
@pytest.mark.parametrize(
    "uses",
    [
        [_use("g-200", -5000, 0, 5000)],  # paid by g-100, filled up g-200
        [],  # paid by gift card, drew on none
        [_use("g-100", 100, 1000, 900)] * 2,
        [_use("g-100", 100, 1000, 9999)],
    ],
)
def test_balance_movements_that_are_not_the_sales_own_tenders_are_refused(
    stocked: Database, till: Till, offline: bool, uses: list[dict[str, object]]
) -> None:
    """Offline or not: no rules decide them, so no register makes them differ; applied as
    said, a sale paid by one gift card could fill up another."""
    with stocked.transaction() as tx:
        ledger.put_balance(tx, "s1", "gift_card", "g-100", 1000)
        ledger.put_balance(tx, "s1", "gift_card", "g-200", 0)
    tenders = (Tender.balance(TenderKind.GIFT_CARD, "g-100", cad(100)), Tender.cash(cad(100_00)))
    forged = rebuilt(till.sell("cola", tenders=tenders), offline=offline, balance_uses=uses)
    ack = Consumer(stocked).handle(forged.topic, forged.payload, NOW)
    assert ack is not None and ack.status == "rejected", ack
    assert ack.reason.startswith("body.balance_uses: "), ack.reason
    with stocked.transaction(readonly=True) as tx:
        held = tx.all("SELECT account, amount FROM balances ORDER BY account")
    assert held == [("g-100", 1000), ("g-200", 0)] and count(stocked, "balance_ledger") == 0


def test_store_credit_drawn_for_another_customers_sale_is_refused(
    stocked: Database, till: Till
) -> None:
    till.register.attach_customer("c1")
    tenders = (Tender.balance(TenderKind.STORE_CREDIT, "c1", cad(100)), Tender.cash(cad(100_00)))
    forged = rebuilt(till.sell("cola", tenders=tenders), customer_id="c2")
    ack = Consumer(stocked).handle(forged.topic, forged.payload, NOW)
    assert ack is not None and ack.status == "rejected", ack
    assert (
        ack.reason
        == "body.tenders: store credit c1: that customer's own, not for customer c2's sale"
    )


def test_points_earned_are_the_back_offices_to_decide(stocked: Database, till: Till) -> None:
    """An offline sale claiming a million points is kept with the claim as drift, and the
    customer gets what the rules give; an online one is refused."""
    with stocked.transaction() as tx:
        ledger.put_customer(tx, "s1", "c1", "Cy", 0, 300)
    till.register.attach_customer("c1")
    sent = till.sell("cola")
    body = wire.decode_envelope(sent.payload).body
    earned = body["loyalty"]["earned"]
    claims = {**body["loyalty"], "earned": 1_000_000}
    online = rebuilt(sent, offline=False, loyalty=claims)
    ack = Consumer(stocked).handle(online.topic, online.payload, NOW)
    assert ack is not None and ack.status == "rejected" and "loyalty.earned" in ack.reason
    till.register.attach_customer("c1")
    offline = rebuilt(till.sell("cola"), loyalty=claims)
    ack = Consumer(stocked).handle(offline.topic, offline.payload, NOW)
    assert ack is not None and ack.status == "accepted", ack
    assert {"field": "loyalty.earned", "recorded": "1000000", "derived": str(earned)} in (
        ack.server["drift"]
    )
    with stocked.transaction(readonly=True) as tx:
        points = tx.one("SELECT points, lifetime_points FROM customers WHERE id = 'c1'")
    assert points == (300 + earned, earned)


@pytest.mark.parametrize(
    "loyalty, reason",
    [
        ({"redeemed": 50}, "body.loyalty.redeemed: 50 points, but its points tenders spent 0"),
        ({"earned": -5}, "body.loyalty.earned: -5 is below zero"),
    ],
)
def test_points_redeemed_are_the_points_tenders(
    stocked: Database, till: Till, loyalty: dict[str, object], reason: str
) -> None:
    with stocked.transaction() as tx:
        ledger.put_customer(tx, "s1", "c1", "Cy", 0, 300)
    till.register.attach_customer("c1")
    sent = till.sell("cola")
    claims = {**wire.decode_envelope(sent.payload).body["loyalty"], **loyalty}
    forged = rebuilt(sent, loyalty=claims)
    ack = Consumer(stocked).handle(forged.topic, forged.payload, NOW)
    assert ack is not None and ack.status == "rejected" and ack.reason == reason, ack
