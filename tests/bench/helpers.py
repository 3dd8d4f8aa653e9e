"""Timing, reporting and data generation for the storage benchmarks.

Figures are printed, never asserted: a table for the reader and one
`BENCH <name> <value>` line per headline figure (see DESIGN.md, "Benchmark output").
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from appliance.domain.catalog import Product, WeightUnit
from appliance.domain.money import Money

NS_PER_MS = 1_000_000


# --- timing and reporting ---------------------------------------------------------------


def time_ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(wall time of one call in ms, its result)."""
    start = time.perf_counter_ns()
    result = fn()
    return (time.perf_counter_ns() - start) / NS_PER_MS, result


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 200 samples is the 198th smallest)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Stats:
    """Summary of a list of timings in ms."""

    label: str
    n: int
    median: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, label: str, samples: list[float]) -> Stats:
        return cls(label, len(samples), statistics.median(samples), percentile(samples, 90),
                   percentile(samples, 99), max(samples))  # fmt: skip


def table(title: str, rows: list[Stats]) -> None:
    """Print timings as an aligned table (ms)."""
    width = max(len(r.label) for r in rows)
    print(f"\n{title}")
    print(f"  {'':{width}}  {'n':>6}  {'median':>9}  {'p90':>9}  {'p99':>9}  {'max':>9}  (ms)")
    for r in rows:
        print(f"  {r.label:{width}}  {r.n:>6}  {r.median:>9.3f}  {r.p90:>9.3f}  "
              f"{r.p99:>9.3f}  {r.max:>9.3f}")  # fmt: skip


def bench(name: str, value: float) -> None:
    """One machine-readable headline figure."""
    print(f"BENCH {name} {value:.4f}")


# --- a 100,000-product catalogue --------------------------------------------------------

BRANDS = (
    "Farmhouse", "Valley", "Northern", "Maple Leaf", "Golden", "Harvest", "Coastal", "Prairie",
    "Island", "Summit", "Cedar", "Riverside", "Blue Hill", "Green Acre", "Sunrise", "Oak Grove",
    "Kootenay", "Fraser", "Okanagan", "Pacific", "Westcoast", "Salt Spring", "Cascade", "Alpine",
)  # fmt: skip

# category -> (nouns, adjectives, sizes, share sold by weight)
ASSORTMENT: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], float]] = {
    "produce": (
        ("bananas", "gala apples", "honeycrisp apples", "vine tomatoes", "avocado", "lemons",
         "carrots", "yukon potatoes", "baby spinach", "kale", "red onions", "bell peppers",
         "cucumber", "zucchini", "broccoli", "cauliflower", "mushrooms", "blueberries",
         "strawberries", "grapes", "pears", "mangoes"),
        ("organic", "local", "fresh", "baby", "red", "green", "yellow", "sweet", "wild"),
        ("1 lb bag", "2 lb bag", "5 lb bag", "bunch", "clamshell 170 g", "each"),
        0.4,
    ),
    "bakery": (
        ("sourdough loaf", "baguette", "croissant", "blueberry muffin", "bagels", "rye bread",
         "cinnamon bun", "scone", "focaccia", "brioche", "multigrain bread", "pita bread",
         "chocolate chip cookie", "butter tart", "dinner rolls"),
        ("whole wheat", "gluten free", "butter", "seeded", "classic", "artisan", "mini"),
        ("6 pack", "12 pack", "each", "675 g", "450 g"),
        0.0,
    ),
    "dairy": (
        ("cheddar", "brie", "gouda", "mozzarella", "greek yogurt", "milk", "butter",
         "whipping cream", "kefir", "feta", "parmesan", "camembert", "cream cheese",
         "cottage cheese", "sour cream", "eggs", "black forest ham", "salami", "oat milk"),
        ("aged", "mild", "medium", "sharp", "old", "smoked", "organic", "lactose free",
         "skim", "2%", "homogenized", "salted", "unsalted", "plain", "vanilla"),
        ("200 g", "400 g", "750 g", "1 L", "2 L", "4 L", "dozen large", "473 ml", "1 kg"),
        0.2,
    ),
    "bulk": (
        ("almonds", "cashews", "rolled oats", "basmati rice", "lentils", "quinoa", "walnuts",
         "chickpeas", "raisins", "pecans", "peanuts", "pumpkin seeds", "dried mango",
         "trail mix", "gummy bears", "jasmine rice", "black beans", "flour"),
        ("roasted", "raw", "salted", "unsalted", "organic", "whole", "split", "red", "brown"),
        ("500 g", "1 kg", "2 kg"),
        0.7,
    ),
    "tea": (
        ("green tea", "black tea", "earl grey", "masala chai", "oolong", "espresso beans",
         "decaf coffee", "rooibos", "matcha", "herbal tea", "peppermint tea", "ground coffee",
         "cold brew coffee", "french press", "travel mug"),
        ("organic", "loose leaf", "dark roast", "medium roast", "light roast", "premium",
         "reserve", "fair trade", "swiss water"),
        ("20 bags", "100 g", "250 g", "340 g", "1 kg"),
        0.0,
    ),
    "drinks": (
        ("cola", "sparkling water", "orange juice", "apple juice", "iced tea", "kombucha",
         "cold brew", "lemonade", "ginger ale", "energy drink", "spring water", "root beer",
         "tonic water", "coconut water"),
        ("diet", "zero sugar", "lime", "lemon", "grapefruit", "ginger", "original", "no pulp",
         "pulp", "peach", "raspberry"),
        ("355 ml", "500 ml", "1 L", "1.75 L", "2 L", "6 pack", "12 pack", "24 pack"),
        0.0,
    ),
    "snacks": (
        ("chocolate bar", "potato chips", "pretzels", "crackers", "kettle popcorn", "cookies",
         "granola bar", "beef jerky", "peppermints", "spearmint gum", "rice cakes",
         "tortilla chips", "licorice", "salsa"),
        ("dark", "milk", "white", "sea salt", "salt and vinegar", "spicy", "honey", "original",
         "cheddar", "barbecue", "chocolate", "caramel", "mint"),
        ("45 g", "100 g", "170 g", "235 g", "6 pack", "family size"),
        0.0,
    ),
}  # fmt: skip

