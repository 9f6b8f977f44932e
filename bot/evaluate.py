"""Measured matching quality: a labelled evaluation set, and recall on ANERcorp's gold mentions."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.errors import EvalSetError
from bot.extract.matcher import Matcher
from bot.rules.engine import firing_watchlists
from bot.text.normalize import normalize_key
from bot.yamlfile import display_path, item_line, plain, read_yaml_file, validation_errors


class EvalItem(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str
    split: str = Field(pattern=r"^(dev|test)$")
    lang: str = Field(pattern=r"^(ar|en)$")
    text: str = Field(min_length=1)
    entities: list[str] = Field(default_factory=list)
    hard_negative: bool = False
    kind: str | None = Field(default=None, alias="class", pattern=r"^(trap|true-context|form)$")
    note: str | None = None


def load_eval_set(path: Path, known_entities: set[str] | None = None) -> list[EvalItem]:
    """Read the evaluation set; every problem is reported as file:line: message."""
    file = display_path(path)
    doc, problem = read_yaml_file(path)
    if problem is not None:
        raise EvalSetError([f"{file}:{problem[0]}: {problem[1]}"])
    seq = (doc or {}).get("items") if isinstance(doc, dict) else None
    if not isinstance(seq, list):
        raise EvalSetError([f"{file}:1: expected a mapping with an 'items:' list"])
    items, errors, seen = [], [], set()
    for i, node in enumerate(seq):
        line = item_line(seq, i, 1)
        try:
            item = EvalItem.model_validate(plain(node))
        except ValidationError as exc:
            errors += [f"{file}:{ln}: {msg}" for ln, msg in validation_errors(exc, node, line, f"item {i + 1}")]
            continue
        if item.id in seen:
            errors.append(f"{file}:{line}: duplicate item id {item.id!r}")
        seen.add(item.id)
        for ent in item.entities:
            if known_entities is not None and ent not in known_entities:
                errors.append(f"{file}:{line}: item {item.id!r}: unknown entity id {ent!r}")
        items.append(item)
    if errors:
        raise EvalSetError(errors)
    return items


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: set[str], found: set[str]) -> None:
        self.tp += len(gold & found)
        self.fp += len(found - gold)
        self.fn += len(gold - found)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass
class EvalReport:
    entities: dict[str, Score] = field(default_factory=dict)  # "all", "ar", "en"
    watchlists: dict[str, Score] = field(default_factory=dict)
    items: int = 0
    hard_negatives: int = 0
    hard_negative_false_alarms: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)
    classes: dict[str, Score] = field(default_factory=dict)  # class (trap, true-context, form) → entity score
    class_items: dict[str, list[int]] = field(default_factory=dict)  # class → [items fully right, items]


def evaluate(matcher: Matcher, items: list[EvalItem]) -> EvalReport:
    report = EvalReport()
    for key in ("all", "ar", "en"):
        report.entities[key] = Score()
        report.watchlists[key] = Score()
    watchlists = list(matcher.watchlists.values())
    for item in items:
        report.items += 1
        match = matcher.match_text(item.text)
        found = set(match.entity_ids)
        gold = set(item.entities)
        gold_wl = set(firing_watchlists(watchlists, gold))
        found_wl = set(match.watchlists)
        for key in ("all", item.lang):
            report.entities[key].add(gold, found)
            report.watchlists[key].add(gold_wl, found_wl)
        for ent in sorted(gold - found):
            report.misses.append(f"{item.id} [{item.lang}] missed {ent}: {item.text[:90]}")
        for ent in sorted(found - gold):
            texts = ", ".join(repr(m.text) for m in match.mentions if m.entity_id == ent)
            report.false_alarms.append(f"{item.id} [{item.lang}] false alarm {ent} ({texts}): {item.text[:90]}")
        if item.kind is not None:
            report.classes.setdefault(item.kind, Score()).add(gold, found)
            counts = report.class_items.setdefault(item.kind, [0, 0])
            counts[0] += found == gold
            counts[1] += 1
        if item.hard_negative:
            report.hard_negatives += 1
            if found - gold:
                report.hard_negative_false_alarms.append(item.id)
    return report


def format_report(report: EvalReport, title: str) -> str:
    lines = [f"{title}: {report.items} items ({report.hard_negatives} hard negatives)", "",
             f"{'':12} {'lang':4} {'P':>7} {'R':>7} {'F1':>7} {'tp':>5} {'fp':>5} {'fn':>5}"]
    for label, scores in (("entities", report.entities), ("watchlists", report.watchlists)):
        for key in ("all", "ar", "en"):
            s = scores[key]
            lines.append(f"{label:12} {key:4} {s.precision:7.3f} {s.recall:7.3f} {s.f1:7.3f} {s.tp:5} {s.fp:5} {s.fn:5}")
    lines.append("")
    for kind, s in sorted(report.classes.items()):
        right, total = report.class_items[kind]
        lines.append(f"class {kind:12} {right}/{total} items right ({right / total:.1%})  entity P {s.precision:.3f}"
                     f"  R {s.recall:.3f}  F1 {s.f1:.3f}")
    if report.classes:
        lines.append("")
    lines.append(f"hard negatives with a false alarm: {len(report.hard_negative_false_alarms)}"
                 + (f" ({', '.join(report.hard_negative_false_alarms)})" if report.hard_negative_false_alarms else ""))
    lines.append(f"misses ({len(report.misses)}):")
    lines += [f"  {m}" for m in report.misses] or ["  none"]
    lines.append(f"false alarms ({len(report.false_alarms)}):")
    lines += [f"  {f}" for f in report.false_alarms] or ["  none"]
    return "\n".join(lines)


# ---------------------------------------------------------------- ANERcorp

@dataclass
class AnerMention:
    tag: str
    text: str
    start: int
    end: int


def read_anercorp(path: Path) -> list[tuple[str, list[AnerMention]]]:
    """Sentences (tokens joined by spaces) with their gold PERS/ORG/LOC mentions and spans."""
    sentences: list[tuple[str, list[AnerMention]]] = []
    tokens: list[str] = []
    mentions: list[AnerMention] = []
    current: list | None = None  # [tag, start, end]
    offset = 0

    def flush():
        nonlocal tokens, mentions, current, offset
        if current is not None:
            mentions.append(AnerMention(current[0], "", current[1], current[2]))
        text = " ".join(tokens)
        for m in mentions:
            m.text = text[m.start:m.end]
        if tokens:
            sentences.append((text, mentions))
        tokens, mentions, current, offset = [], [], None, 0

    for raw in path.read_text(encoding="utf-8").splitlines():
        parts = raw.split()
        if not parts:
            flush()
            continue
        if len(parts) != 2:
            continue
        token, tag = parts
        start = offset + (1 if tokens else 0)
        tokens.append(token)
        offset = start + len(token)
        kind = tag[2:] if len(tag) > 2 else ""
        if tag.startswith("B-") or (tag.startswith("I-") and (current is None or current[0] != kind)):
            if current is not None:
                mentions.append(AnerMention(current[0], "", current[1], current[2]))
            current = [kind, start, offset] if kind in ("PERS", "ORG", "LOC") else None
        elif tag.startswith("I-") and current is not None:
            current[2] = offset
        else:
            if current is not None:
                mentions.append(AnerMention(current[0], "", current[1], current[2]))
            current = None
    flush()
    return sentences


@dataclass
class AnerReport:
    gold: int = 0
    covered: int = 0
    found: int = 0
    by_tag: dict[str, list[int]] = field(default_factory=dict)  # tag → [gold, covered, found]
    missed_in_context: Counter = field(default_factory=Counter)
    not_covered: Counter = field(default_factory=Counter)


def evaluate_anercorp(matcher: Matcher, path: Path) -> AnerReport:
    """Recall of gold mentions whose surface form the catalogue covers (the mention alone matches)."""
    report = AnerReport()
    for text, gold in read_anercorp(path):
        found_spans = [(m.start, m.end) for m in matcher.match_text(text).mentions]
        for mention in gold:
            counts = report.by_tag.setdefault(mention.tag, [0, 0, 0])
            report.gold += 1
            counts[0] += 1
            alone = matcher.match_text(mention.text).mentions
            if not any(m.end - m.start >= len(mention.text) * 0.5 for m in alone):
                report.not_covered[normalize_key(mention.text)] += 1
                continue
            report.covered += 1
            counts[1] += 1
            if any(s < mention.end and mention.start < e for s, e in found_spans):
                report.found += 1
                counts[2] += 1
            else:
                report.missed_in_context[mention.text] += 1
    return report


def format_anercorp(report: AnerReport, top: int = 30) -> str:
    recall = report.found / report.covered if report.covered else 0.0
    lines = [f"ANERcorp: {report.gold} gold PERS/ORG/LOC mentions, {report.covered} with a surface form the "
             f"catalogue covers ({report.covered / max(report.gold, 1):.1%})",
             f"recall of covered mentions in context: {report.found}/{report.covered} = {recall:.3f}"]
    for tag, (g, c, f) in sorted(report.by_tag.items()):
        lines.append(f"  {tag:5} gold {g:5}  covered {c:5}  found {f:5}  recall {f / c if c else 0:.3f}")
    if report.missed_in_context:
        lines.append("covered but missed in context:")
        lines += [f"  {n:4}  {t}" for t, n in report.missed_in_context.most_common(top)]
    lines.append(f"most common gold mentions the catalogue does not cover (top {top}):")
    lines += [f"  {n:4}  {t}" for t, n in report.not_covered.most_common(top)]
    return "\n".join(lines)


def report_json(report: EvalReport, aner: AnerReport | None) -> str:
    out = {
        "items": report.items,
        "entities": {k: v.as_dict() for k, v in report.entities.items()},
        "watchlists": {k: v.as_dict() for k, v in report.watchlists.items()},
        "hard_negatives": report.hard_negatives,
        "hard_negative_false_alarms": report.hard_negative_false_alarms,
        "misses": report.misses,
        "false_alarms": report.false_alarms,
        "classes": {k: {**v.as_dict(), "items_right": report.class_items[k][0], "items": report.class_items[k][1]}
                    for k, v in report.classes.items()},
    }
    if aner is not None:
        out["anercorp"] = {"gold": aner.gold, "covered": aner.covered, "found": aner.found,
                           "recall": round(aner.found / aner.covered, 4) if aner.covered else None,
                           "not_covered_top": aner.not_covered.most_common(30)}
    return json.dumps(out, ensure_ascii=False, indent=2)


# ---------------------------------------------------------------- story grouping

STORY_SETS = ("eval/story_pairs.yaml", "eval/story_pairs_blind.yaml")  # what `rasad eval --stories` reads


@dataclass
class StoryReport:
    score: Score = field(default_factory=Score)  # all pairs read
    by_split: dict[str, Score] = field(default_factory=dict)  # "dev" (tuned on), "test" (held out)
    by_kind: dict[str, Score] = field(default_factory=dict)  # "<split> <kind>" (the blind file's `kind`)
    mistakes: list[str] = field(default_factory=list)
    pairs: int = 0


def evaluate_stories(matcher: Matcher, paths: Path | list[Path], split: str = "all") -> StoryReport:
    """Precision and recall of 'same story' on labelled pairs, read from every file given (by default
    eval/story_pairs.yaml and eval/story_pairs_blind.yaml). A pair without `split` counts as `dev` (tuned on),
    one without `kind` as `other`; ``split`` keeps only one split (`dev`, `test`) or every pair (`all`)."""
    from datetime import datetime, timedelta

    from bot.stories import StoryCandidate, canonical_url, fingerprint, same_story

    base = datetime(2026, 1, 1)
    report = StoryReport()

    def candidate(n: int, side: dict[str, Any]) -> StoryCandidate:
        title, summary = side.get("title", ""), side.get("summary", "")
        entities = frozenset(matcher.match_text(f"{title}\n{summary}").entity_ids)
        return StoryCandidate(n, n, canonical_url(side.get("link", "")), fingerprint(title, summary),
                              side.get("lang"), entities, base + timedelta(hours=float(side.get("hours", 0))))

    for path in [paths] if isinstance(paths, Path) else paths:
        doc, problem = read_yaml_file(path)
        if problem is not None:
            raise EvalSetError([f"{display_path(path)}:{problem[0]}: {problem[1]}"])
        for i, pair in enumerate(doc.get("pairs") or []):
            pair_split, kind = pair.get("split", "dev"), pair.get("kind", "other")
            if split != "all" and pair_split != split:
                continue
            a, b = candidate(2 * i + 1, pair["a"]), candidate(2 * i + 2, pair["b"])
            predicted, gold = same_story(b, a), bool(pair["same"])
            report.pairs += 1
            for score in (report.score, report.by_split.setdefault(pair_split, Score()),
                          report.by_kind.setdefault(f"{pair_split} {kind}", Score())):
                score.add({"same"} if gold else set(), {"same"} if predicted else set())
            if predicted != gold:
                what = "missed" if gold else "wrongly grouped"
                report.mistakes.append(f"{path.name} pair {i + 1} [{pair_split} {kind}] ({what}): "
                                       f"{pair['a'].get('title', '')[:60]} / {pair['b'].get('title', '')[:60]}")
    return report


def format_stories(report: StoryReport) -> str:
    s = report.score
    lines = [f"story grouping: {report.pairs} labelled pairs"]
    for label, sc in [("all", s), *sorted(report.by_split.items()), *sorted(report.by_kind.items())]:
        # a kind with only different-story pairs has no recall; its false groupings are its fp
        lines.append(f"  {label:40}  precision {sc.precision:.3f}  recall {sc.recall:.3f}  "
                     f"(tp {sc.tp}, fp {sc.fp}, fn {sc.fn})")
    lines += [f"  {m}" for m in report.mistakes] or ["  no mistakes"]
    return "\n".join(lines)
