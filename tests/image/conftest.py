"""The host-architecture root filesystem, built once per test run, and throwaway overlays of it.

The build is `python image/build.py rootfs` (debootstrap + every stage): about a
minute on 2 cores, so it runs once per session and each test gets a copy-on-write
overlay of it that is thrown away after. `REGISTER_ROOTFS=DIR` reuses a root
already built (while working on the tests); without root or debootstrap the
tests that need it are skipped, saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEST_ROOTFS = REPO / "image/build/test-rootfs"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "image: builds or boots the host-arch root filesystem (root, about a minute)"
    )


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "building a root filesystem needs root (debootstrap, chroot, mount)"
    for tool in ("debootstrap", "systemd-nspawn", "chroot", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/install-system-deps.sh installs it)"
    return None


@pytest.fixture(scope="session")
def rootfs() -> Path:
    """The built root filesystem (read-only by convention: tests use `overlay`)."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    given = os.environ.get("REGISTER_ROOTFS")
    if given:
        return Path(given)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(REPO / "image/build.py"), "rootfs", "--out", str(TEST_ROOTFS)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        pytest.fail(f"the rootfs build failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    print(f"\nrootfs built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return TEST_ROOTFS


@pytest.fixture
def overlay(rootfs: Path, tmp_path: Path) -> Iterator[Path]:
    """A writable view of the root filesystem; the writes vanish after the test."""
    upper, work, merged = tmp_path / "upper", tmp_path / "work", tmp_path / "merged"
    for d in (upper, work, merged):
        d.mkdir()
    options = f"lowerdir={rootfs},upperdir={upper},workdir={work}"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(merged)], check=True)
    try:
        yield merged
    finally:
        subprocess.run(["umount", "-R", "-l", str(merged)], check=False)
