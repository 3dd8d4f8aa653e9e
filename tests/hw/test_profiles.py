"""Device profiles: every shipped file loads, and every kind of mistake is named."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from hw.ports import DeviceKind
from hw.profiles import (
    DEVICES_ENV,
    PACKAGED_DEVICES,
    PROTOCOLS,
    DrawerQuirks,
    ProfileError,
    ProfileIndex,
    ReceiptPrinterQuirks,
    ScaleQuirks,
    ScannerQuirks,
    UnknownProfileError,
    load_profile,
    load_profiles,
    profiles_dir,
)
from hw.protocols.scale import WeightUnit
from hw.serial_settings import SerialSettings

SCALE = """\
kind = "scale"
manufacturer = "Acme"
model = "S1"
protocol = "toledo8217"

[serial]
baudrate = 9600
bytesize = 7
parity = "E"
stopbits = 1

[quirks]
capacity = 15
unit = "kg"
"""

SCANNER = """\
kind = "scanner"
manufacturer = "Acme"
model = "Wedge"
protocol = "wedge"

[[usb]]
vid = "0c2e"
pid = "0b61"
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str, name: str = "bad") -> ProfileError:
    path = write(tmp_path, name, text)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert caught.value.file == str(path)
    assert str(caught.value).startswith(f"{path}: ")
    return caught.value


# --- the shipped profiles --------------------------------------------------------


def test_every_shipped_profile_loads() -> None:
    profiles = load_profiles(PACKAGED_DEVICES)
    assert {p.source.name for p in profiles} == {p.name for p in PACKAGED_DEVICES.glob("*.toml")}
    for kind in DeviceKind:
        models = {p.title for p in profiles if p.kind is kind}
        assert len(models) >= 2, f"fewer than two real models of {kind.value}"
    for profile in profiles:
        assert profile.protocol in PROTOCOLS[profile.kind]


def test_shipped_usb_ids_are_claimed_once_and_look_up() -> None:
    index = ProfileIndex.load(PACKAGED_DEVICES)
    claimed = [(m.vid, m.pid) for p in index for m in p.usb]
    assert len(claimed) == len(set(claimed))
    dymo = index.match_usb(0x0922, 0x8003)
    assert dymo is not None and dymo.name == "dymo_m10"
    assert dymo.protocol == "hid"
    assert dymo.quirks == ScaleQuirks(Decimal(10), WeightUnit.KG)
    assert index.match_usb(0x04B8, 0x0202) is index.by_name("epson_tm_t88v")
    assert index.match_usb(0xFFFF, 0xFFFF) is None


def test_shipped_serial_scale_keeps_its_line_settings() -> None:
    ariva = ProfileIndex.load(PACKAGED_DEVICES).by_name("mettler_toledo_ariva_s")
    assert ariva.serial == SerialSettings(9600, 7, "E", 1.0)
    assert ariva.serial.pyserial_kwargs() == {
        "baudrate": 9600,
        "bytesize": 7,
        "parity": "E",
        "stopbits": 1.0,
    }
    avery = ProfileIndex.load(PACKAGED_DEVICES).by_name("avery_weigh_tronix_7820")
    assert avery.serial is not None and avery.serial.dtr is True and avery.serial.rts is True


class Lines:
    """Just the two attributes of a pyserial port that `apply_lines` sets."""

    dtr: bool | None = None
    rts: bool | None = None


def test_serial_settings_hold_the_lines_they_name() -> None:
    port = Lines()
    SerialSettings(dtr=True, rts=False).apply_lines(port)
    assert (port.dtr, port.rts) == (True, False)
    untouched = Lines()
    SerialSettings().apply_lines(untouched)
    assert (untouched.dtr, untouched.rts) == (None, None)


def test_index_by_name_and_kind(tmp_path: Path) -> None:
    write(tmp_path, "acme_s1", SCALE)
    write(tmp_path, "acme_wedge", SCANNER)
    index = ProfileIndex.load(tmp_path)
    assert len(index) == 2
    assert index.by_name("acme_s1").title == "Acme S1"
    assert [p.name for p in index.of_kind(DeviceKind.SCANNER)] == ["acme_wedge"]
    with pytest.raises(UnknownProfileError, match=r"no device profile 'acme_s2'.*'acme_s1'\?"):
        index.by_name("acme_s2")
    with pytest.raises(UnknownProfileError, match="known: none"):
        ProfileIndex([]).by_name("x")


def test_directory_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "acme_s1", SCALE)
    monkeypatch.setenv(DEVICES_ENV, str(tmp_path))
    assert profiles_dir() == tmp_path
    assert [p.name for p in load_profiles()] == ["acme_s1"]
    monkeypatch.delenv(DEVICES_ENV)
    assert profiles_dir() == PACKAGED_DEVICES


