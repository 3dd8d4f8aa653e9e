"""Typed errors of the sale domain.

Every error names the thing that was wrong (the product, the line, the tender,
the state) so the cashier's screen and the logs can say it plainly.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule the domain refuses to break."""


class CurrencyMismatch(DomainError):
    """Two amounts in different currencies were combined."""


class InvalidQuantity(DomainError):
    """A quantity or weight that cannot be sold (zero, negative, fractional count)."""


class UnknownProduct(DomainError):
    """A sku or barcode that is not in the catalogue."""


class UnknownLine(DomainError):
    """A cart line id that is not in the cart."""


class InvalidDiscount(DomainError):
    """A discount that makes no sense (negative, over 100 %, larger than the price)."""


class DiscountOverCap(DomainError):
    """A manual discount above the store's cap without a manager's approval."""


class TaxConfigError(DomainError):
    """A tax class or component that is missing or inconsistent."""


class TenderError(DomainError):
    """Base of the errors of paying for a sale."""


class TenderShort(TenderError):
    """The tenders do not cover the total."""


class TenderExceedsDue(TenderError):
    """A non-cash tender larger than what is still due (only cash gives change)."""


class BalanceOverdrawn(TenderError):
    """A store credit, gift card, house account or points draw beyond the balance."""


class CardNumberRefused(DomainError):
    """Text that looks like a payment card number: it is never stored."""


class PurchaseLimitExceeded(DomainError):
    """A customer's daily purchase limit for a limit class would be exceeded."""


class InvalidTransition(DomainError):
    """An action in a state machine (time clock, till) in the wrong state."""


class CashDropError(DomainError):
    """A cash drop that the till cannot cover."""


class EncodingError(DomainError):
    """A sale record that cannot be decoded: names the field and the problem."""
