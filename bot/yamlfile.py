"""Bounded YAML with line numbers, and pydantic errors turned into ``file:line: message``.

Every YAML document the bot reads (rules files, config.yaml, /import files, the evaluation sets) goes through
:func:`parse_yaml`. It reads libyaml's event stream (PyYAML's C parser) and builds plain dicts and lists that
remember the line of every key and item, refusing on the first event past a bound:

* a document larger than ``max_bytes`` (a file is not even read past it: :func:`read_yaml_file`);
* anchors and aliases (``&a`` / ``*a``): nothing the bot reads needs them, and they are what makes a
  "billion laughs" document of a few hundred bytes expand to gigabytes;
* more than ``max_nodes`` values, or collections nested deeper than ``max_depth``;
* more than one document, tags other than the standard scalar / map / seq ones.

Scalars are resolved as YAML 1.2 (as ruamel's round-trip loader did before): ``yes``, ``no``, ``on``, ``off``
and ``NO`` (Norway) stay strings; ``true``/``false``, ``null``/``~``, integers (``0x``, ``0o``, ``0b``),
floats and timestamps are typed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.constructor import SafeConstructor

from bot.alerts.i18n import t


@dataclass(frozen=True)
class YAMLLimits:
    max_bytes: int = 5 * 1024 * 1024  # a rules file: the shipped catalogue's largest is 32 KB
    max_nodes: int = 300_000  # scalars, mappings and sequences
    max_depth: int = 32  # nested mappings and sequences (rules need 5)


RULES_LIMITS = YAMLLimits()
CONFIG_LIMITS = YAMLLimits(max_bytes=1024 * 1024, max_nodes=100_000)


class YMap(dict):
    """A YAML mapping: a dict that knows its own line and the line of each key (1-based)."""

    __slots__ = ("line", "lines")


class YSeq(list):
    """A YAML sequence: a list that knows its own line and the line of each item (1-based)."""

    __slots__ = ("line", "lines")


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def key_line(node: Any, key: Any, default: int) -> int:
    if isinstance(node, YMap):
        return node.lines.get(key, default)
    return default


def item_line(seq: Any, index: int, default: int) -> int:
    if isinstance(seq, YSeq) and 0 <= index < len(seq.lines):
        return seq.lines[index]
    return default


def plain(node: Any) -> Any:
    """Line-carrying containers → plain dicts (string keys) and lists, for pydantic."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node


class _Refused(Exception):
    """A document refused at ``line``: the message is the i18n key ``yaml.<key>`` with ``values``."""

    def __init__(self, line: int, key: str, **values: Any):
        super().__init__(key)
        self.line, self.key, self.values = line, key, values


# ---------------------------------------------------------------- YAML 1.2 scalars (as ruamel's resolver)

_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULL = frozenset(("~", "null", "Null", "NULL"))
_INT = re.compile(r"[-+]?(?:0b[0-1_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)")
_FLOAT = re.compile(r"""[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN)""", re.X)
_TIMESTAMP = re.compile(r"""[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
    (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?""", re.X)
_TYPED_FIRST = frozenset("-+0123456789.tTfFnN~")
_BASES = {"0b": 2, "0o": 8, "0x": 16}
_TIMESTAMPS = SafeConstructor()


def _int(value: str) -> int:
    text = value.replace("_", "")
    sign = -1 if text[0] == "-" else 1
    text = text.lstrip("+-")
    base = _BASES.get(text[:2], 10)
    return sign * int(text[2:] if base != 10 else text, base)


def _float(value: str) -> float:
    text = value.replace("_", "").lower()
    if text.endswith(".inf"):
        return float("-inf") if text[0] == "-" else float("inf")
    if text.endswith(".nan"):
        return float("nan")
    return float(text)


def resolve_plain(value: str) -> Any:
    """A plain (unquoted, untagged) scalar as YAML 1.2 reads it."""
    if not value:
        return None
    if value[0] not in _TYPED_FIRST:
        return value
    if value in _BOOL:
        return _BOOL[value]
    if value in _NULL:
        return None
    try:
        if _INT.fullmatch(value):
            return _int(value)
        if _FLOAT.fullmatch(value):
            return _float(value)
        if _TIMESTAMP.fullmatch(value):
            return _TIMESTAMPS.construct_yaml_timestamp(yaml.ScalarNode("tag:yaml.org,2002:timestamp", value))
    except ValueError:  # 2024-13-45, or an integer of more than 4300 digits
        pass
    return value


_STD = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_STD}int": int, f"{_STD}float": (int, float), f"{_STD}bool": bool, f"{_STD}null": type(None)}
_COLLECTION_TAGS = frozenset(("!", f"{_STD}map", f"{_STD}seq"))


def _scalar(event: yaml.ScalarEvent, line: int) -> Any:
    tag = event.tag
    if event.implicit[0]:
        return resolve_plain(event.value)
    if tag is None or tag == "!" or tag == f"{_STD}str":
        return event.value
    if tag == f"{_STD}timestamp":
        value = resolve_plain(event.value)
        if not isinstance(value, str):
            return value
    elif tag in _SCALAR_TAGS:
        value = resolve_plain(event.value)
        if isinstance(value, _SCALAR_TAGS[tag]) and not (tag != f"{_STD}bool" and isinstance(value, bool)):
            return float(value) if tag == f"{_STD}float" else value
    else:
        raise _Refused(line, "invalid", problem=f"unsupported tag {tag}")
    raise _Refused(line, "invalid", problem=f"{event.value!r} is not a valid {tag.removeprefix(_STD)}")


