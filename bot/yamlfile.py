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
from collections.abc import Callable
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
# a chat's /import file: an export of every shipped entity and watchlist and 200 phrases is 35 KB, 3,135 values,
# 5 levels deep
IMPORT_LIMITS = YAMLLimits(max_bytes=256 * 1024, max_nodes=20_000, max_depth=10)


class YMap(dict[Any, Any]):
    """A YAML mapping: a dict that knows its own line and the line of each key (1-based)."""

    __slots__ = ("line", "lines")
    line: int
    lines: dict[Any, int]


class YSeq(list[Any]):
    """A YAML sequence: a list that knows its own line and the line of each item (1-based)."""

    __slots__ = ("line", "lines")
    line: int
    lines: list[int]


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
_SCALAR_TAGS: dict[str, type | tuple[type, ...]] = {
    f"{_STD}int": int, f"{_STD}float": (int, float), f"{_STD}bool": bool, f"{_STD}null": type(None)}
_COLLECTION_TAGS = frozenset(("!", f"{_STD}map", f"{_STD}seq"))


def _is_of_tag(value: Any, tag: str) -> bool:
    """Whether a resolved scalar is what its explicit standard tag (``!!int``, ``!!timestamp``, ...) says."""
    if tag == f"{_STD}timestamp":
        return not isinstance(value, str)
    return isinstance(value, _SCALAR_TAGS[tag]) and not (tag != f"{_STD}bool" and isinstance(value, bool))


def _scalar(event: yaml.ScalarEvent, line: int) -> Any:
    tag = event.tag
    if event.implicit[0]:
        return resolve_plain(event.value)
    if tag is None or tag == "!" or tag == f"{_STD}str":
        return event.value
    if tag != f"{_STD}timestamp" and tag not in _SCALAR_TAGS:
        raise _Refused(line, "invalid", problem=f"unsupported tag {tag}")
    value = resolve_plain(event.value)
    if _is_of_tag(value, tag):
        return float(value) if tag == f"{_STD}float" else value
    raise _Refused(line, "invalid", problem=f"{event.value!r} is not a valid {tag.removeprefix(_STD)}")


_MISSING = object()  # a mapping's next event is a key


class _Open:
    """A mapping or sequence being filled, with the key (and its line) waiting for its value in a mapping."""

    __slots__ = ("container", "key", "key_line")

    def __init__(self, container: YMap | YSeq) -> None:
        self.container = container
        self.key: Any = _MISSING
        self.key_line = 0


def _new_collection(event: yaml.NodeEvent, line: int) -> YMap | YSeq:
    if event.tag is not None and event.tag not in _COLLECTION_TAGS:
        raise _Refused(line, "invalid", problem=f"unsupported tag {event.tag}")
    value: YMap | YSeq
    if type(event) is yaml.MappingStartEvent:
        value = YMap()
        value.lines = {}
    else:
        value = YSeq()
        value.lines = []
    value.line = line
    return value


class _Builder:
    """Assembles one document from libyaml's events, refusing (``_Refused``) the first event past a bound."""

    def __init__(self, limits: YAMLLimits) -> None:
        self.limits = limits
        self.root: Any = None
        self.stack: list[_Open] = []  # the collections open around the next event, innermost last
        self.nodes = 0
        self.documents = 0
        self.on_event: dict[type, Callable[[Any], None]] = {
            yaml.ScalarEvent: self._scalar,
            yaml.MappingStartEvent: self._open,
            yaml.SequenceStartEvent: self._open,
            yaml.MappingEndEvent: self._close,
            yaml.SequenceEndEvent: self._close,
            yaml.AliasEvent: self._alias,
            yaml.DocumentStartEvent: self._document,
        }

    def add(self, event: yaml.Event) -> None:
        handler = self.on_event.get(type(event))
        if handler is not None:
            handler(event)

    def _count(self, event: yaml.NodeEvent) -> int:
        """The event's line, once it is known to be neither anchored nor one value too many."""
        line: int = event.start_mark.line + 1
        if event.anchor is not None:
            raise _Refused(line, "anchor", name=event.anchor)
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise _Refused(line, "too_many_nodes", max=self.limits.max_nodes)
        return line

    def _scalar(self, event: yaml.ScalarEvent) -> None:
        line = self._count(event)
        self._place(_scalar(event, line), line, is_scalar=True)

    def _open(self, event: yaml.CollectionStartEvent) -> None:
        line = self._count(event)
        if len(self.stack) >= self.limits.max_depth:
            raise _Refused(line, "too_deep", max=self.limits.max_depth)
        value = _new_collection(event, line)
        self._place(value, line, is_scalar=False)
        self.stack.append(_Open(value))

    def _close(self, event: yaml.CollectionEndEvent) -> None:  # noqa: ARG002
        self.stack.pop()

    def _alias(self, event: yaml.AliasEvent) -> None:
        raise _Refused(event.start_mark.line + 1, "anchor", name=event.anchor)

    def _document(self, event: yaml.DocumentStartEvent) -> None:
        self.documents += 1
        if self.documents > 1:
            raise _Refused(event.start_mark.line + 1, "invalid",
                           problem="expected a single document, found another one")

    def _place(self, value: Any, line: int, is_scalar: bool) -> None:
        """Put a new value where it belongs: the root, a sequence's next item, a mapping's key or its value."""
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        container = top.container
        if isinstance(container, YSeq):
            container.append(value)
            container.lines.append(line)
        elif top.key is _MISSING:
            _check_key(container, value, line, is_scalar)
            top.key, top.key_line = value, line
        else:
            container[top.key] = value
            container.lines[top.key] = top.key_line
            top.key = _MISSING


def _check_key(mapping: YMap, key: Any, line: int, is_scalar: bool) -> None:
    if not is_scalar:
        raise _Refused(line, "invalid", problem="a mapping key must be a plain value")
    if key in mapping:
        raise _Refused(line, "invalid", problem=f"duplicate key {key!r} (first on line {mapping.lines[key]})")


def _build(text: str, limits: YAMLLimits) -> Any:
    """The single document of ``text`` as YMap / YSeq / scalars; raises _Refused or yaml.YAMLError."""
    parser = yaml.CSafeLoader(text) if yaml.__with_libyaml__ else yaml.SafeLoader(text)
    builder = _Builder(limits)
    try:
        while True:
            event = parser.get_event()
            if event is None or type(event) is yaml.StreamEndEvent:
                return builder.root
            builder.add(event)
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
