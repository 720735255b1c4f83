"""Coverage-guided fuzzing with atheris (libFuzzer), one target per process, for the bulk of `make fuzz`.

    python -m tests.fuzz.atheris_targets <target> <stats.json> -runs=N -seed=S <corpus dir>

libFuzzer mutates a seed corpus of genuine documents (a response signed by a real pysaml2 IdP, its metadata, real
domain names) guided by the coverage of ``sso_core``. Each input must end in a typed refusal or a success within
one second of CPU time; anything else is a crash: atheris prints the input and the traceback and the process exits
non-zero. libFuzzer ends the process itself after the last run, so the statistics are written at that run.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import atheris

from tests.fuzz.record import STATS, run_one

warnings.filterwarnings("ignore")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "CRITICAL")

with atheris.instrument_imports(include=["sso_core"]):
    from sso_core.models.domain_names import normalise_domain
    from sso_core.models.errors import DomainError, InvalidDomain
    from sso_core.models.login_outcomes import Refusal
    from sso_core.saml import AcsRejected, parse_idp_metadata, validate_response


def seeds(engine: object) -> dict[str, list[bytes]]:
    response: bytes = engine.response  # type: ignore[attr-defined]
    return {
        # First byte: 0 = the rest is the XML (sent base64-encoded), 1 = the rest is the raw form value.
        "acs_validator": [b"\x00" + response, b"\x01" + base64.b64encode(response)],
        "idp_metadata": [engine.metadata],  # type: ignore[attr-defined]
        "domain_names": [
            d.encode()
            for d in ("example.com", "Bücher.Example.", "xn--bcher-kva.example", "a.b.c.d.example.co.uk", "1.2.3.4")
        ],
    }


def targets(engine: object) -> dict[str, Callable[[bytes], str]]:
    sp, settings, now = engine.sp, engine.settings, engine.now  # type: ignore[attr-defined]

    def acs_validator(data: bytes) -> str:
        value = base64.b64encode(data[1:]).decode() if data[:1] == b"\x00" else data[1:].decode("latin-1")
        try:
            validate_response(value, sp=sp, idp=settings, now=now)
        except AcsRejected as exc:
            assert exc.reason in set(Refusal), exc.reason
            return exc.reason
        return "accepted"

    def idp_metadata(data: bytes) -> str:
        try:
            parse_idp_metadata(data.decode("utf-8", errors="replace"), now)
        except DomainError as exc:
            return exc.code
        return "accepted"

    def domain_names(data: bytes) -> str:
        try:
            name = normalise_domain(data.decode("utf-8", errors="replace"))
        except InvalidDomain as exc:
            return exc.message.split(":")[0].split("'")[0].strip() or "quoted"
        assert normalise_domain(name) == name
        return "accepted"

    return {"acs_validator": acs_validator, "idp_metadata": idp_metadata, "domain_names": domain_names}


def write_seeds(target: str, folder: Path) -> None:
    from tests.support.fuzzing import Engine

    folder.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds(Engine())[target]):
        (folder / f"seed-{i}").write_bytes(seed)


def main() -> None:
    from tests.support.fuzzing import Engine

    target, stats_file = sys.argv[1], Path(sys.argv[2])
    runs = next(int(a.split("=", 1)[1]) for a in sys.argv if a.startswith("-runs="))
    call = targets(Engine())[target]
    done = 0

    def one_input(data: bytes) -> None:
        nonlocal done
        run_one(target, lambda: call(data))
        done += 1
        if done == runs:
            stats = STATS[target]
            stats_file.write_text(
                json.dumps(
                    {
                        "inputs": stats.inputs,
                        "outcomes": dict(stats.outcomes),
                        "slowest_cpu": stats.slowest_cpu,
                        "slowest_wall": stats.slowest_wall,
                    }
                )
            )

    atheris.Setup([sys.argv[0], *sys.argv[3:]], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
