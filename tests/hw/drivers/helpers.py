"""What the printer driver tests share: how long to wait, a receipt, and addresses
where no printer answers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from hw.document import Align, Barcode, Columns, Cut, Line, PrintDocument, QRCode, Rule, Style

SILENCE = 0.25  # how long a test that expects no answer waits for one
ANSWER = 3.0  # generous where an answer is expected, so a busy machine never fails a test

RECEIPT = PrintDocument(
    (
        Line("Corner Shop", Align.CENTER, Style(bold=True, double_height=True)),
        Rule(),
        Columns(("Crème brûlée", "£4.50")),
        Columns(("Espresso", "€2.20")),
        Rule(),
        Columns(("TOTAL", "€6.70"), style=Style(bold=True)),
        Barcode("0190-4821"),
        QRCode("https://shop.example/r/0190-4821"),
        Cut(),
    )
)
"""A receipt with lines, rules, columns, both codes and a cut, and text beyond ASCII."""


def free_port() -> int:
    """A local TCP port nothing listens on (bound for a moment, then let go)."""
    with socket.create_server(("127.0.0.1", 0)) as spare:
        port: int = spare.getsockname()[1]
    return port


@contextmanager
def not_a_printer() -> Iterator[int]:
    """A local port (yielded) where a web server answers the first request with an error."""
    with socket.create_server(("127.0.0.1", 0)) as server:

        def answer_garbage() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(64)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n")

        thread = threading.Thread(target=answer_garbage, daemon=True)
        thread.start()
        yield server.getsockname()[1]
        thread.join(timeout=ANSWER)
