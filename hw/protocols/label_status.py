"""Label printer status, Zebra ``~HS`` and TSC ``<ESC>!?``: a sans-I/O codec and query.

Zebra (ZPL): ``~HS``, "Host Status Return" in Zebra's "ZPL II Programming
Guide" (also in its "Programming Guide for ZPL II, ZBI 2, Set-Get-Do, Mirror,
WML"). The printer answers three strings, each ``<STX>fields<ETX><CR><LF>``,
the fields separated by commas; flags are ``0`` or ``1``, counts decimal::

    string 1  aaa,b,c,dddd,eee,f,g,h,iii,j,k,l
              aaa communication settings   b paper out        c pause
              dddd label length (dots)     eee formats in the receive buffer
              f receive buffer full        g communications diagnostic mode
              h partial format             iii unused (000)   j corrupt RAM
              k under temperature          l over temperature
    string 2  mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www
              mmm function settings        n unused           o head up
              p ribbon out                 q thermal transfer mode
              r print mode (0 rewind, 1 peel-off, 2 tear-off, 3 cutter,
                4 applicator...; newer firmware also letters)
              s print width mode           t label waiting (peel-off)
              uuuuuuuu labels remaining in the batch
              v format while printing (always 1)
              www graphic images stored
    string 3  xxxx,y
              xxxx password                y static RAM installed

Some published parsers take the head-up flag from the third field of string
2; the manual's table has ``n`` unused and ``o`` (the third) head up, the
fourth ribbon out: this follows the manual. Ribbon out means nothing to a
printer in direct thermal mode (``q`` = 0), so it counts only in thermal
transfer mode.

TSC (TSPL): ``<ESC>!?`` in TSC's "TSPL/TSPL2 Programming Manual" (the same
table in its clones' manuals, e.g. Gprinter's). One byte comes back, 0 when
ready; any byte is a possible answer::

    bit 0 head opened      bit 1 paper jam         bit 2 out of paper
    bit 3 out of ribbon    bit 4 pause             bit 5 printing
    bit 6 cover opened (option)
    bit 7 environment temperature over range (option; "other error" in some)

Both answers come down to a `LabelStatus`, which says whether a label sent
now would print (`can_print`) and if not why.

Theory of operation of `LabelStatusQuery`: one request, one answer, one
deadline. The caller sends `data_to_send()`, feeds what arrives, in any
chunking, to `receive_data()`, waits no later than `next_deadline()` and
calls `handle_timer(now)` when it passes. An answer that cannot be one fails
the query at once (`LabelStatusError`), so a wrong-language printer or a
stray byte is never read as a status; bytes after the answer are an error
too. The transitions are the table `TRANSITIONS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from hw.protocols.errors import CodecError
from hw.protocols.query import DeadlineQuery

ZEBRA_STATUS_REQUEST = b"~HS"
"""Zebra's host status request."""
TSC_STATUS_REQUEST = b"\x1b!?"
"""TSC's status request, answered at any time, even in error."""
STATUS_REQUESTS: Mapping[str, bytes] = {"zpl": ZEBRA_STATUS_REQUEST, "tspl": TSC_STATUS_REQUEST}
"""The status request of each label language that has one."""

_STX, _ETX = 0x02, 0x03
_CRLF = b"\r\n"
_FIELDS = (12, 11, 2)  # fields in each of the three ~HS strings
_MAX_STRING = 64  # the longest string is 40 characters: more is not an answer
_MAX_NUMBER = 8  # digits of the longest count (labels remaining)


class LabelStatusError(CodecError):
    """Bytes that are not a status answer, or that came when none was due."""


@dataclass(frozen=True)
class LabelStatus:
    """What a label printer's status means for the next label."""

    online: bool = True
    paper_out: bool = False
    head_open: bool = False
    ribbon_out: bool = False
    paused: bool = False
    fault: str = ""
    """A fault the other fields do not name ("a paper jam"), "" when there is none;
    `online` is False exactly when there is one."""

    @property
    def can_print(self) -> bool:
        """True when a label sent now would come out."""
        problems = (self.paper_out, self.head_open, self.ribbon_out, self.paused)
        return self.online and not any(problems)


