"""The register's durable state in LMDB: the catalogue cache, the outbox and local state.

`lmdb_env` owns the environment (one writer, map growth, schema); `cache`
reads and writes what the register sells from; `outbox` keeps every entry to
send, in sequence, with its state; `local` holds the register's own records
(cashiers, till, time clocks, shift, parked carts, print jobs).
"""
