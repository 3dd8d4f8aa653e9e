"""python-escpos's capabilities come from our cache: parsed once, never littering /tmp."""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hw import escpos_cache

ROOT = Path(__file__).resolve().parents[2]
CHILD = (
    "import hw.escpos_render, escpos.capabilities as c, os; "
    "print(c.full_load, os.environ.get('ESCPOS_CAPABILITIES_PICKLE_DIR'))"
)


def start(tmp_path: Path) -> tuple[str, list[str]]:
    """A new process importing the renderer: (what escpos said, what is left in its tmp)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCPOS_")}
    env |= {"XDG_CACHE_HOME": str(tmp_path / "cache"), "TMPDIR": str(scratch)}
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    return done.stdout.strip(), sorted(p.name for p in scratch.iterdir())


def test_the_first_start_writes_the_cache_and_the_next_only_reads_it(tmp_path: Path) -> None:
    cached = escpos_cache.pickle_path(tmp_path / "cache" / "appliance" / "escpos")
    assert start(tmp_path) == ("False None", [])  # escpos read our pickle; /tmp stays clean
    written = cached.stat().st_mtime_ns
    assert start(tmp_path) == ("False None", [])
    assert cached.stat().st_mtime_ns == written, "an up-to-date cache is not written again"
    assert sorted(p.name for p in cached.parent.iterdir()) == [cached.name]
    # a cache older than the capabilities file (escpos was upgraded) is written again
    os.utime(cached, (1, 1))
    assert start(tmp_path) == ("False None", [])
    assert cached.stat().st_mtime > 1


def test_the_cache_holds_what_escpos_would_parse(tmp_path: Path) -> None:
    assert escpos_cache.prepare(tmp_path)
    source = escpos_cache._capabilities_file()
    assert source is not None
    with source.open() as f:
        parsed = yaml.safe_load(f)  # what python-escpos does without the cache
    assert pickle.loads(escpos_cache.pickle_path(tmp_path).read_bytes()) == parsed
    assert json.loads(source.read_text())["profiles"]["default"]  # a real profile database


def test_a_directory_others_can_write_is_never_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)  # a pickle is code: one planted there would run
    with caplog.at_level(logging.WARNING, logger="hw.escpos_cache"):
        assert not escpos_cache.prepare(shared)
    assert "open to other users" in caplog.text
    assert list(shared.iterdir()) == []


def test_an_unusable_directory_leaves_escpos_to_its_own_ways(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    with caplog.at_level(logging.WARNING, logger="hw.escpos_cache"):
        assert not escpos_cache.prepare(blocked / "escpos")
        with escpos_cache.capabilities_cached(blocked / "escpos"):
            assert "ESCPOS_CAPABILITIES_PICKLE_DIR" not in os.environ
    assert "cannot cache printer capabilities" in caplog.text


def test_an_operators_choice_of_directory_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESCPOS_CAPABILITIES_PICKLE_DIR", str(tmp_path / "chosen"))
    with escpos_cache.capabilities_cached(tmp_path / "ours"):
        assert os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] == str(tmp_path / "chosen")
    assert not (tmp_path / "ours").exists()


def test_a_user_with_no_home_is_left_to_escpos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", no_home)
    assert escpos_cache.cache_dir() is None
    with escpos_cache.capabilities_cached():
        assert "ESCPOS_CAPABILITIES_PICKLE_DIR" not in os.environ
