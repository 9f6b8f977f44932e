"""Feed documents for tests."""

from __future__ import annotations


def feed_xml(*items: tuple[str, str, str]) -> str:
    body = "".join(f"<item><title>{title}</title><guid>{guid}</guid><link>https://e.org/{guid}</link>"
                   f"<description>{summary}</description></item>" for guid, title, summary in items)
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>{body}</channel></rss>'
