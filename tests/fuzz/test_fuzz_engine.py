"""Fuzzing the ACS validator and IdP metadata import with inputs derived from genuine documents of a real pysaml2
IdP. Every input must end in a typed refusal (AcsRejected with a known reason, a DomainError) or a success."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sso_core.models.errors import DomainError
from sso_core.models.login_outcomes import Refusal
from sso_core.saml import AcsRejected, parse_idp_metadata, validate_response
from tests.fuzz.mutations import b64, derived_documents, form_values
from tests.fuzz.record import run_one
from tests.support.fuzzing import Engine, fuzz_settings


@fuzz_settings("acs_validator")
@given(data=st.data())
def test_acs_validator(engine: Engine, data: st.DataObject) -> None:
    value = data.draw(st.one_of(form_values(engine.response), derived_documents(engine.response).map(b64)))

    def call() -> str:
        try:
            login = validate_response(value, sp=engine.sp, idp=engine.settings, now=engine.now)
        except AcsRejected as exc:
            assert exc.reason in set(Refusal), exc.reason
            assert exc.detail and "\n" not in exc.detail
            return exc.reason
        assert login.name_id == "alice@contoso.com" and login.in_response_to  # only what the IdP signed
        return "accepted"

    run_one("acs_validator", call)


@fuzz_settings("idp_metadata")
@given(data=st.data())
def test_idp_metadata_import(engine: Engine, data: st.DataObject) -> None:
    raw = data.draw(derived_documents(engine.metadata))
    text = data.draw(st.one_of(st.just(raw.decode("utf-8", errors="replace")), st.text(max_size=500)))

    def call() -> str:
        try:
            imported = parse_idp_metadata(text, engine.now)
        except DomainError as exc:
            return exc.code
        assert imported.entity_id and imported.certificates
        return "accepted"

    run_one("idp_metadata", call)
