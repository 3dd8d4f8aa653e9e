"""The session: one object that holds the register and its devices and builds every screen.

The Kivy app makes one `Session` (from `appliance.bootstrap`'s parts) and binds
each screen to one of its view models; tests make one over a real register with
a synchronous runner and fakes. Nothing here runs at construction: `start()`
loads the login screen, and logging in loads the sell screen.

The session also wires the screens to each other, so that none holds another's
logic: a weighed product from the sell screen opens the weight screen; a line
added there, a discount, a customer, a tender show in the cart; a committed
sale refreshes the cart and the header's pending badge. When `tender.state.paid`
turns true, the Kivy layer shows the paid screen: that also happens when another
screen's call learns that a sale whose save timed out was recorded after all.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from appliance.domain.catalog import Product
from appliance.domain.pricing import PricedCart
from appliance.register import CompletedSale, Register
from appliance.store.local import Cashier
from appliance.ui.viewmodels.backroom import BackroomViewModel
from appliance.ui.viewmodels.base import ViewModel
from appliance.ui.viewmodels.cart import CartViewModel
from appliance.ui.viewmodels.devices import (
    DevicesViewModel,
    DrawerKicker,
    PrinterStatusSource,
    PrintWaker,
)
from appliance.ui.viewmodels.discount import DiscountViewModel
from appliance.ui.viewmodels.header import HeaderViewModel, StatusSource
from appliance.ui.viewmodels.labels import LabelSink, LabelsViewModel
from appliance.ui.viewmodels.login import LoginViewModel
from appliance.ui.viewmodels.manager import ManagerOverride
from appliance.ui.viewmodels.pending import PendingViewModel
from appliance.ui.viewmodels.recent import RecentSalesViewModel
from appliance.ui.viewmodels.runner import Runner
from appliance.ui.viewmodels.sell import SellViewModel
from appliance.ui.viewmodels.shift import ShiftViewModel
from appliance.ui.viewmodels.tender import TenderViewModel
from appliance.ui.viewmodels.weight import ScaleReader, WeightViewModel
from hw.protocols.scanner import WedgeTiming


class Session:
    """The register, its link and devices, and the view model of every screen.

    `runner` runs register calls (one worker thread under Kivy); `device_runner`
    runs scale reads and drawer kicks (defaults to `runner`; give devices their own
    worker so a slow scale never holds up a sale).
    """

    def __init__(
        self,
        register: Register,
        runner: Runner,
        *,
        link: StatusSource | None = None,
        print_queue: PrintWaker | None = None,
        scale: ScaleReader | None = None,
        drawer: DrawerKicker | None = None,
        printer: PrinterStatusSource | None = None,
        device_runner: Runner | None = None,
        wedge: WedgeTiming | None = None,
        label_printer: LabelSink | None = None,
    ) -> None:
        self.register, self.runner = register, runner
        self.link, self.print_queue = link, print_queue
        devices = device_runner or runner
        self.override = ManagerOverride(register, runner)
        self.header = HeaderViewModel(register, runner, link)
        self.cart = CartViewModel(register, runner)
        self.login = LoginViewModel(register, runner)
        self.sell = SellViewModel(register, runner, self.header, self.cart, self.override, wedge)
        self.weight = WeightViewModel(register, runner, scale, devices)
        self.discount = DiscountViewModel(register, runner, self.override)
        self.tender = TenderViewModel(register, runner, drawer, print_queue, devices)
        self.pending = PendingViewModel(register, runner)
        self.recent = RecentSalesViewModel(register, runner, print_queue)
        self.backroom = BackroomViewModel(register, runner, self.override, drawer, devices)
        self.shift = ShiftViewModel(register, runner, self.override)
        self.labels = LabelsViewModel(register, runner, label_printer, devices)
        self.devices = DevicesViewModel(
            register, devices, scale=scale, printer=printer, print_queue=print_queue, drawer=drawer
        )
        self._wire()

    def screens(self) -> tuple[ViewModel[Any], ...]:
        """Every view model, for wiring that applies to all (e.g. logging)."""
        return (
            self.override,
            self.header,
            self.cart,
            self.login,
            self.sell,
            self.weight,
            self.discount,
            self.tender,
            self.pending,
            self.recent,
            self.backroom,
            self.shift,
            self.labels,
            self.devices,
        )

    def _wire(self) -> None:
        self.login.on_login = self._logged_in
        self.login.on_logout = self._logged_out
        self.sell.weigh = self._weigh
        self.weight.on_added = self._cart_changed
        self.discount.on_changed = self._cart_changed
        self.discount.on_customer = self.cart.customer
        self.tender.on_paid = self._paid
        self.backroom.on_recorded = self.header.refresh
        self.labels.weigh = self._weigh_for_label
        for screen in self.screens():
            screen.on_sale_recorded = self.tender.paid

    def start(self) -> None:
        """Bring up the login screen (the cashier list)."""
        self.login.refresh()

    def _logged_in(self, cashier: Cashier) -> None:
        self.sell.refresh()

    def _logged_out(self) -> None:
        self.discount.reset()
        self.cart.refresh()  # the cart left behind was parked
        self.header.refresh()
        self.login.refresh()

    def _weigh(self, product: Product) -> None:
        self.weight.start(product)

    def _weigh_for_label(self, product: Product, then: Callable[[Decimal], None]) -> None:
        self.weight.start(product, for_label=then)

    def _cart_changed(self, priced: PricedCart) -> None:
        self.cart.show(priced)

    def _paid(self, done: CompletedSale) -> None:
        self.discount.reset()
        self.cart.refresh()
        self.header.refresh()
