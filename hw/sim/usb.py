"""A fake USB receipt printer: what pyusb would hand `UsbTransport`, without libusb or a device.

`FakeUsbPrinter` answers the calls `hw.drivers.usb_transport.UsbDevice` lists,
as a pyusb `Device` of an Epson-style printer does: one configuration, one
printer-class interface with bulk OUT 0x01 and bulk IN 0x82, `usblp` bound to
it until detached. What is written to OUT goes through the same printer
mechanism as the network and serial simulators (`ByteFedPrinter`: the ESC/POS
interpreter and status encoders), and its answers wait to be read from IN.
`FakeUsbBus` is the `UsbBus` that finds it. Errors are pyusb's own
`USBError`s, with the errno libusb gives:

    unplug()            ENODEV on every call; not found by the bus (`plug_in()` undoes
                        it, as a replug: usblp bound again, old handles dead).
                        `drop_connection` is the same switch, by the simulators' name
    permission_denied   EACCES on open (a missing udev rule); the serial number
                        cannot be read (pyusb's ValueError "no langid")
    busy                EBUSY on claim (CUPS or another program holds it)
    stall               status requests are taken and never answered: reads time out
    hang_up             the next status request re-enumerates the device (ENODEV now,
                        found again at once: a printer that restarted)

plus every printer fault of `EscposPrinterSimulator` (paper_out,
paper_lines_left, cover_open, error_cause...). A read with nothing to give
times out at once rather than after `timeout` ms: the driver treats the two
alike, and tests stay fast.
"""

from __future__ import annotations

import errno
from array import array
from dataclasses import dataclass
from typing import Unpack

import usb.core  # type: ignore[import-untyped]  # pyusb ships no type hints

from hw.drivers.usb_transport import UsbDevice
from hw.paper import PAPER_80MM, Paper
from hw.protocols.escpos_parse import EscposInterpreter
from hw.sim.printer import SimulatorOptions
from hw.sim.serial_printer import ByteFedPrinter

OUT_ADDRESS = 0x01
IN_ADDRESS = 0x82
_BULK = 2


@dataclass(frozen=True)
class FakeUsbEndpoint:
    """An endpoint descriptor."""

    bEndpointAddress: int
    bmAttributes: int = _BULK
    wMaxPacketSize: int = 64


@dataclass(frozen=True)
class FakeUsbInterface:
    """An interface descriptor and its endpoints."""

    bInterfaceNumber: int
    bInterfaceClass: int
    endpoint_list: tuple[FakeUsbEndpoint, ...]

    def endpoints(self) -> tuple[FakeUsbEndpoint, ...]:
        """Its endpoints, as pyusb's `Interface.endpoints()`."""
        return self.endpoint_list


@dataclass(frozen=True)
class FakeUsbConfiguration:
    """A configuration descriptor and its interfaces."""

    interface_list: tuple[FakeUsbInterface, ...]

    def interfaces(self) -> tuple[FakeUsbInterface, ...]:
        """Its interfaces, as pyusb's `Configuration.interfaces()`."""
        return self.interface_list


def _error(code: int, text: str) -> usb.core.USBError:
    return usb.core.USBError(text, None, code)


