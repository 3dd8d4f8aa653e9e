"""Random carts of plain products, shared by the in-process registers and `register_child`.

Kept free of pytest and the back office so that a child register starts quickly.
"""

from __future__ import annotations

import random

from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.register import Register

PLAIN = ("cola", "chips", "gum", "oj", "croissant", "cookie", "muffin", "milk-2l", "eggs")
"""Products sold by the piece, with no purchase limit: any cart of them always completes."""


def sell(register: Register, rng: random.Random) -> str:
    """Ring up 1 to 4 plain products, pay by cash (with change) or card; the sale's id."""
    for _ in range(rng.randint(1, 4)):
        register.add_sku(rng.choice(PLAIN))
    if rng.random() < 0.5:
        register.add_tender(Tender.cash(Money(100_00, register.currency)))
    else:
        total = register.price().total
        register.add_tender(Tender.card(total, "visa", f"A{rng.randint(0, 999_999):06d}"))
    return register.complete().sale.id
