"""Answers in parts, for an RPC answer too big for one response (a whole catalogue,
every customer).

The first response to a request says how many parts there are and the digest of the
whole; the register asks for each next part with the same params plus
{"part": i, "digest": d}. The back office keeps no state: it computes the answer again
for every part, and if it is no longer the same (the digest moved) it says so, and the
register starts again later. Parts are base64 of the answer's canonical bytes, so their
size is known whatever the text holds.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from appliance.sync.fields import HEX64, WireError, canonical, checked, only, positive, strict_json

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
    only(result, {"part", "parts", "digest", "data"})
    count = positive(result, "parts")
    index: int = checked(result, "part", int)
    if not 0 <= index < count:
        raise WireError(f"part: {index} is not one of {count} parts")
    digest: str = checked(result, "digest", str, pattern=HEX64)
    try:
        data = base64.b64decode(checked(result, "data", str), validate=True)
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
    data = strict_json(raw, "parts")
    if not isinstance(data, dict):
        raise WireError("parts: expected an object")
    return data


def part_request(params: dict[str, Any]) -> tuple[dict[str, Any], int, str | None]:
    """Split a request's params into the method's own, the part asked for and its digest."""
    own = {k: v for k, v in params.items() if k not in PART_PARAMS}
    index = checked(params, "part", int, required=False) or 0
    digest = checked(params, "digest", str, pattern=HEX64, required=False)
    if index < 0:
        raise WireError(f"part: must be 0 or more, got {index}")
    if index > 0 and digest is None:
        raise WireError("part: a part after the first needs the answer's digest")
    return own, index, digest
