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

import re
from dataclasses import dataclass, field
from typing import Any

from appliance.sync.fields import HEX64, checked, iso_time, load_object, only, positive
from appliance.sync.fields import MAX_DEPTH as MAX_DEPTH
from appliance.sync.fields import MAX_PAYLOAD as MAX_PAYLOAD
from appliance.sync.fields import WireError as WireError
from appliance.sync.fields import canonical as canonical
from appliance.sync.fields import is_iso_time as is_iso_time

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

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _load(raw: bytes, what: str) -> dict[str, Any]:
    """`raw` as a v1 message: a strict JSON object (`fields.load_object`) with `"v": 1`."""
    data = load_object(raw, what)
    if type(data.get("v")) is not int or data["v"] != VERSION:  # true and 1.0 are not 1
        raise WireError(f"v: unknown protocol version {str(data.get('v'))[:20]!r}")
    return data


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
    only(data, {"id", "kind", "store", "register", "seq", "prev", "at", "body"})
    return Envelope(
        id=checked(data, "id", str, _UUID),
        kind=checked(data, "kind", str, choices=KINDS),
        store=checked(data, "store", str, ID_PATTERN),
        register=checked(data, "register", str, ID_PATTERN),
        seq=positive(data, "seq"),
        prev=checked(data, "prev", str, HEX64),
        at=iso_time(data, "at"),
        body=checked(data, "body", dict),
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
    only(data, {"id", "seq", "status", "reason", "server"})
    status = checked(data, "status", str, choices=ACK_STATUSES)
    reason = checked(data, "reason", str, required=False) or ""
    if status == "rejected" and not reason:
        raise WireError("reason: a rejection must say why")
    return Ack(
        id=checked(data, "id", str, _UUID),
        seq=positive(data, "seq"),
        status=status,
        reason=reason,
        server=checked(data, "server", dict, required=False) or {},
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
    only(data, {"method", "params"})
    return RpcRequest(
        method=checked(data, "method", str, choices=RPC_METHODS),
        params=checked(data, "params", dict),
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
    only(data, {"status", "result", "error"})
    status = checked(data, "status", str, choices=RPC_STATUSES)
    error = checked(data, "error", str, required=False) or ""
    if status != "ok" and not error:
        raise WireError("error: a failed request must say why")
    return RpcResponse(status, checked(data, "result", dict, required=False) or {}, error)


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
    only(data, {"version", "at"})
    version: int = checked(data, "version", int)
    if version < 0:
        raise WireError(f"version: must not be negative, got {version}")
    return Beacon(version, iso_time(data, "at"))


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
    only(data, {"state", "pending", "at", "oldest_unsent_s"})
    pending: int = checked(data, "pending", int)
    if pending < 0:
        raise WireError(f"pending: must not be negative, got {pending}")
    oldest = None
    if "oldest_unsent_s" in data:
        oldest = checked(data, "oldest_unsent_s", int)
        if oldest < 0:
            raise WireError(f"oldest_unsent_s: must not be negative, got {oldest}")
    return Status(
        checked(data, "state", str, choices=STATUS_STATES),
        pending,
        iso_time(data, "at", empty=True),
        oldest,
    )
