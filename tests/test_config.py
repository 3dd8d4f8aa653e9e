"""The configuration loader: shipped files load, every kind of mistake is named well."""

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from appliance.config import (
    PACKAGED_DEFAULTS,
    DeviceSection,
    describe_schema,
    load_config,
)
from tests.config_support import (  # noqa: F401  (the fixture is autouse)
    DEMO,
    EXAMPLE,
    IDS,
    REPO,
    SECTIONS,
    _no_defaults_override,
    defaults_with,
    error,
    load,
    write,
)

# --- the shipped files ----------------------------------------------------------------


def test_demo_config_loads_with_its_tax_cash_and_devices() -> None:
    config = load_config(DEMO)
    assert (config.register.store, config.register.id) == ("demo-store", "till-1")
    assert config.register.data_dir == Path("var/demo/data")
    assert config.register.currency == "CAD"
    tax = config.tax
    assert {code: c.rate for code, c in tax.components.items()} == {
        "GST": Decimal("0.05"),
        "PST": Decimal("0.07"),
        "VPT": Decimal("0.20"),
    }
    assert tax.classes == {
        "standard": ("GST", "PST"),
        "food": ("GST",),
        "zero": (),
        "vapour": ("GST", "PST", "VPT"),
    }
    assert config.cash.rounding_increment == 5
    kinds = {name: d.kind for name, d in config.devices.items()}
    assert sorted(kinds.values()) == ["cash_drawer", "receipt_printer", "scale", "scanner"]
    assert config.devices["printer"].url == "socket://127.0.0.1:9100"
    assert config.devices["scale"].url == "var/demo/scale"


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE)
    assert config.register.store == "main-street"
    assert config.broker.url.startswith("mqtts://")
    assert {d.kind for d in config.devices.values()} >= {"scale", "receipt_printer", "scanner"}


def test_defaults_fill_everything_but_the_ids(tmp_path: Path) -> None:
    config = load(tmp_path, '[devices.scale]\nkind = "scale"\nurl = "sim://scale"\n')
    assert config.sync.window == 16
    assert config.sync.ack_timeout_s == 10.0
    assert config.sync.rpc_timeout_s == 3.0
    assert config.cash.rounding_increment == 1
    assert config.discounts.max_percent == Decimal(20)
    assert config.receipt.width == 42
    assert config.broker.username == ""
    assert config.devices["scale"] == DeviceSection("scale", "sim://scale", "", 2.0, True)


def test_defaults_hold_nothing_register_specific() -> None:
    entries = {e.key: e.default for e in describe_schema()}
    assert entries["register.store"] == entries["register.id"] == "required"
    lines = PACKAGED_DEFAULTS.read_text(encoding="utf-8").splitlines()
    comments = [line for line in lines if "#" in line]
    assert len(comments) == 1 and "appliance config docs" in comments[0]


# --- types ----------------------------------------------------------------------------

