"""A local server that plays each case ``rasad feeds check`` must classify (and the corpus the bench reports on)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from aiohttp import web

from tests.fakes.feed_server import FeedServer, status_handler


def rss(*ages_hours: float, ttl: int | None = None, hub: str | None = None, encoding: str = "utf-8",
        title: str = "Wire") -> str:
    now = datetime.now(UTC)
    items = "".join(f"<item><title>item {i}</title><guid>g{i}</guid><link>https://e.org/{i}</link>"
                    f"<pubDate>{format_datetime(now - timedelta(hours=age))}</pubDate></item>"
                    for i, age in enumerate(ages_hours))
    extra = f"<ttl>{ttl}</ttl>" if ttl else ""
    extra += f'<atom:link rel="hub" href="{hub}"/>' if hub else ""
    return (f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0" '
            f'xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>{title}</title>{extra}{items}</channel></rss>')


def _body(text: str | bytes, headers: dict[str, str] | None = None, content_type: str = "application/rss+xml"):
    async def handler(request: web.Request) -> web.Response:
        body = text.encode("utf-8") if isinstance(text, str) else text
        return web.Response(body=body, headers=headers or {}, content_type=content_type)
    return handler


def _redirect(status: int, to: str):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": to})
    return handler


# case → (path, expected verdict)
CASES: dict[str, tuple[str, str]] = {
    "fresh": ("/fresh.xml", "ok"),
    "ttl_and_cache": ("/ttl.xml", "ok"),
    "hub_in_feed": ("/hub.xml", "ok"),
    "hub_in_link_header": ("/linkhub.xml", "ok"),
    "temporary_redirect": ("/temp", "ok"),
    "stale": ("/stale.xml", "stale"),
    "undated": ("/undated.xml", "stale"),
    "permanent_redirect": ("/old", "moved"),
    "permanent_308": ("/old308", "moved"),
    "not_found": ("/gone.xml", "broken"),
    "server_error": ("/error.xml", "broken"),
    "html_page": ("/page.html", "broken"),
    "bad_encoding": ("/latin.xml", "ok"),
    "redirect_loop": ("/loop", "broken"),
}


async def start_cases() -> FeedServer:
    server = await FeedServer().start()
    server.route("/fresh.xml", _body(rss(1, 30)))
    server.route("/ttl.xml", _body(rss(2, ttl=30), {"Cache-Control": "max-age=600"}))
    server.route("/hub.xml", _body(rss(3, hub="https://hub.example.org/")))
    server.route("/linkhub.xml", _body(rss(3), {"Link": '<https://hub2.example.org/>; rel="hub", '
                                                        '<https://e.org/self>; rel="self"'}))
    server.route("/temp", _redirect(302, "/fresh.xml"))
    server.route("/stale.xml", _body(rss(24 * 40, 24 * 90)))
    server.route("/undated.xml", _body('<?xml version="1.0"?><rss version="2.0"><channel><title>U</title>'
                                       "<item><title>x</title><guid>1</guid></item></channel></rss>"))
    server.route("/old", _redirect(301, "/fresh.xml"))
    server.route("/old308", _redirect(308, "/fresh.xml"))
    server.route("/gone.xml", status_handler(404))
    server.route("/error.xml", status_handler(503))
    server.route("/page.html", _body("<html><head><title>Home</title></head><body>news</body></html>",
                                     content_type="text/html"))
    server.route("/latin.xml", _body(rss(1, title="Caf\u00e9").replace('encoding="utf-8"', 'encoding="utf-8"')
                                     .encode("utf-8").replace("\u00e9".encode(), b"\xe9")))
    server.route("/loop", _redirect(302, "/loop"))
    return server
