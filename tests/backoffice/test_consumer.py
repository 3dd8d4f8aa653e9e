"""The consumer over real register payloads, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from appliance.domain.cart import WeightSource
from appliance.domain.tender import Tender
from appliance.domain.timeclock import ClockAction
from appliance.sync import wire
from backoffice import consumer as consumer_module
from backoffice import ledger
from backoffice.consumer import Consumer
from backoffice.db import Database
from tests.backoffice.conftest import NOW, Till, cad, count, rebuilt, reprice
from tests.store.conftest import MANAGER_PIN


def test_accepted_then_duplicate_on_redelivery(stocked: Database, till: Till) -> None:
    consumer = Consumer(stocked)
    sent = till.sell("cola", "chips")
    first = consumer.handle(sent.topic, sent.payload, NOW)
    assert first is not None and first.status == "accepted"
    assert (first.id, first.seq) == (sent.id, 1)
    total = wire.decode_envelope(sent.payload).body["total"]
    assert first.server == {"total": total}  # the back office derives the same total
    again = consumer.handle(sent.topic, sent.payload, NOW)
    assert again is not None and (again.status, again.id) == ("duplicate", sent.id)
    assert count(stocked, "entries") == 1 and count(stocked, "sales") == 1
    assert count(stocked, "stock_movements") == 2
    with stocked.transaction() as tx:
        stored = tx.one("SELECT payload, chain_ok FROM entries WHERE id = ?", (sent.id,))
    assert stored is not None and bytes(stored[0]) == sent.payload and stored[1] == 1


def test_two_consumers_store_a_sale_once(stocked: Database, till: Till, db_url: str) -> None:
    sent = till.sell("cola")
    others = [Database(db_url) for _ in range(2)]
    answers: list[str] = []
    barrier = threading.Barrier(2)

    def consume(db: Database) -> None:
        barrier.wait()
        ack = Consumer(db).handle(sent.topic, sent.payload, NOW)
        answers.append(ack.status if ack else "none")

    threads = [threading.Thread(target=consume, args=(db,)) for db in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for db in others:
        db.close()
    assert sorted(answers) == ["accepted", "duplicate"]
    assert count(stocked, "sales") == 1 and count(stocked, "stock_movements") == 1


def test_identity_mismatch_is_rejected_with_the_reason(stocked: Database, till: Till) -> None:
    consumer = Consumer(stocked)
    sent = till.sell("cola")
    spoofed = sent.topic.replace("/r1/", "/r2/")
    ack = consumer.handle(spoofed, sent.payload, NOW)
    assert ack is not None and ack.status == "rejected"
    assert ack.reason == "identity: register: payload says 'r1' but the topic says 'r2'"
    assert consumer.handle(spoofed, sent.payload, NOW) == ack  # the same answer again
    assert count(stocked, "entries") == 0
    assert count(stocked, "rejected", "WHERE register = 'r2' AND in_chain = 0") == 1
    # the real register's own delivery of that id is not blocked by the spoof
    real = consumer.handle(sent.topic, sent.payload, NOW)
    assert real is not None and real.status == "accepted"
    other = till.sell("gum")
    kind_mismatch = consumer.handle(other.topic.replace("/sale", "/cashdrop"), other.payload, NOW)
    assert kind_mismatch is not None and kind_mismatch.status == "rejected"
    assert kind_mismatch.reason.startswith("identity: kind: payload says 'sale'")


@pytest.mark.parametrize(
    "payload, answer",
    [
        (b"not json", None),
        (b"[1, 2]", None),
        (b'{"v": 1, "id": "x", "seq": 3}', None),  # no usable id
        (b'{"v": 1, "id": "01a21000-0000-7000-8000-00000000ffff", "seq": "3"}', None),
        (b'{"v": 1, "id": "01a21000-0000-7000-8000-00000000ffff", "seq": 3}', "kind: missing"),
        (b'{"v": 2, "id": "01a21000-0000-7000-8000-00000000ffff", "seq": 3}', "v: unknown"),
    ],
)
def test_malformed_payloads_never_stop_the_consumer(
    stocked: Database, till: Till, payload: bytes, answer: str | None
) -> None:
    consumer = Consumer(stocked)
    ack = consumer.handle(wire.out_topic("s1", "r1", "sale"), payload, NOW)
    if answer is None:
        assert ack is None
    else:
        assert ack is not None and ack.status == "rejected" and ack.reason.startswith(answer)
        assert (ack.id, ack.seq) == ("01a21000-0000-7000-8000-00000000ffff", 3)
    assert consumer.handle("pos/v1/s1/r1/status", payload, NOW) is None  # not an outbox topic
    assert consumer.handle("elsewhere", payload, NOW) is None
    good = till.sell("cola")
    accepted = consumer.handle(good.topic, good.payload, NOW)
    assert accepted is not None and accepted.status == "accepted"


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"total": "5.44"}, "body.total: expected an integer of minor units"),
        ({"lines": {}}, "body.lines: expected a list"),
        ({"currency": 7}, "body.currency: expected a currency code"),
        ({"currency": "USD"}, "body.currency: the sale is in USD but store s1 sells in CAD"),
        ({"sequence": 9}, "body.sequence: the sale says '9' but its envelope says '1'"),
        ({"store": "s2"}, "body.store: the sale says 's2'"),
        ({"version": 2}, "body.version: unknown sale version 2"),
        ({"cashier": "a\x00b"}, "payload: contains a NUL character"),
        ({"surprise": 1}, "body: unknown field 'surprise'"),
    ],
)
def test_a_body_that_does_not_fit_is_rejected(
    stocked: Database, till: Till, changes: dict[str, object], reason: str
) -> None:
    consumer = Consumer(stocked)
    bad = rebuilt(till.sell("cola"), **changes)
    ack = consumer.handle(bad.topic, bad.payload, NOW)
    assert ack is not None and ack.status == "rejected"
    assert ack.reason.startswith(reason)
    assert count(stocked, "entries") == 0 and count(stocked, "sales") == 0
    assert count(stocked, "rejected", "WHERE in_chain = 1") == 1
    again = consumer.handle(bad.topic, bad.payload, NOW)
    assert again == ack  # a rejection is final for that id, and said the same way again


def _first_line(**changes: object) -> Callable[[dict[str, Any]], dict[str, object]]:
    return lambda body: {"lines": [{**body["lines"][0], **changes}, *body["lines"][1:]]}


@pytest.mark.parametrize(
    "changes, reason",
    [
        (lambda body: {"local_time": body["local_time"] + "+00:00"},
         "body: local_time: the shop's wall-clock time, without an offset"),
        (_first_line(quantity="100001"), "body.lines[0]: cola: quantity must be at most 100000"),
        (_first_line(quantity="1E+999999"), "body.lines[0].quantity: expected a decimal within"),
        (_first_line(quantity="-2"), "body.lines[0]: cola: quantity must be positive"),
        (_first_line(quantity="0.5"), "body.lines[0]: cola: quantity must be a whole number"),
        (_first_line(weight="10000.5"), "body.lines[0]: cola: weight must be at most 10000"),
    ],
)  # fmt: skip
def test_a_sale_no_register_could_make_is_rejected_not_left_unanswered(
    stocked: Database,
    till: Till,
    changes: Callable[[dict[str, Any]], dict[str, object]],
    reason: str,
) -> None:
    """Unanswered (the back office failing on it), the register would send it again and
    again and its outbox never empty; stored, a quantity of 1E+999999 is a megabyte."""
    sent = till.sell("cola")
    bad = rebuilt(sent, **changes(wire.decode_envelope(sent.payload).body))
    ack = Consumer(stocked).handle(bad.topic, bad.payload, NOW)
    assert ack is not None and ack.status == "rejected", ack
    assert ack.reason.startswith(reason), ack.reason
    assert count(stocked, "rejected", "WHERE in_chain = 1") == 1


def test_offline_sale_repriced_at_the_back_office_is_accepted_with_drift(
    stocked: Database, till: Till, tmp_path: Path
) -> None:
    reprice(tmp_path, stocked, till, "lighter", 349)
    sent = till.sell("lighter")  # the register still sells it at 2.99, offline
    ack = Consumer(stocked).handle(sent.topic, sent.payload, NOW)
    assert ack is not None and ack.status == "accepted"
    drift = {item["field"]: item for item in ack.server["drift"]}
    assert drift["lines[1].unit_price"] == {
        "field": "lines[1].unit_price",
        "recorded": "299",
        "derived": "349",
    }
    body = wire.decode_envelope(sent.payload).body
    assert ack.server["drift_total"] == body["total"] - ack.server["total"] < 0
    with stocked.transaction() as tx:
        rows = tx.all(
            "SELECT field, recorded, derived FROM sale_drift WHERE sale = ? ORDER BY position",
            (sent.id,),
        )
        sale = tx.one("SELECT offline, total, drift_total, drift_items FROM sales")
    assert ("lines[1].unit_price", "299", "349") in rows
    assert ("total", str(body["total"]), str(ack.server["total"])) in rows
    assert sale == (1, body["total"], ack.server["drift_total"], len(rows))


def test_online_sale_that_drifted_is_rejected_naming_the_drift(
    stocked: Database, till: Till, tmp_path: Path
) -> None:
    reprice(tmp_path, stocked, till, "lighter", 349)
    online = rebuilt(till.sell("lighter"), offline=False)
    ack = Consumer(stocked).handle(online.topic, online.payload, NOW)
    assert ack is not None and ack.status == "rejected"
    assert ack.reason.startswith("online sale drifted from the back office's rules: ")
    assert "lines[1].unit_price: register 299, back office 349" in ack.reason
    assert count(stocked, "sales") == 0 and count(stocked, "sale_drift") == 0


def test_a_sale_judged_ahead_is_judged_again_when_the_catalogue_moves_before_the_commit(
    stocked: Database, till: Till, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-derivation done before the write transaction stands only for the catalogue
    version it used: a price change committed in between is the one the sale meets."""
    till.online = True
    sent = till.sell("lighter")
    consumer = Consumer(stocked)
    ahead = consumer._judge_ahead

    def then_reprice(items: list[Any]) -> list[Any]:
        judged = ahead(items)
        assert judged[0].judged.version == 1 and not isinstance(judged[0].judged.outcome, str)
        reprice(tmp_path, stocked, till, "lighter", 349)  # version 2, before the commit
        return judged

    monkeypatch.setattr(consumer, "_judge_ahead", then_reprice)
    ack = consumer.handle(sent.topic, sent.payload, NOW)
    assert ack is not None and ack.status == "rejected"
    assert "lines[1].unit_price: register 299, back office 349" in ack.reason
    assert count(stocked, "sales") == 0


