"""The ``rasad`` command line: run, check, match."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from bot.config import ConfigError, PollConfig, Settings, load_settings
from bot.extract.matcher import Matcher
from bot.feeds.fetch import FetchError, fetch, make_client
from bot.feeds.parse import ParseError, item_key, parse_feed
from bot.model import Item
from bot.rules.load import Rules, load_rules

log = logging.getLogger("bot")

DEFAULT_CONFIG = "config.yaml"


def _setup_logging(verbose: int, quiet: bool = False) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 0 else logging.INFO)
    env_level = os.environ.get("LOG_LEVEL", "").upper()
    if env_level in ("DEBUG", "INFO", "WARNING", "ERROR"):
        level = getattr(logging, env_level)
    from bot.logs import setup

    setup(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "aiosqlite", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # "maximum number of running instances reached" when a poll outlasts a tick is expected, not a warning
    logging.getLogger("apscheduler.scheduler").setLevel(max(level, logging.ERROR))


def _settings(path: str | None) -> Settings:
    """The given config, else ./config.yaml when present, else the defaults."""
    if path is None and Path(DEFAULT_CONFIG).is_file():
        path = DEFAULT_CONFIG
    return load_settings(path)


def _print_errors(messages: list[str], stream=sys.stdout) -> None:
    for message in messages:
        print(message, file=stream)


# ---------------------------------------------------------------- run

async def _run(settings: Settings, once: bool, role: str = "all") -> int:
    from bot.app import Application

    service = Application(settings, role=role)
    try:
        await service.start()
        if once:
            summary = await service.run_once()
            print(summary.line(), flush=True)
        else:
            await service.run_forever()
    finally:
        await service.stop()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    _setup_logging(args.verbose)
    try:
        settings = _settings(args.config)
        return asyncio.run(_run(settings, args.once, args.role))
    except ConfigError as exc:
        _print_errors(exc.messages, sys.stderr)
        print("rasad: not started: fix the errors above (rasad check lists them)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a database the service cannot use is one clear line, not a traceback
        from bot.store.db import describe_store_error

        problem = describe_store_error(exc, settings.database if "settings" in locals() else "")
        if problem is None:
            raise
        print(f"rasad: {problem}", file=sys.stderr)
        return 1


# ---------------------------------------------------------------- check

def cmd_check(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args.config)
    except ConfigError as exc:
        _print_errors(exc.messages)
        return 1
    rules_dir = Path(args.rules) if args.rules else settings.rules_dir
    rules = load_rules(rules_dir)
    warnings = settings.warnings + rules.warnings
    _print_errors(rules.errors, sys.stdout)
    _print_errors(warnings, sys.stdout)
    errors = list(rules.errors)
    if not rules.errors and settings.console.watchlists != "all":
        for wl in settings.console.watchlists:
            if wl not in rules.watchlists:
                msg = f"console.watchlists: unknown watchlist id {wl!r}"
                print(msg)
                errors.append(msg)
    if errors:
        print(f"{len(errors)} error(s), {len(warnings)} warning(s)", file=sys.stderr)
        return 1
    print(f"ok: {len(rules.entities)} entities, {len(rules.watchlists)} watchlists in {len(rules.files)} files, "
          f"{len(settings.feeds)} feeds configured, {len(warnings)} warning(s)", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- match

async def _feed_items(location: str) -> list[Item]:
    poll = PollConfig()
    async with make_client(poll) as client:
        result = await fetch(client, location, poll)
    return parse_feed(result.content, result.headers, feed_name=location).items


def _human(item: Item, match, matcher: Matcher) -> str:
    lines = [f"{item.key}: {item.title[:100]}"]
    for m in match.mentions:
        entity = matcher.entities[m.entity_id]
        lines.append(f"  {m.entity_id} [{m.start}:{m.end}] {m.text!r} ({entity.type}: {entity.name('en')})")
    if not match.mentions:
        lines.append("  (no entities)")
    lines.append(f"  watchlists: {', '.join(match.watchlists) or '-'}")
    return "\n".join(lines)


def _matcher_and_items(args: argparse.Namespace, command: str) -> tuple[Matcher, list[Item]] | int:
    """The rules' matcher and the items of TEXT or --feed (for ``match`` and ``explain``), or an exit code."""
    if (args.text is None) == (args.feed is None):
        print(f"rasad {command}: give either TEXT or --feed PATH_OR_URL", file=sys.stderr)
        return 2
    try:
        rules_dir = Path(args.rules) if args.rules else _settings(args.config).rules_dir
    except ConfigError as exc:
        _print_errors(exc.messages, sys.stderr)
        return 1
    rules = load_rules(rules_dir)
    if rules.errors:
        _print_errors(rules.errors, sys.stderr)
        return 1
    if args.text is not None:
        return Matcher(rules), [Item(key=item_key(None, None, args.text, ""), title=args.text)]
    try:
        return Matcher(rules), asyncio.run(_feed_items(args.feed))
    except (FetchError, ParseError) as exc:
        print(f"rasad {command}: {args.feed}: {exc}", file=sys.stderr)
        return 1


