"""The embedded lab: three namespaces (Mediation side, DUT, far side), veth links, hosts files, a fresh PKI, and the
DUT itself (a managed profile's processes), all owned by one run and torn down by it, even after Ctrl-C.

Picture (documentation address ranges only)::

    ns <tag>-ms                     ns <tag>-dut                         ns <tag>-far
    Mediation pool (SIPp + TLS edge)    DUT (e.g. Kamailio + rtpengine)     far end: PSTN/PBX (SIPp)
    ms-eth0 192.0.2.10  <-- veth -->  dut-ms 192.0.2.1
                                      dut-far 198.51.100.1  <-- veth -->  far-eth0 198.51.100.10

For an *external* DUT (real gear) none of this is created: :class:`ExternalLab` uses the addresses and interfaces
named in the profile and refuses every other target.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from . import netns
from .errors import DutDied, LabError, UsageError
from .procs import Supervisor, kill_recorded, pid_alive, require_tool
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

    def allowed_targets(self) -> set[str]:
        """The only addresses sipqual may send to."""
        return {self.ms.peer_ip, self.far.peer_ip, self.ms.ip, self.far.ip}


def cleanup_stale(state_root: Path = STATE_ROOT) -> list[str]:
    """Remove what a crashed or killed run left: its recorded processes, namespaces and hosts files."""
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
        kill_recorded(d)
        for ns in rec.get("namespaces", []):
            netns.delete(ns)
        shutil.rmtree(d, ignore_errors=True)
        cleaned.append(d.name)
    return cleaned


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


class Lab:
    """The namespace lab for one run. Use as a context manager; :meth:`close` is idempotent."""

    MS_IP, DUT_MS_IP = "192.0.2.10", "192.0.2.1"
    FAR_IP, DUT_FAR_IP = "198.51.100.10", "198.51.100.1"

    def __init__(self, profile: Profile, run_dir: Path, tag: str | None = None):
        if not profile.managed:
            raise UsageError(f"{profile.path}: the namespace lab runs managed DUTs only; this profile is external")
        if os.geteuid() != 0:
            raise UsageError("the embedded lab needs root (network namespaces); run as root or use sudo")
        for tool in ("ip", "ss", "sipp", "dumpcap", "tshark", "openssl"):
            require_tool(tool)
        self.profile = profile
        self.tag = tag or secrets.token_hex(3)
        self.run_dir = Path(run_dir)
        self.lab_run_dir = self.run_dir / "lab"
        self.state_dir = STATE_ROOT / self.tag
        self.sup = Supervisor(self.state_dir)
        self.dut_sup = Supervisor(self.state_dir)
        self.namespaces: list[str] = []
        self.dut_transport: str | None = None
        self.pki = None
        self.timings: dict[str, float] = {}
        p = profile.pixit
        self.topology = Topology(
            ms=Side("ms", netns.ns_name(self.tag, "ms"), self.MS_IP, self.DUT_MS_IP, "ms-eth0"),
            far=Side("far", netns.ns_name(self.tag, "far"), self.FAR_IP, self.DUT_FAR_IP, "far-eth0"),
            dut=Side("dut", netns.ns_name(self.tag, "dut"), self.DUT_MS_IP, self.DUT_MS_IP, "dut-ms"),
            hosts={p["mediation"]["pool_fqdn"]: self.MS_IP, p["mediation"]["server_fqdn"]: self.MS_IP,
                   p["dut"]["fqdn"]: self.DUT_MS_IP, "far.lab.example": self.FAR_IP},
            capture_interfaces=["dut-ms", "dut-far"],
            capture_netns=netns.ns_name(self.tag, "dut"),
        )

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
        for ns in self.namespaces:
            netns.write_hosts(ns, t.hosts)
        self.timings["netns_s"] = time.monotonic() - t0
        from .pki import create_pki  # imported late: only the lab needs openssl-made certificates

        t1 = time.monotonic()
        p = self.profile.pixit
        self.pki = create_pki(self.lab_run_dir / "pki", {
            "mediation": {"cn": p["mediation"]["pool_fqdn"],
                          "dns": [p["mediation"]["pool_fqdn"], p["mediation"]["server_fqdn"]], "ips": [t.ms.ip]},
            "dut": {"cn": p["dut"]["fqdn"], "dns": [p["dut"]["fqdn"]], "ips": [t.ms.peer_ip]},
        })
        self.timings["pki_s"] = time.monotonic() - t1
        self.timings["up_s"] = time.monotonic() - t0

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

    # ---- the DUT ------------------------------------------------------------------------------------------------
    def placeholders(self, transport: str) -> dict[str, str]:
        p, t = self.profile.pixit, self.topology
        ms_port = p["mediation"]["ports"][transport]
        dut_port = p["dut"]["ports"][transport]
        return {
            "run_dir": str(self.state_dir), "lab_dir": str(LAB_DIR),
            "dut_ms_ip": t.ms.peer_ip, "dut_far_ip": t.far.peer_ip, "ms_ip": t.ms.ip, "far_ip": t.far.ip,
            "dut_tcp_port": str(p["dut"]["ports"]["tcp"]), "dut_tls_port": str(p["dut"]["ports"]["tls"]),
            "ms_tcp_port": str(p["mediation"]["ports"]["tcp"]), "ms_tls_port": str(p["mediation"]["ports"]["tls"]),
            "dut_fqdn": p["dut"]["fqdn"], "ms_transport": transport, "dut_ms_port": str(dut_port),
            "ms_peer_uri": f"sip:{p['mediation']['pool_fqdn']}:{ms_port};transport={transport}",
            "far_port": str(p["far"]["port"]), "far_transport": p["far"]["transport"],
            "dut_cert": str(self.pki.certs["dut"].cert), "dut_key": str(self.pki.certs["dut"].key),
            "ca_cert": str(self.pki.ca.cert),
            "defines": " ".join(f"-A {d}" for d in self.profile.data["managed"].get("defines", [])),
        }

    def start_dut(self, transport: str) -> None:
        """Start (or restart for another Mediation-side transport) the managed DUT and wait until it is ready."""
        if self.dut_transport == transport and self.dut_alive():
            return
        self.stop_dut()
        t0 = time.monotonic()
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
                                     what=f"DUT process {spec['name']}", alive=proc.alive)
            except LabError as e:
                raise LabError(f"{e}; its stderr: {proc.stderr_tail(3)}") from None
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
