"""`make fuzz`: a bounded fuzzing run of at least FUZZ_INPUTS generated inputs (default 100,000).

The bulk runs under atheris (coverage-guided libFuzzer, tests/fuzz/atheris_targets.py, one process per target);
the Hypothesis tests of tests/fuzz (structural lxml mutations, and the whole ACS route through the gateway) run
unseeded with FUZZ_HYPOTHESIS_INPUTS of them. Prints the inputs, outcomes by reason and the slowest input per
target; exits non-zero on any failure. Where atheris has no wheel, Hypothesis runs all the inputs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ATHERIS_SHARES = {"acs_validator": 0.45, "idp_metadata": 0.20, "domain_names": 0.35}


def _print_target(name: str, stats: dict[str, object]) -> None:
    outcomes: dict[str, int] = stats["outcomes"]  # type: ignore[assignment]
    print(
        f"{name}: {stats['inputs']} inputs, slowest {float(stats['slowest_cpu']) * 1000:.1f} ms CPU"  # type: ignore[arg-type]
        f" ({float(stats['slowest_wall']) * 1000:.1f} ms wall)"  # type: ignore[arg-type]
    )
    for outcome, count in sorted(outcomes.items(), key=lambda kv: -kv[1]):
        print(f"    {count:>7}  {outcome}")


def main() -> int:
    total = int(os.environ.get("FUZZ_INPUTS") or 100_000)
    have_atheris = importlib.util.find_spec("atheris") is not None
    hypothesis_inputs = int(os.environ.get("FUZZ_HYPOTHESIS_INPUTS") or (6_000 if have_atheris else total))
    seed = int(os.environ.get("FUZZ_SEED") or time.time())
    failures: list[str] = []
    results: dict[str, dict[str, object]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if have_atheris:
            from tests.fuzz.atheris_targets import write_seeds

            bulk = max(0, total - hypothesis_inputs)
            for target, share in ATHERIS_SHARES.items():
                runs = max(1, int(bulk * share))
                corpus, stats_file = Path(tmp) / f"corpus-{target}", Path(tmp) / f"{target}.json"
                write_seeds(target, corpus)
                command = [
                    sys.executable,
                    "-m",
                    "tests.fuzz.atheris_targets",
                    target,
                    str(stats_file),
                    f"-runs={runs}",
                    f"-seed={seed}",
                    "-max_len=20000",
                    "-timeout=30",
                    f"-artifact_prefix={Path(tmp)}/",
                    str(corpus),
                ]
                print(f"atheris {target}: {runs} runs, seed {seed}", flush=True)
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode != 0 or not stats_file.exists():
                    failures.append(f"atheris {target}")
                    print(done.stdout[-4000:], done.stderr[-8000:], sep="\n")
                    continue
                results[f"atheris {target}"] = json.loads(stats_file.read_text())
        else:
            print("atheris is not installed (no wheel for this platform): Hypothesis runs every input")
        stats_file = Path(tmp) / "hypothesis.json"
        env = {**os.environ, "FUZZ_INPUTS": str(hypothesis_inputs), "FUZZ_STATS_JSON": str(stats_file)}
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "tests/fuzz"]
        print(f"hypothesis: {hypothesis_inputs} inputs over tests/fuzz", flush=True)
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            failures.append("hypothesis")
            print("\n".join(line for line in done.stdout.splitlines() if not line.startswith('{"'))[-8000:])
        if stats_file.exists():
            for name, stats in json.loads(stats_file.read_text()).items():
                results[f"hypothesis {name}"] = stats

    print()
    for name, stats in sorted(results.items()):
        _print_target(name, stats)
    inputs = sum(int(s["inputs"]) for s in results.values())  # type: ignore[call-overload]
    slowest = max((float(s["slowest_cpu"]) for s in results.values()), default=0.0)  # type: ignore[arg-type]
    print(
        f"total: {inputs} inputs in {time.perf_counter() - started:.0f} s; slowest input {slowest * 1000:.1f} ms CPU;"
        f" failures: {', '.join(failures) or 'none'}"
    )
    if inputs < total:
        failures.append(f"only {inputs} of {total} inputs ran")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
