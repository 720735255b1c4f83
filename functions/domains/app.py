"""Domains (owner): add, list, get, delete, and check DNS now."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core.config import get_settings
from sso_core.dal.domains import DomainRepository
from sso_core.dal.table import Table
from sso_core.edge.http import create_resolver, model_response, page_limit, parse_body, require_role
from sso_core.logic.domain_verification import DomainService
from sso_core.models.domains import AddDomainRequest
from sso_core.observability import logger, metrics, tracer

app = create_resolver()


@cache
def service() -> DomainService:
    settings = get_settings()
    return DomainService(settings, DomainRepository(Table(settings.table_name)))


@app.post("/domains")
def add_domain() -> Response:
    caller = require_role(app, get_settings(), "owner")
    request = parse_body(app, AddDomainRequest)
    created, domain = service().add(caller, request.domain)
    if created:
        metrics.add_metric(name="DomainClaimed", unit="Count", value=1)
    return model_response(201 if created else 200, domain)


@app.get("/domains")
def list_domains() -> Response:
    caller = require_role(app, get_settings(), "owner")
    query = app.current_event.query_string_parameters or {}
    return model_response(200, service().list(caller, page_limit(query), query.get("cursor")))


@app.get("/domains/<domain>")
def get_domain(domain: str) -> Response:
    caller = require_role(app, get_settings(), "owner")
    return model_response(200, service().get(caller, domain))


@app.delete("/domains/<domain>")
def delete_domain(domain: str) -> Response:
    caller = require_role(app, get_settings(), "owner")
    service().delete(caller, domain)
    return Response(status_code=204, body="")


@app.post("/domains/<domain>/verify")
def verify_domain(domain: str) -> Response:
    caller = require_role(app, get_settings(), "owner")
    result = service().verify_now(caller, domain)
    metrics.add_metric(name=f"DomainCheck_{result.check.result}", unit="Count", value=1)
    return model_response(200, result)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
