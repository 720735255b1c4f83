"""Kill switches (owner): Enterprise SSO on/off per connection, password login on/off per domain."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.edge.http import create_resolver, model_response, parse_body, require_role
from sso_core.logic.kill_switches import KillSwitchService
from sso_core.models.switches import Toggle
from sso_core.observability import logger, metrics, tracer

app = create_resolver()


@cache
def service() -> KillSwitchService:
    settings = get_settings()
    return KillSwitchService(settings, Table(settings.table_name))


@app.put("/connections/<connection_id>/status")
def set_status(connection_id: str) -> Response:
    caller = require_role(app, get_settings(), "owner")
    request = parse_body(app, Toggle)
    out = service().set_connection_status(caller, connection_id, request.enabled)
    metrics.add_metric(name="SsoEnabled" if request.enabled else "SsoDisabled", unit="Count", value=1)
    return model_response(200, out)


@app.put("/domains/<domain>/password-login")
def set_password_login(domain: str) -> Response:
    caller = require_role(app, get_settings(), "owner")
    request = parse_body(app, Toggle)
    return model_response(200, service().set_password_login(caller, domain, request.enabled))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
