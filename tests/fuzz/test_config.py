"""The config loader (appliance/config.py): any file loads or raises ConfigError naming it.

Files start as the shipped ones (the demo's and the example register.toml, and the
packaged defaults) and are mutated as bytes (flipped, cut, spliced, not UTF-8) and as
documents (a value swapped for one of another TOML type, a 5,000-digit integer, nan,
inf, arrays nested 5,000 deep, long strings, a key removed or added). A `ConfigError`
names the file; one caused by a bad value at a known key names that key's section.
`tests/test_config_files.py` holds random junk configs built from the schema.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.config import PACKAGED_DEFAULTS, Config, ConfigError, describe_schema, load_config
from tests.fuzz.mutate import (
    HUGE_INT,
    Raw,
    check_message,
    fuzz,
    mutated_bytes,
    mutated_doc,
    text_values,
    toml_bytes,
)

REPO = Path(__file__).resolve().parents[2]
SEEDS = {
    "demo": (REPO / "config" / "demo" / "register.toml").read_bytes(),
    "example": (REPO / "config" / "register.example.toml").read_bytes(),
}
DEFAULTS = PACKAGED_DEFAULTS.read_bytes()
KEYS = [e.key.replace("<name>", "scale") for e in describe_schema(PACKAGED_DEFAULTS)]
TOML_TOKENS = [b"=", b'"', b"'", b"[", b"]", b"[[", b"{", b"}", b",", b".", b"\n", b"#", b"\\",
               b'"""', b"nan", b"inf", b"true", b"1979-05-27T07:32:00Z", b"0x7f", b"1_0",
               b"9" * 5000, b"[" * 3000]  # fmt: skip


def load(directory: Path, register: bytes, defaults: bytes = DEFAULTS) -> Config | None:
    """Load the two files written into `directory`: the config, or None after checking
    that the ConfigError names one of the files and says what was expected."""
    register_file = directory / "register.toml"
    defaults_file = directory / "defaults.toml"
    register_file.write_bytes(register)
    defaults_file.write_bytes(defaults)
    try:
        return load_config(register_file, defaults_file)
    except ConfigError as exc:
        assert exc.file in (str(register_file), str(defaults_file))
        check_message(exc, starts=f"{exc.file}: ")
        assert exc.expected.strip()
        return None


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("config")


def test_the_seeds_load(directory: Path) -> None:
    for seed in SEEDS.values():
        assert isinstance(load(directory, seed), Config)


@fuzz(160)
@given(st.data())
def test_mutated_files_load_or_name_the_file(directory: Path, data: st.DataObject) -> None:
    seed = SEEDS[data.draw(st.sampled_from(sorted(SEEDS)))]
    if data.draw(st.integers(0, 4)) == 0:  # now and then the defaults are the broken file
        load(directory, seed, data.draw(mutated_bytes(DEFAULTS, tokens=TOML_TOKENS)))
    else:
        load(directory, data.draw(mutated_bytes(seed, max_ops=5, tokens=TOML_TOKENS)))


@fuzz(200)
@given(st.data())
def test_mutated_documents_load_or_name_the_file(directory: Path, data: st.DataObject) -> None:
    doc = tomllib.loads(SEEDS[data.draw(st.sampled_from(sorted(SEEDS)))].decode())
    names = sorted({part for key in KEYS for part in key.split(".")})
    mutated = data.draw(mutated_doc(doc, values=text_values, keys=names))
    load(directory, toml_bytes(mutated))


@fuzz(160)
@given(st.sampled_from(KEYS), text_values)
def test_any_value_at_any_known_key_loads_or_is_named(
    directory: Path, key: str, value: Any
) -> None:
    doc = tomllib.loads(SEEDS["demo"].decode())
    doc["devices"] = {"scale": {"kind": "scale", "url": "sim://scale"}}
    mutated = _put(doc, key.split("."), value)
    register_file = directory / "register.toml"
    register_file.write_bytes(toml_bytes(mutated))
    try:
        load_config(register_file, PACKAGED_DEFAULTS)
    except ConfigError as exc:
        check_message(exc, starts=f"{exc.file}: ")
        if exc.key:  # a bad value is reported in its own section (a sibling it must
            #          not undercut, like resend_max_s under ack_timeout_s, is the same)
            assert exc.key.split(".")[0] == key.split(".")[0], (exc.key, key)


def _put(doc: dict[str, Any], parts: list[str], value: Any) -> dict[str, Any]:
    """A copy of `doc` with `value` at the key path `parts`, tables made on the way."""
    head, rest = parts[0], parts[1:]
    inner = doc.get(head) if isinstance(doc.get(head), dict) else {}
    return {**doc, head: _put(inner, rest, value) if rest else value}


FOUND = {
    # What fuzzing found; each escaped load_config as something other than ConfigError.
    "a 5,000-digit integer (ValueError from int())": {"broker": {"keepalive_s": HUGE_INT}},
    "arrays nested 600 deep (RecursionError in tomllib)": {
        "receipt": {"header": Raw("[" * 600 + "]" * 600)}
    },
    "inline tables nested 600 deep": {"devices": Raw("{a = " * 600 + "1" + "}" * 600)},
}


@pytest.mark.parametrize("doc", list(FOUND.values()), ids=list(FOUND))
def test_what_fuzzing_found_is_a_config_error(directory: Path, doc: dict[str, Any]) -> None:
    path = directory / "register.toml"
    path.write_bytes(b'register.store = "s1"\nregister.id = "r1"\n' + toml_bytes(doc))
    with pytest.raises(ConfigError) as caught:
        load_config(path, PACKAGED_DEFAULTS)
    assert str(caught.value).startswith(f"{path}: invalid TOML: ")
