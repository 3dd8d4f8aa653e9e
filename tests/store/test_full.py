"""Storage that fills up or hangs: the sale in progress is refused, nothing is lost.

- The map reaches its configured cap: `complete()` raises StorageFull, the
  cashier keeps the cart and tenders, every sale committed before stays
  readable (now and after reopening), the chain verifies, and the map did grow
  on the way.
- The filesystem itself fills up (a 3 MiB tmpfs, root only): the same, and once
  space is freed the very same cart completes.
- A storage operation that hangs: `complete()` raises StorageTimeout within
  the deadline instead of freezing, the cart is kept, and the retry records the
  sale exactly once under the id of the first attempt.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from appliance.bootstrap import open_storage
from appliance.config import Config
from appliance.domain.cart import WeightSource
from appliance.domain.money import Money
from appliance.domain.sale import cart_of
from appliance.domain.tender import Tender
from appliance.domain.timeclock import ClockAction
from appliance.register import CompletedSale, EntryRecorded, Register, SaleRecorded
from appliance.store import cache, local, outbox
from appliance.store.errors import StorageError, StorageFull, StorageTimeout
from appliance.store.executor import StorageThread
from appliance.store.lmdb_env import Storage
from tests.store.conftest import (
    CASHIER_PIN,
    FakeClock,
    make_register,
    new_id,
    seed,
    write_config,
)

# Products sold by the each, no purchase limit: a long cart makes a big sale record.
EACH = (
    "avocado", "lemons", "carrots", "spinach", "sourdough", "baguette", "croissant", "muffin",
    "cookie", "bagels", "cinnamon-bun", "milk-2l", "cream", "yogurt", "eggs", "cola",
    "sparkling", "oj", "kombucha", "cold-brew", "energy", "iced-tea", "water", "chips",
    "pretzels", "chocolate", "granola-bar", "popcorn", "jerky", "mints", "gum", "coils",
)  # fmt: skip
MIB = 1 << 20


def ring_up(register: Register, n: int) -> None:
    """A cart of `n` each-items, a scale-weighed and a preset line, paid by card."""
    for index, sku in enumerate(EACH[:n]):
        register.add_sku(sku, Decimal(1 + index % 3))
    register.add_weighed("cheddar", Decimal("0.412"), WeightSource.SCALE)
    register.add_weighed("sencha", Decimal("100"), WeightSource.PRESET, Decimal(2))
    register.add_tender(Tender.card(register.price().total, "visa", "A000001"))


def queue_state(
    storage: Storage, register: Register
) -> tuple[tuple[int, str], int, dict[bytes, bytes]]:
    """(outbox head, entries in the chain, every cached stock level)."""
    with storage.read() as txn:
        head = outbox.head(txn, storage, register.queue)
        count = outbox.verify(txn, storage, register.queue)
        with txn.cursor(db=storage.dbs["stock"]) as cursor:
            stock = {bytes(k): bytes(v) for k, v in cursor}
    return head, count, stock


def sell_until_full(register: Register, n_lines: int, most: int) -> tuple[list[str], StorageFull]:
    """Complete sales until StorageFull; the sales committed and the error."""
    sold: list[str] = []
    for _ in range(most):
        ring_up(register, n_lines)
        try:
            done = register.complete()
        except StorageFull as exc:
            return sold, exc
        except StorageError as exc:
            raise AssertionError(
                f"after {len(sold)} sales the full disk surfaced as {type(exc).__name__}"
                f"({exc}), not as StorageFull: the cashier is not told the storage is full"
            ) from exc
        sold.append(done.sale.id)
    raise AssertionError(f"still not full after {most} sales")


def check_refused(register: Register, storage: Storage, sold: list[str], exc: StorageFull) -> None:
    """The cart is kept, nothing of the refused sale is kept, everything before is."""
    assert "storage full" in str(exc).lower(), str(exc)
    cart, tenders = register.cart, list(register.tenders)
    assert not cart.is_empty and tenders, "the refused sale's cart or tenders were dropped"
    before = queue_state(storage, register)
    assert before[0][0] == before[1] == len(sold), "the head or chain holds a refused sale"
    with pytest.raises(StorageFull):  # the cashier retries: refused again, cleanly
        register.complete()
    assert register.cart == cart and register.tenders == tenders
    assert queue_state(storage, register) == before, "a refused sale left effects behind"
    for sale_id in sold:
        assert register.sale(sale_id).id == sale_id


def check_reopened(config: Config, clock: FakeClock, sold: list[str]) -> None:
    """After a restart every committed sale is there, in a chain that verifies."""
    with open_storage(config, readonly=True) as storage, storage.read() as txn:
        queue = outbox.Queue(config.register.store, config.register.id)
        assert outbox.verify(txn, storage, queue) == len(sold)
        assert [e.id for e in outbox.entries(txn, storage, queue)] == sold
    storage = open_storage(config)
    register = make_register(config, clock, storage)
    try:
        for sale_id in sold:
            assert register.sale(sale_id).id == sale_id
    finally:
        register.io.close()
        storage.close()


def test_map_cap_reached_refuses_the_sale_and_keeps_everything(
    tmp_path: Path, clock: FakeClock
) -> None:
    extra = "[storage]\nmap_size_mb = 1\nmap_max_mb = 2\n"
    config = write_config(tmp_path, extra=extra)
    storage = open_storage(config)
    seed(storage, config)
    initial = storage.map_size
    assert initial == 1 * MIB
    register = make_register(config, clock, storage)
    try:
        register.login("ann", CASHIER_PIN)
        grown: list[int] = []
        sold: list[str] = []
        for _ in range(2000):
            ring_up(register, len(EACH))
            try:
                sold.append(register.complete().sale.id)
            except StorageFull as exc:
                error = exc
                break
            if storage.map_size > initial and not grown:
                grown.append(len(sold))
        else:
            raise AssertionError("the map never filled up")
        assert grown and grown[0] < len(sold), "the map did not grow before reaching its cap"
        assert storage.map_size == 2 * MIB, "the map is not at its cap"
        assert "cap of 2 MiB" in str(error), str(error)
        check_refused(register, storage, sold, error)
    finally:
        register.io.close()
        storage.close()
    check_reopened(config, clock, sold)


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs (skips unless it can be mounted: that needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)]).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], check=True)


def test_full_disk_refuses_the_sale_and_the_same_cart_completes_once_freed(
    tiny_fs: Path, clock: FakeClock
) -> None:
    # the map may grow to 64 MiB: only the 3 MiB filesystem can stop it
    config = write_config(tiny_fs, extra="[storage]\nmap_size_mb = 1\nmap_max_mb = 64\n")
    assert config.register.data_dir.parent == tiny_fs
    storage = open_storage(config)
    register = make_register(config, clock, storage)
    filler = tiny_fs / "filler"
    try:
        seed(storage, config)
        register.login("ann", CASHIER_PIN)
        register.open_till(Money(20000, "CAD"))
        for _ in range(3):  # a few sales while there is room
            ring_up(register, 8)
            register.complete()
        # leave room for a handful of sales only
        free = os.statvfs(tiny_fs).f_bavail * os.statvfs(tiny_fs).f_frsize
        with filler.open("wb") as f:
            f.write(b"\0" * max(free - 256 * 1024, 0))
        with storage.read() as txn:
            sold = [e.id for e in outbox.entries(txn, storage, register.queue)]
        more, error = sell_until_full(register, len(EACH), most=500)
        sold += more
        assert more, "no sale fitted in the room left: the test proved little"
        assert "disk has no space" in str(error), str(error)
        assert storage.map_size < storage.map_max, "the map cap, not the disk, stopped it"
        check_refused(register, storage, sold, error)

        cart, tenders = register.cart, list(register.tenders)
        filler.unlink()  # the tech frees space
        done: CompletedSale = register.complete()
        assert cart_of(done.sale) == cart and done.sale.tenders[0].tendered == tenders[0].amount
        assert done.seq == len(sold) + 1
        assert register.cart.is_empty and not register.tenders
        sold.append(done.sale.id)
        with storage.read() as txn:
            assert outbox.verify(txn, storage, register.queue) == len(sold)
            jobs = local.print_jobs(txn, storage, pending_only=False)
        assert sorted(j["ref"] for j in jobs) == sorted(sold), "one receipt job per sale"
    finally:
        register.io.close()
        storage.close()
    check_reopened(config, clock, sold)


class HungStorage:
    """A register whose storage thread is stuck on a call (a dying card) until released."""

    def __init__(self, tmp_path: Path, clock: FakeClock) -> None:
        config = write_config(tmp_path)
        self.storage = open_storage(config)
        seed(self.storage, config)
        self.issued: list[str] = []
        self.register = Register(config, self.storage, StorageThread(0.2), clock, self._take_id)
        self.told: list[int] = []  # what the sync link would hear of commits
        self.register.on_commit = self.told.append
        self.release, self._hanging = threading.Event(), threading.Event()
        self._blocker = threading.Thread(target=self._occupy)

    def _take_id(self) -> str:
        self.issued.append(new_id())
        return self.issued[-1]

    def _occupy(self) -> None:
        def hang() -> None:
            self._hanging.set()
            self.release.wait(30)

        with contextlib.suppress(StorageTimeout):
            self.register.io.call(hang, "hanging")

    def hang(self) -> None:
        """Block the storage thread."""
        self._blocker.start()
        assert self._hanging.wait(2), "the storage thread never picked up the hanging call"

    def free(self) -> None:
        """Let the stuck call finish (and whatever queued behind it)."""
        self.release.set()
        self._blocker.join(5)

    def times_out(self, action: Callable[[], object]) -> None:
        """`action` with the storage thread stuck: StorageTimeout; then the stuck call, and
        `action`'s own write queued behind it, go through."""
        self.hang()
        with pytest.raises(StorageTimeout):
            action()
        self.free()

    def close(self) -> None:
        self.release.set()
        self.register.io.close()
        self.storage.close()


