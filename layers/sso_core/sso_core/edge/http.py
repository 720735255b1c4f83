"""The HTTP edge shared by every handler: resolver factory, caller identity, error mapping.

One place maps domain exceptions to HTTP responses. Handlers stay thin: parse, call logic, return.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from sso_core.config import Settings, base_path_from_env
from sso_core.models.audit import current_request_id
from sso_core.models.errors import DomainError, Forbidden, InvalidRequest, Unauthorized
from sso_core.models.identity import ROLE_RANK, Caller
from sso_core.observability import logger

M = TypeVar("M", bound=BaseModel)


def error_body(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message}})


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, default=str),
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def model_response(status: int, model: BaseModel) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=model.model_dump_json(),
        headers={"Cache-Control": "no-store"},
    )


def _list_claim(value: Any) -> list[str]:
    """HTTP API passes array claims as '[a b]' strings; tokens may also carry lists or CSV."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
        try:
            parsed = json.loads(f"[{text}]") if '"' in text else None
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [str(v) for v in parsed]
    return [p for p in text.replace(",", " ").split() if p]


def caller_from_claims(claims: Mapping[str, Any], settings: Settings) -> Caller:
    tenant = claims.get(settings.claim_tenant)
    if not tenant:
        raise Unauthorized("The token carries no tenant.")
    roles = [r for r in _list_claim(claims.get(settings.claim_roles)) if r in ROLE_RANK]
    if not roles:
        raise Forbidden("The token carries no known role.")
    role = max(roles, key=ROLE_RANK.__getitem__)
    return Caller(
        tenant_id=str(tenant),
        email=str(claims.get(settings.claim_email) or ""),
        role=role,
        accounts=tuple(_list_claim(claims.get(settings.claim_accounts))),
    )


def require_role(app: APIGatewayHttpResolver, settings: Settings, role: str) -> Caller:
    """The caller from the JWT authorizer's claims, refused unless their role is at least ``role``."""
    authorizer = (app.current_event.get("requestContext") or {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims")
    if not claims:
        raise Unauthorized()
    caller = caller_from_claims(claims, settings)
    if not caller.at_least(role):
        raise Forbidden(f"This action needs the {role} role.")
    return caller


def parse_body(app: APIGatewayHttpResolver, model: type[M]) -> M:
    raw = app.current_event.body
    if raw is None or raw == "":
        raise InvalidRequest("A JSON body is required.")
    try:
        data = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest("The body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(_describe(exc.errors(include_url=False))) from exc


def page_limit(query: Mapping[str, str], default: int = 50, maximum: int = 200) -> int:
    """The ``limit`` query parameter of a paginated list: 1 to ``maximum``, else 400."""
    try:
        limit = int(query.get("limit", str(default)))
    except ValueError:
        raise InvalidRequest(f"limit must be a number from 1 to {maximum}.") from None
    if not 1 <= limit <= maximum:
        raise InvalidRequest(f"limit must be a number from 1 to {maximum}.")
    return limit


def _describe(errors: Iterable[Mapping[str, Any]]) -> str:
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        if err.get("type") == "extra_forbidden":
            parts.append(f"unknown field '{where}'")
        elif err.get("type") == "missing":
            parts.append(f"missing field '{where}'")
        else:
            parts.append(f"{where}: {err.get('msg')}")
    return "Invalid request: " + "; ".join(parts) + "."


def _bind_request_id(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """Every request, public or not, names itself in the audit entries it writes (API Gateway's request id).

    Set per request, never left over: Lambda reuses the process (and this context) across invocations.
    """
    current_request_id.set(str((app.current_event.get("requestContext") or {}).get("requestId") or ""))
    return next_middleware(app)


class BasePathResolver(APIGatewayHttpResolver):
    """Routes by the path after ``SSO_PUBLIC_URL``'s base path: behind a custom domain's API mapping ('/sso'),
    API Gateway hands the function the whole path ('/sso/saml/...'), while the routes are declared without it.
    Read at each event (the local stack and tests change the URL within one process); a path without the base path
    still routes, as the API's own endpoint sends it."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        base = base_path_from_env(os.environ)
        self._strip_prefixes = [base] if base else None
        return super().resolve(event, context)


def create_resolver() -> APIGatewayHttpResolver:
    """A resolver with the service's error mapping and the request id binding installed."""
    app = BasePathResolver()
    app.use(middlewares=[_bind_request_id])

    @app.exception_handler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        if exc.status >= 500:
            logger.error("request failed", extra={"error_code": exc.code})
        else:
            logger.info("request refused", extra={"error_code": exc.code, "status": exc.status})
        return Response(
            status_code=exc.status,
            content_type=content_types.APPLICATION_JSON,
            body=error_body(exc.code, exc.message),
            headers={"Cache-Control": "no-store"},
        )

    @app.not_found
    def _not_found(_exc: NotFoundError) -> Response:
        return Response(
            status_code=404,
            content_type=content_types.APPLICATION_JSON,
            body=error_body("route_not_found", "No such route."),
        )

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error", extra={"error_type": type(exc).__name__})
        return Response(
            status_code=500,
            content_type=content_types.APPLICATION_JSON,
            body=error_body("internal_error", "Something went wrong on our side; try again."),
        )

    return app
