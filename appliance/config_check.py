"""How a config file is read, merged and checked: the type-driven validator behind
`appliance.config` (which holds the schema itself: the sections and their fields).

`read_toml` reads one file (a ConfigError naming it for anything unreadable), `merge`
deep-merges files remembering which one supplied each value, and `Validator` walks the
frozen dataclasses of a schema, so a bad key or value fails naming its file and dotted key.
"""

import difflib
import json
import re
import tomllib
from dataclasses import MISSING, fields, is_dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

KeyPath = tuple[str | int, ...]  # a dotted key's parts; an int is an array index


class ConfigError(Exception):
    """An unusable config, naming the file, the dotted key and what was expected."""

    def __init__(self, file: str, key: str, expected: str, detail: str) -> None:
        self.file = file
        self.key = key
        self.expected = expected
        super().__init__(f"{file}: {key}: {detail}" if key else f"{file}: {detail}")


_NOUNS: dict[Any, tuple[str, str]] = {
    str: ("a string", "strings"),
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
    bool: ("true or false", "booleans"),
    Decimal: ("a decimal number", "decimal numbers"),
    Path: ("a non-empty path", "non-empty paths"),
}


def _scalar(tp: Any, v: Any) -> Any:
    """``v`` as a ``tp``, or None if it is not one; a TOML boolean is never a number."""
    if isinstance(v, bool) != (tp is bool):
        return None
    if tp in (bool, str, int):
        return v if isinstance(v, tp) else None
    if tp is Path:
        return Path(v) if isinstance(v, str) and v else None
    if tp is float and isinstance(v, int | float) and -1e300 < v < 1e300:  # NaN fails too
        return float(v)
    if tp is Decimal and isinstance(v, int | float | str):
        try:
            # repr is the shortest text that reads back as the float: 0.07 -> "0.07".
            d = Decimal(repr(v) if isinstance(v, float) else v)
        except (InvalidOperation, ValueError):
            return None
        return d if d.is_finite() else None
    return None


def _noun(tp: Any, plural: bool = False) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if origin is tuple:
        return f"{'arrays' if plural else 'an array'} of {_noun(args[0], True)}"
    if origin is dict:
        return f"{'tables' if plural else 'a table'} of {_noun(args[1], True)}"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if is_dataclass(tp):
        return "tables" if plural else "a table"
    return _NOUNS[tp][1 if plural else 0]


def expected_text(tp: Any, meta: Any) -> str:
    if "expect" in meta:
        return str(meta["expect"])
    text = _noun(tp)
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and hi is not None:
        return f"{text} between {lo} and {hi}"
    words = [("min", "at least"), ("gt", "greater than"), ("lt", "less than"), ("max", "at most")]
    words.append(("at_least", "at least"))
    bounds = [f"{word} {meta[k]}" for k, word in words if k in meta]
    if "pattern" in meta:
        bounds.append(f"matching {meta['pattern']}")
    return f"{text} {' and '.join(bounds)}" if bounds else text


def _in_range(v: Any, meta: Any) -> bool:
    return (
        ("min" not in meta or v >= meta["min"])
        and ("max" not in meta or v <= meta["max"])
        and ("gt" not in meta or v > meta["gt"])
        and ("lt" not in meta or v < meta["lt"])
        and ("pattern" not in meta or re.fullmatch(meta["pattern"], v) is not None)
        and ("check" not in meta or meta["check"](v))
    )


def _show(v: Any, secret: bool = False) -> str:
    kinds = [(bool, "a boolean"), (str, "a string"), (int, "an integer"), (float, "a float")]
    kinds += [(list, "an array"), (dict, "a table")]
    kind = next((name for t, name in kinds if isinstance(v, t)), f"a {type(v).__name__}")
    if secret:
        return f"{kind} (not shown: it may hold a password)"
    text = repr(v)
    return f"{text if len(text) <= 60 else text[:57] + '...'} ({kind})"


def _dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, str) and not re.fullmatch(r"[A-Za-z0-9_-]+", part):
            part = json.dumps(part, ensure_ascii=False)  # quoted, as TOML would need it
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else part
    return out


