"""The embedded lab: three namespaces (Mediation side, DUT, far side), veth links, hosts files, a fresh PKI, and the
DUT itself (a managed profile's processes), all owned by one run and torn down by it, even after Ctrl-C.

Picture (documentation address ranges only)::

    ns <tag>-ms                     ns <tag>-dut                         ns <tag>-far
    Mediation pool (SIPp + TLS edge)    DUT (e.g. Kamailio + rtpengine)     far end: PSTN/PBX (SIPp)
    ms-eth0 192.0.2.10  <-- veth -->  dut-ms 192.0.2.1
                                      dut-far 198.51.100.1  <-- veth -->  far-eth0 198.51.100.10

A DUT claiming DNS load balancing also gets a Mediation pool: ms2 (192.0.2.11) with its own Mediation front, and a
DNS server (192.0.2.53) that the DUT's namespace resolves the pool FQDN through (:mod:`sipqual.pool`).

For an *external* DUT (real gear) none of this is created: :class:`ExternalLab` uses the addresses and interfaces
named in the profile and refuses every other target.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import interrupts, netns
from .errors import DutDied, LabError, UsageError
from .procs import Supervisor, kill_recorded, pid_alive, require_tool, run
from .profile import Profile

STATE_ROOT = Path("/run/sipqual")
LAB_DIR = Path(__file__).resolve().parent.parent / "lab"


@dataclass(frozen=True)
class Side:
    """One place where sipqual's agents live: a namespace (or None for the host) and the addresses there."""

    name: str                 # "ms" | "far" | "dut"
    netns: str | None
    ip: str                   # our address on this side
    peer_ip: str              # the DUT's address facing this side
    interface: str


@dataclass
class Topology:
    ms: Side
    far: Side
    dut: Side
    hosts: dict[str, str]
    capture_interfaces: list[str]
    capture_netns: str | None
    ipv6: dict | None = None  # managed lab of a DUT claiming pics.ipv6: {"ms": ours, "dut_ms": the DUT's} (TC-TRN-10)
    pool: object = None       # managed lab of a DUT claiming pics.dns_load_balancing: sipqual.pool.Pool (issue 14)

    def allowed_targets(self) -> set[str]:
        """The only addresses sipqual may send to: the DUT's (from the profile or the lab) and our own."""
        members = {m.ip for m in self.pool.members} if self.pool is not None else set()
        return {self.ms.peer_ip, self.far.peer_ip, self.ms.ip, self.far.ip, *(self.ipv6 or {}).values(), *members}

    def check_target(self, host: str) -> None:
        """Refuse to send anywhere else (network safety: external gear gets traffic only at its named addresses)."""
        if host.strip("[]") not in self.allowed_targets():
            raise LabError(f"refusing to send to {host}: not an address of this lab or the DUT profile")


def state_root() -> Path:
    """Where runs record their processes: /run/sipqual for root; a per-user temp folder otherwise (an external
    DUT needs no root)."""
    return STATE_ROOT if os.geteuid() == 0 else Path(tempfile.gettempdir()) / f"sipqual-{os.geteuid()}"


