"""Minimal reproductions of problems the fault tests found, kept as regression tests.

A garbled copy that arrived first rejected the register's own entry for good (fixed)
------------------------------------------------------------------------------------
`Consumer._reject_outside_chain` handles a message that "cannot be one of the
register's own entries" (malformed envelope with a readable id and seq, or an
identity mismatch): it stores a rejection with `in_chain = 0` under the TOPIC's store
and register. `Consumer._known` then treats ANY stored rejection of that (store,
register, id) as final, so when the register's own, intact envelope with that id
arrives later it is answered "rejected" with the garbled copy's reason, never stored,
and shown on the register as rejected. The reverse order is handled on purpose (the
docstring of `_reject_outside_chain`: a later garbled copy of a stored entry is
"duplicate"), so the asymmetry looks unintended.

Reaching it needs a message on the register's own topic carrying the id of an entry
the back office has not stored yet, before the register's own copy arrives: the
broker's ACL normally allows only the register on its topic, and the register only
ever publishes the intact bytes it committed. So: low severity, but it defeats the
"a misconfigured ACL still cannot let one register write as another" defence of
docs/protocol.md, and the rejection was permanent. Fixed: `_known` now counts only
rejections of well-formed entries (`in_chain = 1`) as final, and such a rejection
replaces a garbled copy's row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.store.outbox import EntryState
from appliance.sync import wire
from devstack import Mosquitto
from devstack.mqtt import MqttProbe
from tests.faults.shop import Shop, office, stock, wait_for


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_garbled_copy_first_does_not_reject_the_registers_own_entry(
    tmp_path: Path, mosquitto: Mosquitto, db_url: str, shops: list[Shop]
) -> None:
    shop = Shop(tmp_path, "r1", mosquitto.url, seed_rng=8008)
    shops.append(shop)
    db = stock(db_url, shop.config)
    (sale,) = shop.sell(1)
    (entry,) = shop.outbox().entries
    garbled = json.loads(entry.payload)
    garbled["at"] = 0  # the same id and seq, one field of the wrong type
    with office(db_url, mosquitto), MqttProbe(mosquitto.host, mosquitto.port) as probe:
        probe.subscribe(wire.ack_topic("s1", "r1"))
        probe.publish(wire.out_topic("s1", "r1", "sale"), json.dumps(garbled).encode())
        refused = wire.decode_ack(bytes(probe.next_message(10).payload))
        assert (refused.id, refused.status) == (sale, "rejected")  # the garbled copy: right
        shop.start_link()  # now the register sends its own, intact bytes
        assert wait_for(lambda: shop.unsent() == 0, 20), "the register's entry was never settled"
    with db.transaction(readonly=True) as tx:
        stored = tx.scalar("SELECT COUNT(*) FROM entries WHERE id = ?", (sale,), 0)
    db.close()
    (after,) = shop.outbox().entries
    assert after.state is EntryState.CONFIRMED, (
        f"the register shows it {after.state}: {after.reason}"
    )
    assert stored == 1, "the intact sale is not in the back office"
