"""The configuration loader: shipped files load, every kind of mistake is named well."""

import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.config import (
    PACKAGED_DEFAULTS,
    BrokerSection,
    CashSection,
    Config,
    ConfigError,
    DeviceSection,
    DiscountSection,
    ReceiptSection,
    RegisterSection,
    StorageSection,
    SyncSection,
    TaxComponentSection,
    TaxSection,
    describe_schema,
    load_config,
)

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "config" / "demo" / "register.toml"
EXAMPLE = REPO / "config" / "register.example.toml"
IDS = 'register.store = "s1"\nregister.id = "r1"\n'
SECTIONS = [
    Config,
    RegisterSection,
    BrokerSection,
    SyncSection,
    TaxSection,
    TaxComponentSection,
    CashSection,
    DiscountSection,
    ReceiptSection,
    StorageSection,
    DeviceSection,
]


@pytest.fixture(autouse=True)
def _no_defaults_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APPLIANCE_DEFAULTS", raising=False)


def write(directory: Path, text: str, name: str = "register.toml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str) -> Config:
    return load_config(write(tmp_path, IDS + text))


def defaults_with(old: str, new: str) -> str:
    """The packaged defaults with one piece of text swapped, failing if it is not there."""
    text = PACKAGED_DEFAULTS.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new)


def error(tmp_path: Path, text: str, defaults: str | None = None) -> ConfigError:
    register = write(tmp_path, text)
    defaults_file = None if defaults is None else write(tmp_path, defaults, "defaults.toml")
    with pytest.raises(ConfigError) as info:
        load_config(register, defaults_file)
    return info.value


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
    assert config.devices["scale"].url == "sim://scale/toledo8217"


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


# --- files ----------------------------------------------------------------------------


def test_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    e = error(tmp_path, 'register.store = "s1"\nregister.id = \n')
    assert e.file == str(tmp_path / "register.toml")
    assert str(e).startswith(f"{tmp_path / 'register.toml'}: line 2, column ")
    assert "invalid TOML" in str(e)


def test_missing_register_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "register.toml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert info.value.file == str(missing)
    assert str(info.value).startswith(f"{missing}: cannot read")


