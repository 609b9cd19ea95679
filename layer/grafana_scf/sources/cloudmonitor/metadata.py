"""The metric catalogue of a namespace (DescribeBaseMetrics), cached for hours.

Used for the generic metric (its periods and unit) and the metric picker, and for
curated metrics whose catalog entry lists no periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grafana_scf.errors import BadRequestError
from grafana_scf.sources.cloudmonitor.api import CallStats, CloudApi
from grafana_scf.sources.cloudmonitor.cache import TtlCache

METRICS_TTL_S = 6 * 3600
# Cloud Monitor units -> Grafana unit ids.
UNITS = {
    "%": "percent",
    "B": "decbytes",
    "Bytes": "decbytes",
    "KB": "deckbytes",
    "MB": "decmbytes",
    "GB": "decgbytes",
    "bps": "bps",
    "Kbps": "Kbits",
    "Mbps": "Mbits",
    "ms": "ms",
    "s": "s",
    "Count": "short",
    "Count/s": "ops",
}


@dataclass(frozen=True)
class MetricInfo:
    """One metric as DescribeBaseMetrics describes it."""

    namespace: str
    name: str
    unit: str | None
    periods: tuple[int, ...]
    meaning: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.meaning})" if self.meaning else self.name


def _info(raw: dict[str, Any]) -> MetricInfo:
    periods = raw.get("Period") or [int(p["Period"]) for p in raw.get("Periods") or []]
    meaning = (raw.get("Meaning") or {}).get("En") or raw.get("MetricEName") or ""
    return MetricInfo(
        namespace=str(raw.get("Namespace") or ""),
        name=str(raw["MetricName"]),
        unit=UNITS.get(str(raw.get("Unit") or "")),
        periods=tuple(sorted({int(p) for p in periods})),
        meaning=str(meaning),
    )


class Metadata:
    """Cached DescribeBaseMetrics per namespace."""

    def __init__(self, api: CloudApi, region: str) -> None:
        self.api = api
        self.region = region
        self.cache = TtlCache(max_size=64)

    def metrics(self, namespace: str, stats: CallStats, deadline: float) -> list[MetricInfo]:
        """Every metric of ``namespace`` (empty for a namespace Cloud Monitor does not know)."""

        def load() -> list[MetricInfo]:
            answer = self.api.monitor(
                "DescribeBaseMetrics", self.region, {"Namespace": namespace}, stats, deadline
            )
            return [_info(m) for m in answer.get("MetricSet") or [] if m.get("MetricName")]

        return self.cache.get_or_load(("metrics", namespace), METRICS_TTL_S, load)

    def metric(self, namespace: str, name: str, stats: CallStats, deadline: float, where: str) -> MetricInfo:
        """One metric, matched case-insensitively; a 400 naming the choices when unknown."""
        known = self.metrics(namespace, stats, deadline)
        for info in known:
            if info.name.lower() == name.lower():
                return info
        if not known:
            raise BadRequestError(f"{where}: Cloud Monitor has no metrics in namespace {namespace!r}")
        names = ", ".join(i.name for i in known[:30])
        raise BadRequestError(f"{where}: {namespace} has no metric {name!r} (metrics: {names})")
