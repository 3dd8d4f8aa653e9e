"""Build the register's system from `image/stages`: a root filesystem, or an SD image.

Theory of operation. Each directory under `image/stages` (applied in name order) is
one declarative stage: `packages` (Debian packages, one a line), `files/` (a tree
copied over the target's /) and `run.sh` (run inside the target under
`set -euo pipefail`). The driver only knows how to get a target and run stages in it:

    rootfs  debootstrap a minimal Debian bookworm (--variant=minbase) for this machine's
            architecture into image/build/rootfs and apply every stage in a chroot
            (what `make image-test` and tests/image build and check);
    image   the same stages over a Raspberry Pi OS Lite (arm64) image, through
            qemu-user-static; refuses, saying exactly what is missing, on a builder
            that cannot (docs/operations.md: "Building the SD image");
    bundle  only the register's software: the appliance wheel built from this
            repository, every dependency pinned by image/requirements.lock (as wheels),
            and config/: what stage 10 installs and what `register-upgrade` takes;
    lock    rewrite image/requirements.lock from the dev venv's installed versions;
    udev-rules  regenerate the device rules from config/devices/*.toml.

The wheels are fetched on the builder (its pip, its index) and installed in the
target with --no-index: the target never reaches PyPI, and the manifest
(/usr/share/register/manifest.json) lists exactly what is there.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

IMAGE = Path(__file__).resolve().parent
REPO = IMAGE.parent
if str(REPO) not in sys.path:  # run as a script: `python image/build.py`
    sys.path.insert(0, str(REPO))

from image import manifest, udev_rules  # noqa: E402

STAGES = IMAGE / "stages"
BUILD = IMAGE / "build"
LOCK = IMAGE / "requirements.lock"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
SECURITY = "http://deb.debian.org/debian-security"
IN_TARGET = "/tmp/register-build"
CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "DEBIAN_FRONTEND": "noninteractive",
}
DISTRIBUTION = "register-appliance"
PIP_PLATFORMS = {  # what `pip download` asks for when the target is not this machine
    "arm64": ["manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64"],
}


class BuildError(Exception):
    """The build cannot go on; the message says why and what to do."""


def log(message: str) -> None:
    """Progress on stderr, with the time since the build started."""
    print(f"[image {time.monotonic() - STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


STARTED = time.monotonic()


def run(*cmd: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """A command that must succeed; its output goes to ours unless captured."""
    return subprocess.run([str(c) for c in cmd], check=True, text=True, **kwargs)


def version() -> str:
    """The register's version, from pyproject.toml."""
    with (REPO / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def git_commit() -> str:
    """HEAD's commit, with "-dirty" if tracked files differ from it ("unknown" outside git)."""
    try:
        head = run("git", "-C", REPO, "rev-parse", "HEAD", capture_output=True).stdout.strip()
        dirty = run("git", "-C", REPO, "status", "--porcelain", "--untracked-files=no",
                    capture_output=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def build_time() -> str:
    """Now in UTC, or $SOURCE_DATE_EPOCH for a reproducible stamp."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    at = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return at.isoformat(timespec="seconds")


def host_arch() -> str:
    """This machine's Debian architecture (amd64, arm64...)."""
    return run("dpkg", "--print-architecture", capture_output=True).stdout.strip()


# --- the software bundle ---------------------------------------------------------------


def make_bundle(out: Path, arch: str) -> Path:
    """VERSION, wheels/ (the appliance and its pinned dependencies), requirements.lock, config/."""
    shutil.rmtree(out, ignore_errors=True)
    wheels = out / "wheels"
    wheels.mkdir(parents=True)
    pip = [sys.executable, "-m", "pip"]
    log(f"building the appliance wheel into {wheels}")
    run(*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", wheels, REPO)
    (appliance,) = wheels.glob("register_appliance-*.whl")
    target: list[str] = []
    if arch != host_arch():
        platforms = PIP_PLATFORMS.get(arch)
        if platforms is None:
            raise BuildError(f"no pip platform tags known for {arch}")
        target = ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]
        for platform in platforms:
            target += ["--platform", platform]
    log("fetching the pinned dependencies as wheels")
    run(*pip, "download", "--quiet", "--only-binary=:all:", "--dest", wheels,
        "--constraint", LOCK, *target, appliance)  # fmt: skip
    shutil.copy(LOCK, out / "requirements.lock")
    (out / "VERSION").write_text(version() + "\n")
    shutil.copytree(REPO / "config", out / "config", ignore=shutil.ignore_patterns("broker"))
    return out


def lock(target: Path = LOCK) -> Path:
    """Pin the appliance's runtime dependencies at the versions installed in this venv."""
    from importlib import metadata

    from packaging.requirements import Requirement

    pins: dict[str, str] = {}

    def walk(name: str, extras: frozenset[str]) -> None:
        dist = metadata.distribution(name)
        for text in dist.requires or []:
            req = Requirement(text)
            wanted = extras or {""}
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in wanted):
                continue
            key = req.name.lower().replace("_", "-")
            if key not in pins:
                pins[key] = metadata.version(req.name)
                walk(req.name, frozenset(req.extras))

    walk(DISTRIBUTION, frozenset())
    lines = [
        "# The register's runtime dependencies, pinned: what the image installs.",
        "# Regenerate after changing pyproject.toml's dependencies: python image/build.py lock",
        *(f"{name}=={pins[name]}" for name in sorted(pins)),
    ]
    target.write_text("\n".join(lines) + "\n")
    return target


# --- running stages in a target ----------------------------------------------------------


@contextlib.contextmanager
def mounted(root: Path) -> Iterator[None]:
    """/proc, /sys and /dev in the target for apt and pip; daemons kept from starting."""
    mounts: list[Path] = []
    try:
        run("mount", "-t", "proc", "proc", root / "proc")
        mounts.append(root / "proc")
        for name in ("sys", "dev"):
            # rslave: the host's mounts show inside, nothing done inside leaks out.
            run("mount", "--rbind", f"/{name}", root / name)
            mounts.append(root / name)
            run("mount", "--make-rslave", root / name)
        policy = root / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\n# image build: start no services in the chroot\nexit 101\n")
        policy.chmod(0o755)
        yield
    finally:
        (root / "usr/sbin/policy-rc.d").unlink(missing_ok=True)
        for mount in reversed(mounts):
            subprocess.run(["umount", "-R", "-l", str(mount)], check=False)


def host_resolver(root: Path) -> None:
    """The builder's resolv.conf in the target, for apt (systemd-resolved replaces it)."""
    target = root / "etc/resolv.conf"
    if target.is_symlink() or target.exists():
        target.unlink()
    shutil.copy("/etc/resolv.conf", target)


def chroot(root: Path, *cmd: str, capture: bool = False) -> str:
    """Run a command in the target with a clean environment (no builder settings leak in)."""
    done = run("chroot", root, "env", "-i", *(f"{k}={v}" for k, v in CHROOT_ENV.items()), *cmd,
               capture_output=capture)  # fmt: skip
    return done.stdout if capture else ""


def package_list(stage: Path) -> list[str]:
    """A stage's `packages` file: one a line, `#` comments."""
    path = stage / "packages"
    if not path.exists():
        return []
    words = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [w for w in words if w]


def stages() -> list[Path]:
    """The stages in the order they are applied."""
    return sorted(p for p in STAGES.iterdir() if p.is_dir() and p.name[:2].isdigit())


def apply_stage(root: Path, stage: Path) -> None:
    """Packages, then files, then run.sh, in that order (scripts may rely on both)."""
    packages = package_list(stage)
    if packages:
        log(f"{stage.name}: apt-get install {' '.join(packages)}")
        host_resolver(root)
        chroot(root, "apt-get", "install", "-y", "-q", "-o", "Dpkg::Use-Pty=0",
               "--no-install-recommends", *packages)  # fmt: skip
    files = stage / "files"
    if files.is_dir():
        log(f"{stage.name}: files")
        shutil.copytree(files, root, symlinks=True, dirs_exist_ok=True)
    script = stage / "run.sh"
    if script.exists():
        log(f"{stage.name}: run.sh")
        inside = root / IN_TARGET.lstrip("/") / "stages" / stage.name
        shutil.copytree(stage, inside, symlinks=True, dirs_exist_ok=True)
        chroot(root, "bash", "-euo", "pipefail", f"{IN_TARGET}/stages/{stage.name}/run.sh")


def write_sources(root: Path, mirror: str) -> None:
    """Debian's main, updates and security suites (debootstrap writes only the first)."""
    (root / "etc/apt/sources.list").write_text(
        f"deb {mirror} {SUITE} main\n"
        f"deb {mirror} {SUITE}-updates main\n"
        f"deb {SECURITY} {SUITE}-security main\n"
    )


def stamp(root: Path, arch: str, applied: Sequence[str]) -> dict[str, object]:
    """The manifest and /etc/register-release, from what is really installed."""
    debian = manifest.parse_dpkg_query(
        chroot(root, "dpkg-query", "-W", "-f", "${Package}\t${Version}\n", capture=True)
    )
    python = manifest.parse_pip_freeze(
        chroot(root, "/opt/register/venv/bin/python", "-m", "pip", "freeze", capture=True)
    )
    build = manifest.Build(version(), git_commit(), build_time(), arch, SUITE, applied)
    data = manifest.manifest(build, debian, python)
    manifest.write(root, data)
    docs = root / "usr/share/doc/register"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "docs/operations.md", docs / "operations.md")
    return data


