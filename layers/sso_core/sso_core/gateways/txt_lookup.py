"""Looking up the verification TXT record and classifying what was found (docs/decisions.md, "Domains").

Outcomes: verified, not_found (no TXT at the name), mismatch (TXT present, none ours),
nxdomain (the name does not exist) and indeterminate (timeout, SERVFAIL, no reachable server).
Indeterminate never changes a domain's state.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

# dnspython is imported by the first lookup, not at import: only the DNS checks need it, and the
# handlers that merely hold a DomainService (kill switches, domain listing) would otherwise pay
# for it at every cold start (about 60 ms of CPU; tests/benchmarks/bench_cold_start.py).
if TYPE_CHECKING:
    import dns.message
    import dns.name
    import dns.nameserver
    import dns.rdatatype
    import dns.resolver
    import dns.rrset


class CheckResult(enum.StrEnum):
    VERIFIED = "verified"
    NOT_FOUND = "not_found"
    MISMATCH = "mismatch"
    NXDOMAIN = "nxdomain"
    INDETERMINATE = "indeterminate"


class AnswerSource(enum.StrEnum):
    """Who answered a check: one of the domain's authoritative servers, or the configured resolvers (fallback)."""

    AUTHORITATIVE = "authoritative"
    RESOLVER = "resolver"


@dataclass(frozen=True)
class TxtLookup:
    result: CheckResult
    found: tuple[str, ...] = field(default_factory=tuple)
    detail: str = ""
    source: AnswerSource = AnswerSource.RESOLVER
    server: str = ""  # "address:port" of the server whose answer was used; empty when none answered
    source_note: str = ""  # why the authoritative servers were not used, when the resolvers answered


def record_name(domain: str, label: str) -> str:
    return f"{label}.{domain}"


def record_value(token: str, prefix: str) -> str:
    return f"{prefix}{token}"


def match_records(records: Iterable[str], expected: str) -> CheckResult:
    """Any one record (its strings already joined) equal to the expected value verifies."""
    records = list(records)
    if not records:
        return CheckResult.NOT_FOUND
    return CheckResult.VERIFIED if any(r.strip() == expected for r in records) else CheckResult.MISMATCH


def nameserver_addresses(specs: Sequence[str]) -> list[tuple[str, int]]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` specs as (host, port) pairs."""
    addresses: list[tuple[str, int]] = []
    for spec in specs:
        host, port = spec, 53
        if spec.startswith("["):
            host, _, rest = spec[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else 53
        elif spec.count(":") == 1:
            host, port_text = spec.split(":")
            port = int(port_text)
        addresses.append((host, port))
    return addresses


def parse_nameservers(specs: Sequence[str]) -> list[dns.nameserver.Nameserver]:
    import dns.nameserver

    return [dns.nameserver.Do53Nameserver(host, port) for host, port in nameserver_addresses(specs)]


class TxtResolver:
    """Asks the configured name servers for TXT records, without cache, with a per-query deadline."""

    def __init__(self, nameservers: Sequence[str] = (), timeout: float = 2.0) -> None:
        if nameservers:
            nameserver_addresses(nameservers)  # a malformed port fails here, at construction, as before
        self._nameservers = tuple(nameservers)
        self._timeout = timeout
        self._built: dns.resolver.Resolver | None = None
        self._lock = threading.Lock()

    @property
    def _resolver(self) -> dns.resolver.Resolver:
        with self._lock:
            if self._built is None:
                import dns.resolver

                if self._nameservers:
                    resolver = dns.resolver.Resolver(configure=False)
                    resolver.nameservers = parse_nameservers(self._nameservers)
                else:
                    resolver = dns.resolver.Resolver(configure=True)
                resolver.cache = None
                resolver.timeout = self._timeout
                resolver.lifetime = self._timeout
                resolver.retry_servfail = False
                self._built = resolver
            return self._built

    @property
    def configured(self) -> str:
        """The configured resolvers, as the last check names them when it cannot tell which one answered."""
        return ",".join(self._nameservers) or "system resolver"

    @property
    def timeout(self) -> float:
        return self._timeout

    def ask(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, lifetime: float) -> dns.message.Message | None:
        """The resolvers' whole response to one question (NXDOMAIN included), or None when none answered."""
        import dns.exception
        import dns.resolver

        try:
            answer = self._resolver.resolve(
                name, rdtype, search=False, raise_on_no_answer=False, lifetime=max(lifetime, 0.01)
            )
        except dns.resolver.NXDOMAIN as exc:
            try:
                return exc.response(name)
            except (KeyError, IndexError):
                return None
        except dns.exception.DNSException:
            return None
        return answer.response

    def lookup(self, name: str, expected: str) -> TxtLookup:
        import dns.exception
        import dns.name
        import dns.rdatatype
        import dns.resolver

        try:
            answer = self._resolver.resolve(
                dns.name.from_text(name), dns.rdatatype.TXT, search=False, raise_on_no_answer=False
            )
        except dns.resolver.NXDOMAIN:
            return TxtLookup(CheckResult.NXDOMAIN, detail=f"{name} does not exist", server=self.configured)
        except dns.exception.Timeout:
            return TxtLookup(CheckResult.INDETERMINATE, detail="the DNS query timed out")
        except dns.resolver.NoNameservers:
            return TxtLookup(CheckResult.INDETERMINATE, detail="no name server answered (SERVFAIL)")
        except dns.exception.DNSException as exc:
            return TxtLookup(CheckResult.INDETERMINATE, detail=f"DNS error: {type(exc).__name__}")
        found = txt_strings(_txt_rrsets(answer))
        server = server_label(str(answer.nameserver), answer.port or 53) if answer.nameserver else ""
        if not found:
            return TxtLookup(CheckResult.NOT_FOUND, detail=f"no TXT record at {name}", server=server)
        return TxtLookup(match_records(found, expected), found=found, server=server)


def server_label(host: str, port: int) -> str:
    """``192.0.2.1:53`` or ``[2001:db8::1]:53``: the form the last check records."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def txt_strings(rrsets: Iterable[dns.rrset.RRset]) -> tuple[str, ...]:
    """Each TXT record's strings joined, decoded leniently."""
    return tuple(b"".join(rdata.strings).decode("utf-8", errors="replace") for rrset in rrsets for rdata in rrset)


def _txt_rrsets(answer: dns.resolver.Answer) -> list[dns.rrset.RRset]:
    """The TXT rrset at the end of the queried name's CNAME chain, and nothing else of the answer section.

    dnspython follows the chain from the question's name (``Message.resolve_chaining``) and keeps the rrset of the
    queried type at its end; an unrelated TXT rrset a resolver put in the answer section is ignored.
    """
    import dns.rdatatype  # dnspython loads on the first lookup (cold start)

    return [answer.rrset] if answer.rrset is not None and answer.rrset.rdtype == dns.rdatatype.TXT else []
