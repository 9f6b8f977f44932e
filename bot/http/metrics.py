"""A small Prometheus text-format registry: counters and gauges with labels, no dependency."""

from __future__ import annotations

from collections import defaultdict

HELP = {
    "rasad_polls_total": ("counter", "Feed polls, by outcome (ok, not_modified, failed)"),
    "rasad_fetch_errors_total": ("counter", "Feed fetch or parse errors, by kind"),
    "rasad_items_total": ("counter", "New items stored"),
    "rasad_matches_total": ("counter", "New items that fired at least one watchlist"),
    "rasad_alerts_sent_total": ("counter", "Alerts sent, by platform"),
    "rasad_alerts_failed_total": ("counter", "Alert sends that failed (retried or dead), by platform"),
    "rasad_delivery_lag_seconds_sum": ("counter", "Sum of seconds from delivery creation to send"),
    "rasad_delivery_lag_seconds_count": ("counter", "Number of sends in the lag sum"),
    "rasad_queue_depth": ("gauge", "Deliveries waiting, by state"),
    "rasad_websub_pushes_total": ("counter", "WebSub pushes received, by outcome (ok, unsigned, bad_signature, "
                                  "unknown, too_large); only ok ones are read"),
    "rasad_websub_requests_total": ("counter", "Subscribe/unsubscribe requests sent to WebSub hubs, by outcome"),
    "rasad_last_successful_poll_age_seconds": ("gauge", "Seconds since the last successful poll of any feed"),
}


class Metrics:
    def __init__(self) -> None:
        self._values: dict[str, dict[tuple, float]] = defaultdict(lambda: defaultdict(float))

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        self._values[name][tuple(sorted(labels.items()))] += amount

    def set(self, name: str, value: float, **labels: str) -> None:
        self._values[name][tuple(sorted(labels.items()))] = value

    def value(self, name: str, **labels: str) -> float:
        return self._values.get(name, {}).get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> str:
        lines = []
        for name in sorted(set(HELP) | set(self._values)):
            kind, text = HELP.get(name, ("gauge", name))
            lines.append(f"# HELP {name} {text}")
            lines.append(f"# TYPE {name} {kind}")
            series = self._values.get(name) or {(): 0.0}
            for labels, value in sorted(series.items()):
                label_text = ",".join(f'{k}="{v}"' for k, v in labels)
                lines.append(f"{name}{{{label_text}}} {value:g}" if label_text else f"{name} {value:g}")
        return "\n".join(lines) + "\n"