def test_defaults_fill_optional_keys(tmp_path: Path) -> None:
    scanner = load_profile(write(tmp_path, "w", SCANNER))
    assert scanner.serial is None
    assert scanner.quirks == ScannerQuirks(b"", b"\r", 128, 4, 35)
    drawer = load_profile(
        write(
            tmp_path,
            "d",
            'kind = "cash_drawer"\nmanufacturer = "A"\nmodel = "D"\nprotocol = "escpos"\n'
            "[quirks]\npin = 5\npulse_on_ms = 100\npulse_off_ms = 200\n",
        )
    )
    assert drawer.quirks == DrawerQuirks(5, 100, 200, None)
    printer = load_profile(
        write(
            tmp_path,
            "p",
            'kind = "receipt_printer"\nmanufacturer = "A"\nmodel = "P"\nprotocol = "escpos"\n'
            "[quirks]\npaper_width_mm = 58\nchars_per_line = 32\ndrawer_status = false\n",
        )
    )
    assert printer.quirks == ReceiptPrinterQuirks(58, 32, False, True)


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        ('"CR"', b"\r"),
        ('"LF"', b"\n"),
        ('"CRLF"', b"\r\n"),
        ('"TAB"', b"\t"),
        ('"\\u0003"', b"\x03"),
    ],
)
def test_scanner_suffixes(tmp_path: Path, suffix: str, expected: bytes) -> None:
    text = SCANNER + f'[quirks]\nsuffix = {suffix}\nprefix = "]C"\n'
    quirks = load_profile(write(tmp_path, "w", text)).quirks
    assert isinstance(quirks, ScannerQuirks)
    assert (quirks.suffix, quirks.prefix) == (expected, b"]C")


def test_capacity_takes_decimal_text_and_floats(tmp_path: Path) -> None:
    for raw, expected in [('"6.5"', Decimal("6.5")), ("0.1", Decimal("0.1"))]:
        quirks = load_profile(
            write(tmp_path, "s", SCALE.replace("capacity = 15", f"capacity = {raw}"))
        ).quirks
        assert isinstance(quirks, ScaleQuirks) and quirks.capacity == expected


# --- every mistake names its file and key ------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "detail"),
    [
        ('model = "S1"\n', 'model = "S1"\ncolour = "grey"\n', "colour", "unknown key"),
        ("baudrate = 9600", "baud = 9600", "serial.baud", "did you mean 'baudrate'?"),
        ("baudrate = 9600", 'baudrate = "9600"', "serial.baudrate", "got '9600' (a string)"),
        ("baudrate = 9600", "baudrate = 9601", "serial.baudrate", "one of 1200,"),
        ("bytesize = 7", "bytesize = true", "serial.bytesize", "an integer between 5 and 8"),
        ("bytesize = 7", "bytesize = 9", "serial.bytesize", "got 9 (an integer)"),
        ('parity = "E"', 'parity = "even"', "serial.parity", "one of 'N', 'E'"),
        ("stopbits = 1", "stopbits = 3", "serial.stopbits", "1, 1.5 or 2"),
        ("stopbits = 1", "stopbits = 1\ndtr = 1", "serial.dtr", "true or false"),
        ('model = "S1"\n', "", "model", "missing required key"),
        ('model = "S1"', 'model = ""', "model", "a non-empty string"),
        ('kind = "scale"', 'kind = "toaster"', "kind", "one of 'scale'"),
        ('protocol = "toledo8217"', 'protocol = "escpos"', "protocol", "'hid', 'toledo8217'"),
        ("capacity = 15\n", "", "quirks.capacity", "missing required key"),
        ("capacity = 15", "capacity = -1", "quirks.capacity", "a positive decimal"),
        ("capacity = 15", 'capacity = "lots"', "quirks.capacity", "a positive decimal"),
        ("capacity = 15", 'capacity = "inf"', "quirks.capacity", "a positive decimal"),
        ("capacity = 15", "capacity = true", "quirks.capacity", "a positive decimal"),
        ('unit = "kg"', 'unit = "stone"', "quirks.unit", "one of 'g', 'kg'"),
        ('protocol = "toledo8217"\n', 'protocol = "toledo8217"\nquirks = 5\n', "quirks", "a table"),
        ('protocol = "toledo8217"\n', 'protocol = "toledo8217"\nusb = 5\n', "usb", "array of"),
    ],
)
def test_scale_mistakes(tmp_path: Path, old: str, new: str, key: str, detail: str) -> None:
    assert old in SCALE
    text = SCALE.replace(old, new, 1)
    if key == "quirks":
        text = text.replace('[quirks]\ncapacity = 15\nunit = "kg"\n', "")
    err = error_for(tmp_path, text)
    assert err.key == key
    assert detail in str(err)


