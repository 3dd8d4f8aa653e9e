"""The consumer: one outbox entry in, one database transaction, one ack out.

Theory of operation. `Consumer.handle_batch(messages, now)` takes the messages registers
published on `pos/v1/{s}/{r}/out/{kind}` that the service has in hand (`handle` is a batch
of one):

1. Before any transaction, each message alone: parse the topic and the envelope; check
   the topic's store/register/kind are the payload's (a register writes only as itself);
   decode and check the body by kind (a sale must agree with its envelope). None of this
   needs the database, so it costs no lock time.
2. Still before it, in a short read-only transaction: the store's rules and which of the
   batch's sales are already stored; every other sale is re-derived there and then, so
   the costliest check holds no lock, and two consumers re-derive side by side. The
   judgement carries the catalogue version it used; step 3 keeps it only if the store's
   version is unchanged inside the write transaction, and judges again if not.
3. In ONE transaction for the batch (`batch.Batch`): lock the watermark row of every
   register in it, in sorted order (so two consumers never decide about one register at
   once, and never deadlock), then read what is known of the batch's ids. Per message, in
   arrival order: already stored -> "duplicate", nothing written. Already rejected for
   this register -> "rejected" again with the same reason: a rejection is final for that
   id, and every redelivery hears it. A sale is re-derived with the back office's own
   rules for the store: an offline sale is accepted with its drift recorded beside it; an
   online sale must not drift.
4. Accepted: the entry (its exact bytes) goes into `entries` keyed by id, its effects
   into the ledgers (`ledger.py`). Rejected: it goes into `rejected` with its reason,
   keyed by (store, register, id), and NOT into `entries`. Either way the watermark
   moves. Writes are queued and sent grouped by statement at the end.
5. Commit, then return the acks for the caller to publish.

A body holding what looks like a card number in any free-text field is rejected, and
no rejected payload that holds one is kept: card numbers are never stored.

Bad input never raises: an unusable topic or a payload with no recoverable id and
sequence is logged and answered with None (no ack is possible); anything else bad is
"rejected" with a reason. An unexpected failure is logged and answered with None, so
nothing final is decided: the register resends later. A batch that fails that way is
stored again one message at a time, so one bad entry holds no other back. Only
DatabaseUnavailable propagates: nothing was committed and the caller must not
acknowledge the messages.
Logs name ids, topics and reasons, never payload contents.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from appliance.domain import codec
from appliance.domain.errors import DomainError, EncodingError
from appliance.domain.pan import (
    card_number_at,
    may_hold_card_number,
    raw_holds_card_number,
    scrub,
)
from appliance.domain.rules import StoreRules
from appliance.domain.sale import (
    SCHEMA_VERSION,
    Drift,
    Sale,
    earned_by_rules,
    movements_problem,
    rederive,
)
from appliance.domain.till import CashDrop
from appliance.domain.timeclock import Punch
from appliance.sync import wire
from appliance.sync.wire import Ack, Envelope, Topic, WireError
from backoffice import ledger
from backoffice.batch import Batch
from backoffice.catalog import RulesCache, StoreRow
from backoffice.db import Database, DatabaseUnavailable, Tx

log = logging.getLogger(__name__)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DRIFT_SHOWN = 5


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


def _queue_rejection(batch: Batch, refused: _Refused, payload: bytes, *, in_chain: bool) -> None:
    where = refused.where
    # A too-big payload is kept cut to the limit; only that is scanned, never megabytes,
    # both as cut and with a card number's length past the cut (so none is kept in part).
    kept = payload[: wire.MAX_PAYLOAD]
    if any(map(raw_holds_card_number, {kept, payload[: wire.MAX_PAYLOAD + 32]})):  # once if equal
        kept = b""  # never store a card number, even the one that got this rejected
    batch.writes.insert("rejected", {"store": where.store, "register": where.register,
                                     "id": refused.id, "seq": refused.seq, "kind": where.kind,
                                     "reason": refused.reason, "in_chain": int(in_chain),
                                     "payload": kept,
                                     "at": batch.now.isoformat()},
                        _IN_CHAIN_WINS if in_chain else _FIRST_WINS)  # fmt: skip
    batch.reject((where.store, where.register), refused.id, refused.reason, in_chain)


_IN_CHAIN_WINS = (
    "(store, register, id) DO UPDATE SET seq = excluded.seq, kind = excluded.kind, "
    "reason = excluded.reason, in_chain = excluded.in_chain, payload = excluded.payload, "
    "at = excluded.at"
)
"""A rejection of the register's own well-formed entry replaces a garbled copy's."""
_FIRST_WINS = "(store, register, id) DO NOTHING"


@dataclass(frozen=True, slots=True)
class _Verdict:
    """An accepted entry: what to write, and what the ack tells the register."""

    write: Any  # a callable(tx) writing the entry's effects
    server: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Judged:
    """A sale re-derived before the transaction, with the catalogue version it used
    (None: the store was unknown); `outcome` is the verdict or the reason it is refused."""

    version: int | None
    outcome: _Verdict | str


@dataclass(frozen=True, slots=True)
class _Item:
    """One message, checked as far as it can be without the database.

    `outside` is why it cannot be one of the register's own entries (malformed, or its
    identity disagrees with its topic); `rejection` why its body is refused; `body` is
    a sale still to be re-derived, or what to write; `judged` a sale's re-derivation
    done before the transaction.
    """

    where: Topic
    payload: bytes
    id: str
    seq: int
    envelope: Envelope | None = None
    outside: str | None = None
    rejection: str | None = None
    body: Sale | _Verdict | None = None
    judged: _Judged | None = None


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


RECOVER_LIMIT = 4 * wire.MAX_PAYLOAD
"""The largest refused payload parsed whole to find whom to answer: a register's own
too-big entry is seldom far over the limit, and parsing what the broker lets through
(up to 256 MiB unless `max_packet_size` says less) could cost the back office gigabytes."""
_CANONICAL_TAIL = re.compile(
    rb'\},"id":"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",'
    rb'"kind":"[a-z]{1,20}","prev":"[0-9a-f]{64}","register":"[a-z0-9_-]{1,64}",'
    rb'"seq":([1-9][0-9]{0,17}),"store":"[a-z0-9_-]{1,64}","v":1\}\Z'
)
"""How every envelope a register builds ends (canonical JSON sorts `body` before `id`)."""


def _recover(payload: bytes) -> tuple[str, int] | None:
    """The id and sequence of a malformed envelope, when they can still be read.

    Past RECOVER_LIMIT only the canonical ending a register writes is read (the last
    few hundred bytes), so an entry of any size from a register still hears why.
    """
    if len(payload) > RECOVER_LIMIT:
        tail = _CANONICAL_TAIL.search(payload[-512:])
        return None if tail is None else (tail[1].decode(), int(tail[2]))
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
        return self.handle_batch([(topic, payload)], now)[0]

    def handle_batch(
        self, messages: Sequence[tuple[str, bytes]], now: datetime
    ) -> list[Ack | None]:
        """Store many entries in one transaction; the acks, in order, to publish after it.

        If the batch fails on something unexpected, nothing of it is kept and its entries
        are stored one by one, so one bad entry cannot hold the others back.
        """
        items = [self._prepare(topic, payload) for topic, payload in messages]
        try:
            return self._store(self._judge_ahead(items), now)
        except DatabaseUnavailable:
            raise
        except Exception:
            if len(messages) > 1:
                log.exception("a batch of %d entries failed; storing them one by one",
                              len(messages))  # fmt: skip
                return [self.handle(topic, payload, now) for topic, payload in messages]
            log.exception("could not handle an entry on %s; it stays unacked for a resend",
                          messages[0][0])  # fmt: skip
            return [None]

    # --- before the transaction: everything that needs no database ---------------------------

    def _prepare(self, topic: str, payload: bytes) -> _Item | None:
        try:
            where = wire.parse_topic(topic)
            if where.channel != "out":
                raise WireError(f"topic: {where.channel} is not an outbox topic")
        except WireError as exc:
            log.warning("dropped a message on an unusable topic: %s", exc)
            return None
        try:
            envelope = wire.decode_envelope(payload)
        except WireError as exc:
            recovered = _recover(payload)
            if recovered is None:
                log.warning("dropped a malformed entry on %s/%s (no id or seq): %s",
                            where.store, where.register, scrub(str(exc)))  # fmt: skip
                return None
            return _Item(where, payload, *recovered, outside=str(exc))
        item = _Item(where, payload, envelope.id, envelope.seq, envelope)
        try:
            wire.check_identity(where, envelope)
        except WireError as exc:
            return replace(item, outside=f"identity: {exc}")
        try:
            return replace(item, body=self._decode(envelope, payload))
        except Rejection as exc:
            return replace(item, rejection=str(exc))
        except Exception:  # a bug: decide nothing, the register resends later
            log.exception("could not check entry %s on %s", envelope.id, topic)
            return None

    def _decode(self, envelope: Envelope, payload: bytes) -> Sale | _Verdict:
        """The body checked by kind: a sale still to be judged, or what to write."""
        if b"\\u0000" in payload:
            raise Rejection("payload: contains a NUL character")
        card = card_number_at(envelope.body, "body") if may_hold_card_number(payload) else None
        if card is not None:
            raise Rejection(f"{card}: looks like a card number, and card numbers are never stored")
        body = envelope.body
        try:
            if envelope.kind == "sale":
                return _decode_sale(envelope)
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

    def _judge_ahead(self, items: list[_Item | None]) -> list[_Item | None]:
        """Re-derive the batch's sales not stored yet, outside the write transaction."""
        sales = {item.id: item.body for item in items
                 if item is not None and isinstance(item.body, Sale) and item.outside is None
                 and item.rejection is None}  # fmt: skip
        if not sales:
            return items
        with self.db.transaction(readonly=True) as tx:
            marks = ", ".join("?" for _ in sales)
            stored = {i for (i,) in tx.all(f"SELECT id FROM entries WHERE id IN ({marks})",
                                           sorted(sales))}  # fmt: skip
            found = {store: self.rules.get(tx, store)
                     for store in sorted({sale.store for sale in sales.values()})}  # fmt: skip
        judged: dict[str, _Judged] = {}
        for entry_id, sale in sales.items():
            if entry_id in stored:
                continue  # a duplicate: nothing to judge
            rules = found[sale.store]
            version = None if rules is None else rules[0].version
            try:
                judged[entry_id] = _Judged(version, _judge_sale(sale, rules))
            except Rejection as exc:
                judged[entry_id] = _Judged(version, str(exc))
        return [item if item is None or item.id not in judged or item.body is not sales[item.id]
                else replace(item, judged=judged[item.id]) for item in items]  # fmt: skip

    # --- in the transaction ------------------------------------------------------------------

    def _store(self, items: list[_Item | None], now: datetime) -> list[Ack | None]:
        live = [item for item in items if item is not None]
        if not live:
            return [None] * len(items)
        registers = {(item.where.store, item.where.register) for item in live}
        with self.db.transaction() as tx:
            batch = Batch(tx, registers, {item.id for item in live}, now)
            rules: dict[str, tuple[StoreRow, StoreRules] | None] = {}
            acks = [None if item is None else self._decide(batch, item, rules) for item in items]
            batch.finish()
        return acks

    def _decide(
        self, batch: Batch, item: _Item, rules: dict[str, tuple[StoreRow, StoreRules] | None]
    ) -> Ack:
        key = (item.where.store, item.where.register)
        owner, stored = batch.owner(item.id), batch.rejection(key, item.id)
        if owner == key:
            return Ack(item.id, item.seq, "duplicate")  # even for a garbled later copy
        if item.outside is not None:  # cannot be the register's own entry: fills no gap
            if stored is not None:
                return Ack(item.id, item.seq, "rejected", stored.reason)
            refused = _Refused(item.where, item.id, item.seq, item.outside)
            _queue_rejection(batch, refused, item.payload, in_chain=False)
            log.warning("rejected entry %s on %s/%s: %s", item.id, *key, refused.reason)
            return refused.ack
        if stored is not None and stored.in_chain:  # a rejection is final for that id
            return Ack(item.id, item.seq, "rejected", stored.reason)
        if owner is not None:
            # never "duplicate" to a register whose entry was not stored: it would drop it
            return _reject_own(batch, item, "id: already used by an entry of another register")
        assert item.envelope is not None
        try:
            verdict = self._verdict(batch.tx, item, rules)
        except Rejection as exc:
            return _reject_own(batch, item, str(exc))
        batch.accept(item.envelope, item.payload)
        verdict.write(batch.writes)
        batch.received(key, item.seq)
        return Ack(item.id, item.seq, "accepted", server=verdict.server)

    def _verdict(
        self, tx: Tx, item: _Item, rules: dict[str, tuple[StoreRow, StoreRules] | None]
    ) -> _Verdict:
        if item.rejection is not None:
            raise Rejection(item.rejection)
        if isinstance(item.body, _Verdict):
            return item.body
        assert isinstance(item.body, Sale)
        store = item.body.store
        if store not in rules:
            rules[store] = self.rules.get(tx, store)
        found, judged = rules[store], item.judged
        if judged is None or judged.version != (None if found is None else found[0].version):
            return _judge_sale(item.body, found)  # not judged ahead, or the catalogue moved
        if isinstance(judged.outcome, str):
            raise Rejection(judged.outcome)
        return judged.outcome