def _build(text: str, limits: YAMLLimits) -> Any:
    """The single document of ``text`` as YMap / YSeq / scalars; raises _Refused or yaml.YAMLError."""
    parser = yaml.CSafeLoader(text) if yaml.__with_libyaml__ else yaml.SafeLoader(text)
    get_event = parser.get_event
    scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
    map_start, seq_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    map_end, seq_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
    max_nodes, max_depth = limits.max_nodes, limits.max_depth
    missing = object()
    root: Any = None
    # each open collection: [container, is a mapping, pending key, its line]
    stack: list[list[Any]] = []
    nodes = documents = 0
    try:
        while True:
            event = get_event()
            kind = type(event)
            if kind is map_end or kind is seq_end:
                stack.pop()
                continue
            if kind is scalar_event or kind is map_start or kind is seq_start:
                line = event.start_mark.line + 1
                if event.anchor is not None:
                    raise _Refused(line, "anchor", name=event.anchor)
                nodes += 1
                if nodes > max_nodes:
                    raise _Refused(line, "too_many_nodes", max=max_nodes)
                if kind is scalar_event:
                    value = _scalar(event, line)
                    opened = None
                else:
                    if len(stack) >= max_depth:
                        raise _Refused(line, "too_deep", max=max_depth)
                    if event.tag is not None and event.tag not in _COLLECTION_TAGS:
                        raise _Refused(line, "invalid", problem=f"unsupported tag {event.tag}")
                    value = YMap() if kind is map_start else YSeq()
                    value.line, value.lines = line, ({} if kind is map_start else [])
                    opened = [value, kind is map_start, missing, 0]
                if not stack:
                    root = value
                else:
                    top = stack[-1]
                    container = top[0]
                    if not top[1]:
                        container.append(value)
                        container.lines.append(line)
                    elif top[2] is missing:
                        if opened is not None:
                            raise _Refused(line, "invalid", problem="a mapping key must be a plain value")
                        if value in container:
                            raise _Refused(line, "invalid", problem=f"duplicate key {value!r} (first on line "
                                                                    f"{container.lines[value]})")
                        top[2], top[3] = value, line
                    else:
                        container[top[2]] = value
                        container.lines[top[2]] = top[3]
                        top[2] = missing
                if opened is not None:
                    stack.append(opened)
            elif kind is alias_event:
                raise _Refused(event.start_mark.line + 1, "anchor", name=event.anchor)
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _Refused(event.start_mark.line + 1, "invalid",
                                   problem="expected a single document, found another one")
            elif kind is yaml.StreamEndEvent or event is None:
                return root
    finally:
        dispose = getattr(parser, "dispose", None)
        if dispose is not None:
            dispose()


def parse_yaml(text: str | bytes, limits: YAMLLimits = RULES_LIMITS,
               language: str = "en") -> tuple[Any, tuple[int, str] | None]:
    """(document, None) or (None, (line, message)), the message in ``language`` ("ar" or "en").

    Mappings are :class:`YMap` and sequences :class:`YSeq` (with the line of each key and item). A document over
    a bound is refused at the first event past it, so a few-hundred-byte alias bomb costs microseconds.
    """
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > limits.max_bytes:
        return None, (1, t(language, "yaml.too_large", size=size, max=limits.max_bytes))
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return None, (1, t(language, "yaml.not_utf8"))
    try:
        return _build(text, limits), None
    except _Refused as exc:
        return None, (exc.line, t(language, f"yaml.{exc.key}", **exc.values))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        return None, (line, t(language, "yaml.invalid", problem=exc.problem or exc.context or "syntax error"))
    except yaml.YAMLError as exc:
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else 1
        return None, (line, t(language, "yaml.invalid", problem=str(exc).splitlines()[0]))


def read_yaml_file(path: Path, limits: YAMLLimits = RULES_LIMITS,
                   language: str = "en") -> tuple[Any, tuple[int, str] | None]:
    """Read and parse a YAML file, refusing (without reading it) one larger than ``limits.max_bytes``.

    Raises OSError when the file cannot be read; a file that is not UTF-8 is a (1, message) problem.
    """
    with open(path, "rb") as f:
        data = f.read(limits.max_bytes + 1)
        if len(data) > limits.max_bytes:
            size = max(os.fstat(f.fileno()).st_size, len(data))
            return None, (1, t(language, "yaml.too_large", size=size, max=limits.max_bytes))
    return parse_yaml(data, limits, language)


def validation_errors(exc: ValidationError, node: Any, line: int, where: str = "") -> list[tuple[int, str]]:
    """Each pydantic error with the line of the deepest YAML node its location reaches."""
    out = []
    for err in exc.errors():
        loc = err.get("loc", ())
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            msg = "unknown key"
        err_line, current = line, node
        for part in loc:
            if isinstance(current, YMap) and part in current:
                err_line = key_line(current, part, err_line)
                current = current[part]
            elif isinstance(current, YSeq) and isinstance(part, int) and part < len(current):
                err_line = item_line(current, part, err_line)
                current = current[part]
            else:
                break
        field = ".".join(str(p) for p in loc)
        prefix = f"{where}: " if where else ""
        out.append((err_line, f"{prefix}{field}: {msg}" if field else f"{prefix}{msg}"))
    return out
