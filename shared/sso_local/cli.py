"""`sso-local`: run the local stack, or print a bearer token it accepts."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

from .tokens import TokenAuthority


def _state_dir() -> Path:
    return Path(os.environ.get("SSO_LOCAL_STATE") or ".local")


WALK_EMAIL = "alice@example.com"
WALK_PASSWORD = "alice-demo"  # from fixtures/demo_users.json

# The walk's commands, for bash or zsh with curl and python3. Placeholders: <<URL>>, <<TOKEN>>, <<OUTBOX>>.
# tests/e2e/test_walk.py runs these exact lines, as printed, against a running stack.
_WALK_STEPS = r"""
  # 1. You are the owner of tenant "acme" (owner@acme.test, account acct-main). Your token:
  export SSO=<<URL>>
  export TOKEN=<<TOKEN>>
  JSON='content-type: application/json'

  # 2. Add a domain. The answer names the TXT record that proves you own it.
  curl -s -X POST $SSO/domains -H "Authorization: Bearer $TOKEN" -H "$JSON" -d '{"domain": "example.com"}'; echo

  # 3. Publish that record in the stack's embedded DNS server:
  curl -s $SSO/domains/example.com -H "Authorization: Bearer $TOKEN" \
    | python3 -c 'import json,sys; print(json.dumps({k.removeprefix("record_"): v for k, v in json.load(sys.stdin)["verification"].items()}))' \
    | curl -s -X POST $SSO/_local/dns -H "$JSON" --data-binary @-; echo

  # 4. Verify: the stack asks the domain's authoritative server now (the embedded DNS server is also that, for
  #    its demo zones: "source": "authoritative" in the check), and the domain becomes "verified".
  curl -s -X POST $SSO/domains/example.com/verify -H "Authorization: Bearer $TOKEN"; echo

  # 5. Support grants tenant "acme" access to Enterprise SSO (in production your account manager asks them; here
  #    the same as `sso-local access --tenant acme --grant`). Then create an SSO connection and keep its id:
  curl -s -X POST $SSO/_local/access -H "$JSON" -d '{"action": "grant", "tenant_id": "acme", "plan": "contract"}'; echo
  CONN=$(curl -s -X POST $SSO/connections -H "Authorization: Bearer $TOKEN" -H "$JSON" \
    -d '{"domains": ["example.com"]}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'); echo $CONN

  # 6. Import the demo IdP from its metadata, in one call (as you would Entra ID's federation metadata):
  curl -s $SSO/_local/idp/metadata \
    | python3 -c 'import json,sys; print(json.dumps({"metadata_xml": sys.stdin.read()}))' \
    | curl -s -X PUT $SSO/connections/$CONN/idp -H "Authorization: Bearer $TOKEN" -H "$JSON" --data-binary @-; echo

  # 7. Enable the connection:
  curl -s -X PUT $SSO/connections/$CONN/status -H "Authorization: Bearer $TOKEN" -H "$JSON" -d '{"enabled": true}'; echo

  # 8. Invite <<EMAIL>>, a user of the demo IdP, to the account acct-main:
  curl -s -X POST $SSO/invitations -H "Authorization: Bearer $TOKEN" -H "$JSON" \
    -d '{"email": "<<EMAIL>>", "role": "member", "accounts": ["acct-main"]}'; echo

  # 9. The invitation mail is in the outbox. This prints its accept link: open it in your browser and press
  #    "Accept the invitation".
  python3 -m quopri -d < "$(ls -t <<OUTBOX>>/*.eml | head -1)" | grep -o 'http[^ "<]*token=[^ "<]*' | head -1

  # 10. Sign in as a user of the application would: open <<URL>>/_local/app/ in your browser, type
  #     <<EMAIL>> and press "Continue". The application asks discovery (the command below shows its
  #     answer: "sso" and the sign-in URL) and sends you there. The demo IdP asks who you are:
  #     <<EMAIL>> / <<PASSWORD>>. Its signed answer goes back through your browser to the service, which
  #     hands a one-time code to the application's callback page: you land there, on the profile the application got.
  curl -s -X POST $SSO/login/discover -H "$JSON" -d '{"email": "<<EMAIL>>"}'; echo
