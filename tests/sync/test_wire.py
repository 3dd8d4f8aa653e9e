"""Wire protocol v1: every message round-trips, every malformed one is named, junk never crashes."""

from __future__ import annotations

import contextlib
import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.sync import wire
from appliance.sync.parts import (
    PART_BYTES,
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
    Topic,
    WireError,
)

ID = "01a21000-0000-7000-8000-000000000001"
DEEP: list[object] = [1]
for _ in range(40):
    DEEP = [DEEP]
ENVELOPE = Envelope(ID, "sale", "s1", "r1", 3, "a" * 64, "2026-11-25T09:00:00", {"total": 5})


def test_topics_name_store_register_and_kind() -> None:
    assert wire.out_topic("s1", "r1", "sale") == "pos/v1/s1/r1/out/sale"
    assert wire.parse_topic("pos/v1/s1/r1/out/sale") == Topic("s1", "r1", "out", "sale")
    assert wire.parse_topic(wire.ack_topic("s1", "r1")) == Topic("s1", "r1", "ack")
    assert wire.parse_topic(wire.status_topic("s1", "r1")).channel == "status"
    assert wire.parse_topic(wire.rpc_request_topic("s1", "r1")).channel == "rpc/req"
    assert wire.parse_topic(wire.rpc_response_topic("s1", "r1")).channel == "rpc/res"
    assert wire.beacon_topic("s1") == "pos/v1/s1/catalog/version"


@pytest.mark.parametrize(
    "topic, message",
    [
        ("pos/v2/s1/r1/ack", "not a pos/v1 register topic"),
        ("pos/v1/s1", "not a pos/v1 register topic"),
        ("pos/v1/S1/r1/ack", "malformed store 'S1'"),
        ("pos/v1/s1/r+/ack", "malformed register"),
        ("pos/v1/s1/r1/out/refund", "unknown channel 'out/refund'"),
        ("pos/v1/s1/r1/ack/extra", "unknown channel"),
        ("pos/v1/s1/r1/rpc/other", "unknown channel"),
    ],
)
def test_foreign_topics_are_named(topic: str, message: str) -> None:
    with pytest.raises(WireError, match=message):
        wire.parse_topic(topic)


def test_envelope_round_trip_and_identity() -> None:
    raw = wire.encode_envelope(ENVELOPE)
    assert wire.decode_envelope(raw) == ENVELOPE
    assert raw == wire.canonical(json.loads(raw))
    wire.check_identity(Topic("s1", "r1", "out", "sale"), ENVELOPE)
    with pytest.raises(WireError, match="register: payload says 'r1' but the topic says 'r2'"):
        wire.check_identity(Topic("s1", "r2", "out", "sale"), ENVELOPE)
    with pytest.raises(WireError, match="store: payload says 's1'"):
        wire.check_identity(Topic("s9", "r1", "out", "sale"), ENVELOPE)
    with pytest.raises(WireError, match="kind: payload says 'sale'"):
        wire.check_identity(Topic("s1", "r1", "out", "cashdrop"), ENVELOPE)


def _mutated(**changes: object) -> bytes:
    data = json.loads(wire.encode_envelope(ENVELOPE))
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"\xff\xfe", "payload: not JSON"),
        (b"[1, 2]", "payload: expected an object"),
        (b"x" * (wire.MAX_PAYLOAD + 1), "over the 262144 limit"),
        (b"{" * 5000 + b"}" * 5000, "payload: not JSON|nested deeper"),
        (json.dumps({"v": 1, "a": DEEP}).encode(), "nested deeper than 32"),
        (_mutated(v=2), "v: unknown protocol version '2'"),
        (_mutated(id="nope"), "id: malformed value 'nope'"),
        (_mutated(id=None), "id: missing"),
        (_mutated(kind="refund"), "kind: expected one of sale, timeclock"),
        (_mutated(seq=0), "seq: must be 1 or more"),
        (_mutated(seq=True), "seq: expected int, got bool"),
        (_mutated(seq="3"), "seq: expected int, got str"),
        (_mutated(prev="abc"), "prev: malformed"),
        (_mutated(store="../x"), "store: malformed"),
        (_mutated(body=[]), "body: expected dict"),
        (_mutated(extra=1), "extra: unknown field"),
        # the time is a time, never free text a card number could hide in
        (_mutated(at="4111111111111111"), "at: expected an ISO 8601 time"),
        (_mutated(at="20261125T090000"), "at: expected an ISO 8601 time"),  # basic form
        (_mutated(at="2026-13-25T09:00:00"), "at: expected an ISO 8601 time"),  # 13th month
        (_mutated(at="2026-11-25"), "at: expected an ISO 8601 time"),  # no time of day
        (_mutated(at=""), "at: expected an ISO 8601 time, got ''"),
        (_mutated(at=7), "at: expected str, got int"),
    ],
)  # fmt: skip
def test_malformed_envelopes_are_named(raw: bytes, message: str) -> None:
    with pytest.raises(WireError, match=message):
        wire.decode_envelope(raw)