def test_missing_defaults_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "defaults.toml"
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, IDS, "register.toml"), missing)
    assert info.value.file == str(missing)


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "register.toml"
    path.write_bytes(b'register.store = "\xff"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.file == str(path)


# --- provenance and merging -----------------------------------------------------------


def test_bad_value_in_defaults_names_the_defaults_file(tmp_path: Path) -> None:
    defaults = defaults_with("keepalive_s = 60", "keepalive_s = 0")
    e = error(tmp_path, IDS + 'broker.url = "mqtt://other"', defaults)
    assert (e.file, e.key) == (str(tmp_path / "defaults.toml"), "broker.keepalive_s")


def test_bad_array_element_and_unknown_key_in_defaults_name_the_defaults_file(
    tmp_path: Path,
) -> None:
    defaults = defaults_with("header = []", 'header = ["ok", 3]')
    e = error(tmp_path, IDS + "receipt.width = 40", defaults)
    assert (e.file, e.key) == (str(tmp_path / "defaults.toml"), "receipt.header[1]")
    defaults = defaults_with("[devices]", "[devices]\n[bogus]\nx = 1")
    e = error(tmp_path, IDS, defaults)
    assert (e.file, e.key) == (str(tmp_path / "defaults.toml"), "bogus")


def test_register_value_overrides_a_bad_default(tmp_path: Path) -> None:
    defaults = write(tmp_path, defaults_with("keepalive_s = 60", "keepalive_s = 0"), "d.toml")
    register = write(tmp_path, IDS + "broker.keepalive_s = 30")
    assert load_config(register, defaults).broker.keepalive_s == 30


def test_merge_tables_merge_arrays_and_scalars_replace(tmp_path: Path) -> None:
    defaults = defaults_with("header = []", 'header = ["A", "B"]')
    defaults = defaults.replace(
        "[devices]", '[devices.printer]\nkind = "receipt_printer"\nurl = "socket://a:9100"'
    )
    register = write(
        tmp_path,
        IDS + 'broker.url = "mqtt://b"\nsync.window = 4\nreceipt.header = ["C"]\n'
        '[devices.printer]\nurl = "socket://b:9100"\n'
        '[devices.scale]\nkind = "scale"\nurl = "sim://scale"\n',
    )
    config = load_config(register, write(tmp_path, defaults, "defaults.toml"))
    assert config.broker.url == "mqtt://b"
    assert config.broker.keepalive_s == 60  # the rest of [broker] still comes from defaults
    assert config.sync.window == 4
    assert config.receipt.header == ("C",)
    assert config.devices["printer"].kind == "receipt_printer"
    assert config.devices["printer"].url == "socket://b:9100"
    assert set(config.devices) == {"printer", "scale"}


def test_defaults_come_from_env_unless_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_defaults = write(tmp_path, defaults_with("window = 16", "window = 8"), "env.toml")
    given = write(tmp_path, defaults_with("window = 16", "window = 9"), "given.toml")
    register = write(tmp_path, IDS)
    monkeypatch.setenv("APPLIANCE_DEFAULTS", str(env_defaults))
    assert load_config(register).sync.window == 8
    assert load_config(register, given).sync.window == 9
    monkeypatch.setenv("APPLIANCE_DEFAULTS", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError) as info:
        load_config(register)
    assert info.value.file == str(tmp_path / "gone.toml")


# --- schema docs and immutability -----------------------------------------------------


def test_every_schema_field_is_documented_once() -> None:
    entries = describe_schema()
    keys = [e.key for e in entries]
    assert len(keys) == len(set(keys))
    assert all(e.doc.strip() and e.type.strip() for e in entries)
    assert {f.name for cls in SECTIONS for f in dataclasses.fields(cls)} <= {
        key.rsplit(".", 1)[-1] for key in keys
    }
    assert {"devices.<name>.url", "tax.components.<name>.rate", "broker.keepalive_s"} <= set(keys)
    shipped = [p.read_text(encoding="utf-8") for p in (PACKAGED_DEFAULTS, DEMO, EXAMPLE)]
    assert not [e.key for e in entries if any(e.doc in text for text in shipped)]


def test_schema_defaults_come_from_the_defaults_file() -> None:
    entries = {e.key: e for e in describe_schema()}
    assert entries["broker.keepalive_s"].default == "60"
    assert entries["sync.window"].default == "16"
    assert entries["devices.<name>.timeout_s"].default == "2.0"
    assert entries["devices.<name>.kind"].default == "required"
    assert entries["broker.keepalive_s"].type == "an integer between 5 and 3600"
    # Every default lives in defaults.toml; only the ids and named entries' fields lack one.
    lacking = [k for k, e in entries.items() if e.default == "required" and "<name>" not in k]
    assert lacking == ["register.store", "register.id"]


def test_config_is_frozen() -> None:
    config = load_config(DEMO)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.register.store = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.devices["scale"].url = "sim://other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.sync = config.sync  # type: ignore[misc]
    assert isinstance(config.receipt.header, tuple)
    assert not hasattr(config, "__dict__")  # slots: no stray attributes either


# --- junk never escapes as anything but ConfigError -----------------------------------

SCHEMA_PATHS = [e.key.replace("<name>", "x").split(".") for e in describe_schema()]
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["", "0.05", "NaN", "-0", "1e999", "scale", "per_line", "UTC", "mqtt://h"]),
)
junk = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8) | st.sampled_from(["kind", "url", "x"]), inner)
    ),
    max_leaves=8,
)


def toml_str(s: str) -> str:
    # JSON string escapes are TOML's, save that TOML also wants DEL escaped.
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(v), repr(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return toml_str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{toml_str(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


@st.composite
def junk_configs(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {"register": {"store": "s1", "id": "r1"}} if draw(st.booleans()) else {}
    for _ in range(draw(st.integers(0, 4))):
        path = draw(
            st.sampled_from(SCHEMA_PATHS) | st.lists(st.text(min_size=1, max_size=6), min_size=1)
        )
        node = data
        for part in path[:-1]:
            child = node.get(part)
            node = node.setdefault(part, {}) if isinstance(child, dict | None) else node
        node[path[-1]] = draw(junk)
    return data


@settings(max_examples=300, deadline=None)
@given(data=junk_configs())
def test_junk_raises_only_config_error(
    tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any]
) -> None:
    path = tmp_path_factory.mktemp("junk") / "register.toml"
    lines = [f"{toml_str(k)} = {toml_value(v)}\n" for k, v in data.items()]
    path.write_text("".join(lines), encoding="utf-8")
    try:
        assert isinstance(load_config(path), Config)
    except ConfigError as e:
        assert e.file in (str(path), str(PACKAGED_DEFAULTS))


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=200))
def test_junk_text_raises_only_config_error(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("text") / "register.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(path)
