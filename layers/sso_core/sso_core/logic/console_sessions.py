"""Console sign-in and sessions (backend-for-frontend): the OIDC login's state, and the session it opens.

The browser holds one random session id in an HttpOnly cookie; the table holds its hash, the person (a ``Caller``)
and the CSRF token of their forms. A session ends when idle for ``console_idle_minutes``, at the latest
``console_absolute_hours`` after sign-in, or at sign-out.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sso_core.clock import Clock, utcnow
from sso_core.config import Settings
from sso_core.dal.console_sessions import ConsoleSession, ConsoleSessionStore, PendingSignIn, sha256
from sso_core.gateways.oidc import OidcClient, OidcSettings, console_client_secret
from sso_core.models.identity import Caller

SIGN_IN_TTL = timedelta(minutes=10)


def safe_next(path: str | None) -> str:
    """Only a console path of this origin (never ``//host`` or a scheme): an open redirect is refused."""
    if path and path.startswith("/console/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/console/"


class ConsoleSessions:
    def __init__(self, settings: Settings, store: ConsoleSessionStore, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock

    @property
    def oidc(self) -> OidcClient:
        secret = console_client_secret(self.settings.console_client_secret, self.settings.console_client_secret_id)
        return OidcClient(
            OidcSettings(
                issuer=self.settings.console_issuer,
                client_id=self.settings.console_client_id,
                client_secret=secret,
                redirect_uri=f"{self.settings.public_url}/console/callback",
            )
        )

    def start_sign_in(self, next_path: str | None, login_hint: str | None) -> tuple[str, str]:
        """The issuer's authorization URL for a new sign-in (state, nonce and PKCE verifier kept server-side), and
        the secret for the browser's sign-in cookie: the callback must come back to the browser that started."""
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        browser = secrets.token_urlsafe(32)
        pending = PendingSignIn(verifier, nonce, safe_next(next_path), self.clock() + SIGN_IN_TTL, sha256(browser))
        self.store.put_sign_in(state, pending)
        return self.oidc.authorization_url(state, nonce, verifier, login_hint), browser

    def finish_sign_in(self, state: str, code: str, browser: str | None) -> tuple[dict[str, object], str] | None:
        """The validated ID token claims and where to go next; None for an unknown, used or expired state, or a
        callback in another browser than the one that started the sign-in (a login CSRF)."""
        pending = self.store.take_sign_in(state)
        if pending is None or pending.expires_at <= self.clock():
            return None
        if not browser or not secrets.compare_digest(pending.browser_hash, sha256(browser)):
            return None
        claims = self.oidc.redeem(code, pending.code_verifier, pending.nonce, now=self.clock().timestamp())
        return claims, pending.next_path

    def open(self, caller: Caller) -> str:
        """A new session for ``caller``: the id to put in the cookie."""
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        self.store.put(
            session_id,
            ConsoleSession(
                tenant_id=caller.tenant_id,
                email=caller.email,
                role=caller.role,
                accounts=caller.accounts,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                last_seen=now,
                absolute_expiry=now + timedelta(hours=self.settings.console_absolute_hours),
            ),
        )
        return session_id

    def current(self, session_id: str | None) -> ConsoleSession | None:
        """The live session behind the cookie (its idle clock restarted), or None: unknown, idle or too old."""
        if not session_id:
            return None
        session = self.store.get(session_id)
        if session is None:
            return None
        now = self.clock()
        idle_limit = session.last_seen + timedelta(minutes=self.settings.console_idle_minutes)
        if now >= session.absolute_expiry or now >= idle_limit:
            self.store.delete(session_id)
            return None
        self.store.touch(session_id, now)
        return session

    def end(self, session_id: str | None) -> None:
        if session_id:
            self.store.delete(session_id)


def caller_of(session: ConsoleSession) -> Caller:
    return Caller(tenant_id=session.tenant_id, email=session.email, role=session.role, accounts=session.accounts)


def csrf_ok(session: ConsoleSession, submitted: str | None) -> bool:
    return bool(submitted) and secrets.compare_digest(session.csrf_token, str(submitted))
