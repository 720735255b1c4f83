"""Asking a domain's authoritative name servers for the verification TXT record (docs/decisions.md,
"DNS checks ask the authoritative servers").

A resolver's cache can hold a negative answer (NXDOMAIN, with the zone's SOA minimum as its lifetime) for hours
after the owner published the record; the authoritative servers know at once. So a check:

1. finds the zone cut of the record name through the configured resolvers: an NS query on the name, then on the
   zone the negative answer's SOA names (or on each parent), never above a name of two labels;
2. takes the zone's NS host names (at most ``max_ns_names``), their addresses from glue or an A (then AAAA)
   query through the resolvers (at most ``max_addresses_per_name`` each), one name at a time;
3. asks them directly, recursion off, on the configured port (never a port from DNS), and accepts only
   authoritative answers (AA): the TXT record, NODATA or NXDOMAIN; a CNAME leaving the zone starts again at 1
   for its target (at most ``max_hops`` zones);
4. gives up after ``max_queries`` queries or ``total_seconds``; if no authoritative server answered (timeout,
   REFUSED, SERVFAIL, lame, a refused address, no zone cut), the configured resolvers answer, exactly as before.

The NS names and their addresses come from the domain's owner: an address that is not globally routable
(loopback, private, link-local and so the instance metadata service, shared, reserved) is never queried unless
``allow_private`` is set (tests and the local stack, where every server is 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sso_core.gateways.txt_lookup import (
    AnswerSource,
    CheckResult,
    TxtLookup,
    TxtResolver,
    match_records,
    server_label,
    txt_strings,
)
from sso_core.observability import logger

if TYPE_CHECKING:
    import dns.message
    import dns.name
    import dns.rrset

# One UDP answer at most this large (the DNS flag day's size, no fragmentation); larger ones come truncated and
# are asked again over TCP. An answer with more records than this is refused whatever its transport.
UDP_PAYLOAD = 1232
MAX_ANSWER_RECORDS = 64


@dataclass(frozen=True)
class AuthoritativePolicy:
    port: int = 53
    allow_private: bool = False
    total_seconds: float = 3.0
    server_timeout: float = 1.0
    max_ns_names: int = 4
    max_addresses_per_name: int = 2
    max_queries: int = 16
    max_hops: int = 3


class NoAuthority(Exception):
    """No authoritative answer: the reason, in words, for the last check's record."""


