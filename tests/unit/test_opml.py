"""OPML (issue 14): hostile files refused before or while parsing, per-line import through /addfeed's checks,
export of every active feed; the command line as a real process."""

from __future__ import annotations

import pytest

from bot.errors import UnsafeURL
from bot.feeds.guard import check_public_url
from bot.feeds.opml import (
    MAX_OPML_BYTES,
    OPMLError,
    export_opml,
    import_outlines,
    parse_opml,
    report,
)
from tests.fakes.cli import run

GOOD = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Desk</title></head>
  <body>
    <outline text="News">
      <outline type="rss" text="UN News" title="UN News" xmlUrl="http://8.8.8.8/un.xml" language="en"/>
      <outline type="rss" text="Arabic" xmlURL="http://1.1.1.1/ar.xml" language="ar"/>
    </outline>
    <outline type="rss" text="Loopback" xmlUrl="http://127.0.0.1:9/feed.xml"/>
    <outline type="rss" text="Private" xmlUrl="http://10.1.2.3/feed.xml"/>
    <outline type="rss" text="FTP" xmlUrl="ftp://8.8.8.8/feed.xml"/>
    <outline type="rss" text="File" xmlUrl="file:///etc/passwd"/>
    <outline type="rss" text="Broken" xmlUrl="http://[::1"/>
    <outline type="rss" text="UN again" xmlUrl="http://8.8.8.8/un.xml"/>
  </body>
