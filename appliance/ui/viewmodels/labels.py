"""The labels panel: find a product, pick a template, weigh it if the label prints a
weight, see what the label will say, print copies on the label printer.

A product is found by typing or scanning (its barcode comes first in the results;
Enter takes the first). Picking one picks its template too: the weighed-item label
for a product sold by weight, the shelf label for the rest; the clerk may pick
another. A weighed label opens the weight screen (`weigh`, wired by the session),
whose stable reading or typed weight comes back through `weighed`. The preview is
the register's filled label (`Register.label`), so what is shown is what prints;
printing runs on the device worker, and a printer fault is a message, never a freeze.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from appliance.domain.catalog import Product
from appliance.register import Register
from appliance.register_labels import LabelChoice
from appliance.ui.viewmodels.base import ERROR, INFO, ScreenState, ViewModel
from appliance.ui.viewmodels.formatting import BACK, unit_price, weight_text
from appliance.ui.viewmodels.runner import Runner
from hw.labels import FilledLabel
from hw.ports import DeviceError

MAX_COPIES = 50
RESULTS = 12
TEMPLATE_NAMES = {"shelf": "Shelf label", "weighed": "Weighed item"}


class LabelSink(Protocol):
    """What the panel needs of a label printer (`hw.ports.LabelPrinter` has it)."""

    def print_label(self, label: FilledLabel, copies: int = 1) -> None:
        """Print `copies` of a filled label."""
        ...


@dataclass(frozen=True, slots=True)
class Found:
    """A product in the results: sku, name, price text, sold by weight or not."""

    sku: str
    name: str
    price: str
    by_weight: bool


@dataclass(frozen=True, slots=True)
class TemplateButton:
    """A template the clerk can pick; `enabled` is False when it cannot fit the product."""

    id: str
    label: str
    selected: bool
    enabled: bool


@dataclass(frozen=True, slots=True)
class LabelsState(ScreenState):
    """The labels panel."""

    query: str = ""
    results: tuple[Found, ...] = ()
    sku: str = ""
    name: str = ""
    templates: tuple[TemplateButton, ...] = ()
    weight: str = ""
    needs_weight: bool = False
    copies: int = 1
    preview: tuple[str, ...] = ()
    can_print: bool = False


def _found(product: Product) -> Found:
    return Found(product.sku, product.name, unit_price(product), product.sold_by_weight)


class LabelsViewModel(ViewModel[LabelsState]):
    """The labels panel (see the module docstring)."""

    def __init__(
        self,
        register: Register,
        runner: Runner,
        printer: LabelSink | None,
        printer_runner: Runner | None = None,
    ) -> None:
        super().__init__(register, runner, LabelsState())
        self.printer, self.printer_runner = printer, printer_runner or runner
        self.weigh: Callable[[Product, Callable[[Decimal], None]], None] | None = None
        self._choices: tuple[LabelChoice, ...] = ()
        self._products: dict[str, Product] = {}
        self._product: Product | None = None
        self._template = ""
        self._weight: Decimal | None = None
        self._label: FilledLabel | None = None

    def refresh(self) -> None:
        """Read the cached templates again (the panel was opened)."""
        self._call(self.register.label_choices, self._got_choices, keep_message=True)

    def _got_choices(self, choices: list[LabelChoice]) -> None:
        self._choices = tuple(choices)
        if not choices:
            self._say("no label templates yet: import them (appliance labels import)", INFO)
        self._show_templates()

    # --- finding the product --------------------------------------------------------------

    def search(self, text: str) -> None:
        """Search as you type (a scanned barcode finds its product first)."""
        self._update(query=text)
        if not text.strip():
            self._update(results=())
            return
        self._call(lambda: self.register.search(text, RESULTS),
                   lambda found: self._show_results(text, found), keep_message=True)  # fmt: skip

    def _show_results(self, text: str, found: list[Product]) -> None:
        if text != self.state.query:
            return  # typed on: newer results are coming
        self._products = {p.sku: p for p in found}
        self._update(results=tuple(_found(p) for p in found))

    def key(self, char: str) -> None:
        """A key from the keyboard or a wedge scanner: typed into the search; Enter takes
        the first result (a scanned barcode's product)."""
        if char in "\r\n":
            if self.state.results:
                self.pick(self.state.results[0].sku)
            return
        query = self.state.query[:-1] if char == BACK else self.state.query + char
        self.search(query)

    def pick(self, sku: str) -> None:
        """Label this product, with the template that fits it."""
        product = self._products.get(sku)
        if product is None:
            return
        self._product, self._weight, self._label = product, None, None
        fitting = [c for c in self._choices if c.weighed == product.sold_by_weight]
        self._template = (fitting or list(self._choices) or [LabelChoice("", False)])[0].id
        with self._batch():
            self._update(sku=product.sku, name=product.name, weight="", preview=(),
                         can_print=False, query="", results=())  # fmt: skip
            self._show_templates()
        self._fill()

    def choose(self, template_id: str) -> None:
        """Use another template for the product."""
        self._template, self._label = template_id, None
        self._show_templates()
        self._fill()

    def _chosen(self) -> LabelChoice | None:
        return next((c for c in self._choices if c.id == self._template), None)

    def _show_templates(self) -> None:
        by_weight = self._product is not None and self._product.sold_by_weight
        buttons = tuple(
            TemplateButton(
                c.id,
                TEMPLATE_NAMES.get(c.id, c.id.replace("_", " ").capitalize()),
                selected=c.id == self._template,
                enabled=by_weight or not c.weighed,
            )
            for c in self._choices
        )
        chosen = self._chosen()
        self._update(templates=buttons, needs_weight=bool(chosen and chosen.weighed))

    # --- weight, preview, copies ------------------------------------------------------------

    def weigh_again(self) -> None:
        """Weigh the product (again) for a weighed label."""
        product = self._product
        if product is not None and self.weigh is not None:
            self.weigh(product, self.weighed)

    def weighed(self, weight: Decimal) -> None:
        """The weight screen's reading (or typed weight) for the label."""
        product = self._product
        if product is None or product.unit is None:
            return
        self._weight = weight
        self._update(weight=weight_text(weight, product.unit.value))
        self._fill()

    def _fill(self) -> None:
        product, chosen, weight = self._product, self._chosen(), self._weight
        if product is None or chosen is None:
            return
        if chosen.weighed and weight is None:
            self._update(preview=(), can_print=False)
            self.weigh_again()
            return
        template = chosen.id
        self._call(lambda: self.register.label(template, product.sku, weight), self._filled)

    def _filled(self, label: FilledLabel) -> None:
        self._label = label
        self._update(preview=tuple(label.lines()), can_print=self.printer is not None)

    def _failed(self, exc: Exception, retry: Callable[[str], None] | None) -> None:
        self._label = None
        self._update(preview=(), can_print=False)
        super()._failed(exc, retry)

    def copies(self, change: int) -> None:
        """One more or one fewer copy (1 to MAX_COPIES)."""
        self._update(copies=min(MAX_COPIES, max(1, self.state.copies + change)))

    def print(self) -> None:
        """Print the previewed label on the label printer."""
        label, printer, copies = self._label, self.printer, self.state.copies
        if printer is None:
            self._say("no label printer is configured (a devices entry of kind label_printer)")
            return
        if label is None:
            self._say("pick a product (and weigh it) first", INFO)
            return
        self._update(busy=True)
        self.printer_runner.run(
            lambda: printer.print_label(label, copies),
            lambda _: self._printed(copies),
            self._print_failed,
        )

    def _printed(self, copies: int) -> None:
        self._update(busy=False)
        self._say(f"{copies} label{'s' if copies > 1 else ''} printed for {self.state.name}", INFO)

    def _print_failed(self, exc: Exception) -> None:
        self._update(busy=False)
        if not isinstance(exc, DeviceError):
            raise exc
        self._say(f"label printer: {exc}. Nothing was printed; fix it and print again", ERROR)