WRONG_TYPES = [
    ("register.name = 5", "register.name", "a string", "5 (an integer)"),
    ('broker.keepalive_s = "abc"', "broker.keepalive_s", "an integer between 5", "'abc'"),
    ("sync.window = true", "sync.window", "an integer", "True (a boolean)"),
    ("sync.window = 4.0", "sync.window", "an integer", "4.0 (a float)"),
    ('sync.ack_timeout_s = "10"', "sync.ack_timeout_s", "a number greater than 0", "'10'"),
    ("sync.ack_timeout_s = false", "sync.ack_timeout_s", "a number", "False (a boolean)"),
    ("sync.ack_timeout_s = nan", "sync.ack_timeout_s", "a number", "nan (a float)"),
    ("sync.ack_timeout_s = inf", "sync.ack_timeout_s", "a number", "inf (a float)"),
    ('tax.prices_include_tax = "yes"', "tax.prices_include_tax", "true or false", "'yes'"),
    ("tax.prices_include_tax = 1", "tax.prices_include_tax", "true or false", "1 (an integer)"),
    ("discounts.max_percent = true", "discounts.max_percent", "a decimal number", "True"),
    ('discounts.max_percent = "ten"', "discounts.max_percent", "a decimal number", "'ten'"),
    ('discounts.max_percent = "NaN"', "discounts.max_percent", "a decimal number", "'NaN'"),
    ('discounts.max_percent = "Infinity"', "discounts.max_percent", "a decimal", "'Infinity'"),
    ("discounts.max_percent = [10]", "discounts.max_percent", "a decimal", "[10] (an array)"),
    ("register.data_dir = 3", "register.data_dir", "a non-empty path", "3 (an integer)"),
    ('register.data_dir = ""', "register.data_dir", "a non-empty path", "'' (a string)"),
    ('tax.rounding = "per_item"', "tax.rounding", "one of 'per_line', 'per_invoice'", "'per_"),
    ('receipt.header = "Hi"', "receipt.header", "an array of strings", "'Hi' (a string)"),
    ('receipt.header = ["a", 2]', "receipt.header[1]", "a string", "2 (an integer)"),
    ('devices = ["scale"]', "devices", "a table of tables", "['scale'] (an array)"),
    ('tax.classes = { food = "GST" }', "tax.classes.food", "an array of strings", "'GST'"),
    ('broker = "mqtt://x"', "broker", "a table", "'mqtt://x' (a string)"),
    ('devices.scale = "sim://scale"', "devices.scale", "a table", "'sim://scale'"),
    (
        '[devices.scale]\nkind = "weigher"\nurl = "sim://scale"',
        "devices.scale.kind",
        "one of 'scale', 'receipt_printer'",
        "'weigher' (a string)",
    ),
]


@pytest.mark.parametrize(("text", "key", "expected", "got"), WRONG_TYPES)
def test_wrong_type_names_file_key_expected_and_got(
    tmp_path: Path, text: str, key: str, expected: str, got: str
) -> None:
    e = error(tmp_path, IDS + text)
    assert (e.file, e.key) == (str(tmp_path / "register.toml"), key)
    assert e.expected.startswith(expected)
    assert str(e).startswith(f"{tmp_path / 'register.toml'}: {key}: expected {expected}")
    assert f", got {got}" in str(e)


def test_error_message_reads_as_documented(tmp_path: Path) -> None:
    e = error(tmp_path, IDS + 'broker.keepalive_s = "abc"')
    assert str(e) == (
        f"{tmp_path / 'register.toml'}: broker.keepalive_s: "
        "expected an integer between 5 and 3600, got 'abc' (a string)"
    )


def test_values_are_converted_to_their_types(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        'sync.ack_timeout_s = 4\ndiscounts.max_percent = "12.5"\nreceipt.header = ["Hi"]\n'
        'tax.components.GST = { name = "GST", rate = 0.07 }\n'
        'tax.components.PST = { name = "PST", rate = 0 }\n',
    )
    assert config.sync.ack_timeout_s == 4.0 and isinstance(config.sync.ack_timeout_s, float)
    assert config.discounts.max_percent == Decimal("12.5")
    # A TOML float goes through repr, so 0.07 stays 0.07 rather than 0.07000000000000000666.
    assert config.tax.components["GST"].rate == Decimal("0.07")
    assert config.tax.components["PST"].rate == Decimal(0)
    assert config.receipt.header == ("Hi",)
    assert isinstance(config.register.data_dir, Path)


# --- unknown and missing keys ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "known", "suggestion"),
    [
        ("reciept.width = 40", "reciept", "register, broker, sync", "'receipt'"),
        ("broker.keepalive = 30", "broker.keepalive", "url, username", "'keepalive_s'"),
        (
            '[devices.scale]\nkind = "scale"\nurl = "sim://scale"\ntimeout = 1.0',
            "devices.scale.timeout",
            "kind, url, profile, timeout_s, enabled",
            "'timeout_s'",
        ),
        (
            'tax.components.GST = { name = "GST", rate = "0.05", rates = 1 }',
            "tax.components.GST.rates",
            "name, rate",
            "'rate'",
        ),
        ("broker.zzzz = 1", "broker.zzzz", "keepalive_s", None),
    ],
)
def test_unknown_key_lists_known_keys_and_suggests(
    tmp_path: Path, text: str, key: str, known: str, suggestion: str | None
) -> None:
    e = error(tmp_path, IDS + text)
    assert (e.file, e.key) == (str(tmp_path / "register.toml"), key)
    assert f"{key}: unknown key; expected one of: " in str(e)
    assert known in e.expected
    if suggestion is None:
        assert "did you mean" not in str(e)
    else:
        assert f"did you mean {suggestion}?" in str(e)


