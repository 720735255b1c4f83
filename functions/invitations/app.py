"""Invitations: admin routes (create, list, revoke, resend) and the public accept page and action."""

from __future__ import annotations

import binascii
from functools import cache
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.edge.http import create_resolver, model_response, page_limit, parse_body, require_role
from sso_core.edge.pages import accept_page, accepted_page, error_page, html_response
from sso_core.gateways.mail import mailer_for
from sso_core.logic.invitations import InvitationService
from sso_core.models.errors import DomainError
from sso_core.models.invitations import AcceptInvitationRequest, CreateInvitationRequest, InvitationUnusable
from sso_core.observability import logger, metrics, tracer

app = create_resolver()
FORM = "application/x-www-form-urlencoded"


@cache
def service() -> InvitationService:
    settings = get_settings()
    table = Table(settings.table_name)
    return InvitationService(settings, table, mailer_for(settings))


def tenant_name_claim() -> str:
    """The optional ``tenant_name`` claim of the admin's token (shown in the mail)."""
    authorizer = (app.current_event.get("requestContext") or {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or {}
    return str(claims.get("tenant_name") or "")


@app.post("/invitations")
def create_invitation() -> Response:
    caller = require_role(app, get_settings(), "admin")
    request = parse_body(app, CreateInvitationRequest)
    invitations = service()
    invitations.bind_lambda_context(app.lambda_context)
    result = invitations.create(
        caller,
        request,
        tenant_name=tenant_name_claim(),
        idempotency_key=app.current_event.headers.get("idempotency-key"),
    )
    if result.created:
        metrics.add_metric(name="InvitationCreated", unit="Count", value=1)
    return model_response(201 if result.created else 200, result.invitation)


@app.get("/invitations")
def list_invitations() -> Response:
    caller = require_role(app, get_settings(), "admin")
    query = app.current_event.query_string_parameters or {}
    return model_response(200, service().list(caller, query.get("status"), page_limit(query), query.get("cursor")))


@app.delete("/invitations/<invitation_id>")
def revoke_invitation(invitation_id: str) -> Response:
    caller = require_role(app, get_settings(), "admin")
    service().revoke(caller, invitation_id)
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


@app.post("/invitations/<invitation_id>/resend")
def resend_invitation(invitation_id: str) -> Response:
    caller = require_role(app, get_settings(), "admin")
    result = service().resend(caller, invitation_id)
    metrics.add_metric(name="InvitationResent", unit="Count", value=1)
    return model_response(200, result)


@app.get("/invitations/accept")
def accept_form() -> Response:
    token = app.current_event.get_query_string_value("token") or ""
    try:
        preview = service().preview(token)
    except InvitationUnusable as exc:
        return html_response(exc.status, error_page(exc))
    return html_response(200, accept_page(preview, token))


@app.post("/invitations/accept")
def accept_invitation() -> Response:
    content_type = (app.current_event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != FORM:
        request = parse_body(app, AcceptInvitationRequest)
        return model_response(200, service().accept(request.token))
    # The accept page's form: answer with a page, errors included.
    try:
        body = app.current_event.decoded_body or ""
    except (binascii.Error, UnicodeDecodeError):
        body = ""
    token = (parse_qs(body, keep_blank_values=True).get("token") or [""])[0]
    try:
        result = service().accept(token)
    except DomainError as exc:
        return html_response(exc.status, error_page(exc))
    metrics.add_metric(name="InvitationAccepted", unit="Count", value=1)
    return html_response(200, accepted_page(result))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
