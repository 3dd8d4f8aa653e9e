"""The back room of the register: till, time clock, shift reports, and the sync link's side.

Mixed into `appliance.register.Register`; see there.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from appliance.catalog_file import parse_store
from appliance.domain import codec
from appliance.domain.money import Money
from appliance.domain.pan import contains_card_number
from appliance.domain.sale import Sale
from appliance.domain.till import CashDrop, Till, TillClose
from appliance.domain.timeclock import ClockAction, Punch
from appliance.register_core import NeedsConnection, RegisterCore, RegisterError
from appliance.shift import ShiftReport, build_report
from appliance.store import cache, local, outbox
from appliance.store.lmdb_env import Txn
from appliance.store.local import Cashier
from appliance.store.outbox import EntryState, UnsentEntry
from appliance.sync.wire import decode_envelope


class Backroom(RegisterCore):
    """Till and drawer, time clock, shift reports; what the sync link asks of the outbox."""

    # --- till, time clock, shift ----------------------------------------------------------

    def till(self) -> Till:
        """The till as it stands."""
        return self._read(lambda t: local.till(t, self.storage, self.queue.register, self.currency))

    def open_till(self, opening_float: Money) -> Till:
        """Count the float in at the start of a shift."""
        self._who()

        def run(txn: Txn) -> Till:
            opened = local.till(txn, self.storage, self.queue.register, self.currency).open(
                opening_float
            )
            local.put_till(txn, self.storage, self.queue.register, opened)
            return opened

        return self._write(run, "opening the till")

    def cash_drop(self, amount: Money, bag: str) -> CashDrop:
        """Take cash from the drawer to the safe; sent to the back office like a sale."""
        cashier, now = self._who(), self.clock()

        entry_id = self.new_id()

        def run(txn: Txn) -> CashDrop:
            current = local.till(txn, self.storage, self.queue.register, self.currency)
            after, drop = current.drop(cashier.id, amount, bag, now)
            local.put_till(txn, self.storage, self.queue.register, after)
            body = {**codec.to_data(drop), "currency": self.currency}
            self._record(entry_id, "cashdrop", body, {"total": amount.minor, "bag": bag}, txn, now)
            return drop

        return self._write_entry(run, entry_id, "cash drop")

    def close_till(self, counted: Money) -> TillClose:
        """Count out the till: over or short."""
        self._who()

        def run(txn: Txn) -> TillClose:
            current = local.till(txn, self.storage, self.queue.register, self.currency)
            closed, result = current.close(counted)
            local.put_till(txn, self.storage, self.queue.register, closed)
            return result

        return self._write(run, "closing the till")

    def no_sale(self, manager_pin: str | None, reason: str) -> Cashier:
        """Approve opening the drawer without a sale; recorded and sent like a sale."""
        cashier = self._who()
        if contains_card_number(reason):  # refused before a manager is called over for it
            raise RegisterError("the reason looks like a card number; it is never stored")
        manager = self.manager(manager_pin, "opening the drawer without a sale")
        now = self.clock()
        body = {"cashier": cashier.id, "manager": manager.id, "reason": reason,
                "at": now.isoformat()}  # fmt: skip
        entry_id, summary = self.new_id(), {"reason": reason}
        self._write_entry(lambda t: self._record(entry_id, "nosale", body, summary, t, now),
                          entry_id, "drawer opening")  # fmt: skip
        return manager

    def prune_history(self) -> int:
        """Drop confirmed entries older than `storage.history_days` (never unconfirmed ones)."""
        cutoff = self.clock() - timedelta(days=self.config.storage.history_days)
        return self._write(lambda t: outbox.prune(t, self.storage, self.queue, cutoff), "pruning")

    def punch(self, action: ClockAction) -> Punch:
        """A time clock punch for the logged-in cashier."""
        cashier, now = self._who(), self.clock()

        entry_id = self.new_id()

        def run(txn: Txn) -> Punch:
            clock, punched = local.time_clock(txn, self.storage, cashier.id).punch(action, now)
            local.put_time_clock(txn, self.storage, clock)
            summary = {"action": action.value}
            self._record(entry_id, "timeclock", codec.to_data(punched), summary, txn, now)
            return punched

        return self._write_entry(run, entry_id, "punch")

    def shift_report(self, close: bool = False, manager_pin: str | None = None) -> ShiftReport:
        """X report (running) or, with a manager, Z report (closes the shift)."""
        self._who()
        if close:
            self.manager(manager_pin, "closing the shift")
        now = self.clock()

        def run(txn: Txn) -> ShiftReport:
            name = f"shift/{self.queue.store}/{self.queue.register}"
            shift = local.local_record(txn, self.storage, name) or {
                "number": 1, "opened_at": now.isoformat(), "first_seq": 1}  # fmt: skip
            sales, drops, reasons = self._shift_entries(txn, int(shift["first_seq"]))
            report = build_report(int(shift["number"]), str(shift["opened_at"]), self.currency,
                                  sales, drops, outbox.unsent_count(txn, self.storage, self.queue),
                                  reasons, closed=close)  # fmt: skip
            if close:
                last_seq, _ = outbox.head(txn, self.storage, self.queue)
                z_name = f"z/{name}/{report.number}"
                local.put_local_record(txn, self.storage, z_name, report.lines())
                after = {"number": report.number + 1, "opened_at": now.isoformat(),
                         "first_seq": last_seq + 1}  # fmt: skip
                local.put_local_record(txn, self.storage, name, after)
            return report

        return self._write(run, "building the shift report")

    def _shift_entries(
        self, txn: Txn, first_seq: int
    ) -> tuple[list[Sale], list[CashDrop], list[str]]:
        sales: list[Sale] = []
        drops: list[CashDrop] = []
        for entry in outbox.entries(txn, self.storage, self.queue, newest_first=True):
            if entry.seq < first_seq:
                break
            body = decode_envelope(outbox.payload(txn, self.storage, entry.key)).body
            if entry.kind == "sale":
                sales.append(codec.from_data(Sale, body, self.currency))
            elif entry.kind == "cashdrop":
                fields = {k: v for k, v in body.items() if k != "currency"}
                drops.append(codec.from_data(CashDrop, fields, self.currency))
        rejected = outbox.entries(txn, self.storage, self.queue, index="rejected")
        return sales, drops, [f"{e.kind} {e.id}: {e.reason}" for e in rejected]

    # --- the sync link's side (appliance.sync.link.OutboxPort) --------------------------------

    def unsent_after(self, after: int, limit: int) -> tuple[list[UnsentEntry], int]:
        """Unsent entries after a sequence number, with their bytes, and the unsent count."""

        def run(txn: Txn) -> tuple[list[UnsentEntry], int]:
            rows = outbox.unsent_after(txn, self.storage, self.queue, after, limit)
            return rows, outbox.unsent_count(txn, self.storage, self.queue)

        return self._read(run, "loading the outbox")

    def record_sync(self, settled: list[tuple[str, EntryState, str]], sent: list[int]) -> None:
        """One commit for a sync pass: entries handed to the broker, entries acked."""
        keys, now = [self.queue.key(s) for s in sent], self.clock()

        def run(txn: Txn) -> None:
            outbox.mark_sent(txn, self.storage, self.queue, keys, now)
            for entry_id, state, reason in settled:
                outbox.mark_settled(txn, self.storage, self.queue, entry_id, state, now, reason)

        self._write(run, "recording acks")

    def requeue(self) -> int:
        """After a dropped link: in-flight entries are pending again."""
        return self._write(lambda t: outbox.requeue_in_flight(t, self.storage, self.queue))

    def oldest_unsent_age_s(self) -> int | None:
        """How long the oldest unsent entry has waited, by the register's clock (None: none)."""
        entry = self._read(lambda t: outbox.oldest_unsent(t, self.storage, self.queue))
        if entry is None:
            return None
        return max(int((self.clock() - datetime.fromisoformat(entry.at)).total_seconds()), 0)

    def catalog_version(self) -> int:
        """The back office's catalogue version the cache holds (0: never synced)."""
        raw = self._read(lambda t: cache.setting(t, self.storage, "catalog_version"))
        return int(raw) if raw is not None else 0

    def apply_catalog_changes(self, result: dict[str, Any]) -> int | None:
        """Apply a `changes_since` answer to the cache; the version now held (None: nothing)."""
        if not result:
            return None
        version = int(result["version"])
        data = parse_store(result["catalog"], currency=self.currency)
        now = self.clock()

        def run(txn: Txn) -> None:
            cache.replace_catalog(txn, self.storage, data, now=now, duration_s=0.0,
                                  version=str(version), tax=result.get("tax"))  # fmt: skip
            cache.put_setting(txn, self.storage, "catalog_version", version)
            cache.put_setting(txn, self.storage, "store", result.get("settings", {}))

        self._write(run, "updating the catalogue")
        return version

    def apply_refresh(self, result: dict[str, Any]) -> bool:
        """Replace cached customers and balances, only while nothing is unsent and the
        back office's snapshot holds every entry of ours (else False: asked again later)."""
        customers = list(result.get("customers", []))
        balances = [(b["kind"], b["account"], int(b["amount"])) for b in result.get("balances", [])]
        stored = result.get("watermark")  # absent from an older back office's answer
        now = self.clock()

        def run(txn: Txn) -> bool:
            if outbox.unsent_count(txn, self.storage, self.queue):
                return False  # a sale slipped in: its deductions must not be overwritten
            if stored is not None and int(stored) < outbox.head(txn, self.storage, self.queue)[0]:
                return False  # a snapshot from before our last sale (another consumer's)
            cache.replace_customers(txn, self.storage, customers, balances, now=now,
                                    duration_s=0.0, version="refresh")  # fmt: skip
            return True

        return self._write(run, "refreshing customers and balances")

    def settle_entry(self, entry_id: str, state: EntryState, reason: str = "") -> bool:
        """Mark an entry confirmed or rejected (the sync link calls this on an ack)."""
        now = self.clock()
        return self._write(
            lambda t: outbox.mark_settled(t, self.storage, self.queue, entry_id, state, now, reason)
        )

    def needs_server(self, feature: str) -> None:
        """Returns, server history and the integrated terminal live on the back office."""
        raise NeedsConnection(
            f"{feature}: needs a connection to the back office"
            + ("" if self.online() else "; the register is offline right now")
        )

    # --- the print queue ------------------------------------------------------------------

    def print_jobs(self, pending_only: bool = True) -> list[dict[str, Any]]:
        """Print jobs in order (pending and failed ones unless `pending_only` is False)."""
        return self._read(lambda t: local.print_jobs(t, self.storage, pending_only))

    def finish_print_job(self, number: int, error: str = "", final: bool = False) -> None:
        """Record a print attempt: printed, or failed with the device's error (kept to retry);
        `final` drops a job that can never print, keeping its reason."""
        self._write(lambda t: local.finish_print_job(t, self.storage, number, error, final),
                    "recording a print job")  # fmt: skip