# --- Zebra ~HS ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ZebraHostStatus:
    """The answer to ``~HS``, field by field (see the module docstring)."""

    paper_out: bool = False
    paused: bool = False
    head_up: bool = False
    ribbon_out: bool = False
    thermal_transfer: bool = False
    buffer_full: bool = False
    partial_format: bool = False
    corrupt_ram: bool = False
    under_temperature: bool = False
    over_temperature: bool = False
    diagnostic_mode: bool = False
    label_waiting: bool = False
    static_ram: bool = False
    interface_settings: int = 0
    label_length_dots: int = 0
    formats_in_buffer: int = 0
    function_settings: int = 0
    print_mode: str = "2"
    print_width_mode: int = 0
    labels_remaining: int = 0
    graphics_stored: int = 0
    password: int = 1234

    def label_status(self) -> LabelStatus:
        """What this answer means for the next label."""
        fault = ""
        if self.corrupt_ram:
            fault = "its configuration lost (corrupt RAM)"
        elif self.over_temperature:
            fault = "its print head too hot"
        return LabelStatus(
            online=not fault,
            paper_out=self.paper_out,
            head_open=self.head_up,
            ribbon_out=self.ribbon_out and self.thermal_transfer,
            paused=self.paused,
            fault=fault,
        )


def host_status_end(buffer: bytes) -> int | None:
    """The length of the whole ``~HS`` answer at the start of `buffer`, or None while
    it may still be arriving; `LabelStatusError` as soon as it cannot be one."""
    framed = _frames(buffer)
    return None if framed is None else framed[1]


def _frames(buffer: bytes) -> tuple[list[str], int] | None:
    """The three string bodies and where the answer ends, None while incomplete."""
    bodies: list[str] = []
    pos = 0
    for string in range(1, 4):
        if pos >= len(buffer):
            return None
        if buffer[pos] != _STX:
            raise LabelStatusError(
                f"~HS answer string {string} starts with 0x{buffer[pos]:02X}, not STX"
            )
        end = buffer.find(_ETX, pos + 1)
        body = buffer[pos + 1 : len(buffer) if end < 0 else end]
        if len(body) > _MAX_STRING or any(not 0x20 <= b < 0x7F for b in body):
            raise LabelStatusError(f"~HS answer string {string} is not printable text: {body!r}")
        if end < 0:
            return None
        tail = buffer[end + 1 : end + 3]
        if not _CRLF.startswith(tail):
            raise LabelStatusError(f"~HS answer string {string} ends ETX {tail!r}, not ETX CR LF")
        if len(tail) < len(_CRLF):
            return None
        bodies.append(body.decode("ascii"))
        pos = end + 1 + len(_CRLF)
    return bodies, pos


def _flag(fields: list[str], index: int, string: int) -> bool:
    if fields[index] not in ("0", "1"):
        raise LabelStatusError(
            f"~HS string {string} field {index + 1} is {fields[index]!r}, not a 0/1 flag"
        )
    return fields[index] == "1"


def _count(fields: list[str], index: int, string: int) -> int:
    text = fields[index]
    if not text.isdigit() or len(text) > _MAX_NUMBER:
        raise LabelStatusError(f"~HS string {string} field {index + 1} is {text!r}, not a count")
    return int(text)


def _strings(data: bytes) -> list[list[str]]:
    framed = _frames(data)
    if framed is None:
        raise LabelStatusError(f"~HS answer is cut short: {data[:80]!r}")
    bodies, end = framed
    if end != len(data):
        raise LabelStatusError(f"{len(data) - end} bytes follow the ~HS answer")
    strings = [body.split(",") for body in bodies]
    for number, (fields, expected) in enumerate(zip(strings, _FIELDS, strict=True), start=1):
        if len(fields) != expected:
            raise LabelStatusError(
                f"~HS string {number} has {len(fields)} fields, not {expected}: "
                f"{bodies[number - 1]!r}"
            )
    return strings