def finish(root: Path) -> None:
    """What no card should carry: apt's lists and cache, the build's files, a resolver copy."""
    chroot(root, "apt-get", "clean")
    for path in (root / "var/lib/apt/lists").glob("*"):
        if path.is_file():
            path.unlink()
    shutil.rmtree(root / IN_TARGET.lstrip("/"), ignore_errors=True)
    resolv = root / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    resolv.symlink_to("../run/systemd/resolve/stub-resolv.conf")


def apply_all(root: Path, arch: str, bundle: Path) -> dict[str, object]:
    """Every stage into a target that has a Debian system, then the stamp."""
    inside = root / IN_TARGET.lstrip("/")
    shutil.rmtree(inside, ignore_errors=True)
    shutil.copytree(bundle, inside / "bundle")
    with mounted(root):
        host_resolver(root)
        log("apt-get update")
        chroot(root, "apt-get", "update", "-q")
        applied = []
        for stage in stages():
            apply_stage(root, stage)
            applied.append(stage.name)
        data = stamp(root, arch, applied)
        finish(root)
    return data


def du(path: Path) -> int:
    """Bytes used under `path` (not following mounts)."""
    out = run("du", "-sxb", path, capture_output=True).stdout
    return int(out.split()[0])


def build_rootfs(out: Path, mirror: str, cache: Path | None) -> dict[str, object]:
    """A host-architecture root filesystem with every stage applied, at `out`."""
    if os.geteuid() != 0:
        raise BuildError("building a root filesystem needs root (debootstrap, chroot, mount)")
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is not installed: apt-get install debootstrap")
    arch = host_arch()
    bundle = make_bundle(BUILD / "bundle", arch)
    if out.exists():
        log(f"removing the previous {out}")
        subprocess.run(["umount", "-R", "-l", str(out / "proc")], check=False,
                       stderr=subprocess.DEVNULL)  # fmt: skip
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log(f"debootstrap --variant=minbase {SUITE} ({arch}) from {mirror}")
    extra = []
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        extra = [f"--cache-dir={cache.resolve()}"]
    run("debootstrap", "--variant=minbase", f"--arch={arch}", *extra, SUITE, out, mirror,
        stdout=subprocess.DEVNULL)  # fmt: skip
    write_sources(out, mirror)
    data = apply_all(out, arch, bundle)
    log(f"root filesystem ready in {out}: {du(out) / 2**20:.0f} MiB")
    return data


