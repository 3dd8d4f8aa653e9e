"""Where python-escpos keeps its printer capabilities from one run to the next.

When it is imported, python-escpos loads its capabilities database (`capabilities.json`,
parsed by PyYAML: 0.25 s on a desktop core, several times that on a Pi) and pickles it
for the next run. The pickle goes to `ESCPOS_CAPABILITIES_PICKLE_DIR` or, when that is
unset, to a new `mkdtemp()` directory every time. So every start of the register and
every `appliance hw` command paid the full parse, and each left a directory behind in
/tmp. It also writes that pickle in place, so a kill or a power cut mid-write leaves a
truncated file that the next start would fail to load.

`capabilities_cached()` wraps the import:
- It points python-escpos at a private cache directory.
- It writes the pickle there itself, atomically, when the pickle is missing or older
  than the capabilities file. python-escpos then only reads it.
- It catches the directory that `mkdtemp()` still makes (its default argument is
  evaluated even when the variable is set) and removes it.

A directory it cannot use (not writable, or open to other users, since a pickle is
code) leaves python-escpos to its own ways: slower, never broken.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import pickle
import platform
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

log = logging.getLogger(__name__)

PICKLE_DIR = "ESCPOS_CAPABILITIES_PICKLE_DIR"
CAPABILITIES_FILE = "ESCPOS_CAPABILITIES_FILE"


def cache_dir() -> Path | None:
    """The user's cache directory for it (XDG), e.g. /home/register/.cache/appliance/escpos;
    None for a user with no home directory."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no HOME and no passwd entry
            return None
    return Path(base) / "appliance" / "escpos"


def pickle_path(directory: Path) -> Path:
    """The file python-escpos looks for in `directory`."""
    return directory / f"{platform.python_version()}.capabilities.pickle"


def _capabilities_file() -> Path | None:
    if os.environ.get(CAPABILITIES_FILE):
        return Path(os.environ[CAPABILITIES_FILE])
    spec = importlib.util.find_spec("escpos")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    found = Path(next(iter(spec.submodule_search_locations))) / "capabilities.json"
    return found if found.is_file() else None


def _private(directory: Path) -> bool:
    st = directory.stat()
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _write_pickle(target: Path, source: Path) -> None:
    # the file is JSON: the json module reads it as PyYAML would, 300 times faster
    data = json.loads(source.read_text(encoding="utf-8"))
    temporary = target.with_name(f".{target.name}.{os.getpid()}")
    with temporary.open("wb") as out:
        pickle.dump(data, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, target)


def prepare(directory: Path) -> bool:
    """Make `directory` hold an up-to-date capabilities pickle; False when it cannot."""
    source = _capabilities_file()
    if source is None:
        return False
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(directory):
            log.warning("%s is open to other users: not caching printer capabilities there",
                        directory)  # fmt: skip
            return False
        target = pickle_path(directory)
        if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
            _write_pickle(target, source)
    except (OSError, ValueError) as exc:
        log.warning("cannot cache printer capabilities in %s: %s", directory, exc)
        return False
    return True


@contextmanager
def capabilities_cached(directory: Path | None = None) -> Iterator[None]:
    """Import python-escpos inside this: it loads its capabilities from the cache."""
    directory = directory or cache_dir()
    if PICKLE_DIR in os.environ or directory is None or not prepare(directory):
        yield  # the operator chose a directory, or there is none to use: escpos decides
        return
    os.environ[PICKLE_DIR] = str(directory)  # for this import only: children decide anew
    before, tempfile.tempdir = tempfile.tempdir, str(directory)
    try:
        yield
    finally:
        tempfile.tempdir = before
        del os.environ[PICKLE_DIR]
        for made in directory.glob("tmp*"):  # the mkdtemp() escpos made and never used
            with suppress(OSError):  # not empty, or another process removed it first
                made.rmdir()
