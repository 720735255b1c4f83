"""Discovery policy: one decision function, from what is known about an email's domain to how to sign in.

| domain verified | connection        | password login | method   | password_allowed | notice          |
|-----------------|-------------------|----------------|----------|------------------|-----------------|
| no              | any / none        | -              | password | yes              | -               |
| yes             | none or draft     | -              | password | yes              | -               |
| yes             | enabled           | on             | sso      | yes              | -               |
| yes             | enabled           | off            | sso      | no               | -               |
| yes             | disabled (switch) | any            | password | yes              | password_reset  |
"""

from __future__ import annotations

from dataclasses import dataclass

from sso_core.models.connections import ConnectionStatus

PASSWORD_RESET_NOTICE = (
    "Single sign-on is switched off for your organisation for now. Sign in with your password; "
    "if you never set one, use 'Forgot password' to create it."
)


@dataclass(frozen=True)
class Decision:
    method: str  # "sso" | "password"
    password_allowed: bool
    notice: str | None = None


def decide(domain_verified: bool, connection: ConnectionStatus | None, password_login: bool) -> Decision:
    if not domain_verified or connection is None or connection is ConnectionStatus.DRAFT:
        return Decision("password", True)
    if connection is ConnectionStatus.DISABLED:
        return Decision("password", True, PASSWORD_RESET_NOTICE)
    return Decision("sso", password_login)
