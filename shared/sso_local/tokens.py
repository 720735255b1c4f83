"""Development bearer tokens, signed and checked as API Gateway's JWT authorizer would (RS256, iss, aud, exp)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://sso-local.invalid/"
AUDIENCE = "enterprise-sso-local"


class TokenRejected(Exception):
    """Why a bearer token is refused (401)."""


class TokenAuthority:
    def __init__(self, state_dir: Path, issuer: str = ISSUER, audience: str = AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        state_dir.mkdir(parents=True, exist_ok=True)
        key_path = state_dir / "jwt-signing-key.pem"
        if not key_path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            key_path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            key_path.chmod(0o600)
        self._private = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        self._public = self._private.public_key()

    def issue(
        self,
        tenant: str,
        email: str,
        role: str,
        accounts: list[str] | None = None,
        ttl_seconds: int = 12 * 3600,
        **extra: Any,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": email,
            "iat": now,
            "exp": now + ttl_seconds,
            "tenant_id": tenant,
            "email": email,
            "roles": [role],
            "accounts": accounts or [],
            **extra,
        }
        return jwt.encode(claims, self._private, algorithm="RS256")  # type: ignore[arg-type]

    def verify(self, authorization: str | None) -> dict[str, Any]:
        if not authorization or not authorization.startswith("Bearer "):
            raise TokenRejected("missing bearer token")
        token = authorization[len("Bearer ") :].strip()
        try:
            return jwt.decode(
                token,
                self._public,  # type: ignore[arg-type]
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenRejected("token expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise TokenRejected("wrong audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise TokenRejected("wrong issuer") from exc
        except jwt.PyJWTError as exc:
            raise TokenRejected("invalid token") from exc
