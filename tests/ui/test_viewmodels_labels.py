"""The labels panel: find, pick the template that fits, weigh for a weighed label,
preview what prints, print copies, and say why when it cannot."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from appliance.domain.cart import WeightSource
from appliance.labels import SHIPPED, import_templates
from appliance.ui.viewmodels.base import ERROR, INFO
from hw.ports import DeviceOffline
from hw.protocols.scale import ScaleReading, ScaleStatus, WeightUnit
from tests.ui.conftest import Shop


@pytest.fixture
def labels(shop: Shop) -> Shop:
    import_templates(shop.storage, [SHIPPED], now=datetime(2026, 11, 25, 9), version="test")
    shop.session.labels.refresh()
    return shop


def test_no_templates_says_how_to_get_them(shop: Shop) -> None:
    shop.session.labels.refresh()
    state = shop.session.labels.state
    assert state.templates == () and "appliance labels import" in state.message


def test_a_shelf_label_for_a_scanned_product(labels: Shop) -> None:
    panel = labels.session.labels
    for char in "0067000000010\r":  # a wedge scanner types the code and Enter
        panel.key(char)
    state = panel.state
    assert (state.sku, state.query, state.results) == ("cola", "", ())
    assert [(t.id, t.selected, t.enabled) for t in state.templates] == [
        ("shelf", True, True),
        ("weighed", False, False),  # a cola has no weight to print
    ]
    assert "Cola 355 ml" in state.preview and state.can_print and not state.needs_weight
    panel.copies(+1)
    panel.copies(+1)
    panel.copies(-1)
    panel.print()
    assert labels.label_printer.printed == [(list(state.preview), 2)]
    assert (panel.state.message, panel.state.message_kind) == (
        "2 labels printed for Cola 355 ml", INFO,
    )  # fmt: skip


def test_a_weighed_label_weighs_first_then_sells_back(labels: Shop) -> None:
    panel, weight = labels.session.labels, labels.session.weight
    panel.search("banan")
    assert [r.sku for r in panel.state.results] == ["bananas"]
    labels.scale.event = ScaleReading(Decimal("0.750"), WeightUnit.KG, ScaleStatus.STABLE)
    panel.pick("bananas")
    assert panel.state.needs_weight and panel.state.preview == ()
    assert weight.state.active and weight.state.for_label and weight.state.presets == ()
    assert weight.state.scale_price == "1.31"  # 0.75 kg x 1.74
    weight.use_scale()
    assert not weight.state.active and labels.register.cart.is_empty  # nothing sold
    assert panel.state.weight == "0.750 kg" and "1.31 CAD" in panel.state.preview
    code = next(line.split()[1] for line in panel.state.preview if line.startswith("EAN13"))
    panel.print()
    labels.session.sell.scanned(code)  # the customer brings it to the till
    (line,) = labels.register.cart.lines
    assert (line.sku, line.weight, line.weight_source) == (
        "bananas", Decimal("0.750"), WeightSource.LABEL,
    )  # fmt: skip


def test_a_typed_weight_and_a_shelf_label_for_a_weighed_product(labels: Shop) -> None:
    panel, weight = labels.session.labels, labels.session.weight
    panel.search("cheddar")
    panel.pick("cheddar")
    for key in "0.4":
        weight.key(key)
    assert weight.state.manual_price == "13.20"  # 0.4 kg x 32.99
    weight.use_manual()
    assert "0.400 kg" in panel.state.preview
    panel.choose("shelf")
    assert panel.state.message_kind == ERROR and "EAN-13" in panel.state.message
    assert not panel.state.can_print  # a PLU is no EAN-13: nothing half right is printed


def test_a_bad_weight_is_refused_and_the_label_stays_unprinted(labels: Shop) -> None:
    panel, weight = labels.session.labels, labels.session.weight
    panel.search("cheddar")
    panel.pick("cheddar")
    for key in "150":
        weight.key(key)
    weight.use_manual()  # 150 kg: more than a label carries
    assert "99.999 kg" in panel.state.message and not panel.state.can_print
    panel.weigh_again()
    assert weight.state.active
    weight.cancel()
    assert not weight.state.active


def test_a_printer_fault_is_a_message(labels: Shop) -> None:
    panel = labels.session.labels
    panel.search("cola")
    panel.pick("cola")
    labels.label_printer.fault = DeviceOffline("no answer from 10.0.0.9:9100")
    panel.print()
    assert panel.state.message_kind == ERROR and "Nothing was printed" in panel.state.message
    assert not panel.state.busy


def test_without_a_label_printer_the_preview_still_shows(labels: Shop) -> None:
    panel = labels.session.labels
    panel.printer = None
    panel.search("cola")
    panel.pick("cola")
    assert panel.state.preview and not panel.state.can_print
    panel.print()
    assert panel.state.message.startswith("No label printer is configured")
