"""Helpers shared by the config tests: files in a temp dir, and loading them."""

from pathlib import Path

import pytest

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
