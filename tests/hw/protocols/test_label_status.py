"""Label printer status: Zebra ~HS and TSC <ESC>!?, the codec and the query."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hw.protocols.errors import CodecError
from hw.protocols.label_status import (
    STATUS_REQUESTS,
    TRANSITIONS,
    LabelStatus,
    LabelStatusError,
    LabelStatusQuery,
    QueryEvent,
    QueryState,
    TscStatus,
    ZebraHostStatus,
    decode_host_status,
    decode_tsc_status,
    encode_host_status,
    encode_tsc_status,
    host_status_end,
)

# The example answer in Zebra's ZPL II Programming Guide (~HS), framed as sent.
MANUAL = (
    b"\x02030,0,0,0290,000,0,0,0,000,0,0,0\x03\r\n"
    b"\x02001,0,0,0,1,2,4,0,00000000,1,000\x03\r\n"
    b"\x021234,0\x03\r\n"
)


def hs(one: str, two: str, three: str = "1234,0") -> bytes:
    return b"".join(b"\x02" + s.encode() + b"\x03\r\n" for s in (one, two, three))


READY_ONE, READY_TWO = "030,0,0,0290,000,0,0,0,000,0,0,0", "001,0,0,0,1,2,4,0,00000000,1,000"


# --- LabelStatus ---------------------------------------------------------------------------


def test_can_print_only_with_nothing_in_the_way() -> None:
    assert LabelStatus().can_print
    for blocked in (
        LabelStatus(paper_out=True),
        LabelStatus(head_open=True),
        LabelStatus(ribbon_out=True),
        LabelStatus(paused=True),
        LabelStatus(online=False, fault="a paper jam"),
    ):
        assert not blocked.can_print


# --- Zebra ~HS -------------------------------------------------------------------------------


def test_decodes_the_manuals_example() -> None:
    status = decode_host_status(MANUAL)
    assert status == ZebraHostStatus(
        interface_settings=30,
        label_length_dots=290,
        function_settings=1,
        thermal_transfer=True,
        print_mode="2",
        print_width_mode=4,
        password=1234,
    )
    assert status.label_status() == LabelStatus()


@pytest.mark.parametrize(
    ("one", "two", "field", "expected"),
    [
        ("030,1,0,0290,000,0,0,0,000,0,0,0", READY_TWO, "paper_out", LabelStatus(paper_out=True)),
        ("030,0,1,0290,000,0,0,0,000,0,0,0", READY_TWO, "paused", LabelStatus(paused=True)),
        (READY_ONE, "001,0,1,0,1,2,4,0,00000000,1,000", "head_up", LabelStatus(head_open=True)),
        (READY_ONE, "001,0,0,1,1,2,4,0,00000000,1,000", "ribbon_out", LabelStatus(ribbon_out=True)),
        (
            "030,0,0,0290,000,0,0,0,000,1,0,0",
            READY_TWO,
            "corrupt_ram",
            LabelStatus(online=False, fault="its configuration lost (corrupt RAM)"),
        ),
        (
            "030,0,0,0290,000,0,0,0,000,0,0,1",
            READY_TWO,
            "over_temperature",
            LabelStatus(online=False, fault="its print head too hot"),
        ),
        ("030,0,0,0290,000,1,0,0,000,0,0,0", READY_TWO, "buffer_full", LabelStatus()),
        ("030,0,0,0290,000,0,0,0,000,0,1,0", READY_TWO, "under_temperature", LabelStatus()),
    ],
)
def test_each_flag_is_read_from_its_place(
    one: str, two: str, field: str, expected: LabelStatus
) -> None:
    status = decode_host_status(hs(one, two))
    assert getattr(status, field) is True
    assert status.label_status() == expected


def test_ribbon_out_counts_only_in_thermal_transfer_mode() -> None:
    direct_thermal = decode_host_status(hs(READY_ONE, "001,0,0,1,0,2,4,0,00000000,1,000"))
    assert direct_thermal.ribbon_out
    assert direct_thermal.label_status().can_print


def test_a_corrupt_ram_fault_is_named_before_a_hot_head() -> None:
    both = ZebraHostStatus(corrupt_ram=True, over_temperature=True).label_status()
    assert "corrupt RAM" in both.fault


def test_reads_counts_and_letters() -> None:
    status = decode_host_status(
        hs("030,0,0,1218,012,0,1,1,000,0,0,0", "001,0,0,0,1,K,4,1,00000042,1,007", "0000,1")
    )
    assert (status.label_length_dots, status.formats_in_buffer, status.labels_remaining) == (
        1218,
        12,
        42,
    )
    assert (status.print_mode, status.graphics_stored, status.password) == ("K", 7, 0)
    assert status.diagnostic_mode and status.partial_format and status.label_waiting
    assert status.static_ram


def test_host_status_end_waits_for_the_whole_answer() -> None:
    for cut in range(len(MANUAL)):
        assert host_status_end(MANUAL[:cut]) is None
    assert host_status_end(MANUAL) == len(MANUAL)
    assert host_status_end(MANUAL + b"\x02") == len(MANUAL)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"030," + MANUAL, "starts with 0x30, not STX"),
        (b"\x02030\x01" + MANUAL, "not printable text"),
        (b"\x02" + b"0" * 65, "not printable text"),
        (b"\x02030\x03\n", "not ETX CR LF"),
        (MANUAL[:-1], "cut short"),
        (MANUAL + b"x", "1 bytes follow"),
        (hs("030,0,0", READY_TWO), "string 1 has 3 fields, not 12"),
        (hs(READY_ONE, READY_TWO, "1234"), "string 3 has 1 fields, not 2"),
        (hs("030,2,0,0290,000,0,0,0,000,0,0,0", READY_TWO), "field 2 is '2', not a 0/1 flag"),
        (hs("030,0,0,02x0,000,0,0,0,000,0,0,0", READY_TWO), "field 4 is '02x0', not a count"),
        (hs("030,0,0,,000,0,0,0,000,0,0,0", READY_TWO), "field 4 is '', not a count"),
        (hs("030,0,0,123456789,000,0,0,0,000,0,0,0", READY_TWO), "not a count"),
        (hs("030,0,0,0290,000,0,0,0,0x0,0,0,0", READY_TWO), "field 9 is '0x0'"),
        (hs(READY_ONE, "001,0,0,0,1,22,4,0,00000000,1,000"), "print mode '22'"),
        (hs(READY_ONE, "001,0,0,0,1,-,4,0,00000000,1,000"), "print mode '-'"),
    ],
)
def test_garbage_is_a_typed_error(data: bytes, says: str) -> None:
    with pytest.raises(LabelStatusError, match=says.replace("(", r"\(")):
        decode_host_status(data)


def test_the_error_is_a_codec_error() -> None:
    assert issubclass(LabelStatusError, CodecError)


host_statuses = st.builds(
    ZebraHostStatus,
    interface_settings=st.integers(0, 999),
    label_length_dots=st.integers(0, 9999),
    formats_in_buffer=st.integers(0, 999),
    function_settings=st.integers(0, 999),
    print_mode=st.sampled_from("0123456789AKS"),
    print_width_mode=st.integers(0, 9),
    labels_remaining=st.integers(0, 99_999_999),
    graphics_stored=st.integers(0, 999),
    password=st.integers(0, 9999),
)


@given(host_statuses)
def test_encode_then_decode_is_the_identity(status: ZebraHostStatus) -> None:
    assert decode_host_status(encode_host_status(status)) == status


@settings(max_examples=300)
@given(st.binary(max_size=120))
def test_arbitrary_bytes_decode_or_raise_the_typed_error(data: bytes) -> None:
    with contextlib.suppress(LabelStatusError):
        decode_host_status(data)


@settings(max_examples=300)
@given(host_statuses, st.integers(0, 200), st.integers(0, 255))
def test_one_corrupted_byte_decodes_or_raises_the_typed_error(
    status: ZebraHostStatus, where: int, byte: int
) -> None:
    data = bytearray(encode_host_status(status))
    data[where % len(data)] = byte
    with contextlib.suppress(LabelStatusError):
        decode_host_status(bytes(data))


# --- TSC <ESC>!? -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("byte", "field"),
    [
        (0x01, "head_open"),
        (0x02, "paper_jam"),
        (0x04, "paper_empty"),
        (0x08, "ribbon_empty"),
        (0x10, "paused"),
        (0x20, "printing"),
        (0x40, "cover_open"),
        (0x80, "other_error"),
    ],
)
def test_each_tsc_bit_is_its_flag(byte: int, field: str) -> None:
    status = decode_tsc_status(bytes((byte,)))
    assert [name for name, on in vars(status).items() if on] == [field]
    assert encode_tsc_status(status) == bytes((byte,))


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (TscStatus(), LabelStatus()),
        (TscStatus(printing=True), LabelStatus()),
        (TscStatus(paper_empty=True, head_open=True), LabelStatus(paper_out=True, head_open=True)),
        (TscStatus(ribbon_empty=True, paused=True), LabelStatus(ribbon_out=True, paused=True)),
        (
            TscStatus(paper_jam=True, cover_open=True),
            LabelStatus(online=False, fault="a paper jam"),
        ),
        (
            TscStatus(cover_open=True, other_error=True),
            LabelStatus(online=False, fault="its cover open"),
        ),
        (
            TscStatus(other_error=True),
            LabelStatus(online=False, fault="an error (temperature out of range)"),
        ),
    ],
)
def test_tsc_status_means(status: TscStatus, expected: LabelStatus) -> None:
    assert status.label_status() == expected


@given(st.integers(0, 255))
def test_every_tsc_byte_round_trips(byte: int) -> None:
    assert encode_tsc_status(decode_tsc_status(bytes((byte,)))) == bytes((byte,))


@pytest.mark.parametrize("data", [b"", b"\x00\x00"])
def test_a_tsc_answer_is_one_byte(data: bytes) -> None:
    with pytest.raises(LabelStatusError, match="one byte"):
        decode_tsc_status(data)


# --- the query ----------------------------------------------------------------------------------


def test_requests_are_those_of_the_manuals() -> None:
    assert STATUS_REQUESTS == {"zpl": b"~HS", "tspl": b"\x1b!?"}


def test_a_zpl_query_takes_the_answer_in_any_chunking() -> None:
    query = LabelStatusQuery("zpl", now=10.0, timeout=2.0)
    assert query.data_to_send() == b"~HS"
    assert query.data_to_send() == b""  # once
    assert query.next_deadline() == 12.0
    for byte in MANUAL[:-1]:
        query.receive_data(bytes((byte,)))
    query.receive_data(b"")
    assert not query.done and query.status is None
    query.receive_data(MANUAL[-1:])
    assert query.done and query.state is QueryState.COMPLETE
    assert query.answer == decode_host_status(MANUAL)
    assert query.status == LabelStatus()
    assert query.next_deadline() is None


def test_a_tspl_query_completes_on_its_byte() -> None:
    query = LabelStatusQuery("tspl", now=0.0, timeout=1.0)
    assert query.data_to_send() == b"\x1b!?"
    query.receive_data(b"\x04")
    assert query.status == LabelStatus(paper_out=True)
    assert query.answer == TscStatus(paper_empty=True)


def test_a_query_times_out_at_its_deadline_only() -> None:
    query = LabelStatusQuery("zpl", now=0.0, timeout=1.0)
    query.handle_timer(0.5)
    assert not query.done
    query.handle_timer(1.0)
    assert query.state is QueryState.TIMED_OUT and query.status is None
    query.handle_timer(5.0)  # a late timer is harmless
    assert query.state is QueryState.TIMED_OUT


def test_a_query_fails_on_garbage_and_refuses_bytes_after_it_is_done() -> None:
    query = LabelStatusQuery("zpl", now=0.0, timeout=1.0)
    with pytest.raises(LabelStatusError, match="not STX"):
        query.receive_data(b"hello")
    assert query.state is QueryState.FAILED
    with pytest.raises(LabelStatusError, match="no answer was due"):
        query.receive_data(b"\x02")
    tspl = LabelStatusQuery("tspl", now=0.0, timeout=1.0)
    with pytest.raises(LabelStatusError, match="one byte"):
        tspl.receive_data(b"\x00\x00")
    assert tspl.state is QueryState.FAILED
    done = LabelStatusQuery("zpl", now=0.0, timeout=1.0)
    with pytest.raises(LabelStatusError, match="1 bytes follow"):
        done.receive_data(MANUAL + b"\x00")


def test_a_query_is_only_for_languages_with_a_status_request() -> None:
    with pytest.raises(ValueError, match="no status request for 'escpos'"):
        LabelStatusQuery("escpos", now=0.0, timeout=1.0)


def test_the_transition_table_covers_every_event_while_awaiting() -> None:
    assert {event for state, event in TRANSITIONS if state is QueryState.AWAITING} == set(
        QueryEvent
    )


@settings(max_examples=300)
@given(st.sampled_from(["zpl", "tspl"]), st.lists(st.binary(max_size=16), max_size=8))
def test_arbitrary_chunks_only_ever_raise_the_typed_error(
    language: str, chunks: list[bytes]
) -> None:
    query = LabelStatusQuery(language, now=0.0, timeout=1.0)
    for chunk in chunks:
        try:
            query.receive_data(chunk)
        except LabelStatusError:
            assert query.done
    assert query.status is None or query.state is QueryState.COMPLETE
