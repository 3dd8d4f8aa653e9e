"""A short, seeded atheris run of `atheris_wire.py` (where atheris is installed: x86_64)."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from appliance.sync import wire
from hw.protocols import label_status, mtsics, nci, toledo8217
from hw.protocols.scale import ScaleReading, ScaleStatus, WeightUnit

HARNESS = Path(__file__).with_name("atheris_wire.py")
RUNS = 4000


def seeds() -> list[bytes]:
    """One valid input per decoder, so the fuzzer starts past the first check."""
    body = {"total": 5, "lines": [1.5]}
    envelope = wire.Envelope("01a21000-0000-7000-8000-000000000001", "sale", "s1", "r1", 3,
                             "a" * 64, "2026-11-25T09:00:00", body)  # fmt: skip
    messages = [
        wire.encode_envelope(envelope),
        wire.encode_ack(wire.Ack(envelope.id, 3, "rejected", "why", {"total": 5})),
        wire.encode_request(wire.RpcRequest("changes_since", {"since": 4, "part": 1})),
        wire.encode_response(wire.RpcResponse("ok", {"part": 0, "parts": 1, "data": ""})),
        wire.encode_beacon(wire.Beacon(7, "2026-11-25T09:00:00")),
        wire.encode_status(wire.Status("online", 2, "2026-11-25T09:00:00")),
    ]
    reading = ScaleReading(Decimal("1.234"), WeightUnit.KG, ScaleStatus.STABLE)
    frames = [mtsics.encode_response(reading), b"Z A\r\n", nci.encode_response(reading),
              nci.encode_status(), toledo8217.encode_response(reading), b"\x02?P\r",
              bytes([3, 4, 11, 0xFF, 0x2C, 1]),
              label_status.encode_host_status(label_status.ZebraHostStatus()), b"\x04",
              b"\x1b@\x1ba\x01Hello\n\x1dV\x00"]  # fmt: skip
    return [bytes([2 * i]) + m for i, m in enumerate(messages)] + [
        bytes([2 * i + 1]) + f for i, f in enumerate(frames)
    ]


@pytest.mark.slow
def test_atheris_finds_nothing_in_a_short_seeded_run(tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(seeds()):
        (corpus / f"seed-{i}").write_bytes(seed)
    run = subprocess.run(
        [sys.executable, str(HARNESS), f"-runs={RUNS}", "-seed=1", "-max_len=2048",
         f"-artifact_prefix={tmp_path}/", str(corpus)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-4000:]
    assert f"Done {RUNS} runs" in run.stderr
