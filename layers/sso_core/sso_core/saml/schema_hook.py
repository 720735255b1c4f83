"""Puts ``sso_core.saml.pysaml2_schema_module`` in place of pysaml2's ``saml2.xml.schema``.

Kept free of imports (no lxml, no pysaml2): ``sso_core.saml`` installs it as the package is
imported, and a handler that only needs a certificate helper must not pay for the XML stack.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType

PYSAML2_SCHEMA_MODULE = "saml2.xml.schema"


class _SubstituteFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers the import of ``saml2.xml.schema`` with ``sso_core.saml.pysaml2_schema_module``.

    A finder rather than a ``sys.modules`` entry, so that nothing of pysaml2 is imported before
    something needs it (the token handler imports the SAML package for a certificate helper),
    and the import system binds the module to its package as usual."""

    def find_spec(self, fullname: str, path: object, target: object = None) -> ModuleSpec | None:
        if fullname != PYSAML2_SCHEMA_MODULE:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        from sso_core.saml import pysaml2_schema_module

        return pysaml2_schema_module

    def exec_module(self, module: ModuleType) -> None:
        return None


_FINDER = _SubstituteFinder()


def install() -> None:
    """Make pysaml2's signature checks validate with libxml2 (idempotent, imports nothing of pysaml2).

    Before pysaml2's ``saml2.xml.schema`` is imported, ``sso_core.saml.pysaml2_schema_module``
    is made to answer its import, so pysaml2's pure-Python validator is never built (a third
    of a cold start). If pysaml2 came first (a process that imported it before ``sso_core.saml``),
    its module stays and only its default validator is replaced, as before.
    """
    existing = sys.modules.get(PYSAML2_SCHEMA_MODULE)
    if existing is None:
        if _FINDER not in sys.meta_path:
            sys.meta_path.insert(0, _FINDER)
        return
    if not hasattr(existing, "_schema_validator_default"):  # pysaml2 is pinned; fail loudly if it moves
        raise RuntimeError("pysaml2 no longer has saml2.xml.schema._schema_validator_default")
    from sso_core.saml.saml_schema import LibxmlSamlSchema

    if not isinstance(getattr(existing, "_schema_validator_default"), LibxmlSamlSchema):  # noqa: B009
        setattr(existing, "_schema_validator_default", LibxmlSamlSchema())  # noqa: B010
