"""End to end: a real `rasad run --once` process on a feed file, alerts in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DATA, RULES
from tests.fakes.cli import run


def write_config(tmp_path: Path, language: str, feeds: list[tuple[str, str]], db: str = "rasad.db",
                 matching: str = "auto") -> Path:
    lines = [f"database: sqlite+aiosqlite:///{tmp_path / db}", f"rules: {RULES}", f"matching: {matching}", "feeds:"]
    for name, url in feeds:
        lines += [f"  - name: {name}", f"    url: {url}"]
    lines += ["console:", f"  language: {language}", "  watchlists: all"]
    path = tmp_path / f"config-{language}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("language", "matching"), [("en", "auto"), ("ar", "auto"), ("en", "process")])
def test_run_once_prints_alerts_in_the_chat_language_then_a_summary(tmp_path, language, matching):
    config = write_config(tmp_path, language, [("Test Wire", str(DATA / "mixed.xml"))], db=f"{language}.db",
                          matching=matching)
    result = run(["run", "--once", "--config", str(config)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.strip().splitlines()[-1] == "1 feeds polled, 3 new items, 2 alerts sent"
    if language == "en":
        assert "Sanctions on Syria" in out and "Caesar Act" in out and "Source: Test Wire" in out
        assert "Resolution 2254" in out and "UN Security Council Resolution 2254" in out
    else:
        assert "العقوبات على سوريا" in out and "قانون قيصر" in out and "المصدر:" in out
        assert "قرار مجلس الأمن 2254" in out
    assert "Motor Show" not in out  # no entity, no alert
    assert "https://example.org/t-1" in out
    assert "Traceback" not in result.stderr
    assert ("matching process" in result.stderr) == (matching == "process")

    # a second run finds nothing new: an item alerts once, however often it is polled
    again = run(["run", "--once", "--config", str(config)], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "1 feeds polled, 0 new items, 0 alerts sent"


def test_bad_feeds_are_logged_and_do_not_stop_the_others(tmp_path):
    garbage = tmp_path / "garbage.xml"
    garbage.write_bytes(b"\x00\x01 this is not a feed <<<")
    config = write_config(tmp_path, "en", [
        ("Missing", str(tmp_path / "nope.xml")),
        ("Garbage", str(garbage)),
        ("Test Wire", str(DATA / "mixed.xml")),
        ("Unreachable", "http://127.0.0.1:9/feed.xml"),
    ])
    result = run(["run", "--once", "--config", str(config)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "4 feeds polled, 3 new items, 2 alerts sent, 3 feeds failed"
    assert "feed Missing" in result.stderr and "no such file" in result.stderr
    assert "feed Garbage" in result.stderr and "not a" in result.stderr
    assert "feed Unreachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_rules_refuse_to_start_with_file_line(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "x.yaml").write_text("entities:\n  - id: a\n    type: nope\n    names: {en: A}\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"rules: {rules}\ndatabase: sqlite+aiosqlite:///{tmp_path}/db.sqlite\n")
    result = run(["run", "--once", "--config", str(config)], cwd=tmp_path)
    assert result.returncode == 1
    assert "x.yaml:3: entity 'a': type:" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_database_url_from_the_environment_wins(tmp_path):
    config = write_config(tmp_path, "en", [("Test Wire", str(DATA / "mixed.xml"))], db="from-config.db")
    env_db = tmp_path / "from-env.db"
    result = run(["run", "--once", "--config", str(config)], cwd=tmp_path,
                 env={"DATABASE_URL": f"sqlite+aiosqlite:///{env_db}"})
    assert result.returncode == 0, result.stderr
    assert env_db.exists() and not (tmp_path / "from-config.db").exists()


def test_bundled_example_runs_from_the_repository(tmp_path):
    """The README's first command: the shipped config.yaml, example feed and rules."""
    root = RULES.parent
    result = run(["run", "--once"], cwd=root, env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"})
    assert result.returncode == 0, result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("1 feeds polled, ") and not summary.endswith(" 0 alerts sent")
