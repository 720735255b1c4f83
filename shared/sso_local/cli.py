"""`sso-local`: run the local stack, or print a bearer token it accepts."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from .tokens import TokenAuthority


def _state_dir() -> Path:
    return Path(os.environ.get("SSO_LOCAL_STATE") or ".local")


def _walk(url: str, token: str, client_secret: str, outbox: Path) -> str:
    return f"""
Enterprise SSO local stack is ready at {url}
  state: {_state_dir().resolve()}   outbox: {outbox}
  application client secret (POST /sso/token): {client_secret}

Try it (copy and paste into another terminal):

  export SSO={url}
  export TOKEN={token}

  # 1. Claim a domain; the answer shows the TXT record to publish.
  curl -s -X POST $SSO/domains -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
       -d '{{"domain": "example.com"}}'

  # 2. Publish the record in the embedded DNS server (use record_value from step 1).
  curl -s -X POST $SSO/_local/dns -H 'content-type: application/json' \\
       -d '{{"name": "_sso-challenge.example.com", "type": "TXT", "value": "<record_value>"}}'

  # 3. Check DNS now: the domain becomes "verified".
  curl -s -X POST $SSO/domains/example.com/verify -H "Authorization: Bearer $TOKEN"

  # The scheduled check also runs every minute, or now with:
  curl -s -X POST $SSO/_local/run/dns-check

More tokens: sso-local token --tenant acme --email owner@acme.test --role owner|admin|member
"""


def cmd_run(args: argparse.Namespace) -> int:
    from .stack import LocalStack

    port = args.port if args.port is not None else int(os.environ.get("SSO_LOCAL_PORT") or 3000)
    interval = float(os.environ.get("SSO_LOCAL_DNS_CHECK_SECONDS") or 60)
    stack = LocalStack(
        port=port,
        state_dir=_state_dir(),
        dns_check_interval=interval,
        public_url=os.environ.get("SSO_PUBLIC_URL"),
    )
    try:
        stack.start()
    except OSError as exc:
        print(f"sso-local: cannot listen on 127.0.0.1:{port}: {exc.strerror}. Set SSO_LOCAL_PORT or --port.")
        return 1
    token = stack.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])
    print(_walk(stack.url, token, stack.client_secret or "", stack.outbox), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    print("stopping", flush=True)
    stack.stop()
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    authority = TokenAuthority(_state_dir())
    accounts = [a for a in (args.accounts or "").split(",") if a]
    print(authority.issue(args.tenant, args.email, args.role, accounts, ttl_seconds=args.ttl))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sso-local", description="Enterprise SSO local stack")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the local stack in the foreground")
    run.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default 3000, or SSO_LOCAL_PORT)")
    run.set_defaults(func=cmd_run)
    token = sub.add_parser("token", help="print a bearer token the local stack accepts")
    token.add_argument("--tenant", required=True)
    token.add_argument("--email", required=True)
    token.add_argument("--role", required=True, choices=["owner", "admin", "member"])
    token.add_argument("--accounts", default="", help="comma-separated account ids")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    token.set_defaults(func=cmd_token)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