# --- the Raspberry Pi OS image (arm64) -----------------------------------------------------


def pi_image_needs(base: Path | None) -> list[str]:
    """What this builder lacks to build the arm64 image (empty: it can)."""
    needs = []
    if os.geteuid() != 0:
        needs.append("root (losetup, mount, chroot)")
    if base is None or not base.is_file():
        needs.append(
            "--base FILE: a Raspberry Pi OS Lite (64-bit, bookworm) image, .img or .img.xz, "
            "from https://www.raspberrypi.com/software/operating-systems/"
        )
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        needs.append(
            "arm64 emulation: apt-get install qemu-user-static binfmt-support (it registers "
            "qemu-aarch64 in /proc/sys/fs/binfmt_misc with the F flag, so the chroot needs no "
            "copy of qemu); a container must be privileged for binfmt_misc"
        )
    for tool, package in (("losetup", "mount"), ("parted", "parted"), ("resize2fs", "e2fsprogs"),
                          ("xz", "xz-utils")):  # fmt: skip
        if shutil.which(tool) is None:
            needs.append(f"{tool}: apt-get install {package}")
    return needs


def build_pi_image(base: Path, grow_mb: int) -> Path:
    """Raspberry Pi OS Lite + the stages -> image/build/register-<version>-arm64.img.xz."""
    img = BUILD / f"register-{version()}-arm64.img"
    BUILD.mkdir(parents=True, exist_ok=True)
    bundle = make_bundle(BUILD / "bundle-arm64", "arm64")
    log(f"copying {base} to {img}")
    if base.suffix == ".xz":
        with img.open("wb") as out:
            run("xz", "-dc", base, stdout=out)
    else:
        shutil.copy(base, img)
    run("truncate", "-s", f"+{grow_mb}M", img)
    run("parted", "-s", img, "resizepart", "2", "100%")
    loop = run("losetup", "--find", "--show", "--partscan", img, capture_output=True).stdout.strip()
    root = BUILD / "pi-root"
    try:
        run("e2fsck", "-pf", f"{loop}p2")
        run("resize2fs", f"{loop}p2")
        root.mkdir(parents=True, exist_ok=True)
        run("mount", f"{loop}p2", root)
        run("mount", f"{loop}p1", root / "boot/firmware")
        apply_all(root, "arm64", bundle)
    finally:
        subprocess.run(["umount", "-R", str(root)], check=False)
        subprocess.run(["losetup", "-d", loop], check=False)
    run("xz", "-T0", "-f", img)
    return img.with_suffix(".img.xz")


