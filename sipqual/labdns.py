"""The lab's DNS server: a small authoritative server for the lab zone (``python -m sipqual.labdns``), so that a
managed DUT claiming DNS load balancing (pics.dns_load_balancing) resolves the Mediation pool FQDN the way it would
in a real deployment, over DNS, to one A record per pool member (issue 14, TRN-05), instead of from a hosts file.

Neither dnsmasq nor unbound is among the lab's Debian tools, and the lab needs only this much of DNS: UDP queries
for the names of its zone (A, AAAA, SRV), answered authoritatively (AA) in the order the zone lists them (no
rotation, so which member a DUT tries first is known); a name of the zone without a record of the asked type gets an
empty NOERROR answer, any other name NXDOMAIN (recursion is never offered). Every query is written to ``--log`` (one
JSON line: time, client, name, type, answers), evidence of what the DUT asked and when.

Zone file (``--zone``, JSON)::

    {"records": [{"name": "mspool.lab.example", "type": "A", "value": "192.0.2.10"},
                 {"name": "_sip._tcp.mspool.lab.example", "type": "SRV", "priority": 0, "weight": 10,
                  "port": 5068, "target": "ms1.lab.example"}], "ttl": 5}

Readiness: the ``listening`` line on stdout, or :func:`query` answering (``python -m sipqual.labdns query SERVER
NAME``, exit 0 when the name has an A record). Exit codes: 0 after SIGTERM/SIGINT or ``--max-seconds``, 1 when the
socket cannot be bound, 2 for bad arguments or an unreadable zone.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time

TYPES = {"A": 1, "AAAA": 28, "SRV": 33}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
CLASS_IN = 1
NOERROR, FORMERR, NXDOMAIN, NOTIMP = 0, 1, 3, 4


class DnsError(ValueError):
    pass


# ---- wire format ---------------------------------------------------------------------------------------------------
def encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise DnsError(f"bad label in {name!r}")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def decode_name(data: bytes, off: int) -> tuple[str, int]:
    """A (possibly compressed) name at ``off``: (name, offset after it in the original place)."""
    labels, end, jumps = [], None, 0
    while True:
        if off >= len(data):
            raise DnsError("name runs past the message")
        n = data[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(data) or jumps > 16:
                raise DnsError("bad compression pointer")
            end = off + 2 if end is None else end
            off, jumps = ((n & 0x3F) << 8) | data[off + 1], jumps + 1
            continue
        if n == 0:
            return ".".join(labels), (off + 1 if end is None else end)
        labels.append(data[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n


def build_query(name: str, qtype: str = "A", qid: int | None = None) -> bytes:
    qid = random.randrange(65536) if qid is None else qid
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", TYPES[qtype],
                                                                                              CLASS_IN)


def parse_response(data: bytes) -> dict:
    """rcode, flags and the answer records (A/AAAA values, SRV tuples) of a response."""
    qid, flags, qd, an, _ns, _ar = struct.unpack("!HHHHHH", data[:12])
    off = 12
    for _ in range(qd):
        _, off = decode_name(data, off)
        off += 4
    answers = []
    for _ in range(an):
        name, off = decode_name(data, off)
        rtype, _cls, ttl, rdlen = struct.unpack("!HHIH", data[off:off + 10])
        off += 10
        rdata = data[off:off + rdlen]
        if rtype in (1, 28):
            value = str(ipaddress.ip_address(rdata))
        elif rtype == 33:
            prio, weight, port = struct.unpack("!HHH", rdata[:6])
            value = {"priority": prio, "weight": weight, "port": port, "target": decode_name(data, off + 6)[0]}
        else:
            value = rdata.hex()
        answers.append({"name": name, "type": TYPE_NAMES.get(rtype, str(rtype)), "ttl": ttl, "value": value})
        off += rdlen
    return {"id": qid, "rcode": flags & 0xF, "aa": bool(flags & 0x0400), "answers": answers}


class Zone:
    def __init__(self, records: list[dict], ttl: int = 5):
        self.ttl = ttl
        self.records: list[dict] = []
        for r in records:
            rtype = r.get("type", "A")
            if rtype not in TYPES:
                raise DnsError(f"record type {rtype!r} not served (A, AAAA, SRV)")
            rec = {**r, "type": rtype, "name": r["name"].rstrip(".").lower()}
            if rtype in ("A", "AAAA"):
                addr = ipaddress.ip_address(r["value"])
                if (addr.version == 4) != (rtype == "A"):
                    raise DnsError(f"{r['name']}: {r['value']} is not an {rtype} value")
            else:
                for k in ("priority", "weight", "port", "target"):
                    if k not in r:
                        raise DnsError(f"{r['name']}: SRV record without {k}")
            self.records.append(rec)

    @classmethod
    def load(cls, path: str) -> "Zone":
        with open(path) as f:
            data = json.load(f)
        return cls(data.get("records", []), int(data.get("ttl", 5)))

    def names(self) -> set[str]:
        return {r["name"] for r in self.records}

    def lookup(self, name: str, qtype: int) -> list[dict]:
        name = name.rstrip(".").lower()
        return [r for r in self.records if r["name"] == name and TYPES[r["type"]] == qtype]

    def rdata(self, r: dict) -> bytes:
        if r["type"] in ("A", "AAAA"):
            return ipaddress.ip_address(r["value"]).packed
        return struct.pack("!HHH", int(r["priority"]), int(r["weight"]), int(r["port"])) + encode_name(r["target"])

    def answer(self, query: bytes) -> tuple[bytes | None, dict]:
        """The response to one query datagram (None: not worth answering) and what to log about it."""
        if len(query) < 12:
            return None, {"error": "short datagram"}
        qid, flags, qd = struct.unpack("!HHH", query[:6])
        if flags & 0x8000:
            return None, {"error": "a response, not a query"}
        opcode = (flags >> 11) & 0xF
        rd = flags & 0x0100
        try:
            if qd != 1:
                raise DnsError(f"{qd} questions")
            name, off = decode_name(query, 12)
            qtype, qclass = struct.unpack("!HH", query[off:off + 4])
        except (DnsError, struct.error) as e:
            return struct.pack("!HHHHHH", qid, 0x8000 | rd | FORMERR, 0, 0, 0, 0), {"error": str(e)}
        question = query[12:off + 4]
        log = {"name": name, "type": TYPE_NAMES.get(qtype, qtype)}
        if opcode != 0 or qclass != CLASS_IN:
            rcode, found = NOTIMP, []
        else:
            found = self.lookup(name, qtype)
            rcode = NOERROR if found or name.rstrip(".").lower() in self.names() else NXDOMAIN
        body = b""
        for r in found:
            rdata = self.rdata(r)
            body += b"\xc0\x0c" + struct.pack("!HHIH", qtype, CLASS_IN, self.ttl, len(rdata)) + rdata
        head = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | rd | rcode, 1, len(found), 0, 0)
        log.update(rcode=rcode, answers=[r.get("value") or f"{r['target']}:{r['port']}" for r in found])
        return head + question + body, log


# ---- client side: the lab's readiness probe --------------------------------------------------------------------------
def query(server: str, name: str, qtype: str = "A", timeout: float = 1.0, port: int = 53) -> dict:
    """Ask ``server`` once over UDP; the parsed response (:func:`parse_response`); OSError/TimeoutError on none."""
    q = build_query(name, qtype)
    with socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, (server, port))
        data, _ = s.recvfrom(4096)
    resp = parse_response(data)
    if resp["id"] != struct.unpack("!H", q[:2])[0]:
        raise OSError("response id does not match the query")
    return resp


# ---- server ----------------------------------------------------------------------------------------------------------
def serve(zone: Zone, listen: str, port: int, log_path: str | None, max_seconds: float | None) -> int:
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    fam = socket.AF_INET6 if ":" in listen else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        sock.bind((listen, port))
    except OSError as e:
        print(f"labdns: cannot bind udp {listen}:{port}: {e.strerror or e}", file=sys.stderr)
        return 1
    log = open(log_path, "a", buffering=1) if log_path else None
    print(json.dumps({"event": "listening", "listen": f"{listen}:{port}", "pid": os.getpid()}), flush=True)
    deadline = time.monotonic() + max_seconds if max_seconds else None
    while not stop:
        wait = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
        if deadline is not None and time.monotonic() >= deadline:
            break
        try:
            ready, _, _ = select.select([sock], [], [], wait)
        except InterruptedError:
            continue
        if not ready:
            continue
        try:
            data, client = sock.recvfrom(4096)
        except OSError:
            continue
        resp, entry = zone.answer(data)
        if resp is not None:
            try:
                sock.sendto(resp, client)
            except OSError as e:
                entry["send_error"] = str(e)
        if log:
            log.write(json.dumps({"t": time.time(), "client": client[0], **entry}) + "\n")
    sock.close()
    if log:
        log.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["query"]:
        ap = argparse.ArgumentParser(prog="labdns query")
        ap.add_argument("server")
        ap.add_argument("name")
        ap.add_argument("--type", default="A", choices=sorted(TYPES))
        ap.add_argument("--timeout", type=float, default=1.0)
        a = ap.parse_args(argv[1:])
        try:
            resp = query(a.server, a.name, a.type, a.timeout)
        except OSError as e:
            print(f"labdns query: no answer from {a.server}: {e}", file=sys.stderr)
            return 1
        print(json.dumps(resp))
        return 0 if resp["answers"] else 1
    ap = argparse.ArgumentParser(prog="labdns", description="the lab's authoritative DNS server (UDP)")
    ap.add_argument("--zone", required=True, help="zone file (JSON)")
    ap.add_argument("--listen", required=True, help="address to bind")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--log", help="one JSON line per query")
    ap.add_argument("--max-seconds", type=float)
    a = ap.parse_args(argv)
    try:
        zone = Zone.load(a.zone)
    except (OSError, ValueError, KeyError) as e:
        print(f"labdns: zone {a.zone}: {e}", file=sys.stderr)
        return 2
    return serve(zone, a.listen, a.port, a.log, a.max_seconds)


if __name__ == "__main__":
    sys.exit(main())
