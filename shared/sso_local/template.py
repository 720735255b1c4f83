"""Reading template.yaml: the table definition and the HTTP routes, so code and infrastructure cannot drift."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that keeps CloudFormation short-form tags (!Ref, !Sub, ...) as plain mappings."""


def _tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def table_definition(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """``create_table`` arguments for the template's single table."""
    template = template or load_template()
    props = template["Resources"]["Table"]["Properties"]
    definition: dict[str, Any] = {
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props["BillingMode"],
    }
    if props.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return definition


def ttl_attribute(template: dict[str, Any] | None = None) -> str | None:
    template = template or load_template()
    spec = template["Resources"]["Table"]["Properties"].get("TimeToLiveSpecification") or {}
    return spec.get("AttributeName") if spec.get("Enabled") else None


def create_table(client: Any, name: str, template: dict[str, Any] | None = None) -> None:
    client.create_table(TableName=name, **table_definition(template))
    attribute = ttl_attribute(template)
    if attribute:
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
        )


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway form, e.g. /domains/{domain}
    function: str  # logical id
    code_dir: Path
    public: bool

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method.upper() != self.method and self.method != "ANY":
            return None
        want = self.path.strip("/").split("/")
        got = path.strip("/").split("/")
        if want[-1].endswith("+}") and len(got) >= len(want):
            # A greedy path variable ({proxy+}) takes the rest of the path, as in API Gateway.
            got = [*got[: len(want) - 1], "/".join(got[len(want) - 1 :])]
        if len(want) != len(got):
            return None
        params: dict[str, str] = {}
        for w, g in zip(want, got, strict=True):
            if w.startswith("{") and w.endswith("}"):
                if not g:
                    return None
                params[w[1:-1]] = g
            elif w != g:
                return None
        return params


def functions(template: dict[str, Any] | None = None) -> dict[str, Path]:
    """Logical id -> code folder of every function."""
    template = template or load_template()
    return {
        name: REPO_ROOT / res["Properties"]["CodeUri"]
        for name, res in template["Resources"].items()
        if res.get("Type") == "AWS::Serverless::Function"
    }


def routes(template: dict[str, Any] | None = None) -> list[Route]:
    template = template or load_template()
    found = []
    for name, res in template["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (res["Properties"].get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            props = event["Properties"]
            auth = (props.get("Auth") or {}).get("Authorizer")
            found.append(
                Route(
                    method=str(props["Method"]).upper(),
                    path=props["Path"],
                    function=name,
                    code_dir=REPO_ROOT / res["Properties"]["CodeUri"],
                    public=auth == "NONE",
                )
            )
    # Literal segments win over parameters, as in API Gateway.
    return sorted(found, key=lambda r: [s.startswith("{") for s in r.path.split("/")])
