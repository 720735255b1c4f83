"""Automatic provisioning (owner): the SCIM token (create or rotate, revoke), group mappings, activity log."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.edge.http import create_resolver, model_response, page_limit, parse_body, require_role
from sso_core.logic.provisioning import ProvisioningAdmin
from sso_core.models.provisioning import ProvisioningSettings
from sso_core.observability import logger, metrics, tracer

app = create_resolver()


@cache
def admin() -> ProvisioningAdmin:
    return ProvisioningAdmin(Table(get_settings().table_name), get_settings())


@app.post("/provisioning/scim-token")
def create_token() -> Response:
    caller = require_role(app, get_settings(), "owner")
    metrics.add_metric(name="ScimTokenCreated", unit="Count", value=1)
    return model_response(201, admin().create_token(caller))


@app.delete("/provisioning/scim-token")
def revoke_token() -> Response:
    caller = require_role(app, get_settings(), "owner")
    admin().revoke_token(caller)
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


@app.get("/provisioning/settings")
def read_settings() -> Response:
    caller = require_role(app, get_settings(), "owner")
    return model_response(200, admin().read_settings(caller))


@app.put("/provisioning/settings")
def save_settings() -> Response:
    caller = require_role(app, get_settings(), "owner")
    request = parse_body(app, ProvisioningSettings)
    return model_response(200, admin().save_settings(caller, request))


@app.get("/provisioning/activity")
def activity() -> Response:
    caller = require_role(app, get_settings(), "owner")
    query = app.current_event.query_string_parameters or {}
    return model_response(200, admin().activity(caller, page_limit(query), query.get("cursor")))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
