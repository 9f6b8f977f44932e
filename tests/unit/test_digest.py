from datetime import datetime

from bot.delivery.digest import (
    Digest,
    DigestEntry,
    in_quiet_hours,
    next_digest_at,
    parse_hhmm,
    quiet_ends_at,
    render_digest,
)


def test_hourly_and_daily_digest_times_in_the_chats_timezone():
    now = datetime(2026, 11, 29, 5, 30)  # UTC
    assert next_digest_at("hourly", None, "UTC", now) == datetime(2026, 11, 29, 6, 0)
    # 08:00 in Damascus (UTC+3) is 05:00 UTC: already past today, so tomorrow
    assert next_digest_at("daily", "08:00", "Asia/Damascus", now) == datetime(2026, 11, 30, 5, 0)
    assert next_digest_at("daily", "09:15", "Asia/Damascus", now) == datetime(2026, 11, 29, 6, 15)
    assert next_digest_at("daily", "09:15", "Not/AZone", now) == datetime(2026, 11, 29, 9, 15)  # falls back to UTC
    assert next_digest_at("immediate", None, "UTC", now) is None


def test_quiet_hours_wrap_around_midnight():
    assert in_quiet_hours("22:00", "07:00", "UTC", datetime(2026, 1, 1, 23, 30))
    assert in_quiet_hours("22:00", "07:00", "UTC", datetime(2026, 1, 1, 6, 59))
    assert not in_quiet_hours("22:00", "07:00", "UTC", datetime(2026, 1, 1, 7, 0))
    assert in_quiet_hours("13:00", "15:00", "Asia/Damascus", datetime(2026, 1, 1, 10, 30))  # 13:30 local
    assert not in_quiet_hours(None, "07:00", "UTC", datetime(2026, 1, 1, 3, 0))
    assert quiet_ends_at("07:00", "UTC", datetime(2026, 1, 1, 23, 0)) == datetime(2026, 1, 2, 7, 0)


def test_parse_hhmm():
    assert parse_hhmm("8:05").hour == 8 and parse_hhmm("23:59").minute == 59
    assert parse_hhmm("24:00") is None and parse_hhmm("noon") is None


def test_digest_groups_and_splits_within_the_limit():
    digest = Digest("en", {"Sanctions on Syria": [DigestEntry(f"Headline {i} " + "x" * 150, "Wire", f"https://e/{i}")
                                                  for i in range(60)],
                           "Yemen track": [DigestEntry("Grundberg briefs", "UN", "https://e/y")]})
    parts = render_digest(digest, 4000, lambda e: f"• {e.headline} ({e.source}) {e.link}")
    assert len(parts) > 1 and all(len(p) <= 4000 for p in parts)
    text = "\n".join(parts)
    assert all(f"Headline {i} " in text for i in range(60)) and "Yemen track" in text
    assert parts[0].startswith("📰 Digest: 61 alerts")
