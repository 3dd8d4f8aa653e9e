"""Sync under faults: real Mosquitto, the real back office, real registers over LMDB.

Each test breaks something on the way from a register's outbox to the back office's
database (the broker, the consumer, the register, the network, a second consumer,
garbage on the wire, a big backlog), lets it heal and drain, and ends with the one
checker (`tests/faults/checker.py`): every committed entry stored once or rejected
with a reason, 1..n per register with no gap and every hash link verified, nothing
unsent. Each prints one summary line (`FAULTS <test>: ...`).

Randomness is seeded; assertion messages carry the seed and the step. Every wait has
a timeout. The heavy tests run on SQLite only; the shared-subscription test runs on
PostgreSQL (two consumers need one database server). Garbage on the wire and the big
offline backlog have files of their own (`test_garbage_on_the_wire.py`,
`test_offline_backlog.py`).
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from appliance.bootstrap import open_storage
from devstack import Mosquitto, TcpProxy
from tests.devstack.conftest import ProxyFactory
from tests.faults.checker import check, read_outbox_at
from tests.faults.conftest import Report
from tests.faults.shop import (
    RegisterChild,
    Serve,
    Shop,
    StateLog,
    WireWatch,
    office,
    shop_config,
    stock,
    sync_section,
    wait_for,
)
from tests.store.conftest import seed

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
POSTGRES = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


# --- 1. the broker is SIGKILLed mid-drain -----------------------------------------------------


@pytest.mark.slow
@SQLITE
def test_broker_killed_mid_drain_and_restarted(
    tmp_path: Path, mosquitto: Mosquitto, db_url: str, shops: list[Shop], report: Report
) -> None:
    seed_, queued, during = 1001, 300, 20
    ctx = f"seed={seed_}"
    shop = Shop(tmp_path, "r1", mosquitto.url, seed_rng=seed_)
    shops.append(shop)
    db = stock(db_url, shop.config)
    shop.sell(queued)
    with office(db_url, mosquitto):
        shop.start_link()
        third = wait_for(lambda: shop.unsent() <= queued * 2 // 3, 30, poll=0.002)
        assert third, f"{ctx} step=drain-a-third: unsent {shop.unsent()}"
        mosquitto.kill()  # SIGKILL: sessions and anything in flight at the broker are gone
        confirmed_at_kill = queued - shop.unsent()
        assert confirmed_at_kill < queued, f"{ctx} step=kill: the drain was already over"
        assert wait_for(lambda: shop.state() == "offline", 10), f"{ctx} step=see-offline"
        offline = shop.sell(during)  # the cashier goes on while the broker is down
        assert all(shop.register.sale(i).offline for i in offline), f"{ctx} step=sell-offline"
        mosquitto.start()
        healed = time.monotonic()
        assert wait_for(lambda: shop.unsent() == 0, 60), f"{ctx} step=drain: {shop.unsent()}"
        drain_s = time.monotonic() - healed
        assert wait_for(lambda: shop.state() == "online", 20), f"{ctx} step=online"
    verdict = check(db, [shop.outbox()], f"{ctx} step=final")
    db.close()
    assert verdict.committed == queued + during and verdict.rejected == 0, f"{ctx} {verdict}"
    report(
        registers=1,
        sales=verdict.sales,
        faults="broker_sigkill=1",
        confirmed_at_kill=confirmed_at_kill,
        resent_entries=verdict.resent_entries,
        drain_after_heal_s=f"{drain_s:.2f}",
    )


# --- 2. the consumer is SIGKILLed mid-transaction, several times -------------------------------


@pytest.mark.slow
@SQLITE
def test_consumer_killed_mid_transaction_and_restarted(
    tmp_path: Path, mosquitto: Mosquitto, db_url: str, shops: list[Shop], report: Report
) -> None:
    seed_, queued, kills = 2002, 200, 5
    rng = random.Random(seed_)
    shop = Shop(tmp_path, "r1", mosquitto.url, seed_rng=seed_)
    shops.append(shop)
    db = stock(db_url, shop.config)
    shop.sell(queued)
    watch = WireWatch(mosquitto)
    serve = Serve(db_url, mosquitto.url, tmp_path / "serve.log", client_id="bo-killed")

    def stored() -> int:
        with db.transaction(readonly=True) as tx:
            return int(tx.scalar("SELECT COUNT(*) FROM entries", (), 0))

    at_kill: list[int] = []
    try:
        serve.start()
        shop.start_link()
        # kill when the stored count passes seeded thresholds, then a seeded few ms later
        for step, threshold in enumerate(sorted(rng.sample(range(5, queued - 10), kills))):
            ctx = f"seed={seed_} step=kill-{step + 1}/{kills} threshold={threshold}"
            assert wait_for(lambda t=threshold: stored() >= t, 30, poll=0.002), (
                f"{ctx}: stuck at {stored()}\n{serve.log_text()[-2000:]}"
            )
            time.sleep(rng.uniform(0, 0.015))
            serve.kill()
            at_kill.append(stored())
            assert at_kill[-1] < queued, f"{ctx}: the drain was over before the kill"
            # down for a moment; past the register's 2 s ack deadline it resends as well
            time.sleep(rng.uniform(0.1, 2.0))
            serve.start()
        ctx = f"seed={seed_} step=final-drain"
        assert wait_for(lambda: shop.unsent() == 0, 90), f"{ctx}: unsent {shop.unsent()}"
        drain_s = time.monotonic() - serve.started_at
    finally:
        code = serve.stop()
        watch.close()
    log = serve.log_text()
    assert code == 0, f"seed={seed_} step=sigterm: exit {code}\n{log[-2000:]}"
    assert "session present: True" in log, f"seed={seed_}: the session never resumed"
    verdict = check(db, [shop.outbox()], f"seed={seed_} step=final at_kill={at_kill}")
    db.close()
    assert verdict.committed == queued and verdict.rejected == 0, f"seed={seed_} {verdict}"
    report(
        registers=1,
        sales=verdict.sales,
        faults=f"consumer_sigkill={serve.kills}",
        stored_at_kills="/".join(map(str, at_kill)),
        wire_copies=sum(watch.copies.values()),
        duplicate_acks=watch.acks["duplicate"],
        resent_entries=verdict.resent_entries,
        drain_after_heal_s=f"{drain_s:.2f}",
    )


# --- 3. the register is SIGKILLed mid-drain, several times -------------------------------------


@pytest.mark.slow
@SQLITE
def test_register_killed_mid_drain_and_restarted(
    tmp_path: Path, mosquitto: Mosquitto, db_url: str, report: Report
) -> None:
    seed_, kills = 3003, 5
    rng = random.Random(seed_)
    config = shop_config(tmp_path / "s1-r1", "r1", mosquitto.url)
    config_path = tmp_path / "s1-r1" / "register-s1-r1.toml"
    storage = open_storage(config)
    seed(storage, config)
    storage.close()
    db = stock(db_url, config)
    log = tmp_path / "children.log"
    said: list[str] = []  # sales the children said were committed
    unsent_at_kill: list[int] = []
    with office(db_url, mosquitto):
        for step in range(kills):
            ctx = f"seed={seed_} step=kill-{step + 1}/{kills}"
            child = RegisterChild(config_path, seed_ + step, "sell", log)
            try:
                assert child.wait_line("ready", 20), f"{ctx}: not ready\n{child.stderr()}"
                time.sleep(rng.uniform(0.3, 1.5))  # selling and draining at once
            finally:
                child.kill()
            said += child.sold
            outbox = read_outbox_at(config)  # read-only, while no register runs
            unsent_at_kill.append(outbox.unsent)
            assert {e.id for e in outbox.entries} >= set(said), f"{ctx}: a said sale is missing"
        ctx = f"seed={seed_} step=final-drain"
        final = RegisterChild(config_path, seed_, "drain", log)
        try:
            assert final.wait_line("drained", 60), f"{ctx}\n{final.stderr()}"
            drain_s = time.monotonic() - final.started_at
        finally:
            code = final.stop()
        assert code == 0, f"{ctx}: exit {code}\n{final.stderr()}"
    outbox = read_outbox_at(config)
    verdict = check(db, [outbox], f"seed={seed_} step=final unsent_at_kill={unsent_at_kill}")
    db.close()
    assert set(said) <= {e.id for e in outbox.entries}, f"seed={seed_}: a said sale was lost"
    assert verdict.rejected == 0, f"seed={seed_} {verdict}"
    assert any(unsent_at_kill), f"seed={seed_}: no kill left anything unsent {unsent_at_kill}"
    report(
        registers=1,
        sales=verdict.sales,
        faults=f"register_sigkill={kills}",
        unsent_at_kills="/".join(map(str, unsent_at_kill)),
        resent_entries=verdict.resent_entries,
        drain_after_heal_s=f"{drain_s:.2f}",
        drain_includes="process start",
    )


# --- 4. the link is cut, then black-holed for longer than the keepalive ----------------------


@pytest.mark.slow
@SQLITE
def test_link_cut_and_blackholed_past_the_keepalive(
    tmp_path: Path,
    mosquitto: Mosquitto,
    proxy_factory: ProxyFactory,
    db_url: str,
    shops: list[Shop],
    report: Report,
) -> None:
    seed_, keepalive = 4004, 5  # the least the config allows
    proxy: TcpProxy = proxy_factory(mosquitto.host, mosquitto.port)
    shop = Shop(tmp_path, "r1", proxy.url_for("mqtt"), keepalive_s=keepalive, seed_rng=seed_)
    shops.append(shop)
    db = stock(db_url, shop.config)
    with office(db_url, mosquitto):
        link = shop.start_link()
        states = StateLog(link)
        try:
            ctx = f"seed={seed_} step=online"
            shop.sell(10)
            assert wait_for(lambda: shop.unsent() == 0 and shop.state() == "online", 20), ctx

            # cut: the connection is reset; the register knows at once
            ctx = f"seed={seed_} step=cut"
            proxy.cut()
            cut_at = time.monotonic()
            assert wait_for(lambda: shop.state() == "offline", 3), f"{ctx}: {link.status()}"
            cut_seen = time.monotonic() - cut_at
            during_cut = shop.sell(30)
            assert all(shop.register.sale(i).offline for i in during_cut), ctx
            assert shop.unsent() == 30, f"{ctx}: {shop.unsent()}"
            proxy.heal()
            healed = time.monotonic()
            assert wait_for(lambda: shop.unsent() == 0, 30), f"{ctx}-drain: {shop.unsent()}"
            cut_drain_s = time.monotonic() - healed
            assert wait_for(lambda: shop.state() == "online", 20), f"{ctx}-online"

            # blackhole: nothing comes back; only the keepalive can tell
            ctx = f"seed={seed_} step=blackhole"
            proxy.blackhole()
            hole_at = time.monotonic()
            unaware: list[str] = []  # the link still looks up: sold into the void
            took: list[float] = []
            for _ in range(5):
                started = time.monotonic()
                unaware += shop.sell(1)
                took.append(time.monotonic() - started)
            # The link still looks up, so the first sale asks the back office to price it and
            # waits out the RPC timeout; the register then stops asking for a while.
            rpc_timeout = shop.config.sync.rpc_timeout_s
            slow = [t for t in took if t >= 0.5]
            assert len(slow) <= 1 and max(took) < rpc_timeout + 1.0, (
                f"{ctx}: sales took {[round(t, 2) for t in took]} s: the cashier waited"
            )
            assert wait_for(lambda: shop.state() == "offline", 3 * keepalive), (
                f"{ctx}: still {link.status()} after {3 * keepalive} s"
            )
            hole_seen = (states.first("offline", hole_at) or time.monotonic()) - hole_at
            during_hole = shop.sell(30)
            assert all(shop.register.sale(i).offline for i in during_hole), ctx
            time.sleep(1.0)  # offline for a while, reconnects going into the void
            proxy.heal()
            healed = time.monotonic()
            assert wait_for(lambda: shop.unsent() == 0, 30), f"{ctx}-drain: {shop.unsent()}"
            hole_drain_s = time.monotonic() - healed
            assert wait_for(lambda: shop.state() == "online", 20), f"{ctx}-online"
            back_online = (states.first("online", healed) or time.monotonic()) - healed
        finally:
            states.close()
    ctx = f"seed={seed_} keepalive={keepalive}"
    assert cut_seen < 2.0, f"{ctx}: a reset took {cut_seen:.2f} s to notice"
    assert keepalive * 0.8 <= hole_seen <= keepalive * 2 + 2, (
        f"{ctx}: offline {hole_seen:.2f} s after the blackhole, expected the keepalive "
        f"({keepalive} s) to 2x keepalive; states {states.samples}"
    )
    assert not any(s == "offline" for t, s in states.samples if hole_at <= t < hole_at + 4), (
        f"{ctx}: offline at once in the blackhole: {states.samples}"
    )
    # sold while the link still looked up: the back office never priced them, so offline
    assert all(shop.register.sale(i).offline for i in unaware), ctx
    verdict = check(db, [shop.outbox()], f"{ctx} step=final")
    db.close()
    assert verdict.committed == 10 + 30 + 5 + 30 and verdict.rejected == 0, f"{ctx} {verdict}"
    report(
        registers=1,
        sales=verdict.sales,
        faults="cut=1,blackhole=1",
        keepalive_s=keepalive,
        cut_seen_s=f"{cut_seen:.2f}",
        blackhole_seen_s=f"{hole_seen:.2f}",
        back_online_s=f"{back_online:.2f}",
        resent_entries=verdict.resent_entries,
        drain_after_heal_s=f"{cut_drain_s:.2f}(cut)/{hole_drain_s:.2f}(blackhole)",
    )


# --- 5. two consumers share the subscription on PostgreSQL; redelivery forced ----------------


@pytest.mark.slow
@POSTGRES
def test_two_shared_consumers_and_redelivery_store_each_entry_once(
    tmp_path: Path,
    mosquitto: Mosquitto,
    proxy_factory: ProxyFactory,
    db_url: str,
    shops: list[Shop],
    report: Report,
) -> None:
    seed_, queued = 5005, 200
    rng = random.Random(seed_)
    proxy: TcpProxy = proxy_factory(mosquitto.host, mosquitto.port)
    # acks take 2 x 0.15 s through the proxy, past the 0.2 s deadline: every entry is resent
    sync = sync_section(window=32, ack_timeout_s=0.2)
    shop = Shop(tmp_path, "r1", proxy.url_for("mqtt"), sync=sync, seed_rng=seed_)
    shops.append(shop)
    db = stock(db_url, shop.config)
    shop.sell(queued)
    watch = WireWatch(mosquitto)
    consumers = [
        Serve(
            db_url, mosquitto.url, tmp_path / f"serve-{name}.log", f"bo-{name}", shared="backoffice"
        )
        for name in ("a", "b")
    ]
    try:
        for consumer in consumers:
            consumer.start()
        proxy.set_latency(0.15)
        shop.start_link()
        ctx = f"seed={seed_} step=kill-consumer-a"
        assert wait_for(lambda: shop.unsent() <= queued * 2 // 3, 60, poll=0.005), (
            f"{ctx}: unsent {shop.unsent()}"
        )
        consumers[0].kill()
        unsent_at_kill = shop.unsent()
        time.sleep(rng.uniform(0.2, 1.0))
        consumers[0].start()
        healed = consumers[0].started_at
        ctx = f"seed={seed_} step=drain"
        assert wait_for(lambda: shop.unsent() == 0, 90), f"{ctx}: unsent {shop.unsent()}"
        drain_s = time.monotonic() - healed
        time.sleep(0.5)  # late copies still on their way through the proxy are answered
    finally:
        codes = [consumer.stop() for consumer in consumers]
        watch.close()
    ctx = f"seed={seed_}"
    assert codes == [0, 0], f"{ctx}: exit codes {codes}"
    verdict = check(db, [shop.outbox()], f"{ctx} step=final")
    db.close()
    served = {c.client_id: _deliveries(mosquitto, c.client_id) for c in consumers}
    assert all(served.values()), f"{ctx}: the load was not shared: {served}"
    assert verdict.resent_entries > 0, f"{ctx}: no entry was sent twice: {verdict}"
    assert watch.resent() > 0 and watch.acks["duplicate"] > 0, (
        f"{ctx}: no duplicate on the wire: {watch.acks}"
    )
    assert verdict.committed == queued and verdict.rejected == 0, f"{ctx} {verdict}"
    report(
        registers=1,
        sales=verdict.sales,
        consumers=2,
        db="postgresql",
        faults="consumer_sigkill=1,latency=0.15s/ack_timeout=0.2s",
        unsent_at_kill=unsent_at_kill,
        wire_copies=sum(watch.copies.values()),
        entries_resent=verdict.resent_entries,
        max_attempts=verdict.max_attempts,
        acks=dict(watch.acks),
        deliveries=served,
        drain_after_heal_s=f"{drain_s:.2f}",
    )


def _deliveries(broker: Mosquitto, client_id: str) -> int:
    """Outbox entries the broker handed to this consumer (its log, `log_type all`)."""
    needle = f"Sending PUBLISH to {client_id} "
    return sum(1 for line in broker.log_text().splitlines() if needle in line and "/out/" in line)
