"""Public login: discovery by email, and the SP-initiated start (signed AuthnRequest, POST or Redirect)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core import snapstart
from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.edge.cookies import binding_cookie
from sso_core.edge.http import create_resolver, model_response, parse_body
from sso_core.edge.pages import PAGE_HEADERS, connection_test_unusable, html_response, sso_unavailable
from sso_core.log_safe import bounded
from sso_core.logic.connection_test import open_connection_test
from sso_core.logic.login_start import LoginStart, discover, start_login_at
from sso_core.models.errors import DomainError
from sso_core.models.login import DiscoverOut, DiscoverRequest
from sso_core.observability import logger, metrics, tracer

app = create_resolver()
snapstart.register()  # SnapStart: warm before the snapshot, re-seed after each restore


@cache
def table() -> Table:
    return Table(get_settings().table_name)


@app.post("/login/discover")
def discover_route() -> Response:
    request = parse_body(app, DiscoverRequest)
    found = discover(get_settings(), table(), request.email)
    out = DiscoverOut(
        method=found.decision.method,
        redirect_url=found.redirect_url,
        password_allowed=found.decision.password_allowed,
        notice=found.decision.notice,
    )
    return model_response(200, out)


@app.get("/saml/<connection_id>/login")
def start(connection_id: str) -> Response:
    logger.append_keys(connection_id=bounded(connection_id))  # every line of this login start (cleared per invocation)
    query = app.current_event.query_string_parameters or {}
    try:
        started = start_login_at(get_settings(), table(), connection_id, query.get("email"), query.get("return_to"))
    except DomainError as exc:
        return html_response(exc.status, sso_unavailable(exc.message))
    metrics.add_metric(name="SsoLoginStarted", unit="Count", value=1)
    return _to_idp(started)


@app.get("/saml/<connection_id>/test")
def start_test(connection_id: str) -> Response:
    """The connection test's single-use link (``POST /connections/{id}/test``): the test login starts here."""
    logger.append_keys(connection_id=bounded(connection_id))
    query = app.current_event.query_string_parameters or {}
    try:
        started = open_connection_test(get_settings(), table(), connection_id, query.get("token"))
    except DomainError as exc:
        return html_response(exc.status, connection_test_unusable(exc.message))
    metrics.add_metric(name="SsoConnectionTestStarted", unit="Count", value=1)
    return _to_idp(started)


def _to_idp(started: LoginStart) -> Response:
    authn = started.authn
    cookies = [binding_cookie(c) for c in (started.cookie, started.test_mark) if c is not None]
    if authn.binding == "redirect":
        headers = {**PAGE_HEADERS, "Location": authn.url}
        return Response(status_code=302, headers=headers, cookies=cookies, body="")
    # The auto-submit page: the one set of headers, with the CSP that pins its script by hash.
    return html_response(200, authn.html, csp=authn.content_security_policy or "default-src 'none'", cookies=cookies)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
