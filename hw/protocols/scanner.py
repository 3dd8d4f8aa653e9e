"""Barcode scanner codecs, sans-I/O: serial framing and keyboard-wedge scan detection.

A scanner reaches the register in one of two ways, and each has a decoder here.
Neither does I/O or reads a clock: bytes or keystrokes come in with `now` (seconds
on any monotonic clock), events go out, and `next_deadline()` says when the
caller must call `handle_timeout(now)` if nothing else arrives first.

Theory of operation, serial (`SerialFramer`): a serial scanner sends
``prefix + code + suffix`` for every scan, in whatever chunks the UART and the
OS deliver. The framer buffers bytes and cuts a frame at each suffix. A frame
becomes a `ScannedCode` only if it starts with the configured prefix (which is
stripped), is not longer than ``max_length`` and is printable ASCII; anything
else becomes a `ScannerFrameError` naming what was wrong, and the next frame is
decoded afresh. Two things resynchronise the framer after line noise:

- overflow: more bytes than the longest legal frame with no suffix in sight is
  garbage. The framer reports it and enters DISCARDING, where it drops bytes up
  to and including the next suffix, so the garbage's tail can never pose as a code;
- silence: a scanner sends a whole frame in a few milliseconds, so bytes left
  waiting ``frame_timeout`` seconds with no suffix are half a code (a cable pulled
  mid-scan). They are reported and dropped; they must not be glued to the front
  of the next scan. Silence also ends DISCARDING.

A `ScannerFrameError` is both an exception and an event: `next_event()` raises it
(after dropping the bad frame, so the next call carries on), `feed()` returns it
in the list beside the codes.

Theory of operation, wedge (`WedgeDecoder`): a keyboard-wedge scanner types the
code as keystrokes followed by Enter, far faster than a person types. Keys whose
gaps from the previous key are all under ``max_gap`` form a burst (state BURST);
a burst of at least ``min_chars`` characters that starts with the prefix and is
ended by Enter, still under ``max_gap``, is a scan. A key arriving ``max_gap`` or
more after the previous one (or the deadline passing) ends the burst: what was
held back is passed through as `TypedText`, because a person typed it. The cost
is that typed text reaches the screen ``max_gap`` late, a few tens of ms.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from hw.protocols.errors import CodecError


class ScannerFrameError(CodecError):
    """Bytes from a serial scanner that are not a code; `raw` holds them (truncated)."""

    def __init__(self, reason: str, raw: bytes) -> None:
        self.reason = reason
        self.raw = raw[:64]
        shown = self.raw.hex(" ") + (" ..." if len(raw) > 64 else "")
        super().__init__(f"{reason} (bytes: {shown or 'none'})")


@dataclass(frozen=True)
class ScannedCode:
    """One code read by the scanner, prefix and suffix removed."""

    code: str


@dataclass(frozen=True)
class TypedText:
    """Keys a person typed on the wedge's keyboard, passed through in order."""

    text: str


@dataclass(frozen=True)
class Keystroke:
    """One key from a keyboard wedge: the character it produced, and when."""

    char: str
    at: float


SerialEvent = ScannedCode | ScannerFrameError
"""What `SerialFramer.feed` returns: codes, and bad frames as values."""

WedgeEvent = ScannedCode | TypedText
"""What `WedgeDecoder` returns: scans, and what a person typed."""


# --- serial framing ----------------------------------------------------------------


@dataclass(frozen=True)
class SerialFraming:
    """How a serial scanner frames its codes (from the profile's scanner quirks)."""

    suffix: bytes = b"\r"
    prefix: bytes = b""
    max_length: int = 128
    frame_timeout: float = 0.5

    def __post_init__(self) -> None:
        if not self.suffix:
            raise ValueError("suffix must not be empty: it is what ends a code")
        if self.suffix in self.prefix:
            raise ValueError(f"prefix {self.prefix!r} contains the suffix {self.suffix!r}")
        if self.max_length < 1 or self.frame_timeout <= 0:
            raise ValueError("max_length must be at least 1 and frame_timeout positive")


class FrameState(Enum):
    """Where the serial framer is."""

    COLLECTING = "collecting"  # bytes so far may be the start of a code
    DISCARDING = "discarding"  # dropping an overlong frame up to its suffix


class FrameInput(Enum):
    """What moves the serial framer."""

    SUFFIX = "suffix"  # a suffix was found in the buffer
    OVERFLOW = "overflow"  # more bytes than the longest legal frame, no suffix
    SILENCE = "silence"  # frame_timeout passed since the last byte


