"""Garbage and foreign identities on a register's topic, published with a plain MQTT client.

Each malformed or foreign message is refused: a rejected ack naming the field where the
message carries an id to answer, a logged reason where it does not. The consumer keeps
running, and the real registers' sales that follow are stored once each (`check`).
Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from appliance.domain.chain import GENESIS_HASH
from appliance.sync import wire
from devstack import Mosquitto
from devstack.mqtt import MqttProbe
from tests.faults.checker import check
from tests.faults.conftest import Report
from tests.faults.shop import Shop, office, stock, wait_for

# --- 6. garbage and foreign identities on a register's topic ---------------------------------


def _envelope(**fields: object) -> dict[str, object]:
    """A well-formed envelope of register s1/r1 (fresh id), with `fields` replaced."""
    data: dict[str, object] = {
        "v": 1,
        "id": _uuid(),
        "kind": "sale",
        "store": "s1",
        "register": "r1",
        "seq": 1,
        "prev": GENESIS_HASH,
        "at": "2026-11-25T09:00:00",
        "body": {},
    }
    data.update(fields)
    return data


_IDS = iter(range(1, 10_000))


def _uuid() -> str:
    return f"01a2ffff-0000-7000-8000-{next(_IDS):012d}"


def _bytes(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


@pytest.mark.slow
def test_garbage_and_foreign_identities_are_refused_and_the_consumer_goes_on(
    tmp_path: Path,
    mosquitto: Mosquitto,
    db_url: str,
    shops: list[Shop],
    report: Report,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seed_ = 6006
    caplog.set_level(logging.INFO, logger="backoffice")
    r1 = Shop(tmp_path, "r1", mosquitto.url, seed_rng=seed_)
    r2 = Shop(tmp_path, "r2", mosquitto.url, seed_rng=seed_ + 1)
    shops += [r1, r2]
    db = stock(db_url, r1.config)
    (r2_sale,) = r2.sell(1)
    r2_payload = next(e.payload for e in r2.outbox().entries if e.id == r2_sale)
    topic = wire.out_topic("s1", "r1", "sale")
    deep_ok = _envelope(body={"x": json.loads("[" * 60 + "]" * 60)})
    # (name, topic, payload, reason expected in the rejected ack, or None: no id to answer)
    cases: list[tuple[str, str, bytes, str | None]] = [
        ("bad-json", topic, b'{"v":1,"id":"' + _uuid().encode() + b'","seq":1,', None),
        ("not-utf8", topic, b"\xff\xfe\x00garbage", None),
        ("not-an-object", topic, b"[1,2,3]", None),
        ("seq-a-string", topic, _bytes(_envelope(seq="1")), None),
        ("prev-a-number", topic, _bytes(_envelope(prev=12345)), "prev: expected str"),
        ("body-a-string", topic, _bytes(_envelope(body="sold")), "body: expected dict"),
        (
            "at-missing",
            topic,
            _bytes({k: v for k, v in _envelope().items() if k != "at"}),
            "at: missing",
        ),
        ("unknown-field", topic, _bytes(_envelope(extra=1)), "extra: unknown field"),
        ("other-register", topic, r2_payload, "identity: register: payload says 'r2'"),
        ("other-store", topic, _bytes(_envelope(store="s9")), "identity: store"),
        (
            "other-kind",
            wire.out_topic("s1", "r1", "timeclock"),
            _bytes(_envelope()),
            "identity: kind",
        ),
        ("huge", topic, _bytes(_envelope(body={"pad": "x" * 300_000})), "over the 262144 limit"),
        ("huge-garbage", topic, b"x" * 300_000, None),
        ("deep", topic, _bytes(deep_ok), "nested deeper than 32"),
        ("very-deep", topic, b'{"v":1,"body":' + b"[" * 100_000 + b"]" * 100_000 + b"}", None),
        ("foreign-topic", "pos/v1/s1/r1/out/bogus", _bytes(_envelope()), None),
    ]
    with office(db_url, mosquitto) as service, MqttProbe(mosquitto.host, mosquitto.port) as probe:
        probe.subscribe(wire.ack_topic("s1", "r1"))
        for _name, where, payload, _ in cases:
            probe.publish(where, payload)
        ctx = f"seed={seed_} step=garbage"
        # every message but the one on a foreign topic counts as handled; that one is logged
        assert wait_for(
            lambda: service.handled >= len(cases) - 1 and "foreign topic" in caplog.text, 20
        ), f"{ctx}: handled {service.handled} of {len(cases)}"
        acks: dict[str, wire.Ack] = {}
        while True:
            try:
                ack = wire.decode_ack(bytes(probe.next_message(1.0).payload))
            except TimeoutError:
                break
            acks[ack.id] = ack
        for name, _, payload, expected in cases:
            entry_id = _id_in(payload)
            if expected is None:
                assert entry_id not in acks, f"{ctx} case={name}: answered {acks.get(entry_id)}"
                continue
            ack = acks.get(entry_id)  # type: ignore[arg-type]
            assert ack is not None, f"{ctx} case={name}: no ack"
            assert ack.status == "rejected" and expected in ack.reason, f"{ctx} case={name}: {ack}"
        assert len(acks) == sum(1 for *_, expected in cases if expected), f"{ctx}: {acks}"
        logged = caplog.text
        dropped = logged.count("dropped a malformed entry") + logged.count("foreign topic")
        assert dropped >= sum(1 for *_, expected in cases if expected is None), (
            f"{ctx}: the consumer did not log a reason for each dropped message:\n{logged}"
        )
        for entry_id in acks:
            assert entry_id in logged, f"{ctx}: no log line for {entry_id}"

        # the consumer goes on: the real registers' sales are accepted, r2's despite its copy
        ctx = f"seed={seed_} step=real-sales"
        sold = r1.sell(20)
        for shop in (r1, r2):
            shop.start_link()
        healed = time.monotonic()
        assert wait_for(lambda: r1.unsent() == 0 and r2.unsent() == 0, 30), (
            f"{ctx}: unsent {r1.unsent()}, {r2.unsent()}"
        )
        drain_s = time.monotonic() - healed
    verdict = check(db, [r1.outbox(), r2.outbox()], f"seed={seed_} step=final")
    db.close()
    assert verdict.committed == len(sold) + 1 and verdict.rejected == 0, f"{verdict}"
    assert verdict.foreign_rejected == len(acks), f"{verdict}"
    report(
        registers=2,
        sales=verdict.sales,
        faults=f"garbage_messages={len(cases)}",
        rejected_acks=len(acks),
        dropped_without_id=len(cases) - len(acks),
        drain_after_heal_s=f"{drain_s:.2f}",
    )


def _id_in(payload: bytes) -> str | None:
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    return data.get("id") if isinstance(data, dict) else None
