"""What the scale codecs' tests (MT-SICS, NCI, 8217, HID) build and check alike."""

from __future__ import annotations

from decimal import Decimal

from hw.protocols.scale import ScaleFault, ScaleReading, ScaleStatus, StreamDecoder, WeightUnit

Event = ScaleReading | ScaleFault


def at(weight: str, unit: WeightUnit, status: ScaleStatus = ScaleStatus.STABLE) -> ScaleReading:
    """A reading of `weight` (as written) in `unit`, stable unless said."""
    return ScaleReading(Decimal(weight), unit, status)


def assert_fault(event: Event, status: ScaleStatus | None, words: str) -> None:
    """`event` is a fault with `status` (None: no status names it) and `words` in its reason."""
    assert isinstance(event, ScaleFault)
    assert event.status is status
    assert words in event.reason


def assert_events_only(decoder: StreamDecoder, chunks: list[bytes]) -> None:
    """Feeding `chunks` to `decoder` gives readings and faults, never an exception."""
    for chunk in chunks:
        for event in decoder.feed(chunk):
            assert isinstance(event, ScaleReading | ScaleFault)


def reading_back(event: Event, sent: ScaleReading) -> ScaleReading | None:
    """`event`, decoded from the encoding of `sent`, as a reading with `sent`'s weight and
    unit; None (checked to be the fault) where only a fault carries `sent`'s status."""
    if sent.status in (ScaleStatus.OVER_CAPACITY, ScaleStatus.UNDER_ZERO):
        assert isinstance(event, ScaleFault) and event.status is sent.status
        return None
    assert isinstance(event, ScaleReading)
    assert (event.weight, event.unit) == (sent.weight, sent.unit)
    return event