TAX = {"produce": "zero", "bakery": "food", "dairy": "zero", "bulk": "zero", "tea": "zero",
       "drinks": "food", "snacks": "food"}  # fmt: skip
CATEGORY_WEIGHTS = {"produce": 14, "bakery": 10, "dairy": 16, "bulk": 10, "tea": 10,
                    "drinks": 18, "snacks": 22}  # fmt: skip


def ean13(body12: str) -> str:
    """A 13-digit EAN with its check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def generated_products(count: int, currency: str, seed: int = 7) -> Iterator[Product]:
    """`count` products with multi-word names ("Valley aged cheddar 400 g"), skus
    `p000001`..., one EAN-13 barcode each (`20` in-store range), about 15% by weight."""
    rng = random.Random(seed)
    categories = list(CATEGORY_WEIGHTS)
    weights = list(CATEGORY_WEIGHTS.values())
    for n in range(1, count + 1):
        category = rng.choices(categories, weights)[0]
        nouns, adjectives, sizes, by_weight = ASSORTMENT[category]
        noun = rng.choice(nouns)
        words = [rng.choice(BRANDS)]
        if rng.random() < 0.7:
            words.append(rng.choice(adjectives))
        words.append(noun)
        weighed = rng.random() < by_weight
        if not weighed:
            words.append(rng.choice(sizes))
        name = " ".join(words)
        name = name[0].upper() + name[1:]
        yield Product(
            sku=f"p{n:06d}",
            name=name,
            category=category,
            price=Money(rng.randrange(99, 4999), currency),
            tax_class=TAX[category],
            barcodes=(ean13(f"20{n:010d}"),),
            unit=WeightUnit.KG if weighed else None,
        )


# --- outbox bodies ----------------------------------------------------------------------


def sale_like_body(
    rng: random.Random, entry_id: str, at: datetime, currency: str
) -> dict[str, Any]:
    """A sale-shaped body of about 1.5 KB (3 to 5 lines, tax, a cash tender)."""
    lines = []
    subtotal = 0
    for line_id in range(1, rng.randint(3, 5) + 1):
        price = rng.randrange(99, 4999)
        quantity = rng.randint(1, 3)
        extended = price * quantity
        subtotal += extended
        lines.append(
            {
                "line_id": line_id,
                "sku": f"p{rng.randrange(1, 100_000):06d}",
                "name": "Valley aged cheddar 400 g",
                "quantity": str(quantity),
                "weight": None,
                "unit_price": price,
                "extended": extended,
                "discounts": [],
                "promotions": [],
                "tax_class": "food",
                "taxes": [{"component": "GST", "amount": extended * 5 // 100}],
            }
        )
    tax = subtotal * 5 // 100
    return {"version": 1, "id": entry_id, "cashier": "ann", "local_time": at.isoformat(),
            "offline": True, "currency": currency, "customer_id": None, "lines": lines,
            "subtotal": subtotal, "discount_total": 0, "net_total": subtotal,
            "taxes": [{"component": "GST", "amount": tax}], "tax_total": tax,
            "total": subtotal + tax, "prices_include_tax": False,
            "tenders": [{"kind": "cash", "amount": subtotal + tax + 95, "applied": subtotal + tax,
                         "change": 95}], "rounding": 0}  # fmt: skip


def entry_times(start: datetime) -> Iterator[datetime]:
    """One entry every 20 seconds from `start`."""
    n = 0
    while True:
        yield start + timedelta(seconds=20 * n)
        n += 1