def decode_host_status(data: bytes) -> ZebraHostStatus:
    """Decode a whole ``~HS`` answer; `LabelStatusError` if it is not one."""
    one, two, three = _strings(data)
    mode = two[5]
    if len(mode) != 1 or not mode.isalnum():
        raise LabelStatusError(f"~HS print mode {mode!r} is not one character")
    _count(one, 8, 1)  # unused, but a number in every real answer
    return ZebraHostStatus(
        paper_out=_flag(one, 1, 1),
        paused=_flag(one, 2, 1),
        head_up=_flag(two, 2, 2),
        ribbon_out=_flag(two, 3, 2),
        thermal_transfer=_flag(two, 4, 2),
        buffer_full=_flag(one, 5, 1),
        partial_format=_flag(one, 7, 1),
        corrupt_ram=_flag(one, 9, 1),
        under_temperature=_flag(one, 10, 1),
        over_temperature=_flag(one, 11, 1),
        diagnostic_mode=_flag(one, 6, 1),
        label_waiting=_flag(two, 7, 2),
        static_ram=_flag(three, 1, 3),
        interface_settings=_count(one, 0, 1),
        label_length_dots=_count(one, 3, 1),
        formats_in_buffer=_count(one, 4, 1),
        function_settings=_count(two, 0, 2),
        print_mode=mode,
        print_width_mode=_count(two, 6, 2),
        labels_remaining=_count(two, 8, 2),
        graphics_stored=_count(two, 10, 2),
        password=_count(three, 0, 3),
    )


def encode_host_status(status: ZebraHostStatus) -> bytes:
    """The answer a Zebra printer sends to ``~HS`` (used by the simulator)."""

    def f(flag: bool) -> str:
        return "1" if flag else "0"

    s = status
    one = [f"{s.interface_settings:03d}", f(s.paper_out), f(s.paused),
           f"{s.label_length_dots:04d}", f"{s.formats_in_buffer:03d}", f(s.buffer_full),
           f(s.diagnostic_mode), f(s.partial_format), "000", f(s.corrupt_ram),
           f(s.under_temperature), f(s.over_temperature)]  # fmt: skip
    two = [f"{s.function_settings:03d}", "0", f(s.head_up), f(s.ribbon_out),
           f(s.thermal_transfer), s.print_mode, str(s.print_width_mode), f(s.label_waiting),
           f"{s.labels_remaining:08d}", "1", f"{s.graphics_stored:03d}"]  # fmt: skip
    three = [f"{s.password:04d}", f(s.static_ram)]
    return b"".join(
        b"\x02" + ",".join(fields).encode("ascii") + b"\x03" + _CRLF for fields in (one, two, three)
    )


# --- TSC <ESC>!? --------------------------------------------------------------------------


@dataclass(frozen=True)
class TscStatus:
    """The answer to ``<ESC>!?``, bit by bit (see the module docstring)."""

    head_open: bool = False
    paper_jam: bool = False
    paper_empty: bool = False
    ribbon_empty: bool = False
    paused: bool = False
    printing: bool = False
    cover_open: bool = False
    other_error: bool = False

    def label_status(self) -> LabelStatus:
        """What this answer means for the next label (printing is no fault)."""
        fault = ""
        if self.paper_jam:
            fault = "a paper jam"
        elif self.cover_open:
            fault = "its cover open"
        elif self.other_error:
            fault = "an error (temperature out of range)"
        return LabelStatus(
            online=not fault,
            paper_out=self.paper_empty,
            head_open=self.head_open,
            ribbon_out=self.ribbon_empty,
            paused=self.paused,
            fault=fault,
        )


_TSC_BITS = ("head_open", "paper_jam", "paper_empty", "ribbon_empty", "paused", "printing",
             "cover_open", "other_error")  # fmt: skip


