"""The operator's rotation of the SP signing key: stage, switch, retire (cancel, notify, show).

Invoked directly (``lambda:InvokeFunction``, authenticated and authorised by AWS IAM); it has no API route, so no
customer token can reach it. The event is a command, never an HTTP request:

    {"action": "stage", "operator": "jane@ops", "days": 30}            (or "switch_at": "2027-01-15T09:00:00Z")
    {"action": "switch", "operator": "jane@ops", "force": false}
    {"action": "retire" | "cancel" | "notify" | "show", "operator": "jane@ops"}

``request_id`` (optional) names one command across its retries; it defaults to the Lambda request id, which
Lambda's own retries keep. The answer is ``{"status": 200, "sp_key": {...}}`` or
``{"status": 4xx|503, "error": {"code": ..., "message": ...}}``. Procedure: docs/sp-key-rotation.md.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.logic.sp_key_rotation import SpKeyRotation
from sso_core.models.errors import DomainError
from sso_core.models.sp_keys import SpKeyCommand, SpKeyStatus
from sso_core.observability import logger, metrics, tracer

# What an API Gateway (or any HTTP front) event carries: such an event is refused, whatever it says.
HTTP_EVENT_KEYS = ("requestContext", "routeKey", "httpMethod", "headers", "rawPath")


@cache
def service() -> SpKeyRotation:
    settings = get_settings()
    return SpKeyRotation(settings, Table(settings.table_name))


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"status": status, "error": {"code": code, "message": message}}


def handle(event: Any, default_request_id: str) -> dict[str, Any]:
    if not isinstance(event, dict):
        return _error(400, "invalid_request", "The event must be a JSON object.")
    if any(k in event for k in HTTP_EVENT_KEYS):
        logger.warning("SP key rotation: HTTP-shaped event refused")
        return _error(403, "forbidden", "This function is invoked directly by an operator, never over HTTP.")
    try:
        command = SpKeyCommand.model_validate(event)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "event" for e in exc.errors(include_url=False))
        return _error(400, "invalid_request", f"Invalid command: check {fields}.")
    request_id = command.request_id or default_request_id
    rotation = service()
    try:
        out: SpKeyStatus
        if command.action == "stage":
            out = rotation.stage(command.operator, request_id, command.switch_at, command.days)
        elif command.action == "switch":
            out = rotation.switch(command.operator, request_id, command.force)
        elif command.action == "retire":
            out = rotation.retire(command.operator, request_id)
        elif command.action == "cancel":
            out = rotation.cancel(command.operator, request_id)
        elif command.action == "notify":
            out = rotation.notify()
        else:
            out = rotation.show()
    except DomainError as exc:
        return _error(exc.status, exc.code, exc.message)
    if command.action not in ("show", "notify"):
        metrics.add_metric(name="SpKeyRotationStep", unit="Count", value=1)
    return {"status": 200, "sp_key": out.model_dump(mode="json")}


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    return handle(event, context.aws_request_id)