def test_hung_storage_times_out_without_freezing_and_the_retry_records_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    hung = HungStorage(tmp_path, clock)
    register, storage, issued = hung.register, hung.storage, hung.issued
    try:
        register.login("ann", CASHIER_PIN)
        register.add_sku("milk-2l", Decimal(2))
        register.add_weighed("cheddar", Decimal("0.250"), WeightSource.SCALE)
        register.add_tender(Tender.card(register.price().total, "visa", "A000002"))
        cart, tenders = register.cart, list(register.tenders)
        hung.hang()

        started = time.monotonic()
        with pytest.raises(StorageTimeout) as info:
            register.complete()
        waited = time.monotonic() - started
        assert waited < 1.0, f"complete() froze for {waited:.2f} s"
        assert "did not finish within 0.2 s" in str(info.value)
        assert register.cart == cart and register.tenders == tenders, "the cart was dropped"
        assert len(issued) == 1

        hung.free()
        with pytest.raises(SaleRecorded, match="saved after all") as recorded:
            register.complete()  # the retry first learns the first attempt committed
        done = recorded.value.done
        assert done.sale.id == issued[0] and len(issued) == 1, "the retry took a new id"
        assert done.seq == 1 and cart_of(done.sale) == cart and done.print_job == 1
        assert register.cart.is_empty and not register.tenders
        with storage.read() as txn:
            assert outbox.verify(txn, storage, register.queue) == 1, "recorded twice"
            assert outbox.unsent_count(txn, storage, register.queue) == 1
            assert cache.stock_level(txn, storage, "milk-2l") == Decimal(-2), "stock moved twice"
            assert cache.stock_level(txn, storage, "cheddar") == Decimal("-0.250")
            assert len(local.print_jobs(txn, storage, pending_only=False)) == 1

        register.add_sku("cola")  # and the register sells on, under a new id
        register.add_tender(Tender.card(register.price().total, "visa", "A000003"))
        after = register.complete()
        assert after.seq == 2 and after.sale.id == issued[1] != issued[0]
    finally:
        hung.close()


