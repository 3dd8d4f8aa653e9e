"""Register presence: the retained status each register publishes (the will says offline).

The last status per register is kept, with the register's pending count and how long the
oldest of them had waited, so the `pending` report and the dashboard show at a glance
which tills still hold unsent sales, and since when.
"""

from __future__ import annotations

import logging
from datetime import datetime

from appliance.sync import wire
from appliance.sync.wire import WireError
from backoffice.db import Database

log = logging.getLogger(__name__)


def record_status(db: Database, store: str, register: str, payload: bytes, now: datetime) -> bool:
    """Keep a register's latest status; False (logged) when the payload is not a status."""
    try:
        status = wire.decode_status(payload)
    except WireError as exc:
        log.warning("ignored a malformed status of %s/%s: %s", store, register, exc)
        return False
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO register_status (store, register, state, pending, at, received_at, "
            "oldest_unsent_s) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (store, register) DO "
            "UPDATE SET state = excluded.state, pending = excluded.pending, at = excluded.at, "
            "received_at = excluded.received_at, oldest_unsent_s = excluded.oldest_unsent_s",
            (store, register, status.state, status.pending, status.at, now.isoformat(),
             status.oldest_unsent_s),
        )  # fmt: skip
    return True
