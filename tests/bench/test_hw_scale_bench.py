"""Scale codec benchmarks: how many answers a second each protocol decodes.

A register asks its scale a few times a second, so any of these rates is
plenty; the figures are here to catch a decoder that turns quadratic or slow
on a busy line. Serial codecs are fed a byte stream in 64-byte reads through
their streaming decoder (framing included); the HID codec decodes whole
reports. Run with `make bench`: every figure is printed (a table, then `BENCH`
lines), nothing is asserted on time, only that every frame decoded right.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

from hw.protocols import hid_scale, mtsics, nci, toledo8217
from hw.protocols.scale import ScaleEvent, ScaleReading, ScaleStatus, WeightUnit
from tests.bench.helpers import Stats, bench, table

BATCH, BATCHES, WARMUP = 1_000, 30, 3
READ_SIZE = 64  # a serial read rarely returns more
KG = WeightUnit.KG

# What a busy counter sends: mostly stable weights, some settling, some at zero.
STATES = [
    ScaleReading(Decimal("1.234"), KG, ScaleStatus.STABLE),
    ScaleReading(Decimal("0.587"), KG, ScaleStatus.STABLE),
    ScaleReading(Decimal("2.010"), KG, ScaleStatus.IN_MOTION),
    ScaleReading(Decimal("0"), KG, ScaleStatus.ZERO),
]
ENCODERS: dict[str, Callable[[ScaleReading], bytes]] = {
    "toledo8217": toledo8217.encode_response,
    "mtsics": mtsics.encode_response,
    "nci": nci.encode_response,
}


def serial_batch(protocol: str) -> Callable[[], list[ScaleEvent]]:
    """Decode BATCH answers of `protocol` from a stream cut into READ_SIZE reads."""
    encode = ENCODERS[protocol]
    stream = b"".join(encode(STATES[n % len(STATES)]) for n in range(BATCH))
    reads = [stream[i : i + READ_SIZE] for i in range(0, len(stream), READ_SIZE)]
    codec = {
        "toledo8217": toledo8217.Toledo8217(KG),
        "mtsics": mtsics.MtSics(),
        "nci": nci.Nci(),
    }[protocol]

    def run() -> list[ScaleEvent]:
        decoder = codec.decoder()
        return [event for data in reads for event in decoder.feed(data)]

    return run


def hid_batch() -> Callable[[], list[ScaleEvent]]:
    """Decode BATCH HID reports."""
    reports = [hid_scale.encode(STATES[n % len(STATES)]) for n in range(BATCH)]
    return lambda: [hid_scale.decode(report) for report in reports]


def timed(run: Callable[[], list[ScaleEvent]]) -> tuple[list[float], list[ScaleEvent]]:
    """ms per batch over BATCHES batches (after WARMUP), and the last batch's events."""
    for _ in range(WARMUP):
        run()
    samples: list[float] = []
    events: list[ScaleEvent] = []
    for _ in range(BATCHES):
        start = time.perf_counter_ns()
        events = run()
        samples.append((time.perf_counter_ns() - start) / 1_000_000)
    return samples, events


def test_scale_decode_rates() -> None:
    batches = {"hid": hid_batch()} | {name: serial_batch(name) for name in ENCODERS}
    rows: list[Stats] = []
    rates: dict[str, float] = {}
    for name, run in batches.items():
        samples, events = timed(run)
        assert len(events) == BATCH
        assert all(event.status is not None for event in events)  # nothing garbled
        assert events[0] == STATES[0] and events[2].status is ScaleStatus.IN_MOTION
        stats = Stats.of(f"{name} ({BATCH} answers)", samples)
        rows.append(stats)
        rates[name] = BATCH / (stats.median / 1000)
    table("Scale answers decoded per batch", rows)
    for name, rate in rates.items():
        bench(f"scale_decode_{name}_per_s", rate)
