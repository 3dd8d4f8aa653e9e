"""`appliance labels ...` as an installer runs it: import, list, and print onto a real
(simulated, over TCP) ZPL label printer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.bootstrap import open_storage
from appliance.cli import main
from appliance.config import Config
from appliance.labels import SHIPPED
from hw.sim.label_printer import LabelPrinterSimulator
from tests.store.conftest import seed, write_config


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Config, str]:
    config = write_config(tmp_path)
    with open_storage(config) as storage:
        seed(storage, config)
    return config, str(next(tmp_path.glob("register-*.toml")))


@pytest.fixture
def label_printer() -> Iterator[LabelPrinterSimulator]:
    sim = LabelPrinterSimulator(language="zpl")
    sim.start()
    yield sim
    sim.stop()


def test_import_list_and_print_text(
    shop: tuple[Config, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, path = shop
    assert main(["labels", "list", "--config", path]) == 1
    assert "appliance labels import" in capsys.readouterr().out
    assert main(["labels", "import", str(SHIPPED), "--config", path]) == 0
    assert "imported 2 label template(s): shelf, weighed" in capsys.readouterr().out
    assert main(["labels", "list", "--config", path]) == 0
    listed = capsys.readouterr().out
    assert "shelf" in listed and "weighed item (prints a weight)" in listed
    args = ["labels", "print", "weighed", "cheddar", "--weight", "0.412", "--text"]
    assert main([*args, "--config", path]) == 0
    text = capsys.readouterr().out
    assert "0.412 kg" in text and "EAN13 28" in text


def test_print_on_the_label_printer(
    shop: tuple[Config, str],
    label_printer: LabelPrinterSimulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, path = shop
    main(["labels", "import", str(SHIPPED), "--config", path])
    args = ["labels", "print", "shelf", "cola", "--copies", "2", "--url", label_printer.url,
            "--profile", "zebra_gk420t", "--config", path]  # fmt: skip
    assert main(args) == 0
    assert "OK: 2 shelf label(s) for cola" in capsys.readouterr().out
    assert len(label_printer.labels) == 2 and "Cola 355 ml" in label_printer.labels[0]
    label_printer.paper_out = True
    assert main(args) == 1
    assert "FAIL:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, says",
    [
        (["labels", "import", "nowhere.toml"], "nowhere.toml: cannot read it"),
        (["labels", "print", "shelf", "cola"], "no label template 'shelf'"),
        (["labels", "print", "weighed", "cheddar", "--weight", "lots"], "--weight: not a number"),
    ],
)
def test_errors_name_what_is_wrong(
    shop: tuple[Config, str], capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    assert main([*args, "--config", shop[1]]) == 2
    assert says in capsys.readouterr().err