def address_allowed(address: str, allow_private: bool) -> bool:
    """Whether a name server address taken from DNS may be queried (an SSRF guard on owner-chosen addresses)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_multicast or ip.is_unspecified:
        return False
    return allow_private or ip.is_global


def _in_zone_end(response: dns.message.Message, qname: dns.name.Name, zone: dns.name.Name) -> dns.name.Name:
    """Follow the answer's CNAMEs from ``qname`` while they stay in ``zone``: the name in the zone the answer ends
    at, or the first name outside it (whose data this server is no authority for)."""
    import dns.rdataclass
    import dns.rdatatype

    name = qname
    for _ in range(16):
        if not name.is_subdomain(zone):
            return name
        cname = response.get_rrset(response.answer, name, dns.rdataclass.IN, dns.rdatatype.CNAME)
        if cname is None or not len(cname):
            return name
        name = cname[0].target
    return name


class _Budget:
    def __init__(self, policy: AuthoritativePolicy) -> None:
        self.queries_left = policy.max_queries
        self.deadline = time.monotonic() + policy.total_seconds
        self.max_queries = policy.max_queries
        self.total_seconds = policy.total_seconds

    def take(self, cap: float) -> float:
        """Spend one query; returns its timeout (at most ``cap``, at most what is left of the total)."""
        left = self.deadline - time.monotonic()
        if self.queries_left <= 0:
            raise NoAuthority(f"the authoritative lookup used its {self.max_queries} queries")
        if left <= 0.01:
            raise NoAuthority(f"the authoritative lookup used its {self.total_seconds:g} s")
        self.queries_left -= 1
        return min(cap, left)


class AuthoritativeTxtResolver:
    """``lookup(name, expected)`` like ``TxtResolver``, from the authoritative servers, the resolvers as fallback."""

    def __init__(self, resolvers: TxtResolver, policy: AuthoritativePolicy) -> None:
        self.resolvers = resolvers
        self.policy = policy

    def lookup(self, name: str, expected: str) -> TxtLookup:
        try:
            return self._authoritative(name, expected)
        except NoAuthority as exc:
            note = str(exc)
        except Exception as exc:  # noqa: BLE001 - whatever goes wrong on this path, the resolvers still answer
            logger.warning("authoritative DNS lookup failed", extra={"error": type(exc).__name__})
            note = f"the authoritative lookup failed ({type(exc).__name__})"
        fallback = self.resolvers.lookup(name, expected)
        return replace(fallback, source=AnswerSource.RESOLVER, source_note=f"resolver fallback: {note}"[:300])

    # ---- the authoritative path ---------------------------------------------------------------
    def _authoritative(self, name: str, expected: str) -> TxtLookup:
        import dns.name
        import dns.rcode
        import dns.rdataclass
        import dns.rdatatype

        budget = _Budget(self.policy)
        qname = dns.name.from_text(name)
        for _ in range(self.policy.max_hops):
            zone, response, server = self._ask_zone(qname, budget)
            final = _in_zone_end(response, qname, zone)
            if not final.is_subdomain(zone):
                qname = final  # the CNAME chain leaves the zone: the target's own zone answers for it
                continue
            if response.rcode() == dns.rcode.NXDOMAIN:
                return TxtLookup(
                    CheckResult.NXDOMAIN,
                    detail=f"{name} does not exist",
                    source=AnswerSource.AUTHORITATIVE,
                    server=server,
                )
            txt = response.get_rrset(response.answer, final, dns.rdataclass.IN, dns.rdatatype.TXT)
            found = txt_strings([txt] if txt is not None else [])
            if not found:
                return TxtLookup(
                    CheckResult.NOT_FOUND,
                    detail=f"no TXT record at {name}",
                    source=AnswerSource.AUTHORITATIVE,
                    server=server,
                )
            return TxtLookup(
                match_records(found, expected), found=found, source=AnswerSource.AUTHORITATIVE, server=server
            )
        raise NoAuthority(f"the CNAME chain crosses more than {self.policy.max_hops} zones")

    def _ask_zone(self, qname: dns.name.Name, budget: _Budget) -> tuple[dns.name.Name, dns.message.Message, str]:
        """The authoritative answer for ``qname``'s TXT: (zone, response, "address:port" that gave it)."""
        zone, ns_rrset, glue = self._zone_cut(qname, budget)
        problems: list[str] = []
        try:
            for host, address in self._addresses(ns_rrset, glue, budget, problems):
                response = self._query(qname, host, address, budget, problems)
                if response is not None:
                    return zone, response, server_label(address, self.policy.port)
        except NoAuthority as exc:
            raise NoAuthority("; ".join([*problems, str(exc)])) from None
        raise NoAuthority(("no authoritative server answered: " + "; ".join(problems)) if problems else "no server")

    def _zone_cut(
        self, qname: dns.name.Name, budget: _Budget
    ) -> tuple[dns.name.Name, dns.rrset.RRset, dict[dns.name.Name, list[str]]]:
        import dns.rdataclass
        import dns.rdatatype

        candidate, hinted = qname, False
        while len(candidate.labels) >= 3:  # two labels and the root: never a TLD
            response = self.resolvers.ask(candidate, dns.rdatatype.NS, budget.take(self.resolvers.timeout))
            if response is None:
                raise NoAuthority(f"the resolvers did not answer the NS query for {candidate}")
            ns = response.get_rrset(response.answer, candidate, dns.rdataclass.IN, dns.rdatatype.NS)
            if ns is not None and len(ns):
                glue: dict[dns.name.Name, list[str]] = {}
                for rrset in response.additional:
                    if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                        glue.setdefault(rrset.name, []).extend(r.address for r in rrset)
                return candidate, ns, glue
            soa = next((r for r in response.authority if r.rdtype == dns.rdatatype.SOA), None)
            if (
                soa is not None
                and not hinted
                and soa.name != candidate
                and candidate.is_subdomain(soa.name)
                and len(soa.name.labels) >= 3
            ):
                candidate, hinted = soa.name, True  # the negative answer names the zone: ask its NS next
                continue
            candidate = candidate.parent()
        raise NoAuthority(f"no zone cut found for {qname}")

    def _addresses(
        self,
        ns_rrset: dns.rrset.RRset,
        glue: dict[dns.name.Name, list[str]],
        budget: _Budget,
        problems: list[str],
    ) -> Iterator[tuple[str, str]]:
        """(host, address) to ask, one NS name at a time, resolved only when the previous ones failed."""
        hosts = sorted({r.target for r in ns_rrset})[: self.policy.max_ns_names]
        for host in hosts:
            addresses = glue.get(host) or self._resolve_host(host, budget)
            if not addresses:
                problems.append(f"{host} has no address")
            for address in addresses[: self.policy.max_addresses_per_name]:
                if address_allowed(address, self.policy.allow_private):
                    yield str(host), address
                else:
                    problems.append(f"{host} address {address} refused (not a public address)")

    def _resolve_host(self, host: dns.name.Name, budget: _Budget) -> list[str]:
        import dns.rdataclass
        import dns.rdatatype

        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            response = self.resolvers.ask(host, rdtype, budget.take(self.resolvers.timeout))
            if response is None:
                continue
            chain = response.resolve_chaining()
            if chain.answer is not None and chain.answer.rdclass == dns.rdataclass.IN and chain.answer.rdtype == rdtype:
                return [r.address for r in chain.answer]
        return []

    def _query(
        self, qname: dns.name.Name, host: str, address: str, budget: _Budget, problems: list[str]
    ) -> dns.message.Message | None:
        """One server's authoritative answer to the TXT question, or None (and the reason in ``problems``)."""
        import dns.exception
        import dns.flags
        import dns.message
        import dns.query
        import dns.rcode
        import dns.rdatatype

        who = f"{host} ({address})"
        query = dns.message.make_query(qname, dns.rdatatype.TXT, use_edns=0, payload=UDP_PAYLOAD)
        query.flags &= ~dns.flags.RD  # an authoritative question: no recursion asked for
        try:
            timeout = budget.take(self.policy.server_timeout)
            response = dns.query.udp(query, address, timeout=timeout, port=self.policy.port)
            if response.flags & dns.flags.TC:
                timeout = budget.take(self.policy.server_timeout)
                response = dns.query.tcp(query, address, timeout=timeout, port=self.policy.port)
        except dns.exception.Timeout:
            problems.append(f"{who} timed out")
            return None
        except (dns.exception.DNSException, OSError, ValueError) as exc:
            problems.append(f"{who} failed ({type(exc).__name__})")
            return None
        rcode = response.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            problems.append(f"{who} answered {dns.rcode.to_text(rcode)}")
            return None
        if not response.flags & dns.flags.AA:
            problems.append(f"{who} is not authoritative for the name (lame)")
            return None
        if sum(len(rrset) for rrset in response.answer) > MAX_ANSWER_RECORDS:
            problems.append(f"{who} answered more than {MAX_ANSWER_RECORDS} records")
            return None
        return response