FRAME_TRANSITIONS: Mapping[tuple[FrameState, FrameInput], FrameState] = {
    (FrameState.COLLECTING, FrameInput.SUFFIX): FrameState.COLLECTING,
    (FrameState.COLLECTING, FrameInput.OVERFLOW): FrameState.DISCARDING,
    (FrameState.COLLECTING, FrameInput.SILENCE): FrameState.COLLECTING,
    (FrameState.DISCARDING, FrameInput.SUFFIX): FrameState.COLLECTING,
    (FrameState.DISCARDING, FrameInput.SILENCE): FrameState.COLLECTING,
}
"""Every transition of the serial framer; the theory of operation says why."""


class SerialFramer:
    """Bytes from a serial scanner in arbitrary chunks, codes and frame errors out."""

    def __init__(self, framing: SerialFraming) -> None:
        self.framing = framing
        self._state = FrameState.COLLECTING
        self._buffer = bytearray()
        self._last_byte_at: float | None = None
        self._events: deque[SerialEvent] = deque()
        # A suffix may arrive split across two reads: keep its possible start.
        self._keep = len(framing.suffix) - 1
        self._limit = len(framing.prefix) + framing.max_length + self._keep

    @property
    def state(self) -> FrameState:
        """The framer's current state."""
        return self._state

    def receive_data(self, data: bytes, now: float) -> None:
        """Take bytes read at `now`; decoded events wait for `next_event()`."""
        self.handle_timeout(now)  # silence before these bytes ends any half code
        if data:
            self._buffer += data
            self._last_byte_at = now
            self._split()

    def next_event(self) -> ScannedCode | None:
        """The next code, or None; raises `ScannerFrameError` for a bad frame (then carries on)."""
        if not self._events:
            return None
        event = self._events.popleft()
        if isinstance(event, ScannerFrameError):
            raise event
        return event

    def feed(self, data: bytes, now: float) -> list[SerialEvent]:
        """`receive_data`, then every pending event, frame errors as values."""
        self.receive_data(data, now)
        events = list(self._events)
        self._events.clear()
        return events

    def next_deadline(self) -> float | None:
        """When a half code (or a discard) ends if no byte comes; None if nothing waits."""
        waiting = bool(self._buffer) or self._state is FrameState.DISCARDING
        if self._last_byte_at is None or not waiting:
            return None
        return self._last_byte_at + self.framing.frame_timeout

    def handle_timeout(self, now: float) -> None:
        """Give up on bytes that have waited past `next_deadline()`, reporting a half code."""
        deadline = self.next_deadline()
        if deadline is None or now < deadline:
            return
        if self._state is FrameState.COLLECTING:
            self._error("incomplete code: no suffix before the line went quiet", self._buffer)
        self._buffer.clear()
        self._step(FrameInput.SILENCE)

    def _step(self, event: FrameInput) -> None:
        self._state = FRAME_TRANSITIONS[self._state, event]

    def _error(self, reason: str, raw: bytes | bytearray) -> None:
        self._events.append(ScannerFrameError(reason, bytes(raw)))

    def _split(self) -> None:
        suffix = self.framing.suffix
        while True:
            end = self._buffer.find(suffix)
            if self._state is FrameState.DISCARDING:
                if end < 0:
                    del self._buffer[: max(0, len(self._buffer) - self._keep)]
                    return
                del self._buffer[: end + len(suffix)]
                self._step(FrameInput.SUFFIX)
            elif end >= 0:
                frame = bytes(self._buffer[:end])
                del self._buffer[: end + len(suffix)]
                self._step(FrameInput.SUFFIX)
                self._decode(frame)
            elif len(self._buffer) > self._limit:
                reason = f"no suffix within {self.framing.max_length} characters"
                self._error(reason, self._buffer)
                self._step(FrameInput.OVERFLOW)
            else:
                return

    def _decode(self, frame: bytes) -> None:
        if not frame:
            return  # a doubled terminator: nothing was scanned, nothing to report
        prefix, max_length = self.framing.prefix, self.framing.max_length
        if not frame.startswith(prefix):
            self._error(f"code does not start with the prefix {prefix!r}", frame)
            return
        code = frame[len(prefix) :]
        if not code:
            self._error("prefix with no code after it", frame)
            return
        if len(code) > max_length:
            self._error(f"code of {len(code)} characters, longer than {max_length}", frame)
            return
        bad = next((i for i, b in enumerate(code) if not 0x20 <= b < 0x7F), None)
        if bad is not None:
            hint = " (is the suffix set to what the scanner sends?)" if code[bad] in b"\r\n" else ""
            self._error(f"non-printable byte 0x{code[bad]:02x} at position {bad}{hint}", frame)
            return
        self._events.append(ScannedCode(code.decode("ascii")))


