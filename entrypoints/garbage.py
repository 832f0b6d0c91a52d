"""The cyclic garbage collector, tuned for a serving process (ADR 55).

A worker holds a large, long-lived heap (the writer's cache of aggregates, the kept wallet answers, the app
itself), and CPython's full collections walk all of it: under a stream of webhooks they came every few seconds
and stopped every thread for tens of milliseconds (p99 70 ms against 20 ms without them, `webhook_credits`).
What exists once the app is built is moved out of the collector's sight (`gc.freeze`), and the youngest
generation is collected after 100,000 allocations instead of 700, so the older ones, and the whole heap, are
walked far less often. Reference cycles are still collected; memory between collections grows by what those
allocations leave in cycles.
"""

from __future__ import annotations

import gc

YOUNGEST = 100_000  # allocations (net of deallocations) between collections of the youngest generation
MIDDLE = 50  # collections of the youngest between collections of the middle one
OLDEST = 1_000  # collections of the middle one between full collections (CPython also waits for 25 % growth)


def tune_for_serving() -> None:
    """Call once the app is built, before serving: its objects live as long as the process."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNGEST, MIDDLE, OLDEST)
