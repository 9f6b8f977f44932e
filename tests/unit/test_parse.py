from bot.feeds.parse import ParseError, item_key, parse_feed, strip_html

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>T</title><language>ar</language>
<item><title>&lt;script&gt;alert(1)&lt;/script&gt;Caesar &amp; &lt;b&gt;Act&lt;/b&gt;</title>
<guid>g-1</guid><link>https://e.org/1</link>
<description>&lt;p&gt;First &lt;a href="x"&gt;para&lt;/a&gt;.&lt;/p&gt;&lt;p&gt;Second&amp;nbsp;one&lt;/p&gt;</description></item>
<item><title>No guid</title><link>https://e.org/2</link></item>
<item><title>Neither</title><description>just text</description></item>
<item><title>Dup</title><guid>g-1</guid></item>
<item><title></title><description></description></item>
</channel></rss>"""


def test_items_keys_and_html_stripped():
    parsed = parse_feed(RSS, feed_name="Feed")
    assert [i.key for i in parsed.items] == ["g-1", "https://e.org/2", item_key(None, None, "Neither", "just text")]
    first = parsed.items[0]
    assert first.title == "Caesar & Act"  # the script element and tags are gone, the text is kept
    assert first.summary == "First para. Second one"
    assert first.language == "ar"  # from <language>
    assert first.feed_name == "Feed"
    assert parsed.items[2].key.startswith("sha256:")


def test_item_key_is_stable():
    assert item_key(None, None, "a", "b") == item_key(None, None, "a", "b")
    assert item_key(" g ", "l", "a", "b") == "g"


def test_strip_html():
    assert strip_html("<div>a<br/>b</div><style>x{}</style>&lt;not a tag&gt;") == "a b <not a tag>"
    assert strip_html("plain   text") == "plain text"


def test_garbage_is_a_parse_error():
    for content in (b"", b"not a feed at all", b"<html><body>hello</body></html>", b"\x00\xff\xfe garbage"):
        try:
            parse_feed(content)
        except ParseError as exc:
            assert str(exc)
        else:
            raise AssertionError(f"{content!r} parsed as a feed")


def test_empty_feed_is_not_an_error():
    parsed = parse_feed(b'<?xml version="1.0"?><rss version="2.0"><channel><title>E</title></channel></rss>')
    assert parsed.items == [] and parsed.title == "E"


def test_recovered_feed_has_items_and_a_warning():
    raw = b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>A & B</title><guid>x</guid></item></channel></rss>'
    parsed = parse_feed(raw)
    assert [i.title for i in parsed.items] == ["A & B"]
    assert parsed.warning and "malformed" in parsed.warning


def test_language_detected_per_item_without_feed_language():
    raw = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
           "<item><title>مجلس الأمن يناقش سوريا</title><guid>1</guid></item>"
           "<item><title>Security Council on Syria</title><guid>2</guid></item></channel></rss>").encode()
    assert [i.language for i in parse_feed(raw).items] == ["ar", "en"]


def test_a_ttl_that_is_not_a_plain_number_is_ignored():
    from bot.feeds.parse import parse_feed

    for ttl in ("²", "٥", "1e3", "99999999999999999999", "-5", "90"):
        feed = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><ttl>{ttl}</ttl>'
                '<item><title>x</title><guid>g</guid></item></channel></rss>').encode()
        assert parse_feed(feed).ttl_minutes == (90 if ttl == "90" else None)
