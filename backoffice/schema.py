"""The back office's tables, created idempotently at open (`Database`).

One schema for both engines: `{bytes}` (BLOB / BYTEA) and `{serial}` (an auto-numbered
key) are the only differences. Money is BIGINT minor units, quantities decimal text,
times ISO 8601 text, flags 0/1.

- entries: every accepted outbox entry, keyed by its id (the dedupe key), with the exact
  payload bytes (the register's chain hash covers them) and whether its link to the
  previous entry holds (`chain_ok`).
- rejected: refused entries with the reason, keyed by (store, register, id): a
  redelivery of the same id gets the same answer. `in_chain` is 0 for messages that
  cannot be the register's own entries (malformed, identity mismatch): they fill no gap.
- sales, sale_tenders, sale_drift: what was sold, paid and where the back office's rules
  disagree (`drift_total` = recorded total - derived; NULL when it could not price it).
- stock_movements, balance_ledger, loyalty_ledger, punches, cash_drops, no_sales.
- watermarks: per register, the highest n with 1..n all received, and the last seq.
- stores: each store's catalogue (parse_store JSON), tax (parse_tax JSON), settings and
  catalogue version. customers, balances: what RPC answers from.
- register_status: each register's last presence, pending count and how long the
  oldest of them had waited.

The indexes after the tables serve the dashboard (`backoffice.web.queries`): a day's takings
per register and tender read from covering indexes, drifted sales, broken links and the
newest rejections from small ones, and stock levels per product without the table.
"""

SCHEMA_VERSION = 3

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: ("ALTER TABLE register_status ADD COLUMN oldest_unsent_s BIGINT",),
    2: (
        "ALTER TABLE sales ADD COLUMN rounding BIGINT NOT NULL DEFAULT 0",
        # the tenders paid total + rounding: the sales stored before say theirs
        "UPDATE sales SET rounding = COALESCE((SELECT SUM(t.applied) FROM sale_tenders t "
        "WHERE t.sale = sales.id), total) - total",
        "DROP INDEX IF EXISTS sales_by_register_day",  # made again by AFTER_MIGRATIONS
    ),
}
"""from-version -> statements bringing a database of that version to the next one."""

# {bytes} and {serial} differ between the engines; everything else is shared.
TABLES = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    store TEXT NOT NULL,
    register TEXT NOT NULL,
    seq BIGINT NOT NULL,
    prev TEXT NOT NULL,
    at TEXT NOT NULL,
    payload {bytes} NOT NULL,
    chain_ok INTEGER,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_register ON entries (store, register, seq);
CREATE TABLE IF NOT EXISTS rejected (
    store TEXT NOT NULL,
    register TEXT NOT NULL,
    id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    in_chain INTEGER NOT NULL,
    payload {bytes} NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (store, register, id)
);
CREATE INDEX IF NOT EXISTS rejected_by_register ON rejected (store, register, seq);
CREATE TABLE IF NOT EXISTS sales (
    id TEXT PRIMARY KEY,
    store TEXT NOT NULL,
    register TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    offline INTEGER NOT NULL,
    currency TEXT NOT NULL,
    total BIGINT NOT NULL,
    tax_total BIGINT NOT NULL,
    cashier TEXT NOT NULL,
    customer TEXT,
    drift_total BIGINT,
    drift_items INTEGER NOT NULL,
    rounding BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sales_by_register ON sales (store, register, at);
CREATE TABLE IF NOT EXISTS sale_tenders (
    sale TEXT NOT NULL,
    position INTEGER NOT NULL,
    store TEXT NOT NULL,
    kind TEXT NOT NULL,
    method TEXT NOT NULL,
    applied BIGINT NOT NULL,
    PRIMARY KEY (sale, position)
);
CREATE TABLE IF NOT EXISTS sale_drift (
    sale TEXT NOT NULL,
    position INTEGER NOT NULL,
    field TEXT NOT NULL,
    recorded TEXT NOT NULL,
    derived TEXT NOT NULL,
    PRIMARY KEY (sale, position)
);
CREATE TABLE IF NOT EXISTS stock_movements (
    id {serial},
    store TEXT NOT NULL,
    sku TEXT NOT NULL,
    delta TEXT NOT NULL,
    reason TEXT NOT NULL,
    sale TEXT,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stock_by_sku ON stock_movements (store, sku, id);
CREATE TABLE IF NOT EXISTS balance_ledger (
    id {serial},
    store TEXT NOT NULL,
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    delta BIGINT NOT NULL,
    recorded_before BIGINT NOT NULL,
    recorded_after BIGINT NOT NULL,
    sale TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS balance_ledger_by_account ON balance_ledger (store, kind, account);
CREATE TABLE IF NOT EXISTS loyalty_ledger (
    id {serial},
    store TEXT NOT NULL,
    customer TEXT NOT NULL,
    tier TEXT NOT NULL,
    points_before BIGINT NOT NULL,
    earned BIGINT NOT NULL,
    redeemed BIGINT NOT NULL,
    sale TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS punches (
    id TEXT PRIMARY KEY,
    store TEXT NOT NULL,
    register TEXT NOT NULL,
    cashier TEXT NOT NULL,
    action TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cash_drops (
    id TEXT PRIMARY KEY,
    store TEXT NOT NULL,
    register TEXT NOT NULL,
    cashier TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    bag TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS no_sales (
    id TEXT PRIMARY KEY,
    store TEXT NOT NULL,
    register TEXT NOT NULL,
    cashier TEXT NOT NULL,
    manager TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS watermarks (
    store TEXT NOT NULL,
    register TEXT NOT NULL,
    contiguous BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (store, register)
);
CREATE TABLE IF NOT EXISTS stores (
    store TEXT PRIMARY KEY,
    currency TEXT NOT NULL,
    tax TEXT NOT NULL,
    catalog TEXT NOT NULL,
    version BIGINT NOT NULL,
    cash_increment INTEGER NOT NULL,
    max_discount_percent TEXT NOT NULL,
    loaded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (
    store TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    lifetime_points BIGINT NOT NULL,
    points BIGINT NOT NULL,
    PRIMARY KEY (store, id)
);
CREATE TABLE IF NOT EXISTS balances (
    store TEXT NOT NULL,
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (store, kind, account)
);
CREATE TABLE IF NOT EXISTS register_status (
    store TEXT NOT NULL,
    register TEXT NOT NULL,
    state TEXT NOT NULL,
    pending BIGINT NOT NULL,
    at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    oldest_unsent_s BIGINT,
    PRIMARY KEY (store, register)
);
CREATE INDEX IF NOT EXISTS sales_drifted ON sales (at) WHERE drift_items > 0;
CREATE INDEX IF NOT EXISTS sale_tenders_paid ON sale_tenders (sale, kind, applied);
CREATE INDEX IF NOT EXISTS stock_levels ON stock_movements (store, sku, id, delta);
CREATE INDEX IF NOT EXISTS entries_broken_links ON entries (store, register) WHERE chain_ok = 0;
CREATE INDEX IF NOT EXISTS rejected_by_time ON rejected (at);
"""

AFTER_MIGRATIONS = (
    "CREATE INDEX IF NOT EXISTS sales_by_register_day "
    "ON sales (store, register, at, currency, total, tax_total, rounding, id)",
)
"""What needs the newest columns (PostgreSQL checks an index's columns even when the
index exists already), so it runs once the migrations have added them."""

TYPES = {
    "sqlite": {"bytes": "BLOB", "serial": "INTEGER PRIMARY KEY"},
    "postgresql": {"bytes": "BYTEA", "serial": "BIGSERIAL PRIMARY KEY"},
}
