"""SCIM 2.0 service (public in the JWT sense: its own bearer token) under /scim/v2: Users, Groups, discovery.

Every response is ``application/scim+json``; every refusal is a SCIM Error (status, scimType, detail) and, once the
token named a tenant, an entry of that tenant's provisioning activity.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError
from scim2_models import NotFoundException, SCIMException

from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.edge.http import create_resolver
from sso_core.logic.provisioning import authenticate, scim_base_url
from sso_core.logic.scim import ScimResult, ScimService, as_scim_error, error_body
from sso_core.observability import logger, metrics, tracer

SCIM_JSON = "application/scim+json"
app = create_resolver()
_service: ContextVar[ScimService | None] = ContextVar("scim_service", default=None)


@cache
def table() -> Table:
    return Table(get_settings().table_name)


def service() -> ScimService:
    """The service for the tenant the bearer token names (401 otherwise); every route starts here."""
    tenant_id = authenticate(table(), app.current_event.headers.get("authorization"))
    current = ScimService(table(), tenant_id, scim_base_url(get_settings()))
    _service.set(current)
    return current


def _respond(result: ScimResult) -> Response:
    headers = {"Cache-Control": "no-store"}
    if result.etag:
        headers["ETag"] = result.etag
    if result.location and result.status == 201:
        headers["Location"] = result.location
    body = json.dumps(result.body) if result.body is not None else ""
    return Response(status_code=result.status, content_type=SCIM_JSON, body=body, headers=headers)


def _body() -> str | None:
    return app.current_event.decoded_body


def _if_match() -> str | None:
    return app.current_event.headers.get("if-match")


def _query() -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})


@app.exception_handler(SCIMException)
def _scim_error(exc: SCIMException) -> Response:
    current = _service.get()
    if current is not None:  # the token named a tenant: its owner sees the refusal in the activity log
        event = app.current_event
        current.record_refusal(f"{event.http_method} {event.path.removeprefix('/scim/v2')}", exc)
    logger.info("scim request refused", extra={"status": exc.status, "scim_type": exc.scim_type})
    metrics.add_metric(name="ScimRequestRefused", unit="Count", value=1)
    headers = {"Cache-Control": "no-store"}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="scim"'
    return Response(exc.status, SCIM_JSON, json.dumps(error_body(exc)), headers)


@app.exception_handler(ValidationError)
def _invalid(exc: ValidationError) -> Response:
    return _scim_error(as_scim_error(exc))


@app.not_found
def _no_route(_exc: NotFoundError) -> Response:
    return _scim_error(NotFoundException(detail="No such SCIM endpoint."))


# ---- discovery ---------------------------------------------------------------------------------------------------
@app.get("/scim/v2/ServiceProviderConfig")
def service_provider_config() -> Response:
    return _respond(service().service_provider_config())


@app.get("/scim/v2/ResourceTypes")
def resource_types() -> Response:
    return _respond(service().resource_types())


@app.get("/scim/v2/ResourceTypes/<name>")
def resource_type(name: str) -> Response:
    return _respond(service().resource_types(name))


@app.get("/scim/v2/Schemas")
def schemas() -> Response:
    return _respond(service().schemas())


@app.get("/scim/v2/Schemas/<name>")
def schema(name: str) -> Response:
    return _respond(service().schemas(name))


# ---- users -------------------------------------------------------------------------------------------------------
@app.get("/scim/v2/Users")
def list_users() -> Response:
    return _respond(service().list_users(_query()))


@app.post("/scim/v2/Users")
def create_user() -> Response:
    result = service().create_user(_body())
    metrics.add_metric(name="ScimUserCreated", unit="Count", value=1)
    return _respond(result)


@app.get("/scim/v2/Users/<user_id>")
def get_user(user_id: str) -> Response:
    return _respond(service().get_user(user_id, _query()))


@app.put("/scim/v2/Users/<user_id>")
def replace_user(user_id: str) -> Response:
    return _respond(service().replace_user(user_id, _body(), _if_match()))


@app.patch("/scim/v2/Users/<user_id>")
def patch_user(user_id: str) -> Response:
    return _respond(service().patch_user(user_id, _body(), _if_match()))


@app.delete("/scim/v2/Users/<user_id>")
def delete_user(user_id: str) -> Response:
    return _respond(service().delete_user(user_id, _if_match()))


# ---- groups ------------------------------------------------------------------------------------------------------
@app.get("/scim/v2/Groups")
def list_groups() -> Response:
    return _respond(service().list_groups(_query()))


@app.post("/scim/v2/Groups")
def create_group() -> Response:
    return _respond(service().create_group(_body()))


@app.get("/scim/v2/Groups/<group_id>")
def get_group(group_id: str) -> Response:
    return _respond(service().get_group(group_id, _query()))


@app.put("/scim/v2/Groups/<group_id>")
def replace_group(group_id: str) -> Response:
    return _respond(service().replace_group(group_id, _body(), _if_match()))


@app.patch("/scim/v2/Groups/<group_id>")
def patch_group(group_id: str) -> Response:
    return _respond(service().patch_group(group_id, _body(), _if_match()))


@app.delete("/scim/v2/Groups/<group_id>")
def delete_group(group_id: str) -> Response:
    return _respond(service().delete_group(group_id, _if_match()))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _service.set(None)  # a warm instance serves one request after another: never a previous request's tenant
    return app.resolve(event, context)