</opml>
"""


def test_outlines_with_their_lines_titles_and_languages():
    outlines = parse_opml(GOOD)
    assert [(o.line, o.url, o.title, o.language) for o in outlines[:2]] == [
        (6, "http://8.8.8.8/un.xml", "UN News", "en"), (7, "http://1.1.1.1/ar.xml", "Arabic", "ar")]
    assert len(outlines) == 8  # the folder outline is not a feed


@pytest.mark.parametrize("data, words", [
    (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
     b'<opml><body><outline xmlUrl="http://8.8.8.8/&b;"/></body></opml>', "DTD"),  # billion laughs
    (b'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "http://127.0.0.1/x.dtd"><opml/>', "DTD"),
    (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     b'<opml><body><outline xmlUrl="&x;"/></body></opml>', "DTD"),  # external entity
    (b'<opml><body><outline xmlUrl="http://8.8.8.8/&x;"/></body></opml>', "undefined entity"),
    (b"<html><body/></html>", "not <opml>"),
    (b"<opml><body><outline text='folder only'/></body></opml>", "no feed outline"),
    (b"<opml><body>" + b"<outline>" * 40 + b"</outline>" * 40 + b"</body></opml>", "deeper"),
    (b"<opml><body><outline xmlUrl='http://8.8.8.8/'></body></opml>", "mismatched tag"),
    (b"not xml at all", "syntax error"),
    (b"<opml>" + b" " * (MAX_OPML_BYTES + 1) + b"</opml>", "larger than"),
])
def test_hostile_or_broken_files_are_refused(data, words):
    with pytest.raises(OPMLError) as info:
        parse_opml(data)
    assert words in str(info.value)


def test_too_many_outlines_refused():
    many = b"<opml><body>" + b"<outline xmlUrl='http://8.8.8.8/f'/>\n" * 1001 + b"</body></opml>"
    with pytest.raises(OPMLError, match="more than 1000"):
        parse_opml(many)


async def test_import_reports_each_line_and_guards_addresses(store):
    lines = await import_outlines(store.feeds, parse_opml(GOOD), allow_private=False)
    got = [(line.line, line.status, line.reason) for line in lines]
    assert got == [(6, "added", ""), (7, "added", ""), (9, "refused", "private"), (10, "refused", "private"),
                   (11, "refused", "not_http"), (12, "refused", "not_http"), (13, "refused", "bad_url"),
                   (14, "exists", "")]
    assert lines[-1].feed_id == lines[0].feed_id
    feeds = {f.url: f for f in await store.feeds.all()}
    assert set(feeds) == {"http://8.8.8.8/un.xml", "http://1.1.1.1/ar.xml"}
    assert feeds["http://1.1.1.1/ar.xml"].language == "ar" and feeds["http://1.1.1.1/ar.xml"].source == "chat"
    # a second import: everything already there, nothing added twice
    again = await import_outlines(store.feeds, parse_opml(GOOD), allow_private=False)
    assert [line.status for line in again][:2] == ["exists", "exists"]
    en, ar = report(lines, "en"), report(lines, "ar")
    assert "line 9: refused (private address: 127.0.0.1 resolves to 127.0.0.1" in "\n".join(en)
    assert en[-1] == "2 added, 1 already there, 5 refused."
    assert ar[0] == "استيراد OPML:" and "عنوان خاص" in "\n".join(ar) and "السطر 6: أضيف" in ar[1]


async def test_allow_private_still_refuses_what_is_not_http(store):
    lines = await import_outlines(store.feeds, parse_opml(GOOD), allow_private=True)
    assert [line.status for line in lines] == ["added", "added", "added", "added", "refused", "refused",
                                               "refused", "exists"]


async def test_unresolvable_host_is_refused_like_addfeed(store):
    async def no_dns(url: str) -> None:
        await check_public_url(url)  # the real guard first: an IP literal passes without DNS
        raise UnsafeURL("cannot resolve feeds.example: Name or service not known")

    opml = b"<opml><body><outline text='X' xmlUrl='http://8.8.8.8/x.xml'/></body></opml>"
    lines = await import_outlines(store.feeds, parse_opml(opml), allow_private=False, check=no_dns)
    assert lines[0].status == "refused" and lines[0].reason == "unresolved"
    assert "cannot resolve the host" in report(lines, "en")[1]


async def test_export_round_trip(store):
    await store.feeds.sync_config([("http://8.8.8.8/a.xml", "Agency <A> & \"co\"", "ar", None),
                                   ("http://8.8.4.4/b.xml", "B\x01", None, None)])
    gone, _ = await store.feeds.add("http://1.1.1.1/gone.xml", "Gone")
    await store.feeds.deactivate(gone)
    data = export_opml(await store.feeds.all())
    outlines = parse_opml(data)
    assert [(o.url, o.title, o.language) for o in outlines] == [
        ("http://8.8.8.8/a.xml", 'Agency <A> & "co"', "ar"), ("http://8.8.4.4/b.xml", "B", None)]


def test_cli_import_and_export(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"database: sqlite+aiosqlite:///{tmp_path}/cli.db\nfeeds: []\n", encoding="utf-8")
    opml = tmp_path / "desk.opml"
    opml.write_bytes(GOOD)
    first = run(["feeds", "--config", str(config), "import", str(opml)], tmp_path)
    assert first.returncode == 1, first.stderr  # something was refused
    assert f"{opml}:6: added #1 UN News <http://8.8.8.8/un.xml>" in first.stdout
    assert f"{opml}:9: refused (private address:" in first.stdout
    assert f"{opml}:11: refused (not an http(s) URL) ftp://8.8.8.8/feed.xml" in first.stdout
    assert f"{opml}:14: already there #1" in first.stdout
    clean = tmp_path / "clean.opml"
    clean.write_bytes(b"<opml><body><outline text='UN' xmlUrl='http://8.8.8.8/un.xml'/></body></opml>")
    second = run(["feeds", "--config", str(config), "import", str(clean)], tmp_path)
    assert second.returncode == 0 and ":1: already there #1" in second.stdout
    out = tmp_path / "out.opml"
    exported = run(["feeds", "--config", str(config), "export", str(out)], tmp_path)
    assert exported.returncode == 0 and "wrote 2 feeds" in exported.stdout
    assert [o.url for o in parse_opml(out.read_bytes())] == ["http://8.8.8.8/un.xml", "http://1.1.1.1/ar.xml"]
    hostile = tmp_path / "evil.opml"
    hostile.write_bytes(b'<!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]><opml/>')
    refused = run(["feeds", "--config", str(config), "import", str(hostile)], tmp_path)
    assert refused.returncode == 1 and "DTD" in refused.stderr
