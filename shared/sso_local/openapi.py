"""The OpenAPI 3.1 document of the public API, generated from the code: ``python -m sso_local.openapi`` (``make
openapi``) writes ``docs/openapi.json``.

Two sources, each the one the running service already obeys:

- the routes (method, path, path parameters, public or behind the JWT authorizer) come from ``template.yaml``,
  the table API Gateway and the local stack route by;
- what each operation takes and answers comes from ``OPERATIONS`` below: the pydantic models the handlers parse
  (``parse_body``) and return (``model_response``), query parameters, and the statuses that are not errors. Every
  4xx carries the one error shape of ``edge/http.py``.

A new route needs its entry in ``OPERATIONS`` and a regenerated document; ``tests/openapi/`` fails until both are
there. Not documented here: the console's HTML routes (``/console/...``, see docs/console.md) and SCIM
(``/scim/v2/...``: RFC 7643/7644 define its schemas, see docs/provisioning.md).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from hashlib import sha256
from html import escape
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from sso_core.logic.connection_test import ConnectionTestLink
from sso_core.logic.kill_switches import PasswordLoginOut, StatusOut
from sso_core.logic.login_trace import TracePage
from sso_core.models.audit import AuditPage
from sso_core.models.connections import (
    AddCertificateRequest,
    ConnectionList,
    ConnectionOut,
    CreateConnectionRequest,
    IdpFieldsRequest,
    UpdateConnectionRequest,
)
from sso_core.models.domains import AddDomainRequest, DomainList, DomainOut, VerifyOut
from sso_core.models.invitations import (
    AcceptInvitationRequest,
    AcceptOut,
    CreateInvitationRequest,
    InvitationCreated,
    InvitationList,
    InvitationOut,
)
from sso_core.models.login import DiscoverOut, DiscoverRequest, Profile, TokenRequest
from sso_core.models.provisioning import ActivityPage, ProvisioningSettings, ProvisioningSettingsOut, ScimTokenOut
from sso_core.models.switches import Toggle
from sso_core.models.users import UpdateUserRequest, UserList, UserOut

from .template import REPO_ROOT, Route, routes

DOCUMENT_PATH = REPO_ROOT / "docs" / "openapi.json"
REGENERATE = "make openapi  (or: .venv/bin/python -m sso_local.openapi)"
# Routes of the template the document leaves out, by path prefix, and why (docs/decisions.md).
EXCLUDED_PREFIXES = {
    "/console/": "the admin console's HTML pages and form posts (docs/console.md)",
    "/scim/v2/": "SCIM 2.0, whose resources and errors RFC 7643/7644 define (docs/provisioning.md)",
}

JSON = "application/json"
HTML = "text/html"
FORM = "application/x-www-form-urlencoded"


# ---- operations -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Body:
    """One response (or request) body: a model as JSON, or a media type with a free-form description."""

    model: type[BaseModel] | None = None
    media: str = JSON
    description: str = ""


@dataclass(frozen=True)
class Query:
    name: str
    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False


LIMIT = Query("limit", "Page size, 1 to 200 (default 50).", {"type": "integer", "minimum": 1, "maximum": 200})
CURSOR = Query("cursor", "The `next_cursor` of the previous page.")
PAGED = (LIMIT, CURSOR)


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    responses: Mapping[int, Body | None]  # the answers that are not errors; None: an empty body
    request: tuple[Body, ...] = ()
    query: tuple[Query, ...] = ()
    # Errors answer {"error": {"code", "message"}} as JSON, or as an HTML page on the browser's routes.
    error_media: tuple[str, ...] = (JSON,)
    server_errors: tuple[int, ...] = ()  # 5xx an operation answers on purpose (e.g. 502 mail_not_sent)
    headers: tuple[Query, ...] = ()
    description: str = ""


def _json(model: type[BaseModel], description: str = "") -> Body:
    return Body(model, JSON, description)


PAGE = Body(None, HTML, "An HTML page.")
REDIRECT = Body(None, "", "A redirect: the `Location` header says where.")

OPERATIONS: dict[str, Operation] = {
    # Domains
    "POST /domains": Operation(
        "Claim a domain",
        "domains",
        {201: _json(DomainOut, "Claimed"), 200: _json(DomainOut, "Already claimed by this tenant")},
        request=(_json(AddDomainRequest),),
    ),
    "GET /domains": Operation("List domains", "domains", {200: _json(DomainList)}, query=PAGED),
    "GET /domains/{domain}": Operation("Get a domain", "domains", {200: _json(DomainOut)}),
    "DELETE /domains/{domain}": Operation("Delete a domain claim", "domains", {204: None}),
    "POST /domains/{domain}/verify": Operation("Check the domain's DNS record now", "domains", {200: _json(VerifyOut)}),
    "PUT /domains/{domain}/password-login": Operation(
        "Switch password login on or off for a domain",
        "kill switches",
        {200: _json(PasswordLoginOut)},
        request=(_json(Toggle),),
    ),
    # Connections
    "POST /connections": Operation(
        "Create a connection", "connections", {201: _json(ConnectionOut)}, request=(_json(CreateConnectionRequest),)
    ),
    "GET /connections": Operation("List connections", "connections", {200: _json(ConnectionList)}),
    "GET /connections/{connection_id}": Operation("Get a connection", "connections", {200: _json(ConnectionOut)}),
    "PATCH /connections/{connection_id}": Operation(
        "Change a connection's settings",
        "connections",
        {200: _json(ConnectionOut)},
        request=(_json(UpdateConnectionRequest),),
    ),
    "PUT /connections/{connection_id}/idp": Operation(
        "Import the IdP (metadata XML, or entity id, sign-in URL and certificates)",
        "connections",
        {200: _json(ConnectionOut)},
        request=(_json(IdpFieldsRequest),),
    ),
    "DELETE /connections/{connection_id}": Operation(
        "Delete a connection that is not switched on", "connections", {204: None}
    ),
    "POST /connections/{connection_id}/idp/certificates": Operation(
        "Add an IdP signing certificate (rollover: the IdP's next one)",
        "connections",
        {201: _json(ConnectionOut)},
        request=(_json(AddCertificateRequest),),
    ),
    "DELETE /connections/{connection_id}/idp/certificates/{fingerprint}": Operation(
        "Remove an IdP signing certificate by its SHA-256 fingerprint", "connections", {200: _json(ConnectionOut)}
    ),
    "POST /connections/{connection_id}/test": Operation(
        "Start a connection test: a single-use link for the caller's browser (owner or admin)",
        "connections",
        {200: _json(ConnectionTestLink)},
    ),
    "GET /connections/{connection_id}/logins": Operation(
        "The connection's login trace, newest first",
        "connections",
        {200: _json(TracePage)},
        query=(*PAGED, Query("reference", "Only the login with this reference (from the failure page).")),
    ),
    "PUT /connections/{connection_id}/status": Operation(
        "Switch Enterprise SSO on or off for a connection",
        "kill switches",
        {200: _json(StatusOut)},
        request=(_json(Toggle),),
    ),
    # Invitations and users
    "POST /invitations": Operation(
        "Invite a person by email",
        "invitations",
        {201: _json(InvitationCreated, "Invited"), 200: _json(InvitationCreated, "Already invited")},
        request=(_json(CreateInvitationRequest),),
        headers=(Query("Idempotency-Key", "Repeats of one request answer as the first (at most 255 characters)."),),
        server_errors=(502,),
    ),
    "GET /invitations": Operation(
        "List invitations",
        "invitations",
        {200: _json(InvitationList)},
        query=(Query("status", "Only invitations in this status."), *PAGED),
    ),
    "DELETE /invitations/{id}": Operation("Revoke an invitation", "invitations", {204: None}),
    "POST /invitations/{id}/resend": Operation(
        "Mail a new link", "invitations", {200: _json(InvitationOut)}, server_errors=(502,)
    ),
    "GET /invitations/accept": Operation(
        "The invitation's accept page (public)",
        "invitations",
        {200: PAGE},
        query=(Query("token", "The token of the invitation mail's link."),),
        error_media=(HTML,),
    ),
    "POST /invitations/accept": Operation(
        "Accept an invitation (public): JSON answers JSON, the accept page's form post answers a page",
        "invitations",
        {200: Body(AcceptOut, JSON, "Accepted (a form post gets an HTML page)")},
        request=(_json(AcceptInvitationRequest), Body(AcceptInvitationRequest, FORM)),
        error_media=(JSON, HTML),
    ),
    "GET /users": Operation("List members", "users", {200: _json(UserList)}, query=PAGED),
    "PATCH /users/{id}": Operation(
        "Change a member's role or accounts", "users", {200: _json(UserOut)}, request=(_json(UpdateUserRequest),)
    ),
    "DELETE /users/{id}": Operation("Remove a member", "users", {204: None}),
    # Provisioning
    "POST /provisioning/scim-token": Operation(
        "Create or rotate the SCIM token (shown once)", "provisioning", {201: _json(ScimTokenOut)}
    ),
    "DELETE /provisioning/scim-token": Operation("Revoke the SCIM token", "provisioning", {204: None}),
    "GET /provisioning/settings": Operation(
        "Provisioning settings", "provisioning", {200: _json(ProvisioningSettingsOut)}
    ),
    "PUT /provisioning/settings": Operation(
        "Save provisioning settings (group mappings)",
        "provisioning",
        {200: _json(ProvisioningSettingsOut)},
        request=(_json(ProvisioningSettings),),
    ),
    "GET /provisioning/activity": Operation(
        "Provisioning activity, newest first", "provisioning", {200: _json(ActivityPage)}, query=PAGED
    ),
    "GET /audit": Operation("The audit log, newest first", "audit", {200: _json(AuditPage)}, query=PAGED),
    # Public SAML and login routes
    "GET /saml/{connection_id}/metadata": Operation(
        "The SP metadata of a connection (public)",
        "saml",
        {200: Body(None, "application/samlmetadata+xml", "SAML 2.0 SP metadata")},
    ),
    "GET /saml/{connection_id}/certificate": Operation(
        "The SP signing certificate of a connection (public); `?which=next` the staged next one",
        "saml",
        {200: Body(None, "application/x-pem-file", "PEM certificate")},
        query=(
            Query(
                "which",
                "`next`: the certificate staged for the next SP key (404 when none).",
                {"enum": ["next"], "type": "string"},
            ),
        ),
    ),
    "GET /saml/{connection_id}/login": Operation(
        "Start an SP-initiated login (public, a browser route): the IdP's sign-in by POST page or redirect",
        "login",
        {200: Body(None, HTML, "The auto-submitting page that POSTs the AuthnRequest"), 302: REDIRECT},
        query=(
            Query("email", "The person's address, passed to the IdP as a login hint."),
            Query("return_to", "A path of the application to come back to."),
        ),
        error_media=(HTML,),
    ),
    "GET /saml/{connection_id}/test": Operation(
        "Open a connection test's single-use link (public, a browser route): starts the test login",
        "login",
        {200: Body(None, HTML, "The auto-submitting page that POSTs the AuthnRequest"), 302: REDIRECT},
        query=(Query("token", "The link's single-use token (from POST /connections/{id}/test)."),),
        error_media=(HTML,),
    ),
    "POST /saml/{connection_id}/acs": Operation(
        "The assertion consumer service (public, the IdP's POST)",
        "login",
        {302: REDIRECT, 200: Body(None, HTML, "A connection test's result page (no code, nobody signed in)")},
        request=(Body(None, FORM, "`SAMLResponse` (and `RelayState`) as the IdP posts them"),),
        error_media=(HTML,),
        server_errors=(500,),
        description='Every refusal is an HTML page that says "SSO auth failed" and gives a reference; the '
        "reason is in the connection's login trace. A connection test's response (the browser holds the test "
        "mark) is answered with its result page instead of a redirect.",
    ),
    "POST /login/discover": Operation(
        "Which sign-in an email gets (public, for the application's server)",
        "login",
        {200: _json(DiscoverOut)},
        request=(_json(DiscoverRequest),),
    ),
    "POST /sso/token": Operation(
        "Redeem the one-time code for the profile (public, the application's server, client secret as bearer)",
        "login",
        {200: _json(Profile)},
        request=(_json(TokenRequest),),
    ),
}


# ---- assembly ---------------------------------------------------------------------------------------------------
def key(route: Route) -> str:
    return f"{route.method} {route.path}"


def excluded(route: Route) -> bool:
    return any(route.path.startswith(prefix) for prefix in EXCLUDED_PREFIXES)


def documented_routes(route_table: list[Route] | None = None) -> list[Route]:
    return [r for r in (route_table if route_table is not None else routes()) if not excluded(r)]


class MissingOperation(LookupError):
    pass


def _schemas(models: list[type[BaseModel]]) -> tuple[dict[type[BaseModel], dict[str, Any]], dict[str, Any]]:
    """One schema per model under components/schemas (validation form: what a client may rely on receiving)."""
    unique = list(dict.fromkeys(models))
    refs, top = models_json_schema([(m, "validation") for m in unique], ref_template="#/components/schemas/{model}")
    return {m: refs[(m, "validation")] for m in unique}, dict(top.get("$defs", {}))


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Machine-readable, stable (docs/api.md)."},
                "message": {"type": "string", "description": "For people; may change."},
            },
        }
    },
}
GATEWAY_ERROR_SCHEMA = {
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
    "description": "API Gateway's own answer when the JWT authorizer refuses the bearer token.",
}


def _content(body: Body, ref: Mapping[type[BaseModel], dict[str, Any]]) -> dict[str, Any]:
    if not body.media:
        return {}
    schema: dict[str, Any] = dict(ref[body.model]) if body.model is not None else {"type": "string"}
    return {body.media: {"schema": schema}}


def _error_response(media: tuple[str, ...], description: str) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for m in media:
        content[m] = {"schema": {"$ref": "#/components/schemas/Error"}} if m == JSON else {"schema": {"type": "string"}}
    return {"description": description, "content": content}


def build(route_table: list[Route] | None = None, operations: Mapping[str, Operation] | None = None) -> dict[str, Any]:
    """The document, deterministic (same code, same bytes)."""
    operations = OPERATIONS if operations is None else operations
    chosen = documented_routes(route_table)
    missing = [key(r) for r in chosen if key(r) not in operations]
    if missing:
        raise MissingOperation(
            "routes of template.yaml without an entry in sso_local/openapi.py OPERATIONS: " + ", ".join(missing)
        )
    models: list[type[BaseModel]] = []
    for r in chosen:
        op = operations[key(r)]
        models += [b.model for b in (*op.request, *[b for b in op.responses.values() if b]) if b.model is not None]
    ref, defs = _schemas(models)
    defs["Error"] = ERROR_SCHEMA
    defs["GatewayError"] = GATEWAY_ERROR_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for r in sorted(chosen, key=lambda r: (r.path, r.method)):
        op = operations[key(r)]
        item: dict[str, Any] = {
            "operationId": _operation_id(r),
            "summary": op.summary,
            "tags": [op.tag],
        }
        if op.description:
            item["description"] = op.description
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
            for name in _path_params(r.path)
        ]
        params += [
            {"name": q.name, "in": "query", "required": q.required, "description": q.description, "schema": q.schema}
            for q in op.query
        ]
        params += [
            {"name": h.name, "in": "header", "required": h.required, "description": h.description, "schema": h.schema}
            for h in op.headers
        ]
        if params:
            item["parameters"] = params
        if op.request:
            content: dict[str, Any] = {}
            for request_body in op.request:
                content.update(_content(request_body, ref))
            item["requestBody"] = {"required": True, "content": content}
        responses: dict[str, Any] = {}
        for status, body in sorted(op.responses.items()):
            described = (body.description if body else "") or ("No content" if body is None else "OK")
            out: dict[str, Any] = {"description": described}
            if body is not None and body.media:
                out["content"] = _content(body, ref)
            if status in (301, 302, 303, 307, 308):
                out["headers"] = {"Location": {"schema": {"type": "string"}, "required": True}}
            responses[str(status)] = out
        if r.public:
            item["security"] = [] if key(r) != "POST /sso/token" else [{"clientSecret": []}]
        else:
            item["security"] = [{"adminJwt": []}]
            responses["401"] = {
                "description": "No valid bearer token (API Gateway), or a token without a tenant (the service)",
                "content": {
                    JSON: {
                        "schema": {
                            "anyOf": [
                                {"$ref": "#/components/schemas/GatewayError"},
                                {"$ref": "#/components/schemas/Error"},
                            ]
                        }
                    }
                },
            }
        responses["4XX"] = _error_response(op.error_media, "Refused: the `code` says why (docs/api.md)")
        for status in op.server_errors:
            responses[str(status)] = _error_response(op.error_media, "Failed on our side or a service we call")
        item["responses"] = responses
        paths.setdefault(r.path, {})[r.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Enterprise SSO",
            "version": _version(),
            "description": "The public API of the Enterprise SSO service. Generated from the code by "
            "`make openapi`; the prose, error codes and rules are in docs/api.md.",
        },
        "servers": [{"url": "/", "description": "SSO_PUBLIC_URL (its base path included)"}],
        "tags": [{"name": t} for t in sorted({operations[key(r)].tag for r in chosen})],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(defs.items())),
            "securitySchemes": {
                "adminJwt": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The company identity service's token, checked by API Gateway's JWT authorizer; "
                    "the role claim decides (owner or admin, per route in docs/api.md).",
                },
                "clientSecret": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The application's client secret (SSO_CLIENT_SECRET).",
                },
            },
        },
    }


def _path_params(path: str) -> list[str]:
    return [s[1:-1].rstrip("+") for s in path.split("/") if s.startswith("{") and s.endswith("}")]


def _operation_id(route: Route) -> str:
    words = [route.method.lower()]
    for segment in route.path.strip("/").split("/"):
        words.append("by_" + segment[1:-1] if segment.startswith("{") else segment.replace("-", "_"))
    return "_".join(words)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("enterprise-sso")
    except PackageNotFoundError:  # pragma: no cover - the project is installed in every venv that runs this
        return "0.0.0"


def served(url: str) -> dict[str, Any]:
    """The committed document as a running stack serves it: its one server is that stack's URL."""
    document = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    document["servers"] = [{"url": url}]
    return dict(document)


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1b1f24;padding:0 1rem}"
    "table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid "
    "#d8dde3;vertical-align:top}code{font-size:.95em}.m{font-weight:700;font-family:monospace}.muted{color:#5a6270}"
)
PAGE_CSP = (
    f"default-src 'none'; style-src 'sha256-{base64.b64encode(sha256(_STYLE.encode()).digest()).decode()}'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def operations_page(document: Mapping[str, Any]) -> str:
    """A readable list of the document's operations: no script, no third-party origin (the house CSP)."""
    rows = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            auth = "bearer JWT" if op.get("security") == [{"adminJwt": []}] else "public"
            if op.get("security") == [{"clientSecret": []}]:
                auth = "client secret"
            request = ", ".join((op.get("requestBody") or {}).get("content", {})) or "-"
            answers = ", ".join(op["responses"])
            rows.append(
                f"<tr><td class='m'>{escape(method.upper())}</td><td><code>{escape(path)}</code></td>"
                f"<td>{escape(op['summary'])}</td><td>{escape(auth)}</td><td>{escape(request)}</td>"
                f"<td>{escape(answers)}</td></tr>"
            )
    server = escape(document["servers"][0]["url"])
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(document['info']['title'])} API</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>{escape(document['info']['title'])} API</h1>"
        f"<p class='muted'>Server <code>{server}</code>. The whole contract: <a href='openapi.json'>openapi.json</a> "
        "(OpenAPI 3.1); rules and error codes in docs/api.md.</p>"
        "<table><thead><tr><th>method</th><th>path</th><th>what</th><th>auth</th><th>body</th><th>answers</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table></main></body></html>"
    )


def render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sso_local.openapi", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DOCUMENT_PATH, help="where to write (default docs/openapi.json)")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when the file differs")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is not what the code generates; run: {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(OPERATIONS)} operations described)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
