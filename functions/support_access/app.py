"""Support's operator surface: grant, revoke or show a tenant's access to Enterprise SSO.

Invoked directly (``lambda:InvokeFunction``, authenticated and authorised by AWS IAM); it has no API route, so no
customer token can reach it. The event is a command, never an HTTP request:

    {"action": "grant" | "revoke" | "show", "tenant_id": "acme", "operator": "jane@support", "plan": "contract"}

The answer is ``{"status": 200, "access": {...}}`` or ``{"status": 4xx, "error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.logic.sso_access import SsoAccessService
from sso_core.models.errors import DomainError
from sso_core.models.sso_access import AccessCommand, AccessOut
from sso_core.observability import logger, metrics, tracer

# What an API Gateway (or any HTTP front) event carries: such an event is refused, whatever it says.
HTTP_EVENT_KEYS = ("requestContext", "routeKey", "httpMethod", "headers", "rawPath")
METRICS = {"grant": "SsoAccessGranted", "revoke": "SsoAccessRevoked"}


@cache
def service() -> SsoAccessService:
    settings = get_settings()
    return SsoAccessService(settings, Table(settings.table_name))


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"status": status, "error": {"code": code, "message": message}}


def handle(event: Any) -> dict[str, Any]:
    if not isinstance(event, dict):
        return _error(400, "invalid_request", "The event must be a JSON object.")
    if any(k in event for k in HTTP_EVENT_KEYS):
        logger.warning("support access: HTTP-shaped event refused")
        return _error(403, "forbidden", "This function is invoked directly by support, never over HTTP.")
    try:
        command = AccessCommand.model_validate(event)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "event" for e in exc.errors(include_url=False))
        return _error(400, "invalid_request", f"Invalid command: check {fields}.")
    try:
        out: AccessOut
        if command.action == "grant":
            out = service().grant(command.tenant_id, command.plan, command.operator)
        elif command.action == "revoke":
            out = service().revoke(command.tenant_id, command.operator, command.reason)
        else:
            out = service().show(command.tenant_id)
    except DomainError as exc:
        return _error(exc.status, exc.code, exc.message)
    if command.action != "show" and out.message != "No change.":
        metrics.add_metric(name=METRICS[command.action], unit="Count", value=1)
    return {"status": 200, "access": out.model_dump(mode="json")}


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    return handle(event)
