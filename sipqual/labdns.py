"""The lab's DNS, served by unbound (Debian's ``unbound``): the configuration sipqual writes for it, and the small
DNS client the lab probes it with (``python -m sipqual.labdns query SERVER NAME``).

A managed DUT claiming DNS load balancing (pics.dns_load_balancing) resolves the Mediation pool FQDN the way it would
in a real deployment, over DNS, to one A record per pool member (issue 14, TRN-05), instead of from a hosts file.
unbound runs in the foreground in the Mediation namespace with only the lab's zone as local data (``local-zone
static``: any other name of the zone is NXDOMAIN, nothing is recursed), its A records in the order the records list
them (``rrset-roundrobin: no``, so which member a DUT tries first is known), and logs every query and reply to its
log file, evidence of what the DUT asked and when.

Records (:func:`unbound_conf`)::

    [{"name": "mspool.lab.example", "type": "A", "value": "192.0.2.10"},
     {"name": "_sip._tcp.mspool.lab.example", "type": "SRV", "priority": 0, "weight": 10, "port": 5068,
      "target": "ms1.lab.example"}]

``query`` exits 0 when the name has an answer, 1 when the server gives none or does not answer.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import socket
import struct
import sys
from pathlib import Path

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


def check_records(records: list[dict]) -> list[dict]:
    """The records, names without a trailing dot; DnsError for a type other than A/AAAA/SRV or a bad value."""
    out = []
    for r in records:
        rtype = r.get("type", "A")
        if rtype not in TYPES:
            raise DnsError(f"record type {rtype!r} not served (A, AAAA, SRV)")
        name = r["name"].rstrip(".")
        encode_name(name)
        if rtype in ("A", "AAAA"):
            addr = ipaddress.ip_address(r["value"])
            if (addr.version == 4) != (rtype == "A"):
                raise DnsError(f"{r['name']}: {r['value']} is not an {rtype} value")
        else:
            for k in ("priority", "weight", "port", "target"):
                if k not in r:
                    raise DnsError(f"{r['name']}: SRV record without {k}")
            encode_name(r["target"])
        out.append({**r, "type": rtype, "name": name})
    return out


def unbound_conf(records: list[dict], listen: str, workdir: Path, zone: str, ttl: int = 5, port: int = 53) -> str:
    """unbound's configuration for the lab: one thread in the foreground on ``listen``:``port``, no root privileges
    dropped to another user, no chroot, no remote control, no recursion (``module-config: iterator`` and a static
    local zone ``zone`` holding ``records`` in their order), every query and reply logged to ``workdir/queries.log``."""
    recs = check_records(records)
    lines = []
    for r in recs:
        rr = (f"{r['value']}" if r["type"] in ("A", "AAAA") else
              f"{int(r['priority'])} {int(r['weight'])} {int(r['port'])} {r['target'].rstrip('.')}.")
        lines.append(f'    local-data: "{r["name"]}. {ttl} IN {r["type"]} {rr}"')
    return "\n".join([
        "# sipqual lab DNS (sipqual/labdns.py): the Mediation pool's zone, nothing else",
        "server:",
        f"    interface: {listen}",
        f"    port: {port}",
        "    do-daemonize: no",
        '    username: ""',
        '    chroot: ""',
        f'    directory: "{workdir}"',
        f'    pidfile: "{workdir}/unbound.pid"',
        "    use-syslog: no",
        f'    logfile: "{workdir}/queries.log"',
        "    log-time-ascii: yes",
        "    log-queries: yes",
        "    log-replies: yes",
        "    verbosity: 0",
        "    num-threads: 1",
        f"    do-ip6: {'yes' if ':' in listen else 'no'}",
        "    so-reuseport: no",
        "    outgoing-range: 16",
        "    num-queries-per-thread: 16",
        "    msg-cache-size: 128k",
        "    rrset-cache-size: 128k",
        "    rrset-roundrobin: no",
        "    access-control: 0.0.0.0/0 allow",
        "    access-control: ::/0 allow",
        '    module-config: "iterator"',
        f'    local-zone: "{zone.rstrip(".")}." static',
        *lines,
        "remote-control:",
        "    control-enable: no",
        ""])


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="labdns", description="ask a DNS server once over UDP (the lab's probe)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("query")
    q.add_argument("server")
    q.add_argument("name")
    q.add_argument("--type", default="A", choices=sorted(TYPES))
    q.add_argument("--port", type=int, default=53)
    q.add_argument("--timeout", type=float, default=1.0)
    a = ap.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        resp = query(a.server, a.name, a.type, a.timeout, a.port)
    except (OSError, DnsError, struct.error) as e:
        print(f"labdns query: no answer from {a.server}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(resp))
    return 0 if resp["answers"] else 1


if __name__ == "__main__":
    sys.exit(main())
