"""Audit log (owner): every change to security settings, newest first, paginated."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.edge.http import create_resolver, model_response, page_limit, require_role
from sso_core.logic.audit_trail import read_audit
from sso_core.observability import logger, metrics, tracer

app = create_resolver()


@cache
def table() -> Table:
    return Table(get_settings().table_name)


@app.get("/audit")
def audit_route() -> Response:
    caller = require_role(app, get_settings(), "owner")
    query = app.current_event.query_string_parameters or {}
    limit = page_limit(query)
    return model_response(200, read_audit(table(), caller, limit, query.get("cursor")))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
