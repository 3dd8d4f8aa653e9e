"""The consumer: one outbox entry in, one database transaction, one ack out.

Theory of operation. `Consumer.handle(topic, payload, now)` runs, for each message a
register published on `pos/v1/{s}/{r}/out/{kind}`:

1. Parse the topic and the envelope; check the topic's store/register/kind are the
   payload's (a register writes only as itself).
2. In ONE transaction: lock the register's watermark row (so two consumers never decide
   about one register at once), then look the id up. Already stored -> "duplicate",
   nothing else is written. Already rejected for this register -> "rejected" again with
   the same reason: a rejection is final for that id, and every redelivery hears it.
3. Check the body by kind. A sale is decoded, must agree with its envelope, and is
   re-derived with the back office's own rules for the store: an offline sale is
   accepted with its drift recorded beside it; an online sale must not drift. Time
   clock punches, cash drops and drawer openings are decoded and stored.
4. Accepted: the entry (its exact bytes) goes into `entries` keyed by id, its effects
   into the ledgers (`ledger.py`). Rejected: it goes into `rejected` with its reason,
   keyed by (store, register, id), and NOT into `entries`. Either way the watermark
   moves.
5. Commit, then return the Ack for the caller to publish.

A body holding what looks like a card number in any free-text field is rejected, and
no rejected payload that holds one is kept: card numbers are never stored.

Bad input never raises: an unusable topic or a payload with no recoverable id and
sequence is logged and answered with None (no ack is possible); anything else bad is
"rejected" with a reason. An unexpected failure is logged and answered with None, so
nothing final is decided: the register resends later. Only DatabaseUnavailable
propagates: nothing was committed and the caller must not acknowledge the message.
Logs name ids, topics and reasons, never payload contents.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from appliance.domain import codec
from appliance.domain.errors import DomainError, EncodingError
from appliance.domain.pan import contains_card_number, luhn_valid
from appliance.domain.sale import SCHEMA_VERSION, Drift, Sale, rederive
from appliance.domain.till import CashDrop
from appliance.domain.timeclock import Punch
from appliance.sync import wire
from appliance.sync.wire import Ack, Envelope, Topic, WireError
from backoffice import ledger
from backoffice.catalog import RulesCache
from backoffice.db import Database, DatabaseUnavailable, Tx

log = logging.getLogger(__name__)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DRIFT_SHOWN = 5
_DIGITS = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
_HEX_FIELDS = frozenset({"id", "previous_hash"})  # hex digests and UUIDs: not free text


def scrub(text: str) -> str:
    """The text with anything that looks like a card number replaced (for reasons and logs)."""

    def hide(match: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", match.group())
        return "[card number]" if luhn_valid(digits) else match.group()

    return _DIGITS.sub(hide, text)


def _card_number_at(value: Any, path: str) -> str | None:
    """The path of the first free-text string holding what looks like a card number."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in _HEX_FIELDS:
                found = _card_number_at(item, f"{path}.{key}")
                if found:
                    return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _card_number_at(item, f"{path}[{i}]")
            if found:
                return found
    elif isinstance(value, str) and contains_card_number(value):
        return path
    return None


class Rejection(Exception):
    """An entry the back office refuses; the text is the reason the register shows."""


@dataclass(frozen=True, slots=True)
class _Refused:
    """A refused entry: where it came from, its id and sequence, and why."""

    where: Topic
    id: str
    seq: int
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", scrub(self.reason))

    @property
    def ack(self) -> Ack:
        """The answer the register hears."""
        return Ack(self.id, self.seq, "rejected", self.reason)


def _stored_reason(
    tx: Tx, store: str, register: str, entry_id: str, in_chain_only: bool = False
) -> str | None:
    """Why this register's entry was rejected before, if it was.

    With `in_chain_only`, only a rejection of a well-formed entry counts: a garbled or
    foreign copy that came first must not decide the fate of the register's own entry.
    """
    query = "SELECT reason FROM rejected WHERE store = ? AND register = ? AND id = ?"
    if in_chain_only:
        query += " AND in_chain = 1"
    reason = tx.scalar(query, (store, register, entry_id))
    return None if reason is None else str(reason)


def _store_rejection(
    tx: Tx, refused: _Refused, payload: bytes, now: datetime, *, in_chain: bool
) -> None:
    where = refused.where
    if contains_card_number(payload.decode("utf-8", "replace")):
        payload = b""  # never store a card number, even the one that got this rejected
    tx.insert("rejected", {"store": where.store, "register": where.register, "id": refused.id,
                           "seq": refused.seq, "kind": where.kind, "reason": refused.reason,
                           "in_chain": int(in_chain), "payload": payload[: wire.MAX_PAYLOAD],
                           "at": now.isoformat()},
              _IN_CHAIN_WINS if in_chain else "(store, register, id) DO NOTHING")  # fmt: skip