# --- command line ----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """`python image/build.py COMMAND`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rootfs = sub.add_parser("rootfs", help="a host-arch root filesystem with every stage")
    rootfs.add_argument("--out", type=Path, default=BUILD / "rootfs")
    rootfs.add_argument("--mirror", default=MIRROR)
    rootfs.add_argument("--cache", type=Path, default=BUILD / "debs",
                        help="debootstrap's .deb cache, reused between builds")  # fmt: skip
    image = sub.add_parser("image", help="the arm64 Raspberry Pi OS SD image")
    image.add_argument("--base", type=Path, help="Raspberry Pi OS Lite arm64 .img[.xz]")
    image.add_argument("--grow-mb", type=int, default=1536, help="room added to the root fs")
    bundle = sub.add_parser("bundle", help="the register's software, for an upgrade")
    bundle.add_argument("--arch", default=None, help="target architecture (default: this one)")
    sub.add_parser("lock", help="rewrite image/requirements.lock from this venv")
    sub.add_parser("udev-rules", help="regenerate the udev rules from config/devices")
    args = parser.parse_args(argv)
    try:
        if args.command == "rootfs":
            build_rootfs(args.out, args.mirror, args.cache)
            log(f"done in {time.monotonic() - STARTED:.0f} s")
        elif args.command == "image":
            needs = pi_image_needs(args.base)
            if needs:
                print("cannot build the arm64 SD image on this machine; it needs:", file=sys.stderr)
                for need in needs:
                    print(f"  - {need}", file=sys.stderr)
                print("The same stages build for this machine: make image-test", file=sys.stderr)
                return 2
            log(f"wrote {build_pi_image(args.base, args.grow_mb)}")
        elif args.command == "bundle":
            arch = args.arch or host_arch()
            log(f"wrote {make_bundle(BUILD / f'bundle-{version()}-{arch}', arch)}")
        elif args.command == "lock":
            log(f"wrote {lock()}")
        else:
            log(f"wrote {udev_rules.write()}")
    except (BuildError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
