"""Telegram's HTML parse mode, checked the way the Bot API checks it (a little stricter where Telegram is lenient).

``parse_html(text)`` returns the text a user would see and the entities, or raises ``HtmlError`` with the
description the Bot API answers with a 400 (``Bad Request: can't parse entities: ...``). Used by the fake Bot API
(sendMessage, editMessageText, captions) and by unit tests that assert rendered HTML is balanced.

Rules (https://core.telegram.org/bots/api#html-style): only the tags b, strong, i, em, u, ins, s, strike, del,
span class="tg-spoiler", tg-spoiler, a href, tg-emoji, code, pre, blockquote; every tag closed in order; `<`, `>`
and `&` that are not part of a tag or an entity must be escaped; the only named entities are &lt; &gt; &amp; and
&quot; (numeric ones are fine). Stricter than Telegram: a bare `&` or `>` is refused (Telegram may let one pass),
and a link inside a link or anything inside code/pre is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "tg-emoji", "code",
        "pre", "blockquote"}
MAX_TEXT = 4096
MAX_CAPTION = 1024

_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_END_TAG = re.compile(r"</([a-zA-Z][a-zA-Z0-9-]*)\s*>")
_START_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z][a-zA-Z0-9-]*(?:\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'|"
                        r"[^\s\"'<>=`]+))?)*)\s*/?>")
_ATTRIBUTE = re.compile(r"([a-zA-Z][a-zA-Z0-9-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'<>=`]+)))?")


class HtmlError(ValueError):
    """What the Bot API answers (400) for text it cannot parse; ``str()`` is its description."""


@dataclass
class Entity:
    type: str
    offset: int  # in UTF-16 code units, as Telegram counts
    length: int
    url: str | None = None


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _offset(text: str, i: int) -> int:
    return len(text[:i].encode("utf-8", "surrogatepass"))


def _decode(text: str, start: int, end: int, where: str) -> str:
    """Entity-decode text[start:end] (an attribute value or a run of text)."""
    out, i = [], start
    while i < end:
        c = text[i]
        if c == "&":
            m = _ENTITY.match(text, i, end)
            if m is None:
                raise HtmlError(f"Bad Request: can't parse entities: Unsupported HTML entity or unescaped \"&\" "
                                f"{where} at byte offset {_offset(text, i)}")
            name, dec, hexa = m.groups()
            code = int(dec) if dec else int(hexa, 16) if hexa else None
            if code is not None and (not 0 < code <= 0x10FFFF or 0xD800 <= code < 0xE000):
                raise HtmlError(f"Bad Request: can't parse entities: Invalid character reference at byte offset "
                                f"{_offset(text, i)}")
            out.append(_NAMED[name] if name else chr(code))
            i = m.end()
        elif c == "<" or c == ">":
            raise HtmlError(f"Bad Request: can't parse entities: Unescaped \"{c}\" {where} at byte offset "
                            f"{_offset(text, i)}")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """The visible text and the entities of Telegram HTML, or HtmlError."""
    plain: list[str] = []
    length = 0  # UTF-16 units of the visible text so far
    stack: list[tuple[str, int, dict[str, str]]] = []  # (tag, start offset, attributes)
    entities: list[Entity] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "<":
            if text.startswith("</", i):
                m = _END_TAG.match(text, i)
                if m is None:
                    raise HtmlError(f"Bad Request: can't parse entities: Unclosed end tag at byte offset "
                                    f"{_offset(text, i)}")
                name = m.group(1).lower()
                if not stack:
                    raise HtmlError(f"Bad Request: can't parse entities: Unexpected end tag at byte offset "
                                    f"{_offset(text, i)}")
                if stack[-1][0] != name:
                    raise HtmlError(f"Bad Request: can't parse entities: Unmatched end tag at byte offset "
                                    f"{_offset(text, i)}, expected \"</{stack[-1][0]}>\", found \"</{name}>\"")
                tag, start, attributes = stack.pop()
                entities.append(Entity(tag, start, length - start, attributes.get("href")))
                i = m.end()
                continue
            m = _START_TAG.match(text, i)
            if m is None:
                raise HtmlError(f"Bad Request: can't parse entities: Unclosed start tag or unescaped \"<\" at byte "
                                f"offset {_offset(text, i)}")
            name = m.group(1).lower()
            if name not in TAGS:
                raise HtmlError(f"Bad Request: can't parse entities: Unsupported start tag \"{name}\" at byte offset "
                                f"{_offset(text, i)}")
            attributes = {}
            for a in _ATTRIBUTE.finditer(m.group(2)):
                value = next((v for v in a.groups()[1:] if v is not None), "")
                attributes[a.group(1).lower()] = _decode(value, 0, len(value), "in an attribute")
            if name == "a" and not attributes.get("href"):
                raise HtmlError(f"Bad Request: can't parse entities: Tag \"a\" must have attribute \"href\" at byte "
                                f"offset {_offset(text, i)}")
            if name == "span" and attributes.get("class") != "tg-spoiler":
                raise HtmlError(f"Bad Request: can't parse entities: Tag \"span\" must have class \"tg-spoiler\" at "
                                f"byte offset {_offset(text, i)}")
            open_tags = [s[0] for s in stack]
            if (name == "a" and "a" in open_tags) or (
                    any(t in ("code", "pre") for t in open_tags) and not (name == "code" and open_tags[-1] == "pre")):
                raise HtmlError(f"Bad Request: can't parse entities: Tag \"{name}\" can't be inside "
                                f"\"{open_tags[-1]}\" at byte offset {_offset(text, i)}")
            stack.append((name, length, attributes))
            i = m.end()
            continue
        j = i
        while j < n and text[j] != "<":
            j += 1
        run = _decode(text, i, j, "in text")
        plain.append(run)
        length += utf16_len(run)
        i = j
    if stack:
        raise HtmlError(f"Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
                        f"\"{stack[-1][0]}\"")
    return "".join(plain), entities


def check_message(text: str | None, parse_mode: str | None, caption: bool = False) -> str | None:
    """The Bot API's 400 description for this text (or caption), or None when Telegram would take it."""
    limit = MAX_CAPTION if caption else MAX_TEXT
    if text is None or text == "":
        return None if caption else "Bad Request: message text is empty"
    if (parse_mode or "").upper() == "HTML":
        try:
            visible, _ = parse_html(text)
        except HtmlError as exc:
            return str(exc)
    else:
        visible = text
    if not caption and not visible.strip():
        return "Bad Request: message text is empty"
    if utf16_len(visible) > limit:
        return "Bad Request: message caption is too long" if caption else "Bad Request: message is too long"
    return None


def assert_valid_html(text: str, limit: int = MAX_TEXT) -> str:
    """For tests: the text parses as Telegram HTML, every tag balanced, within ``limit``; returns what shows."""
    visible, _ = parse_html(text)
    assert utf16_len(visible) <= limit, utf16_len(visible)
    return visible
