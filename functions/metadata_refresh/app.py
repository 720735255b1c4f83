"""Scheduled daily refresh of the IdP metadata imported from a URL (EventBridge Scheduler)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core.clock import utcnow
from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.logic.metadata_refresh import MetadataRefreshService
from sso_core.observability import logger, metrics, tracer


@cache
def service() -> MetadataRefreshService:
    settings = get_settings()
    return MetadataRefreshService(settings, Table(settings.table_name))


def run_time(event: dict[str, Any]) -> datetime:
    """The run's time: now, or the event's scheduled ``time`` when that is later (the local stack's tests move a
    run days ahead this way; the scheduler's own time is never later than now)."""
    now = utcnow()
    try:
        scheduled = datetime.fromisoformat(str(event.get("time") or "").replace("Z", "+00:00"))
    except ValueError:
        return now
    if scheduled.tzinfo is None:
        return now
    return max(now, scheduled.astimezone(UTC).replace(microsecond=0))


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = service().run(time_left_ms=context.get_remaining_time_in_millis, now=run_time(event))
    metrics.add_metric(name="MetadataRefreshed", unit="Count", value=summary.changed + summary.unchanged)
    metrics.add_metric(name="MetadataChanged", unit="Count", value=summary.changed)
    metrics.add_metric(name="MetadataRefreshFailed", unit="Count", value=summary.failed)
    metrics.add_metric(name="IdpCertificatesAdded", unit="Count", value=summary.certificates_added)
    metrics.add_metric(name="IdpCertificatesRetired", unit="Count", value=summary.certificates_retired)
    return summary.model_dump()
