"""What a cold start does not build or import any more (issue 14), each in a fresh interpreter.

- pysaml2's ``saml2.xml.schema`` is answered by ``sso_core.saml.pysaml2_schema_module``: the
  ``xmlschema`` validator pysaml2 built at import (and we replaced at once) is never built, and
  pysaml2's signature checks still reach the libxml2 validator;
- ``sso_core.saml`` loads its engine on first use, so a certificate helper does not pull pysaml2;
- handlers import neither pysaml2, nor lxml, nor dnspython unless a route of theirs needs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sso_core.saml import pysaml2_schema_module

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER = REPO_ROOT / "layers" / "sso_core"


def _fresh(code: str, cwd: Path = REPO_ROOT) -> dict[str, object]:
    """Run ``code`` in a new interpreter with the layer first on the path; it prints one JSON value."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=str(cwd),
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{LAYER}:{cwd}", "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_pysaml2_signature_checks_use_libxml2_without_building_xmlschema():
    found = _fresh(
        "import json, sys\n"
        "import sso_core.saml\n"
        "import saml2.sigver, saml2.xml.schema\n"
        "from sso_core.saml.saml_schema import LibxmlSamlSchema\n"
        "refused = False\n"
        "bare = \"<saml:Assertion xmlns:saml='urn:oasis:names:tc:SAML:2.0:assertion'/>\"\n"
        "try:\n"
        "    saml2.sigver.validate_doc_with_schema(bare)\n"
        "except saml2.sigver.XMLSchemaError:\n"
        "    refused = True\n"
        "print(json.dumps({\n"
        "    'module': saml2.xml.schema.__name__,\n"
        "    'bound': saml2.xml.schema is sys.modules['saml2.xml.schema'],\n"
        "    'libxml2': isinstance(saml2.xml.schema._schema_validator_default, LibxmlSamlSchema),\n"
        "    'same_error': saml2.sigver.XMLSchemaError is saml2.xml.schema.XMLSchemaError,\n"
        "    'refused': refused,\n"
        "    'xmlschema': 'xmlschema' in sys.modules, 'elementpath': 'elementpath' in sys.modules,\n"
        "}))\n"
    )
    assert found == {
        "module": "sso_core.saml.pysaml2_schema_module",
        "bound": True,
        "libxml2": True,
        "same_error": True,
        "refused": True,
        "xmlschema": False,
        "elementpath": False,
    }


def test_the_substitute_offers_every_name_of_pysaml2s_module():
    original = pysaml2_schema_module._pysaml2_original()
    theirs = {name for name, value in vars(original).items() if not name.startswith("__")}
    theirs -= {"_resource_files", "_XMLSchema", "_XMLSchemaException", "_data_schemas"}  # their imports
    assert theirs <= set(vars(pysaml2_schema_module)), theirs - set(vars(pysaml2_schema_module))
    assert type(pysaml2_schema_module._create_xml_schema_validator()).__module__.startswith("xmlschema")


def test_a_document_in_the_error_is_not_kept():
    """pysaml2's own ``validate`` puts the whole document in its error; ours keeps only the reason."""
    with pytest.raises(pysaml2_schema_module.XMLSchemaError) as caught:
        pysaml2_schema_module.validate("<saml:Assertion xmlns:saml='urn:oasis:names:tc:SAML:2.0:assertion'/>")
    assert "Assertion" not in str(caught.value.args)


def test_a_certificate_helper_does_not_import_pysaml2_or_lxml():
    found = _fresh(
        "import json, sys\n"
        "from sso_core.saml.certificates import generate_sp_keypair\n"
        "from sso_core.saml import IdpSettings\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'saml2', 'lxml', 'xmlsec'})))\n"
    )
    assert found == []


@pytest.mark.parametrize(
    ("function", "absent"),
    [
        ("token", ["dns", "lxml", "saml2", "xmlsec"]),
        ("connections", ["dns", "lxml", "saml2", "xmlsec"]),
        ("kill_switch", ["dns", "lxml", "saml2"]),
        ("domains", ["dns", "lxml", "saml2"]),
        ("users", ["dns", "lxml", "saml2"]),
        ("audit", ["dns", "lxml", "saml2"]),
        ("invitations", ["dns", "lxml", "saml2"]),
        ("acs", ["xmlschema", "elementpath", "dns"]),
        ("login", ["xmlschema", "elementpath", "dns"]),
        ("metadata", ["xmlschema", "elementpath", "dns"]),
    ],
)
def test_handlers_import_only_what_their_routes_need(function: str, absent: list[str]):
    found = _fresh(
        "import json, sys\nimport app\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n",
        cwd=REPO_ROOT / "functions" / function,
    )
    assert not set(absent) & set(found), set(absent) & set(found)


def test_the_resolver_is_built_on_first_lookup_only():
    found = _fresh(
        "import json, sys\n"
        "from sso_core.gateways.txt_lookup import TxtResolver\n"
        "resolver = TxtResolver(['127.0.0.1:5353'], 0.2)\n"
        "before = 'dns' in sys.modules\n"
        "lookup = resolver.lookup('_x.invalid.example', 'v')\n"
        "print(json.dumps([before, 'dns.resolver' in sys.modules, lookup.result.value]))\n"
    )
    assert found[:2] == [False, True]
    assert found[2] == "indeterminate"  # nothing listens on that port: timeout, as before


def test_a_malformed_nameserver_setting_still_fails_at_construction():
    from sso_core.gateways.txt_lookup import TxtResolver

    with pytest.raises(ValueError):
        TxtResolver(["127.0.0.1:fifty"], 1.0)
