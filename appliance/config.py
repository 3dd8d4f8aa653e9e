"""Typed, strict configuration for the register.

Theory of operation: the register file is deep-merged over ``config/defaults.toml``
(tables merge; arrays and scalars replace), remembering which file supplied each value;
one type-driven validator then walks the frozen dataclasses below, so a bad key or value
fails at load naming its file and dotted key. Each field is documented once, in its
``metadata["doc"]``. Defaults live in defaults.toml, except for fields of named entries
(``devices.<name>.*``), which that file cannot hold.
"""

# RUF009 cannot see that _field() returns a dataclasses.field().
# ruff: noqa: RUF009

import json
import os
import re
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from appliance.config_check import (
    ConfigError as ConfigError,  # raised by load_config: callers import it from here
)
from appliance.config_check import (
    KeyPath,
    Validator,
    expected_text,
    merge,
    read_toml,
)
from appliance.domain.labels import check_weight_prefix

PACKAGED_DEFAULTS = Path(__file__).resolve().parent.parent / "config" / "defaults.toml"
DEFAULTS_ENV = "APPLIANCE_DEFAULTS"

# Store and register ids become MQTT topic levels, so '/', '+' and '#' must never get in.
_ID = r"[a-z0-9][a-z0-9_-]{0,63}"
_ID_EXPECT = f"an id matching {_ID} (it becomes an MQTT topic level)"

DeviceKind = Literal["scale", "receipt_printer", "label_printer", "cash_drawer", "scanner"]
TaxRounding = Literal["per_line", "per_invoice"]


def _field(doc: str, default: Any = MISSING, **checks: Any) -> Any:
    """A dataclass field carrying its one doc string and its declarative checks.

    Checks: min/max (inclusive), gt/lt (exclusive), pattern (full match), check (a
    predicate), at_least (a sibling field this one may not be below); expect replaces
    the error text derived from the type and checks; secret keeps a bad value out of
    error messages, which end up in logs.
    """
    return field(default=default, metadata={"doc": doc, **checks})


def _is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _is_broker_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a port that is not a number in range
    except ValueError:
        return False
    # Credentials in the URL would be an inline password by the back door.
    plain = "@" not in parts.netloc and parts.path in ("", "/")
    return plain and parts.scheme in ("mqtt", "mqtts") and bool(parts.hostname)


@dataclass(frozen=True, slots=True)
class RegisterSection:
    """The ``[register]`` table."""

    store: str = _field("Store id, as the back office knows it.", pattern=_ID, expect=_ID_EXPECT)
    id: str = _field("Register id, unique within the store.", pattern=_ID, expect=_ID_EXPECT)
    name: str = _field("Name shown on screen and receipts; empty means the register id.")
    store_name: str = _field("The store's name shown on screen; empty means the store id.")
    data_dir: Path = _field("Directory for the LMDB cache, outbox and print queue.")
    currency: str = _field(
        "ISO 4217 currency code of every amount.",
        pattern="[A-Z]{3}",
        expect="a three-letter ISO 4217 code in capitals, such as 'CAD'",
    )
    timezone: str = _field(
        "IANA time zone of the shop; dates on sales and promotions use its clock.",
        check=_is_timezone,
        expect="an IANA time zone name such as 'America/Vancouver'",
    )


@dataclass(frozen=True, slots=True)
class BrokerSection:
    """The ``[broker]`` table."""

    url: str = _field(
        "Broker URL: mqtt://host[:port], or mqtts://host[:port] for TLS.",
        check=_is_broker_url,
        expect="an mqtt:// or mqtts:// URL: a host, maybe a port, no user or password",
        secret=True,
    )
    username: str = _field("MQTT user name; empty to authenticate by client certificate only.")
    password_file: str = _field("File holding the MQTT password; empty for none.")
    ca_file: str = _field("CA bundle that signs the broker's certificate; empty: system CAs.")
    cert_file: str = _field("Client certificate for this register; empty for none.")
    key_file: str = _field("Private key of cert_file; empty for none.")
    keepalive_s: int = _field("MQTT keepalive in seconds.", min=5, max=3600)