@interrupts.uninterrupted
def cleanup_stale(state_root: Path | None = None, announce=None) -> list[str]:
    """Remove what a crashed or killed run left: its recorded processes, namespaces and hosts files. Each stale
    lab is announced in one line (``announce``, default: stderr)."""
    state_root = state_root or globals()["state_root"]()
    announce = announce or (lambda line: print(line, file=sys.stderr, flush=True))
    cleaned = []
    if not state_root.is_dir():
        return cleaned
    for d in sorted(state_root.iterdir()):
        owner = d / "owner.json"
        try:
            rec = json.loads(owner.read_text())
        except (OSError, ValueError):
            rec = {}
        if rec.get("pid") and pid_alive(int(rec["pid"])) and rec.get("boot") == _boot_id():
            continue  # a live run (maybe a parallel xdist worker): not ours to touch
        killed = kill_recorded(d)
        for ns in rec.get("namespaces", []):
            netns.delete(ns)
        shutil.rmtree(d, ignore_errors=True)
        cleaned.append(d.name)
        namespaces = f"; namespaces {', '.join(rec['namespaces'])} deleted" if rec.get("namespaces") else ""
        announce(f"sipqual: cleaned a stale lab left by run {d.name} (pid {rec.get('pid', '?')}): "
                 f"{len(killed)} process(es) stopped{namespaces}; state {d} removed")
    return cleaned


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def managed_placeholders(profile: Profile, t: "Topology", pki, state_dir: Path, transport: str) -> dict[str, str]:
    """The values a managed profile's commands may use as ``{name}`` (README "DUT profiles" lists them)."""
    p = profile.pixit
    ms_port = p["mediation"]["ports"][transport]
    dut_port = p["dut"]["ports"][transport]
    return {
        "run_dir": str(state_dir), "lab_dir": str(LAB_DIR),
        "dut_ms_ip": t.ms.peer_ip, "dut_far_ip": t.far.peer_ip, "ms_ip": t.ms.ip, "far_ip": t.far.ip,
        "dut_tcp_port": str(p["dut"]["ports"]["tcp"]), "dut_tls_port": str(p["dut"]["ports"]["tls"]),
        "ms_tcp_port": str(p["mediation"]["ports"]["tcp"]), "ms_tls_port": str(p["mediation"]["ports"]["tls"]),
        "dut_fqdn": p["dut"]["fqdn"], "ms_transport": transport, "dut_ms_port": str(dut_port),
        "ms_peer_uri": f"sip:{p['mediation']['pool_fqdn']}:{ms_port};transport={transport}",
        "far_port": str(p["far"]["port"]), "far_transport": p["far"]["transport"],
        "dut_cert": str(pki.certs["dut"].cert), "dut_key": str(pki.certs["dut"].key),
        "ca_cert": str(pki.ca.cert),
        "defines": " ".join(f"-A {d}" for d in profile.data.get("managed", {}).get("defines", [])),
        **ipv6_placeholders(profile, t),
    }


def ipv6_placeholders(profile: Profile, t: "Topology") -> dict[str, str]:
    """The IPv6 placeholders (empty where the lab has no IPv6, e.g. a DUT not claiming pics.ipv6): the addresses, and
    the reference DUT's switches for them (``kamailio_ipv6``: listen on the DUT's IPv6 Mediation-side address and
    tell the config; ``rtpengine_ipv6``: an IPv6 address on rtpengine's Mediation-side interface)."""
    v6 = t.ipv6 or {}
    dut6 = v6.get("dut_ms", "")
    ports = profile.pixit["dut"]["ports"]
    return {
        "dut_ms_ip6": dut6, "ms_ip6": v6.get("ms", ""),
        "kamailio_ipv6": (f"-l tcp:[{dut6}]:{ports['tcp']} -l tls:[{dut6}]:{ports['tls']} -A WITH_IPV6 "
                          f"-A 'MS_IP6=\"{dut6}\"'") if dut6 else "",
        "rtpengine_ipv6": f"--interface=ms/{dut6}" if dut6 else "",
    }


def describe(profile: Profile, t: "Topology", pki) -> dict:
    """The topology as results.json records it for the report: who is where, on which ports, with which
    certificates (public facts only)."""
    from .pki import PkiError, cert_info

    p = profile.pixit
    certs = []
    for role, cert in ([("Mediation pool (sipqual)", pki.certs.get("mediation")), ("DUT", pki.certs.get("dut")),
                        ("trusted CA", pki.ca)] if pki is not None else []):
        if cert is None or not Path(cert.cert).exists():
            continue
        try:
            info = cert_info(cert.cert)
        except PkiError:
            continue
        certs.append({"role": role, "subject": info["subject"], "san": info["san"], "issuer": info["issuer"],
                      "not_after": info.get("not_after"), "sha256": info.get("sha256")})
    if p["dut"].get("cert") and Path(p["dut"]["cert"]).exists() and not any(c["role"] == "DUT" for c in certs):
        info = cert_info(p["dut"]["cert"])
        certs.append({"role": "DUT", "subject": info["subject"], "san": info["san"], "issuer": info["issuer"],
                      "not_after": info.get("not_after"), "sha256": info.get("sha256")})
    return {
        "kind": profile.kind,
        "mediation": {"address": t.ms.ip, "pool_fqdn": p["mediation"]["pool_fqdn"],
                      "server_fqdn": p["mediation"]["server_fqdn"], "ports": dict(p["mediation"]["ports"]),
                      "netns": t.ms.netns},
        "dut": {"fqdn": p["dut"]["fqdn"], "address_ms_side": t.ms.peer_ip, "address_far_side": t.far.peer_ip,
                "ports": dict(p["dut"]["ports"]), "netns": t.dut.netns},
        "far": {"address": t.far.ip, "port": p["far"]["port"], "transport": p["far"]["transport"],
                "netns": t.far.netns},
        "transports": list(p["transports"]),
        "capture_interfaces": list(t.capture_interfaces),
        "certificates": certs,
    }


