"""`rasad run` as a long-running process: the scheduler polls, alerts arrive, SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

from tests.conftest import DATA, RULES


def test_run_polls_on_schedule_and_stops_on_sigterm(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: sqlite+aiosqlite:///{tmp_path}/svc.db\nrules: {RULES}\n"
        f"feeds:\n  - name: Test Wire\n    url: {DATA / 'mixed.xml'}\n"
        "console: {language: en, watchlists: [sanctions]}\npoll: {tick: 0.2}\ndelivery: {tick: 0.2}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--config", str(config)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        seen = []
        deadline = time.monotonic() + 60
        while not any("Sanctions on Syria" in line for line in seen):
            assert time.monotonic() < deadline, "no alert within 60 s"
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = proc.stderr.read()
    assert "rasad running" in stderr and "stopping" in stderr
    assert "Traceback" not in stderr, stderr
    # the stop waited for the send in flight: a restart finds nothing new and re-sends nothing
    again = subprocess.run([sys.executable, "-m", "bot", "run", "--once", "--config", str(config)], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "1 feeds polled, 0 new items, 0 alerts sent"
    assert "interrupted mid-send" not in again.stderr
