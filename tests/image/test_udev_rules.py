"""The device rules in the image are exactly what the profiles' USB ids say."""

from __future__ import annotations

import shutil
from pathlib import Path

from image import udev_rules

REPO = Path(__file__).resolve().parents[2]


def test_the_checked_in_rules_are_the_generated_ones() -> None:
    assert udev_rules.RULES_FILE.read_text() == udev_rules.generate(), (
        "config/devices changed: run `python image/build.py udev-rules` and commit the result"
    )


def test_each_kind_gets_its_node_and_stable_names() -> None:
    text = udev_rules.generate()
    lines = {line.split("SYMLINK+=\"register/by-profile/")[1].rstrip('"'): line
             for line in text.splitlines() if "by-profile" in line}  # fmt: skip
    scale, printer = lines["dymo_m10"], lines["epson_tm_t20iii"]
    assert 'SUBSYSTEM=="hidraw"' in scale and 'ATTRS{idVendor}=="0922"' in scale
    assert 'SYMLINK+="register/scale0"' in scale
    assert 'ENV{DEVTYPE}=="usb_device"' in printer and 'ATTR{idProduct}=="0e28"' in printer
    assert 'SYMLINK+="register/receipt-printer0"' in printer
    assert 'KERNEL=="event*"' in lines["zebra_ls2208"]
    assert 'SYMLINK+="register/label-printer0"' in lines["tsc_tx200"]
    assert all('MODE="0660", GROUP="register"' in line for line in lines.values())


def test_every_usb_id_gets_a_rule_and_serial_only_models_none(tmp_path: Path) -> None:
    devices = tmp_path / "devices"
    shutil.copytree(REPO / "config/devices", devices)
    (devices / "acme_cdc_scale.toml").write_text(
        'kind = "scale"\nmanufacturer = "Acme"\nmodel = "CDC"\nprotocol = "toledo8217"\n'
        '[serial]\nbaudrate = 9600\nbytesize = 7\nparity = "E"\nstopbits = 1\n'
        '[[usb]]\nvid = "1234"\npid = "abcd"\n[quirks]\ncapacity = 15\nunit = "kg"\n'
    )

    text = udev_rules.generate(devices)

    rule = next(line for line in text.splitlines() if "acme_cdc_scale" in line and "ACTION" in line)
    assert 'SUBSYSTEM=="tty"' in rule and 'ATTRS{idProduct}=="abcd"' in rule
    assert text.count("ACTION==") == text.count("ATTRS{idVendor}") + text.count("ATTR{idVendor}")
    assert "mettler_toledo_viva" not in text  # a serial scale behind an adapter: by-id path
