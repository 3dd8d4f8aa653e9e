"""Wire protocol v1: topics and messages between registers and the back office.

Stdlib only; the register and the back office import this same module. Every
message is canonical JSON (sorted keys, no spaces, UTF-8) with `"v": 1`.
`docs/protocol.md` documents each topic with an example.

Topics (`{s}` store id, `{r}` register id):

    pos/v1/{s}/{r}/out/{kind}   register -> back office, QoS 1: an outbox entry (Envelope)
    pos/v1/{s}/{r}/ack          back office -> register, QoS 1: Ack
    pos/v1/{s}/{r}/rpc/req      register -> back office, QoS 1: RpcRequest
    pos/v1/{s}/{r}/rpc/res      back office -> register, QoS 1: RpcResponse
    pos/v1/{s}/catalog/version  back office, retained: Beacon
    pos/v1/{s}/{r}/status       register, retained (the will says offline): Status

The envelope's bytes are built once, when the entry is committed; the outbox
keeps exactly those bytes and they are what is published, so the hash chain
(`domain/chain.py`) covers the bytes the back office receives.

Every decoder checks every field and raises WireError naming the first one
that is wrong, so a malformed message is rejected with a reason, never a crash.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

VERSION = 1
ROOT = "pos/v1"
KINDS = ("sale", "timeclock", "cashdrop", "nosale")
ACK_STATUSES = ("accepted", "duplicate", "rejected")
RPC_METHODS = (
    "price_cart", "customer_search", "balance_check", "changes_since", "refresh"
)  # fmt: skip
RPC_STATUSES = ("ok", "invalid", "unauthorized", "error")
"""ok; invalid and unauthorized are the cashier's to see (4xx-like); error is the
back office's failure (5xx-like), after which the register's local answer stands."""
STATUS_STATES = ("online", "offline")
MAX_PAYLOAD = 256 * 1024
MAX_DEPTH = 32

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class WireError(ValueError):
    """A message that is not valid v1; the text names the field and the problem."""


# --- topics ------------------------------------------------------------------------------


def out_topic(store: str, register: str, kind: str) -> str:
    """Where a register publishes an outbox entry of this kind."""
    return f"{ROOT}/{store}/{register}/out/{kind}"


def ack_topic(store: str, register: str) -> str:
    """Where the back office acks a register's entries."""
    return f"{ROOT}/{store}/{register}/ack"


def rpc_request_topic(store: str, register: str) -> str:
    """Where a register sends requests."""
    return f"{ROOT}/{store}/{register}/rpc/req"


def rpc_response_topic(store: str, register: str) -> str:
    """Where a register hears answers (the MQTT 5 response topic of its requests)."""
    return f"{ROOT}/{store}/{register}/rpc/res"


def beacon_topic(store: str) -> str:
    """The retained catalogue version beacon of a store."""
    return f"{ROOT}/{store}/catalog/version"


def status_topic(store: str, register: str) -> str:
    """A register's retained presence (its will sets it offline)."""
    return f"{ROOT}/{store}/{register}/status"


OUT_FILTER = f"{ROOT}/+/+/out/#"
RPC_FILTER = f"{ROOT}/+/+/rpc/req"
STATUS_FILTER = f"{ROOT}/+/+/status"


@dataclass(frozen=True, slots=True)
class Topic:
    """What a topic names: the store, the register, the channel and, for out, the kind."""

    store: str
    register: str
    channel: str
    kind: str = ""


def parse_topic(topic: str) -> Topic:
    """Split a register topic; WireError for anything that is not one of ours."""
    parts = topic.split("/")
    if len(parts) < 5 or "/".join(parts[:2]) != ROOT:
        raise WireError(f"topic: not a {ROOT} register topic: {topic[:80]!r}")
    store, register, channel, rest = parts[2], parts[3], parts[4], parts[5:]
    for name, value in (("store", store), ("register", register)):
        if not ID_PATTERN.fullmatch(value):
            raise WireError(f"topic: malformed {name} {value[:40]!r}")
    if channel == "out" and len(rest) == 1 and rest[0] in KINDS:
        return Topic(store, register, "out", rest[0])
    if channel in ("ack", "status") and not rest:
        return Topic(store, register, channel)
    if channel == "rpc" and rest in (["req"], ["res"]):
        return Topic(store, register, f"rpc/{rest[0]}")
    raise WireError(f"topic: unknown channel {'/'.join(parts[4:])[:40]!r}")


# --- canonical JSON and checked fields -----------------------------------------------------