def cmd_match(args: argparse.Namespace) -> int:
    loaded = _matcher_and_items(args, "match")
    if isinstance(loaded, int):
        return loaded
    matcher, items = loaded
    for item in items:
        match = matcher.match(item)
        if args.json:
            print(json.dumps({
                "id": item.key,
                "title": item.title,
                "entities": [{"id": m.entity_id, "text": m.text, "start": m.start, "end": m.end}
                             for m in match.mentions],
                "watchlists": list(match.watchlists),
            }, ensure_ascii=False))
        else:
            print(_human(item, match, matcher))
    return 0


# ---------------------------------------------------------------- explain

def _human_explain(item: Item, matcher: Matcher) -> str:
    lines = [f"{item.key}: {item.title[:100]}"]
    decided = matcher.explain_text(item.text)
    for d in decided:
        mark = "kept   " if d.kept else "dropped"
        kind = "ambiguous" if d.ambiguous else "plain"
        source = matcher.entities[d.entity_id].source
        lines.append(f"  {mark} {d.entity_id} [{d.start}:{d.end}] {d.text!r} ({kind}, {source}): {d.reason}")
    if not decided:
        lines.append("  (no candidate mentions)")
    return "\n".join(lines)


def cmd_explain(args: argparse.Namespace) -> int:
    """Every candidate mention of a text or a feed's items, kept or dropped, with the evidence."""
    loaded = _matcher_and_items(args, "explain")
    if isinstance(loaded, int):
        return loaded
    matcher, items = loaded
    for item in items:
        if args.json:
            print(json.dumps({"id": item.key, "title": item.title, "candidates": [
                {"id": d.entity_id, "text": d.text, "start": d.start, "end": d.end, "kept": d.kept,
                 "ambiguous": d.ambiguous, "reason": d.reason, "defined_at": matcher.entities[d.entity_id].source}
                for d in matcher.explain_text(item.text)]}, ensure_ascii=False))
        else:
            print(_human_explain(item, matcher))
    return 0


# ---------------------------------------------------------------- eval

DEFAULT_EVAL_SET = "eval/items.yaml"
DEFAULT_EVAL_SETS = ("eval/items.yaml", "eval/items_context.yaml")  # the second: context items (issue 13)
DEFAULT_ANERCORP = "../shared/corpora/anercorp/ANERCorp_CamelLab_test.txt"


def _eval_items(args: argparse.Namespace, rules: Rules) -> list | None:
    """The items of every evaluation set asked for (None, with the errors printed, when one cannot be read)."""
    from bot.evaluate import EvalSetError, load_eval_set

    items = []
    for eval_set in args.set or list(DEFAULT_EVAL_SETS):
        try:
            items += load_eval_set(Path(eval_set), set(rules.entities))
        except (EvalSetError, OSError) as exc:
            _print_errors(getattr(exc, "messages", [f"{eval_set}: {exc}"]), sys.stderr)
            return None
    duplicates = sorted({i.id for i in items if sum(j.id == i.id for j in items) > 1})
    if duplicates:
        print(f"rasad eval: item ids in more than one set: {', '.join(duplicates)}", file=sys.stderr)
        return None
    return [i for i in items if args.split == "all" or i.split == args.split]


def _eval_anercorp(args: argparse.Namespace, matcher: Matcher):  # noqa: ANN202 - the evaluate module's report
    from bot.evaluate import evaluate_anercorp

    path = Path(args.anercorp) if args.anercorp else None
    if path is None:
        return None
    if not path.is_file():
        print(f"rasad eval: ANERcorp file not found: {path} (skipped)", file=sys.stderr)
        return None
    return evaluate_anercorp(matcher, path)


def _print_eval(args: argparse.Namespace, report, aner, stories) -> None:  # noqa: ANN001 - evaluate's reports
    from bot.evaluate import format_anercorp, format_report, format_stories, report_json

    if args.json:
        data = json.loads(report_json(report, aner))
        if stories is not None:
            data["stories"] = {**stories.score.as_dict(), "pairs": stories.pairs, "mistakes": stories.mistakes,
                               "by_split": {k: v.as_dict() for k, v in stories.by_split.items()},
                               "by_kind": {k: v.as_dict() for k, v in stories.by_kind.items()}}
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    sets = args.set or list(DEFAULT_EVAL_SETS)
    print(format_report(report, f"evaluation set {' + '.join(sets)}, split {args.split}"))
    for extra in (format_anercorp(aner) if aner is not None else None,
                  format_stories(stories) if stories is not None else None):
        if extra is not None:
            print()
            print(extra)


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluate import STORY_SETS, EvalSetError, evaluate, evaluate_stories

    rules = load_rules(Path(args.rules) if args.rules else _settings(args.config).rules_dir)
    if rules.errors:
        _print_errors(rules.errors, sys.stderr)
        return 1
    matcher = Matcher(rules)
    items = _eval_items(args, rules)
    if items is None:
        return 1
    report = evaluate(matcher, items)
    aner = _eval_anercorp(args, matcher)
    story_sets = [Path(p) for p in (args.stories or STORY_SETS)] if args.stories is not None else None
    try:
        stories = evaluate_stories(matcher, story_sets, args.split) if story_sets is not None else None
    except (EvalSetError, OSError) as exc:
        _print_errors(getattr(exc, "messages", [f"{args.stories}: {exc}"]), sys.stderr)
        return 1
    _print_eval(args, report, aner, stories)
    return 0


