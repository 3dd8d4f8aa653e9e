"""ESC/POS real-time status and cash drawer kick: a sans-I/O codec.

Requests are `DLE EOT n` (10 04 n); each is answered with one byte. The bit
layouts below are those of Epson's "ESC/POS Command Reference" (Application
Programming Guide), command `DLE EOT` ("Transmit real-time status"), the same
in the TM-T88III/IV/V and TM-T20 specifications and copied by Bixolon (SRP-350),
HPRT (TP80K) and Citizen. Bits 0 and 7 are fixed to 0 and bits 1 and 4 fixed
to 1 in every answer, so an answer byte is always of the form 0xx1 xx10; a byte
that is not is not a status answer and raises `EscposStatusError`.

    n=1 printer status      bit 2  drawer kick-out connector pin 3 is HIGH
                            bit 3  offline
                            bit 5  waiting for online recovery
                            bit 6  paper being fed by the FEED button
    n=2 offline cause       bit 2  cover open
                            bit 3  paper being fed by the FEED button
                            bit 5  printing stopped by a paper end
                            bit 6  an error occurred
    n=3 error cause         bit 2  recoverable error (undefined on older models)
                            bit 3  autocutter error
                            bit 5  unrecoverable error
                            bit 6  automatically recoverable error (head hot...)
    n=4 roll paper sensor   bits 2,3  near-end sensor: paper near end (both set)
                            bits 5,6  end sensor: paper not present (both set)

The manuals set bits 2,3 (and 5,6) together; some clones set only one of the
pair, so either bit counts (the near-end/end sensor enable rule of `ESC c 3`).
python-escpos's own constants agree: `RT_MASK_ONLINE` = 0x08 (n=1 bit 3),
`RT_MASK_LOWPAPER` = 0x1E and `RT_MASK_NOPAPER` = 0x72 (n=4).

Pin 3 of the drawer connector is a switch in the drawer: whether HIGH means
open or closed depends on the drawer, so the device profile's
`drawer_open_level_high` decides, and `None` there means the printer (or its
drawer) has no sensor to report.

The drawer is kicked with `ESC p m t1 t2` ("Generate pulse"): m=0 pin 2, m=1
pin 5; the pulse is on for t1 x 2 ms and off for t2 x 2 ms (Epson ESC/POS
Command Reference, `ESC p`; the Star and Citizen manuals say the same).

Theory of operation of `StatusQuery`: the four requests are sent one at a
time and the next only after the previous answer, because every answer has
the same fixed bits: a printer that ignored one request would otherwise shift
the answers into the wrong slots without anyone noticing. One deadline covers
the whole exchange; the caller asks `next_deadline()`, waits for bytes until
then, and calls `handle_timer(now)` when it passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from hw.ports import KickResult, PrinterStatus
from hw.protocols.errors import CodecError
from hw.protocols.query import DeadlineQuery

DLE_EOT = b"\x10\x04"
"""The real-time status request prefix; `n` follows."""
ESC_P = b"\x1bp"
"""The drawer pulse command prefix; `m t1 t2` follow."""

_FIXED_MASK = 0b1001_0011  # bits 0, 1, 4, 7
_FIXED_VALUE = 0b0001_0010  # bits 1 and 4 on, 0 and 7 off
_PULSE_UNIT_MS = 2
_DRAWER_PIN_M = {2: 0, 5: 1}


class EscposStatusError(CodecError):
    """A status byte that is not a DLE EOT answer, or one that came when none was due."""


class StatusRequest(IntEnum):
    """The `n` of `DLE EOT n`: which status byte to ask for."""

    PRINTER = 1
    OFFLINE_CAUSE = 2
    ERROR_CAUSE = 3
    ROLL_PAPER = 4


def status_request(n: StatusRequest) -> bytes:
    """The bytes of `DLE EOT n`."""
    return DLE_EOT + bytes((n,))


def _bit(byte: int, index: int) -> bool:
    return bool(byte >> index & 1)


def _pair(byte: int, low: int) -> bool:
    # Either bit of a sensor pair counts (see the module docstring).
    return _bit(byte, low) or _bit(byte, low + 1)


def _checked(byte: int, request: StatusRequest) -> int:
    if not 0 <= byte <= 0xFF or byte & _FIXED_MASK != _FIXED_VALUE:
        raise EscposStatusError(
            f"0x{byte:02X} is not an answer to DLE EOT {int(request)} ({request.name.lower()}): "
            f"bits 1 and 4 must be on and bits 0 and 7 off"
        )
    return byte


def _byte(*bits: tuple[int, bool]) -> bytes:
    value = _FIXED_VALUE
    for index, on in bits:
        value |= on << index
    return bytes((value,))


@dataclass(frozen=True)
class PrinterByte:
    """The answer to DLE EOT 1 (printer status)."""

    drawer_pin3_high: bool = False
    offline: bool = False
    waiting_online_recovery: bool = False
    feed_button: bool = False


@dataclass(frozen=True)
class OfflineCause:
    """The answer to DLE EOT 2 (why the printer is offline)."""

    cover_open: bool = False
    feed_button: bool = False
    paper_end_stop: bool = False
    error: bool = False


@dataclass(frozen=True)
class ErrorCause:
    """The answer to DLE EOT 3 (which error the printer has)."""

    recoverable: bool = False
    autocutter: bool = False
    unrecoverable: bool = False
    auto_recoverable: bool = False


@dataclass(frozen=True)
class RollPaper:
    """The answer to DLE EOT 4 (roll paper sensors)."""

    near_end: bool = False
    paper_out: bool = False


def decode_printer(byte: int) -> PrinterByte:
    """Decode the answer to DLE EOT 1; raises `EscposStatusError` on wrong fixed bits."""
    b = _checked(byte, StatusRequest.PRINTER)
    return PrinterByte(_bit(b, 2), _bit(b, 3), _bit(b, 5), _bit(b, 6))


def decode_offline_cause(byte: int) -> OfflineCause:
    """Decode the answer to DLE EOT 2; raises `EscposStatusError` on wrong fixed bits."""
    b = _checked(byte, StatusRequest.OFFLINE_CAUSE)
    return OfflineCause(_bit(b, 2), _bit(b, 3), _bit(b, 5), _bit(b, 6))


def decode_error_cause(byte: int) -> ErrorCause:
    """Decode the answer to DLE EOT 3; raises `EscposStatusError` on wrong fixed bits."""
    b = _checked(byte, StatusRequest.ERROR_CAUSE)
    return ErrorCause(_bit(b, 2), _bit(b, 3), _bit(b, 5), _bit(b, 6))


def decode_roll_paper(byte: int) -> RollPaper:
    """Decode the answer to DLE EOT 4; raises `EscposStatusError` on wrong fixed bits."""
    b = _checked(byte, StatusRequest.ROLL_PAPER)
    return RollPaper(_pair(b, 2), _pair(b, 5))


def encode_status_printer(answer: PrinterByte) -> bytes:
    """The byte a printer sends for DLE EOT 1 (used by the simulator)."""
    return _byte(
        (2, answer.drawer_pin3_high),
        (3, answer.offline),
        (5, answer.waiting_online_recovery),
        (6, answer.feed_button),
    )


def encode_status_offline_cause(answer: OfflineCause) -> bytes:
    """The byte a printer sends for DLE EOT 2 (used by the simulator)."""
    return _byte(
        (2, answer.cover_open),
        (3, answer.feed_button),
        (5, answer.paper_end_stop),
        (6, answer.error),
    )


def encode_status_error_cause(answer: ErrorCause) -> bytes:
    """The byte a printer sends for DLE EOT 3 (used by the simulator)."""
    return _byte(
        (2, answer.recoverable),
        (3, answer.autocutter),
        (5, answer.unrecoverable),
        (6, answer.auto_recoverable),
    )


def encode_status_roll_paper(answer: RollPaper) -> bytes:
    """The byte a printer sends for DLE EOT 4 (used by the simulator)."""
    return _byte(
        (2, answer.near_end), (3, answer.near_end), (5, answer.paper_out), (6, answer.paper_out)
    )


@dataclass(frozen=True)
class StatusAnswers:
    """All four decoded answers, for messages that need more than `PrinterStatus`."""

    printer: PrinterByte
    offline_cause: OfflineCause
    error_cause: ErrorCause
    roll_paper: RollPaper


def assemble_status(answers: StatusAnswers, drawer_open_level_high: bool | None) -> PrinterStatus:
    """The `PrinterStatus` the four answers describe.

    `drawer_open_level_high`: True if pin 3 HIGH means the drawer is open,
    False if LOW means open, None if this printer does not report the drawer.
    """
    paper_out = answers.roll_paper.paper_out or answers.offline_cause.paper_end_stop
    drawer_open = None
    if drawer_open_level_high is not None:
        drawer_open = answers.printer.drawer_pin3_high == drawer_open_level_high
    return PrinterStatus(
        online=not answers.printer.offline,
        cover_open=answers.offline_cause.cover_open,
        paper_near_end=answers.roll_paper.near_end,
        paper_out=paper_out,
        drawer_open=drawer_open,
    )


def drawer_kick(pin: int = 2, on_ms: int = 100, off_ms: int = 500) -> bytes:
    """`ESC p m t1 t2`: pulse drawer connector `pin` (2 or 5) on `on_ms`, then off `off_ms`.

    Times are rounded to the 2 ms unit and must come to 1..255 units (2..510 ms).
    The default 100 ms on / 500 ms off keeps the solenoid's duty cycle under the
    20% the drawer makers ask for.
    """
    if pin not in _DRAWER_PIN_M:
        raise ValueError(f"drawer pin {pin} does not exist: the connector has pins 2 and 5")
    units = []
    for name, ms in (("on", on_ms), ("off", off_ms)):
        unit = round(ms / _PULSE_UNIT_MS)
        if not 1 <= unit <= 255:
            raise ValueError(f"drawer pulse {name} time {ms} ms is outside 2..510 ms")
        units.append(unit)
    return ESC_P + bytes((_DRAWER_PIN_M[pin], *units))


# --- the status query ------------------------------------------------------------------


class QueryState(Enum):
    """Where a `StatusQuery` stands."""

    AWAITING_PRINTER = "awaiting the answer to DLE EOT 1 (printer status)"
    AWAITING_OFFLINE_CAUSE = "awaiting the answer to DLE EOT 2 (offline cause)"
    AWAITING_ERROR_CAUSE = "awaiting the answer to DLE EOT 3 (error cause)"
    AWAITING_ROLL_PAPER = "awaiting the answer to DLE EOT 4 (roll paper sensor)"
    COMPLETE = "complete"
    TIMED_OUT = "timed out"
    FAILED = "failed: the printer sent a byte that is not a status answer"


class QueryEvent(Enum):
    """What can happen to a `StatusQuery`."""

    ANSWER = "a valid answer byte"
    GARBLED = "a byte with wrong fixed bits"
    DEADLINE = "the deadline passed"


_S = QueryState
_E = QueryEvent
_AWAITING = (_S.AWAITING_PRINTER, _S.AWAITING_OFFLINE_CAUSE, _S.AWAITING_ERROR_CAUSE,
             _S.AWAITING_ROLL_PAPER)  # fmt: skip

TRANSITIONS: dict[tuple[QueryState, QueryEvent], QueryState] = {
    (_S.AWAITING_PRINTER, _E.ANSWER): _S.AWAITING_OFFLINE_CAUSE,
    (_S.AWAITING_OFFLINE_CAUSE, _E.ANSWER): _S.AWAITING_ERROR_CAUSE,
    (_S.AWAITING_ERROR_CAUSE, _E.ANSWER): _S.AWAITING_ROLL_PAPER,
    (_S.AWAITING_ROLL_PAPER, _E.ANSWER): _S.COMPLETE,
    **{(state, _E.GARBLED): _S.FAILED for state in _AWAITING},
    **{(state, _E.DEADLINE): _S.TIMED_OUT for state in _AWAITING},
}
"""Every transition of `StatusQuery`, in one table; a pair not in it is an event in the
wrong state (a byte after the end: `EscposStatusError`; a late timer: ignored)."""

_REQUEST_FOR = dict(zip(_AWAITING, StatusRequest, strict=True))


class StatusQuery(DeadlineQuery[QueryState]):
    """One round of DLE EOT 1..4, sans-I/O: bytes out, bytes in, a status or a timeout.

    Use: send `data_to_send()`, feed what arrives to `receive_data()`, call
    `handle_timer(now)` once `next_deadline()` has passed, and repeat until
    `done`. Then `status` is the result, or `state` is `TIMED_OUT` / `FAILED`.
    """

    def __init__(self, now: float, timeout: float, drawer_open_level_high: bool | None) -> None:
        """Start a query at `now` that must be answered within `timeout` seconds."""
        first = status_request(StatusRequest.PRINTER)
        super().__init__(now, timeout, first, QueryState.AWAITING_PRINTER)
        self._drawer_open_level_high = drawer_open_level_high
        self._answers: list[int] = []

    @property
    def done(self) -> bool:
        """True once the query is complete, timed out or failed."""
        return self._state not in _AWAITING

    @property
    def waiting_for(self) -> StatusRequest | None:
        """The request whose answer is awaited (None once done)."""
        return _REQUEST_FOR.get(self._state)

    def _fire(self, event: QueryEvent) -> None:
        self._state = TRANSITIONS[(self._state, event)]
        request = _REQUEST_FOR.get(self._state)
        if event is QueryEvent.ANSWER and request is not None:
            self._outgoing += status_request(request)

    def _time_out(self) -> None:
        self._fire(QueryEvent.DEADLINE)

    def receive_data(self, data: bytes) -> None:
        """Take answer bytes, in any chunking.

        Raises `EscposStatusError` for a byte with wrong fixed bits (the query
        then fails) or for a byte that arrives when no answer is due.
        """
        for byte in data:
            request = _REQUEST_FOR.get(self._state)
            if request is None:
                raise EscposStatusError(
                    f"status byte 0x{byte:02X} arrived when none was due "
                    f"(query {self._state.value})"
                )
            try:
                _checked(byte, request)
            except EscposStatusError:
                self._fire(QueryEvent.GARBLED)
                raise
            self._answers.append(byte)
            self._fire(QueryEvent.ANSWER)

    @property
    def answers(self) -> StatusAnswers | None:
        """All four decoded answers once complete."""
        if self._state is not QueryState.COMPLETE:
            return None
        printer, offline, error, paper = self._answers
        return StatusAnswers(
            decode_printer(printer),
            decode_offline_cause(offline),
            decode_error_cause(error),
            decode_roll_paper(paper),
        )

    @property
    def status(self) -> PrinterStatus | None:
        """The printer's status once complete, else None."""
        answers = self.answers
        if answers is None:
            return None
        return assemble_status(answers, self._drawer_open_level_high)


