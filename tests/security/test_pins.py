"""Cashier PINs: salted slow hashes, manager-only actions, and wrong PINs that slow down.

Only what no other test shows. Already tested elsewhere:

- tests/store/test_cache.py `test_pins_are_salted_slow_hashes`: scrypt, a fresh salt per
  hash, a wrong PIN and a damaged record refused, a PIN of 4 to 12 digits only;
- tests/store/test_register.py `test_login_and_slowing_wrong_pins` (three wrong PINs lock
  the login, even for the right PIN), `test_a_discount_over_the_cap_needs_a_manager` (a
  cashier's PIN is not a manager's), `test_void_after_tender_needs_a_manager` and
  `test_a_drawer_opened_without_a_sale_needs_a_manager_and_is_recorded` (no PIN given);
- tests/ui/test_viewmodels_login.py `test_wrong_pin_shows_the_registers_words_clears_and_is_slowed`,
  tests/ui/test_viewmodels_backroom.py (no sale and the Z report ask for a manager),
  tests/ui/test_viewmodels_sell.py and test_viewmodels_discount.py (the override retries).

Here: the production cost and no PIN in the LMDB files; every manager-only action refused
to the logged-in cashier's own PIN with nothing recorded; the pause that doubles and
stops growing at five minutes; and wrong manager PINs at the override prompt slowing down
like wrong login PINs (before, the prompt let PINs be guessed at full speed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from appliance import pins, register_core
from appliance.bootstrap import open_storage
from appliance.config import Config
from appliance.demo import seed_demo
from appliance.domain.cart import Discount
from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.register import NeedsManager, Register, WrongPin
from appliance.register_core import MANAGERS
from appliance.store import local
from tests.store.conftest import (
    CASHIER_PIN,
    MANAGER_PIN,
    FakeClock,
    make_register,
    seed,
    write_config,
)


class FakeTime:
    """`time` as the register's PIN throttle sees it, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(register_core, "time", fake)
    return fake


@pytest.fixture
def register(tmp_path: Path) -> Iterator[Register]:
    """Ann (cashier) logged in, with an open till; Mo is the manager."""
    config = write_config(tmp_path)
    storage = open_storage(config)
    seed(storage, config)
    reg = make_register(config, FakeClock(), storage)
    reg.login("ann", CASHIER_PIN)
    reg.open_till(Money(100_00, "CAD"))
    yield reg
    reg.io.close()
    storage.close()


def test_the_demo_hashes_pins_at_the_production_cost_and_no_file_holds_a_pin(
    tmp_path: Path,
) -> None:
    config: Config = write_config(tmp_path)
    pin = "8052716394"  # a PIN of its own: ten digits no catalogue holds
    storage = open_storage(config)
    try:
        seed_demo(storage, config)

        def staff(txn: object) -> None:
            local.put_cashier(
                txn, storage, local.Cashier("zo", "Zo", "cashier", pins.hash_pin(pin))
            )

        storage.write(staff)
        with storage.read() as txn:
            stored = {c.id: c.pin for c in local.cashiers(txn, storage)}
    finally:
        storage.close()
    assert stored and all(p["alg"] == "scrypt" for p in stored.values())
    assert all(int(p["n"]) >= pins.DEFAULT_COST >= 2**14 for p in stored.values())
    assert len({p["salt"] for p in stored.values()}) == len(stored), "one salt per PIN"
    assert pins.check_pin(pin, stored["zo"]) and not pins.check_pin("8052716395", stored["zo"])
    for path in config.register.data_dir.rglob("*"):
        if path.is_file():
            assert pin.encode() not in path.read_bytes(), path


def _over_the_cap(register: Register, pin: str | None) -> object:
    register.add_sku("french-press")
    return register.discount_line(1, Discount.percent(30), manager_pin=pin)


def _void_after_tender(register: Register, pin: str | None) -> object:
    register.add_sku("cola")
    register.add_tender(Tender.cash(Money(5_00, "CAD")))
    return register.void_line(1, manager_pin=pin)


