"""SSO connections (owner): create, list, get, delete, import the IdP (metadata, URL or fields), roll its
certificates over, settings, and the login trace; test connection (owner or admin)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.edge.http import create_resolver, model_response, page_limit, parse_body, require_role
from sso_core.logic.connection_test import start_connection_test
from sso_core.logic.idp_certificates import IdpCertificates
from sso_core.logic.login_trace import read_trace
from sso_core.logic.sso_configuration import ConnectionService
from sso_core.models.connections import (
    AddCertificateRequest,
    CreateConnectionRequest,
    IdpFieldsRequest,
    UpdateConnectionRequest,
)
from sso_core.observability import logger, metrics, tracer

app = create_resolver()


@cache
def table() -> Table:
    return Table(get_settings().table_name)


def service() -> ConnectionService:
    return ConnectionService(get_settings(), table())


@app.post("/connections")
def create_connection() -> Response:
    caller = require_role(app, get_settings(), "owner")
    request = parse_body(app, CreateConnectionRequest)
    return model_response(201, service().create(caller, request.domains))


@app.get("/connections")
def list_connections() -> Response:
    caller = require_role(app, get_settings(), "owner")
    return model_response(200, service().list(caller))


@app.get("/connections/<connection_id>")
def get_connection(connection_id: str) -> Response:
    caller = require_role(app, get_settings(), "owner")
    return model_response(200, service().get(caller, connection_id))


@app.delete("/connections/<connection_id>")
def delete_connection(connection_id: str) -> Response:
    caller = require_role(app, get_settings(), "owner")
    service().delete(caller, connection_id)
    return Response(status_code=204, body="")


@app.put("/connections/<connection_id>/idp")
def set_idp(connection_id: str) -> Response:
    caller = require_role(app, get_settings(), "owner")
    request = parse_body(app, IdpFieldsRequest)
    _, _, out = service().set_idp(caller, connection_id, request)
    return model_response(200, out)


@app.post("/connections/<connection_id>/idp/certificates")
def add_certificate(connection_id: str) -> Response:
    caller = require_role(app, get_settings(), "owner")
    request = parse_body(app, AddCertificateRequest)
    return model_response(201, IdpCertificates(service()).add(caller, connection_id, request))


@app.delete("/connections/<connection_id>/idp/certificates/<fingerprint>")
def remove_certificate(connection_id: str, fingerprint: str) -> Response:
    caller = require_role(app, get_settings(), "owner")
    return model_response(200, IdpCertificates(service()).remove(caller, connection_id, fingerprint))


@app.patch("/connections/<connection_id>")
def update_connection(connection_id: str) -> Response:
    caller = require_role(app, get_settings(), "owner")
    request = parse_body(app, UpdateConnectionRequest)
    return model_response(200, service().to_out(service().update(caller, connection_id, request)))


@app.post("/connections/<connection_id>/test")
def connection_test_route(connection_id: str) -> Response:
    caller = require_role(app, get_settings(), "admin")
    return model_response(200, start_connection_test(get_settings(), table(), caller, connection_id))


@app.get("/connections/<connection_id>/logins")
def login_trace(connection_id: str) -> Response:
    caller = require_role(app, get_settings(), "owner")
    query = app.current_event.query_string_parameters or {}
    limit = page_limit(query)
    page = read_trace(table(), caller, connection_id, limit, query.get("cursor"), query.get("reference"))
    return model_response(200, page)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