class FakeUsbPrinter(ByteFedPrinter):
    """A USB receipt printer as pyusb sees it; see the module docstring."""

    def __init__(
        self,
        vid: int = 0x04B8,
        pid: int = 0x0E28,
        serial_number: str | None = "FAKE0001",
        *,
        bus: int = 1,
        port_numbers: tuple[int, ...] = (1,),
        status_endpoint: bool = True,
        paper: Paper = PAPER_80MM,
        **options: Unpack[SimulatorOptions],
    ) -> None:
        """A plugged-in printer; `status_endpoint=False` leaves out bulk IN (a print-only model)."""
        super().__init__(paper, **options)
        self.idVendor, self.idProduct, self._serial = vid, pid, serial_number
        self.bus, self.address, self.port_numbers = bus, 5, port_numbers
        self._status_endpoint = status_endpoint
        endpoints = [FakeUsbEndpoint(OUT_ADDRESS)]
        if status_endpoint:
            endpoints.append(FakeUsbEndpoint(IN_ADDRESS))
        self._configuration = FakeUsbConfiguration(
            (FakeUsbInterface(0, 7, tuple(endpoints)),)  # class 7: printer
        )
        self.permission_denied = self.busy = False
        self.plugged_in = True
        self.kernel_driver_active = True  # usblp binds a printer as it is plugged in
        self.claimed = False
        self.detaches = 0
        self._generation = 0  # one per plug-in: a handle from before a replug is dead
        self._handle: int | None = None
        self._session = EscposInterpreter()
        self._in_queue = bytearray()

    @property
    def url(self) -> str:
        """`usb://vvvv:pppp[?serial=...]`, as `hw.discovery` names it."""
        base = f"usb://{self.idVendor:04x}:{self.idProduct:04x}"
        return base if self._serial is None else f"{base}?serial={self._serial}"

    # --- faults ----------------------------------------------------------------------

    def unplug(self) -> None:
        """Pull the cable: every call fails with ENODEV."""
        self.plugged_in = False

    def plug_in(self) -> None:
        """Plug it back in: a new device for the bus, usblp bound, old handles dead."""
        self.plugged_in = True
        self._re_enumerate()

    @property
    def drop_connection(self) -> bool:
        """True while unplugged: the simulators' name for `unplug()` / `plug_in()`."""
        return not self.plugged_in

    @drop_connection.setter
    def drop_connection(self, drop: bool) -> None:
        if drop:
            self.unplug()
        elif not self.plugged_in:
            self.plug_in()

    def _re_enumerate(self) -> None:
        self._generation += 1  # a handle kept from before is dead: ENODEV until released
        self.kernel_driver_active, self.claimed = True, False
        self._session = EscposInterpreter()
        self._in_queue.clear()

    # --- pyusb's Device --------------------------------------------------------------

    @property
    def serial_number(self) -> str | None:
        """The serial number string; pyusb's ValueError when the device cannot be opened."""
        if self.permission_denied and self.plugged_in:
            raise ValueError(
                "The device has no langid (permission issue, no string descriptors supported "
                "or device error)"
            )
        self._open()
        return self._serial

    def is_kernel_driver_active(self, interface: int) -> bool:
        """True while usblp holds the interface."""
        self._open()
        return self.kernel_driver_active

    def detach_kernel_driver(self, interface: int) -> None:
        """Make usblp let go."""
        self._open()
        self.kernel_driver_active = False
        self.detaches += 1

    def set_configuration(self) -> None:
        """Already configured: nothing changes."""
        self._open()

    def get_active_configuration(self) -> FakeUsbConfiguration:
        """The one configuration."""
        self._open()
        return self._configuration

    def write(self, endpoint: int, data: bytes, timeout: int) -> int:
        """Bulk OUT: the printer takes `data`; its answers queue on bulk IN."""
        self._use(endpoint, OUT_ADDRESS)
        try:
            reply = self.feed(self._session, bytes(data))
        except ConnectionAbortedError:  # the hang_up fault: it restarts
            self._re_enumerate()
            raise _error(errno.ENODEV, "No such device (it may have been disconnected)") from None
        self._in_queue += reply
        return len(data)

    def read(self, endpoint: int, size_or_buffer: int, timeout: int) -> array[int]:
        """Bulk IN: what the printer answered, up to `size_or_buffer` bytes; else a timeout."""
        self._use(endpoint, IN_ADDRESS)
        if not self._in_queue:
            raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
        data = bytes(self._in_queue[:size_or_buffer])
        del self._in_queue[:size_or_buffer]
        return array("B", data)

    # --- handles, as libusb keeps them -------------------------------------------------

    def _open(self) -> None:
        """What pyusb does before any call that needs the device open."""
        if not self.plugged_in or self._handle not in (None, self._generation):
            raise _error(errno.ENODEV, "No such device (it may have been disconnected)")
        if self.permission_denied:
            raise _error(errno.EACCES, "Access denied (insufficient permissions)")
        self._handle = self._generation

    def _use(self, endpoint: int, expected: int) -> None:
        self._open()
        if not self.claimed:  # pyusb would claim by itself; the driver must have done it
            raise _error(errno.EBUSY, "the interface is not claimed")
        if endpoint != expected or (expected == IN_ADDRESS and not self._status_endpoint):
            raise _error(errno.EPIPE, f"no endpoint 0x{endpoint:02x} for this transfer")

    def _claim(self) -> None:
        self._open()
        if self.kernel_driver_active or self.busy:
            raise _error(errno.EBUSY, "Resource busy")
        self.claimed = True

    def _release(self) -> None:
        self.claimed = False
        self._handle = None


class FakeUsbBus:
    """The `UsbBus` that finds fake devices; `find_all` lists the plugged-in ones."""

    def __init__(self, *devices: FakeUsbPrinter) -> None:
        """A bus with `devices` on it."""
        self.devices = list(devices)

    def find_all(self, vid: int, pid: int) -> list[UsbDevice]:
        """The plugged-in devices with these ids (descriptors only: no open needed)."""
        return [
            device
            for device in self.devices
            if device.plugged_in and (device.idVendor, device.idProduct) == (vid, pid)
        ]

    def claim_interface(self, device: UsbDevice, interface: int) -> None:
        """Claim, as `usb.util.claim_interface` (EBUSY while usblp or another program holds it)."""
        self._fake(device)._claim()

    def release(self, device: UsbDevice) -> None:
        """Release the interface and handle, as `usb.util.dispose_resources`."""
        self._fake(device)._release()

    @staticmethod
    def _fake(device: UsbDevice) -> FakeUsbPrinter:
        assert isinstance(device, FakeUsbPrinter)  # only fakes are on a fake bus
        return device