@dataclass(frozen=True, slots=True)
class SyncSection:
    """The ``[sync]`` table."""

    window: int = _field("Outbox messages in flight before waiting for acks.", min=1, max=1024)
    ack_timeout_s: float = _field("Seconds to wait for an ack before resending.", gt=0)
    resend_max_s: float = _field(
        "Longest wait before resending an unacked entry again (each resend doubles the "
        "wait from ack_timeout_s, so a congested link is not flooded).",
        gt=0,
        at_least="ack_timeout_s",
    )
    rpc_timeout_s: float = _field("Seconds before an RPC falls back to the local answer.", gt=0)
    reconnect_min_s: float = _field("First delay before reconnecting to the broker.", gt=0)
    reconnect_max_s: float = _field(
        "Longest delay between reconnect attempts.", gt=0, at_least="reconnect_min_s"
    )
    refresh_every_s: float = _field(
        "Seconds between refreshes of cached balances and customers while online (also "
        "refreshed on every reconnect), so a gift card drawn at another till shows here.",
        gt=0,
    )


@dataclass(frozen=True, slots=True)
class TaxComponentSection:
    """One entry of ``tax.components``."""

    name: str = _field("Name printed on receipts.")
    rate: Decimal = _field('Rate as a fraction, e.g. "0.05" for 5%.', min=0, lt=1)


@dataclass(frozen=True, slots=True)
class TaxSection:
    """The ``[tax]`` table."""

    prices_include_tax: bool = _field("Whether shelf prices already include tax.")
    rounding: TaxRounding = _field("Round tax on each line, or once on the invoice total.")
    components: dict[str, TaxComponentSection] = _field("Taxes by code, e.g. tax.components.GST.")
    classes: dict[str, tuple[str, ...]] = _field("Tax class -> codes of the taxes it pays.")

    def _cross_check(self) -> tuple[KeyPath, str] | None:
        """The first class naming a tax that is not defined (or one twice), if any."""
        known = ", ".join(self.components) or "none defined"
        for name, codes in self.classes.items():
            for code in codes:
                if code not in self.components:
                    return ("classes", name), f"codes from tax.components ({known}); not {code!r}"
            if len(set(codes)) != len(codes):
                return ("classes", name), "codes without repeats"
        return None


@dataclass(frozen=True, slots=True)
class CashSection:
    """The ``[cash]`` table."""

    rounding_increment: int = _field(
        "Round cash totals to this many minor units (5: nickels); 1 for none.", min=1
    )
    float_default: int = _field("Opening float offered at shift start, in minor units.", min=0)


@dataclass(frozen=True, slots=True)
class DiscountSection:
    """The ``[discounts]`` table."""

    max_percent: Decimal = _field("Largest manual discount a cashier may give, %.", min=0, max=100)


@dataclass(frozen=True, slots=True)
class ReceiptSection:
    """The ``[receipt]`` table."""

    width: int = _field("Characters per printed line.", min=24, max=64)
    header: tuple[str, ...] = _field("Lines printed above every receipt.")
    footer: tuple[str, ...] = _field("Lines printed below every receipt.")


@dataclass(frozen=True, slots=True)
class TenderSection:
    """The ``[tender]`` table."""

    card_methods: tuple[str, ...] = _field(
        "Card buttons on the tender screen, e.g. debit, credit; each is the method recorded."
    )

    def _cross_check(self) -> tuple[KeyPath, str] | None:
        methods = self.card_methods
        if not 1 <= len(methods) <= 6 or len(set(methods)) != len(methods):
            return ("card_methods",), "1 to 6 different method names"
        for i, method in enumerate(methods):
            if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,23}", method):
                return ("card_methods", i), "a method name matching [a-z0-9][a-z0-9_-]{0,23}"
        return None


@dataclass(frozen=True, slots=True)
class LabelsSection:
    """The ``[labels]`` table."""

    weight_prefix: str = _field(
        "EAN-13 prefix of this store's weighed-item labels (20 to 29); empty: none printed"
        " or read.",
        check=lambda p: check_weight_prefix(p) is None,
        expect="two digits from 20 to 29 (GS1's in-store range), or empty for none",
    )
    best_before_days: int = _field(
        "Days from packing to the best-before date on labels; 0 prints none.", min=0, max=365
    )


@dataclass(frozen=True, slots=True)
class StorageSection:
    """The ``[storage]`` table."""

    map_size_mb: int = _field("Initial LMDB map size in MiB.", min=1)
    map_max_mb: int = _field(
        "Largest the map may grow to on MapFullError, in MiB.", min=1, at_least="map_size_mb"
    )
    op_timeout_s: float = _field("Seconds a storage operation may take before it fails.", gt=0)
    history_days: int = _field("Days confirmed sales stay in local history.", min=1)


