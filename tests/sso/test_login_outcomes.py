"""One vocabulary of login outcomes: every refusal the layer can raise is named in ``models.login_outcomes`` with
its page status, the sentence the administrator reads, what to change, and the function that decides it; the
failure page and the login trace use it."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from sso_core.models.login_outcomes import REFUSALS, Refusal, describe, page_status
from tests.support.sso_checks import post
from tests.support.sso_world import SsoWorld, reference_of

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*(ROOT / "layers/sso_core/sso_core").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
# Every place a refusal code is written as a literal: the refusal exceptions and the ACS's pre-read refusals.
RAISED = re.compile(
    r"\b(?:AcsRejected|SignatureRejected|UnsafeXml|_Refused|MembershipRefused|RequestUnusable|refuse_unread)"
    r"\(\s*(?:[\w.]+,\s*)?\"([a-z_]+)\""
)
LIBRARY_MAP = re.compile(r"\(saml2_\w+\.\w+, \"([a-z_]+)\"\)")


def raised_codes() -> set[str]:
    codes: set[str] = set()
    for path in SOURCES:
        text = path.read_text()
        codes |= set(RAISED.findall(text)) | set(LIBRARY_MAP.findall(text))
    return codes


def test_every_refusal_has_a_status_a_sentence_a_fix_and_a_decider() -> None:
    assert set(REFUSALS) == set(Refusal), "a refusal was added without its entry"
    for reason, info in REFUSALS.items():
        assert info.status in (400, 403), reason
        assert len(info.sentence) > 20 and info.sentence.endswith("."), reason
        assert len(info.fix) > 10 and info.fix.endswith("."), reason
        module, _, qualname = info.decided_by.partition(":")
        target: object = importlib.import_module(f"sso_core.{module}")
        for part in qualname.split("."):
            target = getattr(target, part)  # AttributeError: the decider was renamed or removed
        assert callable(target), reason


def test_every_code_the_layer_raises_is_in_the_vocabulary() -> None:
    codes = raised_codes()
    assert len(codes) >= 25, "the scan found too few codes: the pattern no longer matches the code"
    assert codes <= {r.value for r in Refusal}, codes - {r.value for r in Refusal}


def test_an_unnamed_code_cannot_be_raised() -> None:
    from sso_core.saml import AcsRejected

    with pytest.raises(ValueError):
        AcsRejected("made_up_reason", "detail")


def test_page_status_follows_the_vocabulary() -> None:
    assert page_status("user_not_invited") == 403
    assert page_status("signature_invalid") == 400
    assert page_status("too_large") == 400  # 413 only for a form body the edge will not read
    assert describe("success") is None and page_status("success") == 400


@pytest.mark.integration
def test_the_trace_and_the_page_speak_the_vocabulary(ready: SsoWorld) -> None:
    started = ready.start("nobody@acme.test")
    resp = post(ready, ready.response_xml(started.request_id, "nobody@acme.test"), started)
    assert resp.status == REFUSALS[Refusal.USER_NOT_INVITED].status
    reference = reference_of(resp)
    found = ready.owner("GET", f"/connections/{ready.connection_id}/logins", query=f"reference={reference}")
    (entry,) = found.json()["logins"]
    assert entry["reason"] == "user_not_invited"
    assert entry["explanation"] == REFUSALS[Refusal.USER_NOT_INVITED].sentence
    assert entry["fix"] == REFUSALS[Refusal.USER_NOT_INVITED].fix
