"""The settings engine: JSON objects read into frozen dataclasses, checked, and written back.

A settings class is a frozen dataclass whose fields are declared with :func:`setting` (a default or
:data:`REQUIRED`, a range, a note). The engine knows nothing of any particular settings: the model configs
(model.config) and the dose evaluation's settings (tools.dose.config) are both read with it.

- :func:`parse_settings` reads a JSON object into the class, once: a misspelled key, a wrong type, a value out
  of range or a missing required value is refused with one line naming the file, the key path and what is
  expected, with "did you mean" for a near miss. A class that has a ``validate()`` method (its cross-field
  checks) has it called once the whole object is read; it raises :class:`Invalid` naming a key path.
- :func:`to_json` writes one back: a JSON-able dict that :func:`parse_settings` reads to an equal object. It
  holds every key the object was read with (in the order read), and any value that differs from its default;
  a default the source left out stays out (so a changed default still reaches it, as it would have), unless
  ``defaults=True`` asks for every setting.
- :func:`with_overrides` returns a copy with some settings changed (``{"training.iterations": 10}``), read and
  validated again as if the file had said so.

Types a setting may have: ``bool``, ``int``, ``float`` (an integer is accepted and becomes a float), ``str``,
``Literal[...]``, ``X | None``, a union, ``tuple[X, ...]`` / ``tuple[X, Y]`` (a JSON list; empty only where the
default is the empty tuple), a nested settings dataclass (a JSON object), ``dict[str, X]`` (names mapped to
values) and :data:`FreeForm` (any JSON object, kept as written: a model folder's ``provenance``).

The record of the keys an object was read with is kept beside its fields (it is not compared: a config that
spells out a default equals one that leaves it out); ``dataclasses.replace`` drops it, so :func:`to_json` of
such a copy writes the non-default values only, and :func:`replace` keeps it.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import types
import typing
from dataclasses import field
from pathlib import Path
from typing import Any, Literal, Mapping, TypeVar, Union

from model.errors import InputError

REQUIRED = object()  # a setting without a default: the source must give it
UNSET = object()  # with_overrides: remove the key (the setting takes its default)
FreeForm = dict[str, Any]  # any JSON object, kept as written (never checked further)

S = TypeVar("S")
_GIVEN = "_settings_given"  # the keys an object was read with, in order (an attribute outside its fields)


def setting(default: Any = REQUIRED, *, minimum: float | None = None, maximum: float | None = None,
            above: float | None = None, below: float | None = None, length: int | None = None,
            item_minimum: float | None = None, note: str = ""):
    """A settings field: its default (or REQUIRED) and the range it is checked against. ``minimum``/``maximum``
    are inclusive, ``above``/``below`` exclusive; ``length`` and ``item_minimum`` apply to a list's items."""
    checks = {k: v for k, v in dict(minimum=minimum, maximum=maximum, above=above, below=below, length=length,
                                    item_minimum=item_minimum, note=note).items() if v not in (None, "")}
    if isinstance(default, (list, dict)):
        raise TypeError("defaults are immutable: use a tuple")
    return field(default=None if default is REQUIRED else default, metadata={"required": default is REQUIRED, **checks})


def internal(default: Any = None):
    """A field that is not a setting (never read from or written to JSON), e.g. the file a config came from."""
    return field(default=default, compare=False, metadata={"internal": True})