class Validator:
    """One validation pass over merged data, knowing which file supplied each value."""

    def __init__(
        self,
        origin: dict[KeyPath, str],
        register_file: str,
        hints: dict[tuple[Any, str], str] | None = None,
    ) -> None:
        self.origin = origin
        self.register_file = register_file
        self.hints = hints or {}  # (section class, key): what to say when it is unknown

    def file_of(self, path: KeyPath) -> str:
        # A value comes from the file that supplied the nearest key it sits under.
        while path and path not in self.origin:
            path = path[:-1]
        return self.origin.get(path, self.register_file)

    def bad(self, path: KeyPath, expected: str, got: Any, secret: bool = False) -> ConfigError:
        detail = f"expected {expected}, got {_show(got, secret)}"
        return ConfigError(self.file_of(path), _dotted(path), expected, detail)

    def value(self, tp: Any, raw: Any, meta: Any, path: KeyPath) -> Any:
        origin, args = get_origin(tp), get_args(tp)
        if is_dataclass(tp):
            return self.section(tp, raw, path)
        if origin is dict and isinstance(raw, dict):
            return {k: self.value(args[1], v, {}, (*path, k)) for k, v in raw.items()}
        if origin is tuple and isinstance(raw, list):
            return tuple(self.value(args[0], v, {}, (*path, i)) for i, v in enumerate(raw))
        if origin is Literal and any(type(raw) is type(a) and raw == a for a in args):
            return raw
        converted = None if origin else _scalar(tp, raw)
        if converted is None or not _in_range(converted, meta):
            raise self.bad(path, expected_text(tp, meta), raw, meta.get("secret", False))
        return converted

    def section(self, cls: Any, raw: Any, path: KeyPath) -> Any:
        if not isinstance(raw, dict):
            raise self.bad(path, "a table", raw)
        known = [f.name for f in fields(cls)]
        for key in raw:
            if key not in known:
                raise self.unknown(cls, known, (*path, key))
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            here = (*path, f.name)
            if f.name in raw:
                values[f.name] = self.value(hints[f.name], raw[f.name], f.metadata, here)
            elif f.default is not MISSING:
                values[f.name] = f.default
            else:
                expected = expected_text(hints[f.name], f.metadata)
                detail = f"missing required key; expected {expected}"
                raise ConfigError(self.register_file, _dotted(here), expected, detail)
        for f in fields(cls):
            floor = f.metadata.get("at_least")
            if floor is not None and values[f.name] < values[floor]:
                expected = f"{expected_text(hints[f.name], f.metadata)} ({values[floor]})"
                raise self.bad((*path, f.name), expected, raw.get(f.name))
        result = cls(**values)
        problem = result._cross_check() if hasattr(result, "_cross_check") else None
        if problem is not None:
            rel, expected = problem
            got: Any = raw
            for part in rel:
                got = got.get(part) if isinstance(got, dict) else None
            raise self.bad((*path, *rel), expected, got)
        return result

    def unknown(self, cls: Any, known: list[str], path: KeyPath) -> ConfigError:
        key = str(path[-1])
        expected = "one of: " + ", ".join(known)
        detail = f"unknown key; expected {expected}"
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            detail += f"; did you mean {close[0]!r}?"
        if (cls, key) in self.hints:
            detail += f"; {self.hints[cls, key]}"
        return ConfigError(self.file_of(path), _dotted(path), expected, detail)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise ConfigError(str(path), "", "a readable TOML file", f"cannot read: {e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(str(path), "", "UTF-8 text", f"not UTF-8 text: {e}") from e
    except tomllib.TOMLDecodeError as e:
        # Python 3.11's TOMLDecodeError has no lineno attribute; the message carries it.
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
        where = f"line {found[1]}, column {found[2]}: " if found else ""
        reason = re.sub(r"\s*\(at [^)]*\)$", "", str(e))
        raise ConfigError(str(path), "", "valid TOML", f"{where}invalid TOML: {reason}") from e
    except ValueError as e:  # tomllib's int() of more than sys.get_int_max_str_digits() digits
        detail = "invalid TOML: an integer with too many digits"
        raise ConfigError(str(path), "", "valid TOML", detail) from e
    except RecursionError as e:  # tomllib recurses into nested arrays and inline tables
        detail = "invalid TOML: arrays or tables nested too deeply"
        raise ConfigError(str(path), "", "valid TOML", detail) from e


def merge(
    base: dict[str, Any], over: dict[str, Any], file: str, origin: dict[KeyPath, str]
) -> dict[str, Any]:
    """Deep-merge ``over`` into a copy of ``base``: tables merge, all else replaces.

    ``origin`` gets the file of each replaced value; a merged table keeps the entry of
    whoever first supplied it, so the keys it did not override still resolve there.
    """

    def merge(base: dict[str, Any], over: dict[str, Any], prefix: KeyPath) -> dict[str, Any]:
        merged = dict(base)
        for key, value in over.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = merge(merged[key], value, (*prefix, key))
            else:
                merged[key] = value
                origin[(*prefix, key)] = file
        return merged

    return merge(base, over, ())