def test_acks() -> None:
    for ack in (Ack(ID, 3, "accepted", server={"total": 500}), Ack(ID, 3, "duplicate"),
                Ack(ID, 3, "rejected", "unknown product 'x'")):  # fmt: skip
        assert wire.decode_ack(wire.encode_ack(ack)) == ack
    with pytest.raises(WireError, match="reason: a rejection must say why"):
        wire.decode_ack(wire.canonical({"v": 1, "id": ID, "seq": 3, "status": "rejected"}))
    with pytest.raises(WireError, match="status: expected one of accepted"):
        wire.decode_ack(wire.canonical({"v": 1, "id": ID, "seq": 3, "status": "maybe"}))


def test_requests_and_responses() -> None:
    request = RpcRequest("price_cart", {"lines": []})
    assert wire.decode_request(wire.encode_request(request)) == request
    with pytest.raises(WireError, match="method: expected one of"):
        wire.decode_request(wire.canonical({"v": 1, "method": "drop_tables", "params": {}}))
    ok = RpcResponse("ok", {"total": 100})
    assert wire.decode_response(wire.encode_response(ok)) == ok and not ok.for_the_cashier
    refused = RpcResponse("invalid", error="unknown customer c9")
    assert wire.decode_response(wire.encode_response(refused)).for_the_cashier
    assert not RpcResponse("error", error="database down").for_the_cashier
    with pytest.raises(WireError, match="error: a failed request must say why"):
        wire.decode_response(wire.canonical({"v": 1, "status": "error"}))


def test_beacon_and_status() -> None:
    beacon = Beacon(42, "2026-11-25T09:00:00")
    assert wire.decode_beacon(wire.encode_beacon(beacon)) == beacon
    with pytest.raises(WireError, match="version: must not be negative"):
        wire.decode_beacon(wire.canonical({"v": 1, "version": -1, "at": "x"}))
    status = Status("online", 12, "2026-11-25T09:00:00")
    assert wire.decode_status(wire.encode_status(status)) == status
    with pytest.raises(WireError, match="pending: must not be negative"):
        wire.decode_status(wire.canonical({"v": 1, "state": "online", "pending": -1, "at": "x"}))
    with pytest.raises(WireError, match="state: expected one of online, offline"):
        wire.decode_status(wire.canonical({"v": 1, "state": "away", "pending": 1, "at": "x"}))
    for at in ("2026-11-25T09:00:00.123456+05:30", "2026-11-25 09:00Z", ""):  # "": the will
        assert wire.decode_status(wire.encode_status(Status("offline", 0, at))).at == at
    with pytest.raises(WireError, match="at: expected an ISO 8601 time, got '4111"):
        wire.decode_status(wire.encode_status(Status("online", 0, "4111111111111111")))
    with pytest.raises(WireError, match="at: expected an ISO 8601 time, got ''"):
        wire.decode_beacon(wire.encode_beacon(Beacon(1, "")))
    waited = Status("online", 3, "2026-11-25T09:00:00", 95)
    assert wire.decode_status(wire.encode_status(waited)) == waited
    assert b"oldest_unsent_s" not in wire.encode_status(status), "absent when not known"
    for bad, why in ((-1, "must not be negative"), ("95", "expected int"), (True, "expected int")):
        with pytest.raises(WireError, match=f"oldest_unsent_s: {why}"):
            wire.decode_status(wire.canonical({"v": 1, "state": "online", "pending": 1, "at": "x",
                                               "oldest_unsent_s": bad}))  # fmt: skip


