"""The LMDB environment: one writer, schema versions, map growth, readers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from appliance.store import lmdb_env
from appliance.store.errors import SchemaTooNew, StorageBusy, StorageError, StorageFull
from appliance.store.lmdb_env import Storage


def test_a_second_writer_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    with Storage(tmp_path / "d"):
        with pytest.raises(StorageBusy, match=r"in use by another process \(pid \d+\)"):
            Storage(tmp_path / "d")
        code = (
            "from pathlib import Path; from appliance.store.lmdb_env import Storage; "
            f"Storage(Path({str(tmp_path / 'd')!r}), readonly=True).close(); print('read')"
        )
        reader = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert reader.stdout.strip() == "read", reader.stderr  # readers are welcome meanwhile
    Storage(tmp_path / "d").close()  # the lock goes with the writer


def test_a_writer_in_another_process_blocks_this_one(tmp_path: Path) -> None:
    code = (
        "import sys, time; from appliance.store.lmdb_env import Storage; "
        f"s = Storage(__import__('pathlib').Path({str(tmp_path / 'd')!r})); "
        "print('ready', flush=True); time.sleep(30)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        with pytest.raises(StorageBusy, match=f"pid {child.pid}"):
            Storage(tmp_path / "d")
    finally:
        child.kill()
        child.wait()
    Storage(tmp_path / "d").close()  # a killed writer leaves no stuck lock behind


def test_reading_a_missing_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no register data in"):
        Storage(tmp_path / "nothing", readonly=True)


def test_a_newer_schema_is_refused_and_an_older_one_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Storage(tmp_path / "d") as storage:
        storage.write(lambda t: t.put(b"schema", b"7", db=storage.dbs["meta"]))
    with pytest.raises(SchemaTooNew, match="schema 7, newer than this software knows"):
        Storage(tmp_path / "d")
    with pytest.raises(SchemaTooNew):
        Storage(tmp_path / "d", readonly=True)

    ran: list[int] = []
    monkeypatch.setattr(lmdb_env, "SCHEMA_VERSION", 9)
    monkeypatch.setattr(lmdb_env, "MIGRATIONS", {7: lambda t, d: ran.append(7),
                                                 8: lambda t, d: ran.append(8)})  # fmt: skip
    with Storage(tmp_path / "d") as storage, storage.read() as txn:
        assert txn.get(b"schema", db=storage.dbs["meta"]) == b"9"
    Storage(tmp_path / "d").close()
    assert ran == [7, 8], "each migration runs once, in order"


def test_the_map_grows_until_its_cap(tmp_path: Path) -> None:
    with Storage(tmp_path / "d", map_size=1 << 20, map_max=4 << 20) as storage:
        put = lambda i: storage.write(  # noqa: E731
            lambda t: t.put(b"k%06d" % i, b"x" * 4000, db=storage.dbs["local"])
        )
        i = 0
        with pytest.raises(StorageFull, match="reached its cap of 4 MiB"):
            while True:
                put(i)
                i += 1
        assert storage.map_size == 4 << 20 and i > 300
        with storage.read() as txn:  # what was committed is all there
            assert txn.stat(storage.dbs["local"])["entries"] == i


def test_a_failed_function_writes_nothing(tmp_path: Path) -> None:
    with Storage(tmp_path / "d") as storage:

        def half(txn: object) -> None:
            txn.put(b"a", b"1", db=storage.dbs["local"])  # type: ignore[attr-defined]
            raise ValueError("refused")

        with pytest.raises(ValueError, match="refused"):
            storage.write(half)
        with storage.read() as txn:
            assert txn.get(b"a", db=storage.dbs["local"]) is None
    with Storage(tmp_path / "d", readonly=True) as readonly, pytest.raises(StorageError):
        readonly.write(lambda t: None)