# ---------------------------------------------------------------- entry point

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rasad", description="Rasad (رصد): diplomatic news alerts.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the service (poll feeds, match, send alerts)")
    run.add_argument("--config", help=f"config file (default: ./{DEFAULT_CONFIG} when present)")
    run.add_argument("--once", action="store_true", help="poll every feed once, deliver, print a summary, exit")
    run.add_argument("--role", choices=("all", "poll", "deliver", "bot"), default="all",
                     help="what this process does when several share one PostgreSQL database (default: all)")
    run.add_argument("-v", "--verbose", action="count", default=0, help="debug logging")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="validate config and rules; exit 1 with file:line: message")
    check.add_argument("--config", help=f"config file (default: ./{DEFAULT_CONFIG} when present)")
    check.add_argument("--rules", help="rules directory (default: the config's 'rules')")
    check.set_defaults(func=cmd_check)

    match = sub.add_parser("match", help="show what the engine finds in a text or a feed")
    match.add_argument("text", nargs="?", help="text to match")
    match.add_argument("--feed", help="feed file path or URL: match each of its items")
    match.add_argument("--rules", help="rules directory (default: the config's 'rules', else ./rules)")
    match.add_argument("--config", help=f"config file (default: ./{DEFAULT_CONFIG} when present)")
    match.add_argument("--json", action="store_true", help="one JSON object per item, nothing else on stdout")
    match.set_defaults(func=cmd_match)

    explain = sub.add_parser("explain", help="every candidate mention, kept or dropped, and why")
    explain.add_argument("text", nargs="?", help="text to explain")
    explain.add_argument("--feed", help="feed file path or URL: explain each of its items")
    explain.add_argument("--rules", help="rules directory (default: the config's 'rules', else ./rules)")
    explain.add_argument("--config", help=f"config file (default: ./{DEFAULT_CONFIG} when present)")
    explain.add_argument("--json", action="store_true", help="one JSON object per item")
    explain.set_defaults(func=cmd_explain)

    _eval_parser(sub)
    _feeds_parser(sub)
    return parser


def _eval_parser(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("eval", help="precision, recall and F1 of matching on the labelled evaluation set")
    ev.add_argument("--set", action="append", default=None,
                    help=f"evaluation set YAML, repeatable (default: {' and '.join(DEFAULT_EVAL_SETS)})")
    ev.add_argument("--split", choices=("dev", "test", "all"), default="test",
                    help="dev (tuned on), test (held out, default) or all")
    ev.add_argument("--rules", help="rules directory (default: the config's 'rules', else ./rules)")
    ev.add_argument("--config", help=f"config file (default: ./{DEFAULT_CONFIG} when present)")
    ev.add_argument("--anercorp", nargs="?", const=DEFAULT_ANERCORP, default=None,
                    help=f"also measure recall on ANERcorp gold mentions (default path: {DEFAULT_ANERCORP})")
    ev.add_argument("--stories", nargs="*", default=None, metavar="PAIRS",
                    help="also measure story grouping on labelled pairs of the same --split, per kind (default "
                         "files: eval/story_pairs.yaml and eval/story_pairs_blind.yaml)")
    ev.add_argument("--json", action="store_true", help="print the figures as JSON")
    ev.set_defaults(func=cmd_eval)


def _feeds_parser(sub: argparse._SubParsersAction) -> None:
    feeds = sub.add_parser("feeds", help="the feeds: check them live, their learned schedule, OPML, directory")
    feeds.add_argument("--config", help=f"config file (default: ./{DEFAULT_CONFIG} when present)")
    fsub = feeds.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    fcheck = fsub.add_parser("check", help="fetch each feed live: status, format, age, redirects, hub, verdict")
    fcheck.add_argument("--directory", action="store_true", help="check the source directory, not the config")
    fcheck.add_argument("--json", action="store_true", help="one JSON object per feed")
    fcheck.add_argument("--stale-days", type=float, default=14, help="newest item older than this: stale")
    fsub.add_parser("stats", help="each feed's learned interval, push state and last items")
    fimport = fsub.add_parser("import", help="add the feeds of an OPML file (a report per line)")
    fimport.add_argument("file", help="the OPML file (size-capped, no DTD)")
    fexport = fsub.add_parser("export", help="write the active feeds as OPML")
    fexport.add_argument("file", help="the OPML file to write (- for standard output)")
    feeds.set_defaults(func=cmd_feeds)


def cmd_feeds(args: argparse.Namespace) -> int:
    """``rasad feeds check|stats|import|export``: the implementations live in bot/feeds/tools.py."""
    from bot.feeds import tools

    try:
        settings = _settings(args.config)
        return asyncio.run(tools.run(settings, args))
    except ConfigError as exc:
        _print_errors(exc.messages, sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "run":
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