"""  # noqa: E501 - printed for copy and paste: a command stays on one line


def walk_commands(url: str, token: str, outbox: Path) -> str:
    """The walk's shell lines (comments included), exactly as ``_walk`` prints them."""
    text = _WALK_STEPS.strip("\n")
    for name, value in (
        ("URL", url),
        ("TOKEN", token),
        ("OUTBOX", shlex.quote(str(outbox))),
        ("EMAIL", WALK_EMAIL),
        ("PASSWORD", WALK_PASSWORD),
    ):
        text = text.replace(f"<<{name}>>", value)
    return text


def _walk(url: str, token: str, client_secret: str, outbox: Path) -> str:
    return f"""
Enterprise SSO local stack is ready at {url}
  state: {_state_dir().resolve()}   outbox: {outbox}
  application client secret (POST /sso/token): {client_secret}
  demo IdP: {url}/_local/idp/metadata   its users: shared/sso_local/fixtures/demo_users.json
  the application's sign-in page: {url}/_local/app/

Walk the whole flow: paste these commands, in order, into another terminal (bash or zsh, with curl and python3),
then finish in a browser on this machine.

{walk_commands(url, token, outbox)}

The scheduled DNS check also runs every minute, or now with: curl -s -X POST $SSO/_local/run/dns-check
The daily IdP metadata refresh runs now with: curl -s -X POST $SSO/_local/run/metadata-refresh
Support's access switch: sso-local access --tenant acme --grant|--revoke [--plan contract|subscription_bundle]
The SP signing key's rotation: sso-local sp-key stage [--days 30] | switch [--force] | retire | cancel | show
More tokens: sso-local token --tenant acme --email owner@acme.test --role owner|admin|member --accounts acct-main
"""


def cmd_run(args: argparse.Namespace) -> int:
    import warnings

    from .stack import LocalStack

    # pysaml2 imports a cipher mode that cryptography has moved: noise for someone trying the stack.
    warnings.filterwarnings("ignore", message="CFB has been moved")

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
    link = stack.console_link("acme", "owner@acme.test", "owner", ["acct-main"])
    print(f"Or do the whole setup in a browser, in the admin console, as the demo owner:\n  {link}\n", flush=True)
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


def cmd_access(args: argparse.Namespace) -> int:
    """Support's grant or revoke, against the running stack (its ``/_local/access`` invokes the operator function)."""
    import json
    import urllib.error
    import urllib.request

    url = args.url or os.environ.get("SSO_LOCAL_URL") or f"http://127.0.0.1:{os.environ.get('SSO_LOCAL_PORT') or 3000}"
    action = "grant" if args.grant else "revoke" if args.revoke else "show"
    command = {"action": action, "tenant_id": args.tenant, "operator": args.operator}
    if action == "grant":
        command["plan"] = args.plan
    if not url.startswith(("http://", "https://")):
        print(f"sso-local access: --url must be an http(s) URL, not {url!r}", file=sys.stderr)
        return 2
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        f"{url.rstrip('/')}/_local/access",
        data=json.dumps(command).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http(s) only, checked above
            answer = json.loads(response.read())
    except urllib.error.HTTPError as err:
        answer = json.loads(err.read() or b"{}")
    except urllib.error.URLError as err:
        print(f"sso-local access: no local stack at {url} ({err.reason}); start it with `make run`.", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=2))
    return 0 if answer.get("status") == 200 else 1


