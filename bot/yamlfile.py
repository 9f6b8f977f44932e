"""YAML with line numbers (ruamel round-trip), and pydantic errors turned into ``file:line: message``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def key_line(node: Any, key: Any, default: int) -> int:
    if isinstance(node, CommentedMap):
        try:
            return node.lc.key(key)[0] + 1
        except (KeyError, TypeError, AttributeError):
            pass
    return default


def item_line(seq: Any, index: int, default: int) -> int:
    if isinstance(seq, CommentedSeq):
        try:
            return seq.lc.item(index)[0] + 1
        except (KeyError, TypeError, AttributeError, IndexError):
            pass
    return default


def plain(node: Any) -> Any:
    """ruamel's commented containers → plain dicts and lists (pydantic wants plain data)."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node


def parse_yaml(text: str) -> tuple[Any, tuple[int, str] | None]:
    """(document, None) or (None, (line, message))."""
    try:
        return YAML(typ="rt").load(text), None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        return None, (line, f"invalid YAML: {exc.problem or exc.context or 'syntax error'}")
    except YAMLError as exc:
        return None, (1, f"invalid YAML: {exc}")


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
            if isinstance(current, CommentedMap) and part in current:
                err_line = key_line(current, part, err_line)
                current = current[part]
            elif isinstance(current, CommentedSeq) and isinstance(part, int) and part < len(current):
                err_line = item_line(current, part, err_line)
                current = current[part]
            else:
                break
        field = ".".join(str(p) for p in loc)
        prefix = f"{where}: " if where else ""
        out.append((err_line, f"{prefix}{field}: {msg}" if field else f"{prefix}{msg}"))
    return out
