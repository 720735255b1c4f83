"""The local stack: moto server, table from template.yaml, embedded DNS, the API adapter, the DNS-check timer,
the demo IdP (`/_local/idp`, see demo_idp.py).

Used by `sso-local run` and by the tests that exercise the whole stack over HTTP.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import boto3

from . import app_pages
from .dns_server import LocalDnsServer, free_port
from .gateway import Gateway, GatewayResponse
from .http_events import scheduled_event
from .lambda_runtime import invoke
from .template import REPO_ROOT, create_table, functions, load_template
from .tokens import TokenAuthority

if TYPE_CHECKING:
    from .demo_idp import DemoIdp
    from .oidc_issuer import LocalOidcIssuer

TABLE_NAME = "sso-local"
DEMO_IDP_PREFIX = "/_local/idp"
MAX_BODY = 1024 * 1024


def _invoke_operator_function(function: str, body: bytes, operator: str) -> GatewayResponse:
    """An IAM-invoked function without a route, invoked with the JSON command of ``body`` (400 if it is not an
    object); the answer carries the function's own status."""
    try:
        command = json.loads(body or b"{}")
    except ValueError:
        command = None
    if not isinstance(command, dict):
        return _json(400, {"error": {"code": "invalid_request", "message": "The body must be a JSON object."}})
    command.setdefault("operator", operator)
    result = invoke(functions()[function], command)
    return _json(int(result.get("status", 500)), result)


def _scheduled_function_dir(name: str = "DnsCheckFunction") -> Path:
    """The code of a scheduled function of template.yaml (the DNS check unless told otherwise)."""
    template = load_template()
    code_dir = functions(template).get(name)
    events = template["Resources"].get(name, {}).get("Properties", {}).get("Events") or {}
    if code_dir is None or not any(e.get("Type") in ("Schedule", "ScheduleV2") for e in events.values()):
        raise LookupError(f"no scheduled function {name} in template.yaml")
    return code_dir