_IN_CHAIN_WINS = (
    "(store, register, id) DO UPDATE SET seq = excluded.seq, kind = excluded.kind, "
    "reason = excluded.reason, in_chain = excluded.in_chain, payload = excluded.payload, "
    "at = excluded.at"
)
"""A rejection of the register's own well-formed entry replaces a garbled copy's."""


@dataclass(frozen=True, slots=True)
class _Verdict:
    """An accepted entry: what to write, and what the ack tells the register."""

    write: Any  # a callable(tx) writing the entry's effects
    server: dict[str, Any] = field(default_factory=dict)


def _drift_text(drift: Drift) -> str:
    shown = [
        f"{i.field}: register {i.recorded or '-'}, back office {i.derived or '-'}"
        for i in drift.items[:_DRIFT_SHOWN]
    ]
    more = len(drift.items) - _DRIFT_SHOWN
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _server(drift: Drift, derived_total: int | None) -> dict[str, Any]:
    server: dict[str, Any] = {}
    if derived_total is not None:
        server["total"] = derived_total
    if not drift.clean:
        server["drift"] = [
            {"field": i.field, "recorded": i.recorded, "derived": i.derived} for i in drift.items
        ]
        if drift.total is not None:
            server["drift_total"] = drift.total.minor
    return server


def _recover(payload: bytes) -> tuple[str, int] | None:
    """The id and sequence of a malformed envelope, when they can still be read."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    entry_id, seq = data.get("id"), data.get("seq")
    if not isinstance(entry_id, str) or not _UUID.fullmatch(entry_id):
        return None
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        return None
    return entry_id, seq


class Consumer:
    """Stores each register entry exactly once; see the module docstring."""

    def __init__(self, db: Database, rules: RulesCache | None = None) -> None:
        self.db = db
        self.rules = rules or RulesCache()

    def handle(self, topic: str, payload: bytes, now: datetime) -> Ack | None:
        """Store one entry and return the ack to publish after the commit (None: no ack)."""
        try:
            where = wire.parse_topic(topic)
            if where.channel != "out":
                raise WireError(f"topic: {where.channel} is not an outbox topic")
        except WireError as exc:
            log.warning("dropped a message on an unusable topic: %s", exc)
            return None
        try:
            return self._handle(where, payload, now)
        except DatabaseUnavailable:
            raise
        except Exception:
            log.exception("could not handle an entry on %s; it stays unacked for a resend", topic)
            return None

    def _handle(self, where: Topic, payload: bytes, now: datetime) -> Ack | None:
        try:
            envelope = wire.decode_envelope(payload)
        except WireError as exc:
            recovered = _recover(payload)
            if recovered is None:
                log.warning("dropped a malformed entry on %s/%s (no id or seq): %s",
                            where.store, where.register, scrub(str(exc)))  # fmt: skip
                return None
            entry_id, seq = recovered
            return self._reject_outside_chain(_Refused(where, entry_id, seq, str(exc)),
                                              payload, now)  # fmt: skip
        try:
            wire.check_identity(where, envelope)
        except WireError as exc:
            refused = _Refused(where, envelope.id, envelope.seq, f"identity: {exc}")
            return self._reject_outside_chain(refused, payload, now)
        with self.db.transaction() as tx:
            watermark = ledger.lock_register(tx, where.store, where.register, now)
            known = self._known(tx, envelope)
            if known is not None:
                return known
            try:
                verdict = self._check(tx, envelope, payload)
            except Rejection as exc:
                refused = _Refused(where, envelope.id, envelope.seq, str(exc))
                _store_rejection(tx, refused, payload, now, in_chain=True)
                ledger.advance_watermark(tx, where.store, where.register, envelope.seq,
                                         watermark, now)  # fmt: skip
                log.info("rejected %s %s (%s/%s #%d): %s", envelope.kind, envelope.id,
                         where.store, where.register, envelope.seq, refused.reason)  # fmt: skip
                return refused.ack
            tx.insert("entries", {"id": envelope.id, "kind": envelope.kind,
                                  "store": envelope.store, "register": envelope.register,
                                  "seq": envelope.seq, "prev": envelope.prev, "at": envelope.at,
                                  "payload": payload, "received_at": now.isoformat()})  # fmt: skip
            ledger.chain_check(tx, envelope.store, envelope.register, envelope.seq,
                               envelope.prev, payload)  # fmt: skip
            verdict.write(tx)
            ledger.advance_watermark(tx, where.store, where.register, envelope.seq, watermark, now)
        return Ack(envelope.id, envelope.seq, "accepted", server=verdict.server)

    # --- stored answers ------------------------------------------------------------------

    def _known(self, tx: Tx, envelope: Envelope) -> Ack | None:
        owner = tx.one("SELECT store, register FROM entries WHERE id = ?", (envelope.id,))
        if owner is not None:
            if tuple(owner) == (envelope.store, envelope.register):
                return Ack(envelope.id, envelope.seq, "duplicate")
            # never "duplicate" to a register whose entry was not stored: it would drop it
            taken = "id: already used by an entry of another register"
            return Ack(envelope.id, envelope.seq, "rejected", taken)
        reason = _stored_reason(tx, envelope.store, envelope.register, envelope.id, True)
        return None if reason is None else Ack(envelope.id, envelope.seq, "rejected", reason)

    def _reject_outside_chain(self, refused: _Refused, payload: bytes, now: datetime) -> Ack:
        """A message that cannot be one of the register's own entries: final, fills no gap.

        An id this register already delivered intact is still "duplicate": the register
        must not show a stored sale as rejected because a later copy was garbled.
        """
        where = refused.where
        with self.db.transaction() as tx:
            ledger.lock_register(tx, where.store, where.register, now)
            owner = tx.one("SELECT store, register FROM entries WHERE id = ?", (refused.id,))
            if owner is not None and tuple(owner) == (where.store, where.register):
                return Ack(refused.id, refused.seq, "duplicate")
            stored = _stored_reason(tx, where.store, where.register, refused.id)
            if stored is not None:
                return Ack(refused.id, refused.seq, "rejected", stored)
            _store_rejection(tx, refused, payload, now, in_chain=False)
        log.warning("rejected entry %s on %s/%s: %s", refused.id, where.store, where.register,
                    refused.reason)  # fmt: skip
        return refused.ack

    # --- checks by kind --------------------------------------------------------------------

    def _check(self, tx: Tx, envelope: Envelope, payload: bytes) -> _Verdict:
        if b"\\u0000" in payload:
            raise Rejection("payload: contains a NUL character")
        card = _card_number_at(envelope.body, "body")
        if card is not None:
            raise Rejection(f"{card}: looks like a card number, and card numbers are never stored")
        body = envelope.body
        try:
            if envelope.kind == "sale":
                return self._check_sale(tx, envelope)
            if envelope.kind == "timeclock":
                punch = codec.from_data(Punch, body, "XXX", "body")
                return _Verdict(lambda t: ledger.write_punch(t, envelope, punch))
            if envelope.kind == "cashdrop":
                fields = {k: v for k, v in body.items() if k != "currency"}
                drop = codec.from_data(CashDrop, fields, _currency(body.get("currency")), "body")
                if drop.amount.minor <= 0:
                    raise Rejection("body.amount: a cash drop must be positive")
                return _Verdict(lambda t: ledger.write_cash_drop(t, envelope, drop))
            no_sale = _no_sale(body)
            return _Verdict(lambda t: ledger.write_no_sale(t, envelope, no_sale))
        except (EncodingError, DomainError) as exc:
            raise Rejection(str(exc)) from None

    def _check_sale(self, tx: Tx, envelope: Envelope) -> _Verdict:
        body = envelope.body
        sale = codec.from_data(Sale, body, _currency(body.get("currency")), "body")
        if sale.version != SCHEMA_VERSION:
            raise Rejection(f"body.version: unknown sale version {sale.version}")
        for name, recorded, expected in (
            ("id", sale.id, envelope.id),
            ("store", sale.store, envelope.store),
            ("register", sale.register, envelope.register),
            ("sequence", sale.sequence, envelope.seq),
            ("previous_hash", sale.previous_hash, envelope.prev),
        ):
            if recorded != expected:
                raise Rejection(
                    f"body.{name}: the sale says {str(recorded)[:70]!r} but its "
                    f"envelope says {str(expected)[:70]!r}"
                )
        found = self.rules.get(tx, sale.store)
        if found is None:
            raise Rejection(f"store {sale.store!r}: unknown to the back office (no catalogue)")
        row, rules = found
        if sale.currency != row.currency:
            raise Rejection(
                f"body.currency: the sale is in {sale.currency} but store "
                f"{sale.store} sells in {row.currency}"
            )
        drift = rederive(sale, rules)
        if not drift.clean and not sale.offline:
            raise Rejection(
                f"online sale drifted from the back office's rules: {_drift_text(drift)}"
            )
        derived = None if drift.total is None else sale.total.minor - drift.total.minor
        return _Verdict(lambda t: ledger.write_sale(t, sale, drift), _server(drift, derived))


def _currency(value: Any) -> str:
    if not isinstance(value, str) or not (len(value) == 3 and value.isalpha() and value.isupper()):
        raise Rejection(f"body.currency: expected a currency code, got {str(value)[:20]!r}")
    return value


def _no_sale(body: dict[str, Any]) -> ledger.NoSale:
    expected = {"cashier", "manager", "reason", "at"}
    unknown = sorted(set(body) - expected)
    if unknown:
        raise Rejection(f"body: unknown field {unknown[0][:40]!r}")
    for name in sorted(expected):
        if not isinstance(body.get(name), str):
            raise Rejection(f"body.{name}: expected a string")
    try:
        datetime.fromisoformat(body["at"])
    except ValueError:
        raise Rejection("body.at: expected an ISO 8601 time") from None
    return ledger.NoSale(body["cashier"], body["manager"], body["reason"], body["at"])
