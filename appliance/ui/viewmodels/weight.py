"""The weight screen: presets, a typed weight, or the live scale reading.

Only a stable reading that can price (`ScaleReading.can_price`) enables "use
scale weight": a reading in motion, a fault or a timeout is shown, never sold
as a weight. A scale that does not answer (unplugged, garbled, timed out) falls
back to typing the weight, with the reason shown. The price of the weight shown
(the scale's or the typed one) is shown beside it, at the product's unit price.

The same screen weighs for a label (`start(product, for_label=...)`): no presets
(a pack's tier price is not a weight's price), and the weight goes to the labels
panel instead of the cart. The scale is read through its
own runner (a slow read must not hold up the register's calls) and `poll()` is
called by the Kivy layer on a timer while the screen is up; a poll still under
way is not doubled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from appliance.domain.cart import Cart, WeightSource
from appliance.domain.catalog import Product
from appliance.domain.catalog import WeightUnit as ProductUnit
from appliance.domain.codec import decimal_text
from appliance.domain.pricing import PricedCart
from appliance.register import Register
from appliance.ui.viewmodels.base import INFO, WARNING, ScreenState, ViewModel
from appliance.ui.viewmodels.formatting import money, parse_decimal, press, unit_price, weight_text
from appliance.ui.viewmodels.runner import Runner
from hw.ports import DeviceError
from hw.protocols.scale import ScaleEvent, ScaleFault, ScaleReading, ScaleStatus

SCALE_TIMEOUT_S = 0.5


class ScaleReader(Protocol):
    """What the screen needs of a scale (`hw.ports.Scale` has it)."""

    def read(self, timeout: float) -> ScaleEvent:
        """The current reading, or a fault."""
        ...


@dataclass(frozen=True, slots=True)
class PresetButton:
    """A preset weight: its value (for `preset`), label ("100 g") and pack price."""

    weight: str
    label: str
    price: str


@dataclass(frozen=True, slots=True)
class WeightState(ScreenState):
    """The weight screen. `scale_status`: stable, motion, fault or none."""

    active: bool = False
    sku: str = ""
    name: str = ""
    unit: str = ""
    price: str = ""
    presets: tuple[PresetButton, ...] = ()
    manual_text: str = ""
    can_use_manual: bool = False
    scale_text: str = ""
    scale_status: str = ""
    can_use_scale: bool = False
    manual_only: bool = False
    scale_price: str = ""
    manual_price: str = ""
    for_label: bool = False


def in_product_unit(reading: ScaleReading, unit: ProductUnit) -> Decimal:
    """A reading in the product's unit (exact for g <-> kg; lb/oz to 0.001 of the unit).

    Wanted in the register: `add_weighed` taking the scale's reading and unit.
    """
    if reading.unit.value == unit.value:
        return reading.weight
    grams = reading.weight * ProductUnit(reading.unit.value).grams
    exact = grams / unit.grams
    places = Decimal("0.001")
    return exact if exact == exact.quantize(places) else exact.quantize(places, ROUND_HALF_UP)


def describe(event: ScaleEvent) -> tuple[str, str]:
    """(text, status) of a scale event: ("1.234 kg stable", "stable"), ("in motion", ...)."""
    if isinstance(event, ScaleFault):
        if event.status is ScaleStatus.IN_MOTION:
            return "in motion", "motion"
        return event.reason, "fault"
    shown = f"{weight_text(event.weight, event.unit.value)} {event.status.value}"
    return shown, "stable" if event.status is ScaleStatus.STABLE else "motion"


class WeightViewModel(ViewModel[WeightState]):
    """The weight screen (see the module docstring)."""

    def __init__(
        self,
        register: Register,
        runner: Runner,
        scale: ScaleReader | None,
        scale_runner: Runner | None = None,
    ) -> None:
        super().__init__(register, runner, WeightState())
        self.scale, self.scale_runner = scale, scale_runner or runner
        self.product: Product | None = None
        self._scale_weight: Decimal | None = None
        self._polling = False
        self._for_label: Callable[[Decimal], None] | None = None
        self.on_added: Callable[[PricedCart], None] | None = None

    def start(self, product: Product, for_label: Callable[[Decimal], None] | None = None) -> None:
        """Bring the screen up for a weighed product, with its presets priced; with
        `for_label`, weigh it for a label and hand the weight there."""
        self.product, self._scale_weight, self._for_label = product, None, for_label
        unit = product.unit.value if product.unit else ""
        no_scale = self.scale is None
        with self._batch():
            self._update(
                active=True,
                sku=product.sku,
                name=product.name,
                unit=unit,
                price=unit_price(product),
                presets=(),
                manual_text="",
                can_use_manual=False,
                can_use_scale=False,
                manual_only=no_scale,
                scale_text="no scale: type the weight" if no_scale else "",
                scale_status="none" if no_scale else "",
                scale_price="",
                manual_price="",
                for_label=for_label is not None,
            )
            if for_label is not None:
                self._say(f"weigh the {product.name} for its label", INFO)
            else:
                how = "pick a preset" if product.presets else "type its weight"
                self._say(f"{product.name} is sold by weight: weigh it or {how}", INFO)
        if product.presets and for_label is None:
            self._call(
                lambda: self._preset_buttons(product),
                lambda b: self._update(presets=b),
                keep_message=True,
            )
        self.poll()

    def _preset_buttons(self, product: Product) -> tuple[PresetButton, ...]:
        buttons, unit = [], product.unit.value if product.unit else ""
        for weight in product.presets:
            # The register prices a one-line cart: the tier matrix price of that pack.
            priced = self.register.price(Cart().add_weighed(product, weight, WeightSource.PRESET))
            label = f"{decimal_text(weight)} {unit}"
            buttons.append(PresetButton(decimal_text(weight), label, money(priced.lines[0].base)))
        return tuple(buttons)

    def cancel(self) -> None:
        """Close the screen without adding anything."""
        self.product, self._for_label = None, None
        self._update(active=False, message="", message_kind="")

    def _price_of(self, weight: Decimal) -> str:
        """What `weight` of the product comes to at its unit price (presets aside)."""
        return "" if self.product is None else money(self.product.price.times(weight))

    # --- presets and typed weights -------------------------------------------------------------

    def preset(self, weight: str, packs: int = 1) -> None:
        """Add `packs` packs of a preset weight."""
        if self._for_label is None:
            self._add(lambda: Decimal(weight), WeightSource.PRESET, Decimal(packs))

    def key(self, key: str) -> None:
        """A keypad key for the typed weight: a digit, ".", "back" or "clear"."""
        text = press(self.state.manual_text, key, decimals=3, max_len=8)
        usable = any(c in "123456789" for c in text)
        price = self._price_of(Decimal(text)) if usable else ""
        self._update(manual_text=text, can_use_manual=usable, manual_price=price)

    def use_manual(self) -> None:
        """Add the typed weight."""
        text = self.state.manual_text
        self._add(lambda: parse_decimal(text, "weight"), WeightSource.MANUAL)

    def _add(
        self, weight: Callable[[], Decimal], source: WeightSource, packs: Decimal = Decimal(1)
    ) -> None:
        """Sell `weight()` (or hand it to the label); a bad weight is the message."""
        if self.product is None:
            return
        sku, for_label = self.product.sku, self._for_label
        if for_label is not None:
            self._call(weight, lambda w: self._close(lambda: for_label(w)))
        else:
            add = self.register.add_weighed
            self._call(lambda: add(sku, weight(), source, packs),
                       lambda priced: self._close(lambda: self._added(priced)))  # fmt: skip

    def _close(self, then: Callable[[], None]) -> None:
        self.product, self._for_label = None, None
        self._update(active=False)
        then()

    def _added(self, priced: PricedCart) -> None:
        if self.on_added is not None:
            self.on_added(priced)

    # --- the scale -------------------------------------------------------------------------------

    def poll(self) -> None:
        """Read the scale once (the Kivy layer calls this on a timer while the screen is up)."""
        scale = self.scale
        if scale is None or self._polling or not self.state.active:
            return
        self._polling = True
        self.scale_runner.run(lambda: scale.read(SCALE_TIMEOUT_S), self._read, self._read_failed)

    def _read(self, event: ScaleEvent) -> None:
        self._polling = False
        if not self.state.active or self.product is None or self.product.unit is None:
            return
        text, status = describe(event)
        usable = isinstance(event, ScaleReading) and event.can_price()
        self._scale_weight = (
            in_product_unit(event, self.product.unit)
            if isinstance(event, ScaleReading) and usable
            else None
        )
        price = "" if self._scale_weight is None else self._price_of(self._scale_weight)
        with self._batch():
            self._update(scale_text=text, scale_status=status, can_use_scale=usable,
                         scale_price=price)  # fmt: skip
            if isinstance(event, ScaleFault) and event.status is None:
                self._fall_back(event.reason)
            elif self.state.manual_only:
                self._update(manual_only=False)

    def _read_failed(self, exc: Exception) -> None:
        self._polling = False
        if not isinstance(exc, DeviceError):
            raise exc
        with self._batch():
            self._scale_weight = None
            self._update(scale_text=str(exc), scale_status="fault", can_use_scale=False,
                         scale_price="")  # fmt: skip
            self._fall_back(str(exc))

    def _fall_back(self, reason: str) -> None:
        self._update(manual_only=True)
        self._say(f"scale: {reason}. Type the weight instead", WARNING)

    def use_scale(self) -> None:
        """Add the stable reading shown (refused unless it can price)."""
        weight = self._scale_weight
        if weight is None or not self.state.can_use_scale:
            self._say("wait for a stable weight on the scale", WARNING)
            return
        self._add(lambda: weight, WeightSource.SCALE)
