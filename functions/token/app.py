"""Code redemption (public, server to server): the application trades the one-time code for the profile."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.edge.http import create_resolver, json_response, parse_body
from sso_core.logic.code_redemption import check_client, redeem
from sso_core.models.login import TokenRequest
from sso_core.observability import logger, metrics, tracer

app = create_resolver()


@cache
def table() -> Table:
    return Table(get_settings().table_name)


@app.post("/sso/token")
def token() -> Response:
    authorization = app.current_event.headers.get("authorization")
    check_client(get_settings(), authorization)  # an unauthenticated caller learns nothing, not even 400s
    request = parse_body(app, TokenRequest)
    profile = redeem(get_settings(), table(), authorization, request.code)
    metrics.add_metric(name="SsoCodeRedeemed", unit="Count", value=1)
    return json_response(200, profile)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
