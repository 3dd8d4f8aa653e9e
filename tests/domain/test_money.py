from __future__ import annotations

from decimal import Decimal

import pytest

from appliance.domain.errors import CurrencyMismatch, DomainError
from appliance.domain.money import Money, allocate, round_half_up, round_to_increment, total


def test_arithmetic_and_format() -> None:
    a, b = Money(1050, "CAD"), Money(75, "CAD")
    assert (a + b).minor == 1125 and (a - b).minor == 975 and (-a).minor == -1050
    assert Money(-5, "CAD").format() == "-0.05"
    assert Money(1234, "JPY").format() == "1234"
    assert Money(-1234, "JPY").format() == "-1234"
    assert Money(1234, "KWD").format() == "1.234"
    assert str(Money(199, "CAD")) == "1.99 CAD"


def test_times_rounds_half_up() -> None:
    assert Money(440, "CAD").times(Decimal("1.234")).minor == 543  # 542.96
    assert Money(5, "CAD").times(Decimal("0.5")).minor == 3  # 2.5 -> 3
    assert Money(3, "CAD").times(Decimal("0.5")).minor == 2  # 1.5 -> 2


def test_currency_mismatch_names_both() -> None:
    with pytest.raises(CurrencyMismatch, match="CAD with USD"):
        Money(1, "CAD") + Money(1, "USD")


@pytest.mark.parametrize("bad", ["12.345", "abc", "NaN", "1e400x"])
def test_parse_refuses_bad_amounts(bad: str) -> None:
    with pytest.raises(DomainError, match="12.345|not an amount"):
        Money.parse(bad, "CAD")


def test_parse_exact() -> None:
    assert Money.parse(" 12.30 ", "CAD") == Money(1230, "CAD")


@pytest.mark.parametrize("minor, currency", [(1.5, "CAD"), (True, "CAD"), (1, "cad"), (1, "CA")])
def test_money_validates(minor: object, currency: str) -> None:
    with pytest.raises(DomainError):
        Money(minor, currency)  # type: ignore[arg-type]


def test_total_and_zero() -> None:
    assert total([], "CAD") == Money.zero("CAD")
    assert Money.zero("CAD").is_zero()
    assert total([Money(1, "CAD"), Money(2, "CAD")], "CAD").minor == 3


def test_allocate_largest_remainder() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [0, 0]) == [10, 0]
    assert allocate(5, []) == []
    assert allocate(7, [300, 100]) == [5, 2]  # 5.25, 1.75: the larger remainder gets the cent


def test_round_to_increment() -> None:
    assert [round_to_increment(m, 5) for m in (101, 102, 103, 104, 106, 108)] == [
        100, 100, 105, 105, 105, 110,
    ]  # fmt: skip
    assert round_to_increment(15, 10) == 20  # a tie goes up
    assert round_to_increment(1234, 1) == 1234
    with pytest.raises(DomainError, match="at least 1"):
        round_to_increment(100, 0)


def test_round_half_up() -> None:
    assert round_half_up(Decimal("2.5")) == 3 and round_half_up(Decimal("2.4999")) == 2
