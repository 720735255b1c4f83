"""A short load run against the local stack for `make bench` (the full one is `make load`): one browser alone (the
peer), then 8 browsers and 2 admins at once, same stack code, same run; prints logins/s of both and the ratio,
p50/p95/p99 per route of the concurrent run, and its consistency checks.

    python -c "from tests.benchmarks import bench_load; bench_load.main()"
"""

from __future__ import annotations

import os
from typing import Any

from tests.benchmarks.load import print_report, run

PEER_SECONDS = float(os.environ.get("BENCH_LOAD_PEER_SECONDS", 8))
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", 15))


def main() -> dict[str, Any]:
    alone = run(PEER_SECONDS, users=1, admins=0, quiet=True)
    together = run(SECONDS, users=8, admins=2, quiet=True)
    print_report(together)
    ratio = together["logins_per_second"] / alone["logins_per_second"] if alone["logins_per_second"] else 0.0
    print(
        f"  logins/s: 8 browsers + 2 admins {together['logins_per_second']} vs one browser alone"
        f" {alone['logins_per_second']} (ratio {ratio:.2f}; the stack runs one event at a time)"
    )
    failed = [name for name, ok in {**alone["checks"], **together["checks"]}.items() if not ok]
    assert not failed, f"load checks failed: {failed}"
    return {"alone": alone, "together": together, "ratio": ratio}


if __name__ == "__main__":
    main()
