"""What every fuzz target records: inputs run, outcome per reason, slowest input. Each input must end in a typed
refusal or a success, within one second of CPU time (thread time, so a busy machine does not fail the run; the
wall time is reported beside it)."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")
MAX_SECONDS = 1.0


@dataclass
class TargetStats:
    inputs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    slowest_cpu: float = 0.0
    slowest_wall: float = 0.0


STATS: defaultdict[str, TargetStats] = defaultdict(TargetStats)


def run_one(target: str, call: Callable[[], str]) -> str:
    """Runs ``call`` (which returns the outcome: "accepted" or a refusal reason, and raises on anything else),
    records it, and fails on an input slower than ``MAX_SECONDS``."""
    cpu, wall = time.thread_time(), time.perf_counter()
    outcome = call()
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    stats = STATS[target]
    stats.inputs += 1
    stats.outcomes[outcome] += 1
    stats.slowest_cpu = max(stats.slowest_cpu, cpu)
    stats.slowest_wall = max(stats.slowest_wall, wall)
    assert cpu < MAX_SECONDS, f"{target}: one input took {cpu:.2f} s of CPU"
    return outcome


def report() -> str:
    lines = []
    total = 0
    for name, stats in sorted(STATS.items()):
        total += stats.inputs
        lines.append(
            f"{name}: {stats.inputs} inputs, slowest {stats.slowest_cpu * 1000:.1f} ms CPU"
            f" ({stats.slowest_wall * 1000:.1f} ms wall)"
        )
        for outcome, count in stats.outcomes.most_common():
            lines.append(f"    {count:>7}  {outcome}")
    lines.append(f"total: {total} inputs")
    return "\n".join(lines)
