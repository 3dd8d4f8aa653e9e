"""The weight screen: presets, typed weights, and only a stable scale reading sold."""

from __future__ import annotations

from decimal import Decimal

from appliance.domain.cart import WeightSource
from appliance.domain.catalog import WeightUnit as ProductUnit
from appliance.ui.viewmodels.base import WARNING
from appliance.ui.viewmodels.weight import in_product_unit
from hw.ports import DeviceOffline
from hw.protocols.scale import (
    IN_MOTION,
    OVER_CAPACITY,
    ScaleFault,
    ScaleReading,
    ScaleStatus,
    WeightUnit,
)
from tests.ui.conftest import BANANAS, Shop


def reading(
    weight: str, unit: WeightUnit = WeightUnit.KG, status: ScaleStatus = ScaleStatus.STABLE
) -> ScaleReading:
    return ScaleReading(Decimal(weight), unit, status)


def test_presets_are_buttons_priced_by_the_tier_matrix(shop: Shop) -> None:
    shop.session.sell.choose_category("tea")
    shop.session.sell.tap("sencha")
    weight = shop.session.weight
    assert [(p.label, p.price) for p in weight.state.presets] == [
        ("50 g", "15.00"),
        ("100 g", "27.00"),
        ("250 g", "60.00"),
    ]
    weight.preset("100", packs=2)
    assert not weight.state.active
    (line,) = shop.session.sell.state.cart.lines
    assert (line.detail, line.amount) == ("2 x 100 g @ 27.00", "54.00")
    assert [a.label for a in line.adjustments] == ["Tea week 10% off"]
    assert shop.register.cart.lines[0].weight_source is WeightSource.PRESET


def test_only_a_stable_reading_can_be_used(shop: Shop) -> None:
    weight = shop.session.weight
    shop.scale.event = IN_MOTION
    shop.session.sell.scanned(BANANAS)
    assert (weight.state.scale_text, weight.state.scale_status) == ("in motion", "motion")
    assert not weight.state.can_use_scale and not weight.state.manual_only
    weight.use_scale()
    assert weight.state.active and weight.state.message_kind == WARNING
    assert shop.session.sell.state.cart.is_empty

    shop.scale.event = reading("1.234", status=ScaleStatus.IN_MOTION)
    weight.poll()
    assert weight.state.scale_text == "1.234 kg in motion" and not weight.state.can_use_scale

    shop.scale.event = reading("1.234")
    weight.poll()
    assert weight.state.scale_text == "1.234 kg stable" and weight.state.can_use_scale
    weight.use_scale()
    (line,) = shop.session.sell.state.cart.lines
    assert (line.detail, line.amount) == ("1.234 kg @ 1.74/kg", "2.15")
    assert shop.register.cart.lines[0].weight_source is WeightSource.SCALE


def test_a_zero_or_over_capacity_scale_cannot_price(shop: Shop) -> None:
    weight = shop.session.weight
    shop.session.sell.scanned(BANANAS)
    assert weight.state.scale_text == "0.000 kg stable" and not weight.state.can_use_scale
    shop.scale.event = OVER_CAPACITY
    weight.poll()
    assert weight.state.scale_status == "fault" and "over capacity" in weight.state.scale_text
    assert not weight.state.can_use_scale and not weight.state.manual_only


def test_a_scale_in_grams_weighs_a_product_sold_by_the_kg(shop: Shop) -> None:
    shop.scale.event = reading("1234", WeightUnit.G)
    shop.session.sell.scanned(BANANAS)
    assert shop.session.weight.state.scale_text == "1234 g stable"
    shop.session.weight.use_scale()
    assert shop.register.cart.lines[0].weight == Decimal("1.234")


def test_a_silent_scale_falls_back_to_typing_the_weight(shop: Shop) -> None:
    weight = shop.session.weight
    shop.scale.event = ScaleFault("no answer from the scale within 0.5 s")
    shop.session.sell.scanned(BANANAS)
    assert weight.state.manual_only and weight.state.scale_status == "fault"
    assert weight.state.message_kind == WARNING
    assert "no answer from the scale" in weight.state.message
    assert not weight.state.can_use_manual
    for key in ["0", ".", "5", "0", "0", "0"]:  # the fourth decimal is refused
        weight.key(key)
    assert weight.state.manual_text == "0.500" and weight.state.can_use_manual
    weight.use_manual()
    (line,) = shop.session.sell.state.cart.lines
    assert (line.detail, line.amount) == ("0.500 kg @ 1.74/kg", "0.87")
    assert shop.register.cart.lines[0].weight_source is WeightSource.MANUAL


def test_an_unplugged_scale_is_a_message_never_a_weight(shop: Shop) -> None:
    weight = shop.session.weight
    shop.scale.event = DeviceOffline("the scale's cable is out")
    shop.session.sell.scanned(BANANAS)
    assert weight.state.manual_only and "cable is out" in weight.state.message
    assert not weight.state.can_use_scale
    weight.use_scale()
    assert shop.session.sell.state.cart.is_empty
    weight.use_manual()  # nothing typed
    assert weight.state.active and "type the weight" in weight.state.message.lower()

    shop.scale.event = reading("0.750")  # plugged back in
    weight.poll()
    assert not weight.state.manual_only and weight.state.can_use_scale


def test_readings_convert_to_the_products_unit() -> None:
    assert in_product_unit(reading("2", WeightUnit.LB), ProductUnit.KG) == Decimal("0.907")
    assert in_product_unit(reading("0.25", WeightUnit.KG), ProductUnit.G) == Decimal("250")
    assert in_product_unit(reading("1.5", WeightUnit.KG), ProductUnit.KG) == Decimal("1.5")