@pytest.mark.parametrize("what", ["cash drop", "punch"])  # a drawer opening: the same path
def test_an_entry_whose_save_timed_out_and_landed_is_not_recorded_twice(
    tmp_path: Path, clock: FakeClock, what: str
) -> None:
    """The cashier told "try again" tries again: the first attempt committed after all, so
    the retry says so instead of a second drop (the till debited twice, the office told
    twice under two ids). And the sync link hears of the late commit."""
    hung = HungStorage(tmp_path, clock)
    register, storage = hung.register, hung.storage
    actions = {
        "cash drop": lambda: register.cash_drop(Money(20_00, "CAD"), "bag-1"),
        "punch": lambda: register.punch(ClockAction.CLOCK_IN),
    }
    try:
        register.login("ann", CASHIER_PIN)
        register.open_till(Money(100_00, "CAD"))
        hung.times_out(actions[what])
        with pytest.raises(EntryRecorded, match=f"the last {what} was saved after all"):
            actions[what]()
        assert hung.told == [1], "the sync link was not told of the late commit"
        with storage.read() as txn:
            assert outbox.verify(txn, storage, register.queue) == 1, "recorded twice"
            till = local.till(txn, storage, register.queue.register, "CAD")
        assert till.dropped == (20_00 if what == "cash drop" else 0)
    finally:
        hung.close()