MANAGER_ONLY: dict[str, Callable[[Register, str | None], object]] = {
    "a discount over the cap": _over_the_cap,
    "a void after tender": _void_after_tender,
    "a no sale": lambda register, pin: register.no_sale(pin, "change for the float"),
    "the Z report": lambda register, pin: register.shift_report(close=True, manager_pin=pin),
}


@pytest.mark.parametrize("action", list(MANAGER_ONLY))
def test_a_manager_only_action_is_refused_to_the_cashiers_own_pin(
    register: Register, action: str
) -> None:
    before = register.status().last_seq
    with pytest.raises(NeedsManager, match="not a manager's PIN"):
        MANAGER_ONLY[action](register, CASHIER_PIN)
    assert register.status().last_seq == before, "nothing was recorded"
    assert register.cashier is not None and register.cashier.id == "ann", "still Ann's session"
    assert register.manager(MANAGER_PIN, action).id == "mo"


def test_the_pause_after_wrong_pins_doubles_and_stops_at_five_minutes(
    register: Register, fake_time: FakeTime
) -> None:
    register.logout()
    for _ in range(2):  # two wrong PINs cost nothing
        with pytest.raises(WrongPin, match="wrong PIN for ann"):
            register.login("ann", "0000")
        assert register._pin_wait("ann") <= 0
    pauses = []
    for _ in range(12):
        with pytest.raises(WrongPin, match="wrong PIN for ann"):
            register.login("ann", "0000")
        pauses.append(round(register._pin_wait("ann"), 3))
        with pytest.raises(WrongPin, match=f"too many wrong PINs: try again in {pauses[-1]:.0f} s"):
            register.login("ann", CASHIER_PIN)  # even the right PIN waits
        fake_time.now += pauses[-1] + 0.001
    assert pauses == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    assert register.login("ann", CASHIER_PIN).id == "ann", "the right PIN once the wait is over"
    with pytest.raises(WrongPin, match="wrong PIN for ann"):
        register.login("ann", "0000")
    assert register._pin_wait("ann") <= 0, "a good login starts the count again"


def test_wrong_manager_pins_slow_down_like_wrong_login_pins(
    register: Register, fake_time: FakeTime
) -> None:
    for pin in ("0000", "1111", "2222"):
        with pytest.raises(NeedsManager, match="not a manager's PIN"):
            register.no_sale(pin, "change for the float")
    with pytest.raises(NeedsManager, match="too many wrong PINs: try again in 1 s"):
        register.no_sale(MANAGER_PIN, "change for the float")  # guessing is held up
    assert register.status().last_seq == 0, "no drawer opened"
    fake_time.now += 1.01
    with pytest.raises(NeedsManager, match="not a manager's PIN"):
        register.no_sale("3333", "change for the float")
    with pytest.raises(WrongPin, match="try again in 2 s"):
        register.login("mo", MANAGER_PIN)  # one count for the login and the override
    fake_time.now += 2.01
    assert register.no_sale(MANAGER_PIN, "change for the float").id == "mo"
    assert register._pin_wait(MANAGERS) <= 0 and register._wrong_pins == {}


def test_a_cashiers_own_login_does_not_forgive_guesses_at_a_managers_pin(
    register: Register, fake_time: FakeTime
) -> None:
    """Two guesses at the override, out and in again with her own PIN, two more: the
    pause comes all the same (it once started again from nothing at every login)."""
    for pin in ("0000", "1111"):
        with pytest.raises(NeedsManager, match="not a manager's PIN"):
            register.no_sale(pin, "change for the float")
    register.logout()
    assert register.login("ann", CASHIER_PIN).id == "ann"
    with pytest.raises(NeedsManager, match="not a manager's PIN"):
        register.no_sale("2222", "change for the float")
    with pytest.raises(NeedsManager, match="too many wrong PINs: try again in 1 s"):
        register.no_sale(MANAGER_PIN, "change for the float")
    assert register.status().last_seq == 0, "no drawer opened"