TRUNK_UP_TIMEOUT = 15.0  # seconds a DUT claiming OPTIONS pings gets to send its first one after it started


def start_mediation_front(lab, netns: str | None, lab_dir: Path):
    """One Mediation front per run (:mod:`sipqual.msfront`) on the Mediation address and ports of the profile, TLS
    only when the lab has the Mediation pool certificate; started through the lab's Supervisor."""
    from .frontctl import start_front

    ip, ports = lab.topology.ms.ip, lab.profile.pixit["mediation"]["ports"]
    host = f"[{ip}]" if ":" in ip else ip
    return start_front(lab.sup, netns=netns, tcp=f"{host}:{ports['tcp']}",
                       tls=f"{host}:{ports['tls']}" if lab.pki is not None else None, pki=lab.pki,
                       lab_dir=lab_dir, state_dir=lab.state_dir)


def front_description(lab) -> dict:
    """results.json lab.topology.mediation_front: where the front listened and the DUT's OPTIONS pings it
    answered (count, interval per transport, one example; the full record is lab/mediation-options.jsonl)."""
    from .frontctl import options_summary

    front = getattr(lab, "front", None)
    if front is None:
        return {}
    return {"mediation_front": {"listen": front.listen, "options": options_summary(front.options_log)}}


class Lab:
    """The namespace lab for one run. Use as a context manager; :meth:`close` is idempotent."""

    MS_IP, DUT_MS_IP = "192.0.2.10", "192.0.2.1"
    FAR_IP, DUT_FAR_IP = "198.51.100.10", "198.51.100.1"
    MS_IP6, DUT_MS_IP6 = "2001:db8:10::10", "2001:db8:10::1"   # only when the profile claims pics.ipv6

    def __init__(self, profile: Profile, run_dir: Path, tag: str | None = None, lab_dir: str = "lab"):
        if not profile.managed:
            raise UsageError(f"{profile.path}: the namespace lab runs managed DUTs only; this profile is external")
        if os.geteuid() != 0:
            raise UsageError("the embedded lab needs root (network namespaces); run as root or use sudo")
        for tool in ("ip", "ss", "sipp", "dumpcap", "tshark", "openssl"):
            require_tool(tool)
        self.profile = profile
        self.tag = tag or secrets.token_hex(3)
        self.run_dir = Path(run_dir)
        self.lab_run_dir = self.run_dir / lab_dir   # lab/<worker> in a parallel run (sipqual.parallel)
        self.state_dir = state_root() / self.tag
        self.sup = Supervisor(self.state_dir)
        self.dut_sup = Supervisor(self.state_dir)
        self.namespaces: list[str] = []
        self.dut_transport: str | None = None
        self.pki = None
        self.front = None
        self.timings: dict[str, float] = {}
        p = profile.pixit
        from .pool import plan as pool_plan

        pool = pool_plan(profile, self.MS_IP)   # None unless the DUT claims DNS load balancing
        self.topology = Topology(
            ms=Side("ms", netns.ns_name(self.tag, "ms"), self.MS_IP, self.DUT_MS_IP, "ms-eth0"),
            far=Side("far", netns.ns_name(self.tag, "far"), self.FAR_IP, self.DUT_FAR_IP, "far-eth0"),
            dut=Side("dut", netns.ns_name(self.tag, "dut"), self.DUT_MS_IP, self.DUT_MS_IP, "dut-ms"),
            hosts={p["mediation"]["pool_fqdn"]: self.MS_IP, p["mediation"]["server_fqdn"]: self.MS_IP,
                   p["dut"]["fqdn"]: self.DUT_MS_IP, "far.lab.example": self.FAR_IP},
            capture_interfaces=["dut-ms", "dut-far"],
            capture_netns=netns.ns_name(self.tag, "dut"),
            ipv6={"ms": self.MS_IP6, "dut_ms": self.DUT_MS_IP6} if profile.claims("ipv6") else None,
            pool=pool,
        )
        if pool is not None:   # the pool name resolves over DNS only (sipqual.pool), never from a hosts file
            del self.topology.hosts[pool.fqdn]

    # ---- life cycle -------------------------------------------------------------------------------------------
    def __enter__(self) -> "Lab":
        try:
            self.up()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _record_owner(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "owner.json").write_text(json.dumps(
            {"pid": os.getpid(), "boot": _boot_id(), "namespaces": self.namespaces, "started": time.time()}))

    def up(self) -> None:
        t0 = time.monotonic()
        cleanup_stale()
        self.lab_run_dir.mkdir(parents=True, exist_ok=True)
        t = self.topology
        self.namespaces = [t.ms.netns, t.dut.netns, t.far.netns]
        self._record_owner()  # before creating anything, so a crash from here on is cleaned by the next run
        for ns in self.namespaces:
            netns.add(ns)
        netns.link(t.ms.netns, "ms-eth0", f"{t.ms.ip}/24", t.dut.netns, "dut-ms", f"{t.ms.peer_ip}/24")
        netns.link(t.far.netns, "far-eth0", f"{t.far.ip}/24", t.dut.netns, "dut-far", f"{t.far.peer_ip}/24")
        if t.ipv6:  # the Mediation-side link also gets IPv6 (TC-TRN-10); the far side stays IPv4
            netns.add_ipv6(t.ms.netns, "ms-eth0", f"{t.ipv6['ms']}/64")
            netns.add_ipv6(t.dut.netns, "dut-ms", f"{t.ipv6['dut_ms']}/64")
        for ns in self.namespaces:
            netns.write_hosts(ns, t.hosts)
        if t.pool is not None:
            from .pool import start_dns, write_resolv

            write_resolv(t.dut.netns, t.pool.dns_ip, netns.NETNS_ETC)
            start_dns(self, t.pool)
        self.timings["netns_s"] = time.monotonic() - t0
        from .pki import create_pki  # imported late: only the lab needs openssl-made certificates

        t1 = time.monotonic()
        p = self.profile.pixit
        names = self.profile.data["managed"].get("dut_cert_names") or [p["dut"]["fqdn"]]
        members = t.pool.members[1:] if t.pool is not None else []   # the pool's other members share the certificate
        self.pki = create_pki(self.lab_run_dir / "pki", {
            "mediation": {"cn": p["mediation"]["pool_fqdn"],
                          "dns": [p["mediation"]["pool_fqdn"], p["mediation"]["server_fqdn"],
                                  *(m.fqdn for m in members)],
                          "ips": [t.ms.ip, *(m.ip for m in members)]},
            # a managed variant may get a certificate for other names (faulty-tls-wrong-name: TLS-01/TLS-03)
            "dut": {"cn": names[0], "dns": names, "ips": [t.ms.peer_ip]},
        })
        self.timings["pki_s"] = time.monotonic() - t1
        self._start_front()
        self.timings["up_s"] = time.monotonic() - t0

    @interrupts.uninterrupted  # a second Ctrl-C or a SIGTERM waits until the lab is gone
    def close(self) -> None:
        t0 = time.monotonic()
        self.stop_dut()
        self.sup.stop_all()
        for ns in self.namespaces:
            netns.delete(ns)
        # leftover PID files of already-reaped processes and the owner record go with the state directory
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.namespaces = []
        self.timings["down_s"] = time.monotonic() - t0

    # ---- the Mediation front (sipqual.msfront): the Mediation ports from lab start to lab end ---------------------
    def _start_front(self) -> None:
        t0 = time.monotonic()
        self.front = start_mediation_front(self, self.topology.ms.netns, self.lab_run_dir)
        if self.topology.pool is not None:
            from .pool import start_member_fronts

            start_member_fronts(self, self.topology.pool)
        self.timings["front_s"] = time.monotonic() - t0

    def _await_trunk_up(self, transport: str, since: float) -> None:
        """A DUT that pings its trunk (pics.options_ping) is ready once its first OPTIONS reached the front: before
        that it may still think the Mediation Server is down, and an IN call would fail for no fault of either."""
        if self.profile.claims("options_ping"):
            self.front.wait_options(transport, since, timeout=TRUNK_UP_TIMEOUT)

    # ---- the DUT ------------------------------------------------------------------------------------------------
    def placeholders(self, transport: str) -> dict[str, str]:
        return managed_placeholders(self.profile, self.topology, self.pki, self.state_dir, transport)

    def describe(self) -> dict:
        pool = {"pool": self.topology.pool.describe()} if self.topology.pool is not None else {}
        return {**describe(self.profile, self.topology, self.pki), **front_description(self), **pool}

    def start_dut(self, transport: str) -> None:
        """Start (or restart for another Mediation-side transport) the managed DUT and wait until it is ready."""
        if self.dut_transport == transport and self.dut_alive():
            return
        self.stop_dut()
        t0, since = time.monotonic(), time.time()
        values = self.placeholders(transport)
        ns = self.topology.dut.netns
        log_dir = self.lab_run_dir / f"dut-{transport}"
        for spec in self.profile.data["managed"]["processes"]:
            try:
                argv = shlex.split(spec["command"].format(**values))
            except KeyError as e:
                raise UsageError(f"{self.profile.path}: managed.processes '{spec['name']}': "
                                 f"unknown placeholder {{{e.args[0]}}}") from None
            require_tool(argv[0])
            proc = self.dut_sup.start(spec["name"], argv, netns=ns, log_dir=log_dir, cwd=log_dir)
            (proto, target), = spec["ready"].items()
            ip, port = target.format(**values).rsplit(":", 1)
            try:
                netns.wait_listening(ns, proto.split("_")[0], ip, int(port), timeout=15,
                                     what=f"DUT process {spec['name']}", owner=proc)
            except LabError as e:
                raise LabError(f"{e}; its stderr: {proc.stderr_tail(3)}") from None
        self._await_trunk_up(transport, since)
        self.dut_transport = transport
        self.timings[f"dut_start_{transport}_s"] = time.monotonic() - t0

    def stop_dut(self) -> None:
        self.dut_sup.stop_all()
        self.dut_transport = None

    def dut_alive(self) -> bool:
        return bool(self.dut_sup.procs) and all(p.alive() for p in self.dut_sup.procs)

    def assert_dut_alive(self) -> None:
        dead = [p for p in self.dut_sup.procs if not p.alive()]
        if dead or not self.dut_sup.procs:
            what = ", ".join(f"{p.name} (exit {p.returncode})" for p in dead) or "not started"
            raise DutDied(f"DUT process died during the test: {what}")


