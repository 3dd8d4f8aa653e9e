"""What every scale protocol decodes to: a reading with a status, or a fault.

A reading is stable or not, and only a stable, positive reading within the
scale's capacity can price a line. A timeout, a garbled frame or an unplugged
scale is a `ScaleFault`, never a weight of 0: a peer's driver returned 0.0 on a
timeout and sold goods for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum


class WeightUnit(Enum):
    """Units scales report in (the register converts to the product's unit)."""

    G = "g"
    KG = "kg"
    LB = "lb"
    OZ = "oz"


class ScaleStatus(Enum):
    """The state a scale reports alongside (or instead of) a weight."""

    STABLE = "stable"
    IN_MOTION = "in motion"
    ZERO = "stable zero"
    UNDER_ZERO = "under zero"
    OVER_CAPACITY = "over capacity"


@dataclass(frozen=True)
class ScaleReading:
    """One decoded weight report."""

    weight: Decimal
    unit: WeightUnit
    status: ScaleStatus

    def can_price(self, capacity: Decimal | None = None) -> bool:
        """True only for a stable, positive weight within `capacity` (same unit)."""
        if self.status is not ScaleStatus.STABLE or not self.weight > 0:
            return False
        return capacity is None or self.weight <= capacity


@dataclass(frozen=True)
class ScaleFault:
    """The scale could not give a weight: the reason is shown to the cashier."""

    reason: str


ScaleEvent = ScaleReading | ScaleFault
