"""Labels through the register: templates imported strictly into the cache, labels
filled from them, and a weighed item's label sold back at the weight it carries."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from appliance.domain.cart import WeightSource
from appliance.domain.errors import UnknownProduct
from appliance.domain.labels import LabelError
from appliance.domain.money import Money
from appliance.domain.tender import Tender
from appliance.labels import SHIPPED, import_templates, read_template_files
from appliance.register import Register, RegisterError
from appliance.store import cache
from hw.labels import LabelTemplateError, label_text, render_zpl

SHELF = SHIPPED / "shelf.toml"
NOW = datetime(2026, 11, 25, 9, 0)


@pytest.fixture
def labelled(register: Register) -> Register:
    import_templates(register.storage, [SHIPPED], now=NOW, version="test")
    return register


def test_the_shipped_templates_are_offered(labelled: Register) -> None:
    choices = {c.id: c.weighed for c in labelled.label_choices()}
    assert choices == {"shelf": False, "weighed": True}


def test_a_shelf_label_prints_the_product_and_its_barcode(labelled: Register) -> None:
    label = labelled.label("shelf", "cola")
    lines = label.lines()
    assert "Cola 355 ml" in lines and "EAN13 0067000000010" in lines
    assert label_text(render_zpl(label, 8), "zpl") == lines  # the printer reads it back the same


def test_a_weighed_label_sells_back_at_its_weight(labelled: Register) -> None:
    label = labelled.label("weighed", "bananas", Decimal("1.234"))
    lines = label.lines()
    assert {"Bananas", "1.234 kg", "1.74 CAD/kg", "2.15 CAD"} <= set(lines)
    assert "Packed 2026-11-25" in lines and "Best before 2026-11-28" in lines  # demo: 3 days
    code = next(line.split()[1] for line in lines if line.startswith("EAN13"))
    assert code == "2804011012346"
    priced = labelled.add_barcode(code)
    line = priced.lines[-1]
    assert (line.sku, line.weight, line.weight_source) == ("bananas", Decimal("1.234"),
                                                          WeightSource.LABEL)  # fmt: skip
    assert line.base == Money(215, "CAD")  # what the label said
    labelled.open_till(Money(200_00, "CAD"))
    labelled.add_tender(Tender.cash(Money(1000, "CAD")))
    done = labelled.complete()
    assert labelled.sale(done.sale.id).lines[0].weight_source is WeightSource.LABEL


def test_a_misread_label_sells_nothing(labelled: Register) -> None:
    with pytest.raises(LabelError, match="check digit"):
        labelled.add_barcode("2804011012340")
    assert not labelled.cart.lines


def test_labels_refused_with_the_reason(labelled: Register) -> None:
    with pytest.raises(RegisterError, match="no label template 'price-tag'"):
        labelled.label("price-tag", "cola")
    with pytest.raises(LabelError, match="weigh the Bananas first"):
        labelled.label("weighed", "bananas")
    with pytest.raises(LabelError, match="not sold by weight"):
        labelled.label("weighed", "cola", Decimal(1))
    with pytest.raises(RegisterError, match="Bananas on the shelf label: .*EAN-13"):
        labelled.label("shelf", "bananas")  # a PLU is no EAN-13
    with pytest.raises(UnknownProduct, match="nope"):
        labelled.label("shelf", "nope")


def test_a_cached_template_that_no_longer_parses_is_named(labelled: Register) -> None:
    storage = labelled.storage
    storage.write(lambda t: cache.replace_label_templates(
        t, storage, {"odd": {"name": "odd"}}, now=NOW, version="x"))  # fmt: skip
    with pytest.raises(RegisterError, match="label template 'odd'.*import the label templates"):
        labelled.label_choices()


def test_import_checks_every_file_before_replacing(labelled: Register, tmp_path: Path) -> None:
    (tmp_path / "none").mkdir()
    bad = tmp_path / "bad.toml"
    bad.write_text(SHELF.read_text().replace("width_mm = 58", "width_mm = -1"))
    with pytest.raises(LabelTemplateError, match=r"bad.toml: width_mm"):
        import_templates(labelled.storage, [SHIPPED, bad], now=NOW, version="y")
    assert len(labelled.label_choices()) == 2  # nothing replaced
    twin = tmp_path / "twin.toml"
    twin.write_text(SHELF.read_text())
    with pytest.raises(LabelTemplateError, match="'shelf' is also .*shelf.toml"):
        read_template_files([SHELF, twin])
    with pytest.raises(LabelTemplateError, match="no label templates found"):
        read_template_files([tmp_path / "none"])  # a directory without templates
    (tmp_path / "garbled.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(LabelTemplateError, match="garbled.toml: not valid TOML"):
        read_template_files([tmp_path / "garbled.toml"])
    with pytest.raises(LabelTemplateError, match="missing.toml: cannot read it"):
        read_template_files([tmp_path / "missing.toml"])
