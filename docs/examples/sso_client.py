"""A minimal application-side client of the Enterprise SSO service (standard library only).

Three calls make the whole integration (docs/integration.md):

1. ``discover(email)`` when a user types their email on the application's sign-in page: either
   ``("sso", redirect_url)`` (send the browser there) or ``("password", notice)`` (go on with your own password
   sign-in, showing the notice if there is one);
2. the browser comes back to your callback URL with ``?code=...``;
3. ``redeem(code)`` from your server, with your client secret: the signed-in user's profile.

Run it against the local stack:  python docs/examples/sso_client.py http://127.0.0.1:3000 alice@example.com
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


class SsoError(Exception):
    """The service refused: ``status`` (HTTP), ``code`` (stable, snake_case) and a human ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Discovery:
    method: str  # "sso" or "password"
    redirect_url: str | None  # where to send the browser when method is "sso"
    password_allowed: bool  # False: this user must not be offered a password form
    notice: str | None  # show it on the password page when present (SSO was switched off)


class SsoClient:
    def __init__(self, base_url: str, client_secret: str = "", timeout: float = 10.0) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self.client_secret = client_secret
        self.timeout = timeout

    def discover(self, email: str) -> Discovery:
        body = self._post("/login/discover", {"email": email})
        return Discovery(body["method"], body.get("redirect_url"), body["password_allowed"], body.get("notice"))

    def redeem(self, code: str) -> dict[str, Any]:
        """The profile behind a one-time code (valid 60 seconds, once). Never call it from the browser."""
        return self._post("/sso/token", {"code": code}, {"authorization": f"Bearer {self.client_secret}"})

    def _post(self, path: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked in __init__
            self.base_url + path,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"content-type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as err:
            try:
                error = json.loads(err.read())["error"]
            except (ValueError, KeyError, TypeError):
                error = {"code": "unexpected", "message": err.reason}
            raise SsoError(err.code, str(error.get("code")), str(error.get("message"))) from None


def handle_callback(client: SsoClient, code: str | None) -> dict[str, Any] | str:
    """What an application's callback does with ``?code=``: the profile, or what to show instead."""
    if not code:
        return "Sign-in was not completed. Please start again."
    try:
        profile = client.redeem(code)
    except SsoError as exc:
        if exc.code == "invalid_code":  # expired (60 s), used already, or SSO switched off meanwhile
            return "Your sign-in link expired. Please sign in again."
        if exc.code == "invalid_client":  # our configuration is wrong: alert the operators, never the user
            raise
        return "Sign-in could not be completed. Please try again."
    # Open (or create) the application's session for profile["user"]; return to profile["return_to"].
    return profile


if __name__ == "__main__":
    base, email = sys.argv[1], sys.argv[2]
    found = SsoClient(base).discover(email)
    if found.method == "sso":
        print(f"Send the browser to: {found.redirect_url}")
    else:
        print("Password sign-in" + (f" ({found.notice})" if found.notice else ""))