def canonical(data: Any) -> bytes:
    """Canonical JSON bytes (the same rules as the domain's codec)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _depth(value: Any, limit: int) -> int:
    """How deep containers nest in `value`, counted level by level (stops past `limit`)."""
    level, containers = 0, [value] if isinstance(value, dict | list) else []
    while containers and level <= limit:
        level += 1
        inner = []
        for item in containers:
            for child in item.values() if isinstance(item, dict) else item:
                if isinstance(child, dict | list):
                    inner.append(child)
        containers = inner
    return max(level, 1)


def _not_a_number(text: str) -> float:
    raise ValueError(f"{text} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def _json(raw: bytes, what: str) -> Any:
    """`raw` as strict JSON: UTF-8, finite numbers, and no half of a surrogate pair, so
    whatever decodes can be encoded again (the register's cache, the back office's store)."""
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_not_a_number, parse_float=_finite)
    except (ValueError, RecursionError) as exc:  # also int()'s digit limit and bad UTF-8
        raise WireError(f"{what}: not JSON ({str(exc)[:80]})") from None
    if _SURROGATE_ESCAPE.search(raw):
        try:
            canonical(data)
        except UnicodeEncodeError:
            raise WireError(f"{what}: not JSON (a \\u escape of half a surrogate pair)") from None
        except RecursionError:
            raise WireError(f"{what}: nested too deeply") from None
    return data


def _load(raw: bytes, what: str) -> dict[str, Any]:
    if len(raw) > MAX_PAYLOAD:
        raise WireError(f"{what}: {len(raw)} bytes is over the {MAX_PAYLOAD} limit")
    data = _json(raw, what)
    if not isinstance(data, dict):
        raise WireError(f"{what}: expected an object")
    # nesting never goes deeper than the brackets there are: a sale (a dozen) needs no walk
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH and _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise WireError(f"{what}: nested deeper than {MAX_DEPTH}")
    if type(data.get("v")) is not int or data["v"] != VERSION:  # true and 1.0 are not 1
        raise WireError(f"v: unknown protocol version {str(data.get('v'))[:20]!r}")
    return data


def _only(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed - {"v"})
    if unknown:
        raise WireError(f"{unknown[0][:40]}: unknown field")


def _field(
    data: dict[str, Any],
    name: str,
    kind: type,
    pattern: re.Pattern[str] | None = None,
    choices: tuple[str, ...] = (),
    required: bool = True,
) -> Any:
    if name not in data:
        if required:
            raise WireError(f"{name}: missing")
        return None
    value = data[name]
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise WireError(f"{name}: expected {kind.__name__}, got {type(value).__name__}")
    if pattern is not None and not (isinstance(value, str) and pattern.fullmatch(value)):
        raise WireError(f"{name}: malformed value {str(value)[:40]!r}")
    if choices and value not in choices:
        raise WireError(f"{name}: expected one of {', '.join(choices)}, got {str(value)[:40]!r}")
    return value


_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?")


def is_iso_time(value: str) -> bool:
    """True for an ISO 8601 date and time (offset optional), in the extended form only:
    never free text, and never more than 10 digits in a row for a card number to hide in."""
    if not _ISO_TIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:  # a 13th month, a 25th hour
        return False
    return True


def _time(data: dict[str, Any], name: str, *, empty: bool = False) -> str:
    value: str = _field(data, name, str)
    if not (is_iso_time(value) or (empty and value == "")):
        raise WireError(f"{name}: expected an ISO 8601 time, got {value[:40]!r}")
    return value


def _positive(data: dict[str, Any], name: str) -> int:
    value: int = _field(data, name, int)
    if value < 1:
        raise WireError(f"{name}: must be 1 or more, got {value}")
    return value


# --- the outbox envelope ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Envelope:
    """One outbox entry on the wire."""

    id: str
    kind: str
    store: str
    register: str
    seq: int
    prev: str
    at: str
    body: dict[str, Any]


def encode_envelope(envelope: Envelope) -> bytes:
    """The envelope's canonical bytes."""
    return canonical(
        {
            "v": VERSION,
            "id": envelope.id,
            "kind": envelope.kind,
            "store": envelope.store,
            "register": envelope.register,
            "seq": envelope.seq,
            "prev": envelope.prev,
            "at": envelope.at,
            "body": envelope.body,
        }
    )


def decode_envelope(raw: bytes) -> Envelope:
    """Parse and check an envelope, or raise WireError naming what is wrong."""
    data = _load(raw, "payload")
    _only(data, {"id", "kind", "store", "register", "seq", "prev", "at", "body"})
    return Envelope(
        id=_field(data, "id", str, _UUID),
        kind=_field(data, "kind", str, choices=KINDS),
        store=_field(data, "store", str, ID_PATTERN),
        register=_field(data, "register", str, ID_PATTERN),
        seq=_positive(data, "seq"),
        prev=_field(data, "prev", str, _HEX64),
        at=_time(data, "at"),
        body=_field(data, "body", dict),
    )


