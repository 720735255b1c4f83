"""The one email normal form, used by invitations, users, discovery and the ACS.

``local@domain`` with the local part lower-cased and the domain as a lower-case IDNA (UTS 46) A-label. Lower-casing
the local part is a choice: RFC 5321 lets a mail server treat it case-sensitively, but no mainstream IdP or mailbox
provider does, and an IdP that asserts "Jane.Doe@" for a user invited as "jane.doe@" must still match. Quoted local
parts, IP-literal domains and SMTPUTF8 local parts are refused: no IdP asserts them for a work account.
"""

from __future__ import annotations

import re

import idna

from sso_core.models.users import InvalidEmail

# RFC 5322 dot-atom of printable ASCII ("atext").
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def normalise_email(raw: object) -> str:
    """``raw`` in the normal form, or ``InvalidEmail``."""
    if not isinstance(raw, str):
        raise InvalidEmail()
    text = raw.strip()
    if not text or len(text) > 320 or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidEmail()
    local, sep, domain = text.rpartition("@")
    if not sep or not local or not domain:
        raise InvalidEmail()
    local = local.lower()
    if len(local) > 64 or not _LOCAL_PART.fullmatch(local):
        raise InvalidEmail("The part before @ may hold letters, digits and . ! # $ % & ' * + / = ? ^ _ ` { | } ~ -.")
    domain = domain.removesuffix(".")
    if domain.startswith("[") or any(len(label) > 63 for label in domain.split(".")):
        raise InvalidEmail()
    try:
        ascii_domain = idna.encode(domain, uts46=True, std3_rules=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        raise InvalidEmail() from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LDH_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise InvalidEmail()
    email = f"{local}@{ascii_domain}"
    if len(email) > 254:
        raise InvalidEmail()
    return email


def parse_email(raw: object) -> str | None:
    """``raw`` in the normal form, or None where it is no address (for readers that try several values)."""
    try:
        return normalise_email(raw)
    except InvalidEmail:
        return None
