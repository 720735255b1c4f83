"""Normalisation and refusal of claimed domain names (docs/decisions.md, "Domains").

A claim is a registrable name or a subdomain of one, as a lower-case IDNA A-label. Refused:
URLs, email addresses, IP addresses, single labels, public suffixes, consumer mail domains and
anything beyond DNS limits.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

import idna
from publicsuffixlist import PublicSuffixList

from sso_core.models.emails import parse_email
from sso_core.models.errors import InvalidDomain

_LDH_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")

# Mailbox providers whose domains no single customer can own.
CONSUMER_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "ymail.com",
        "rocketmail.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "zoho.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "fastmail.com",
        "hey.com",
        "tutanota.com",
        "tuta.io",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "t-online.de",
        "libero.it",
        "naver.com",
        "comcast.net",
    }
)


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def normalise_domain(raw: object) -> str:
    """The lower-case A-label form of ``raw``, or ``InvalidDomain`` saying why not."""
    if not isinstance(raw, str):
        raise InvalidDomain("The domain must be a string.")
    text = raw.strip()
    if not text:
        raise InvalidDomain("The domain is empty.")
    if "://" in text or "/" in text or "?" in text or "#" in text:
        raise InvalidDomain("Give a bare domain name such as example.com, not a URL.")
    if "@" in text:
        raise InvalidDomain("Give the domain part only (example.com), not an email address.")
    if text.startswith("[") or ":" in text:
        raise InvalidDomain("IP addresses and ports cannot be claimed.")
    if text.endswith("."):
        text = text[:-1]
    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        raise InvalidDomain("IP addresses cannot be claimed.")
    if any(c.isspace() for c in text):
        raise InvalidDomain("A domain name cannot contain spaces.")
    if len(text) > 253:
        raise InvalidDomain("A domain name is at most 253 characters long.")
    if any(len(label) > 63 for label in text.split(".")):
        raise InvalidDomain("Each label of a domain name is 1 to 63 characters long.")
    try:
        name = idna.encode(text, uts46=True, std3_rules=True).decode("ascii").lower()
    except idna.IDNAError as exc:
        raise InvalidDomain(f"Not a valid domain name: {exc}.") from exc
    except UnicodeError as exc:
        raise InvalidDomain("Not a valid domain name: a label is empty or too long.") from exc
    if len(name) > 253:
        raise InvalidDomain("A domain name is at most 253 characters long.")
    labels = name.split(".")
    if len(labels) < 2:
        raise InvalidDomain("Single-label names such as 'localhost' cannot be claimed.")
    for label in labels:
        if len(label) > 63 or not label:
            raise InvalidDomain("Each label of a domain name is 1 to 63 characters long.")
        if not _LDH_LABEL.fullmatch(label):
            raise InvalidDomain(f"The label '{label}' is not a valid host name label.")
    if labels[-1].isdigit():
        raise InvalidDomain("IP addresses cannot be claimed.")
    psl = _psl()
    if psl.is_public(name) or psl.privatesuffix(name) is None:
        raise InvalidDomain(f"'{name}' is a public suffix; claim a domain registered under it.")
    registrable = psl.privatesuffix(name)
    if name in CONSUMER_MAIL_DOMAINS or registrable in CONSUMER_MAIL_DOMAINS:
        raise InvalidDomain(f"'{name}' is a consumer mail domain that no organisation can own.")
    return name


def email_domain(email: str) -> str:
    """The normalised domain of an email address in the one normal form (``models.emails``); InvalidDomain for
    anything that is not an address, or whose domain could never be claimed."""
    normalised = parse_email(email)
    if normalised is None:
        raise InvalidDomain("Not an email address.")
    return normalise_domain(normalised.rpartition("@")[2])
