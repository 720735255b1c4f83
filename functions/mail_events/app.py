"""SES bounces and complaints (EventBridge, from the invitation mail's configuration set): the addresses are
marked so that no invitation is mailed to them again."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.logic.mail_events import handle_ses_event
from sso_core.observability import logger, metrics, tracer


@cache
def table() -> Table:
    return Table(get_settings().table_name)


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    marked = handle_ses_event(table(), event)
    metrics.add_metric(name="MailAddressesSuppressed", unit="Count", value=marked)
    return {"suppressed": marked}