def _post_local(url: str, path: str, command: dict[str, object], name: str) -> tuple[int, dict[str, object]]:
    """POSTs an operator command to the running stack; (exit code, answer)."""
    import json
    import urllib.error
    import urllib.request

    if not url.startswith(("http://", "https://")):
        print(f"sso-local {name}: --url must be an http(s) URL, not {url!r}", file=sys.stderr)
        return 2, {}
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        f"{url.rstrip('/')}{path}",
        data=json.dumps(command).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - http(s) only, checked above
            answer = json.loads(response.read())
    except urllib.error.HTTPError as err:
        answer = json.loads(err.read() or b"{}")
    except urllib.error.URLError as err:
        print(f"sso-local {name}: no local stack at {url} ({err.reason}); start it with `make run`.", file=sys.stderr)
        return 1, {}
    print(json.dumps(answer, indent=2))
    return (0 if answer.get("status") == 200 else 1), answer


def cmd_sp_key(args: argparse.Namespace) -> int:
    """The SP signing key's rotation, against the running stack (its ``/_local/sp-key`` invokes the function)."""
    import uuid

    url = args.url or os.environ.get("SSO_LOCAL_URL") or f"http://127.0.0.1:{os.environ.get('SSO_LOCAL_PORT') or 3000}"
    # One id per command: the function treats a second command with the same id as a retry of the first.
    command: dict[str, object] = {"action": args.step, "operator": args.operator, "request_id": str(uuid.uuid4())}
    if args.step == "stage":
        if args.switch_at:
            command["switch_at"] = args.switch_at
        else:
            command["days"] = args.days
    if args.step == "switch" and args.force:
        command["force"] = True
    code, _ = _post_local(url, "/_local/sp-key", command, "sp-key")
    return code


def cmd_console_link(args: argparse.Namespace) -> int:
    import json

    from .oidc_issuer import console_link, register_person

    state = _state_dir() / "console.json"
    if not state.exists():
        print("sso-local: the local stack is not running (start it with `make run`).", file=sys.stderr)
        return 1
    found = json.loads(state.read_text())
    accounts = [a for a in (args.accounts or "").split(",") if a]
    try:
        subject = register_person(found["issuer"], args.tenant, args.email, args.role, accounts)
    except OSError as exc:
        print(f"sso-local: the local OIDC issuer at {found['issuer']} did not answer ({exc}).", file=sys.stderr)
        return 1
    print(console_link(found["url"], subject))
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
    access = sub.add_parser("access", help="as support: grant or revoke a tenant's access to Enterprise SSO")
    access.add_argument("--tenant", required=True)
    which = access.add_mutually_exclusive_group()
    which.add_argument("--grant", action="store_true", help="grant access (under --plan)")
    which.add_argument("--revoke", action="store_true", help="revoke access: switches SSO off at once")
    access.add_argument("--plan", default="contract", help="contract (default) or subscription_bundle")
    access.add_argument("--operator", default=os.environ.get("USER") or "local-support", help="who acts")
    access.add_argument("--url", default=None, help="the running stack (default http://127.0.0.1:$SSO_LOCAL_PORT)")
    access.set_defaults(func=cmd_access)
    sp_key = sub.add_parser(
        "sp-key", help="as an operator: rotate the SP signing key (stage, switch, retire; cancel, notify, show)"
    )
    sp_key.add_argument("step", choices=["stage", "switch", "retire", "cancel", "notify", "show"])
    sp_key.add_argument("--days", type=int, default=30, help="stage: the switch date is this many days away")
    sp_key.add_argument("--switch-at", default=None, help="stage: the switch date (ISO 8601), instead of --days")
    sp_key.add_argument("--force", action="store_true", help="switch: before the switch date")
    sp_key.add_argument("--operator", default=os.environ.get("USER") or "local-operator", help="who acts")
    sp_key.add_argument("--url", default=None, help="the running stack (default http://127.0.0.1:$SSO_LOCAL_PORT)")
    sp_key.set_defaults(func=cmd_sp_key)
    link = sub.add_parser("console-link", help="print a URL that signs this person in to the admin console")
    link.add_argument("--tenant", required=True)
    link.add_argument("--email", required=True)
    link.add_argument("--role", required=True, choices=["owner", "admin", "member"])
    link.add_argument("--accounts", default="", help="comma-separated account ids")
    link.set_defaults(func=cmd_console_link)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
