"""Hostile feed text (what a feed may write, hoping to write into the chat) and a feed that carries it.

Shared by the unit tests of the renderers and the integration tests through the fake Slack and Bot APIs.
"""

from __future__ import annotations

import html
from xml.sax.saxutils import escape

RLO = "\u202e"  # right-to-left override: would stay open over the bot's own text
LRE, PDF, LRI, RLI, FSI, PDI = "\u202a", "\u202c", "\u2066", "\u2067", "\u2068", "\u2069"
LRM, RLM, ALM = "\u200e", "\u200f", "\u061c"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"

MENTIONS = ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<!subteam^S123>", "<#C123>")
DISGUISED_LINK = "<https://evil.example|click>"
FORMATTING = "*bold* _x_ ~x~ `code`"
MARKUP = "</a><b>&amp;"

HOSTILE_TITLE = f"Caesar Act {' '.join(MENTIONS)} {DISGUISED_LINK} {FORMATTING} {MARKUP} {RLO}reversed"
HOSTILE_SUMMARY = f"{RLO}The Caesar Act stays {MENTIONS[0]} *now* &lt;b&gt; {LRE}embedded :white_check_mark::flag-sy:"
HOSTILE_SOURCE = f"Wire {MENTIONS[1]} *bold* </i>{RLO} :skull:"
LONG_LINK = "https://e.org/" + "a" * 5990  # 6,004 characters
HOSTILE_LINK = "https://e.org/x?a=1&b=<2>|3\"4"  # every character that could end a link early
HUGE_TITLE = "Caesar Act & <b> " * 6000  # about 100 KB


def feed_item(guid: str, title: str, summary: str = "", link: str | None = None) -> str:
    """An RSS <item> whose title and summary are ``title`` and ``summary`` once parsed (an entity such as `&amp;`
    in them is decoded by the parser): feeds carry HTML there, which the parser strips, so the text is
    HTML-escaped, then XML-escaped — what a feed must do to get `<!channel>` through to an alert."""
    link = f"https://e.org/{guid}" if link is None else link
    return (f"<item><title>{escape(html.escape(title))}</title><guid>{escape(guid)}</guid>"
            f"<link>{escape(link)}</link><description>{escape(html.escape(summary))}</description></item>")


def feed(*items: str, title: str = "Wire") -> str:
    """An RSS document of the given ``feed_item``s."""
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
            f"{''.join(items)}</channel></rss>")
