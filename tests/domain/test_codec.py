from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from appliance.domain import codec
from appliance.domain.cart import Discount
from appliance.domain.errors import EncodingError
from appliance.domain.timeclock import ClockAction, Punch, TimeClock


@dataclass(frozen=True)
class _Odd:
    when: timedelta


def test_decimals_have_one_canonical_text() -> None:
    assert [codec.decimal_text(Decimal(t)) for t in ("3.50", "100", "1E+2", "-0", "0.050")] == [
        "3.5",
        "100",
        "100",
        "0",
        "0.05",
    ]


def test_unsupported_values_and_types_are_named() -> None:
    with pytest.raises(EncodingError, match="cannot encode timedelta"):
        codec.dumps(_Odd(timedelta(1)))
    with pytest.raises(EncodingError, match=r"_Odd.when: cannot decode"):
        codec.from_data(_Odd, {"when": 1}, "CAD")


def test_long_bad_values_are_shortened_in_messages() -> None:
    with pytest.raises(EncodingError, match=r"got 'xxxxxxxx.*\.\.\.$"):
        codec.from_data(Discount, {"kind": "percent", "value": "x" * 100}, "CAD")


def test_a_record_s_own_validation_is_reported_with_its_path() -> None:
    data = {"kind": "percent", "value": "0", "reason": "", "approved_by": None}
    with pytest.raises(EncodingError, match="Discount: a discount must be positive"):
        codec.from_data(Discount, data, "CAD")
    assert codec.from_data(Discount, {**data, "value": "5"}, "CAD") == Discount.percent(5)


def test_round_trip_of_a_small_record() -> None:
    punch = Punch("ann", ClockAction.CLOCK_IN, datetime(2026, 11, 25, 9))
    raw = codec.dumps(punch)
    assert json.loads(raw) == {"action": "clock_in", "at": "2026-11-25T09:00:00", "cashier": "ann"}
    assert codec.from_data(Punch, json.loads(raw), "CAD") == punch


def test_worked_time_ignores_a_stray_punch_out() -> None:
    start = datetime(2026, 11, 25, 9)
    clock = TimeClock("ann", punches=(Punch("ann", ClockAction.CLOCK_OUT, start),))
    assert clock.worked(start + timedelta(hours=1)) == timedelta(0)


def test_catalogue_records_round_trip() -> None:
    from appliance.domain.limits import LimitClass
    from appliance.domain.promotions import Promotion, PromotionKind

    promo = Promotion("p", "P", PromotionKind.PERCENT, Decimal(5), skus=frozenset({"b", "a"}))
    data = json.loads(codec.dumps(promo))
    assert data["skus"] == ["a", "b"]
    assert codec.from_data(Promotion, data, "CAD") == promo
    limit = LimitClass("c", "C", Decimal(30), "each")
    assert codec.from_data(LimitClass, json.loads(codec.dumps(limit)), "CAD") == limit
    with pytest.raises(EncodingError, match=r"LimitClass.unit: expected one of 'g', 'each'"):
        codec.from_data(LimitClass, {**json.loads(codec.dumps(limit)), "unit": "kg"}, "CAD")
