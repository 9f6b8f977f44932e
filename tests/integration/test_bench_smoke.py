"""The benchmark harness runs end to end on tiny sizes (the figures themselves are not asserted)."""

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_bench_quick_run_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "matching", "pipeline", "poll_cycle",
                             "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
    names = [r["name"] for r in data["results"]]
    assert names == ["matching", "pipeline", "poll_cycle"]
    matching = data["results"][0]
    assert matching["rows_growing"][0]["us_per_item"] > 0 and "speedup_vs_regex" in matching["rows_growing"][0]
    # design B (the token index) finds exactly what the automaton finds, at every size of both catalogues
    assert all(row["token_same_mentions"] for mix in ("same", "growing") for row in matching[f"rows_{mix}"])
    assert matching["rows_same"][0]["mentions_per_item"] > 0
    assert data["results"][2]["failed"] == 0
    assert "aliases" in result.stdout and "wrote" in result.stdout


def test_bench_rules_measures_both_ways_of_matching(tmp_path):
    out = tmp_path / "rules.json"
    result = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "rules", "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rules = json.loads(out.read_text())["results"][0]
    assert rules["rows"][0]["matching"] == "inline"  # the shipped catalogue is below the threshold of `auto`
    for row in rules["rows"]:
        assert row["process_child_mb"] > 0 and row["inline_child_mb"] == 0
        assert row["process_mb"] < row["inline_mb"]  # the bot's process without the automaton
        for way in ("inline", "process"):
            assert row[f"{way}_match_us"] > 0
            assert row[f"{way}_reload_hit_s"] > 0 and row[f"{way}_reload_miss_s"] > 0
    assert "reload:" in result.stdout and "child" in result.stdout
