"""The SAML assertion consumer service (public): validates the IdP's POST completely, then hands a one-time code
to the application. Failures show "SSO auth failed" and a reference; the reason goes to the login trace."""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core import snapstart
from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.edge.http import create_resolver
from sso_core.edge.pages import PAGE_HEADERS, sso_failed, sso_unsolicited
from sso_core.logic.assertion_consumer import AcsService, new_reference
from sso_core.observability import logger, metrics, tracer

app = create_resolver()
snapstart.register()  # SnapStart: warm before the snapshot, re-seed after each restore
MAX_FORM_BYTES = 400 * 1024  # the SAMLResponse itself is capped at 256 KiB by the validator


@cache
def service() -> AcsService:
    settings = get_settings()
    return AcsService(settings, Table(settings.table_name))


def _page(status: int, html: str) -> Response:
    return Response(status_code=status, content_type="text/html; charset=utf-8", body=html, headers=PAGE_HEADERS)


@app.post("/saml/<connection_id>/acs")
def acs(connection_id: str) -> Response:
    event = app.current_event
    raw = event.decoded_body or ""
    if len(raw) > MAX_FORM_BYTES:
        refused = service().refuse_unread(connection_id, "too_large", "the form is larger than 400 KiB")
        return _page(413, sso_failed(refused.reference))
    try:
        form = parse_qs(raw, max_num_fields=8, keep_blank_values=True) if raw else {}
    except ValueError:  # more fields than an IdP ever posts
        refused = service().refuse_unread(connection_id, "malformed", "the form could not be read")
        return _page(400, sso_failed(refused.reference))
    cookies: dict[str, str] = {}
    for pair in event.cookies or []:
        name, _, value = pair.partition("=")
        cookies.setdefault(name.strip(), value.strip())
    result = service().consume(connection_id, (form.get("SAMLResponse") or [None])[0], cookies)
    if result.outcome == "success" and result.redirect_url:
        expire = []
        if result.clear_cookie is not None:
            c = result.clear_cookie
            expire = [
                Cookie(
                    name=c.name,
                    value="",
                    path=c.path,
                    secure=True,
                    http_only=True,
                    max_age=0,
                    same_site=SameSite.NONE_MODE,
                )
            ]
        return Response(
            status_code=302,
            headers={"Location": result.redirect_url, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
            cookies=expire,
            body="",
        )
    if result.outcome == "unsolicited":
        return _page(400, sso_unsolicited(result.reference))
    status = 403 if result.reason in _FORBIDDEN else 400
    return _page(status, sso_failed(result.reference))


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    """The browser gets the failure page, whatever broke; the log gets the error under the same reference."""
    reference = new_reference()
    connection_id = (app.current_event.path_parameters or {}).get("connection_id")
    logger.exception(
        "ACS failed", extra={"reference": reference, "connection_id": connection_id, "error_type": type(exc).__name__}
    )
    return _page(500, sso_failed(reference))


# Refusals about who the user is or may be (as opposed to a malformed or mismatched message).
_FORBIDDEN = frozenset(
    {"user_not_invited", "invitation_not_accepted", "domain_not_verified", "connection_disabled", "replayed"}
)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
