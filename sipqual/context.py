"""What a test case gets from the ``sq`` fixture: agents on both sides of the DUT, a capture already running, and
one way to turn the capture into a verdict.

    flows.opt.options(sq)              # a stimulus (sipqual/flows/, one module per suite): OPTIONS to the DUT
    trace = sq.finish()                # stop agents and capture, check the DUT is alive, read the capture
    sq.judge(checks.options_answered(trace, ...))

Every file a case produces lands in its evidence directory and is listed in the results.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import durations, netns, sipp
from .capture import Capture
from .errors import AgentError, CheckFailed, DutDied, LabError
from .media import write_tone
from .procs import LEAN_ENV
from .recording import recording
from .rules import run_passive
from .tlsfindings import capture_tls_findings, probe_clients, read_events, tls_findings
from .trace import SipReader, Trace, read_trace, tshark_args
from .verdict import Finding, capture_failures


@dataclass
class Edge:
    """A TLS edge process (see :mod:`sipqual.tlsedge`) and its files."""

    proc: object
    events: Path
    mode: str = ""
    listen: str = ""


ANALYSIS_NICE = 10


@contextmanager
def yielding_cpu():
    """Reading captures (tshark, the rules) yields the CPU to whatever runs a case: a DUT and agents of another lab
    in a parallel run (or on a busy machine) get the CPU before our analysis, so the DUT's timing (a 100 Trying within
    200 ms) is not spoilt by sipqual's own work. The calling thread's nice value (Linux: per thread; a child it starts,
    e.g. tshark, inherits it), back afterwards; only as root, who may lower it again."""
    if os.geteuid() != 0:
        yield
        return
    before = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, max(before, ANALYSIS_NICE))
    except OSError:
        pass
    try:
        yield
    finally:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, before)
        except OSError:
            pass


class CaseContext:
    def __init__(self, lab, transport: str, case_id: str, evidence_dir: Path, run_dir: Path,
                 duration_profile: str = durations.DEFAULT):
        self.lab = lab
        self.duration_profile = duration_profile  # "quick" or "full" (sipqual.durations)
        self.profile = lab.profile
        self.transport = transport
        self.case_id = case_id
        self.test_id = f"{case_id}-{transport}-{lab.tag}"
        self.dir = evidence_dir
        self.run_dir = run_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.topo = lab.topology
        self.ports = sipp.PortPool()
        self.runs: list[sipp.SippRun] = []
        self.results: list[sipp.SippResult] = []
        self._pending: list[sipp.SippRun] = []     # server agents started, not yet seen listening (ready())
        self.edges: list[Edge] = []
        self.helpers: list = []               # media-only endpoints (media_peer), stopped with the agents
        self.probes: set[str] = set()         # agents whose refusal by the DUT is the point (see ms_client)
        self.probe_edges: list[Edge] = []
        self.passive: list[Finding] = []      # rules run on every DUT message, and TLS-01 from the edges
        self.active: list[Finding] = []       # what the case's own checks found
        self.check_calls: list[dict] = []     # the checks the case called, for replay
        self._recording = recording(self.check_calls)
        self._recording.__enter__()
        self.trace: Trace | None = None
        self.dut_died: str | None = None      # finish(dut_may_die=True): why the DUT is gone (suite ROB judges it)
        self.keylog = self.dir / "tls-keys.log"
        self.tls_probe = self.dir / "tlsprobe.json"   # a TLS probe's record (TC-TRN-05/06, TC-SEC-04), if one ran
        self.capture = Capture(lab.sup, self.dir / "capture.pcapng", self.topo.capture_interfaces,
                               self.topo.capture_netns, max_seconds=durations.case_bound(duration_profile)).start()
        self.front_events: list[Path] = []    # the Mediation front's TLS events during this case
        self._sip_reader: SipReader | None = None
        self.media_agents: list = []          # sipqual.mediaagent.MediaAgent processes (media_agent())
        self.media_reports: dict[str, dict] = {}
        self.media_error: str | None = None
        try:
            v = self.verification
            self._sip_reader = SipReader(tshark_args(self.keylog if v["keylog"] else None, v["tls_ports"],
                                                     v["tcp_ports"]), nice=ANALYSIS_NICE)
            self._front_begin()
        except BaseException:
            self._close_sip_reader()
            self.capture.stop(drain_timeout=0.5)
            raise

    def seconds(self, quick: float, full: float) -> float:
        """How long something lasts in this run's duration profile (:mod:`sipqual.durations`)."""
        return durations.seconds(self.duration_profile, quick, full)

    # ---- ports and addresses -------------------------------------------------------------------------------------
    @property
    def pixit(self) -> dict:
        return self.profile.pixit

    @property
    def dut_port(self) -> int:
        return self.pixit["dut"]["ports"][self.transport]

    @property
    def ms_port(self) -> int:
        return self.pixit["mediation"]["ports"][self.transport]

    def _sip_keys(self, adv_host: str, adv_port: int, uri_transport: str) -> dict:
        return {"adv_host": adv_host, "adv_port": adv_port, "uri_transport": uri_transport,
                "via_transport": uri_transport.upper(), "test_id": self.test_id}

    # ---- TLS edges -----------------------------------------------------------------------------------------------
    def _edge(self, mode: str, listen: str, connect: str, source: str | None = None,
              server_name: str | None = None, present_cert: bool = True, wait: bool = True) -> Edge:
        """Start a TLS edge; ``wait=False``: the caller calls :meth:`_edge_ready` later (it comes up meanwhile)."""
        pki = self.lab.pki
        self.topo.check_target(connect.rsplit(":", 1)[0])
        n = len(self.edges)
        events = self.dir / f"tls-edge-{mode}-{n}.events.jsonl"
        argv = [sys.executable, "-m", "sipqual.tlsedge", mode, "--listen", listen, "--connect", connect,
                "--cert", str(pki.certs["mediation"].cert), "--key", str(pki.certs["mediation"].key),
                "--ca", str(pki.ca.cert), "--keylog", str(self.keylog), "--events", str(events),
                "--max-seconds", str(durations.case_bound(self.duration_profile))]
        if source:
            argv += ["--source", source]
        if server_name:
            argv += ["--server-name", server_name]
        if not present_cert:
            argv += ["--no-client-cert"]
        proc = self.lab.sup.start(f"tlsedge-{mode}-{n}", argv, netns=self.topo.ms.netns, log_dir=self.dir,
                                  env=LEAN_ENV)
        edge = Edge(proc, events, mode, listen)
        self.edges.append(edge)
        if wait:
            self._edge_ready(edge)
        return edge

    def _edge_ready(self, edge: Edge) -> None:
        from .tlsedge import wait_listening

        try:
            wait_listening(edge.events, timeout=10)
        except Exception as e:  # noqa: BLE001 - any failure to come up is a lab fault
            ip, port = edge.listen.rsplit(":", 1)  # a port someone else holds: name the holder (netns.port_holder)
            holder = netns.port_holder(self.topo.ms.netns, "tcp", ip, int(port), owner=edge.proc)
            why = netns.port_taken("tcp", ip, int(port), holder) if holder else f"{e}; {edge.proc.stderr_tail(2)}"
            raise LabError(f"TLS edge ({edge.mode}) did not come up: {why}") from None

    def ready(self) -> None:
        """Wait until every server agent started so far listens (they come up side by side; every client start,
        :meth:`wait_all` and :meth:`finish` wait for them first)."""
        pending, self._pending = self._pending, []
        for run in pending:
            sipp.ready(run)

    # ---- agents on the Mediation side ---------------------------------------------------------------------------
    def ms_client(self, name: str, scenario: str, keys: dict, *, present_cert: bool = True, probe: bool = False,
                  front_backend: bool = True, member: int = 1, local_ip: str | None = None,
                  **kw) -> sipp.SippRun:
        """A SIPp client on the Mediation side that talks to the DUT's trunk port (through a TLS edge for TLS).
        ``present_cert=False``: the edge offers no client certificate. ``probe=True``: the agent is a probe whose
        outcome the check judges from the capture (the DUT is expected to refuse it), so its exit code is never an
        ERROR and its edge's events are evidence only, not judged as the trunk's own handshakes.
        ``front_backend=False`` (TLS): the Mediation front keeps handing what the DUT sends to the Mediation port to
        the case's Mediation server (a second call the Mediation side places while it takes an inbound one, TC-FEA-01
        and -02); this client then gets nothing the DUT sends it in-dialog, only the responses to its requests.
        ``member``: the pool member that sends (sipqual.pool; 2 = ms2 from its own address, pool labs only).
        ``local_ip``: another address of ours on the Mediation side than the pool's (an untrusted source, TC-SEC-01;
        :func:`sipqual.lab.extra_address`): the agent (or its TLS edge) sends from there."""
        t = self.topo
        member_ip, fqdn, front = self.pool_member(member)
        ip = local_ip or member_ip
        local = self.ports.sip()
        if probe:
            self.probes.add(name)
        edge = None
        if self.transport == "tls":
            edge_port = self.ports.sip()
            # the edge comes up while the servers started before it do (ready() below)
            edge = self._edge("client", f"{member_ip}:{edge_port}", f"{t.ms.peer_ip}:{self.dut_port}", source=ip,
                              server_name=self.pixit["dut"]["fqdn"], present_cert=present_cert, wait=False)
            if probe:
                self.probe_edges.append(self.edges.pop())
            remote = f"{member_ip}:{edge_port}"
            adv = (fqdn, self.ms_port)
            # in-dialog requests the DUT sends to our Contact (the Mediation TLS port, e.g. the far end's BYE) reach
            # this agent through the front
            if front is not None and front_backend:
                front.backend(member_ip, local)
        else:
            remote = f"{t.ms.peer_ip}:{self.dut_port}"
            adv = (ip, local)
        all_keys = {**self._sip_keys(adv[0], adv[1], self.transport), "ruri_host": self.pixit["dut"]["fqdn"],
                    "ruri_port": self.dut_port, **keys}
        agent = sipp.Agent(name, scenario, t.ms.netns, member_ip if edge is not None else ip, local, "tcp",
                           remote=remote, keys=all_keys, media_port=self.ports.media(), ctrl_port=self.ports.ctrl(),
                           **kw)
        self.ready()
        if edge is not None:
            self._edge_ready(edge)
        return self._start(agent)

    def pool_member(self, member: int) -> tuple[str, str, object]:
        """Address, FQDN and Mediation front of Mediation pool member ``member`` (1: ms1, the lab's own)."""
        if member == 1:
            return self.topo.ms.ip, self.pixit["mediation"]["server_fqdn"], self._front
        pool = getattr(self.topo, "pool", None)
        if pool is None or not 1 <= member <= len(pool.members):
            raise LabError(f"no Mediation pool member {member}: the lab has no pool (pics.dns_load_balancing)")
        m = pool.member(member)
        return m.ip, m.fqdn, getattr(self, "_member_fronts", {}).get(m.name)

    # ---- the Mediation front (sipqual.msfront) --------------------------------------------------------------------
    def _front_begin(self) -> None:
        """Register this case with the run's Mediation front: it closes the DUT's connections (the DUT reconnects
        inside this capture) and, on TLS, writes the new handshakes' keys and events into this case's files."""
        front = getattr(self.lab, "front", None)
        self._front = front
        if front is None:
            return
        events = self.dir / "tls-edge-front.events.jsonl" if self.transport == "tls" else None
        front.begin(self.test_id, self.keylog if events else None, events)
        if events:
            self.front_events.append(events)
        pool = getattr(self.topo, "pool", None)   # the fronts of the pool's other members (sipqual.pool)
        self._member_fronts = dict(pool.fronts) if pool is not None else {}
        for name, member_front in self._member_fronts.items():
            member_events = self.dir / f"tls-edge-front-{name}.events.jsonl" if events else None
            member_front.begin(f"{self.test_id}-{name}", self.keylog if events else None, member_events)
            if member_events:
                self.front_events.append(member_events)

    def _front_end(self) -> None:
        front, self._front = self._front, None
        if front is not None:
            front.end()
        fronts, self._member_fronts = getattr(self, "_member_fronts", {}), {}
        for member_front in fronts.values():
            member_front.end()

    def ms_server(self, name: str, scenario: str, keys: dict | None = None, *, member: int = 1,
                  **kw) -> sipp.SippRun:
        """A SIPp server on the Mediation side behind the run's Mediation front, which owns the Mediation port and
        hands this case everything but the OPTIONS it answers itself; SIPp advertises the Mediation port.
        ``member``: the pool member it plays (sipqual.pool; 2 = ms2 behind its own front, pool labs only)."""
        t = self.topo
        ip, fqdn, front = self.pool_member(member)
        if front is None:
            raise LabError("no Mediation front: the lab did not start one (sipqual.msfront)")
        local = self.ports.sip()
        adv = (fqdn if self.transport == "tls" else ip, self.ms_port)
        front.backend(ip, local)
        agent = sipp.Agent(name, scenario, t.ms.netns, ip, local, "tcp",
                           keys={**self._sip_keys(adv[0], adv[1], self.transport), **(keys or {})},
                           media_port=self.ports.media(), ctrl_port=self.ports.ctrl(), **kw)
        return self._start(agent, server=True)

    # ---- agents on the far side --------------------------------------------------------------------------------
    def far_server(self, name: str, scenario: str, keys: dict | None = None, **kw) -> sipp.SippRun:
        t, far = self.topo, self.pixit["far"]
        agent = sipp.Agent(name, scenario, t.far.netns, t.far.ip, far["port"], far["transport"],
                           keys={**self._sip_keys(t.far.ip, far["port"], far["transport"]), **(keys or {})},
                           media_port=self.ports.media() + 10000, ctrl_port=self.ports.ctrl(), **kw)
        return self._start(agent, server=True)

    def far_client(self, name: str, scenario: str, keys: dict, *, local_port: int | None = None,
                   local_ip: str | None = None, **kw) -> sipp.SippRun:
        """A SIPp client on the far side calling the DUT's far port, from the far port (PIXIT) or ``local_port``:
        another port, for a far caller while a far server already holds the far port (a call the Mediation side
        forwards back out to the PSTN: TC-FEA-01, -02); ``local_ip``: another address of the far side than its own,
        for a second far-side party (TC-XFR-02: party 1's PBX beside the far parties)."""
        t, far = self.topo, self.pixit["far"]
        local, ip = local_port or far["port"], local_ip or t.far.ip
        all_keys = {**self._sip_keys(ip, local, far["transport"]), "ruri_host": t.far.peer_ip,
                    "ruri_port": far["port"], **keys}
        agent = sipp.Agent(name, scenario, t.far.netns, ip, local, far["transport"],
                           remote=f"{t.far.peer_ip}:{far['port']}", keys=all_keys,
                           media_port=self.ports.media() + 10000, ctrl_port=self.ports.ctrl(), **kw)
        return self._start(agent)

    def media_peer(self, name: str, side: str, port: int, seconds: float) -> None:
        """A media-only endpoint on our ``side`` ("ms" or "far") at ``port`` (:mod:`sipqual.rtppeer`): the phone a
        call is transferred to; it answers RTP symmetrically once the first packet reaches it. Returns once bound."""
        node = self.topo.ms if side == "ms" else self.topo.far
        workdir = self.dir / f"rtppeer-{name}"
        workdir.mkdir(parents=True, exist_ok=True)
        tone = write_tone(workdir / "tone.ulaw")
        argv = [sys.executable, "-m", "sipqual.rtppeer", "--bind", f"{node.ip}:{port}", "--tone", str(tone),
                "--seconds", str(seconds)]
        proc = self.lab.sup.start(f"rtppeer-{name}", argv, netns=node.netns, log_dir=workdir, env=LEAN_ENV)
        self.helpers.append(proc)
        netns.wait_listening(node.netns, "udp", node.ip, port, timeout=10, what=f"media peer {name}", owner=proc)

    def _start(self, agent: sipp.Agent, server: bool = False) -> sipp.SippRun:
        if agent.remote:
            self.topo.check_target(agent.remote.rsplit(":", 1)[0])
        workdir = self.dir / f"sipp-{agent.name}"
        workdir.mkdir(parents=True, exist_ok=True)
        write_tone(workdir / "tone.ulaw")
        write_tone(workdir / "tone.alaw", law="alaw")      # scenarios that send PCMA (PT 8)
        if not server:
            self.ready()      # a client's first message must find every server listening
        run = sipp.start(agent, self.lab.sup, workdir, server=server, wait=False)
        self.runs.append(run)
        if server:
            self._pending.append(run)
        return run

    # ---- media agents (sipqual.mediaagent) ----------------------------------------------------------------------
    def media_agent(self, name: str, side: str, **stream):
        """A media agent on the Mediation ("ms") or far ("far") side, bound to a port block of its own (SIPp binds
        its -mp port and -mp + 2), its peer unknown until the case updates it from the SDP; started like SIPp (in the
        side's namespace, recorded and killed by PID), stopped by :meth:`finish`, its ``report.json`` evidence.
        ``stream``: :class:`~sipqual.mediaagent.StreamConfig` fields (plan, keys, rtcp, ...)."""
        from .mediaagent import AgentConfig, MediaAgent, StreamConfig
        end = self.topo.ms if side == "ms" else self.topo.far
        port = self.ports.media() + 4000 + (0 if side == "ms" else 10000)    # clear of SIPp media and -cp ports
        cfg = StreamConfig(**{"name": name, "bind": end.ip, "port": port, **stream})
        agent = MediaAgent.start(self.lab.sup, self.dir / f"media-{name}", AgentConfig([cfg], max_seconds=
                                 durations.case_bound(self.duration_profile)), name=name, netns=end.netns)
        self.media_agents.append(agent)
        return agent

    def _stop_media(self) -> None:
        """Stop every media agent (each writes its report); one that does not stop in time is killed and recorded
        as this case's agent failure (an ERROR unless the capture shows a DUT fault, see :meth:`judge`)."""
        for agent in self.media_agents:
            try:
                self.media_reports[agent.name] = agent.stop()
            except AgentError as e:
                self.media_error = self.media_error or str(e)

    def wait_all(self) -> None:
        self.ready()
        for run in self.runs[len(self.results):]:
            self.results.append(run.finish())

    # ---- from capture to verdict ---------------------------------------------------------------------------------
    def finish(self, *, dut_may_die: bool = False) -> Trace:
        """Stop everything this case started, make sure the DUT survived, read the capture, run passive rules.
        ``dut_may_die``: a dead DUT is not raised (DutDied, an ERROR) but kept in :attr:`dut_died` for the case's
        check, which knows what killed it (suite ROB: a crash on a torture message is a FAIL)."""
        if self.trace is not None:
            return self.trace
        self.wait_all()
        self._stop_media()
        self._stop_helpers()
        self.capture.stop()
        try:
            self.lab.assert_dut_alive()
        except DutDied as e:
            if not dut_may_die:
                raise
            self.dut_died = str(e)
        v = self.verification
        with ThreadPoolExecutor(1) as pool, yielding_cpu():
            # the handshake pass (its own tshark) runs while the SIP reader's tshark runs: two processes, two cores
            handshakes = pool.submit(yielding_cpu()(capture_tls_findings), self.capture.path, self.keylog,
                                     v["tls_ports"], set(v["dut_addresses"]), v["dut_fqdn"],
                                     probe_clients(self.tls_probe)) if v["keylog"] else None
            pre, self._sip_reader = self._sip_reader, None
            self.trace = read_trace(self.capture.path, self.keylog if v["keylog"] else None, v["tls_ports"],
                                    v["tcp_ports"], pre=pre)
            if self.capture.complete is False:
                self.trace.findings.append("capture may be incomplete: dumpcap had not written every packet")
            self.passive.extend(run_passive(self.trace, set(v["dut_addresses"])))
            self.passive.extend(tls_findings(read_events([e.events for e in self.edges] + self.front_events)))
            if handshakes is not None:
                self.passive.extend(handshakes.result())
        return self.trace

    @property
    def verification(self) -> dict:
        """What :mod:`sipqual.replay` needs to judge this case again from its saved evidence (paths relative to the
        run directory)."""
        p, tls = self.pixit, self.transport == "tls"
        rel = lambda path: str(path.relative_to(self.run_dir))  # noqa: E731
        return {
            "capture": rel(self.capture.path),
            "keylog": rel(self.keylog) if tls else None,
            "tls_ports": sorted({p["dut"]["ports"]["tls"], p["mediation"]["ports"]["tls"]}) if tls else [],
            "tcp_ports": sorted({p["dut"]["ports"]["tcp"], p["mediation"]["ports"]["tcp"]}),
            "dut_addresses": sorted({self.topo.ms.peer_ip, self.topo.far.peer_ip}),
            "dut_fqdn": p["dut"]["fqdn"],
            "tls_events": [rel(e) for e in [e.events for e in self.edges] + self.front_events],
            "tls_probe": rel(self.tls_probe) if self.tls_probe.exists() else None,   # sipqual.tlsprobe's record
            "checks": self.check_calls,
        }

    @property
    def findings(self) -> list[Finding]:
        return self.passive + self.active

    def judge(self, findings: list[Finding]) -> None:
        """Record the case's findings and decide: FAIL on any violated check or mandatory passive rule; ERROR when
        the checks pass but an agent failed for a reason the capture does not show."""
        self.active.extend(findings)
        bad = capture_failures(self.active, self.passive)
        if bad:
            raise CheckFailed(bad)
        if self.media_error:
            raise AgentError(f"{self.media_error}; the capture shows no DUT fault, so this is a lab/tool problem")
        broken = [r for r in self.results if not r.ok and r.name not in self.probes]
        if broken:
            r = broken[0]
            raise AgentError(f"{r.summary()}; the capture shows no DUT fault, so this is a lab/tool problem"
                             + (f": {r.error_tail(1)}" if r.error_tail(1) else ""))
        if self.trace is not None and any(f.startswith("capture") for f in self.trace.findings):
            raise LabError("; ".join(self.trace.findings))

    def _stop_helpers(self) -> None:
        for agent in self.media_agents:
            if agent.proc.alive():
                agent.kill()
        for run in self.runs:
            run.stop()
        for e in self.edges + self.probe_edges:
            e.proc.stop(grace=2.0)
        for h in self.helpers:
            h.stop(grace=1.0)
        self._front_end()

    def close(self) -> None:
        """Always called by the fixture: nothing this case started may outlive it."""
        if self._recording is not None:
            self._recording.__exit__(None, None, None)
            self._recording = None
        self._stop_helpers()
        self._close_sip_reader()
        self.capture.stop(drain_timeout=0.5)

    def _close_sip_reader(self) -> None:
        if self._sip_reader is not None:
            self._sip_reader.close()
            self._sip_reader = None

    def evidence(self) -> list[Path]:
        files = sorted(p for p in self.dir.rglob("*") if p.is_file() and p.name not in ("tone.ulaw", "tone.alaw"))
        return files