def test_keys_that_toml_must_quote_are_quoted(tmp_path: Path) -> None:
    e = error(tmp_path, IDS + 'broker."keep.alive" = 1')
    assert e.key == 'broker."keep.alive"'


def test_inline_broker_password_is_refused_with_a_hint_and_not_echoed(tmp_path: Path) -> None:
    e = error(tmp_path, IDS + 'broker.password = "hunter2"')
    assert e.key == "broker.password"
    assert "unknown key" in str(e)
    assert "put the password in a file and name it in broker.password_file" in str(e)
    assert "hunter2" not in str(e)


def test_password_in_broker_url_is_refused_and_not_echoed(tmp_path: Path) -> None:
    e = error(tmp_path, IDS + 'broker.url = "mqtt://till:hunter2@broker"')
    assert e.key == "broker.url"
    assert "hunter2" not in str(e)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('register.id = "r1"', "register.store"),
        ('register.store = "s1"', "register.id"),
        ("", "register.store"),
        (IDS + '[devices.scale]\nkind = "scale"', "devices.scale.url"),
        (IDS + 'tax.components.GST = { name = "GST" }', "tax.components.GST.rate"),
    ],
)
def test_missing_required_key_names_the_register_file(tmp_path: Path, text: str, key: str) -> None:
    e = error(tmp_path, text)
    assert (e.file, e.key) == (str(tmp_path / "register.toml"), key)
    assert "missing required key" in str(e)


# --- ranges, patterns and cross-checks ------------------------------------------------


PREFIX_EXPECTED = "two digits from 20 to 29 (GS1's in-store range), or empty for none"


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("broker.keepalive_s = 4", "broker.keepalive_s", "an integer between 5 and 3600"),
        ("broker.keepalive_s = 3601", "broker.keepalive_s", "an integer between 5 and 3600"),
        ("sync.window = 0", "sync.window", "an integer between 1 and 1024"),
        ("sync.window = 1025", "sync.window", "an integer between 1 and 1024"),
        ("sync.ack_timeout_s = 0", "sync.ack_timeout_s", "a number greater than 0"),
        ("sync.rpc_timeout_s = -1.5", "sync.rpc_timeout_s", "a number greater than 0"),
        ("receipt.width = 23", "receipt.width", "an integer between 24 and 64"),
        ("receipt.width = 65", "receipt.width", "an integer between 24 and 64"),
        ("cash.rounding_increment = 0", "cash.rounding_increment", "an integer at least 1"),
        ("cash.float_default = -1", "cash.float_default", "an integer at least 0"),
        (
            "discounts.max_percent = 100.5",
            "discounts.max_percent",
            "a decimal number between 0 and 100",
        ),
        (
            'discounts.max_percent = "-1"',
            "discounts.max_percent",
            "a decimal number between 0 and 100",
        ),
        ("storage.history_days = 0", "storage.history_days", "an integer at least 1"),
        ('labels.weight_prefix = "30"', "labels.weight_prefix", PREFIX_EXPECTED),
        ('labels.weight_prefix = "2"', "labels.weight_prefix", PREFIX_EXPECTED),
        (
            "labels.best_before_days = 366",
            "labels.best_before_days",
            "an integer between 0 and 365",
        ),
        ("tender.card_methods = []", "tender.card_methods", "1 to 6 different method names"),
        (
            'tender.card_methods = ["debit", "debit"]',
            "tender.card_methods",
            "1 to 6 different method names",
        ),
        (
            'tender.card_methods = ["Visa Card"]',
            "tender.card_methods[0]",
            "a method name matching [a-z0-9][a-z0-9_-]{0,23}",
        ),
        (
            'tax.components.GST = { name = "GST", rate = 1 }',
            "tax.components.GST.rate",
            "a decimal number at least 0 and less than 1",
        ),
        (
            'tax.components.GST = { name = "GST", rate = "-0.01" }',
            "tax.components.GST.rate",
            "a decimal number at least 0 and less than 1",
        ),
        (
            "sync.reconnect_min_s = 5.0\nsync.reconnect_max_s = 2.0",
            "sync.reconnect_max_s",
            "a number greater than 0 and at least reconnect_min_s (5.0)",
        ),
        (
            "storage.map_size_mb = 100\nstorage.map_max_mb = 99",
            "storage.map_max_mb",
            "an integer at least 1 and at least map_size_mb (100)",
        ),
    ],
)
def test_out_of_range(tmp_path: Path, text: str, key: str, expected: str) -> None:
    e = error(tmp_path, IDS + text)
    assert (e.file, e.key, e.expected) == (str(tmp_path / "register.toml"), key, expected)