# --- kick confirmation -----------------------------------------------------------------

NOT_REPORTED = "this printer does not report the drawer"
"""The detail of a kick on a printer or drawer without a drawer sensor."""


class KickConfirmation:
    """Whether a drawer kick was seen to open the drawer before a deadline.

    Fed the status from before the kick, then each status polled after it. A
    kick is confirmed only by a status that shows the drawer open after it was
    closed; one that never shows open by the deadline is reported unconfirmed,
    never assumed (a peer's drawer opened 2 times in 10 and nobody knew).
    This is a deadline watch, not a state machine: it is pending until it has
    a `result`, which never changes after.
    """

    def __init__(self, now: float, timeout: float, before: PrinterStatus) -> None:
        """Start watching at `now` (just after the kick was sent), for `timeout` seconds."""
        self._deadline = now + timeout
        self._timeout = timeout
        self.result: KickResult | None = None
        """The outcome; None while still waiting."""
        if before.drawer_open is None:
            self.result = KickResult(False, NOT_REPORTED)
        elif before.drawer_open:
            self.result = KickResult(
                False, "the drawer was already open before the kick: close it and try again"
            )

    def observe(self, status: PrinterStatus, now: float) -> None:
        """Take a status polled at `now`; ignored once there is a result."""
        if self.result is not None:
            return
        if status.drawer_open is None:
            self.result = KickResult(False, NOT_REPORTED)
        elif status.drawer_open:
            self.result = KickResult(True, "the drawer reported open")
        else:
            self.handle_timer(now)

    def handle_timer(self, now: float) -> None:
        """Give up if `now` is at or past the deadline."""
        if self.result is None and now >= self._deadline:
            self.result = KickResult(
                False,
                f"the drawer did not report open within {self._timeout:g} s of the kick: "
                "check the drawer cable to the printer, or open it with its key",
            )

    def next_deadline(self) -> float | None:
        """When to give up; None once there is a result."""
        return None if self.result is not None else self._deadline
