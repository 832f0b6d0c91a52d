"""What the served writer says of its work (`/metrics`): its groups, their conflicts, where their reads came from,
and where a group's time went."""

from __future__ import annotations

import urllib.request
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families


def writer_samples(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """The `mcpay_writer_*` samples `url`'s `/metrics` serves now (every worker's, summed), by name and labels."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:  # noqa: S310 (our own server)
        text = response.read().decode()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("mcpay_writer_"):
                samples[sample.name][tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def writer_summary(samples: dict[str, dict[tuple[tuple[str, str], ...], float]], webhooks: int) -> str:
    """One sentence: the groups by how they were answered, their mean size, the conflicts, the reads' sources."""
    groups = {dict(labels).get("outcome", ""): value for labels, value in samples["mcpay_writer_groups_total"].items()}
    count = sum(groups.values())
    size = sum(samples["mcpay_writer_group_size_sum"].values())
    conflicts = sum(samples["mcpay_writer_conflicts_total"].values())
    reads = {dict(labels)["source"]: value for labels, value in samples["mcpay_writer_aggregates_read_total"].items()}
    cached, loaded = reads.get("cache", 0.0), reads.get("store", 0.0)
    how = ", ".join(f"{outcome} {value:,.0f}" for outcome, value in sorted(groups.items()))
    return (
        f"{count:,.0f} groups ({how}), {size / count if count else 0:.1f} changes a group, {conflicts:,.0f} tries"
        f" dropped on a conflict; aggregates read a webhook: {cached / webhooks:.2f} from its cache,"
        f" {loaded / webhooks:.2f} from the store; a committed group's mean: {_times(samples)}"
    )


def _times(samples: dict[str, dict[tuple[tuple[str, str], ...], float]]) -> str:
    """The first change's wait and each phase, in ms (the means of `mcpay_writer_wait_seconds` and
    `mcpay_writer_phase_seconds`)."""

    def mean(name: str, **labels: str) -> float:
        wanted = tuple(sorted(labels.items()))
        total = sum(v for k, v in samples[f"{name}_sum"].items() if k == wanted)
        count = sum(v for k, v in samples[f"{name}_count"].items() if k == wanted)
        return 1000 * total / count if count else 0.0

    phases = ", ".join(
        f"{what} {mean('mcpay_writer_phase_seconds', phase=phase):.2f}"
        for what, phase in (("read", "read"), ("decided", "decide"), ("saved", "save"))
    )
    return f"the first change waited {mean('mcpay_writer_wait_seconds'):.2f} ms, then {phases} ms"
