"""DNS servers on 127.0.0.1 for the authoritative checks: a zone's own server, a caching resolver, a refusing one.

All are ``sso_local``'s dnslib server with another record store, so they count their queries the same way.
"""

from __future__ import annotations

from dnslib import NS, QTYPE, RCODE, RR, SOA, A, DNSRecord

from sso_local.dns_server import LocalDnsServer, RecordStore

# A day of negative caching: what a resolver that asked before the record was published keeps answering.
NEGATIVE_TTL = 86400


def _norm(name: str) -> str:
    return name.rstrip(".").lower() + "."


class CachingResolverStore(RecordStore):
    """A recursive resolver's view: each zone's NS set (``ns1.<zone>``, no glue) and the NS host's address, and,
    for every name it holds no record of, the NXDOMAIN it cached with its zone's SOA (minimum one day)."""

    def __init__(self, zones: tuple[str, ...], addresses: dict[str, str] | None = None) -> None:
        super().__init__()
        # The deepest zone first: a name under a delegated child belongs to the child.
        self.zone_names = tuple(sorted((_norm(z) for z in zones), key=lambda z: -z.count(".")))
        self.addresses = {_norm(z): a for z, a in (addresses or {}).items()}
        self.txt_queries = 0

    def _zone(self, key: str) -> str | None:
        return next((z for z in self.zone_names if key == z or key.endswith("." + z)), None)

    def reply(self, request: DNSRecord) -> DNSRecord | None:
        key = _norm(str(request.q.qname))
        qtype = request.q.qtype
        zone = self._zone(key)
        if qtype == QTYPE.TXT:
            self.txt_queries += 1
        if any(_norm(r["name"]) == key for r in self.snapshot()):
            return super().reply(request)  # a record the test gave the resolver (fallback cases)
        self.queries += 1
        reply = request.reply(aa=0)  # a resolver, not the zone's authority
        if zone is not None and key == zone and qtype == QTYPE.NS:
            reply.add_answer(RR(zone, QTYPE.NS, rdata=NS("ns1." + zone), ttl=3600))
        elif zone is not None and key == "ns1." + zone and qtype == QTYPE.A:
            reply.add_answer(RR(key, QTYPE.A, rdata=A(self.addresses.get(zone, "127.0.0.1")), ttl=3600))
        elif zone is not None and key == "ns1." + zone:
            reply.add_auth(self._negative_soa(zone))
        else:
            reply.header.rcode = RCODE.NXDOMAIN
            if zone is not None:
                reply.add_auth(self._negative_soa(zone))
        return reply

    @staticmethod
    def _negative_soa(zone: str) -> RR:
        times = (1, 3600, 600, 86400, NEGATIVE_TTL)
        return RR(zone, QTYPE.SOA, rdata=SOA("ns1." + zone, "hostmaster." + zone, times), ttl=NEGATIVE_TTL)


class RefusingStore(RecordStore):
    """A server that refuses every question (a lame delegation as BIND answers it)."""

    def reply(self, request: DNSRecord) -> DNSRecord | None:
        self.queries += 1
        reply = request.reply()
        reply.header.rcode = RCODE.REFUSED
        return reply


def zone_server(*zones: str, host: str = "127.0.0.1", port: int = 0) -> LocalDnsServer:
    """An authoritative server of ``zones`` (AA answers, SOA on negative ones), sso_local's in authoritative mode."""
    server = LocalDnsServer(host=host, port=port, authoritative=True)
    for zone in zones:
        server.store.serve_zone(zone)
    return server


def caching_resolver(*zones: str, addresses: dict[str, str] | None = None) -> LocalDnsServer:
    """The resolver of ``zones``; each zone's name server at ``addresses[zone]`` (127.0.0.1 unless given)."""
    server = LocalDnsServer()
    server.store = CachingResolverStore(zones, addresses)
    return server


def refusing_server() -> LocalDnsServer:
    server = LocalDnsServer()
    server.store = RefusingStore()
    return server