# --- keyboard wedge ----------------------------------------------------------------

ENTER_KEYS = frozenset({"\r", "\n"})
"""Characters a wedge's Enter key may arrive as."""


@dataclass(frozen=True)
class WedgeTiming:
    """What tells a wedge scan from typing: burst length, key gap and prefix."""

    min_chars: int = 4
    max_gap: float = 0.035
    prefix: str = ""

    def __post_init__(self) -> None:
        if self.min_chars < 1 or self.max_gap <= 0:
            raise ValueError("min_chars must be at least 1 and max_gap positive")


class WedgeState(Enum):
    """Where the wedge decoder is."""

    IDLE = "idle"  # nothing held back
    BURST = "burst"  # holding keys that came fast enough to be a scan


class WedgeInput(Enum):
    """What moves the wedge decoder."""

    KEY = "key"  # a non-Enter key, under max_gap after the previous one (or first)
    ENTER = "enter"  # Enter, under max_gap after the previous key (or first)
    SILENCE = "silence"  # max_gap passed since the last key


WEDGE_TRANSITIONS: Mapping[tuple[WedgeState, WedgeInput], WedgeState] = {
    (WedgeState.IDLE, WedgeInput.KEY): WedgeState.BURST,
    (WedgeState.IDLE, WedgeInput.ENTER): WedgeState.IDLE,
    (WedgeState.BURST, WedgeInput.KEY): WedgeState.BURST,
    (WedgeState.BURST, WedgeInput.ENTER): WedgeState.IDLE,
    (WedgeState.BURST, WedgeInput.SILENCE): WedgeState.IDLE,
}
"""Every transition of the wedge decoder; SILENCE while IDLE has nothing to do."""


class WedgeDecoder:
    """Keystrokes in with their times; scans and typed text out."""

    def __init__(self, timing: WedgeTiming) -> None:
        self.timing = timing
        self._state = WedgeState.IDLE
        self._held: list[str] = []
        self._last_at = 0.0

    @property
    def state(self) -> WedgeState:
        """The decoder's current state."""
        return self._state

    def key(self, char: str, now: float) -> list[WedgeEvent]:
        """One keystroke at `now`; returns whatever it decides."""
        if len(char) != 1:
            raise ValueError(f"a keystroke is one character, got {char!r}")
        events = self.handle_timeout(now)  # a slow key ends the burst before it
        if char in ENTER_KEYS:
            events.append(self._enter(char))
            self._step(WedgeInput.ENTER)
        else:
            self._held.append(char)
            self._last_at = now
            self._step(WedgeInput.KEY)
        return events

    def feed(self, keys: list[Keystroke]) -> list[WedgeEvent]:
        """Several keystrokes in order; all the events they produce."""
        events: list[WedgeEvent] = []
        for k in keys:
            events += self.key(k.char, k.at)
        return events

    def next_deadline(self) -> float | None:
        """When held keys become typed text if no key comes; None when nothing is held."""
        if self._state is WedgeState.IDLE:
            return None
        return self._last_at + self.timing.max_gap

    def handle_timeout(self, now: float) -> list[WedgeEvent]:
        """Pass held keys through as typed text once `next_deadline()` has passed."""
        deadline = self.next_deadline()
        if deadline is None or now < deadline:
            return []
        text = "".join(self._held)
        self._held.clear()
        self._step(WedgeInput.SILENCE)
        return [TypedText(text)]

    def _enter(self, char: str) -> WedgeEvent:
        burst = "".join(self._held)
        self._held.clear()
        prefix = self.timing.prefix
        is_scan = (
            len(burst) >= self.timing.min_chars
            and burst.startswith(prefix)
            and len(burst) > len(prefix)
        )
        if is_scan:
            return ScannedCode(burst[len(prefix) :])
        return TypedText(burst + char)

    def _step(self, event: WedgeInput) -> None:
        self._state = WEDGE_TRANSITIONS[self._state, event]
