"""The one check every sync fault test ends with, once everything has healed and drained.

For each register, from its own outbox (what it committed) and the back office database:

(a) the ids the register committed are exactly the ids stored in `entries` plus the ids
    the register holds as rejected; nothing is both stored and rejected, and no entry
    of another register sits under this one's name;
(b) no id twice: in `entries`, in `sales`, and no sale's effects twice (one stock
    movement per line, one tender row per tender), and the stored bytes are the
    register's bytes;
(c) per register, the sequence numbers received (stored, or rejected as one of its own
    entries) are exactly 1..n with n the register's last, each once; `ledger.gaps` finds
    none, the watermark stands at n, and every hash link is verified (`chain_ok` = 1);
(d) nothing is unsent in the register's outbox (counter and entries);
(e) every rejected entry has a reason, in the outbox and in the database; a rejection
    the register never sent (a forged or garbled message) fills no place in its chain.

`check` raises AssertionError listing every problem (the first 40), with the caller's
context (seed, step) in front; it returns the counts for the test's summary line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from appliance.bootstrap import open_storage
from appliance.config import Config
from appliance.store import outbox
from appliance.store.lmdb_env import Storage
from appliance.store.outbox import EntryState, Queue
from appliance.sync import wire
from backoffice import ledger
from backoffice.db import Database, Tx


@dataclass(frozen=True, slots=True)
class Committed:
    """One entry of a register's outbox."""

    seq: int
    id: str
    kind: str
    state: EntryState
    reason: str
    attempts: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class RegisterOutbox:
    """What a register committed, read from its LMDB outbox."""

    store: str
    register: str
    entries: tuple[Committed, ...]
    unsent: int  # the outbox's own counter
    head: int  # the last sequence number committed

    @property
    def name(self) -> str:
        return f"{self.store}/{self.register}"


def read_outbox(storage: Storage, queue: Queue) -> RegisterOutbox:
    """Every entry of `queue` with its state and bytes; the register's own chain verified."""
    with storage.read() as txn:
        rows = tuple(
            Committed(
                e.seq,
                e.id,
                e.kind,
                e.state,
                e.reason,
                e.attempts,
                outbox.payload(txn, storage, e.key),
            )
            for e in outbox.entries(txn, storage, queue)
        )
        outbox.verify(txn, storage, queue)  # the register's chain as stored is intact
        unsent = outbox.unsent_count(txn, storage, queue)
        head, _ = outbox.head(txn, storage, queue)
    return RegisterOutbox(queue.store, queue.register, rows, unsent, head)


def read_outbox_at(config: Config) -> RegisterOutbox:
    """`read_outbox` of a register that is not running here (a child process, stopped)."""
    storage = open_storage(config, readonly=True)
    try:
        return read_outbox(storage, Queue(config.register.store, config.register.id))
    finally:
        storage.close()


@dataclass(frozen=True, slots=True)
class Verdict:
    """Counts for the summary line."""

    registers: int
    committed: int  # entries the registers committed
    sales: int
    stored: int  # rows in `entries`
    rejected: int  # entries the registers hold as rejected
    foreign_rejected: int  # rejections of messages no checked register committed
    resent_entries: int  # entries published more than once by their register
    max_attempts: int