@dataclass(frozen=True, slots=True)
class DeviceSection:
    """One entry of ``devices``."""

    kind: DeviceKind = _field("What the device is.")
    url: str = _field(
        "Where to reach it: a stable device path or a transport URL.",
        pattern=r"\S+",
        expect="a device path or URL such as 'socket://127.0.0.1:9100'",
    )
    profile: str = _field("Device profile in config/devices/, without .toml; empty: by kind.", "")
    timeout_s: float = _field("Seconds to wait for the device to answer.", 2.0, gt=0)
    enabled: bool = _field("Whether the register uses the device.", True)


@dataclass(frozen=True, slots=True)
class Config:
    """A register's whole configuration, as load_config returns it."""

    register: RegisterSection = _field(
        "Which store and register this is, and where it keeps its data."
    )
    broker: BrokerSection = _field("How to reach the MQTT broker and log in as this register.")
    sync: SyncSection = _field("How sales travel from the outbox to the back office.")
    tax: TaxSection = _field("Taxes, and which of them each tax class of the catalogue pays.")
    cash: CashSection = _field("Cash tender: rounding and the opening float.")
    discounts: DiscountSection = _field("Manual discount limits.")
    receipt: ReceiptSection = _field("Receipt layout.")
    tender: TenderSection = _field("What the tender screen offers.")
    labels: LabelsSection = _field("Product and weighed-item labels.")
    storage: StorageSection = _field("The local LMDB environment.")
    devices: dict[str, DeviceSection] = _field("Attached devices by name, e.g. devices.scale.")


@dataclass(frozen=True, slots=True)
class SchemaEntry:
    """One documented key, for ``appliance config docs``."""

    key: str
    type: str
    default: str
    doc: str


# Said when a key is unknown because it is deliberately absent.
_UNKNOWN_KEY_HINTS = {
    (BrokerSection, "password"): "put the password in a file and name it in broker.password_file",
}


def _defaults_path(given: Path | None) -> Path:
    env = os.environ.get(DEFAULTS_ENV)
    return given if given is not None else Path(env) if env else PACKAGED_DEFAULTS


CONFIG_ENV = "APPLIANCE_CONFIG"
DEFAULT_CONFIG = Path("/etc/appliance/register.toml")


def config_path(given: Path | None) -> Path:
    """Where the register's config is: as given, else $APPLIANCE_CONFIG, else /etc/appliance."""
    return given or Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(register_file: Path, defaults_file: Path | None = None) -> Config:
    """Load ``register_file`` merged over the defaults; raise ConfigError if unusable.

    The defaults are ``defaults_file``, else $APPLIANCE_DEFAULTS, else the packaged file.
    """
    defaults_path = _defaults_path(defaults_file)
    origin: dict[KeyPath, str] = {}
    merged = merge({}, read_toml(defaults_path), str(defaults_path), origin)
    merged = merge(merged, read_toml(register_file), str(register_file), origin)
    validator = Validator(origin, str(register_file), _UNKNOWN_KEY_HINTS)
    config: Config = validator.section(Config, merged, ())
    return config


def _describe(cls: Any, prefix: str, defaults: Any, out: list[SchemaEntry]) -> None:
    hints = get_type_hints(cls)
    for f in fields(cls):
        tp, key = hints[f.name], f"{prefix}{f.name}"
        given = defaults.get(f.name, MISSING) if isinstance(defaults, dict) else MISSING
        if given is MISSING:
            default = "required" if f.default is MISSING else json.dumps(f.default)
        else:
            default = "" if is_dataclass(tp) else json.dumps(given, ensure_ascii=False, default=str)
        out.append(SchemaEntry(key, expected_text(tp, f.metadata), default, f.metadata["doc"]))
        item = get_args(tp)[1] if get_origin(tp) is dict else None
        if is_dataclass(tp):
            _describe(tp, f"{key}.", given, out)
        elif is_dataclass(item):
            _describe(item, f"{key}.<name>.", None, out)


def describe_schema(defaults_file: Path | None = None) -> list[SchemaEntry]:
    """Every key of the schema with its type, its default (or "required") and its doc.

    Fields of named entries show the name as ``<name>``, e.g. ``devices.<name>.url``;
    a section's own entry has an empty default. Defaults come as in load_config.
    """
    out: list[SchemaEntry] = []
    _describe(Config, "", read_toml(_defaults_path(defaults_file)), out)
    return out