DECODERS = [wire.decode_envelope, wire.decode_ack, wire.decode_request, wire.decode_response,
            wire.decode_beacon, wire.decode_status]  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)  # fmt: skip


@given(st.sampled_from(DECODERS), st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_wire_error(decoder, raw: bytes) -> None:  # type: ignore[no-untyped-def]
    with contextlib.suppress(WireError):
        decoder(raw)


@given(st.sampled_from(DECODERS), st.dictionaries(
    st.sampled_from(["v", "id", "kind", "store", "register", "seq", "prev", "at", "body", "status",
                     "reason", "server", "method", "params", "result", "error", "version",
                     "state", "pending"]), json_values, max_size=10))  # fmt: skip
def test_structured_junk_never_raises_anything_but_wire_error(decoder, data: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    with contextlib.suppress(WireError):
        decoder(json.dumps({**data, "v": 1}).encode())


@given(st.text(max_size=60))
def test_junk_topics_never_raise_anything_but_wire_error(topic: str) -> None:
    with contextlib.suppress(WireError):
        wire.parse_topic(topic)


# --- answers in parts ---------------------------------------------------------------------


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=400_000), max_size=3))
def test_an_answer_split_into_parts_joins_back_whole(result: dict[str, str]) -> None:
    parts = split_answer(result)
    assert all(len(p.data) <= PART_BYTES for p in parts)
    sent = [read_part(wire.decode_response(wire.encode_response(
        wire.RpcResponse("ok", part_result(p))
    )).result) for p in parts]  # fmt: skip
    assert all(len(wire.encode_response(wire.RpcResponse("ok", part_result(p))))
               <= wire.MAX_PAYLOAD for p in parts)  # fmt: skip
    assert join_parts([p for p in sent if p is not None]) == result


def test_parts_that_do_not_fit_are_named() -> None:
    first, second = split_answer({"text": "x" * (PART_BYTES + 10)})
    assert read_part({"customers": []}) is None  # a whole answer
    with pytest.raises(WireError, match="missing or out of order"):
        join_parts([second, first])
    with pytest.raises(WireError, match="missing or out of order"):
        join_parts([first])
    other = split_answer({"text": "y" * (PART_BYTES + 10)})[1]
    with pytest.raises(WireError, match="does not match its digest"):
        join_parts([first, other])
    odd = Part(0, 1, first.digest, b"[1]")
    with pytest.raises(WireError, match="does not match"):
        join_parts([odd])
    good = part_result(first)
    for bad, message in (
        ({**good, "part": 2}, "part: 2 is not one of 2 parts"),
        ({**good, "data": "***"}, "data: not base64"),
        ({**good, "digest": "abc"}, "digest: malformed"),
        ({**good, "extra": 1}, "unknown field"),
        ({**good, "parts": 0}, "parts: must be 1 or more"),
    ):
        with pytest.raises(WireError, match=message):
            read_part(bad)


def test_joined_parts_must_be_a_json_object() -> None:
    for raw, message in ((b"\xff", "not JSON"), (b"[1]", "expected an object")):
        digest = hashlib.sha256(raw).hexdigest()
        with pytest.raises(WireError, match=message):
            join_parts([Part(0, 1, digest, raw)])


def test_a_request_for_a_part_names_what_is_wrong() -> None:
    digest = "a" * 64
    assert part_request({"version": 3}) == ({"version": 3}, 0, None)
    assert part_request({"version": 3, "part": 2, "digest": digest}) == (
        {"version": 3}, 2, digest)  # fmt: skip
    for params, message in (
        ({"part": 1}, "needs the answer's digest"),
        ({"part": -1, "digest": digest}, "part: must be 0 or more, got -1"),
        ({"part": "1"}, "part: expected int"),
        ({"digest": "zz"}, "digest: malformed"),
    ):
        with pytest.raises(WireError, match=message):
            part_request(params)