def check(db: Database, registers: Sequence[RegisterOutbox], context: str = "") -> Verdict:
    """Run (a) to (e) above; AssertionError listing every problem found."""
    problems: list[str] = []
    seen_ids: Counter[str] = Counter()
    names = {(r.store, r.register) for r in registers}
    with db.transaction(readonly=True) as tx:
        owners = {
            (str(s), str(r)) for s, r in tx.all("SELECT DISTINCT store, register FROM entries")
        }
        for store, register in sorted(owners - names):
            problems.append(f"entries stored for {store}/{register}, which no register committed")
        for entry_id, times in tx.all(
            "SELECT id, COUNT(*) FROM entries GROUP BY id HAVING COUNT(*) > 1"
        ):
            problems.append(f"(b) entry {entry_id} stored {times} times")
        for sale_id, times in tx.all(
            "SELECT id, COUNT(*) FROM sales GROUP BY id HAVING COUNT(*) > 1"
        ):
            problems.append(f"(b) sale {sale_id} stored {times} times")
        for store, register, entry_id in tx.all(
            "SELECT store, register, id FROM rejected WHERE reason = ''"
        ):
            problems.append(f"(e) {store}/{register} {entry_id}: rejected without a reason")
        movements = {
            str(s): int(n)
            for s, n in tx.all(
                "SELECT sale, COUNT(*) FROM stock_movements WHERE sale IS NOT NULL GROUP BY sale"
            )
        }
        tenders = {
            str(s): int(n)
            for s, n in tx.all("SELECT sale, COUNT(*) FROM sale_tenders GROUP BY sale")
        }
        sale_ids = {str(s) for (s,) in tx.all("SELECT id FROM sales")}
        totals = Counter[str]()
        for reg in registers:
            _check_register(tx, reg, problems, seen_ids, movements, tenders, sale_ids, totals)
        stored_total = int(tx.scalar("SELECT COUNT(*) FROM entries", (), 0))
    for entry_id, times in seen_ids.items():
        if times > 1:
            problems.append(f"(b) id {entry_id} committed by {times} registers")
    if problems:
        more = f"\n... and {len(problems) - 40} more" if len(problems) > 40 else ""
        raise AssertionError(
            f"{context}: {len(problems)} problem(s):\n" + "\n".join(problems[:40]) + more
        )
    return Verdict(
        registers=len(registers),
        committed=totals["committed"],
        sales=totals["sales"],
        stored=stored_total,
        rejected=totals["rejected"],
        foreign_rejected=totals["foreign_rejected"],
        resent_entries=totals["resent"],
        max_attempts=totals["max_attempts"],
    )