def check_identity(topic: Topic, envelope: Envelope) -> None:
    """The topic's store, register and kind must be the payload's: a register writes as itself."""
    for name, said, sent in (
        ("store", topic.store, envelope.store),
        ("register", topic.register, envelope.register),
        ("kind", topic.kind, envelope.kind),
    ):
        if said != sent:
            raise WireError(f"{name}: payload says {sent!r} but the topic says {said!r}")


# --- acks ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ack:
    """The back office's answer to one entry, sent after its database commit.

    `server` carries what the back office derived (e.g. its total and the drift
    it recorded); it is informational: a register never rewrites a sale.
    """

    id: str
    seq: int
    status: str
    reason: str = ""
    server: dict[str, Any] = field(default_factory=dict)


def encode_ack(ack: Ack) -> bytes:
    """The ack's canonical bytes."""
    data: dict[str, Any] = {"v": VERSION, "id": ack.id, "seq": ack.seq, "status": ack.status}
    if ack.reason:
        data["reason"] = ack.reason
    if ack.server:
        data["server"] = ack.server
    return canonical(data)


def decode_ack(raw: bytes) -> Ack:
    """Parse and check an ack."""
    data = _load(raw, "ack")
    _only(data, {"id", "seq", "status", "reason", "server"})
    status = _field(data, "status", str, choices=ACK_STATUSES)
    reason = _field(data, "reason", str, required=False) or ""
    if status == "rejected" and not reason:
        raise WireError("reason: a rejection must say why")
    return Ack(
        id=_field(data, "id", str, _UUID),
        seq=_positive(data, "seq"),
        status=status,
        reason=reason,
        server=_field(data, "server", dict, required=False) or {},
    )


# --- request / response -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RpcRequest:
    """A question to the back office; the MQTT 5 correlation data pairs the answer."""

    method: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RpcResponse:
    """The back office's answer: a result, or a status and an error for the cashier."""

    status: str
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def for_the_cashier(self) -> bool:
        """A refusal the cashier must see (invalid, unauthorized), not a failure to fall back on."""
        return self.status in ("invalid", "unauthorized")


def encode_request(request: RpcRequest) -> bytes:
    """The request's canonical bytes."""
    return canonical({"v": VERSION, "method": request.method, "params": request.params})


def decode_request(raw: bytes) -> RpcRequest:
    """Parse and check a request."""
    data = _load(raw, "request")
    _only(data, {"method", "params"})
    return RpcRequest(
        method=_field(data, "method", str, choices=RPC_METHODS),
        params=_field(data, "params", dict),
    )


def encode_response(response: RpcResponse) -> bytes:
    """The response's canonical bytes."""
    data: dict[str, Any] = {"v": VERSION, "status": response.status}
    if response.result:
        data["result"] = response.result
    if response.error:
        data["error"] = response.error
    return canonical(data)


def decode_response(raw: bytes) -> RpcResponse:
    """Parse and check a response."""
    data = _load(raw, "response")
    _only(data, {"status", "result", "error"})
    status = _field(data, "status", str, choices=RPC_STATUSES)
    error = _field(data, "error", str, required=False) or ""
    if status != "ok" and not error:
        raise WireError("error: a failed request must say why")
    return RpcResponse(status, _field(data, "result", dict, required=False) or {}, error)


# --- answers in parts -----------------------------------------------------------------------
#
# An answer too big for one response (a whole catalogue, every customer) is sent in
# parts. The first response to a request says how many parts there are and the digest
# of the whole; the register asks for each next part with the same params plus
# {"part": i, "digest": d}. The back office keeps no state: it computes the answer
# again for every part, and if it is no longer the same (the digest moved) it says so,
# and the register starts again later. Parts are base64 of the answer's canonical
# bytes, so their size is known whatever the text holds.

PART_BYTES = 160 * 1024
"""Bytes of the answer per part; base64 makes it 4/3 of this, under MAX_PAYLOAD."""
PART_PARAMS = ("part", "digest")


@dataclass(frozen=True, slots=True)
class Part:
    """One part of an answer sent in parts."""

    index: int
    count: int
    digest: str
    data: bytes


