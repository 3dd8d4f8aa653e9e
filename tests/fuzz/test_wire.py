"""The wire decoders (appliance/sync/wire.py): every input decodes or raises WireError.

Valid messages of every kind round-trip; mutated ones (bytes flipped, cut, spliced; a
field's value swapped for another JSON type, a 5,000-digit number, NaN, 1e400, a lone
surrogate, deep nesting) either decode to something that encodes and decodes back the
same, or raise WireError whose message names the field ("seq: expected int, got str").
`tests/sync/test_wire.py` holds the hand-written cases and random-bytes junk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.sync import wire
from appliance.sync.parts import (
    Part,
    join_parts,
    part_request,
    part_result,
    read_part,
    split_answer,
)
from appliance.sync.wire import (
    Ack,
    Beacon,
    Envelope,
    RpcRequest,
    RpcResponse,
    Status,
    WireError,
)
from tests.fuzz.mutate import (
    HUGE_INT,
    check_message,
    fuzz,
    json_bytes,
    mutated_bytes,
    mutated_doc,
    plain_values,
    text_values,
)

Message = Envelope | Ack | RpcRequest | RpcResponse | Beacon | Status

ids = st.uuids().map(str)
names = st.from_regex(wire.ID_PATTERN, fullmatch=True)
hex64 = st.binary(min_size=32, max_size=32).map(bytes.hex)
texts = st.text(max_size=30)
zones = st.sampled_from([None, UTC, timezone(timedelta(hours=-5, minutes=-30))])
times = st.datetimes(timezones=zones).map(datetime.isoformat)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | texts
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_objects = st.dictionaries(
    texts,
    st.recursive(
        json_scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
        max_leaves=12,
    ),
    max_size=5,
)

envelopes = st.builds(Envelope, ids, st.sampled_from(wire.KINDS), names, names,
                      st.integers(1, 2**62), hex64, times, json_objects)  # fmt: skip
acks = st.sampled_from(wire.ACK_STATUSES).flatmap(
    lambda status: st.builds(
        Ack, ids, st.integers(1, 2**62), st.just(status),
        texts.filter(bool) if status == "rejected" else texts, json_objects,
    )
)  # fmt: skip
requests = st.builds(RpcRequest, st.sampled_from(wire.RPC_METHODS), json_objects)
responses = st.sampled_from(wire.RPC_STATUSES).flatmap(
    lambda status: st.builds(
        RpcResponse, st.just(status), json_objects, texts if status == "ok" else texts.filter(bool)
    )
)
beacons = st.builds(Beacon, st.integers(0, 2**62), times)
statuses = st.builds(Status, st.sampled_from(wire.STATUS_STATES), st.integers(0, 2**62),
                     times | st.just(""))  # fmt: skip

Codec = tuple[Callable[[Any], bytes], Callable[[bytes], Any], st.SearchStrategy[Any]]
CODECS: dict[str, Codec] = {
    "envelope": (wire.encode_envelope, wire.decode_envelope, envelopes),
    "ack": (wire.encode_ack, wire.decode_ack, acks),
    "request": (wire.encode_request, wire.decode_request, requests),
    "response": (wire.encode_response, wire.decode_response, responses),
    "beacon": (wire.encode_beacon, wire.decode_beacon, beacons),
    "status": (wire.encode_status, wire.decode_status, statuses),
}
FIELDS = sorted({"v", "id", "kind", "store", "register", "seq", "prev", "at", "body", "status",
                 "reason", "server", "method", "params", "result", "error", "version", "state",
                 "pending"})  # fmt: skip
JSON_TOKENS = [b'"', b"\\", b"\\u", b"\\ud800", b"{", b"}", b"[", b"]", b":", b",", b"NaN",
               b"Infinity", b"-Infinity", b"1e400", b"null", b"true", b'"v":', b"9" * 5000,
               b"[" * 2000]  # fmt: skip


def decodes_or_names_the_field(name: str, raw: bytes) -> Message | None:
    """Decode `raw` as a `name`: the message, or None after checking the WireError's text.

    Whatever decodes must encode again (no NaN, no lone surrogate, nothing canonical
    JSON cannot hold) and decode back to itself: the back office and the register's
    cache keep what they decoded.
    """
    encode, decode, _ = CODECS[name]
    try:
        message: Message = decode(raw)
    except WireError as exc:
        text = check_message(exc)
        assert ": " in text, f"{text!r} does not name a field"
        return None
    again = encode(message)
    assert decode(again) == message
    assert encode(decode(again)) == again
    return message


@fuzz(40)
@given(st.data())
@pytest.mark.parametrize("name", sorted(CODECS))
def test_every_message_round_trips(name: str, data: st.DataObject) -> None:
    encode, decode, messages = CODECS[name]
    message = data.draw(messages)
    raw = encode(message)
    assert decode(raw) == message
    assert raw == wire.canonical(json.loads(raw))  # what is sent is canonical


@fuzz(150)
@given(st.data())
@pytest.mark.parametrize("name", sorted(CODECS))
def test_mutated_bytes_decode_or_name_the_field(name: str, data: st.DataObject) -> None:
    encode, _, messages = CODECS[name]
    raw = data.draw(mutated_bytes(messages.map(encode), tokens=JSON_TOKENS, max_len=20_000))
    decodes_or_names_the_field(name, raw)


@fuzz(180)
@given(st.data())
@pytest.mark.parametrize("name", sorted(CODECS))
def test_mutated_fields_decode_or_name_the_field(name: str, data: st.DataObject) -> None:
    encode, _, messages = CODECS[name]
    doc = json.loads(encode(data.draw(messages)))
    mutated = data.draw(mutated_doc(doc, values=text_values, keys=FIELDS))
    raw = json_bytes(mutated, ascii_only=data.draw(st.booleans()))
    decodes_or_names_the_field(name, raw)


def _message(**fields: Any) -> dict[str, Any]:
    base = {"v": 1, "id": "01a21000-0000-7000-8000-000000000001", "kind": "sale",
            "store": "s1", "register": "r1", "seq": 3, "prev": "a" * 64, "at": "x",
            "body": {}, "status": "accepted", "method": "refresh", "params": {},
            "version": 1, "state": "online", "pending": 0}  # fmt: skip
    return {**base, **fields}


FOUND = [
    # What fuzzing found: each crashed a decoder, or decoded into something that could
    # not be encoded again, before the fix in wire.py.
    json_bytes(_message(seq=HUGE_INT)),  # ValueError: exceeds the limit (4300 digits)
    json_bytes(_message(body={"n": HUGE_INT})),
    json_bytes(_message(body={"x": float("nan")})),  # NaN is not JSON: re-encoding made it
    json_bytes(_message(body={"x": float("inf")})),
    b'{"v":1,"body":{"x":1e400},"id":"01a21000-0000-7000-8000-000000000001"}',  # inf again
    json_bytes(_message(at="\ud800")),  # a lone surrogate: UnicodeEncodeError re-encoding it
    json_bytes(_message(body={"name": "\udfff"}), ascii_only=True),
    json_bytes(_message(v=True)),  # true is not version 1
    json_bytes(_message(v=1.0)),
    b'{"v":1,"seq":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    json.dumps(_message(body={"deep": "x"})).encode().replace(b'"x"', b"[" * 40 + b"]" * 40),
]


@pytest.mark.parametrize("raw", FOUND)
@pytest.mark.parametrize("name", sorted(CODECS))
def test_what_fuzzing_found_is_refused_by_name(name: str, raw: bytes) -> None:
    assert decodes_or_names_the_field(name, raw) is None


@fuzz(150)
@given(st.data())
def test_answers_in_parts_read_or_name_what_is_wrong(data: st.DataObject) -> None:
    result = data.draw(json_objects)
    parts = split_answer(result)
    assert join_parts([read_part(part_result(p)) or p for p in parts]) == result
    shown = data.draw(mutated_doc(part_result(parts[0]), values=plain_values,
                                  keys=["part", "parts", "digest", "data"]))  # fmt: skip
    try:
        part = read_part(shown) if isinstance(shown, dict) else None
    except WireError as exc:
        check_message(exc)
        return
    if part is not None:
        try:
            join_parts([part])
        except WireError as exc:
            check_message(exc, starts="parts: ")


@fuzz(150)
@given(st.data())
def test_joined_parts_of_mutated_bytes_are_checked(data: st.DataObject) -> None:
    raw = data.draw(mutated_bytes(wire.canonical(data.draw(json_objects)), tokens=JSON_TOKENS))
    part = Part(0, 1, hashlib.sha256(raw).hexdigest(), raw)  # a digest that matches
    try:
        assert isinstance(join_parts([part]), dict)
    except WireError as exc:
        check_message(exc, starts="parts: ")


@fuzz(150)
@given(st.data())
def test_part_requests_read_or_name_what_is_wrong(data: st.DataObject) -> None:
    params = {"since": 4, "part": 2, "digest": "b" * 64}
    mutated = data.draw(mutated_doc(params, values=plain_values, keys=["part", "digest"]))
    try:
        own, index, digest = part_request(mutated)
    except WireError as exc:
        check_message(exc, starts=("part: ", "digest: "))
        return
    assert index >= 0 and (index == 0 or digest is not None)
    assert "part" not in own and "digest" not in own


TOPICS = [wire.out_topic("s1", "r-2", "sale"), wire.ack_topic("s1", "r1"),
          wire.rpc_request_topic("s1", "r1"), wire.rpc_response_topic("s1", "r1"),
          wire.status_topic("s1", "r1"), wire.beacon_topic("s1")]  # fmt: skip


@fuzz(180)
@given(st.sampled_from(TOPICS).flatmap(
    lambda t: mutated_bytes(t.encode(), tokens=[b"/", b"+", b"#", b"out", b"rpc", b"..", b""])
))  # fmt: skip
def test_mutated_topics_parse_or_name_what_is_wrong(raw: bytes) -> None:
    topic = raw.decode("utf-8", "replace")
    try:
        parsed = wire.parse_topic(topic)
    except WireError as exc:
        check_message(exc, starts="topic: ")
        return
    assert wire.ID_PATTERN.fullmatch(parsed.store) and wire.ID_PATTERN.fullmatch(parsed.register)


def test_a_lone_last_part_with_a_huge_count_is_refused_without_counting_to_it() -> None:
    # Found by fuzzing: join_parts built list(range(count)) and a count of 10**9 in the
    # only part received (the register joins when index + 1 == count) filled the memory.
    digest = hashlib.sha256(b"{}").hexdigest()
    for count in (10**9, 2**63, 10**30):
        result = {"part": count - 1, "parts": count, "digest": digest, "data": "e30="}
        part = read_part(result)
        assert part is not None
        with pytest.raises(WireError, match="parts: missing or out of order"):
            join_parts([part])


def test_a_part_whose_data_is_not_ascii_is_not_base64() -> None:
    # Found by fuzzing: base64 raised a bare ValueError for a non-ASCII character.
    digest = hashlib.sha256(b"").hexdigest()
    with pytest.raises(WireError, match="data: not base64"):
        read_part({"part": 0, "parts": 1, "digest": digest, "data": "é" * 4})
