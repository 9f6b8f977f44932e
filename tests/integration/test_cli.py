"""The CLI contract: rasad check and rasad match, as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import DATA, RULES
from tests.fakes.cli import run


def test_check_passes_on_the_shipped_rules_and_config():
    result = run(["check"], cwd=RULES.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok:" in result.stderr


def test_check_lists_every_error_as_file_line_message(write_rules, tmp_path):
    rules = write_rules({
        "a.yaml": "entities:\n  - id: x\n    type: law\n    names: {en: X}\n  - id: x\n    type: law\n"
                  "    names: {en: Y}\n",
        "b.yaml": "watchlists:\n  - id: w\n    names: {en: W}\n    any: [nope]\n",
        "c.yaml": "entities: [\n",
    })
    result = run(["check", "--rules", str(rules)], cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert any(line.endswith("a.yaml:5: duplicate id 'x' (entity); first defined at rules/a.yaml:2") for line in lines)
    assert any("b.yaml:4: watchlist 'w': any: unknown entity id 'nope'" in line for line in lines)
    assert any("c.yaml:" in line and "invalid YAML" in line for line in lines)
    assert "Traceback" not in result.stdout + result.stderr


def test_check_reports_config_errors_with_lines(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"rules: {RULES}\nfeeds:\n  - name: A\n    url: a.xml\n    interval: 1\n  - url: b.xml\n"
                      "colsole: {}\n")
    result = run(["check", "--config", str(config)], cwd=tmp_path)
    assert result.returncode == 1
    out = result.stdout
    assert "config.yaml:5: feeds.0.interval:" in out
    assert "config.yaml:6: feeds.1: a feed given by url needs a name" in out
    assert "config.yaml:7: colsole: unknown key" in out


def test_match_json_text():
    text = "قال بيدرسون إن القرار رقم ٢٢٥٤ وبقانون قيصر"
    result = run(["match", "--rules", str(RULES), "--json", text], cwd=RULES.parent)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert set(obj) == {"id", "title", "entities", "watchlists"}
    assert obj["title"] == text
    ids = [e["id"] for e in obj["entities"]]
    assert ids == ["geir-pedersen", "unsc-2254", "caesar-act"]
    for e in obj["entities"]:
        assert text[e["start"]:e["end"]] == e["text"]
    assert {"syria-process", "resolution-2254", "sanctions"} <= set(obj["watchlists"])


def test_match_json_feed_one_object_per_item_and_nothing_else():
    result = run(["match", "--rules", str(RULES), "--feed", str(DATA / "mixed.xml"), "--json"], cwd=RULES.parent)
    assert result.returncode == 0, result.stderr
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in objs] == ["t-1", "t-2", "t-3"]
    assert objs[2]["entities"] == [] and objs[2]["watchlists"] == []
    assert "caesar-act" in [e["id"] for e in objs[0]["entities"]]


def test_match_human_output_and_usage_errors():
    result = run(["match", "--rules", str(RULES), "Resolution 2254"], cwd=RULES.parent)
    assert result.returncode == 0 and "unsc-2254 [0:15] 'Resolution 2254'" in result.stdout
    assert run(["match", "--rules", str(RULES)], cwd=RULES.parent).returncode == 2
    missing = run(["match", "--rules", str(RULES), "--feed", "/nonexistent.xml"], cwd=RULES.parent)
    assert missing.returncode == 1 and "no such file" in missing.stderr and missing.stdout == ""


def test_eval_prints_scores_misses_and_false_alarms():
    result = run(["eval", "--split", "test"], cwd=RULES.parent)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "entities     ar" in out and "watchlists   en" in out
    assert "misses (" in out and "false alarms (" in out and "hard negatives with a false alarm" in out


def test_eval_json_with_anercorp(corpora):
    result = run(["eval", "--split", "all", "--json", "--anercorp",
                  str(corpora / "anercorp" / "ANERCorp_CamelLab_test.txt")], cwd=RULES.parent)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["items"] >= 200 and data["entities"]["ar"]["f1"] >= 0.97
    aner = data["anercorp"]
    assert aner["gold"] > 2000 and 0 < aner["covered"] <= aner["gold"] and aner["recall"] >= 0.95
    assert aner["not_covered_top"]


def test_explain_reads_a_feed_and_prints_each_decision(tmp_path: Path) -> None:
    """``rasad explain --feed FILE``: every item, every candidate kept or dropped, with the evidence; --json too."""
    from tests.fakes.feeds import feed_xml

    feed = tmp_path / "wire.xml"
    feed.write_text(feed_xml(("a", "وقال الأسد في قصر الشعب إن دمشق لن تقبل", "x"),
                             ("b", "Zoo news", "ولادة شبلين لأنثى الأسد في حديقة الحيوانات")), encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    out = run(["explain", "--feed", str(feed), "--rules", str(root / "rules")], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "kept    bashar-al-assad" in out.stdout and "dropped bashar-al-assad" in out.stdout
    assert "refute cue" in out.stdout and "rules/entities/people.yaml" in out.stdout
    out = run(["explain", "--feed", str(feed), "--rules", str(root / "rules"), "--json"], cwd=tmp_path)
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"]
    assert [c["kept"] for c in lines[1]["candidates"] if c["id"] == "bashar-al-assad"] == [False]
    out = run(["explain", "--feed", str(tmp_path / "missing.xml"), "--rules", str(root / "rules")], cwd=tmp_path)
    assert out.returncode != 0 and "missing.xml" in out.stderr
