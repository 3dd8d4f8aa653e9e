"""A sans-I/O ESC/POS interpreter: printer bytes in (any chunking), events out.

It reads back what `hw.escpos_render` and python-escpos send, for the printer
simulator and for tests: text lines with their style and alignment, cuts,
drawer kicks, status requests, barcodes, QR codes and raster images. What it
does not model is reported as `UnknownCommand` rather than dropped, so a test
or a field tech sees it; formatting it does not need (line spacing, fonts,
print density...) is consumed silently, so its parameters are never read as
text. Only input no printer could make sense of (a length out of range, a
command that never ends) raises `EscposParseError`, after which parsing goes
on with the next byte.

Command layouts follow Epson's "ESC/POS Command Reference" (TM series); the
drawer and status commands are described in `hw.protocols.escpos_status`.

Text is decoded with the code page selected by `ESC t n`. A line is emitted
at LF (or `ESC d n`, or before a cut) with the style and alignment in force
when its first character arrived, as a real printer lays out a line. Text
still waiting for its LF when the stream ends is not printed, as on paper.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable

from hw.document import Align, Style
from hw.protocols.errors import CodecError
from hw.protocols.escpos_events import (
    BarcodePrinted,
    DrawerKick,
    ImagePrinted,
    PaperCut,
    ParseEvent,
    PrintedLine,
    QRPrinted,
    StatusRequested,
    UnknownCommand,
)

__all__ = [
    "BarcodePrinted",
    "DrawerKick",
    "EscposInterpreter",
    "EscposParseError",
    "ImagePrinted",
    "PaperCut",
    "ParseEvent",
    "PrintedLine",
    "QRPrinted",
    "StatusRequested",
    "UnknownCommand",
]


class EscposParseError(CodecError):
    """Bytes no ESC/POS printer could make sense of; the message names the command."""


_ESC, _GS, _DLE, _FS = 0x1B, 0x1D, 0x10, 0x1C
_TEXT = re.compile(rb"[\x20-\xff]+")
_IGNORED_CONTROLS = frozenset({0x00, 0x07, 0x0B, 0x0C, 0x0D, 0x18})  # NUL BEL VT FF CR CAN
_ALIGNS = {0: Align.LEFT, 48: Align.LEFT, 1: Align.CENTER, 49: Align.CENTER,
           2: Align.RIGHT, 50: Align.RIGHT}  # fmt: skip
_PINS = {0: 2, 48: 2, 1: 5, 49: 5}
_CODE_PAGES = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 16: "cp1252",
               17: "cp866", 18: "cp852", 19: "cp858"}  # fmt: skip
_SYMBOLOGY_A = {0: "UPC-A", 1: "UPC-E", 2: "EAN13", 3: "EAN8", 4: "CODE39", 5: "ITF",
                6: "CODABAR"}  # fmt: skip
_SYMBOLOGY_B = {65 + m: name for m, name in _SYMBOLOGY_A.items()} | {
    72: "CODE93", 73: "CODE128", 74: "GS1-128", 75: "GS1 DATABAR OMNIDIRECTIONAL",
    76: "GS1 DATABAR TRUNCATED", 77: "GS1 DATABAR LIMITED", 78: "GS1 DATABAR EXPANDED",
}  # fmt: skip
_CODE128_ESCAPE = re.compile(r"\{(.)", re.DOTALL)
_CUTS = {0: (False, 0), 48: (False, 0), 1: (True, 0), 49: (True, 0), 65: (False, 1),
         66: (True, 1), 97: (False, 1), 98: (True, 1), 103: (False, 1), 104: (True, 1)}  # fmt: skip
_DC4_NOT_SIMULATED = {2: 2, 3: 5, 7: 1, 8: 7}  # fn -> parameter bytes
_QR, _QR_SIZE, _QR_STORE, _QR_PRINT = 49, 67, 80, 81
_QR_SETTINGS = frozenset({65, 69})  # model, error correction: nothing to show
_GRAPHICS_STORE, _GRAPHICS_PRINT = frozenset({112}), frozenset({2, 50})
_MAX_BARCODE_A = 255


class _Malformed(Exception):
    """Raised by a handler: `used` bytes are skipped, then `EscposParseError`."""

    def __init__(self, used: int, message: str) -> None:
        super().__init__(message)
        self.used = used


def _code128_text(data: str) -> str:
    # "{B" selects code set B, "{1" is FNC1...; "{{" is a literal brace.
    return _CODE128_ESCAPE.sub(lambda m: "{" if m.group(1) == "{" else "", data)


class EscposInterpreter:
    """ESC/POS bytes in, `ParseEvent`s out; no I/O.

    `receive(data)` buffers bytes; `next_event()` returns the next event, or
    None when more bytes are needed. It raises `EscposParseError` for a
    malformed command, already skipped, so calling it again carries on.
    """

    def __init__(self) -> None:
        """A printer just switched on."""
        self._buf = bytearray()
        self._pos = 0
        self._events: deque[ParseEvent] = deque()
        self._reset()

    def _reset(self) -> None:
        self._bold = self._underline = self._invert = False
        self._double_width = self._double_height = False
        self._align = Align.LEFT
        self._codec = "cp437"
        self._line: list[str] = []
        self._line_style = Style()
        self._line_align = Align.LEFT
        self._qr_data: str | None = None
        self._qr_size = 3
        self._graphics: tuple[int, int] | None = None

    @property
    def pending(self) -> bytes:
        """Bytes received but not yet parsed (an incomplete command)."""
        return bytes(self._buf[self._pos :])

    def receive(self, data: bytes) -> None:
        """Buffer `data` for parsing."""
        del self._buf[: self._pos]
        self._pos = 0
        self._buf += data

    def next_event(self) -> ParseEvent | None:
        """The next event, or None until more bytes arrive."""
        while not self._events:
            if not self._step():
                return None
        return self._events.popleft()

    def events(self) -> list[ParseEvent]:
        """Every event the buffered bytes make (raises on the first malformed command)."""
        out: list[ParseEvent] = []
        while (event := self.next_event()) is not None:
            out.append(event)
        return out

    # --- dispatch ---------------------------------------------------------------------

    def _step(self) -> bool:
        buf, pos = self._buf, self._pos
        if pos >= len(buf):
            return False
        text = _TEXT.match(buf, pos)
        if text is not None:
            self._text(bytes(text.group()).decode(self._codec, errors="replace"))
            self._pos = text.end()
            return True
        try:
            used = self._command(buf, pos)
        except _Malformed as bad:
            self._pos = pos + bad.used
            raise EscposParseError(str(bad)) from None
        if used is None:
            return False
        self._pos = pos + used
        return True

    def _command(self, buf: bytearray, pos: int) -> int | None:
        first = buf[pos]
        if first not in (_ESC, _GS, _DLE, _FS):
            return _CONTROLS.get(first, EscposInterpreter._unknown_control)(self, first)
        if len(buf) - pos < 2:
            return None
        prefix = bytes(buf[pos : pos + 2])
        fixed = _FIXED.get(prefix)
        if fixed is not None:
            size = 2 + fixed[0]
            if len(buf) - pos < size:
                return None
            if fixed[1] is not None:
                fixed[1](self, bytes(buf[pos : pos + size]))
            return size
        variable = _VARIABLE.get(prefix)
        if variable is not None:
            return variable(self, buf, pos)
        self._unknown(prefix, "command not known to this interpreter")
        return 2

    def _unknown(self, data: bytes, reason: str) -> None:
        self._events.append(UnknownCommand(data, reason))

    # --- text -------------------------------------------------------------------------

    def _style(self) -> Style:
        return Style(self._bold, self._underline, self._double_width, self._double_height,
                     self._invert)  # fmt: skip

    def _text(self, text: str) -> None:
        if not self._line:
            self._line_style, self._line_align = self._style(), self._align
        self._line.append(text)

    def _flush_line(self, force: bool) -> None:
        if not (force or self._line):
            return
        if not self._line:
            self._line_style, self._line_align = self._style(), self._align
        self._events.append(PrintedLine("".join(self._line), self._line_style, self._line_align))
        self._line = []

    def _line_feed(self, _byte: int) -> int:
        self._flush_line(force=True)
        return 1

    def _tab(self, _byte: int) -> int:
        self._text(" ")
        return 1

    def _ignore_control(self, _byte: int) -> int:
        return 1

    def _unknown_control(self, byte: int) -> int:
        self._unknown(bytes((byte,)), f"control byte 0x{byte:02X} has no meaning in ESC/POS")
        return 1

    # --- fixed-length commands: `command` is the whole command --------------------------

    def _init(self, _command: bytes) -> None:
        self._reset()

    def _print_mode(self, command: bytes) -> None:
        n = command[2]
        self._bold, self._double_height = bool(n & 0x08), bool(n & 0x10)
        self._double_width, self._underline = bool(n & 0x20), bool(n & 0x80)

    def _set_bold(self, command: bytes) -> None:
        self._bold = bool(command[2] & 1)

    def _set_underline(self, command: bytes) -> None:
        self._underline = bool(command[2] & 0x03)  # 1, 2, 49, 50 on; 0, 48 off

    def _set_invert(self, command: bytes) -> None:
        self._invert = bool(command[2] & 1)

    def _char_size(self, command: bytes) -> None:
        n = command[2]
        self._double_width, self._double_height = bool(n & 0x70), bool(n & 0x07)

    def _set_align(self, command: bytes) -> None:
        align = _ALIGNS.get(command[2])
        if align is None:
            self._unknown(command, f"justification {command[2]} is out of range; ignored")
            return
        self._align = align

    def _code_page(self, command: bytes) -> None:
        codec = _CODE_PAGES.get(command[2])
        if codec is None:
            self._unknown(command, f"code page {command[2]} is not known; reading CP437")
            codec = "cp437"
        self._codec = codec

    def _feed_lines(self, command: bytes) -> None:
        # ESC d n prints the buffer and feeds n lines; n=0 prints without feeding.
        lines = max(command[2], 1 if self._line else 0)
        for _ in range(lines):
            self._flush_line(force=True)

    def _drawer_pulse(self, command: bytes) -> None:
        pin = _PINS.get(command[2])
        if pin is None:
            self._unknown(command, f"ESC p connector {command[2]} does not exist; ignored")
            return
        self._events.append(DrawerKick(pin, command[3] * 2, command[4] * 2))

    def _old_cut(self, command: bytes) -> None:
        self._cut(partial=command[1] == ord("m"))  # ESC i full, ESC m partial

    def _not_simulated(self, command: bytes) -> None:
        self._unknown(command, "known command, not simulated")

    def _cut(self, partial: bool) -> None:
        self._flush_line(force=False)
        self._events.append(PaperCut(partial))

    # --- variable-length commands: return bytes used, or None for more -------------------

    def _cut_command(self, buf: bytearray, pos: int) -> int | None:
        if len(buf) - pos < 3:
            return None
        cut = _CUTS.get(buf[pos + 2])
        if cut is None:
            self._unknown(bytes(buf[pos : pos + 3]), "GS V: no such cut mode")
            return 3
        size = 3 + cut[1]
        if len(buf) - pos < size:
            return None
        self._cut(partial=cut[0])
        return size

    def _barcode(self, buf: bytearray, pos: int) -> int | None:
        if len(buf) - pos < 3:
            return None
        m = buf[pos + 2]
        if m in _SYMBOLOGY_A:
            end = buf.find(b"\x00", pos + 3, pos + 4 + _MAX_BARCODE_A)
            if end < 0:
                if len(buf) - pos > 3 + _MAX_BARCODE_A:
                    raise _Malformed(3, f"GS k {m}: barcode data not ended by NUL")
                return None
            self._emit_barcode(_SYMBOLOGY_A[m], bytes(buf[pos + 3 : end]))
            return end + 1 - pos
        if m not in _SYMBOLOGY_B:
            self._unknown(bytes(buf[pos : pos + 3]), f"GS k: barcode system {m} not known")
            return 3
        if len(buf) - pos < 4:
            return None
        n = buf[pos + 3]
        if n == 0:
            raise _Malformed(4, f"GS k {m}: barcode with no data")
        if len(buf) - pos < 4 + n:
            return None
        self._emit_barcode(_SYMBOLOGY_B[m], bytes(buf[pos + 4 : pos + 4 + n]))
        return 4 + n

    def _emit_barcode(self, symbology: str, data: bytes) -> None:
        text = data.decode("latin-1")
        if symbology in ("CODE128", "GS1-128"):
            text = _code128_text(text)
        self._events.append(BarcodePrinted(symbology, text, self._align))

    def _raster_image(self, buf: bytearray, pos: int) -> int | None:
        if len(buf) - pos < 8:
            return None
        if buf[pos + 2] != 0x30:
            self._unknown(bytes(buf[pos : pos + 3]), "GS v: only GS v 0 (raster image) is known")
            return 3
        width = buf[pos + 4] + buf[pos + 5] * 256
        height = buf[pos + 6] + buf[pos + 7] * 256
        if not (1 <= width <= 255 and 1 <= height <= 4095):
            raise _Malformed(8, f"GS v 0: image of {width} bytes x {height} dots is out of range")
        size = 8 + width * height
        if len(buf) - pos < size:
            return None
        self._events.append(ImagePrinted(width * 8, height, self._align))
        return size

    def _column_image(self, buf: bytearray, pos: int) -> int | None:
        if len(buf) - pos < 5:
            return None
        m = buf[pos + 2]
        if m not in (0, 1, 32, 33):
            raise _Malformed(3, f"ESC * {m}: no such bit image mode")
        columns = buf[pos + 3] + buf[pos + 4] * 256
        dots = 24 if m >= 32 else 8
        size = 5 + columns * dots // 8
        if len(buf) - pos < size:
            return None
        self._events.append(ImagePrinted(columns, dots, self._align))
        return size

    def _tab_positions(self, buf: bytearray, pos: int) -> int | None:
        end = buf.find(b"\x00", pos + 2, pos + 35)
        if end >= 0:
            return end + 1 - pos
        if len(buf) - pos >= 35:
            raise _Malformed(2, "ESC D: more than 32 tab positions, or no NUL at the end")
        return None

    def _status_request(self, buf: bytearray, pos: int) -> int | None:
        if len(buf) - pos < 3:
            return None
        n = buf[pos + 2]
        if 1 <= n <= 4:
            self._events.append(StatusRequested(n))
            return 3
        size = 4 if n in (7, 8) else 3
        if len(buf) - pos < size:
            return None
        self._unknown(bytes(buf[pos : pos + size]), f"DLE EOT {n}: status not simulated")
        return size

    def _real_time(self, buf: bytearray, pos: int) -> int | None:
        if len(buf) - pos < 3:
            return None
        fn = buf[pos + 2]
        size = 5 if fn == 1 else 3 + _DC4_NOT_SIMULATED.get(fn, 0)
        if len(buf) - pos < size:
            return None
        command = bytes(buf[pos : pos + size])
        if fn != 1:
            self._unknown(command, f"DLE DC4 {fn}: real-time command not simulated")
            return size
        pin, t = _PINS.get(command[3]), command[4]
        if pin is None or not 1 <= t <= 8:
            self._unknown(command, "DLE DC4 1: pulse parameters out of range; ignored")
            return size
        self._events.append(DrawerKick(pin, t * 100, t * 100, real_time=True))
        return size

    def _parenthesised(self, buf: bytearray, pos: int) -> int | None:
        # ESC ( x pL pH ... and GS ( x pL pH ...: the length makes them safe to skip.
        if len(buf) - pos < 5:
            return None
        size = 5 + buf[pos + 3] + buf[pos + 4] * 256
        if len(buf) - pos < size:
            return None
        command = bytes(buf[pos : size + pos])
        handler = _PAREN.get(command[:3])
        if handler is None:
            self._unknown(command, "command not known to this interpreter")
        else:
            handler(self, command)
        return size

    def _two_d_code(self, command: bytes) -> None:
        if len(command) < 7:
            raise _Malformed(len(command), "GS ( k: shorter than its cn and fn bytes")
        cn, fn = command[5], command[6]
        if cn != _QR:
            self._unknown(command, f"GS ( k: 2-D symbol type {cn} not simulated")
        elif fn == _QR_SIZE and len(command) > 7:
            self._qr_size = command[7]
        elif fn == _QR_STORE:
            self._qr_data = command[8:].decode("utf-8", errors="replace")
        elif fn == _QR_PRINT and self._qr_data is not None:
            self._events.append(QRPrinted(self._qr_data, self._qr_size, self._align))
        elif fn not in _QR_SETTINGS:
            self._unknown(command, f"GS ( k: QR function {fn} not simulated here")

    def _graphics_command(self, command: bytes) -> None:
        if len(command) < 7:
            raise _Malformed(len(command), "GS ( L: shorter than its m and fn bytes")
        fn = command[6]
        if fn in _GRAPHICS_STORE and len(command) >= 15:
            self._graphics = (command[11] + command[12] * 256, command[13] + command[14] * 256)
        elif fn in _GRAPHICS_PRINT and self._graphics is not None:
            self._events.append(ImagePrinted(*self._graphics, self._align))
        else:
            self._unknown(command, f"GS ( L: graphics function {fn} not simulated here")


_Fixed = tuple[int, Callable[[EscposInterpreter, bytes], None] | None]
_I = EscposInterpreter
_CONTROLS: dict[int, Callable[[EscposInterpreter, int], int]] = {
    0x0A: _I._line_feed, 0x09: _I._tab, **dict.fromkeys(_IGNORED_CONTROLS, _I._ignore_control),
}  # fmt: skip

# Two-byte prefix -> (parameter bytes, action). Action None: formatting that does
# not change the text (line spacing, fonts, margins, barcode height...), consumed
# so its parameters are not printed as text.
_FIXED: dict[bytes, _Fixed] = {
    b"\x1b@": (0, _I._init), b"\x1b!": (1, _I._print_mode), b"\x1bE": (1, _I._set_bold),
    b"\x1b-": (1, _I._set_underline), b"\x1ba": (1, _I._set_align),
    b"\x1bt": (1, _I._code_page), b"\x1bd": (1, _I._feed_lines), b"\x1bp": (3, _I._drawer_pulse),
    b"\x1bi": (0, _I._old_cut), b"\x1bm": (0, _I._old_cut),
    b"\x1d!": (1, _I._char_size), b"\x1dB": (1, _I._set_invert),
    b"\x1cp": (2, _I._not_simulated), b"\x1dI": (1, _I._not_simulated),
    b"\x1dr": (1, _I._not_simulated), b"\x1bu": (1, _I._not_simulated),
    b"\x1bv": (0, _I._not_simulated),
    **{b"\x1b" + k: (n, None) for k, n in (
        (b"2", 0), (b"3", 1), (b"A", 1), (b"+", 1), (b"M", 1), (b"{", 1), (b"r", 1), (b"=", 1),
        (b"B", 2), (b"K", 1), (b"J", 1), (b"U", 1), (b"V", 1), (b"G", 1), (b" ", 1), (b"$", 2),
        (b"\\", 2), (b"R", 1), (b"S", 0), (b"L", 0), (b"f", 2), (b"?", 1), (b"e", 1), (b"T", 1),
        (b"W", 8), (b"%", 1), (b"c", 2))},
    **{b"\x1d" + k: (n, None) for k, n in (
        (b"h", 1), (b"w", 1), (b"H", 1), (b"f", 1), (b"b", 1), (b"|", 1), (b"a", 1), (b"L", 2),
        (b"W", 2), (b"P", 2), (b"E", 1))},
    **{b"\x1c" + k: (n, None) for k, n in ((b".", 0), (b"&", 0), (b"C", 1), (b"!", 1), (b"-", 1))},
    b"\x10\x05": (1, None),
}  # fmt: skip

_VARIABLE: dict[bytes, Callable[[EscposInterpreter, bytearray, int], int | None]] = {
    b"\x1dV": _I._cut_command, b"\x1dk": _I._barcode, b"\x1dv": _I._raster_image,
    b"\x1b*": _I._column_image, b"\x1bD": _I._tab_positions, b"\x10\x04": _I._status_request,
    b"\x10\x14": _I._real_time, b"\x1d(": _I._parenthesised, b"\x1b(": _I._parenthesised,
}  # fmt: skip

_PAREN: dict[bytes, Callable[[EscposInterpreter, bytes], None]] = {
    b"\x1d(k": _I._two_d_code,
    b"\x1d(L": _I._graphics_command,
}