@dataclass
class LocalStack:
    port: int = 3000
    state_dir: Path = field(default_factory=lambda: Path(".local"))
    dns_check_interval: float = 60.0
    public_url: str | None = None
    client_secret: str | None = None
    quiet: bool = False
    # Served under this path, as behind an API mapping ('/sso'); ignored when public_url is given (its path is).
    base_path: str = ""

    def __post_init__(self) -> None:
        self.state_dir = self.state_dir.resolve()
        self.base_path = (urlsplit(self.public_url).path if self.public_url else self.base_path).rstrip("/")
        self.authority = TokenAuthority(self.state_dir)
        self.dns = LocalDnsServer(authoritative=True)  # the demo zones' resolver and authoritative server
        self._moto: Any = None
        self._http: ThreadingHTTPServer | None = None
        self._serving = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.gateway = Gateway(self.authority, one_event_at_a_time=True, base_path=self.base_path)
        self.last_dns_check: dict[str, Any] | None = None
        self.demo_idp: DemoIdp | None = None  # made at start, once the URL is known
        self.oidc_issuer: LocalOidcIssuer | None = None  # the console's sign-in (local only)

    @property
    def url(self) -> str:
        return self.public_url or f"http://127.0.0.1:{self.port}{self.base_path}"

    @property
    def outbox(self) -> Path:
        return Path(os.environ.get("SSO_LOCAL_OUTBOX") or self.state_dir / "outbox").resolve()

    # ---- lifecycle --------------------------------------------------------------------------
    def start(self) -> LocalStack:
        from moto.server import ThreadedMotoServer

        from . import moto_patches

        moto_patches.install()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
        moto_port = free_port()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        self._moto.start()
        # moto keeps its backends per process: start from an empty account even if another stack ran here.
        import urllib.request

        urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{moto_port}/moto-api/reset", method="POST"), timeout=10
        ).close()
        self.dns.start()
        self.outbox.mkdir(parents=True, exist_ok=True)
        # Bound now, before anything else of the stack takes a port: a port picked free and bound later can be
        # taken in between (another server of this run, or another test process).
        self._http = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        self._http.daemon_threads = True
        self.port = int(self._http.server_address[1])
        self.client_secret = self.client_secret or os.environ.get("SSO_CLIENT_SECRET") or secrets.token_urlsafe(32)
        env = {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
            "POWERTOOLS_SERVICE_NAME": "enterprise-sso",
            "POWERTOOLS_METRICS_NAMESPACE": "EnterpriseSSO",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            "SSO_TABLE_NAME": TABLE_NAME,
            "SSO_PUBLIC_URL": self.url,
            "SSO_CLIENT_SECRET": self.client_secret,
            "SSO_LOCAL_OUTBOX": str(self.outbox),
            "SSO_ALLOW_HTTP_LOOPBACK_IDP": "true",
            "SSO_SP_KEY_SECRET_ID": "enterprise-sso/sp-signing-key",
            "SSO_MAIL_SENDER": "no-reply@sso.local",
            # The demo IdP's metadata URL may be imported (plain http, loopback): this origin and nothing else, plus
            # any the caller lists (tests serving their own metadata).
            "SSO_METADATA_URL_ALLOW": ",".join(
                [f"127.0.0.1:{self.port}", *filter(None, os.environ.get("SSO_METADATA_URL_ALLOW", "").split(","))]
            ),
        }
        from .oidc_issuer import CLIENT_ID, LocalOidcIssuer

        self.oidc_issuer = LocalOidcIssuer().start()
        env["SSO_CONSOLE_ISSUER"] = self.oidc_issuer.url
        env["SSO_CONSOLE_CLIENT_ID"] = CLIENT_ID
        env["SSO_CONSOLE_CLIENT_SECRET"] = secrets.token_urlsafe(32)  # the issuer accepts any: still, one per run
        (self.state_dir / "console.json").write_text(json.dumps({"issuer": self.oidc_issuer.url, "url": self.url}))
        env["SSO_DNS_NAMESERVERS"] = os.environ.get("SSO_DNS_NAMESERVERS") or self.dns.address
        if not os.environ.get("SSO_DNS_NAMESERVERS"):
            # The embedded server is also the demo zones' authoritative server, on 127.0.0.1 and its own port.
            env["SSO_DNS_AUTHORITATIVE_PORT"] = str(self.dns.port)
            env["SSO_DNS_AUTHORITATIVE_ALLOW_PRIVATE"] = "true"
        env["SSO_APP_REDIRECT_URL"] = os.environ.get("SSO_APP_REDIRECT_URL") or f"{self.url}/_local/app/callback"
        env["SSO_INVITE_ACCEPT_URL"] = os.environ.get("SSO_INVITE_ACCEPT_URL") or f"{self.url}/invitations/accept"
        os.environ.update(env)
        from sso_core.aws_clients import reset_clients
        from sso_core.config import get_settings

        get_settings.cache_clear()
        reset_clients()
        create_table(boto3.client("dynamodb"), TABLE_NAME)
        from .demo_idp import DemoIdp

        self.demo_idp = DemoIdp(
            self.state_dir / "demo-idp",
            self.url,
            lambda connection_id: self.gateway.call("GET", f"/saml/{connection_id}/metadata"),
        )
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self._serving = True
        if self.dns_check_interval > 0:
            threading.Thread(target=self._dns_timer, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._http is not None:
            if self._serving:  # shutdown() waits for serve_forever, which a failed start never reached
                self._http.shutdown()
            self._http.server_close()
        self.dns.stop()
        if self.oidc_issuer is not None:
            self.oidc_issuer.stop()
        if self._moto is not None:
            self._moto.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _dns_timer(self) -> None:
        while not self._stop.wait(self.dns_check_interval):
            try:
                self.run_dns_check()
            except Exception as exc:  # noqa: BLE001 - the timer must survive one failed run
                print(f"scheduled DNS check failed: {type(exc).__name__}", flush=True)

    def run_dns_check(self) -> dict[str, Any]:
        with self._lock, self.gateway.exclusive():  # one event at a time in the process, scheduled ones too
            summary = invoke(_scheduled_function_dir(), scheduled_event(), timeout_seconds=300)
        self.last_dns_check = summary
        return summary

    def run_certificate_watch(self) -> dict[str, Any]:
        """The daily IdP certificate watch, now (the local stack has no daily timer: run it on demand)."""
        with self._lock, self.gateway.exclusive():
            summary = invoke(
                _scheduled_function_dir("CertificateWatchFunction"), scheduled_event(), timeout_seconds=300
            )
        return dict(summary)

    def run_metadata_refresh(self, when: str = "") -> dict[str, Any]:
        """The daily metadata refresh, now (or as if run at ``when``, an ISO time later than now: the grace period
        of a vanished certificate can be watched without waiting days)."""
        event = scheduled_event()
        if when:
            event["time"] = when
        with self._lock, self.gateway.exclusive():
            result: dict[str, Any] = invoke(
                _scheduled_function_dir("MetadataRefreshFunction"), event, timeout_seconds=300
            )
        return result

    def console_link(self, tenant: str, email: str, role: str, accounts: list[str] | None = None) -> str:
        """A URL that signs this person in to the console through the local issuer."""
        from .oidc_issuer import console_link, register_person

        assert self.oidc_issuer is not None, "start the stack first"
        subject = register_person(self.oidc_issuer.url, tenant, email, role, accounts or [])
        return console_link(self.url, subject)

    # ---- local-only routes ------------------------------------------------------------------
    def local_route(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> GatewayResponse:
        if path == "/_local/health" and method == "GET":
            return _json(200, {"status": "ok", "dns": self.dns.address})
        if path == "/_local/dns":
            if method == "GET":
                return _json(200, {"records": self.dns.store.snapshot()})
            if method == "DELETE":
                self.dns.store.clear()
                return GatewayResponse(204)
            if method == "POST":
                try:
                    data = json.loads(body or b"{}")
                    value = data["value"]
                    if not value or not isinstance(value, str | list):
                        raise ValueError("value must be a non-empty string or a list of strings")
                    self.dns.store.add(str(data["name"]), str(data.get("type", "TXT")), value)
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    message = f"Give name, type (TXT or CNAME) and value: {exc}"
                    return _json(400, {"error": {"code": "invalid_record", "message": message}})
                return _json(201, {"records": self.dns.store.snapshot()})
        if path == "/_local/run/dns-check" and method == "POST":
            return _json(200, self.run_dns_check())
        if path == "/_local/run/certificate-watch" and method == "POST":
            return _json(200, self.run_certificate_watch())
        if path == "/_local/run/metadata-refresh" and method == "POST":
            try:
                data = json.loads(body or b"{}")
                when = str(data.get("time") or "") if isinstance(data, dict) else None
            except ValueError:
                when = None
            if when is None:
                return _json(400, {"error": {"code": "invalid_request", "message": 'Give {"time": "<ISO 8601>"}.'}})
            return _json(200, self.run_metadata_refresh(when))
        if path == "/_local/app/callback" and method == "GET":
            return self._app_callback(query)
        if path == "/_local/app":
            return GatewayResponse(308, [("location", app_pages.PATH)])
        if path == app_pages.PATH:
            return app_pages.handle(method, body, app_pages.discovery_call(self.gateway.call))
        if path == "/_local/access" and method == "POST":
            return self.support_access(body)
        if path == "/_local/sp-key" and method == "POST":
            return self.sp_key_rotation(body)
        if (path == DEMO_IDP_PREFIX or path.startswith(DEMO_IDP_PREFIX + "/")) and self.demo_idp is not None:
            return self.demo_idp.handle(method, path, query, headers, body)
        return _json(404, {"error": {"code": "route_not_found", "message": "No such local route."}})

    def api_description(self, path: str) -> GatewayResponse:
        """``/openapi.json`` (docs/openapi.json, its server this stack's URL) and ``/docs``, a page listing it."""
        from . import openapi

        document = openapi.served(self.url)
        if path == "/openapi.json":
            return _json(200, document)
        return GatewayResponse(
            200,
            [
                ("content-type", "text/html; charset=utf-8"),
                ("cache-control", "no-store"),
                ("content-security-policy", openapi.PAGE_CSP),
                ("x-content-type-options", "nosniff"),
                ("referrer-policy", "no-referrer"),
            ],
            openapi.operations_page(document).encode(),
        )

    def support_access(self, body: bytes) -> GatewayResponse:
        """Plays support's ``aws lambda invoke`` of the operator function (which has no API route)."""
        return _invoke_operator_function("SupportAccessFunction", body, "local-support")

    def sp_key_rotation(self, body: bytes) -> GatewayResponse:
        """Plays an operator's ``aws lambda invoke`` of the SP key rotation function (no API route either)."""
        return _invoke_operator_function("SpKeyRotationFunction", body, "local-operator")

    def _app_callback(self, query: str) -> GatewayResponse:
        """Plays the application: redeems the code server to server and shows the profile."""
        from html import escape

        code = (parse_qs(query).get("code") or [""])[0]
        resp = self.gateway.call(
            "POST",
            "/sso/token",
            headers={"authorization": f"Bearer {self.client_secret}", "content-type": "application/json"},
            body=json.dumps({"code": code}),
        )
        try:
            data = resp.json()
        except ValueError:
            data = {"error": {"code": "unexpected", "message": resp.text[:200]}}
        if resp.status == 200:
            title, detail = "Signed in", json.dumps(data, indent=2)
        else:
            title, detail = "Sign-in could not be completed", json.dumps(data, indent=2)
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Example app</title>"
            "<style>body{font-family:system-ui,sans-serif;margin:3rem;max-width:48rem}"
            "pre{background:#f4f4f4;padding:1rem;white-space:pre-wrap}</style></head>"
            f"<body><h1>{escape(title)}</h1><p>The example application redeemed the login code:</p>"
            f"<pre id='profile'>{escape(detail)}</pre></body></html>"
        )
        return GatewayResponse(
            200 if resp.status == 200 else 400,
            [
                ("content-type", "text/html; charset=utf-8"),
                ("cache-control", "no-store"),
                ("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'"),
            ],
            page.encode(),
        )


def _json(status: int, body: Any) -> GatewayResponse:
    return GatewayResponse(status, [("content-type", "application/json")], json.dumps(body, default=str).encode())


def _handler_for(stack: LocalStack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "sso-local"

        def log_message(self, format: str, *args: Any) -> None:
            if not stack.quiet:
                # The request line only: never headers (tokens) nor bodies (SAML, codes).
                path = urlsplit(self.path).path
                print(f"{self.command} {path} -> {args[1] if len(args) > 1 else ''}", flush=True)

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self._send(_json(413, {"error": {"code": "too_large", "message": "The body is too large."}}))
                return
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            local_path = stack.gateway.route_path(parts.path)  # the local routes answer with and without it
            try:
                if stack.gateway.base_path and local_path == parts.path and not parts.path.startswith("/_local/"):
                    resp = _json(404, {"message": "Not Found"})  # outside the API mapping's base path
                elif local_path in ("/openapi.json", "/docs") and self.command in ("GET", "HEAD"):
                    resp = stack.api_description(local_path)
                elif local_path.startswith("/_local/"):
                    resp = stack.local_route(self.command, local_path, parts.query, headers, body)
                else:
                    resp = stack.gateway.handle(
                        self.command, parts.path, query=parts.query, headers=headers, body=body or None
                    )
            except Exception as exc:  # noqa: BLE001 - API Gateway answers 500 when a function crashes
                print(f"handler crashed: {type(exc).__name__}: {exc}", flush=True)
                resp = _json(500, {"message": "Internal Server Error"})
            self._send(resp)

        def _send(self, resp: GatewayResponse) -> None:
            self.send_response(resp.status)
            for name, value in resp.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(resp.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    return Handler


__all__ = ["REPO_ROOT", "LocalStack"]
