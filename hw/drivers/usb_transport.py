"""USB printers through pyusb: the bulk OUT endpoint takes the print data, bulk IN gives status.

`UsbTransport` finds the device by vendor/product id (and serial number or
port, as `hw.discovery` writes them into `usb://` URLs), detaches the kernel's
`usblp` driver if it holds the interface, claims it, and keeps the handle
until the link breaks. A missing device and a refused one are told apart, each
with its fix, since "it is not plugged in" and "the register user is not in
the `lp` group" look the same to a cashier.

pyusb is reached only through `UsbBus` and `UsbDevice`, the handful of calls
made here, so `hw.sim.usb.FakeUsbPrinter` can stand in for a printer in tests
and demos without libusb; `PyUsbBus` is the real bus.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import usb.core  # type: ignore[import-untyped]  # pyusb ships no type hints
import usb.util  # type: ignore[import-untyped]

from hw.drivers.transports import TransportLost
from hw.ports import DeviceError, DeviceOffline


@dataclass(frozen=True)
class UsbAddress:
    """Which USB device a `usb://vvvv:pppp[?serial=S | ?port=1-1.2]` URL names."""

    vid: int
    pid: int
    serial_number: str | None = None
    port_path: str | None = None  # as `hw.discovery` names it: "1-1.2"

    @property
    def ids(self) -> str:
        """vvvv:pppp, with the serial number or port when given."""
        ids = f"{self.vid:04x}:{self.pid:04x}"
        if self.serial_number is not None:
            return f"{ids} serial {self.serial_number}"
        return ids if self.port_path is None else f"{ids} at port {self.port_path}"

    @property
    def stable_id(self) -> str:
        """The id `hw.discovery` gives the device: by serial number, else by port."""
        ids = f"{self.vid:04x}:{self.pid:04x}"
        if self.serial_number is not None:
            return f"usb:{ids}:{self.serial_number}"
        return f"usb:{ids}" if self.port_path is None else f"usb-port:{self.port_path}"

    @property
    def url(self) -> str:
        """The URL back (what `hw.discovery` writes)."""
        base = f"usb://{self.vid:04x}:{self.pid:04x}"
        if self.serial_number is not None:
            return f"{base}?serial={self.serial_number}"
        return base if self.port_path is None else f"{base}?port={self.port_path}"


def parse_usb_url(url: str) -> UsbAddress:
    """The address in `usb://vvvv:pppp[?serial=...|?port=...]`; `ValueError` naming the fault."""
    parts = urlsplit(url)
    vid, _, pid = parts.netloc.partition(":")
    try:
        if parts.scheme != "usb" or len(vid) != 4 or len(pid) != 4:
            raise ValueError
        ids = int(vid, 16), int(pid, 16)
    except ValueError:
        raise ValueError(
            f"{url!r} is not a USB address: write usb://vvvv:pppp with four hex digits each, "
            "e.g. usb://04b8:0e28"
        ) from None
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"serial", "port"})
    if unknown:
        raise ValueError(f"{url!r}: unknown key {unknown[0]!r} (known: serial, port)")
    serial_number = unquote(query["serial"][-1]) if "serial" in query else None
    port_path = query["port"][-1] if "port" in query else None
    return UsbAddress(*ids, serial_number, port_path)


class UsbEndpoint(Protocol):
    """The part of a pyusb `Endpoint` the transport reads (names are the USB descriptor's)."""

    @property
    def bEndpointAddress(self) -> int: ...
    @property
    def bmAttributes(self) -> int: ...
    @property
    def wMaxPacketSize(self) -> int: ...


class UsbInterface(Protocol):
    """The part of a pyusb `Interface` the transport reads."""

    @property
    def bInterfaceNumber(self) -> int: ...

    def endpoints(self) -> Sequence[UsbEndpoint]: ...


class UsbConfiguration(Protocol):
    """The part of a pyusb `Configuration` the transport reads."""

    def interfaces(self) -> Sequence[UsbInterface]: ...


class UsbDevice(Protocol):
    """The calls `UsbTransport` makes on a pyusb `usb.core.Device`."""

    @property
    def bus(self) -> int: ...
    @property
    def address(self) -> int: ...
    @property
    def port_numbers(self) -> tuple[int, ...] | None: ...
    @property
    def serial_number(self) -> str | None:
        """Reads a string descriptor: `ValueError` or `USBError` when access is refused."""
        ...

    def is_kernel_driver_active(self, interface: int) -> bool: ...
    def detach_kernel_driver(self, interface: int) -> None: ...
    def set_configuration(self) -> None: ...
    def get_active_configuration(self) -> UsbConfiguration: ...
    def write(self, endpoint: int, data: bytes, timeout: int) -> int: ...
    def read(self, endpoint: int, size_or_buffer: int, timeout: int) -> Sequence[int]: ...


class UsbBus(Protocol):
    """Finding devices and claiming them: pyusb's module functions, behind one object."""

    def find_all(self, vid: int, pid: int) -> list[UsbDevice]:
        """Every device with these ids; `usb.core.NoBackendError` without libusb."""
        ...

    def claim_interface(self, device: UsbDevice, interface: int) -> None:
        """Claim `interface` for this process."""
        ...

    def release(self, device: UsbDevice) -> None:
        """Release the interface and the device handle."""
        ...


class PyUsbBus:
    """The real `UsbBus`: pyusb over libusb-1.0."""

    def find_all(self, vid: int, pid: int) -> list[UsbDevice]:
        """Every device with these ids (reads no string descriptors)."""
        return list(usb.core.find(find_all=True, idVendor=vid, idProduct=pid))

    def claim_interface(self, device: UsbDevice, interface: int) -> None:
        """`usb.util.claim_interface`."""
        usb.util.claim_interface(device, interface)

    def release(self, device: UsbDevice) -> None:
        """`usb.util.dispose_resources`: the interface and the handle go."""
        usb.util.dispose_resources(device)


_GONE = (errno.ENODEV, errno.ENOENT)
_DENIED = (errno.EACCES, errno.EPERM)
_BULK = 2  # bmAttributes bits 0-1: the transfer type
_DIRECTION_IN = 0x80
_DRAIN_SIZE = 64


def _timeout_ms(timeout: float) -> int:
    return max(1, round(timeout * 1000))  # libusb reads 0 as "wait forever"


def _is_timeout(err: OSError) -> bool:
    return isinstance(err, usb.core.USBTimeoutError) or err.errno == errno.ETIMEDOUT


def _port_path(device: UsbDevice) -> str:
    # The same rule as hw.discovery.usb_listing, so its URLs find their device.
    ports = ".".join(str(n) for n in (device.port_numbers or ()))
    return f"{device.bus}-{ports}" if ports else f"{device.bus}-{device.address}"


@dataclass
class _Claimed:
    device: UsbDevice
    out_address: int
    in_address: int
    in_packet: int


class UsbTransport:
    """A printer's bulk endpoints over USB; see the module docstring."""

    link = "USB cable"

    def __init__(
        self,
        vid: int,
        pid: int,
        serial_number: str | None = None,
        *,
        port_path: str | None = None,
        bus: UsbBus | None = None,
        device: str = "receipt printer",
    ) -> None:
        """Nothing is opened until `connect()`; `bus` defaults to the real one (`PyUsbBus`)."""
        self.address = UsbAddress(vid, pid, serial_number, port_path)
        self.where = f"USB {self.address.ids}"
        self.url = self.address.url
        self.stable_id = self.address.stable_id
        self._bus: UsbBus = bus if bus is not None else PyUsbBus()
        self._device_name = device
        self._claimed: _Claimed | None = None
        self._pending = b""

    @classmethod
    def from_url(cls, url: str, *, bus: UsbBus | None = None) -> UsbTransport:
        """A transport for `usb://vvvv:pppp[?serial=...|?port=...]`."""
        where = parse_usb_url(url)
        return cls(where.vid, where.pid, where.serial_number, port_path=where.port_path, bus=bus)

    def connect(self) -> None:
        """Find, detach `usblp`, claim; `DeviceOffline` naming the fix if it cannot."""
        self.close()
        device = self._find()
        try:
            self._claimed = self._claim(device)
        except OSError as err:
            self._release(device)
            raise self._offline(err) from None
        except DeviceError:
            self._release(device)
            raise
        self._drain()

    def close(self) -> None:
        """Release the interface and the handle."""
        claimed, self._claimed = self._claimed, None
        self._pending = b""
        if claimed is not None:
            self._release(claimed.device)

    def is_open(self) -> bool:
        """False if closed, or if the device went away; drops status bytes nobody asked for."""
        if self._claimed is None:
            return False
        try:
            self._drain()
        except TransportLost:
            self.close()
            return False
        return True

    def send(self, data: bytes, timeout: float) -> None:
        """Bulk OUT writes until every byte is taken; each write waits at most `timeout`."""
        claimed = self._require()
        sent = 0
        while sent < len(data):
            try:
                count = claimed.device.write(claimed.out_address, data[sent:], _timeout_ms(timeout))
            except OSError as err:
                raise TransportLost(str(err)) from None
            if count <= 0:
                raise TransportLost("the printer took no data")
            sent += count

    def receive(self, size: int, timeout: float) -> bytes:
        """One bulk IN read (a whole packet, so the device cannot overflow it)."""
        claimed = self._require()
        if not self._pending:
            try:
                packet = claimed.device.read(
                    claimed.in_address, max(size, claimed.in_packet), _timeout_ms(timeout)
                )
            except OSError as err:
                if _is_timeout(err):
                    return b""
                raise TransportLost(str(err)) from None
            self._pending = bytes(packet)
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    # --- opening -------------------------------------------------------------------------

    def _find(self) -> UsbDevice:
        wanted = self.address
        try:
            candidates = self._bus.find_all(wanted.vid, wanted.pid)
        except usb.core.NoBackendError:
            raise DeviceOffline(
                f"cannot look for USB {wanted.ids}: libusb-1.0 is missing; the image "
                "installs it (apt install libusb-1.0-0)"
            ) from None
        except OSError as err:
            raise self._offline(err) from None
        for device in candidates:
            if wanted.port_path is not None and _port_path(device) != wanted.port_path:
                continue
            if wanted.serial_number is None or self._serial_of(device) == wanted.serial_number:
                return device
        raise DeviceOffline(f"no USB device {wanted.ids}: is it plugged in?")

    def _serial_of(self, device: UsbDevice) -> str | None:
        try:
            return device.serial_number
        except ValueError:
            # pyusb's "The device has no langid": the string descriptors could not
            # be read, which on Linux means the device node refused us.
            raise self._offline(OSError(errno.EACCES, "no langid")) from None
        except OSError as err:
            raise self._offline(err) from None

    def _claim(self, device: UsbDevice) -> _Claimed:
        configuration = self._configuration(device)
        for interface in configuration.interfaces():
            out_ep, in_ep = _bulk_endpoints(interface)
            if out_ep is not None:
                break
        else:
            raise DeviceError(
                f"USB {self.address.ids} has no bulk OUT endpoint, so it is not a printer: "
                "check the USB ids in the config"
            )
        if in_ep is None:
            raise DeviceError(
                f"USB {self.address.ids} has no bulk IN endpoint, so its status cannot be "
                "read: connect it by network or serial instead"
            )
        number = interface.bInterfaceNumber
        if device.is_kernel_driver_active(number):
            # usblp binds every USB printer class interface (/dev/usb/lpN); libusb
            # cannot claim it until the kernel lets go.
            device.detach_kernel_driver(number)
        self._bus.claim_interface(device, number)
        return _Claimed(device, out_ep.bEndpointAddress, in_ep.bEndpointAddress,
                        in_ep.wMaxPacketSize)  # fmt: skip

    @staticmethod
    def _configuration(device: UsbDevice) -> UsbConfiguration:
        try:
            return device.get_active_configuration()
        except OSError as err:
            if err.errno is not None:
                raise
            # pyusb's "Configuration not set" (no errno): a device nobody has
            # configured yet, which the kernel normally does at plug-in.
            device.set_configuration()
            return device.get_active_configuration()

    def _drain(self) -> None:
        """Read and drop what the device sent unasked (a status answer that came too late)."""
        self._pending = b""
        for _ in range(16):  # bounded: a device that never stops talking must not hang us
            if not self.receive(_DRAIN_SIZE, 0.001):
                return

    def _release(self, device: UsbDevice) -> None:
        with contextlib.suppress(OSError):  # an unplugged device fails to let go
            self._bus.release(device)

    def _require(self) -> _Claimed:
        if self._claimed is None:
            raise TransportLost("not connected")
        return self._claimed

    def _offline(self, err: OSError) -> DeviceOffline:
        ids = self.address.ids
        if err.errno in _GONE:
            return DeviceOffline(f"no USB device {ids}: is it plugged in?")
        if err.errno in _DENIED:
            return DeviceOffline(
                f"permission denied on USB {ids}: the udev rule from the image grants the "
                "`lp` group; is the register user in it?"
            )
        if err.errno == errno.EBUSY:
            return DeviceOffline(
                f"USB {ids} is held by another program (CUPS, or a second register): "
                "remove the printer from CUPS or stop the other program"
            )
        return DeviceOffline(
            f"cannot open USB {ids} ({err}): unplug the {self._device_name} and plug it back in"
        )


def _bulk_endpoints(interface: UsbInterface) -> tuple[UsbEndpoint | None, UsbEndpoint | None]:
    """The first bulk OUT and bulk IN endpoints of `interface`."""
    out_ep = in_ep = None
    for endpoint in interface.endpoints():
        if endpoint.bmAttributes & 0x03 != _BULK:
            continue
        if endpoint.bEndpointAddress & _DIRECTION_IN:
            in_ep = in_ep or endpoint
        else:
            out_ep = out_ep or endpoint
    return out_ep, in_ep
