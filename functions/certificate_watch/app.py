"""Scheduled certificate watch (EventBridge Scheduler, daily): mails owners before an IdP certificate expires."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.logic.certificate_watch import CertificateWatch
from sso_core.observability import logger, metrics, tracer


@cache
def service() -> CertificateWatch:
    settings = get_settings()
    return CertificateWatch(settings, Table(settings.table_name))


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = service().run()
    metrics.add_metric(name="CertificateNoticesSent", unit="Count", value=summary.notices)
    return summary.model_dump()
