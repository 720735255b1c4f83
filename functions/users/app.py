"""Users (admin): list members, change a member's role or accounts, remove a member."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.edge.http import create_resolver, model_response, page_limit, parse_body, require_role
from sso_core.logic.users import UserService
from sso_core.models.users import UpdateUserRequest
from sso_core.observability import logger, metrics, tracer

app = create_resolver()


@cache
def service() -> UserService:
    return UserService(Table(get_settings().table_name))


@app.get("/users")
def list_users() -> Response:
    caller = require_role(app, get_settings(), "admin")
    query = app.current_event.query_string_parameters or {}
    return model_response(200, service().list(caller, page_limit(query), query.get("cursor")))


@app.patch("/users/<user_id>")
def update_user(user_id: str) -> Response:
    caller = require_role(app, get_settings(), "admin")
    request = parse_body(app, UpdateUserRequest)
    return model_response(200, service().update(caller, user_id, request))


@app.delete("/users/<user_id>")
def remove_user(user_id: str) -> Response:
    caller = require_role(app, get_settings(), "admin")
    service().remove(caller, user_id)
    metrics.add_metric(name="UserRemoved", unit="Count", value=1)
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