def test_range_edges_are_accepted(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "broker.keepalive_s = 3600\nsync.window = 1\nreceipt.width = 64\n"
        "sync.reconnect_min_s = 2.0\nsync.reconnect_max_s = 2.0\n"
        'discounts.max_percent = 100\ntax.components.X = { name = "X", rate = "0.999" }\n'
        "storage.map_size_mb = 10\nstorage.map_max_mb = 10\n",
    )
    assert config.broker.keepalive_s == 3600 and config.sync.window == 1
    assert config.tax.components["X"].rate == Decimal("0.999")


BAD_IDS = ["Demo", "demo/store", "a+b", "#", "", "-lead", "a" * 65, "dé", "a b", "till.1"]
GOOD_IDS = ["a", "0", "demo-store", "till_1", "a" * 64]


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("which", ["store", "id"])
def test_store_and_register_ids_must_be_topic_safe(tmp_path: Path, which: str, bad: str) -> None:
    ids = {"store": "s1", "id": "r1", which: bad}
    text = "".join(f"register.{k} = {json.dumps(v)}\n" for k, v in ids.items())
    e = error(tmp_path, text)
    assert e.key == f"register.{which}"
    assert "MQTT topic level" in e.expected


@pytest.mark.parametrize("good", GOOD_IDS)
def test_good_ids_load(tmp_path: Path, good: str) -> None:
    config = load_config(write(tmp_path, f'register.store = "{good}"\nregister.id = "{good}"\n'))
    assert config.register.store == config.register.id == good


@pytest.mark.parametrize(
    ("key", "bad", "good"),
    [
        ("register.currency", ["cad", "CA", "CADD", 124], ["USD"]),
        ("register.timezone", ["Mars/Olympus", "", "America", "../../etc/passwd"], ["UTC"]),
        (
            "broker.url",
            [
                "http://broker:1883",
                "mqtt://",
                "mqtt://:1883",
                "mqtt://host:99999",
                "mqtt://host:port",
                "broker.example.com",
                "mqtt://host/topic",
            ],
            ["mqtt://host", "mqtts://broker.example.com:8883", "mqtt://[::1]:1883"],
        ),
    ],
)
def test_checked_strings(tmp_path: Path, key: str, bad: list[Any], good: list[str]) -> None:
    for value in bad:
        e = error(tmp_path, IDS + f"{key} = {json.dumps(value)}")
        assert e.key == key, value
    for value in good:
        load(tmp_path, f"{key} = {json.dumps(value)}")


def test_timezone_names_a_real_zone(tmp_path: Path) -> None:
    e = error(tmp_path, IDS + 'register.timezone = "Canada/Atlantis"')
    assert "IANA time zone" in e.expected
    assert load(tmp_path, 'register.timezone = "America/Vancouver"').register.timezone


@pytest.mark.parametrize(
    ("classes", "fragment"),
    [
        ('vapour = ["GST", "PST", "VPT"]', "not 'VPT'"),
        ('standard = ["GST", "GST"]', "without repeats"),
    ],
)
def test_tax_class_must_name_defined_components_once(
    tmp_path: Path, classes: str, fragment: str
) -> None:
    text = (
        IDS + 'tax.components.GST = { name = "GST", rate = "0.05" }\n'
        'tax.components.PST = { name = "PST", rate = "0.07" }\n'
        f"[tax.classes]\n{classes}\n"
    )
    e = error(tmp_path, text)
    assert e.key == f"tax.classes.{classes.split()[0]}"
    assert fragment in e.expected
