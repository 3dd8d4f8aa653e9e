"""Wire protocol v1: the envelope every outbox entry travels in (stdlib only).

Shared by the register and the back office. The register builds the envelope
bytes once, when the entry is committed; the outbox keeps exactly those bytes
and they are what is published, so the hash chain (`domain/chain.py`) covers the
bytes the back office receives. Field by field:

    {"v": 1, "id": UUIDv7, "kind": "sale"|"timeclock"|"cashdrop"|"nosale",
     "store": s, "register": r, "seq": n, "prev": sha256 hex, "at": ISO 8601,
     "body": {...the record...}}

Canonical JSON (sorted keys, no spaces, UTF-8). `decode_envelope` checks every
field and names the first one that is wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

VERSION = 1
KINDS = ("sale", "timeclock", "cashdrop", "nosale")
MAX_PAYLOAD = 256 * 1024
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class WireError(ValueError):
    """A message that is not a valid v1 envelope; the text names the field."""


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


def canonical(data: Any) -> bytes:
    """Canonical JSON bytes (the same rules as the domain's codec)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


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


def _field(data: dict[str, Any], name: str, kind: type, pattern: re.Pattern[str] | None) -> Any:
    if name not in data:
        raise WireError(f"{name}: missing")
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise WireError(f"{name}: expected {kind.__name__}, got {type(value).__name__}")
    if pattern is not None and not (isinstance(value, str) and pattern.fullmatch(value)):
        raise WireError(f"{name}: malformed value {str(value)[:40]!r}")
    return value


def decode_envelope(raw: bytes) -> Envelope:
    """Parse and check an envelope, or raise WireError naming what is wrong."""
    if len(raw) > MAX_PAYLOAD:
        raise WireError(f"payload: {len(raw)} bytes is over the {MAX_PAYLOAD} limit")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WireError(f"payload: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise WireError("payload: expected an object")
    if data.get("v") != VERSION:
        raise WireError(f"v: unknown protocol version {data.get('v')!r}")
    unknown = sorted(set(data) - {"v", "id", "kind", "store", "register", "seq", "prev", "at",
                                  "body"})  # fmt: skip
    if unknown:
        raise WireError(f"{unknown[0]}: unknown field")
    kind = _field(data, "kind", str, None)
    if kind not in KINDS:
        raise WireError(f"kind: unknown kind {kind[:40]!r}")
    seq = _field(data, "seq", int, None)
    if seq < 1:
        raise WireError(f"seq: must be 1 or more, got {seq}")
    return Envelope(
        id=_field(data, "id", str, _UUID),
        kind=kind,
        store=_field(data, "store", str, _ID),
        register=_field(data, "register", str, _ID),
        seq=seq,
        prev=_field(data, "prev", str, _HEX64),
        at=_field(data, "at", str, None),
        body=_field(data, "body", dict, None),
    )
