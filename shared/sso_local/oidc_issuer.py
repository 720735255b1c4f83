"""The local OpenID Connect issuer the admin console signs in with: ``oidc-provider-mock`` on 127.0.0.1.

Local only, like the demo IdP. Two additions around the package's WSGI app, both small:
- PKCE is required and checked (the package accepts any code_verifier): the authorization request must carry an
  S256 ``code_challenge``, and the token request the verifier that hashes to it.
- ``login_hint`` naming a person registered through ``PUT /users/<sub>`` (what ``sso-local console-link`` does)
  authorizes that person at once, so the printed link lands signed in; any other request shows the package's
  own "Authorize" form.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import threading
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from werkzeug.serving import BaseWSGIServer, make_server

from .dns_server import free_port

CLIENT_ID = "sso-console-local"


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _error(start_response: Any, status: str, code: str, description: str) -> list[bytes]:
    body = json.dumps({"error": code, "error_description": description}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class _PkceAndHint:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.known: set[str] = set()
        self.challenges: dict[str, str] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/users/") and method == "PUT" and path.count("/") == 2:
            with self.lock:
                self.known.add(unquote(path[len("/users/") :]))
        if path == "/oauth2/authorize":
            return self._authorize(environ, start_response, method)
        if path == "/oauth2/token" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            form = parse_qs(raw.decode("utf-8", "replace"))
            if (form.get("grant_type") or [""])[0] == "authorization_code":
                code = (form.get("code") or [""])[0]
                verifier = (form.get("code_verifier") or [""])[0]
                with self.lock:
                    challenge = self.challenges.pop(code, None)
                if challenge is None or not verifier or _s256(verifier) != challenge:
                    return _error(start_response, "400 Bad Request", "invalid_grant", "PKCE verification failed")
            environ["wsgi.input"] = io.BytesIO(raw)
        return self.app(environ, start_response)

    def _authorize(self, environ: dict[str, Any], start_response: Any, method: str) -> Any:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        challenge = (query.get("code_challenge") or [""])[0]
        if not challenge or (query.get("code_challenge_method") or [""])[0] != "S256":
            return _error(start_response, "400 Bad Request", "invalid_request", "PKCE with S256 is required")
        hint = (query.get("login_hint") or [""])[0]
        with self.lock:
            known = hint in self.known
        if method == "GET" and known:
            body = urlencode({"sub": hint}).encode()
            environ = {
                **environ,
                "REQUEST_METHOD": "POST",
                "CONTENT_TYPE": "application/x-www-form-urlencoded",
                "CONTENT_LENGTH": str(len(body)),
                "wsgi.input": io.BytesIO(body),
            }

        def remember_code(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            location = next((v for k, v in headers if k.lower() == "location"), "")
            code = (parse_qs(urlsplit(location).query).get("code") or [""])[0]
            if code:
                with self.lock:
                    self.challenges[code] = challenge
            return start_response(status, headers, exc_info)

        return self.app(environ, remember_code)


class LocalOidcIssuer:
    def __init__(self, port: int = 0) -> None:
        self.port = port or free_port()
        self._server: BaseWSGIServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalOidcIssuer:
        import oidc_provider_mock

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        logging.getLogger("oidc_provider_mock").setLevel(logging.ERROR)
        app = _PkceAndHint(oidc_provider_mock.app(require_nonce=True))
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def register_person(issuer: str, tenant: str, email: str, role: str, accounts: list[str]) -> str:
    """Tell the issuer who this person is (their claims); the subject to pass as ``login_hint``."""
    import urllib.request
    from urllib.parse import quote

    subject = f"{tenant}:{email}"
    claims = {"email": email, "name": email, "tenant_id": tenant, "roles": [role], "accounts": accounts}
    request = urllib.request.Request(  # noqa: S310 - the local issuer on 127.0.0.1
        f"{issuer}/users/{quote(subject, safe='')}",
        data=json.dumps(claims).encode(),
        method="PUT",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - the local issuer on 127.0.0.1
        resp.read()
    return subject


def console_link(public_url: str, subject: str) -> str:
    from urllib.parse import quote

    return f"{public_url}/console/login?login_hint={quote(subject, safe='')}"