def split_answer(result: dict[str, Any]) -> list[Part]:
    """The result's canonical bytes cut into parts of PART_BYTES."""
    raw = canonical(result)
    digest = hashlib.sha256(raw).hexdigest()
    pieces = [raw[i : i + PART_BYTES] for i in range(0, len(raw), PART_BYTES)] or [b""]
    return [Part(i, len(pieces), digest, piece) for i, piece in enumerate(pieces)]


def part_result(part: Part) -> dict[str, Any]:
    """A part as a response's result."""
    return {"part": part.index, "parts": part.count, "digest": part.digest,
            "data": base64.b64encode(part.data).decode("ascii")}  # fmt: skip


def read_part(result: dict[str, Any]) -> Part | None:
    """The part a response's result holds, or None for a whole answer."""
    if "parts" not in result:
        return None
    _only(result, {"part", "parts", "digest", "data"})
    count = _positive(result, "parts")
    index: int = _field(result, "part", int)
    if not 0 <= index < count:
        raise WireError(f"part: {index} is not one of {count} parts")
    digest: str = _field(result, "digest", str, pattern=_HEX64)
    try:
        data = base64.b64decode(_field(result, "data", str), validate=True)
    except ValueError:  # binascii.Error, or a character that is not ASCII
        raise WireError("data: not base64") from None
    return Part(index, count, digest, data)


def join_parts(parts: list[Part]) -> dict[str, Any]:
    """The whole answer from all its parts, checked against its digest."""
    # Never list(range(count)): a count of 10**9 in a lone last part would fill the memory.
    if len(parts) != (parts[0].count if parts else -1) or any(
        p.index != i for i, p in enumerate(parts)
    ):
        raise WireError("parts: missing or out of order")
    raw = b"".join(p.data for p in parts)
    if hashlib.sha256(raw).hexdigest() != parts[0].digest or any(
        p.digest != parts[0].digest for p in parts
    ):
        raise WireError("parts: the joined answer does not match its digest")
    data = _json(raw, "parts")
    if not isinstance(data, dict):
        raise WireError("parts: expected an object")
    return data


def part_request(params: dict[str, Any]) -> tuple[dict[str, Any], int, str | None]:
    """Split a request's params into the method's own, the part asked for and its digest."""
    own = {k: v for k, v in params.items() if k not in PART_PARAMS}
    index = _field(params, "part", int, required=False) or 0
    digest = _field(params, "digest", str, pattern=_HEX64, required=False)
    if index < 0:
        raise WireError(f"part: must be 0 or more, got {index}")
    if index > 0 and digest is None:
        raise WireError("part: a part after the first needs the answer's digest")
    return own, index, digest


# --- beacon and presence --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Beacon:
    """The latest catalogue/settings change version of a store (retained)."""

    version: int
    at: str


def encode_beacon(beacon: Beacon) -> bytes:
    """The beacon's canonical bytes."""
    return canonical({"v": VERSION, "version": beacon.version, "at": beacon.at})


def decode_beacon(raw: bytes) -> Beacon:
    """Parse and check a beacon."""
    data = _load(raw, "beacon")
    _only(data, {"version", "at"})
    version: int = _field(data, "version", int)
    if version < 0:
        raise WireError(f"version: must not be negative, got {version}")
    return Beacon(version, _time(data, "at"))


@dataclass(frozen=True, slots=True)
class Status:
    """A register's presence: online with its pending count, or offline (the will).

    `oldest_unsent_s`: how long, at `at`, the oldest unsent entry had waited (seconds, on
    the register's clock); absent when nothing is unsent or the register could not tell.
    """

    state: str
    pending: int
    at: str
    oldest_unsent_s: int | None = None


def encode_status(status: Status) -> bytes:
    """The status's canonical bytes."""
    data: dict[str, Any] = {"v": VERSION, "state": status.state, "pending": status.pending,
                            "at": status.at}  # fmt: skip
    if status.oldest_unsent_s is not None:
        data["oldest_unsent_s"] = status.oldest_unsent_s
    return canonical(data)


def decode_status(raw: bytes) -> Status:
    """Parse and check a status."""
    data = _load(raw, "status")
    _only(data, {"state", "pending", "at", "oldest_unsent_s"})
    pending: int = _field(data, "pending", int)
    if pending < 0:
        raise WireError(f"pending: must not be negative, got {pending}")
    oldest = None
    if "oldest_unsent_s" in data:
        oldest = _field(data, "oldest_unsent_s", int)
        if oldest < 0:
            raise WireError(f"oldest_unsent_s: must not be negative, got {oldest}")
    return Status(
        _field(data, "state", str, choices=STATUS_STATES),
        pending,
        _time(data, "at", empty=True),
        oldest,
    )