def test_a_duplicate_is_not_re_derived(
    stocked: Database, till: Till, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = till.sell("lighter", "cola")
    consumer = Consumer(stocked)
    assert (ack := consumer.handle(sent.topic, sent.payload, NOW)) and ack.status == "accepted"
    calls = []
    monkeypatch.setattr(consumer_module, "rederive", lambda *a: calls.append(a))
    again = consumer.handle(sent.topic, sent.payload, NOW)
    assert again is not None and again.status == "duplicate" and calls == []


def test_online_sale_without_drift_is_accepted(stocked: Database, till: Till) -> None:
    till.online = True
    sent = till.sell("lighter", "cola")
    assert wire.decode_envelope(sent.payload).body["offline"] is False
    ack = Consumer(stocked).handle(sent.topic, sent.payload, NOW)
    assert ack is not None and ack.status == "accepted" and "drift" not in ack.server


def test_unknown_store_is_rejected(db: Database, tmp_path: Path) -> None:
    stranger = Till(tmp_path / "till-s9", store="s9")
    try:
        sent = stranger.sell("cola")
    finally:
        stranger.close()
    ack = Consumer(db).handle(sent.topic, sent.payload, NOW)
    assert ack is not None and ack.status == "rejected"
    assert ack.reason == "store 's9': unknown to the back office (no catalogue)"


def test_stock_goes_negative_on_oversell(stocked: Database, till: Till) -> None:
    consumer = Consumer(stocked)
    with stocked.transaction() as tx:
        ledger.add_stock(tx, "s1", "cola", Decimal(1), "receipt", "2026-11-25T08:00:00")
    till.register.add_weighed("bananas", Decimal("1.25"), WeightSource.MANUAL)
    sent = till.sell("cola", "cola")
    assert consumer.handle(sent.topic, sent.payload, NOW) is not None
    with stocked.transaction() as tx:
        moves = tx.all("SELECT sku, delta, reason, sale FROM stock_movements ORDER BY id")
    assert moves == [
        ("cola", "1", "receipt", None),
        ("bananas", "-1.25", "sale", sent.id),
        ("cola", "-2", "sale", sent.id),
    ]
    level = sum(Decimal(delta) for sku, delta, *_ in moves if sku == "cola")
    assert level == -1  # sold more than was received: visible, never refused


def test_watermark_and_gaps(stocked: Database, till: Till) -> None:
    consumer = Consumer(stocked)
    first, second, third = (till.sell(sku) for sku in ("cola", "chips", "gum"))
    for sent in (first, third):
        assert consumer.handle(sent.topic, sent.payload, NOW) is not None
    with stocked.transaction() as tx:
        assert ledger.gaps(tx, "s1", "r1") == [2]
        mark = tx.one("SELECT contiguous, last_seq FROM watermarks")
        chain = tx.all("SELECT seq, chain_ok FROM entries ORDER BY seq")
    assert mark == (1, 3)
    assert chain == [(1, 1), (3, None)]  # 3's predecessor has not arrived
    assert consumer.handle(second.topic, second.payload, NOW) is not None
    with stocked.transaction() as tx:
        assert ledger.gaps(tx, "s1", "r1") == []
        mark = tx.one("SELECT contiguous, last_seq FROM watermarks")
        chain = tx.all("SELECT seq, chain_ok FROM entries ORDER BY seq")
    assert mark == (3, 3)
    assert chain == [(1, 1), (2, 1), (3, 1)]


def test_a_rejected_entry_is_no_gap_but_an_edit_breaks_the_chain(
    stocked: Database, till: Till
) -> None:
    consumer = Consumer(stocked)
    first, second, third = (till.sell(sku) for sku in ("cola", "chips", "gum"))
    edited = rebuilt(second, cashier="mallory")  # same id and seq, different bytes
    for sent in (first, edited, third):
        assert consumer.handle(sent.topic, sent.payload, NOW) is not None
    with stocked.transaction() as tx:
        assert ledger.gaps(tx, "s1", "r1") == []
        chain = tx.all("SELECT seq, chain_ok FROM entries ORDER BY seq")
    assert chain == [(1, 1), (2, 1), (3, 0)]  # 3 links to the bytes the register kept
    bad = rebuilt(till.sell("mints"), total="1")
    ack = consumer.handle(bad.topic, bad.payload, NOW)
    assert ack is not None and ack.status == "rejected"
    with stocked.transaction() as tx:
        assert ledger.gaps(tx, "s1", "r1") == []
        assert tx.one("SELECT contiguous, last_seq FROM watermarks") == (4, 4)


def test_punches_cash_drops_and_no_sales_are_stored(stocked: Database, till: Till) -> None:
    consumer = Consumer(stocked)
    till.register.punch(ClockAction.CLOCK_IN)
    till.register.cash_drop(cad(50_00), "bag-7")
    till.register.no_sale(MANAGER_PIN, "change for the float")
    sent = till.entries()
    assert [s.kind for s in sent] == ["timeclock", "cashdrop", "nosale"]
    for entry in sent:
        ack = consumer.handle(entry.topic, entry.payload, NOW)
        assert ack is not None and ack.status == "accepted", ack
    with stocked.transaction() as tx:
        punch = tx.one("SELECT cashier, action, at FROM punches")
        drop = tx.one("SELECT cashier, amount, currency, bag FROM cash_drops")
        opened = tx.one("SELECT cashier, manager, reason FROM no_sales")
        assert ledger.gaps(tx, "s1", "r1") == []
    assert punch == ("ann", "clock_in", "2026-11-25T09:00:00")
    assert drop == ("ann", 5000, "CAD", "bag-7")
    assert opened == ("ann", "mo", "change for the float")


@pytest.mark.parametrize(
    "index, changes, reason",
    [
        (0, {"action": "nap"}, "body.action: expected one of"),
        (1, {"amount": -5}, "body.amount: a cash drop must be positive"),
        (1, {"currency": None}, "body.currency: expected a currency code"),
        (2, {"manager": 7}, "body.manager: expected a string"),
        (2, {"at": "noon"}, "body.at: expected an ISO 8601 time"),
        (2, {"extra": "x"}, "body: unknown field 'extra'"),
    ],
)
def test_malformed_records_are_rejected(
    stocked: Database, till: Till, index: int, changes: dict[str, object], reason: str
) -> None:
    till.register.punch(ClockAction.CLOCK_IN)
    till.register.cash_drop(cad(50_00), "bag-7")
    till.register.no_sale(MANAGER_PIN, "float")
    bad = rebuilt(till.entries()[index], **changes)
    ack = Consumer(stocked).handle(bad.topic, bad.payload, NOW)
    assert ack is not None and ack.status == "rejected"
    assert ack.reason.startswith(reason), ack.reason


def test_an_id_of_another_register_is_never_answered_duplicate(
    stocked: Database, till: Till, tmp_path: Path
) -> None:
    consumer = Consumer(stocked)
    sent = till.sell("cola")
    assert consumer.handle(sent.topic, sent.payload, NOW) is not None
    other = Till(tmp_path / "till-s1-r2", register="r2")
    try:
        theirs = other.sell("chips")
    finally:
        other.close()
    envelope = wire.decode_envelope(theirs.payload)
    body = {**envelope.body, "id": sent.id}
    clash = wire.encode_envelope(
        wire.Envelope(sent.id, "sale", "s1", "r2", envelope.seq, envelope.prev, envelope.at, body)
    )
    for _ in range(2):  # and again when redelivered
        ack = consumer.handle(theirs.topic, clash, NOW)
        assert ack is not None and ack.status == "rejected"
        assert ack.reason == "id: already used by an entry of another register"
    # r2 settles the entry for good, so it is kept with its reason and is no gap of r2's
    assert count(stocked, "rejected", "WHERE register = ? AND in_chain = 1", ("r2",)) == 1
    with stocked.transaction(readonly=True) as tx:
        mark = tx.one("SELECT contiguous, last_seq FROM watermarks WHERE register = ?", ("r2",))
    assert mark == (1, 1)


def test_internal_failure_is_logged_and_answered_with_none(
    stocked: Database, till: Till, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer = Consumer(stocked)
    sent = till.sell("cola")

    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(ledger, "write_sale", broken)
    assert consumer.handle(sent.topic, sent.payload, NOW) is None
    assert count(stocked, "entries") == 0  # rolled back: nothing final was decided
    monkeypatch.undo()
    ack = consumer.handle(sent.topic, sent.payload, NOW)
    assert ack is not None and ack.status == "accepted"


def test_a_card_number_is_never_stored(stocked: Database, till: Till) -> None:
    consumer = Consumer(stocked)
    till.register.add_sku("cola")
    due = till.register.price().total
    sent = till.sell(tenders=(Tender.card(due, "visa", "auth-77"),))
    tenders = wire.decode_envelope(sent.payload).body["tenders"]
    tenders[0]["reference"] = "4111 1111 1111 1111"
    bad = rebuilt(sent, tenders=tenders)
    ack = consumer.handle(bad.topic, bad.payload, NOW)
    assert ack is not None and ack.status == "rejected"
    assert ack.reason == (
        "body.tenders[0].reference: looks like a card number, and card numbers are never stored"
    )
    with stocked.transaction() as tx:
        assert bytes(tx.scalar("SELECT payload FROM rejected")) == b""
    typed = rebuilt(till.sell("gum"), total=4111111111111111.0)
    ack = consumer.handle(typed.topic, typed.payload, NOW)
    assert ack is not None and ack.status == "rejected"
    assert "[card number]" in ack.reason and "4111111111111111" not in ack.reason
    assert count(stocked, "rejected", "WHERE payload = ?", (b"",)) == 2


def test_a_card_number_is_not_stored_however_a_refused_message_spells_it(
    stocked: Database, till: Till
) -> None:
    consumer = Consumer(stocked)
    till.register.add_sku("cola")
    due = till.register.price().total
    sent = till.sell(tenders=(Tender.card(due, "visa", "auth-77"),))
    # written with JSON escapes: refused, and its payload not kept
    escaped = sent.payload.replace(b'"auth-77"', b'"\\u0034111 1111 1111 1111"')
    ack = consumer.handle(sent.topic, escaped, NOW)
    assert ack is not None and ack.status == "rejected" and "card number" in ack.reason
    # in the envelope's time, which must be a time
    envelope = json.loads(till.sell("gum").payload)
    timed = json.dumps({**envelope, "at": "4111111111111111"}).encode()
    ack = consumer.handle(sent.topic, timed, NOW)
    assert ack is not None and ack.status == "rejected"
    assert ack.reason == "at: expected an ISO 8601 time, got '[card number]'"
    # at the end of a too-big payload's kept part, with more digits after it
    envelope = json.loads(till.sell("gum").payload)
    note = "x" * (wire.MAX_PAYLOAD - len('{"note": "') - 16) + "4111111111111111" + "7" * 99
    big = json.dumps({"note": note, **envelope}).encode()
    assert big[: wire.MAX_PAYLOAD].endswith(b"x4111111111111111")
    ack = consumer.handle(sent.topic, big, NOW)
    assert ack is not None and ack.status == "rejected" and "over the" in ack.reason
    with stocked.transaction() as tx:
        kept = [bytes(p) for (p,) in tx.all("SELECT payload FROM rejected")]
    assert kept == [b"", b"", b""]


def test_a_garbled_copy_of_a_stored_entry_is_still_a_duplicate(
    stocked: Database, till: Till
) -> None:
    consumer = Consumer(stocked)
    sent = till.sell("cola")
    assert consumer.handle(sent.topic, sent.payload, NOW) is not None
    garbled = sent.payload.replace(b'"kind":"sale"', b'"kind":"refund"')
    ack = consumer.handle(sent.topic, garbled, NOW)
    assert ack is not None and (ack.id, ack.status) == (sent.id, "duplicate")
    assert count(stocked, "rejected") == 0
