"""What the sync link shows to the rest of the register, and the one socket option every
MQTT client here shares: the outbox port the link drains, the status the screen shows,
how ack statuses settle an entry, and TCP_NODELAY.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any, Protocol

import paho.mqtt.client as mqtt

from appliance.store import outbox
from appliance.store.outbox import UnsentEntry

SETTLED = {
    "accepted": outbox.EntryState.CONFIRMED,
    "duplicate": outbox.EntryState.CONFIRMED,
    "rejected": outbox.EntryState.REJECTED,
}


class OutboxPort(Protocol):
    """What the link needs of the register's outbox (appliance.register.Register has it)."""

    def unsent_after(self, after: int, limit: int) -> tuple[list[UnsentEntry], int]:
        """Up to `limit` unsent entries after seq `after`, and the unsent count."""

    def record_sync(
        self, settled: list[tuple[str, outbox.EntryState, str]], sent: list[int]
    ) -> None:
        """In one transaction: entries confirmed or rejected, and entries handed to the broker."""

    def requeue(self) -> int:
        """In-flight entries are pending again."""

    def oldest_unsent_age_s(self) -> int | None:
        """Seconds the oldest unsent entry has waited (register clock); None if none."""


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """For the screen's indicator and badge."""

    state: str  # online | syncing | offline
    unsent: int


def set_nodelay(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """paho's on_socket_open: Nagle off on TCP sockets (it stalls request/reply over MQTT)."""
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
