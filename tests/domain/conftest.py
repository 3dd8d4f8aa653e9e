"""A small shop for the unit tests (the case store is for the data-driven cases)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from appliance.domain.catalog import Catalog, PriceTier, Product, TierPrice, WeightUnit
from appliance.domain.limits import LimitClass
from appliance.domain.loyalty import LoyaltyProgram, LoyaltyTier, Reward
from appliance.domain.money import Money
from appliance.domain.promotions import Promotion, PromotionKind
from appliance.domain.rules import StoreRules
from appliance.domain.tax import TaxComponent, TaxTable

NOW = datetime(2026, 11, 25, 12, 0)


def cad(minor: int) -> Money:
    return Money(minor, "CAD")


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.build(
        "CAD",
        [
            Product("milk", "Milk 2L", "dairy", cad(499), "food", ("0601",)),
            Product("mug", "Mug", "merch", cad(800), "standard"),
            Product("vape", "Vape pen", "vapes", cad(3000), "vapour"),
            Product("apples", "Apples", "produce", cad(440), "food", unit=WeightUnit.KG),
            Product(
                "bd",
                "Blue Dream",
                "flower",
                cad(1000),
                "standard",
                unit=WeightUnit.G,
                presets=(Decimal("3.5"), Decimal(7), Decimal(14)),
                price_tier="A",
                limit_class="cannabis",
            ),
            Product(
                "preroll",
                "Pre-roll",
                "prerolls",
                cad(900),
                "standard",
                limit_class="cannabis",
                limit_amount=Decimal("0.5"),
            ),
        ],
        tiers=[
            PriceTier(
                "A", "Top", (TierPrice(Decimal("3.5"), cad(3000)), TierPrice(Decimal(7), cad(5500)))
            )
        ],
    )


@pytest.fixture
def tax() -> TaxTable:
    return TaxTable(
        {
            "GST": TaxComponent("GST", "GST", Decimal("0.05")),
            "PST": TaxComponent("PST", "PST", Decimal("0.07")),
            "VPT": TaxComponent("VPT", "Vapour tax", Decimal("0.2")),
        },
        {"food": ("GST",), "standard": ("GST", "PST"), "vapour": ("GST", "PST", "VPT")},
    )


@pytest.fixture
def rules(catalog: Catalog, tax: TaxTable) -> StoreRules:
    return StoreRules(
        catalog=catalog,
        tax=tax,
        promotions=(
            Promotion(
                "fl10",
                "Flower 10%",
                PromotionKind.PERCENT,
                Decimal(10),
                categories=frozenset({"flower"}),
            ),
            Promotion(
                "mug",
                "Free mug over 100",
                PromotionKind.FREEBIE,
                threshold=cad(10000),
                free_sku="mug",
            ),
        ),
        max_discount_percent=Decimal(20),
        cash_increment=5,
        loyalty=LoyaltyProgram(
            (LoyaltyTier("Member", 0, Decimal(1)), LoyaltyTier("Gold", 1000, Decimal(2))),
            (Reward("r5", "$5 off", 100, cad(500)),),
        ),
        limits={"cannabis": LimitClass("cannabis", "Cannabis", Decimal(30))},
    )