def extra_address(side: Side, offset: int, purpose: str) -> str:
    """A further address of ours on ``side`` of the managed lab: ``side.ip`` + ``offset`` in its last octet (a
    documentation range, on-link for the DUT), added to our namespace there if missing and gone with the namespace.
    For agents that must not share our main address: a second far party, a Lync client beside the Mediation Server
    (media bypass), a second pool member, an untrusted source. External gear has no such address: LabError naming
    ``purpose``."""
    if side.netns is None:
        raise LabError(f"{purpose} needs a second address on the {side.name} side (managed lab only)")
    head, last = side.ip.rsplit(".", 1)
    addr = f"{head}.{int(last) + offset}"
    run(["ip", "-n", side.netns, "addr", "replace", f"{addr}/24", "dev", side.interface])
    return addr


# ---- external gear ------------------------------------------------------------------------------------------------
def local_addresses() -> dict[str, str]:
    """Addresses configured on this machine (in this namespace): address -> interface."""
    out = {}
    for link in json.loads(run(["ip", "-j", "addr", "show"]).stdout or b"[]"):
        for a in link.get("addr_info", []):
            out[a.get("local", "")] = link.get("ifname", "")
    return out


def _external_pki(profile: Profile):
    """The Mediation pool certificate, key and trusted CA that the profile names (the device already trusts this
    CA: real gear cannot be handed a new one per run)."""
    from .pki import Cert, Pki, PkiError, cert_info

    tls = profile.pixit["mediation"].get("tls")
    if not tls:
        return None
    paths = {k: (profile.path.parent / tls[k]).resolve() for k in ("cert", "key", "ca")}
    for k, path in paths.items():
        if not path.is_file():
            raise UsageError(f"{profile.path}: pixit.mediation.tls.{k}: {path} does not exist")
    try:
        info = cert_info(paths["cert"])
        ca_info = cert_info(paths["ca"])
    except PkiError as e:
        raise UsageError(f"{profile.path}: pixit.mediation.tls: {e}") from None
    mediation = Cert("mediation", paths["cert"], paths["key"], info["subject_cn"], info["san_dns"], info["san_ip"],
                     info["issuer_cn"])
    ca = Cert("ca", paths["ca"], None, ca_info["subject_cn"])
    return Pki(dir=paths["cert"].parent, ca=ca, rogue_ca=None, certs={"mediation": mediation})


