"""Money as integer minor units with a currency, and the rounding rules.

Amounts are never floats. Every place that turns a fraction of a minor unit
into a whole one goes through `round_half_up` so that the register and the back
office round identically: half a cent always goes up (away from zero for
positive amounts, which are the only ones a price can produce).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, DecimalException, InvalidOperation

from appliance.domain.errors import CurrencyMismatch, DomainError

# Minor-unit exponents that differ from the common 2 (ISO 4217).
_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "BHD": 3, "KWD": 3, "JOD": 3}


_CURRENCIES_SEEN: set[str] = set()  # codes already checked: money is made often


def currency_exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (2 unless listed)."""
    return _EXPONENTS.get(currency, 2)


def round_half_up(value: Decimal) -> int:
    """Round a Decimal number of minor units to a whole number, half up."""
    try:
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except DecimalException:  # more digits than the decimal context holds
        raise DomainError(f"amount out of range: {str(value)[:20]} minor units") from None


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount of money in integer minor units (cents) of one currency."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.minor) is not int:  # not a float, not a bool
            raise DomainError(f"money amount must be an integer of minor units, got {self.minor!r}")
        if self.currency not in _CURRENCIES_SEEN:
            if (
                len(self.currency) != 3
                or not self.currency.isalpha()
                or not self.currency.isupper()
            ):
                raise DomainError(
                    f"currency must be a three-letter ISO code, got {self.currency!r}"
                )
            _CURRENCIES_SEEN.add(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """No money in the currency."""
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Parse a decimal amount in major units ("12.34") exactly; reject sub-cent digits."""
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            raise DomainError(f"not an amount of money: {text!r}") from None
        if not value.is_finite():
            raise DomainError(f"not an amount of money: {text!r}")
        minor = value.scaleb(currency_exponent(currency))
        if minor != minor.to_integral_value():
            raise DomainError(f"{text!r} has more decimals than {currency} allows")
        return cls(int(minor), currency)

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def times(self, factor: Decimal | int) -> Money:
        """This amount multiplied by a quantity or weight, rounded half up to a minor unit."""
        try:
            exact = Decimal(self.minor) * Decimal(factor)
        except DecimalException:  # past the decimal context's exponent
            raise DomainError(f"amount out of range: {self} x {str(factor)[:20]}") from None
        return Money(round_half_up(exact), self.currency)

    def is_zero(self) -> bool:
        """True for an amount of nothing."""
        return self.minor == 0

    def format(self) -> str:
        """Major units with the currency's decimals, e.g. "-12.30" (no symbol)."""
        exponent = currency_exponent(self.currency)
        sign = "-" if self.minor < 0 else ""
        if exponent == 0:
            return f"{sign}{abs(self.minor)}"
        major, minor = divmod(abs(self.minor), 10**exponent)
        return f"{sign}{major}.{minor:0{exponent}d}"

    def __str__(self) -> str:
        return f"{self.format()} {self.currency}"


def total(amounts: list[Money] | tuple[Money, ...], currency: str) -> Money:
    """Sum of amounts, zero in `currency` when there are none."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result


def allocate(amount: int, weights: list[int]) -> list[int]:
    """Split `amount` minor units in proportion to `weights`, exactly.

    Largest-remainder method: each share is floored, then the leftover units go
    to the largest fractional remainders (ties to the earlier weight). The shares
    always add up to `amount`; with all-zero weights everything goes to the first.
    """
    if not weights:
        return []
    whole = sum(weights)
    if whole == 0:
        return [amount] + [0] * (len(weights) - 1)
    shares = [amount * w // whole for w in weights]
    remainders = [amount * w % whole for w in weights]
    leftover = amount - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        shares[i] += 1
    return shares


def round_to_increment(minor: int, increment: int) -> int:
    """Round minor units to the nearest multiple of `increment` (ties go up).

    Used for cash rounding, e.g. an increment of 5 rounds 1.02 to 1.00 and 1.03 to 1.05.
    """
    if increment < 1:
        raise DomainError(f"cash rounding increment must be at least 1, got {increment}")
    quotient, remainder = divmod(minor, increment)
    if remainder * 2 >= increment:
        quotient += 1
    return quotient * increment
