"""`make bench`: every benchmark, each figure printed beside its peer with the ratio."""

from __future__ import annotations

import importlib
import os
import sys

# Quiet, like production at WARNING: one INFO line per verified domain would dominate the timing.
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

BENCHMARKS = [
    "tests.benchmarks.bench_dns",
    "tests.benchmarks.bench_acs",
    "tests.benchmarks.bench_scim",
    "tests.benchmarks.bench_load",
    "tests.benchmarks.bench_cold_start",
    "tests.benchmarks.bench_login",
    "tests.benchmarks.bench_memory",
]


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                print(f"(skipping {name}: not present)")
                continue
            raise
        module.main()
        print()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
