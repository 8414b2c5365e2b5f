"""The Mediation pool of the managed lab (issue 14): a second Mediation Server (ms2) beside ms1, a real DNS server
(unbound, configured by :mod:`sipqual.labdns`) that resolves the pool FQDN to one A record per member, and the DUT's namespace resolving
through it. Only for a DUT whose profile claims DNS load balancing (``pics.dns_load_balancing``): every other lab
keeps one Mediation Server, its hosts file and its cost.

Picture::

    ns <tag>-ms                                               ns <tag>-dut
    ms1.lab.example 192.0.2.10  Mediation front (5068/5067)    resolv.conf: nameserver 192.0.2.53
    ms2.lab.example 192.0.2.11  second front (5068/5067)       mspool.lab.example -> A 192.0.2.10, A 192.0.2.11
    DNS             192.0.2.53  unbound (UDP/TCP 53)            (no pool name in its hosts file)

Each member has a Mediation front of its own (OPTIONS answered, a case's SIPp server behind it:
``sq.ms_server(..., member=2)``); failure injection (a member that answers 503, one that is unreachable) is the
case's own doing and is undone when the case ends.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LabError
from .procs import require_tool, run

MS2_OFFSET, DNS_OFFSET = 1, 43          # 192.0.2.11 (ms2), 192.0.2.53 (the lab's DNS server)
DNS_LOG = "queries.log"                 # unbound's log: every query and reply
DNS_READY_TIMEOUT = 10.0


@dataclass
class Member:
    name: str          # e.g. "ms2"
    fqdn: str          # ms2.lab.example
    ip: str


@dataclass
class Pool:
    """The pool's members (ms1 first: the order of the A records), its FQDN and the DNS server's address."""

    fqdn: str
    members: list[Member]
    dns_ip: str
    fronts: dict = field(default_factory=dict)   # member name -> sipqual.frontctl.Front (ms1's is lab.front)
    dns_log: Path | None = None

    def member(self, n: int) -> Member:
        return self.members[n - 1]

    def zone(self, ttl: int = 5) -> dict:
        """A records: the pool FQDN once per member (ms1 first) and each member's own FQDN."""
        recs = [{"name": self.fqdn, "type": "A", "value": m.ip} for m in self.members]
        recs += [{"name": m.fqdn, "type": "A", "value": m.ip} for m in self.members]
        return {"ttl": ttl, "records": recs}

    def describe(self) -> dict:
        return {"fqdn": self.fqdn, "dns_server": self.dns_ip,
                "members": [{"name": m.name, "fqdn": m.fqdn, "address": m.ip} for m in self.members]}


def member_fqdn(server_fqdn: str, n: int) -> str:
    """ms1.lab.example -> ms<n>.lab.example (the profile names ms1; the lab names the others like it)."""
    head, _, domain = server_fqdn.partition(".")
    base = head.rstrip("0123456789") or head
    return f"{base}{n}.{domain}" if domain else f"{base}{n}"


def plan(profile, ms_ip: str) -> Pool | None:
    """The pool a managed profile gets: None unless it claims DNS load balancing."""
    if not profile.claims("dns_load_balancing"):
        return None
    p = profile.pixit["mediation"]
    head, last = ms_ip.rsplit(".", 1)
    ms2 = f"{head}.{int(last) + MS2_OFFSET}"
    return Pool(fqdn=p["pool_fqdn"], dns_ip=f"{head}.{int(last) + DNS_OFFSET}",
                members=[Member("ms1", p["server_fqdn"], ms_ip), Member("ms2", member_fqdn(p["server_fqdn"], 2), ms2)])


def write_resolv(ns: str, dns_ip: str, netns_etc: Path) -> Path:
    """/etc/netns/<ns>/resolv.conf (``ip netns exec`` bind-mounts it): the lab's DNS server only, quick retries."""
    d = netns_etc / ns
    d.mkdir(parents=True, exist_ok=True)
    path = d / "resolv.conf"
    path.write_text(f"# sipqual lab: the pool's DNS server\nnameserver {dns_ip}\noptions timeout:1 attempts:2\n")
    return path


def start_dns(lab, pool: Pool) -> None:
    """Start unbound in the Mediation namespace on its own address, and wait until the DUT's namespace gets the
    pool's A records from it, in order (a real query from the DUT's namespace to the server's address)."""
    from . import labdns
    from .lab import extra_address

    unbound = require_tool("unbound")
    t = lab.topology
    for m in pool.members[1:]:
        extra_address(t.ms, int(m.ip.rsplit(".", 1)[1]) - int(t.ms.ip.rsplit(".", 1)[1]), f"pool member {m.name}")
    extra_address(t.ms, DNS_OFFSET, "the lab's DNS server")
    d = lab.lab_run_dir / "dns"
    d.mkdir(parents=True, exist_ok=True)
    conf = d / "unbound.conf"
    zone = pool.fqdn.partition(".")[2] or pool.fqdn
    conf.write_text(labdns.unbound_conf(pool.zone()["records"], pool.dns_ip, d, zone, ttl=pool.zone()["ttl"]))
    pool.dns_log = d / DNS_LOG
    proc = lab.sup.start("unbound", [unbound, "-d", "-c", str(conf)], netns=t.ms.netns, log_dir=d)
    deadline = time.monotonic() + DNS_READY_TIMEOUT
    probe = [sys.executable, "-m", "sipqual.labdns", "query", pool.dns_ip, pool.fqdn, "--timeout", "0.5"]
    while True:
        cp = run(probe, netns=t.dut.netns, check=False)
        if cp.returncode == 0:
            answers = [a["value"] for a in json.loads(cp.stdout)["answers"]]
            if answers != [m.ip for m in pool.members]:
                raise LabError(f"lab DNS: {pool.fqdn} resolves to {answers}, not the pool members in order")
            return
        if not proc.alive() or time.monotonic() >= deadline:
            raise LabError(f"lab DNS (unbound) did not answer for {pool.fqdn} at {pool.dns_ip}: "
                           f"{cp.stderr.decode(errors='replace').strip()} {proc.stderr_tail(2)}")
        time.sleep(0.1)


def start_member_fronts(lab, pool: Pool) -> None:
    """A Mediation front for every member but ms1 (whose front is the lab's own)."""
    from .frontctl import start_front

    ports = lab.profile.pixit["mediation"]["ports"]
    for m in pool.members[1:]:
        pool.fronts[m.name] = start_front(
            lab.sup, netns=lab.topology.ms.netns, tcp=f"{m.ip}:{ports['tcp']}",
            tls=f"{m.ip}:{ports['tls']}" if lab.pki is not None else None, pki=lab.pki,
            lab_dir=lab.lab_run_dir / m.name, state_dir=lab.state_dir / m.name)
