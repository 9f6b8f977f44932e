"""config.yaml + environment → Settings: every refusal as ``file:line: message``, secrets from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_DATABASE, ConfigError, load_settings


def refusal(path: Path | None, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={} if env is None else env)
    return info.value.messages


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # errors name the file relative to the working directory

    def write(text: str) -> Path:
        path = tmp_path / "config.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_no_file_is_the_defaults_and_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, env={})
    assert settings.database == DEFAULT_DATABASE and settings.base_dir == tmp_path and settings.warnings == []
    assert settings.telegram_token is None and not settings.http.enabled
    settings = load_settings(None, env={
        "DATABASE_URL": "postgresql+asyncpg://db/rasad", "HTTP_PORT": "9090", "TELEGRAM_API_URL": "http://tg",
        "SLACK_API_URL": "http://slack/", "TELEGRAM_BOT_TOKEN": "1:abc", "TELEGRAM_WEBHOOK_SECRET": "",
        "SLACK_BOT_TOKEN": "xoxb", "SLACK_APP_TOKEN": "xapp"})
    assert settings.database == "postgresql+asyncpg://db/rasad"
    assert settings.http.enabled and settings.http.port == 9090
    assert settings.telegram.api_url == "http://tg" and settings.slack.api_url == "http://slack/"
    assert settings.telegram_token == "1:abc" and settings.telegram_webhook_secret is None  # empty is unset
    assert settings.slack_bot_token == "xoxb" and settings.slack_app_token == "xapp"
    assert settings.slack_signing_secret is None


def test_a_file_is_read_with_paths_relative_to_its_folder(config):
    path = config("rules: my-rules/\nfeeds:\n  - {name: Wire, url: wire.xml}\n")
    settings = load_settings(path, env={"DATABASE_URL": "sqlite+aiosqlite:///x.db"})
    assert settings.rules_dir == path.parent / "my-rules"
    assert settings.feed_location("wire.xml") == str(path.parent / "wire.xml")
    assert settings.database == "sqlite+aiosqlite:///x.db"  # the environment wins over the file


def test_refusals_of_the_file_carry_its_line(config, tmp_path):
    assert refusal(tmp_path / "missing.yaml") == ["missing.yaml:0: cannot read config: No such file or directory"]
    assert refusal(config("- a\n- b\n")) == ["config.yaml:1: the config must be a mapping of keys"]
    assert refusal(config("poll:\n  interval: 1\nfeeds: 5\n")) == [
        "config.yaml:3: feeds: Input should be a valid list",
        "config.yaml:2: poll.interval: Input should be greater than or equal to 10",
    ]
    assert refusal(config("database: x\ntelegram_token: 1:abc\n")) == [
        "config.yaml:2: secrets never go in the config file: set TELEGRAM_TOKEN in the environment"]


def test_secrets_a_platform_mode_needs_together(config):
    assert refusal(None, {"SLACK_BOT_TOKEN": "xoxb"}) == [
        "config:0: SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET "
        "(HTTP mode) is"]
    assert load_settings(None, env={"SLACK_BOT_TOKEN": "xoxb", "SLACK_SIGNING_SECRET": "s"}).slack_bot_token == "xoxb"
    path = config("telegram:\n  mode: webhook\n")
    assert refusal(path, {"TELEGRAM_BOT_TOKEN": "1:abc"}) == [
        f"{path}:0: telegram.webhook_url is needed in webhook mode",
        f"{path}:0: TELEGRAM_WEBHOOK_SECRET must be set in the environment in webhook mode",
    ]
    assert load_settings(path, env={}).telegram.mode == "webhook"  # no token: Telegram is off, nothing is needed
