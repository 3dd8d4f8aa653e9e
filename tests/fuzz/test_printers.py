"""Printer answers and printer bytes: ESC/POS status, the ESC/POS interpreter, label status.

Each starts from what a real printer (or python-escpos) sends and mutates it: the
answer either decodes or raises the codec's own error with a message, a query ends in
COMPLETE, FAILED or TIMED_OUT and says so, and the interpreter always makes progress
(every malformed command is skipped, so a stream of any length ends).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hw.ports import PrinterStatus
from hw.protocols import escpos_status as es
from hw.protocols import label_status as ls
from hw.protocols.errors import CodecError
from hw.protocols.escpos_parse import EscposInterpreter, EscposParseError, UnknownCommand
from tests.fuzz.mutate import check_message, chunked, fuzz, mutated_bytes

# --- ESC/POS real-time status ------------------------------------------------------------

answers = st.tuples(
    st.builds(es.PrinterByte, st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    st.builds(es.OfflineCause, st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    st.builds(es.ErrorCause, st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    st.builds(es.RollPaper, st.booleans(), st.booleans()),
).map(
    lambda a: es.encode_status_printer(a[0]) + es.encode_status_offline_cause(a[1])
    + es.encode_status_error_cause(a[2]) + es.encode_status_roll_paper(a[3])
)  # fmt: skip


@fuzz(200)
@given(st.data())
def test_a_status_query_fed_mutated_answers_ends_and_says_how(data: st.DataObject) -> None:
    stream = data.draw(mutated_bytes(answers, tokens=[b"\x12", b"\x16", b"\x10\x04\x01"]))
    query = es.StatusQuery(0.0, 1.0, data.draw(st.none() | st.booleans()))
    now = 0.0
    for chunk in data.draw(chunked(stream)):
        now += data.draw(st.sampled_from([0.0, 0.1, 0.6]))
        query.handle_timer(now)
        try:
            query.receive_data(chunk)
        except es.EscposStatusError as exc:
            check_message(exc, starts=("0x", "status byte 0x"))
            assert query.done
            break
    query.handle_timer(now + 1.0)
    assert query.done and query.next_deadline() is None
    if query.state is es.QueryState.COMPLETE:
        assert isinstance(query.status, PrinterStatus) and query.answers is not None
    else:
        assert query.status is None


# --- the ESC/POS interpreter --------------------------------------------------------------

ESC, GS, DLE, FS = b"\x1b", b"\x1d", b"\x10", b"\x1c"
RECEIPT = b"".join([
    ESC + b"@", ESC + b"t\x13", ESC + b"a\x01", ESC + b"!\x38", b"Danke sch\x94n\n",
    ESC + b"E\x01", ESC + b"-\x02", GS + b"B\x01", GS + b"!\x11", b"Total  12.34\t$\n",
    ESC + b"d\x03", ESC + b"p\x00\x32\xfa", DLE + b"\x14\x01\x00\x02", DLE + b"\x04\x01",
    DLE + b"\x04\x07\x01", GS + b"k\x02" + b"4006381333931\x00", GS + b"kI\x04{B42",
    GS + b"(k\x03\x001C\x04", GS + b"(k\x09\x001P0native", GS + b"(k\x03\x001Q0",
    GS + b"v0\x00\x03\x00\x02\x00" + b"\xff" * 6, ESC + b"*\x21\x02\x00" + b"\xaa" * 6,
    GS + b"(L\x0c\x000p0\x01\x011\x08\x00\x02\x00" + b"\xff" * 2, GS + b"(L\x02\x0002",
    ESC + b"D\x08\x10\x00", ESC + b"3\x1e", ESC + b"2", FS + b"p\x01\x00", GS + b"V\x42\x03",
    ESC + b"i", ESC + b"m", b"\r\x00\x07", GS + b"VA\x00", GS + b"V\x01",
])  # fmt: skip
"""One of every command the interpreter knows, as a receipt would send it."""
ESCPOS_TOKENS = [ESC, GS, DLE, FS, b"\x00", b"\n", b"(", b"k", b"v0", b"L", b"*", b"D", b"V",
                 b"\xff\xff", b"\x00\x00", GS + b"(k\xff\xff",
                 GS + b"v0\x00\xff\x00\xff\x0f"]  # fmt: skip


def run(interpreter: EscposInterpreter, limit: int) -> list[object]:
    """Every event the interpreter's buffered bytes make, errors included; it must stop."""
    out: list[object] = []
    for _ in range(limit):
        try:
            event = interpreter.next_event()
        except EscposParseError as exc:
            check_message(exc)
            out.append(exc)
            continue
        if event is None:
            return out
        if isinstance(event, UnknownCommand):
            assert event.reason.strip()
        out.append(event)
    raise AssertionError(f"no end after {limit} steps: the interpreter is not making progress")


