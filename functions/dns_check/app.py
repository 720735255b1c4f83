"""Scheduled DNS verification (EventBridge): checks the claims that are due, and only those."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core.config import get_settings
from sso_core.dal.domains import DomainRepository
from sso_core.dal.table import Table
from sso_core.logic.domain_verification import DomainService
from sso_core.observability import logger, metrics, tracer


@cache
def service() -> DomainService:
    settings = get_settings()
    return DomainService(settings, DomainRepository(Table(settings.table_name)))


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = service().run_scheduled(time_left_ms=context.get_remaining_time_in_millis)
    metrics.add_metric(name="DomainsChecked", unit="Count", value=summary.checked)
    metrics.add_metric(name="DomainsVerified", unit="Count", value=summary.verified)
    metrics.add_metric(name="DomainsLost", unit="Count", value=summary.lost)
    return summary.model_dump()