def test_a_park_whose_save_timed_out_and_landed_is_not_parked_twice(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Parked again as told, the cart was on the list twice: two tickets to sell it by."""
    hung = HungStorage(tmp_path, clock)
    register = hung.register
    try:
        register.login("ann", CASHIER_PIN)
        register.add_sku("cola")
        hung.times_out(lambda: register.park("table 4"))
        with pytest.raises(EntryRecorded, match="parked after all, as ticket P1"):
            register.park("table 4")
        assert register.cart.is_empty and register.parked() == [("P1", "table 4")]
        register.add_sku("chips")  # and the register goes on
        assert register.park("table 5") == "P2"
    finally:
        hung.close()


def test_a_sale_whose_save_timed_out_and_landed_is_announced_to_the_link(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Else the link, told nothing, would leave it unsent until the next sale."""
    hung = HungStorage(tmp_path, clock)
    register = hung.register
    try:
        register.login("ann", CASHIER_PIN)
        register.add_sku("milk-2l")
        register.add_tender(Tender.card(register.price().total, "visa", "A1"))
        hung.times_out(register.complete)
        assert hung.told == []
        with pytest.raises(SaleRecorded):
            register.add_sku("cola")
        assert hung.told == [1]
    finally:
        hung.close()


def test_a_changed_cart_after_a_timeout_is_never_confused_with_the_saved_one(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The timed-out milk sale lands later; the french press rung up next is its own sale."""
    hung = HungStorage(tmp_path, clock)
    register, storage = hung.register, hung.storage
    try:
        register.login("ann", CASHIER_PIN)
        register.add_sku("milk-2l")
        register.add_tender(Tender.card(register.price().total, "visa", "A1"))
        hung.hang()
        with pytest.raises(StorageTimeout):
            register.complete()
        hung.free()
        with pytest.raises(SaleRecorded):
            register.park("later")  # the cashier moves on: told the milk was sold, cart cleared
        assert register.parked() == [] and register.cart.is_empty
        register.add_sku("french-press")
        register.add_tender(Tender.card(register.price().total, "visa", "A2"))
        press = register.complete()
        assert press.seq == 2 and press.sale.lines[0].sku == "french-press"
        with storage.read() as txn:
            assert outbox.verify(txn, storage, register.queue) == 2, "both sales, each once"
    finally:
        hung.close()
