"""rasad check (issue 14): WebSub could apply but no http.public_url lets a hub reach the bot -> file:line warning."""

from __future__ import annotations

from bot.config import load_settings
from tests.conftest import RULES
from tests.fakes.cli import run

HUB_FEED = ('<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
            '<title>W</title><atom:link rel="hub" href="https://pubsubhubbub.appspot.com/"/></channel></rss>')


def test_websub_without_public_url_warns_with_lines(tmp_path):
    (tmp_path / "hub.xml").write_text(HUB_FEED, encoding="utf-8")
    (tmp_path / "plain.xml").write_text("<rss><channel><title>P</title></channel></rss>", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("poll:\n  interval: 300\n  push_interval: 1800\nfeeds:\n  - name: Plain\n    url: plain.xml\n"
                      "  - name: Hub\n    url: hub.xml\n", encoding="utf-8")
    warnings = load_settings(config).warnings
    assert any(w.endswith("config.yaml:3: warning: poll.push_interval is set but http.public_url is not: no "
                          "WebSub hub can push to this bot, every feed is polled") for w in warnings), warnings
    hub = [w for w in warnings if "declares a WebSub hub" in w]
    assert len(hub) == 1 and ":8: warning: feeds.1 (feed 'Hub')" in hub[0]
    # with a public URL: nothing to say
    config.write_text(config.read_text(encoding="utf-8") + "http:\n  public_url: https://bot.example.org\n",
                      encoding="utf-8")
    assert load_settings(config).warnings == []
    # rasad check prints the warnings and still exits 0 (warnings are not errors)
    config.write_text(f"rules: {RULES}\npoll:\n  websub_lease: 3600\nfeeds:\n  - name: Hub\n    url: hub.xml\n", encoding="utf-8")
    done = run(["check", "--config", str(config)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "config.yaml:3: warning: poll.websub_lease is set" in done.stdout
    assert "config.yaml:6: warning: feeds.0 (feed 'Hub') declares a WebSub hub" in done.stdout
