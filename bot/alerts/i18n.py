"""Message catalogues: every key in every language (a test fails when one is missing)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "alert.header": "🔔 {watchlists}",
        "alert.header_entities": "🔔 Mentions: {entities}",
        "alert.source": "Source: {source}",
        "alert.source_dated": "Source: {source} · {date}",
        "alert.mentions": "Mentions: {entities}",
        "alert.more": "+{count} more",
        "alert.read": "Read: {link}",
        "list.separator": ", ",
    },
    "ar": {
        "alert.header": "🔔 {watchlists}",
        "alert.header_entities": "🔔 إشارات إلى: {entities}",
        "alert.source": "المصدر: {source}",
        "alert.source_dated": "المصدر: {source} · {date}",
        "alert.mentions": "الإشارات: {entities}",
        "alert.more": "و{count} أخرى",
        "alert.read": "الرابط: {link}",
        "list.separator": "، ",
    },
}

DEFAULT_LANGUAGE = "en"


def t(language: str, key: str, **values: object) -> str:
    catalogue = MESSAGES.get(language) or MESSAGES[DEFAULT_LANGUAGE]
    template = catalogue.get(key) or MESSAGES[DEFAULT_LANGUAGE][key]
    return template.format(**values)
