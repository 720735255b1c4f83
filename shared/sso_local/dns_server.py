"""A small authoritative-and-recursive-looking DNS server on 127.0.0.1 (UDP and TCP), for the local stack and tests.

It answers as a recursive resolver would: CNAME chains are followed inside one answer; a name with no
records and no children is NXDOMAIN. Names can be told to answer SERVFAIL or never to answer (timeout).
Queries are counted, so tests and benchmarks can assert how many were made.

With ``authoritative=True`` (the local stack) it is also the authoritative server of every zone it holds records
in, a zone being a record name's last two labels (``demo.example`` for ``_sso-challenge.demo.example``): an NS
query at the zone's apex names ``ns.<zone>`` with the server's own address as glue, ``ns.<zone>`` has that A
record, answers inside a zone carry the AA flag and negative ones the zone's SOA. The verifier then finds the
zone cut, asks this same server without recursion and gets the authoritative answer, as it would in the world.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections import defaultdict
from typing import Any

from dnslib import CNAME, NS, QTYPE, RCODE, RR, SOA, TXT, A, DNSRecord


def _txt_chunks(value: str | list[str]) -> list[bytes]:
    """One TXT record: a list gives its strings; a long string is split at 255 bytes, as publishers do."""
    if isinstance(value, list):
        return [v.encode() for v in value]
    data = value.encode()
    return [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]


def zone_of(name: str) -> str:
    """The demo zone of a normalised name: its last two labels (``demo.example.``), or the name itself."""
    labels = name.rstrip(".").split(".")
    return ".".join(labels[-2:]) + "."


class RecordStore:
    def __init__(self, authoritative: bool = False, ns_address: str = "127.0.0.1") -> None:
        self.authoritative = authoritative
        self.ns_address = ns_address
        self.zones: set[str] = set()  # authoritative mode: zones served even before they hold a record
        self._lock = threading.Lock()
        self._records: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        self._behaviour: dict[str, str] = {}
        self.queries = 0
        self.queries_by_name: dict[str, int] = defaultdict(int)

    @staticmethod
    def _norm(name: str) -> str:
        return name.rstrip(".").lower() + "."

    def add(self, name: str, rtype: str, value: str | list[str]) -> None:
        rtype = rtype.upper()
        if rtype not in ("TXT", "CNAME"):
            raise ValueError("type must be TXT or CNAME")
        with self._lock:
            self._records[self._norm(name)].append((rtype, value))

    def serve_zone(self, zone: str) -> None:
        """Authoritative mode: answer for ``zone`` (AA, SOA) even while it holds no record."""
        with self._lock:
            self.zones.add(self._norm(zone))

    def behave(self, name: str, behaviour: str) -> None:
        """'servfail' or 'timeout' for every query of ``name``."""
        with self._lock:
            self._behaviour[self._norm(name)] = behaviour

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._behaviour.clear()
            self.zones.clear()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"name": name.rstrip("."), "type": t, "value": v}
                for name, recs in self._records.items()
                for t, v in recs
            ]

    def reply(self, request: DNSRecord) -> DNSRecord | None:
        qname = str(request.q.qname)
        key = self._norm(qname)
        with self._lock:
            self.queries += 1
            self.queries_by_name[key] += 1
            behaviour = self._behaviour.get(key)
            records = {k: list(v) for k, v in self._records.items()}
        if behaviour == "timeout":
            return None
        reply = request.reply()
        if behaviour == "servfail":
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        zone = zone_of(key)
        in_zone = (
            self.authoritative
            and key.count(".") >= 2
            and (zone in self.zones or any(k == zone or k.endswith("." + zone) for k in records))
        )
        reply.header.aa = 1 if in_zone else 0  # dnslib's reply() sets AA: only a zone's own server may
        if in_zone:
            if self._zone_data(reply, key, zone, request.q.qtype):
                return reply
        name, seen = key, set()
        while name not in seen:
            seen.add(name)
            recs = records.get(name, [])
            cname = next((v for t, v in recs if t == "CNAME"), None)
            if cname is not None and request.q.qtype != QTYPE.CNAME:
                target = self._norm(str(cname))
                reply.add_answer(RR(name, QTYPE.CNAME, rdata=CNAME(target), ttl=60))
                name = target
                continue
            for rtype, value in recs:
                if rtype == "TXT" and request.q.qtype in (QTYPE.TXT, QTYPE.ANY):
                    reply.add_answer(RR(name, QTYPE.TXT, rdata=TXT(_txt_chunks(value)), ttl=60))
            if not recs and not any(k.endswith("." + name) for k in records):
                reply.header.rcode = RCODE.NXDOMAIN
            break
        if in_zone and not reply.rr:
            reply.add_auth(self._soa(zone))
        return reply

    def _zone_data(self, reply: DNSRecord, key: str, zone: str, qtype: int) -> bool:
        """The zone's own NS and name server address (authoritative mode); False when the question is not one."""
        host = "ns." + zone
        if key == zone and qtype == QTYPE.NS:
            reply.add_answer(RR(zone, QTYPE.NS, rdata=NS(host), ttl=3600))
            reply.add_ar(RR(host, QTYPE.A, rdata=A(self.ns_address), ttl=3600))
            return True
        if key == host:
            if qtype == QTYPE.A:
                reply.add_answer(RR(host, QTYPE.A, rdata=A(self.ns_address), ttl=3600))
            else:
                reply.add_auth(self._soa(zone))
            return True
        return False

    @staticmethod
    def _soa(zone: str) -> RR:
        return RR(zone, QTYPE.SOA, rdata=SOA("ns." + zone, "hostmaster." + zone, (1, 3600, 600, 86400, 60)), ttl=60)


class _Udp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        try:
            reply = self.server.store.reply(DNSRecord.parse(data))  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - a malformed packet gets no answer
            return
        if reply is None:
            return
        packet = reply.pack()
        if len(packet) > 512:
            reply = DNSRecord.parse(data).reply()
            reply.header.tc = 1
            packet = reply.pack()
        sock.sendto(packet, self.client_address)


class _Tcp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        try:
            head = self.request.recv(2)
            if len(head) < 2:
                return
            (length,) = struct.unpack("!H", head)
            data = b""
            while len(data) < length:
                chunk = self.request.recv(length - len(data))
                if not chunk:
                    return
                data += chunk
            reply = self.server.store.reply(DNSRecord.parse(data))  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001
            return
        if reply is None:
            return
        packet = reply.pack()
        self.request.sendall(struct.pack("!H", len(packet)) + packet)


class _UdpServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
    daemon_threads = True


class _TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class LocalDnsServer:
    """``with LocalDnsServer() as dns: dns.store.add(...); resolver at dns.address``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, authoritative: bool = False) -> None:
        self.store = RecordStore(authoritative=authoritative, ns_address=host)
        self.host = host
        self._requested_port = port
        self._servers: list[socketserver.BaseServer] = []
        self.port = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> LocalDnsServer:
        for _ in range(20):
            udp = _UdpServer((self.host, self._requested_port), _Udp)
            port = udp.server_address[1]
            try:
                tcp = _TcpServer((self.host, port), _Tcp)
            except OSError:
                udp.server_close()
                if self._requested_port:
                    raise
                continue
            break
        else:
            raise OSError("no free port for the DNS server")
        self.port = port
        for server in (udp, tcp):
            server.store = self.store  # type: ignore[union-attr]
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> LocalDnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
