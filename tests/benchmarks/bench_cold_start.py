"""Cold import of every handler, whole process, beside the frameworks alone (issue 14, target 2).

    python -m tests.benchmarks.bench_cold_start

Each figure is the CPU time (user + system) of a fresh ``python -c "import app"`` process
(interpreter start included, the same for every row; wall time is printed beside it, but on a
shared machine it also counts the time spent waiting for a core), with the layer first on
``sys.path`` and the function's folder second, as Lambda lays them out, and the template's
environment with a function name set, so that the Tracer patches libraries as it does in Lambda.
Byte code is compiled beforehand, as ``make build`` ships the layer. Rows and peers run round by
round, so that machine noise hits them alike; the median of ``BENCH_COLD_RUNS`` (default 7) runs
is reported.

Peers (the same way, in the same run):
- ``powertools+boto3``: the skeleton every Powertools HTTP handler has and nothing of ours:
  ``import boto3``, Logger, Tracer, Metrics made, an ``APIGatewayHttpResolver`` made;
- ``powertools+boto3+python3-saml``: the same plus ``onelogin.saml2.auth`` (python3-saml's
  entry point: settings, response validation, the xmlsec binding, lxml).
Targets: the ACS, login and metadata handlers at most 1.5x the python3-saml peer; every other
handler at most 1.2x the Powertools peer.
"""

from __future__ import annotations

import compileall
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "sso_core"
FUNCTIONS = ROOT / "functions"
SAML_HANDLERS = ("acs", "login", "metadata")
SAML_TARGET = 1.5
OTHER_TARGET = 1.2

_SKELETON = (
    "import boto3\n"
    "from aws_lambda_powertools import Logger, Metrics, Tracer\n"
    "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
    "logger = Logger(); tracer = Tracer(); metrics = Metrics(); app = APIGatewayHttpResolver()\n"
)
PEERS = {
    "powertools+boto3": _SKELETON,
    "powertools+boto3+python3-saml": _SKELETON + "from onelogin.saml2.auth import OneLogin_Saml2_Auth\n",
}
PEER_OF = {True: "powertools+boto3+python3-saml", False: "powertools+boto3"}

# The template's Globals, with placeholder values; AWS_LAMBDA_FUNCTION_NAME makes the Tracer
# behave as in Lambda (enabled, patching boto3 and the HTTP libraries).
LAMBDA_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "enterprise-sso",
    "POWERTOOLS_METRICS_NAMESPACE": "EnterpriseSSO",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
    "SSO_TABLE_NAME": "bench-table",
    "SSO_PUBLIC_URL": "https://sso.example.com",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
}


def handlers() -> list[str]:
    return sorted(p.parent.name for p in FUNCTIONS.glob("*/app.py"))


def _environment(function: str | None) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    paths = [str(LAYER)] + ([str(FUNCTIONS / function)] if function else [])
    return {**keep, **LAMBDA_ENVIRONMENT, "PYTHONPATH": os.pathsep.join(paths)}


def _command(code: str) -> list[str]:
    # -s: no user site; the interpreter's own site-packages stand in for the layer's dependencies.
    return [sys.executable, "-s", "-c", code]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(code: str, function: str | None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one whole process."""
    cpu, wall = _children_cpu(), time.perf_counter()
    subprocess.run(
        _command(code),
        cwd=str(FUNCTIONS / function) if function else str(ROOT),
        env=_environment(function),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return _children_cpu() - cpu, time.perf_counter() - wall


def _compile() -> None:
    compileall.compile_dir(str(LAYER), quiet=1, workers=1)
    compileall.compile_dir(str(FUNCTIONS), quiet=1, workers=1)


def import_profile(function: str, top: int = 6) -> list[tuple[str, float]]:
    """The modules with the largest own import time for one handler (``-X importtime``)."""
    result = subprocess.run(
        [sys.executable, "-s", "-X", "importtime", "-c", "import app"],
        cwd=str(FUNCTIONS / function),
        env=_environment(function),
        check=True,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            rows.append((parts[2].strip(), int(parts[0]) / 1e6))
    return sorted(rows, key=lambda row: -row[1])[:top]


def main(runs: int | None = None, functions: list[str] | None = None) -> dict[str, Any]:
    runs = runs or int(os.environ.get("BENCH_COLD_RUNS", "7"))
    names = functions or handlers()
    _compile()
    jobs: dict[str, tuple[str, str | None]] = {name: (code, None) for name, code in PEERS.items()}
    jobs.update({name: ("import app", name) for name in names})
    for code, function in jobs.values():  # warm the file cache and write any missing byte code
        _run(code, function)
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    walls: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(runs):
        for name, (code, function) in jobs.items():
            cpu, wall = _run(code, function)
            samples[name].append(cpu)
            walls[name].append(wall)
    medians = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    wall_medians = {name: statistics.median(values) * 1000 for name, values in walls.items()}

    print(f"Cold import, whole process `python -c 'import app'`, CPU time (user+sys), median of {runs} runs")
    print("  (wall time beside it: on a shared machine it also counts waiting for a core)")
    for peer in PEERS:
        print(f"  peer {peer:<37} {medians[peer]:7.0f} ms   wall {wall_medians[peer]:6.0f} ms")
    rows: dict[str, Any] = {}
    for name in names:
        saml = name in SAML_HANDLERS
        peer = PEER_OF[saml]
        target = SAML_TARGET if saml else OTHER_TARGET
        ratio = medians[name] / medians[peer]
        verdict = "PASS" if ratio <= target else "MISS"
        rows[name] = {
            "cpu_ms": round(medians[name]),
            "wall_ms": round(wall_medians[name]),
            "peer": peer,
            "ratio": round(ratio, 2),
            "target": target,
            "verdict": verdict,
        }
        print(
            f"  {name:<12} {medians[name]:6.0f} ms (wall {wall_medians[name]:5.0f})   peer {peer:<30}"
            f" {medians[peer]:5.0f} ms   ratio {ratio:4.2f}  target <= {target}  {verdict}"
        )
    if "acs" in names:
        print("  largest own import times in the ACS handler (-X importtime, one run):")
        for module, seconds in import_profile("acs"):
            print(f"    {seconds * 1000:6.1f} ms  {module}")
    return {"peers": {p: round(medians[p]) for p in PEERS}, "handlers": rows}


if __name__ == "__main__":
    main()
