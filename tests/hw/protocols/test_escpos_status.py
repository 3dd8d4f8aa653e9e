"""ESC/POS real-time status (DLE EOT) and drawer kick codec."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hw.ports import PrinterStatus
from hw.protocols.errors import CodecError
from hw.protocols.escpos_status import (
    NOT_REPORTED,
    TRANSITIONS,
    ErrorCause,
    EscposStatusError,
    KickConfirmation,
    OfflineCause,
    PrinterByte,
    QueryEvent,
    QueryState,
    RollPaper,
    StatusAnswers,
    StatusQuery,
    StatusRequest,
    assemble_status,
    decode_error_cause,
    decode_offline_cause,
    decode_printer,
    decode_roll_paper,
    drawer_kick,
    encode_status_error_cause,
    encode_status_offline_cause,
    encode_status_printer,
    encode_status_roll_paper,
    status_request,
)

DECODERS: list[Callable[[int], object]] = [
    decode_printer,
    decode_offline_cause,
    decode_error_cause,
    decode_roll_paper,
]
ALL_CLEAR = 0x12  # bits 1 and 4: the fixed bits, nothing else


def test_requests_are_dle_eot_n() -> None:
    assert [status_request(n) for n in StatusRequest] == [
        b"\x10\x04\x01",
        b"\x10\x04\x02",
        b"\x10\x04\x03",
        b"\x10\x04\x04",
    ]


def test_printer_status_bits() -> None:
    assert decode_printer(ALL_CLEAR) == PrinterByte()
    assert decode_printer(0x16) == PrinterByte(drawer_pin3_high=True)
    assert decode_printer(0x1A) == PrinterByte(offline=True)
    assert decode_printer(0x32) == PrinterByte(waiting_online_recovery=True)
    assert decode_printer(0x52) == PrinterByte(feed_button=True)


def test_offline_cause_bits() -> None:
    assert decode_offline_cause(ALL_CLEAR) == OfflineCause()
    assert decode_offline_cause(0x16) == OfflineCause(cover_open=True)
    assert decode_offline_cause(0x1A) == OfflineCause(feed_button=True)
    assert decode_offline_cause(0x32) == OfflineCause(paper_end_stop=True)
    assert decode_offline_cause(0x52) == OfflineCause(error=True)


def test_error_cause_bits() -> None:
    assert decode_error_cause(ALL_CLEAR) == ErrorCause()
    assert decode_error_cause(0x16) == ErrorCause(recoverable=True)
    assert decode_error_cause(0x1A) == ErrorCause(autocutter=True)
    assert decode_error_cause(0x32) == ErrorCause(unrecoverable=True)
    assert decode_error_cause(0x52) == ErrorCause(auto_recoverable=True)


def test_roll_paper_sensor_pairs() -> None:
    assert decode_roll_paper(ALL_CLEAR) == RollPaper()
    assert decode_roll_paper(0x1E) == RollPaper(near_end=True)  # python-escpos RT_MASK_LOWPAPER
    assert decode_roll_paper(0x72) == RollPaper(paper_out=True)  # python-escpos RT_MASK_NOPAPER
    assert decode_roll_paper(0x7E) == RollPaper(near_end=True, paper_out=True)
    # Clones that set one bit of a pair still count.
    assert decode_roll_paper(0x16) == RollPaper(near_end=True)
    assert decode_roll_paper(0x1A) == RollPaper(near_end=True)
    assert decode_roll_paper(0x32) == RollPaper(paper_out=True)
    assert decode_roll_paper(0x52) == RollPaper(paper_out=True)


@pytest.mark.parametrize("decode", DECODERS)
@pytest.mark.parametrize("byte", [0x00, 0x13, 0x02, 0x10, 0x92, 0xFF, 0x1B, -1, 0x112])
def test_wrong_fixed_bits_raise_naming_the_byte(decode: Callable[[int], object], byte: int) -> None:
    with pytest.raises(EscposStatusError, match="not an answer to DLE EOT") as caught:
        decode(byte)
    assert f"0x{byte:02X}" in str(caught.value)
    assert isinstance(caught.value, CodecError)


@given(st.integers(0, 255))
def test_any_byte_decodes_or_raises_only_its_error(byte: int) -> None:
    valid = byte & 0x93 == 0x12
    for decode in DECODERS:
        try:
            decode(byte)
        except EscposStatusError:
            assert not valid
        else:
            assert valid


@given(st.booleans(), st.booleans(), st.booleans(), st.booleans())
def test_encoders_round_trip(a: bool, b: bool, c: bool, d: bool) -> None:
    printer = PrinterByte(a, b, c, d)
    assert decode_printer(encode_status_printer(printer)[0]) == printer
    offline = OfflineCause(a, b, c, d)
    assert decode_offline_cause(encode_status_offline_cause(offline)[0]) == offline
    error = ErrorCause(a, b, c, d)
    assert decode_error_cause(encode_status_error_cause(error)[0]) == error
    paper = RollPaper(a, b)
    assert decode_roll_paper(encode_status_roll_paper(paper)[0]) == paper


def answers(
    pin3_high: bool = False,
    offline: bool = False,
    cover_open: bool = False,
    paper_end_stop: bool = False,
    near_end: bool = False,
    paper_out: bool = False,
) -> StatusAnswers:
    return StatusAnswers(
        PrinterByte(drawer_pin3_high=pin3_high, offline=offline),
        OfflineCause(cover_open=cover_open, paper_end_stop=paper_end_stop),
        ErrorCause(),
        RollPaper(near_end=near_end, paper_out=paper_out),
    )


@pytest.mark.parametrize(
    ("level_high", "pin3_high", "drawer_open"),
    [
        (True, True, True),
        (True, False, False),
        (False, True, False),
        (False, False, True),
        (None, True, None),
        (None, False, None),
    ],
)
def test_drawer_polarity_comes_from_the_profile(
    level_high: bool | None, pin3_high: bool, drawer_open: bool | None
) -> None:
    status = assemble_status(answers(pin3_high=pin3_high), level_high)
    assert status.drawer_open is drawer_open


def test_assembled_status() -> None:
    assert assemble_status(answers(), None) == PrinterStatus(online=True)
    offline = assemble_status(answers(offline=True, cover_open=True), None)
    assert (offline.online, offline.cover_open, offline.can_print) == (False, True, False)
    # Paper out counts from the end sensor or from the paper-end stop.
    assert assemble_status(answers(paper_out=True), None).paper_out
    assert assemble_status(answers(paper_end_stop=True), None).paper_out
    near = assemble_status(answers(near_end=True), None)
    assert near.paper_near_end and near.can_print


def test_drawer_kick_bytes() -> None:
    assert drawer_kick() == b"\x1bp\x00\x32\xfa"  # pin 2, 100 ms on, 500 ms off
    assert drawer_kick(5, 50, 500) == b"\x1bp\x01\x19\xfa"
    assert drawer_kick(2, 2, 510) == b"\x1bp\x00\x01\xff"
    assert drawer_kick(2, 101, 99) == b"\x1bp\x00\x32\x32"  # rounded to 2 ms units


@pytest.mark.parametrize(
    ("pin", "on_ms", "off_ms", "message"),
    [
        (3, 100, 500, "drawer pin 3 does not exist"),
        (2, 0, 500, "on time 0 ms"),
        (2, 100, 600, "off time 600 ms"),
    ],
)
def test_drawer_kick_refuses_what_the_command_cannot_say(
    pin: int, on_ms: int, off_ms: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        drawer_kick(pin, on_ms, off_ms)


# --- StatusQuery -------------------------------------------------------------------------


def test_query_asks_one_request_at_a_time() -> None:
    query = StatusQuery(now=10.0, timeout=2.0, drawer_open_level_high=True)
    assert query.state is QueryState.AWAITING_PRINTER
    assert query.waiting_for is StatusRequest.PRINTER
    assert query.data_to_send() == b"\x10\x04\x01"
    assert query.data_to_send() == b""  # each request once
    assert query.next_deadline() == 12.0
    assert query.status is None and query.answers is None
    query.receive_data(b"\x16")  # drawer pin 3 HIGH
    assert query.data_to_send() == b"\x10\x04\x02"
    query.receive_data(b"")
    query.receive_data(b"\x12")
    assert query.data_to_send() == b"\x10\x04\x03"
    query.receive_data(b"\x12")
    assert query.data_to_send() == b"\x10\x04\x04"
    assert not query.done
    query.receive_data(b"\x1e")  # near end
    assert query.state is QueryState.COMPLETE and query.done
    assert query.data_to_send() == b""
    assert query.waiting_for is None and query.next_deadline() is None
    assert query.status == PrinterStatus(online=True, paper_near_end=True, drawer_open=True)
    assert query.answers is not None and query.answers.roll_paper == RollPaper(near_end=True)


def test_answers_may_arrive_together() -> None:
    query = StatusQuery(0.0, 1.0, None)
    query.receive_data(b"\x1a\x32\x12\x72")
    assert query.data_to_send() == b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04"
    assert query.status == PrinterStatus(online=False, paper_out=True, paper_near_end=False)


def test_query_times_out_at_its_deadline() -> None:
    query = StatusQuery(now=5.0, timeout=1.5, drawer_open_level_high=None)
    query.receive_data(b"\x12")
    query.handle_timer(6.4)
    assert query.state is QueryState.AWAITING_OFFLINE_CAUSE
    query.handle_timer(6.5)
    assert query.state is QueryState.TIMED_OUT and query.done
    assert query.status is None and query.next_deadline() is None
    query.handle_timer(9.0)  # a late timer is harmless
    assert query.state is QueryState.TIMED_OUT
    with pytest.raises(EscposStatusError, match="0x12 arrived when none was due .*timed out"):
        query.receive_data(b"\x12")


def test_garbled_answer_fails_the_query() -> None:
    query = StatusQuery(0.0, 1.0, None)
    with pytest.raises(EscposStatusError, match=r"0xFF is not an answer to DLE EOT 1"):
        query.receive_data(b"\xff")
    assert query.state is QueryState.FAILED and query.done
    assert query.data_to_send() == b"\x10\x04\x01"  # the first request, never taken back


def test_byte_after_completion_is_an_error() -> None:
    query = StatusQuery(0.0, 1.0, None)
    with pytest.raises(EscposStatusError, match="0x12 arrived when none was due"):
        query.receive_data(b"\x12" * 5)
    assert query.state is QueryState.COMPLETE


def test_transition_table_covers_every_waiting_state_and_no_final_one() -> None:
    waiting = [s for s in QueryState if s.name.startswith("AWAITING")]
    for state in waiting:
        assert {e for (s, e) in TRANSITIONS if s is state} == set(QueryEvent)
    finals = set(QueryState) - set(waiting)
    assert not {s for (s, _) in TRANSITIONS} & finals


@given(st.lists(st.binary(max_size=4), max_size=6))
def test_query_fuzz_only_raises_its_own_error(chunks: list[bytes]) -> None:
    query = StatusQuery(0.0, 1.0, True)
    for chunk in chunks:
        try:
            query.receive_data(chunk)
        except EscposStatusError:
            assert query.done or query.state is QueryState.FAILED
            return
    if query.state is QueryState.COMPLETE:
        assert query.status is not None


# --- KickConfirmation --------------------------------------------------------------------

CLOSED = PrinterStatus(online=True, drawer_open=False)
OPEN = PrinterStatus(online=True, drawer_open=True)
NO_SENSOR = PrinterStatus(online=True, drawer_open=None)


def test_kick_confirmed_by_an_open_drawer() -> None:
    watch = KickConfirmation(now=0.0, timeout=2.0, before=CLOSED)
    assert watch.result is None and watch.next_deadline() == 2.0
    watch.observe(CLOSED, 0.5)
    watch.handle_timer(1.0)
    assert watch.result is None
    watch.observe(OPEN, 1.2)
    assert watch.result is not None and watch.result.confirmed
    assert watch.next_deadline() is None
    watch.observe(CLOSED, 1.3)  # decided: later statuses change nothing
    assert watch.result.confirmed


def test_kick_unconfirmed_at_the_deadline_is_reported_not_assumed() -> None:
    watch = KickConfirmation(0.0, 1.5, CLOSED)
    watch.handle_timer(1.5)
    assert watch.result is not None and not watch.result.confirmed
    assert "did not report open within 1.5 s" in watch.result.detail


def test_closed_status_at_the_deadline_decides_unconfirmed() -> None:
    watch = KickConfirmation(0.0, 1.0, CLOSED)
    watch.observe(CLOSED, 1.0)
    assert watch.result is not None and not watch.result.confirmed


def test_model_without_a_drawer_sensor() -> None:
    watch = KickConfirmation(0.0, 1.0, NO_SENSOR)
    assert watch.result is not None
    assert (watch.result.confirmed, watch.result.detail) == (False, NOT_REPORTED)
    assert NOT_REPORTED == "this printer does not report the drawer"
    assert watch.next_deadline() is None


def test_sensor_vanishing_mid_watch_is_not_reported() -> None:
    watch = KickConfirmation(0.0, 1.0, CLOSED)
    watch.observe(NO_SENSOR, 0.1)
    assert watch.result is not None and watch.result.detail == NOT_REPORTED


def test_drawer_already_open_proves_nothing() -> None:
    watch = KickConfirmation(0.0, 1.0, OPEN)
    assert watch.result is not None and not watch.result.confirmed
    assert "already open" in watch.result.detail