class ExternalLab:
    """Real gear (``kind: external``): nothing is created but processes. sipqual's Mediation-side and far-side
    agents run on this machine, bound to the profile's local addresses; captures run on the profile's interfaces;
    the only targets are the device's addresses from the profile. "Is the DUT alive" is a connect probe to its
    listening port, the most a black box allows."""

    def __init__(self, profile: Profile, run_dir: Path, tag: str | None = None):
        if profile.managed:
            raise UsageError(f"{profile.path}: ExternalLab is for kind: external profiles")
        for tool in ("ip", "ss", "sipp", "dumpcap", "tshark", "openssl"):
            require_tool(tool)
        p = profile.pixit
        local = local_addresses()
        for key, addr in (("pixit.mediation.address", p["mediation"]["address"]),
                          ("pixit.far.address", p["far"]["address"])):
            if addr not in local:
                raise UsageError(f"{profile.path}: {key}: {addr} is not an address of this machine "
                                 f"(sipqual binds its agents there)")
        ifaces = set(local.values()) | {i["ifname"] for i in json.loads(run(["ip", "-j", "link"]).stdout or b"[]")}
        missing = [i for i in p["capture_interfaces"] if i not in ifaces]
        if missing:
            raise UsageError(f"{profile.path}: pixit.capture_interfaces: no interface {', '.join(missing)} here")
        dut = p["dut"]["address"]
        far_dut = p["far"].get("dut_address") or dut
        self.profile = profile
        self.tag = tag or secrets.token_hex(3)
        self.run_dir = Path(run_dir)
        self.state_dir = state_root() / self.tag
        self.sup = Supervisor(self.state_dir)
        self.timings: dict[str, float] = {}
        self.topology = Topology(
            ms=Side("ms", None, p["mediation"]["address"], dut, local[p["mediation"]["address"]]),
            far=Side("far", None, p["far"]["address"], far_dut, local[p["far"]["address"]]),
            dut=Side("dut", None, dut, dut, ""),
            hosts={}, capture_interfaces=list(p["capture_interfaces"]), capture_netns=None)
        self.pki = _external_pki(profile)
        self.front = None
        self.dut_transport: str | None = None

    def __enter__(self) -> "ExternalLab":
        cleanup_stale()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "owner.json").write_text(json.dumps(
            {"pid": os.getpid(), "boot": _boot_id(), "namespaces": [], "started": time.time()}))
        try:
            self._start_front()
        except BaseException:
            self.close()
            raise
        return self

    def _start_front(self) -> None:
        """The device may ping its trunk from the first second: the Mediation ports answer for the whole run."""
        t0 = time.monotonic()
        self.front = start_mediation_front(self, None, self.run_dir / "lab")
        self.timings["front_s"] = time.monotonic() - t0

    def __exit__(self, *exc) -> None:
        self.close()

    @interrupts.uninterrupted
    def close(self) -> None:
        self.sup.stop_all()
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def describe(self) -> dict:
        return {**describe(self.profile, self.topology, self.pki), **front_description(self)}

    def _probe(self, transport: str, timeout: float) -> str | None:
        """Connect to the DUT's listening port from our Mediation address; None when it accepts, else why not."""
        port = self.profile.pixit["dut"]["ports"][transport]
        target = (self.topology.ms.peer_ip, port)
        try:
            with socket.create_connection(target, timeout=timeout, source_address=(self.topology.ms.ip, 0)):
                return None
        except OSError as e:
            return f"{target[0]}:{port} ({transport}) does not accept connections: {e.strerror or e}"

    def start_dut(self, transport: str) -> None:
        """Nothing to start: make sure the device answers on the port this transport uses."""
        if transport == "tls" and self.pki is None:
            raise UsageError(f"{self.profile.path}: TLS against external gear needs pixit.mediation.tls "
                             f"(cert, key, ca: the Mediation pool certificate the device trusts)")
        t0 = time.monotonic()
        why = self._probe(transport, timeout=5)
        if why:
            raise LabError(f"DUT unreachable: {why}")
        self.dut_transport = transport
        self.timings[f"dut_probe_{transport}_s"] = time.monotonic() - t0

    def assert_dut_alive(self) -> None:
        why = self._probe(self.dut_transport or "tcp", timeout=3)
        if why:
            raise DutDied(f"the DUT stopped answering during the test: {why}")


def preflight(profile: Profile) -> None:
    """The lab's preconditions (root and tools for the namespace lab; local addresses and interfaces for real
    gear), checked without creating anything: a :class:`UsageError` or :class:`ToolMissing` in one line."""
    open_lab(profile, Path(tempfile.gettempdir()))


def open_lab(profile: Profile, run_dir: Path, lab_dir: str = "lab"):
    """The lab a profile needs: the namespace lab for a managed DUT, the host's own interfaces for real gear
    (never parallel: ``lab_dir`` is for the namespace lab of a parallel worker)."""
    return Lab(profile, run_dir, lab_dir=lab_dir) if profile.managed else ExternalLab(profile, run_dir)