@pytest.mark.parametrize(
    ("text", "key", "detail"),
    [
        (SCANNER.replace('vid = "0c2e"', 'vid = "c2e"'), "usb[0].vid", "four hex digits"),
        (SCANNER.replace('pid = "0b61"', "pid = 0x0b61"), "usb[0].pid", "four hex digits"),
        (SCANNER.replace('pid = "0b61"', 'pid = "0b6g"'), "usb[0].pid", "got '0b6g'"),
        (
            SCANNER.replace('[[usb]]\nvid = "0c2e"\npid = "0b61"\n', 'usb = "0c2e:0b61"\n'),
            "usb",
            "array of tables",
        ),
        (
            SCANNER.replace('[[usb]]\nvid = "0c2e"\npid = "0b61"\n', 'usb = ["0c2e:0b61"]\n'),
            "usb[0]",
            "a table",
        ),
        (SCANNER + '[quirks]\nsuffix = "CRCR"\n', "quirks.suffix", '"CR", "LF"'),
        (SCANNER + '[quirks]\nsuffix = "é"\n', "quirks.suffix", "one ASCII character"),
        (SCANNER + '[quirks]\nprefix = "123456789"\n', "quirks.prefix", "up to 8 ASCII"),
        (SCANNER + "[quirks]\nprefix = 1\n", "quirks.prefix", "up to 8 ASCII"),
        (SCANNER + '[quirks]\nprefix = "]\\r"\n', "quirks.prefix", "contains the suffix"),
        (
            SCANNER + "[quirks]\nwedge_max_gap_ms = 0\n",
            "quirks.wedge_max_gap_ms",
            "between 1 and 500",
        ),
        (
            SCANNER + '[serial]\nbaudrate = 9600\nbytesize = 8\nparity = "N"\nstopbits = 1\n',
            "serial",
            "keyboard-wedge",
        ),
        (SCANNER.replace('"wedge"', '"serial"'), "serial", "talks over a serial line"),
        (SCANNER.replace('"wedge"', '"hid"'), "protocol", "for a scanner"),
    ],
)
def test_scanner_mistakes(tmp_path: Path, text: str, key: str, detail: str) -> None:
    err = error_for(tmp_path, text)
    assert err.key == key
    assert detail in str(err)


def test_serial_must_be_a_table(tmp_path: Path) -> None:
    text = SCALE.replace(
        '[serial]\nbaudrate = 9600\nbytesize = 7\nparity = "E"\nstopbits = 1\n', ""
    )
    text = text.replace('protocol = "toledo8217"\n', 'protocol = "toledo8217"\nserial = 1\n')
    err = error_for(tmp_path, text)
    assert err.key == "serial"
    assert "expected a table, got 1 (an integer)" in str(err)


def test_hid_scale_needs_usb_ids(tmp_path: Path) -> None:
    text = 'kind = "scale"\nmanufacturer = "A"\nmodel = "H"\nprotocol = "hid"\n'
    text += '[quirks]\ncapacity = 5\nunit = "lb"\n'
    err = error_for(tmp_path, text)
    assert err.key == "usb"
    assert "found by its USB ids" in str(err)


def test_file_level_mistakes(tmp_path: Path) -> None:
    err = error_for(tmp_path, 'kind = "scale"\nmodel = ', name="broken")
    assert err.key == "" and "invalid TOML" in str(err)
    path = tmp_path / "latin.toml"
    path.write_bytes('model = "Wägezelle"\n'.encode("latin-1"))
    with pytest.raises(ProfileError, match="not UTF-8"):
        load_profile(path)
    (tmp_path / "folder.toml").mkdir()
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "folder.toml")
    with pytest.raises(ProfileError, match="file name 'Acme S1'"):
        load_profile(write(tmp_path, "Acme S1", SCALE))
    with pytest.raises(ProfileError, match="not a directory"):
        load_profiles(tmp_path / "missing")


def test_one_usb_id_names_one_profile(tmp_path: Path) -> None:
    write(tmp_path, "a_first", SCANNER)
    second = write(tmp_path, "b_second", SCANNER)
    with pytest.raises(ProfileError) as caught:
        load_profiles(tmp_path)
    assert caught.value.file == str(second)
    assert caught.value.key == "usb[0]"
    assert "0c2e:0b61 is already claimed by a_first.toml" in str(caught.value)


def test_a_pseudo_terminal_opens_8n1_whatever_the_profile_says(tmp_path: Path) -> None:
    import os

    seven_e_one = SerialSettings(9600, 7, "E", 1, dtr=True)
    master, slave = os.openpty()
    try:
        pty = os.ttyname(slave)
        (tmp_path / "scale0").symlink_to(pty)
        assert seven_e_one.for_port(pty) == SerialSettings(9600, 8, "N", 1, dtr=True)
        assert seven_e_one.for_port(str(tmp_path / "scale0")).bytesize == 8, "through a link"
    finally:
        os.close(master)
        os.close(slave)
    assert seven_e_one.for_port("/dev/ttyUSB0") is seven_e_one, "a real UART keeps 7E1"
