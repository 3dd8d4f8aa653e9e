"""The login screen: cashiers from the cache, PIN pad, wrong PINs slowed by the register."""

from __future__ import annotations

import dataclasses

from appliance.ui.viewmodels.base import ERROR, INFO
from tests.ui.conftest import CASHIER_PIN, Shop


def type_pin(shop: Shop, pin: str) -> None:
    for digit in pin:
        shop.session.login.key(digit)


def test_shows_store_register_and_cashiers_without_their_pins(fresh: Shop) -> None:
    login = fresh.session.login
    fresh.session.start()
    state = login.state
    assert (state.store, state.register_name) == ("Demo Store", "Demo till 1")
    assert [(c.id, c.name, c.role) for c in state.cashiers] == [
        ("ann", "Ann", "cashier"),
        ("mo", "Mo", "manager"),
    ]
    assert all("pin" not in f.name for f in dataclasses.fields(state.cashiers[0]))
    assert not state.can_enter, "nobody picked, no PIN: enter must be disabled"


def test_pin_pad_masks_edits_and_clears(fresh: Shop) -> None:
    login = fresh.session.login
    fresh.session.start()
    login.choose("ann")
    for key in ["1", "2", "9", "back", "3"]:
        login.key(key)
    assert login.state.pin_mask == "•••" and not login.state.can_enter
    login.key("4")
    assert login.state.pin_mask == "••••" and login.state.can_enter
    login.key("clear")
    assert login.state.pin_mask == ""


def test_wrong_pin_shows_the_registers_words_clears_and_is_slowed(fresh: Shop) -> None:
    login = fresh.session.login
    fresh.session.start()
    login.choose("ann")
    for _ in range(3):
        type_pin(fresh, "0000")
        login.enter()
        assert not login.state.logged_in
        assert login.state.pin_mask == "", "a wrong PIN must be cleared"
        assert (login.state.message, login.state.message_kind) == ("Wrong PIN for ann", ERROR)
    type_pin(fresh, CASHIER_PIN)  # the right PIN, too soon after three wrong ones
    login.enter()
    assert not login.state.logged_in and fresh.register.cashier is None
    assert login.state.message.startswith("Too many wrong PINs: try again in")


def test_login_brings_up_the_sell_screen_and_logout_parks_the_cart(fresh: Shop) -> None:
    seen: list[bool] = []
    fresh.session.login.subscribe(lambda s: seen.append(s.logged_in))
    fresh.login()
    assert seen[-1] is True and fresh.session.login.state.cashier_name == "Ann"
    sell = fresh.session.sell.state
    assert len(sell.categories) == 8 and sell.header.cashier == "Ann"
    assert sell.tiles, "the first category's products are on the grid"

    fresh.session.sell.tap("avocado")
    fresh.session.login.logout()
    state = fresh.session.login.state
    assert not state.logged_in and fresh.register.cashier is None
    assert state.message_kind == INFO and "parked as ticket" in state.message
    assert len(fresh.register.parked()) == 1