def _check_register(
    tx: Tx,
    reg: RegisterOutbox,
    problems: list[str],
    seen_ids: Counter[str],
    movements: dict[str, int],
    tenders: dict[str, int],
    sale_ids: set[str],
    totals: Counter[str],
) -> None:
    name, key = reg.name, (reg.store, reg.register)
    mine = {e.id: e for e in reg.entries}
    seen_ids.update(list(mine))
    stored = {
        str(i): (int(seq), bytes(payload), chain_ok, str(kind))
        for i, seq, payload, chain_ok, kind in tx.all(
            "SELECT id, seq, payload, chain_ok, kind FROM entries WHERE store = ? AND register = ?",
            key,
        )
    }
    refused = {
        str(i): (int(seq), str(reason), int(in_chain))
        for i, seq, reason, in_chain in tx.all(
            "SELECT id, seq, reason, in_chain FROM rejected WHERE store = ? AND register = ?", key
        )
    }
    held_rejected = {e.id for e in reg.entries if e.state is EntryState.REJECTED}

    # (a) committed == stored + rejected
    if set(mine) != set(stored) | held_rejected:
        lost = sorted(set(mine) - set(stored) - held_rejected)
        extra = sorted(set(stored) - set(mine))
        problems.append(
            f"(a) {name}: committed but neither stored nor rejected: {len(lost)} "
            f"{lost[:5]}; stored but never committed here: {len(extra)} "
            f"{extra[:5]}"
        )
    for entry_id in sorted(held_rejected & set(stored)):
        problems.append(f"(a) {name} {entry_id}: held as rejected but stored")
    for entry_id in sorted(held_rejected - set(refused)):
        problems.append(f"(a) {name} {entry_id}: held as rejected, no rejection in the database")
    for entry_id in sorted(set(refused) & set(stored)):
        problems.append(f"(a) {name} {entry_id}: both stored and rejected")

    # (b) the bytes are the register's; each sale's effects once
    for entry_id, (seq, payload, _, kind) in stored.items():
        entry = mine.get(entry_id)
        if entry is None:
            continue
        if payload != entry.payload or seq != entry.seq:
            problems.append(f"(b) {name} {entry_id}: stored bytes or seq differ from the outbox")
        if kind == "sale":
            body = wire.decode_envelope(entry.payload).body
            if entry_id not in sale_ids:
                problems.append(f"(b) {name} {entry_id}: stored entry without its sale row")
            if movements.get(entry_id, 0) != len(body["lines"]):
                problems.append(
                    f"(b) {name} {entry_id}: {movements.get(entry_id, 0)} stock "
                    f"movements for {len(body['lines'])} lines"
                )
            if tenders.get(entry_id, 0) != len(body["tenders"]):
                problems.append(
                    f"(b) {name} {entry_id}: {tenders.get(entry_id, 0)} tender "
                    f"rows for {len(body['tenders'])} tenders"
                )

    # (c) 1..n each once, no gap, every link verified
    in_chain = [seq for seq, _, flag in refused.values() if flag]
    received = Counter([seq for seq, _, _, _ in stored.values()] + in_chain)
    twice = sorted(seq for seq, n in received.items() if n > 1)
    if twice:
        problems.append(f"(c) {name}: sequence numbers received twice: {twice[:10]}")
    if set(received) != set(range(1, reg.head + 1)):
        missing = sorted(set(range(1, reg.head + 1)) - set(received))
        beyond = sorted(set(received) - set(range(1, reg.head + 1)))
        problems.append(
            f"(c) {name}: received 1..{reg.head} is missing {missing[:10]} "
            f"({len(missing)}), has extra {beyond[:10]}"
        )
    found_gaps = ledger.gaps(tx, reg.store, reg.register)
    if found_gaps:
        problems.append(f"(c) {name}: ledger.gaps reports {found_gaps[:10]}")
    mark = tx.one(
        "SELECT contiguous, last_seq FROM watermarks WHERE store = ? AND register = ?", key
    )
    if reg.head and (mark is None or (int(mark[0]), int(mark[1])) != (reg.head, reg.head)):
        problems.append(f"(c) {name}: watermark {mark}, expected ({reg.head}, {reg.head})")
    rejected_seqs = set(in_chain)
    for entry_id, (seq, _, chain_ok, _) in sorted(stored.items(), key=lambda kv: kv[1][0]):
        if chain_ok != 1 and not (chain_ok is None and seq - 1 in rejected_seqs):
            problems.append(f"(c) {name} #{seq} {entry_id}: chain_ok is {chain_ok}")

    # (d) nothing unsent
    unsent = [e.seq for e in reg.entries if e.state in outbox.UNSENT]
    if reg.unsent or unsent:
        problems.append(
            f"(d) {name}: unsent counter {reg.unsent}, unsent entries {len(unsent)} {unsent[:10]}"
        )

    # (e) reasons; rejections it never sent fill no place in its chain
    for entry in reg.entries:
        if entry.state is EntryState.REJECTED and not entry.reason:
            problems.append(f"(e) {name} #{entry.seq} {entry.id}: rejected without a reason")
    foreign = set(refused) - set(mine)
    for entry_id in sorted(foreign):
        if refused[entry_id][2]:
            problems.append(
                f"(e) {name} {entry_id}: a rejection it never sent is in its chain "
                f"(seq {refused[entry_id][0]})"
            )

    totals["committed"] += len(mine)
    totals["sales"] += sum(1 for e in reg.entries if e.kind == "sale")
    totals["rejected"] += len(held_rejected)
    totals["foreign_rejected"] += len(foreign)
    totals["resent"] += sum(1 for e in reg.entries if e.attempts > 1)
    totals["max_attempts"] = max([totals["max_attempts"], *(e.attempts for e in reg.entries)])