def _reject_own(batch: Batch, item: _Item, reason: str) -> Ack:
    """Refuse the register's own entry for good: kept with its reason, its seq received
    (the register settles it and goes on, so it must not show as a gap)."""
    key = (item.where.store, item.where.register)
    refused = _Refused(item.where, item.id, item.seq, reason)
    _queue_rejection(batch, refused, item.payload, in_chain=True)
    batch.received(key, item.seq)
    log.info("rejected %s %s (%s/%s #%d): %s", item.where.kind, item.id, *key, item.seq,
             refused.reason)  # fmt: skip
    return refused.ack


def _decode_sale(envelope: Envelope) -> Sale:
    """The sale in the body, agreeing with its envelope on who, where and which."""
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
    problem = movements_problem(sale)
    if problem is not None:  # else its balances and points would move by what it says
        raise Rejection(f"body.{problem}")
    return sale


def _judge_sale(sale: Sale, found: tuple[StoreRow, StoreRules] | None) -> _Verdict:
    """Re-derive the sale with the store's rules: offline drift is recorded, online refused."""
    if found is None:
        raise Rejection(f"store {sale.store!r}: unknown to the back office (no catalogue)")
    row, rules = found
    if sale.currency != row.currency:
        raise Rejection(
            f"body.currency: the sale is in {sale.currency} but store "
            f"{sale.store} sells in {row.currency}"
        )
    try:
        drift = rederive(sale, rules)
    except DomainError as exc:  # e.g. a quantity past the limit, an amount out of range
        raise Rejection(f"body: {exc}") from None
    if not drift.clean and not sale.offline:
        raise Rejection(f"online sale drifted from the back office's rules: {_drift_text(drift)}")
    derived = None if drift.total is None else sale.total.minor - drift.total.minor
    earned = earned_by_rules(sale, rules)
    if sale.loyalty is not None and sale.loyalty.earned != (earned or 0):
        # the back office's rules decide the points (the drift keeps what the register said)
        sale = replace(sale, loyalty=replace(sale.loyalty, earned=earned or 0))
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
    if not wire.is_iso_time(body["at"]):
        raise Rejection("body.at: expected an ISO 8601 time")
    return ledger.NoSale(body["cashier"], body["manager"], body["reason"], body["at"])