def decode_tsc_status(data: bytes) -> TscStatus:
    """Decode the one-byte answer to ``<ESC>!?``; `LabelStatusError` for any other length."""
    if len(data) != 1:
        raise LabelStatusError(f"<ESC>!? is answered with one byte, got {len(data)}: {data[:8]!r}")
    return TscStatus(*(bool(data[0] >> bit & 1) for bit in range(8)))


def encode_tsc_status(status: TscStatus) -> bytes:
    """The byte a TSC printer sends for ``<ESC>!?`` (used by the simulator)."""
    return bytes((sum(getattr(status, name) << bit for bit, name in enumerate(_TSC_BITS)),))


# --- the query ----------------------------------------------------------------------------


class QueryState(Enum):
    """Where a `LabelStatusQuery` stands."""

    AWAITING = "awaiting the status answer"
    COMPLETE = "complete"
    TIMED_OUT = "timed out"
    FAILED = "failed: the answer was not a status answer"


class QueryEvent(Enum):
    """What can happen to a `LabelStatusQuery`."""

    ANSWER = "a whole, valid answer"
    GARBLED = "bytes that cannot be an answer"
    DEADLINE = "the deadline passed"


TRANSITIONS: dict[tuple[QueryState, QueryEvent], QueryState] = {
    (QueryState.AWAITING, QueryEvent.ANSWER): QueryState.COMPLETE,
    (QueryState.AWAITING, QueryEvent.GARBLED): QueryState.FAILED,
    (QueryState.AWAITING, QueryEvent.DEADLINE): QueryState.TIMED_OUT,
}
"""Every transition of `LabelStatusQuery`; an event in another state is a byte after
the end (`LabelStatusError`) or a late timer (ignored)."""


class LabelStatusQuery(DeadlineQuery[QueryState]):
    """One status request and its answer, sans-I/O (see the module docstring)."""

    def __init__(self, language: str, now: float, timeout: float) -> None:
        """Start a query in `language` ("zpl" or "tspl") at `now`, due within `timeout` s."""
        if language not in STATUS_REQUESTS:
            known = ", ".join(STATUS_REQUESTS)
            raise ValueError(f"no status request for {language!r} printers; there is for {known}")
        super().__init__(now, timeout, STATUS_REQUESTS[language], QueryState.AWAITING)
        self.language = language
        self._buffer = b""
        self._answer: ZebraHostStatus | TscStatus | None = None

    @property
    def done(self) -> bool:
        """True once complete, timed out or failed."""
        return self._state is not QueryState.AWAITING

    def _fire(self, event: QueryEvent) -> None:
        self._state = TRANSITIONS[(self._state, event)]

    def _time_out(self) -> None:
        self._fire(QueryEvent.DEADLINE)

    def receive_data(self, data: bytes) -> None:
        """Take answer bytes in any chunking; `LabelStatusError` for bytes that cannot
        be the answer (the query then fails) or that arrive once it is done."""
        if not data:
            return
        if self.done:
            raise LabelStatusError(
                f"{data[:16]!r} arrived when no answer was due ({self._state.value})"
            )
        self._buffer += data
        try:
            answer = self._decode()
        except LabelStatusError:
            self._fire(QueryEvent.GARBLED)
            raise
        if answer is not None:
            self._answer = answer
            self._fire(QueryEvent.ANSWER)

    def _decode(self) -> ZebraHostStatus | TscStatus | None:
        if self.language == "tspl":
            return decode_tsc_status(self._buffer)
        end = host_status_end(self._buffer)
        return None if end is None else decode_host_status(self._buffer)

    @property
    def answer(self) -> ZebraHostStatus | TscStatus | None:
        """The decoded answer once complete, else None."""
        return self._answer

    @property
    def status(self) -> LabelStatus | None:
        """What the answer means for the next label, once complete; else None."""
        return None if self._answer is None else self._answer.label_status()
