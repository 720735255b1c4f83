"""Offline template gate: translate the SAM template with aws-sam-translator, then lint the result with cfn-lint.

cfn-lint alone no longer applies the SAM transform, so it would miss, for example, an unknown runtime
or a !Ref to a missing resource inside a function's properties. Usage: python -m sso_local.template_check FILE
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from cfnlint.api import ManualArgs, lint
from samtranslator.model.exceptions import InvalidDocumentException, InvalidResourceException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

PARAMETERS = {
    "JwtIssuer": "https://id.example.com/",
    "JwtAudience": "enterprise-sso",
    "PublicUrl": "https://sso.example.com",
    "AppRedirectUrl": "https://app.example.com/sso/callback",
    "InviteAcceptUrl": "https://sso.example.com/invitations/accept",
    "MailSender": "no-reply@example.com",
    "MailIdentity": "example.com",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "enterprise-sso",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/enterprise-sso/1",
    "AWS::URLSuffix": "amazonaws.com",
}


class _NoManagedPolicies:
    """The template names no AWS managed policies; any lookup is a mistake worth failing on."""

    def load(self) -> dict[str, str]:
        return {}


def translate(path: Path) -> dict[str, Any]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator needs a region, never a call
    sam = yaml_parse(path.read_text(encoding="utf-8"))
    # As `sam package` would: local code folders become S3 locations (after checking they exist).
    for name, res in sam.get("Resources", {}).items():
        props = res.get("Properties") or {}
        for field in ("CodeUri", "ContentUri"):
            uri = props.get(field)
            if isinstance(uri, str) and not uri.startswith("s3://"):
                if not (path.parent / uri).is_dir():
                    raise InvalidDocumentException([InvalidResourceException(name, f"{field} {uri} is not a folder")])
                props[field] = f"s3://artifacts/{name}.zip"
    return transform(sam, PARAMETERS, _NoManagedPolicies())  # type: ignore[arg-type]


def check(path: Path) -> list[str]:
    try:
        cfn = translate(path)
    except InvalidDocumentException as exc:
        return [f"SAM {cause}" for cause in exc.causes]
    matches = lint(json.dumps(cfn, indent=1), config=ManualArgs(regions=["us-east-1"]))
    return [f"{m.rule.id} {m.message} ({'/'.join(str(p) for p in m.path)})" for m in matches]


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    path = Path(args[0] if args else "template.yaml")
    problems = check(path)
    for line in problems:
        print(line)
    print(f"template check: {path} translated and linted, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
