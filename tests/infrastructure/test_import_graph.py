"""The layer's direction, enforced: edge -> logic -> dal/gateways -> models, the SAML engine beside them.

Handlers import the edge and the logic; logic never imports the edge or Powertools' event handler; ``dal/`` never
imports logic; models import nothing of the layer but models; nothing deployed imports the local stack; the table's
key prefixes are written only in ``dal/``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers/sso_core/sso_core"
FUNCTIONS = ROOT / "functions"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, relative imports resolved, including imports inside functions."""
    tree = ast.parse(path.read_text())
    package = module_name(path).split(".") if path.is_relative_to(PACKAGE) else []
    if package and path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)  # "from pkg import module"


def layer_modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def deployed_sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py")) + sorted(FUNCTIONS.rglob("*.py"))


def offending(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in paths:
        for name in imports_of(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} imports {name}")
    return found


RULES = {
    "logic": ("sso_core.edge", "aws_lambda_powertools.event_handler", "sso_local"),
    "dal": ("sso_core.logic", "sso_core.edge", "sso_core.saml"),
    "gateways": ("sso_core.logic", "sso_core.edge", "sso_core.dal"),
    "models": ("sso_core.logic", "sso_core.edge", "sso_core.dal", "sso_core.gateways", "sso_core.saml"),
    "saml": ("sso_core.logic", "sso_core.edge", "sso_core.dal", "sso_core.gateways"),
}


@pytest.mark.parametrize("folder", sorted(RULES))
def test_each_folder_imports_only_downwards(folder: str) -> None:
    assert layer_modules(folder), f"no modules under {folder}/: the layout changed, update the rules"
    assert offending(layer_modules(folder), RULES[folder]) == []


def test_nothing_deployed_imports_the_local_stack() -> None:
    assert offending(deployed_sources(), ("sso_local", "tests", "moto")) == []


def test_handlers_reach_the_table_through_the_layer_only() -> None:
    assert offending(sorted(FUNCTIONS.rglob("*.py")), ("boto3", "botocore")) == []


KEY_PREFIX = re.compile(r"\b([A-Z][A-Z_]{2,})#")


def string_constants(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.JoinedStr):
            yield "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))


def test_table_key_prefixes_live_only_in_dal() -> None:
    prefixes = {p for path in layer_modules("dal") for s in string_constants(path) for p in KEY_PREFIX.findall(s)}
    assert {"CONN", "DOMAIN", "CLAIM", "TENANT", "AUDIT", "INVTOKEN"} <= prefixes, prefixes
    leaks = [
        f"{path.relative_to(ROOT)}: {s!r}"
        for path in deployed_sources()
        if not path.is_relative_to(PACKAGE / "dal")
        for s in string_constants(path)
        if set(KEY_PREFIX.findall(s)) & prefixes
    ]
    assert leaks == []


def test_the_rules_catch_a_violation(tmp_path: Path) -> None:
    """The checker itself: a logic module importing the edge is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("from sso_core.edge.http import create_resolver\nimport aws_lambda_powertools.event_handler\n")
    assert len(offending([bad], RULES["logic"])) == 3