class Invalid(Exception):
    """A bad value at a key path (``training.lr``): what :func:`parse_settings` turns into one line naming the file."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key, self.problem = key, problem


# --------------------------------------------------------------------------------------------------- reading
def read_json(path: Path, error: type[InputError] = InputError, missing: str = "missing") -> dict:
    """A JSON object from ``path``; anything else is one ``error`` line naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise error(path, missing) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise error(path, f"not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise error(path, "must be a JSON object")
    return data


def parse_settings(cls: type[S], data: dict, source: str | Path, error: type[InputError] = InputError) -> S:
    """``data`` (a JSON object) checked and typed as the settings class ``cls``, then validated; errors are one
    ``error`` line naming ``source`` and the key path."""
    try:
        return validated(parse_section(cls, data, ""))
    except Invalid as err:
        raise error(source, f"{err.key}: {err.problem}") from None


def validated(obj: S) -> S:
    """``obj`` after its class's cross-field checks (``validate()``, where it has one)."""
    check = getattr(obj, "validate", None)
    if callable(check):
        check()
    return obj


def parse_section(cls, data, path: str):
    """``data`` as the settings class ``cls``; ``path`` is its key path (``""`` at the top). Raises :class:`Invalid`."""
    where = path or "the config"
    if not isinstance(data, dict):
        raise Invalid(where, f"expected a JSON object (a table of settings), got {_describe(data)}")
    hints = typing.get_type_hints(cls)
    fields = settings_fields(cls)
    for key in data:
        if key not in fields:
            hint = did_you_mean(key, fields) or f" ({where} takes {', '.join(fields)})"
            raise Invalid(join(path, key), f"unknown key{hint}")
    values = {}
    for name, f in fields.items():
        key = join(path, name)
        if name not in data:
            if f.metadata.get("required"):
                note = f": {f.metadata['note']}" if "note" in f.metadata else ""
                raise Invalid(key, f"missing: required ({expected(hints[name])}{note})")
            continue
        empty = f.default == ()  # a list that may be empty: where none is the default
        values[name] = _check_range(_parse_value(hints[name], data[name], key, empty), f.metadata, key, data[name])
    try:
        obj = cls(**values)
    except ValueError as err:
        raise Invalid(where, str(err)) from None
    return _mark(obj, tuple(data))


def settings_fields(cls) -> dict[str, dataclasses.Field]:
    """The fields of a settings class (or object) that are settings, by name."""
    return {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _mark(obj, given: tuple[str, ...]):
    object.__setattr__(obj, _GIVEN, given)  # frozen: set once, as the object is made
    return obj


def given_keys(obj) -> tuple[str, ...]:
    """The keys ``obj`` was read with, in order (none for an object made in code)."""
    return getattr(obj, _GIVEN, ())


def replace(obj: S, **changes) -> S:
    """``dataclasses.replace`` that keeps the record of the keys ``obj`` was read with (e.g. to set an
    internal field); not checked again: settings change through :func:`with_overrides`."""
    return _mark(dataclasses.replace(obj, **changes), given_keys(obj))


def _parse_value(hint, value, key: str, empty: bool = False):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return copy.deepcopy(value)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        for option in options:
            try:
                return _parse_value(option, value, key, empty)
            except Invalid:
                if len(options) == 1:
                    raise
        raise Invalid(key, f"expected {expected(hint)}, got {_describe(value)}")
    if origin is Literal:
        if any(type(value) is type(a) and value == a for a in args):
            return value
        raise Invalid(key, f"expected one of {', '.join(json.dumps(a) for a in args)}, got {_describe(value)}"
                           f"{did_you_mean(value, [a for a in args if isinstance(a, str)])}")
    if dataclasses.is_dataclass(hint):
        return parse_section(hint, value, key)
    if origin is tuple:
        if not isinstance(value, list):
            raise Invalid(key, f"expected {expected(hint)}, got {_describe(value)}")
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(items) != len(value) or not (value or empty):
            raise Invalid(key, f"expected {expected(hint)}, got {len(value)} value(s)")
        return tuple(_parse_value(t, v, f"{key}[{i}]") for i, (t, v) in enumerate(zip(items, value)))
    if origin is dict or hint is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise Invalid(key, f"expected a JSON object, got {_describe(value)}")
        item = args[1] if args else Any
        if item is not Any and not all(isinstance(v, item) for v in value.values()):
            raise Invalid(key, f"expected names mapped to {expected(item, True)}, got {_short(value)}")
        return copy.deepcopy(value)
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (int, bool, str) and type(value) is hint:
        return value
    raise Invalid(key, f"expected {expected(hint)}, got {_describe(value)}")


def _check_range(value, meta, key: str, given):
    numbers = [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []
    if isinstance(value, tuple):
        numbers = [v for v in _flatten(value) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    for v in numbers:
        for name, ok, words in (("minimum", lambda v, m: v >= m, "at least"), ("maximum", lambda v, m: v <= m, "at most"),
                                ("above", lambda v, m: v > m, "above"), ("below", lambda v, m: v < m, "below"),
                                ("item_minimum", lambda v, m: v >= m, "at least")):
            if name in meta and not ok(v, meta[name]):
                raise Invalid(key, f"{_short(given)} is out of range: must be {words} {meta[name]:g}")
    return value


def _flatten(value):
    for v in value:
        yield from (_flatten(v) if isinstance(v, tuple) else (v,))


# --------------------------------------------------------------------------------------------------- writing
def to_json(obj, defaults: bool = False) -> dict:
    """The settings object ``obj`` as a JSON-able dict that :func:`parse_settings` reads back to an equal object:
    the keys it was read with (in that order), then every other setting whose value is not its default (or,
    with ``defaults``, every setting)."""
    fields = settings_fields(obj)
    given = [name for name in given_keys(obj) if name in fields]
    out = {}
    for name in given + [name for name in fields if name not in given]:
        value = getattr(obj, name)
        encoded = encode(value, defaults)
        if (defaults or name in given or fields[name].metadata.get("required") or not _is_default(fields[name], value)
                or (dataclasses.is_dataclass(value) and encoded)):
            out[name] = encoded
    return out


def encode(value, defaults: bool = False):
    """A setting's value as JSON gives it: settings objects as objects, tuples as lists, copies throughout."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value, defaults)
    if isinstance(value, (tuple, list)):
        return [encode(v, defaults) for v in value]
    if isinstance(value, dict):
        return {k: encode(v, defaults) for k, v in value.items()}
    return value


def _is_default(f: dataclasses.Field, value) -> bool:
    default = f.default
    return default is not dataclasses.MISSING and type(value) is type(default) and value == default


# ------------------------------------------------------------------------------------------------- overrides
def with_overrides(obj: S, changes: Mapping[str, Any]) -> S:
    """A copy of the settings object ``obj`` with ``changes`` (key path -> value) applied and everything checked
    and validated again, as if its source had said so. A path names a setting (``training.iterations``) or a
    whole section (``latent``: a dict, or a settings object, replaces it); a section that is absent or null is
    started empty; the value :data:`UNSET` removes the key (its default applies). Raises :class:`Invalid` naming
    the key path. Internal fields (the source file) are kept."""
    data = to_json(obj)
    for path, value in changes.items():
        _set(data, type(obj), path, value)
    changed = validated(parse_section(type(obj), data, ""))
    kept = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.metadata.get("internal")}
    return replace(changed, **kept) if kept else changed


def _set(data: dict, cls, path: str, value) -> None:
    parts = path.split(".")
    node, done = data, ""
    for i, part in enumerate(parts):
        done = join(done, part)
        last = i == len(parts) - 1
        hint = None
        if cls is not None:  # a settings section; None: inside a free-form or name -> value table
            fields = settings_fields(cls)
            if part not in fields:
                takes = f" ({'.'.join(parts[:i]) or 'the config'} takes {', '.join(fields)})"
                raise Invalid(done, f"unknown key{did_you_mean(part, fields) or takes}")
            hint = _section_type(typing.get_type_hints(cls)[part])
        if last:
            if value is UNSET:
                node.pop(part, None)
            else:
                node[part] = encode(value)
            return
        if cls is not None and hint is None:
            raise Invalid(done, f"a setting, not a section: there is no {'.'.join(parts[i + 1:])} in it")
        if not isinstance(node.get(part), dict):
            if cls is None and part in node:
                raise Invalid(done, f"not a JSON object: there is no {'.'.join(parts[i + 1:])} in it")
            node[part] = {}
        node, cls = node[part], (hint if dataclasses.is_dataclass(hint) else None)


def _section_type(hint):
    """The settings class or table (dict) a field holds, through ``| None``; None for a plain setting."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = options[0] if len(options) == 1 else None
    if dataclasses.is_dataclass(hint) or hint is dict or typing.get_origin(hint) is dict:
        return hint
    return None


# ---------------------------------------------------------------------------------------------------- words
def did_you_mean(key, known) -> str:
    if not isinstance(key, str):
        return ""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def expected(hint, plural: bool = False) -> str:
    """What a setting of type ``hint`` must be, in words ("a list of 3 integers")."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(expected(a, plural) for a in args)
    if hint is type(None):
        return "null"
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            items = f"of {expected(args[0], True)}"
        else:
            items = f"of {len(args)} {expected(args[0], True)}" if len(set(args)) == 1 else ""
        return f"lists {items}".strip() if plural else f"a list {items}".strip()
    words = {int: ("an integer", "integers"), float: ("a number", "numbers"), bool: ("true or false", "true/false values"),
             str: ("a string", "strings")}
    if hint in words:
        return words[hint][plural]
    return "JSON objects" if plural else "a JSON object"


def _describe(value) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    kind = {int: "integer", float: "number", str: "string", list: "list", dict: "object"}.get(type(value), type(value).__name__)
    return f"{kind} {_short(value)}"


def _short(value) -> str:
    text = json.dumps(list(value) if isinstance(value, tuple) else value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."
