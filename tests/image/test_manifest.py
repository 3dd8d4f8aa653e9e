"""The build stamp: parsing what dpkg and pip report, and the files written on the image."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from image import build, manifest

REPO = Path(__file__).resolve().parents[2]


def test_dpkg_and_pip_output_become_sorted_version_maps() -> None:
    dpkg = "zlib1g\t1:1.2.13.dfsg-1\npython3\t3.11.2-1+b1\n\nbroken-line\n"
    assert manifest.parse_dpkg_query(dpkg) == {
        "python3": "3.11.2-1+b1",
        "zlib1g": "1:1.2.13.dfsg-1",
    }
    freeze = "Kivy==2.3.1\n# comment\nlmdb==3.0.0\n"
    assert manifest.parse_pip_freeze(freeze) == {"kivy": "2.3.1", "lmdb": "3.0.0"}


def test_an_unpinned_python_distribution_is_an_error() -> None:
    with pytest.raises(ValueError, match="not name==version"):
        manifest.parse_pip_freeze("-e git+https://example/x#egg=x\n")


def test_the_manifest_and_release_files(tmp_path: Path) -> None:
    stamp = manifest.Build("0.2.0", "a" * 40, "2026-11-25T10:00:00+00:00", "arm64", "bookworm",
                           ["00-base", "10-python"])  # fmt: skip
    data = manifest.manifest(stamp, {"python3": "3.11.2"}, {"kivy": "2.3.1"})

    manifest.write(tmp_path, data)

    written = json.loads((tmp_path / "usr/share/register/manifest.json").read_text())
    assert written["version"] == "0.2.0" and written["arch"] == "arm64"
    assert written["packages"] == {"debian": {"python3": "3.11.2"}, "python": {"kivy": "2.3.1"}}
    release = (tmp_path / "etc/register-release").read_text()
    assert release.splitlines() == [
        "REGISTER_VERSION=0.2.0",
        f"REGISTER_COMMIT={'a' * 40}",
        "REGISTER_BUILT_AT=2026-11-25T10:00:00+00:00",
        "REGISTER_ARCH=arm64",
        "REGISTER_SUITE=bookworm",
        "REGISTER_MANIFEST=/usr/share/register/manifest.json",
    ]


def test_the_build_date_honours_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764064800")
    assert build.build_time() == "2025-11-25T10:00:00+00:00"
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?|unknown", build.git_commit())


def test_the_lock_pins_every_runtime_dependency() -> None:
    from importlib import metadata

    from packaging.requirements import Requirement

    pins = {}
    for line in build.LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name] = version
    for text in metadata.requires("register-appliance") or []:
        req = Requirement(text)
        if req.marker and not req.marker.evaluate({"extra": ""}):
            continue  # an extra (dev): not on the image
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not in image/requirements.lock: python image/build.py lock"
        assert req.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {req}"


def test_the_stages_are_declarative() -> None:
    stages = build.stages()
    assert [s.name for s in stages] == ["00-base", "10-python", "20-kiosk", "30-devices",
                                        "40-hardening", "50-firstboot"]  # fmt: skip
    for stage in stages:
        assert (stage / "packages").is_file(), stage
        script = (stage / "run.sh").read_text()
        assert "set -euo pipefail" in script, stage
    assert "xinit" in build.package_list(REPO / "image/stages/20-kiosk")
    assert all(not p.startswith("#") for p in build.package_list(REPO / "image/stages/00-base"))


def test_the_pi_image_refuses_politely_without_what_it_needs(tmp_path: Path) -> None:
    needs = build.pi_image_needs(tmp_path / "no-such.img.xz")
    assert any("Raspberry Pi OS Lite" in need for need in needs)
    assert build.main(["image", "--base", str(tmp_path / "no-such.img.xz")]) == 2
