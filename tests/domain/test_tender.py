from __future__ import annotations

import pytest

from appliance.domain.errors import (
    BalanceOverdrawn,
    CardNumberRefused,
    TenderError,
    TenderExceedsDue,
    TenderShort,
)
from appliance.domain.money import Money
from appliance.domain.tender import Tender, TenderKind, outstanding, settle
from tests.domain.conftest import cad

SC = TenderKind.STORE_CREDIT


def test_cash_rounds_to_the_increment_and_gives_change() -> None:
    s = settle(cad(1003), [Tender.cash(cad(2000))], {}, 5)
    assert (s.rounding, s.change, s.paid) == (cad(2), cad(995), cad(1005))
    s = settle(cad(1002), [Tender.cash(cad(1000))], {}, 5)
    assert (s.rounding, s.change) == (cad(-2), cad(0))


def test_card_is_never_rounded_and_cash_pays_the_rest() -> None:
    s = settle(cad(1003), [Tender.card(cad(1003), "visa", "A1B2")], {}, 5)
    assert s.rounding.is_zero() and s.change.is_zero()
    s = settle(cad(1003), [Tender.card(cad(500), "debit"), Tender.cash(cad(1000))], {}, 5)
    assert [t.applied.minor for t in s.tenders] == [500, 505]
    assert s.change == cad(495)


def test_two_cash_tenders_fill_in_order() -> None:
    s = settle(cad(1500), [Tender.cash(cad(1000)), Tender.cash(cad(1000))], {}, 1)
    assert [t.applied.minor for t in s.tenders] == [1000, 500] and s.change == cad(500)


def test_short_and_over_tenders_name_the_amounts() -> None:
    with pytest.raises(TenderShort, match="2.00 CAD short of the 10.00 CAD total"):
        settle(cad(1000), [Tender.card(cad(800), "visa")], {}, 1)
    with pytest.raises(TenderShort, match="short"):
        settle(cad(1000), [Tender.cash(cad(500))], {}, 1)
    with pytest.raises(TenderExceedsDue, match="card tender of 12.00 CAD is more than"):
        settle(cad(1000), [Tender.card(cad(1200), "visa")], {}, 1)


def test_balances_are_drawn_and_overdraws_refused() -> None:
    balances = {(SC, "c1"): cad(700)}
    s = settle(cad(1000), [Tender.balance(SC, "c1", cad(600)), Tender.cash(cad(400))], balances, 1)
    (use,) = s.balance_uses
    assert (use.before, use.amount, use.after) == (cad(700), cad(600), cad(100))
    two = [Tender.balance(SC, "c1", cad(400)), Tender.balance(SC, "c1", cad(400))]
    with pytest.raises(BalanceOverdrawn, match="store credit c1: 8.00 CAD asked, 7.00 CAD"):
        settle(cad(1000), [*two, Tender.cash(cad(200))], balances, 1)
    with pytest.raises(BalanceOverdrawn, match="gift card g9"):
        settle(cad(100), [Tender.balance(TenderKind.GIFT_CARD, "g9", cad(100))], {}, 1)


def test_tender_validation() -> None:
    with pytest.raises(CardNumberRefused, match="reference"):
        Tender.card(cad(100), "visa", reference="4111111111111111")
    with pytest.raises(CardNumberRefused, match="method"):
        Tender.card(cad(100), "5500-0000-0000-0004")
    with pytest.raises(TenderError, match="negative"):
        Tender.cash(cad(-1))
    with pytest.raises(TenderError, match="needs an account"):
        Tender.balance(TenderKind.HOUSE_ACCOUNT, "", cad(1))


@pytest.mark.parametrize(
    ("tenders", "left", "cash_due", "change", "covered"),
    [
        ([], 1003, 1005, 0, False),  # nothing yet: cash would round to the nickel
        ([Tender.card(Money(500, "CAD"), "visa")], 503, 505, 0, False),
        (
            [Tender.card(Money(500, "CAD"), "visa"), Tender.cash(Money(1000, "CAD"))],
            0,
            0,
            495,
            True,
        ),
        ([Tender.cash(Money(1000, "CAD"))], 3, 5, 0, False),  # 3 cents left, 5 in cash
        ([Tender.card(Money(1003, "CAD"), "visa")], 0, 0, 0, True),
        ([Tender.card(Money(2000, "CAD"), "visa")], 0, 0, 0, True),  # too big: settle refuses
    ],
)
def test_outstanding_previews_what_settle_will_apply(
    tenders: list[Tender], left: int, cash_due: int, change: int, covered: bool
) -> None:
    due = outstanding(Money(1003, "CAD"), tenders, 5)
    assert (due.left.minor, due.cash_due.minor, due.change.minor, due.covered) == (
        left, cash_due, change, covered)  # fmt: skip
    if covered and change:
        settled = settle(Money(1003, "CAD"), tenders, {}, 5)
        assert settled.change.minor == change, "the preview says what the sale records"
