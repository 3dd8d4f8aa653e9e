"""The sans-I/O poller: every transition, every deadline, with a clock the test holds."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hw.protocols.poller import (
    SERIAL_CODECS,
    TRANSITIONS,
    Poller,
    PollerState,
    PollerStateError,
    Trigger,
    serial_codec,
)
from hw.protocols.scale import ScaleFault, ScaleReading, ScaleStatus, WeightUnit, ZeroResult
from hw.protocols.toledo8217 import Toledo8217

KG = WeightUnit.KG
STABLE = ScaleReading(Decimal("1.234"), KG, ScaleStatus.STABLE)


def poller(**kwargs: object) -> Poller:
    return Poller(Toledo8217(KG), timeout=0.5, **kwargs)  # type: ignore[arg-type]


def test_a_read_on_demand_asks_answers_and_goes_idle() -> None:
    p = poller()
    assert p.next_deadline() is None
    assert p.poll(10.0) == b"W"
    assert p.state is PollerState.WEIGHING
    assert p.next_deadline() == 10.5
    assert p.feed(b"\x0201.2", 10.1) == []
    assert p.feed(b"34\r", 10.2) == [STABLE]
    assert p.state is PollerState.IDLE
    assert p.next_deadline() is None


def test_no_second_request_while_one_is_in_flight() -> None:
    p = poller()
    assert p.poll(0.0) == b"W"
    assert p.poll(0.1) is None
    with pytest.raises(PollerStateError, match="'zero request sent' while waiting for a weight"):
        p.zero(0.1)


def test_no_answer_by_the_deadline_is_a_fault_never_a_weight() -> None:
    p = poller(source="the scale on /dev/ttyUSB0", hint=": check the cable")
    p.poll(0.0)
    assert p.tick(0.49) == []
    assert p.tick(0.5) == [
        ScaleFault("no answer from the scale on /dev/ttyUSB0 in 0.5 s: check the cable")
    ]
    assert p.state is PollerState.IDLE
    assert p.tick(9.0) == []


def test_bytes_pending_at_the_deadline_are_named_in_the_fault() -> None:
    p = poller()
    p.poll(0.0)
    p.feed(b"\xff\xfegarbage", 0.1)
    (fault,) = p.tick(0.6)
    assert isinstance(fault, ScaleFault)
    assert "answered with bytes that are not toledo8217: b'\\xff\\xfegarbage'" in fault.reason


def test_a_garbled_frame_is_a_fault_and_the_next_exchange_is_clean() -> None:
    p = poller(hint=": check the baud rate")
    p.poll(0.0)
    (fault,) = p.feed(b"junk\r\x0201", 0.1)
    assert isinstance(fault, ScaleFault)
    assert fault.reason.startswith("garbled answer from the scale: an 8217 frame is STX")
    assert fault.reason.endswith(": check the baud rate")
    assert p.poll(0.2) == b"W"
    assert p.feed(b"\x0201.234\r", 0.3) == [STABLE]


def test_a_late_answer_is_dropped_never_taken_for_the_next_reading() -> None:
    p = poller()
    p.poll(0.0)
    p.tick(1.0)
    assert p.feed(b"\x0201.234\r", 1.1) == []
    assert p.stale_bytes == 8
    p.poll(1.2)
    assert p.feed(b"\x0202.000\r", 1.3) == [ScaleReading(Decimal("2.000"), KG, ScaleStatus.STABLE)]


def test_what_follows_an_answer_in_the_same_read_is_not_kept() -> None:
    p = poller()
    p.poll(0.0)
    assert p.feed(b"\x0201.234\r\x0209.9", 0.1) == [STABLE]
    p.poll(0.2)
    assert p.feed(b"99\r", 0.3) != [ScaleReading(Decimal("9.999"), KG, ScaleStatus.STABLE)]


def test_a_timeout_given_to_poll_overrides_the_pollers() -> None:
    p = poller()
    p.poll(0.0, timeout=0.2)
    assert p.next_deadline() == 0.2
    assert p.tick(0.2) == [ScaleFault("no answer from the scale in 0.2 s")]


def test_zero_answers_come_back_as_zero_results() -> None:
    p = poller()
    assert p.zero(0.0) == b"Z"
    assert p.state is PollerState.ZEROING
    assert p.feed(b"\x02?P\r", 0.1) == [ZeroResult(True)]
    p.zero(0.2)
    assert p.feed(b"\x02?A\r", 0.3) == [
        ZeroResult(False, "the scale is in motion: wait for it to settle")
    ]


def test_a_silent_or_garbled_zero_is_a_failed_zero() -> None:
    p = poller()
    p.zero(0.0)
    assert p.tick(0.5) == [ZeroResult(False, "no answer from the scale in 0.5 s")]
    p.zero(1.0)
    (result,) = p.feed(b"\x0201.234\r", 1.1)
    assert isinstance(result, ZeroResult) and not result.zeroed
    assert "garbled answer" in result.reason


def test_with_an_interval_polls_come_that_long_after_the_last_exchange() -> None:
    p = poller(interval=0.25)
    assert p.next_deadline() == -math.inf  # due at once
    assert p.poll(1.0) == b"W"
    p.feed(b"\x0201.234\r", 1.1)
    assert p.next_deadline() == pytest.approx(1.35)
    assert p.poll(1.3) is None
    assert p.poll(1.35) == b"W"


def test_reset_forgets_the_exchange_in_flight() -> None:
    p = poller(interval=5.0)
    p.poll(0.0)
    p.feed(b"\x0201.234\r", 0.1)
    p.poll(5.1)
    p.feed(b"\x0201", 5.2)
    p.reset()
    assert p.state is PollerState.IDLE
    assert p.tick(10.0) == []
    assert p.poll(5.3) == b"W"  # a reopened port is asked at once, interval or not
    (event,) = p.feed(b".234\r", 5.4)  # the half frame from before the reset is gone
    assert isinstance(event, ScaleFault) and "garbled" in event.reason


def test_the_transition_table_covers_each_state() -> None:
    assert {state for state, _ in TRANSITIONS} == set(PollerState)
    assert TRANSITIONS[(PollerState.IDLE, Trigger.WEIGH)] is PollerState.WEIGHING
    assert (PollerState.IDLE, Trigger.ANSWER) not in TRANSITIONS


def test_codecs_are_found_by_their_profile_names() -> None:
    assert sorted(SERIAL_CODECS) == ["mtsics", "nci", "toledo8217"]
    assert serial_codec("mtsics").name == "mtsics"
    assert serial_codec("nci").name == "nci"
    codec = serial_codec("toledo8217", KG)
    assert isinstance(codec, Toledo8217) and codec.unit is KG
    with pytest.raises(ValueError, match="unknown scale protocol 'cas': expected one of mtsics"):
        serial_codec("cas")


@given(
    st.sampled_from(sorted(SERIAL_CODECS)),
    st.lists(st.tuples(st.sampled_from(["poll", "zero", "feed", "tick"]), st.binary(max_size=20))),
)
def test_any_bytes_at_any_time_give_events_never_an_exception(
    protocol: str, steps: list[tuple[str, bytes]]
) -> None:
    p = Poller(serial_codec(protocol, KG), timeout=1.0)
    now = 0.0
    for action, data in steps:
        now += 0.3
        if action == "poll":
            p.poll(now)
        elif action == "zero" and p.state is PollerState.IDLE:
            p.zero(now)
        events = p.feed(data, now) if action == "feed" else p.tick(now)
        assert len(events) <= 1
        for event in events:
            assert isinstance(event, ScaleReading | ScaleFault | ZeroResult)
            assert p.state is PollerState.IDLE
