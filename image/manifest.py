"""The build stamp and manifest written onto every image.

`/usr/share/register/manifest.json` says what is on the card: the register's
version, the git commit it was built from (with "-dirty" when the tree had
uncommitted changes), when and for which architecture it was built, the stages
applied, and every Debian package (dpkg-query) and Python distribution (pip
freeze of the register's venv) with its version. `/etc/register-release` is the
same in a few `KEY=value` lines a tech can `cat`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MANIFEST = Path("usr/share/register/manifest.json")
RELEASE = Path("etc/register-release")


@dataclass(frozen=True, slots=True)
class Build:
    """What the builder knows about this build."""

    version: str
    commit: str
    built_at: str  # ISO 8601, UTC
    arch: str
    suite: str
    stages: Sequence[str]


def parse_dpkg_query(text: str) -> dict[str, str]:
    """`dpkg-query -W -f '${Package}\\t${Version}\\n'` output -> {package: version}."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, version = line.partition("\t")
        if sep and name and version:
            out[name] = version
    return dict(sorted(out.items()))


def parse_pip_freeze(text: str) -> dict[str, str]:
    """`pip freeze` output -> {distribution: version}; anything not pinned is an error."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        if not sep:
            raise ValueError(f"pip freeze line is not name==version: {line!r}")
        out[name.lower()] = version
    return dict(sorted(out.items()))


def manifest(build: Build, debian: dict[str, str], python: dict[str, str]) -> dict[str, object]:
    """The manifest as JSON-ready data."""
    return {
        "name": "register",
        "version": build.version,
        "commit": build.commit,
        "built_at": build.built_at,
        "arch": build.arch,
        "suite": build.suite,
        "stages": list(build.stages),
        "packages": {"debian": debian, "python": python},
    }


def release_text(data: dict[str, object]) -> str:
    """/etc/register-release: the stamp in `KEY=value` lines."""
    keys = ("version", "commit", "built_at", "arch", "suite")
    lines = [f"REGISTER_{key.upper()}={data[key]}" for key in keys]
    lines.append(f"REGISTER_MANIFEST=/{MANIFEST}")
    return "\n".join(lines) + "\n"


def write(root: Path, data: dict[str, object]) -> None:
    """Both files into the image under `root`."""
    target = root / MANIFEST
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    (root / RELEASE).parent.mkdir(parents=True, exist_ok=True)
    (root / RELEASE).write_text(release_text(data))
