"""Config files, provenance, merging, the schema's docs, and junk: only ConfigError."""

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.config import (
    PACKAGED_DEFAULTS,
    Config,
    ConfigError,
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
