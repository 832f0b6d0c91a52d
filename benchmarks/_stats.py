"""Latency percentiles and rates, printed the same way by every benchmark."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    """Requests (or statements) done at some concurrency: each one's latency in seconds, and the wall time."""

    latencies: Sequence[float]
    seconds: float
    failures: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    def summary(self, unit: str) -> str:
        failed = f", {self.failures} failed" if self.failures else ""
        return (
            f"{self.rate:,.0f} {unit}/s, p50 {self.percentile_ms(50):.1f} ms, p99 {self.percentile_ms(99):.1f} ms "
            f"({len(self.latencies):,} in {self.seconds:.1f} s{failed})"
        )


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(max(math.ceil(q / 100 * len(ordered)), 1), len(ordered))
    return ordered[rank - 1]
