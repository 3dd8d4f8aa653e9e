"""Labels: the weight-embedded code round-trips, refuses what it cannot carry, and the
values a label prints agree with what the till will charge."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.domain.catalog import Catalog, Product, WeightUnit
from appliance.domain.errors import UnknownProduct
from appliance.domain.labels import (
    MAX_GRAMS,
    LabelError,
    WeightCode,
    check_weight_prefix,
    ean13_check_digit,
    from_grams,
    label_values,
    plu,
    read_weight_code,
    scanned,
    to_grams,
    weight_code,
)
from tests.domain.conftest import cad

BANANAS = Product("bananas", "Bananas", "produce", cad(174), "zero", ("4011",), WeightUnit.KG)
CHEESE = Product("cheddar", "Cheddar", "deli", cad(2990), "food", ("77", "0628"), WeightUnit.LB)
TEA = Product("tea", "Sencha", "tea", cad(27), "food", ("0601",), WeightUnit.G)
MUG = Product("mug", "Mug", "merch", cad(1299), "standard", ("0062891234567",))
PACKED = date(2026, 11, 25)


def test_a_known_code_and_its_reading() -> None:
    label = weight_code("28", BANANAS, Decimal("1.234"))
    assert label.code == "2804011012346"  # 28 04011 01234 + check digit 6
    assert label.weight == Decimal("1.234")
    assert label.price == cad(215)  # 1.234 kg x 1.74 = 2.147 -> 2.15
    read = read_weight_code(label.code, "28")
    assert read == WeightCode("04011", 1234)
    assert read.plu_forms() == ("04011", "4011")
    assert read.weight(WeightUnit.KG) == Decimal("1.234")


def test_a_pound_product_carries_the_gram_and_prints_what_it_carries() -> None:
    label = weight_code("28", CHEESE, Decimal("0.5"))
    assert label.code[7:12] == "00227"  # 0.5 lb = 226.796 g -> 227 g
    assert label.weight == Decimal("0.500")  # 227 g back in lb, to 0.001 lb
    assert label.price == cad(1495)
    assert read_weight_code(label.code, "28") == WeightCode("00077", 227)


@given(
    grams=st.integers(1, MAX_GRAMS),
    unit=st.sampled_from(list(WeightUnit)),
    prefix=st.sampled_from([f"2{d}" for d in range(10)]),
)
def test_every_code_reads_back_to_the_weight_and_price_it_printed(
    grams: int, unit: WeightUnit, prefix: str
) -> None:
    product = Product("p", "P", "c", cad(1234), "food", ("123",), unit)
    weight = from_grams(grams, unit)
    label = weight_code(prefix, product, weight)
    read = read_weight_code(label.code, prefix)
    assert read is not None and read.plu_forms()[-1] == "123"
    assert read.weight(unit) == label.weight
    assert product.price.times(read.weight(unit)) == label.price


@given(
    prefix=st.sampled_from([f"2{d}" for d in range(10)]),
    rest=st.text(alphabet="0123456789", min_size=10, max_size=10),
)
def test_a_wrong_check_digit_is_refused_never_sold(prefix: str, rest: str) -> None:
    digits = prefix + rest
    good = digits + ean13_check_digit(digits)
    wrong = digits + str((int(good[-1]) + 1) % 10)
    if int(digits[7:12]):
        assert read_weight_code(good, prefix) is not None
    with pytest.raises(LabelError, match="check digit"):
        read_weight_code(wrong, prefix)


@pytest.mark.parametrize(
    "code, prefix",
    [
        ("2804011012346", ""),  # weight codes off
        ("2904011012343", "28"),  # another prefix
        ("0062891234567", "28"),  # a product's own EAN
        ("280401101234", "28"),  # 12 digits
        ("28040110123x3", "28"),
        ("２８04011012343", "28"),  # full-width digits are not ASCII digits
    ],
)
def test_codes_that_are_not_weight_codes_are_left_to_the_catalogue(code: str, prefix: str) -> None:
    assert read_weight_code(code, prefix) is None


@pytest.mark.parametrize(
    "prefix, product, weight, why",
    [
        ("", BANANAS, Decimal(1), "weighed labels are off"),
        ("30", BANANAS, Decimal(1), "20 to 29"),
        ("28", MUG, Decimal(1), "not sold by weight"),
        (
            "28",
            Product("x", "Figs", "p", cad(1), "z", ("0062891234567",), WeightUnit.KG),
            Decimal(1),
            "no PLU",
        ),
        ("28", BANANAS, Decimal("100"), "1 g to 99.999 kg"),
        ("28", BANANAS, Decimal("0.0004"), "not 0.0004 kg"),
        ("28", BANANAS, Decimal("NaN"), "not NaN"),
    ],
)
def test_what_a_label_cannot_carry_is_refused_with_the_reason(
    prefix: str, product: Product, weight: Decimal, why: str
) -> None:
    with pytest.raises(LabelError, match=why):
        weight_code(prefix, product, weight)


@pytest.mark.parametrize("prefix", ["", "20", "28", "29"])
def test_good_prefixes(prefix: str) -> None:
    assert check_weight_prefix(prefix) is None


@pytest.mark.parametrize("prefix", ["2", "280", "30", "19", "2a", "²8"])
def test_bad_prefixes(prefix: str) -> None:
    assert check_weight_prefix(prefix) is not None


def test_plu_is_the_first_short_numeric_barcode() -> None:
    assert plu(CHEESE) == "77"
    assert plu(MUG) is None
    assert plu(Product("n", "N", "c", cad(1), "z")) is None


def test_grams_round_half_up_and_convert_back() -> None:
    assert to_grams(Decimal("1.2345"), WeightUnit.KG) == 1235  # 1234.5 g -> 1235
    assert from_grams(1235, WeightUnit.KG) == Decimal("1.235")
    assert from_grams(100, WeightUnit.G) == Decimal(100)
    assert from_grams(28, WeightUnit.OZ) == Decimal("0.988")


def test_weighed_label_values() -> None:
    label = weight_code("28", BANANAS, Decimal("1.234"))
    values = label_values(BANANAS, packed=PACKED, best_before_days=3, weighed=label)
    assert values == {
        "name": "Bananas",
        "sku": "bananas",
        "barcode": "2804011012346",
        "price": "2.15 CAD",
        "unit_price": "1.74 CAD/kg",
        "weight": "1.234 kg",
        "unit": "kg",
        "packed": "2026-11-25",
        "best_before": "2026-11-28",
    }
    grams = label_values(TEA, packed=PACKED, weighed=weight_code("28", TEA, Decimal(50)))
    assert (grams["weight"], grams["price"], grams["best_before"]) == ("50 g", "13.50 CAD", "")


def test_shelf_label_values() -> None:
    mug = label_values(MUG, packed=PACKED)
    assert (mug["barcode"], mug["price"], mug["unit_price"], mug["weight"], mug["unit"]) == (
        "0062891234567", "12.99 CAD", "", "", "",
    )  # fmt: skip
    assert label_values(BANANAS, packed=PACKED)["barcode"] == "4011"
    assert label_values(Product("n", "N", "c", cad(1), "z"), packed=PACKED)["barcode"] == "n"


def test_a_code_without_weight_is_refused() -> None:
    digits = "280401100000"
    with pytest.raises(LabelError, match="no weight"):
        read_weight_code(digits + ean13_check_digit(digits), "28")


SHOP = Catalog.build("CAD", [BANANAS, CHEESE, MUG, Product("x", "Box", "c", cad(1), "z", ("55",))])


def test_a_scan_is_a_product_first_then_a_weight_label() -> None:
    assert scanned(SHOP, "0062891234567", "28") == (MUG, None)
    assert scanned(SHOP, "4011", "28") == (BANANAS, None)  # the PLU typed or scanned alone
    code = weight_code("28", BANANAS, Decimal("0.75")).code
    assert scanned(SHOP, code, "28") == (BANANAS, Decimal("0.750"))
    cheese = weight_code("28", CHEESE, Decimal("1.25")).code
    assert scanned(SHOP, cheese, "28") == (CHEESE, Decimal("1.250"))


def test_a_label_for_an_unknown_or_unweighed_plu_names_it() -> None:
    digits = "280005500100"  # PLU 00055 is the Box, which is not sold by weight
    with pytest.raises(UnknownProduct, match="no product sold by weight has PLU 55"):
        scanned(SHOP, digits + ean13_check_digit(digits), "28")
    digits = "280999900100"
    with pytest.raises(UnknownProduct, match="PLU 9999"):
        scanned(SHOP, digits + ean13_check_digit(digits), "28")


def test_an_unknown_code_is_unknown_and_weight_codes_off_leaves_labels_unknown() -> None:
    with pytest.raises(UnknownProduct, match="barcode '123' is not in the catalogue"):
        scanned(SHOP, "123", "28")
    code = weight_code("28", BANANAS, Decimal("0.75")).code
    with pytest.raises(UnknownProduct, match="not in the catalogue"):
        scanned(SHOP, code, "")


def test_a_shelf_label_carries_a_upc_a_as_its_ean_13() -> None:
    """036000291452 is a UPC-A with its check digit: as "12 digits, add the check" it
    printed 0360002914522, which scans as nothing the catalogue holds."""
    upc = Product("soup", "Soup", "grocery", cad(199), "food", ("036000291452",))
    assert label_values(upc, packed=PACKED)["barcode"] == "0036000291452"
    assert label_values(MUG, packed=PACKED)["barcode"] == "0062891234567"  # EAN-13 as is
    no_check = Product("x", "X", "c", cad(1), "food", ("123456789013",))  # not a UPC-A
    assert label_values(no_check, packed=PACKED)["barcode"] == "123456789013"