@fuzz(200)
@given(st.data())
def test_mutated_receipts_parse_or_raise_its_own_error(data: st.DataObject) -> None:
    stream = data.draw(mutated_bytes(RECEIPT, max_ops=6, tokens=ESCPOS_TOKENS))
    interpreter = EscposInterpreter()
    for chunk in data.draw(chunked(stream)):
        interpreter.receive(chunk)
        run(interpreter, 256 * len(stream) + 16)  # ESC d 255 alone feeds 255 lines
    assert interpreter.pending == stream[len(stream) - len(interpreter.pending) :]


# --- label printers: Zebra ~HS, TSC <ESC>!? ------------------------------------------------

host_statuses = st.builds(
    ls.ZebraHostStatus,
    **{name: st.booleans() for name in ("paper_out", "paused", "head_up", "ribbon_out",
                                        "thermal_transfer", "corrupt_ram", "over_temperature")},
    label_length_dots=st.integers(0, 9999),
    print_mode=st.sampled_from("0123456789AKS"),
    labels_remaining=st.integers(0, 99_999_999),
)  # fmt: skip
HS_TOKENS = [b"\x02", b"\x03", b"\r\n", b",", b"0", b"1", b"99999999999", b"\x03\r\n\x02"]


@fuzz(200)
@given(st.data())
def test_mutated_host_status_decodes_or_names_what_is_wrong(data: st.DataObject) -> None:
    raw = data.draw(mutated_bytes(host_statuses.map(ls.encode_host_status), max_ops=5,
                                  tokens=HS_TOKENS))  # fmt: skip
    try:
        status = ls.decode_host_status(raw)
    except ls.LabelStatusError as exc:
        check_message(exc, starts=("~HS", "<ESC>", "1", "2", "3", "4", "5", "6", "7", "8", "9"))
    else:
        assert ls.decode_host_status(ls.encode_host_status(status)) == status
        assert status.label_status().can_print in (True, False)
    try:
        end = ls.host_status_end(raw)
    except ls.LabelStatusError as exc:
        check_message(exc, starts="~HS")
    else:
        assert end is None or 0 < end <= len(raw)


@fuzz(200)
@given(st.data())
def test_a_label_status_query_fed_mutated_answers_ends_and_says_how(data: st.DataObject) -> None:
    language = data.draw(st.sampled_from(sorted(ls.STATUS_REQUESTS)))
    valid = (
        host_statuses.map(ls.encode_host_status)
        if language == "zpl"
        else st.integers(0, 255).map(lambda b: bytes([b]))
    )
    stream = data.draw(mutated_bytes(valid, tokens=HS_TOKENS))
    query = ls.LabelStatusQuery(language, 0.0, 2.0)
    assert query.data_to_send() == ls.STATUS_REQUESTS[language]
    for chunk in data.draw(chunked(stream)):
        try:
            query.receive_data(chunk)
        except CodecError as exc:
            assert type(exc) is ls.LabelStatusError
            check_message(exc)
            assert query.done
            break
    query.handle_timer(5.0)
    assert query.done
    assert (query.status is not None) == (query.state is ls.QueryState.COMPLETE)
