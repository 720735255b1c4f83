"""Schemathesis over the served OpenAPI document against a running local stack, bounded and seeded.

Every operation gets ``positive`` generated cases that follow the document and ``negative`` ones that break it;
each response is checked: no 5xx, status code documented, content type documented, body matching its schema.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Outcome:
    cases: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # "METHOD /path (mode)" -> the first failure's report
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per "METHOD /path (mode)"


def breakable(definition: dict[str, Any]) -> bool:
    """Whether a request can break the document: a JSON body or a query or header parameter (a string path
    parameter or a form body of free text has no invalid value, and Hypothesis would search for one in vain)."""
    body = (definition.get("requestBody") or {}).get("content") or {}
    params = [p for p in definition.get("parameters") or [] if p.get("in") in ("query", "header")]
    return "application/json" in body or bool(params)


def run(
    document: dict[str, Any],
    base_url: str,
    headers_for: Callable[[str], dict[str, str]],
    positive: int,
    negative: int,
) -> Outcome:
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=base_url)
    outcome = Outcome()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, examples in ((GenerationMode.POSITIVE, positive), (GenerationMode.NEGATIVE, negative)):
            if examples < 1 or (mode is GenerationMode.NEGATIVE and not breakable(operation.definition.raw)):
                continue
            label = f"{operation.label} ({mode.value})"

            @settings(
                max_examples=examples,
                derandomize=True,  # the same cases every run: a failure here is reproducible
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is reported as found
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def one(case: Any) -> None:
                outcome.cases += 1
                case.call_and_validate(headers=headers_for(case.operation.path), checks=CHECKS)

            started = time.monotonic()
            try:
                one()
            except (Exception, BaseExceptionGroup) as exc:
                outcome.failures.setdefault(label, f"{type(exc).__name__}: {str(exc)[:2000]}")
            outcome.seconds[label] = time.monotonic() - started
    return outcome
