"""Command and click latency (docs/operations.md "Metrics"): how long the runner took to answer, from
parsing to the committed reply. Process-local (a prometheus-client Histogram in this process's memory,
exported by this process's /metrics), unlike the other metrics, which are read from the database."""
from __future__ import annotations

from prometheus_client import Histogram

LATENCY = Histogram(
    "chatcrm_invocation_seconds", "Time the runner took to answer a command or a click, in this process.",
    labelnames=("kind", "platform"),
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
    registry=None,  # bot.ops registers it with each app's registry
)


def observe(kind: str, platform: str, seconds: float) -> None:
    LATENCY.labels(kind="click" if kind == "action" else kind, platform=platform).observe(seconds)
