"""python -m bench [--quick] [--only NAME ...] [--out PATH]: run the benchmarks, print a table, write JSON."""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import fanout, latency, matching, pipeline, polling, replies, rules

BENCHMARKS = {"matching": matching, "rules": rules, "pipeline": pipeline, "poll_cycle": polling, "fanout": fanout,
              "latency": latency, "replies": replies}


def _fmt(x) -> str:
    if isinstance(x, float):
        return f"{x:,.3f}" if abs(x) < 100 else f"{x:,.0f}"
    return str(x)


def table(results: list[dict]) -> str:
    lines = []
    for r in results:
        name = r["name"]
        if name == "matching":
            lines.append("matching (µs per item, best of 5): automaton (in use) | token index (design B) | regex loop")
            for mix, what in (("same", "same real entities at every size"), ("growing", "more real entities")):
                lines.append(f"  {what}:")
                for row in r[f"rows_{mix}"]:
                    extra = (f" | regex {row['regex_us_per_item']:,.0f} µs ({row['speedup_vs_regex']:,.0f}× slower)"
                             if "regex_us_per_item" in row else "")
                    same = "" if row["token_same_mentions"] else " (DIFFERENT mentions)"
                    lines.append(f"  {row['aliases']:>7,} aliases: {row['us_per_item']:6.1f} | "
                                 f"{row['token_us_per_item']:6.1f}{same}{extra}  "
                                 f"({row['mentions_per_item']} mentions/item)")
                baseline = f"; before issue 16: {r['baseline_ratio_growing']}" if mix == "growing" else ""
                lines.append(f"    largest/smallest: automaton {r[f'ratio_{mix}']:.2f}, token index "
                             f"{r[f'token_ratio_{mix}']:.2f} (target ≤ {r['target_ratio']}{baseline})")
            if r.get("speedup_vs_regex_at_10k"):
                lines.append(f"  at 10k vs regex: {r['speedup_vs_regex_at_10k']:,.0f}× (target ≥ 100×)")
        elif name == "rules":
            lines.append("rules load + compile (s): fresh build / cache miss (build + write) / cache hit (ready to "
                         "match); reload: longest event-loop stall, matching inline | in a child process")
            for row in r["rows"]:
                lines.append(f"  {row['rules']:>16} ({row['aliases']:,} forms, auto: {row['matching']}): fresh "
                             f"{row['fresh_s']:.3f}, miss {row['cache_miss_s']:.3f}, hit {row['cache_hit_s']:.3f} "
                             f"({row['ready_s']:.3f}); peak MB inline {row['inline_mb']} | process "
                             f"{row['process_mb']} + child {row['process_child_mb']}; µs per item in batches of 10: "
                             f"inline {row['inline_match_us']:.0f} | process {row['process_match_us']:.0f}")
                lines.append(f"    reload: before issue 16 {row['old_reload_s']:.2f} s, stall "
                             f"{row['old_reload_stall_ms']:,.0f} ms; now, cache hit: {row['inline_reload_hit_s']:.2f}"
                             f" s, stall {row['inline_reload_hit_stall_ms']:,.0f} ms | "
                             f"{row['process_reload_hit_s']:.2f} s, stall {row['process_reload_hit_stall_ms']:,.0f} ms;"
                             f" cache miss: {row['inline_reload_miss_s']:.2f} s, stall "
                             f"{row['inline_reload_miss_stall_ms']:,.0f} ms | {row['process_reload_miss_s']:.2f} s,"
                             f" stall {row['process_reload_miss_stall_ms']:,.0f} ms")
            lines.append(f"  targets: shipped ≤ 0.3 s {'met' if r['shipped_met'] else 'NOT met'}; 100k ≤ 3 s "
                         f"{'met' if r['large_met'] else 'NOT met'}; stall < 50 ms "
                         f"{'met' if r['stall_met'] else 'NOT met'}")
        else:
            lines.append(name)
            for key, value in r.items():
                if key != "name":
                    lines.append(f"  {key}: {_fmt(value)}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run, seconds)")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument("--out", default="bench/results/latest.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    results = []
    for name, module in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        started = time.perf_counter()
        result = module.run(quick=args.quick)
        result["seconds"] = time.perf_counter() - started
        results.append(result)
        print(table([result]), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"when": datetime.now(UTC).isoformat(), "quick": args.quick,
                               "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
                               "results": results}, indent=2, ensure_ascii=False))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
