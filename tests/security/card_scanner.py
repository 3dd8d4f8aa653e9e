"""The scanner the no-card-data test runs over every artefact: two scans, and the only
excuses it accepts for a Luhn-passing run (see test_no_card_data's docstring).

The specific scan looks for each typed card number, as typed and as bare digits. The
generic one looks at every run of digit groups (split by single spaces or dashes) window
by window, as `appliance.domain.pan` does: every span of whole groups holding 13-19
digits that passes Luhn is a leak unless `Legit.why` proves it is something else. Each
artefact holding a digit, space or dash written as a JSON `\\u` escape is scanned again
with those read.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from appliance.config import Config
from appliance.domain.pan import luhn_valid
from appliance.settings import load_store_file
from tests.store.conftest import DEMO_CATALOG

RUN = re.compile(rb"[0-9]+(?:[ -][0-9]+)*")  # digit groups split by single spaces or dashes
GROUP = re.compile(rb"[0-9]+")
ESCAPED = re.compile(rb"\\u00(3[0-9]|2[0d])")  # a digit, space or dash as a JSON escape
HEX_AROUND = re.compile(rb"[0-9A-Fa-f-]*")
HEX_ID = re.compile(  # a UUID, or a hex digest (the longest first)
    rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    rb"|[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32}"
)
DAY_MS = 86_400_000


def card_windows(run: bytes) -> Iterator[tuple[int, int, str]]:
    """Every span of whole groups of `run` holding 13 to 19 digits that passes Luhn, as
    (start, end, digits): the same windows the register's check looks at."""
    groups = [(m.start(), m.end()) for m in GROUP.finditer(run)]
    for first, (start, _) in enumerate(groups):
        digits = ""
        for group_start, end in groups[first:]:
            digits += run[group_start:end].decode()
            if len(digits) > 19:
                break
            if len(digits) >= 13 and luhn_valid(digits):
                yield start, end, digits


UUID_GROUPS = (8, 4, 4, 4, 12)


def _uuid_cut_short(token: bytes) -> bool:
    """Whether hex-and-dash `token` is a UUID with its start or end cut off, as LMDB's
    freed pages keep them (old data partly written over): its dash groups are those of a
    UUID, only the first and last may be shorter, and a whole first group of 8 or last
    group of 12 anchors it. A card number's 4-4-4-4 or 4-6-5 never fits."""
    lengths = [len(group) for group in token.strip(b"-").split(b"-")]
    for at in range(len(UUID_GROUPS) - len(lengths) + 1):
        shape = UUID_GROUPS[at : at + len(lengths)]
        anchored = (at == 0 and lengths[0] == 8) or (
            at + len(lengths) == len(UUID_GROUPS) and lengths[-1] == 12
        )
        if (
            len(lengths) >= 2
            and anchored
            and list(shape[1:-1]) == lengths[1:-1]
            and lengths[0] <= shape[0]
            and lengths[-1] <= shape[-1]
        ):
            return True
    return False


def digits_of(text: str) -> str:
    """The card number in a typed text: its longest run of digits, spaces and dashes."""
    runs = re.findall(r"\d[\d -]*\d", text)
    return re.sub(r"[ -]", "", max(runs, key=len))


@dataclass(frozen=True)
class Legit:
    """What a Luhn-passing run may provably be, other than a card number."""

    barcodes: frozenset[str]
    first_ms: int
    last_ms: int

    def why(self, data: bytes, start: int, end: int, digits: str) -> str:
        """The reason this run is not a card number, or "" when there is none."""
        if digits in self.barcodes:
            return "a catalogue barcode"
        if start >= 2 and data[start - 1 : start] == b"." and data[start - 2 : start - 1].isdigit():
            return "the fraction of a decimal number"
        left = HEX_AROUND.match(data[max(0, start - 64) : start][::-1])
        right = HEX_AROUND.match(data, end)
        assert left is not None and right is not None
        token_start = start - len(left.group())
        # a whole UUID or digest overlapping the run: its digits, perhaps with those of
        # the value stored next to it (SQLite's records put columns side by side)
        for hex_id in HEX_ID.finditer(data[token_start : right.end()]):
            if token_start + hex_id.start() < end and token_start + hex_id.end() > start:
                return "part of a UUID or hex digest"
        if _uuid_cut_short(data[token_start : right.end()]):
            return "part of a UUID cut short (a stale LMDB page)"
        if len(digits) == 13 and self.first_ms - DAY_MS <= int(digits) <= self.last_ms + DAY_MS:
            return "an epoch-millisecond time of this run"
        return ""


@dataclass
class Findings:
    """What the scans found over a set of artefacts."""

    artefacts: int = 0
    bytes: int = 0
    leaks: list[str] = field(default_factory=list)
    excused: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        excused = ", ".join(f"{why}: {n}" for why, n in sorted(self.excused.items())) or "none"
        return f"{self.artefacts} artefacts, {self.bytes} bytes; excused {excused}"


def _context(data: bytes, start: int, end: int) -> str:
    return data[max(0, start - 40) : end + 40].decode("utf-8", "replace").replace("\n", " ")


def _unescaped(match: re.Match[bytes]) -> bytes:
    return bytes([int(match[1], 16)])


def scan(artefacts: dict[str, bytes], typed: Sequence[str], legit: Legit) -> Findings:
    """Both scans over every artefact (name -> raw bytes)."""
    found = Findings(artefacts=len(artefacts), bytes=sum(map(len, artefacts.values())))
    needles = {form.encode() for text in typed for form in (text, digits_of(text))}
    escapes_read = {f"{name} (JSON escapes read)": ESCAPED.sub(_unescaped, data)
                    for name, data in artefacts.items() if ESCAPED.search(data)}  # fmt: skip
    for name, data in {**artefacts, **escapes_read}.items():
        for needle in needles:  # the specific scan: no exclusion at all
            at = data.find(needle)
            if at >= 0:
                found.leaks.append(f"{name} @{at}: typed {needle.decode()!r}: "
                                   f"{_context(data, at, at + len(needle))}")  # fmt: skip
        for run in RUN.finditer(data):  # the generic scan
            if run.end() - run.start() < 13:
                continue
            for start, end, digits in card_windows(run.group()):
                start, end = run.start() + start, run.start() + end
                why = legit.why(data, start, end, digits)
                if why:
                    found.excused[why] += 1
                    found.examples.setdefault(why, f"{name}: {digits}")
                else:
                    context = _context(data, start, end)
                    found.leaks.append(f"{name} @{start}: Luhn {digits}: {context}")
    return found


def legit_values(config: Config, first_ms: int) -> Legit:
    """The excuses of a run that began at `first_ms`: the demo catalogue's barcodes."""
    catalog = load_store_file(DEMO_CATALOG, config).catalog
    return Legit(frozenset(catalog.barcodes), first_ms, int(time.time() * 1000))
