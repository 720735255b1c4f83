"""The console's OpenID Connect client (authorization code with PKCE), built on Authlib.

The console is the client (a backend-for-frontend): the code, the tokens and the ID token's validation stay on the
server. Authlib builds the authorization URL (S256 challenge), redeems the code and validates the ID token against
the issuer's JWKS (``authlib.oidc.core.CodeIDToken``: iss, aud, exp, iat, nonce, at_hash).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken

with warnings.catch_warnings():
    # authlib.jose is deprecated in favour of joserfc but is what authlib.oidc.core's claim classes validate with.
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, jwt
    from authlib.jose.errors import JoseError

SCOPE = "openid email profile"
HTTP_TIMEOUT = 5.0
DISCOVERY_TTL_SECONDS = 300


class SignInFailed(Exception):
    """The issuer's answer could not be used (its text is for the log, never for the page)."""


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str


_discovery: dict[str, tuple[float, dict[str, Any], Any]] = {}


_secret_cache: dict[str, tuple[float, str]] = {}


def console_client_secret(value: str, secret_id: str) -> str:
    """The console's client secret: given (local stack), or read from Secrets Manager and kept five minutes."""
    if value or not secret_id:
        return value
    hit = _secret_cache.get(secret_id)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    from sso_core.gateways.sp_keys import secrets_client

    secret = str(secrets_client().get_secret_value(SecretId=secret_id)["SecretString"])
    _secret_cache[secret_id] = (time.monotonic() + 300, secret)
    return secret


class OidcClient:
    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings

    def _session(self) -> OAuth2Session:
        return OAuth2Session(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            scope=SCOPE,
            redirect_uri=self.settings.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
        )

    def _provider(self, fresh: bool = False) -> tuple[dict[str, Any], Any]:
        """The issuer's discovery document and key set, fetched once per few minutes per warm instance
        (``fresh``: fetched now, when a token names a key the cached set does not verify with)."""
        issuer = self.settings.issuer.rstrip("/")
        cached = _discovery.get(issuer)
        if cached and cached[0] > time.monotonic() and not fresh:
            return cached[1], cached[2]
        try:
            config = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=HTTP_TIMEOUT).json()
            jwks = requests.get(config["jwks_uri"], timeout=HTTP_TIMEOUT).json()
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise SignInFailed(f"issuer discovery failed: {type(exc).__name__}") from exc
        if str(config.get("issuer", "")).rstrip("/") != issuer:
            raise SignInFailed("the discovery document names another issuer")
        keys = JsonWebKey.import_key_set(jwks)
        _discovery[issuer] = (time.monotonic() + DISCOVERY_TTL_SECONDS, config, keys)
        return config, keys

    def authorization_url(self, state: str, nonce: str, code_verifier: str, login_hint: str | None = None) -> str:
        config, _ = self._provider()
        extra = {"login_hint": login_hint} if login_hint else {}
        url, _ = self._session().create_authorization_url(
            config["authorization_endpoint"], state=state, nonce=nonce, code_verifier=code_verifier, **extra
        )
        return str(url)

    def redeem(self, code: str, code_verifier: str, nonce: str, now: float | None = None) -> dict[str, Any]:
        """The validated ID token's claims for ``code`` (``SignInFailed`` for anything else)."""
        config, keys = self._provider()
        try:
            token = self._session().fetch_token(
                config["token_endpoint"], grant_type="authorization_code", code=code, code_verifier=code_verifier
            )
        except Exception as exc:  # Authlib raises OAuthError, requests its own errors
            raise SignInFailed(f"token request refused: {type(exc).__name__}: {exc}") from exc
        id_token = token.get("id_token")
        if not id_token:
            raise SignInFailed("the token answer has no id_token")
        try:
            jwt.decode(id_token, keys)
        except (JoseError, ValueError):
            # The issuer may have rotated its signing key since the set was cached: read the set again, once.
            # Only a code the issuer just gave out gets here, so this cannot be driven into a refetch storm.
            _, keys = self._provider(fresh=True)
        try:
            claims = jwt.decode(
                id_token,
                keys,
                claims_cls=CodeIDToken,
                claims_options={
                    "iss": {"essential": True, "value": self.settings.issuer.rstrip("/")},
                    "aud": {"essential": True, "value": self.settings.client_id},
                },
                claims_params={
                    "nonce": nonce,
                    "client_id": self.settings.client_id,
                    "access_token": token.get("access_token"),
                },
            )
            claims.validate(now=now, leeway=60)
        except JoseError as exc:
            raise SignInFailed(f"ID token rejected: {exc.error}") from exc
        except ValueError as exc:  # no key of the set matches the token's kid
            raise SignInFailed(f"ID token rejected: {type(exc).__name__}") from exc
        return dict(claims)
