"""Operations: /healthz and /metrics on the HTTP port, JSON logs, secrets redacted, compose file and Dockerfile."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import httpx
import yaml

from bot.app import Application
from bot.config import FeedConfig, Settings
from bot.logs import JsonFormatter, RedactSecrets
from tests.conftest import DATA, ROOT, RULES
from tests.fakes.adapters import Recorder


async def test_healthz_and_metrics(tmp_path):
    settings = Settings(database=f"sqlite+aiosqlite:///{tmp_path}/m.db", rules=str(RULES), base_dir=tmp_path,
                        feeds=[FeedConfig(name="Wire", url=str(DATA / "mixed.xml"))],
                        http={"enabled": True, "host": "127.0.0.1", "port": 0})
    recorder = Recorder()
    service = Application(settings, adapters=[recorder])
    await service.start()
    try:
        await service.run_once()
        base = f"http://127.0.0.1:{service.http.port}"
        async with httpx.AsyncClient() as client:
            health = (await client.get(f"{base}/healthz")).json()
            metrics = (await client.get(f"{base}/metrics")).text
    finally:
        await service.stop()
    assert health["ok"] and health["database"] == "ok" and health["role"] == "all"
    assert health["last_successful_poll_age_s"] is not None and health["last_successful_poll_age_s"] < 60
    assert 'rasad_polls_total{outcome="ok"} 1' in metrics
    assert "rasad_items_total 3" in metrics and "rasad_matches_total 2" in metrics
    assert 'rasad_alerts_sent_total{platform="console"} 2' in metrics
    assert 'rasad_queue_depth{state="pending"} 0' in metrics
    assert "# TYPE rasad_fetch_errors_total counter" in metrics


def test_json_log_lines_carry_context_and_never_a_secret(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:SECRET-TOKEN-VALUE")
    record = logging.LogRecord("bot.service", logging.INFO, __file__, 1,
                               "calling https://api.telegram.org/bot%s/getMe", ("123456:SECRET-TOKEN-VALUE",), None)
    record.feed = 7
    RedactSecrets().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "calling https://api.telegram.org/bot[redacted]/getMe"
    assert line["feed"] == 7 and line["level"] == "info"


def test_run_once_with_json_logs(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"database: sqlite+aiosqlite:///{tmp_path}/j.db\nrules: {RULES}\n"
                      f"feeds:\n  - {{name: Wire, url: {DATA / 'mixed.xml'}}}\n")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["LOG_FORMAT"] = "json"
    result = subprocess.run([sys.executable, "-m", "bot", "run", "--once", "--config", str(config)], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)


def test_compose_runs_postgres_and_scalable_workers_with_secrets_from_env_file():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert set(compose["services"]) == {"db", "rasad"}
    rasad = compose["services"]["rasad"]
    assert rasad["env_file"] == ".env" and "container_name" not in rasad  # scalable with --scale
    assert rasad["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert rasad["depends_on"]["db"]["condition"] == "service_healthy"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile and "USER 10001" in dockerfile
    assert "TOKEN" not in (ROOT / ".env.example").read_text().split("TELEGRAM_BOT_TOKEN=")[1].split("\n")[0]
