"""Stimuli of suite TRN on TLS: handshakes with the DUT as server (our edge connects) and as client (the DUT calls
the Mediation front)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import calls, opt

if TYPE_CHECKING:
    from ..context import CaseContext

PROBE_SUFFIX = "-nocert"


def probe_id(sq: CaseContext) -> str:
    """The marker of the probe OPTIONS sent without a client certificate."""
    return sq.test_id + PROBE_SUFFIX


def mutual_tls_server(sq: CaseContext) -> None:
    """TC-TRN-03: one OPTIONS over mutual TLS with the pool certificate (must be answered), then a probe OPTIONS on
    a connection whose client presents no certificate (the DUT must refuse it; SIPp waits 2 s at most)."""
    opt.options(sq)
    sq.ms_client("ms-probe-nocert", "options_probe.xml", {"test_id": probe_id(sq)}, present_cert=False,
                 probe=True, timeout_s=5)
    sq.wait_all()


def dut_certificate(sq: CaseContext) -> None:
    """TC-TRN-07: an OPTIONS to the DUT's trunk port over TLS, so the DUT presents its certificate as server."""
    opt.options(sq)


def dut_as_tls_client(sq: CaseContext) -> None:
    """TC-TRN-04: an IN call, which the DUT sends over TLS to the Mediation front (short hold)."""
    calls.in_call(sq, hold_ms=1000)


def reconnect_ids(sq: CaseContext) -> tuple[str, str]:
    """TC-TRN-08's markers of the IN call before and the IN call after the Mediation side closed the connection."""
    return sq.test_id + "-1", sq.test_id + "-2"


def framer_id(sq: CaseContext) -> str:
    """The marker prefix of TC-TRN-08's pipelined and split OPTIONS (``-pipe-1``, ``-pipe-2``, ``-split``)."""
    return sq.test_id + "-frame"


def _in_call(sq: CaseContext, test_id: str, n: int, hold_ms: int) -> None:
    sq.ms_server(f"ms-callee-{n}", "call_uas_hangup.xml", {"test_id": test_id}, timeout_s=15, pause_ms=hold_ms)
    sq.far_client(f"far-caller-{n}", "call_uac_wait_bye.xml", {**calls.inbound(sq), "test_id": test_id},
                  timeout_s=15)
    sq.wait_all()


def reconnect_and_framing(sq: CaseContext, hold_ms: int = 1000) -> None:
    """TC-TRN-08: (a) an IN call; then the Mediation side closes the DUT's connection to the Mediation port (the
    front closes it: FIN, or close_notify on TLS); then a second IN call, which the DUT must send on a new
    connection. (b) our framer (:mod:`sipqual.framer`) connects to the DUT's trunk port and sends two OPTIONS in one
    write (one TCP segment / TLS record) and one OPTIONS split across two writes 0.2 s apart."""
    import sys

    first, second = reconnect_ids(sq)
    _in_call(sq, first, 1, hold_ms)
    front = sq.lab.front
    if front is not None:
        front.close_connections()
    _in_call(sq, second, 2, hold_ms)
    t, tls = sq.topo, sq.transport == "tls"
    sq.topo.check_target(t.ms.peer_ip)
    argv = [sys.executable, "-m", "sipqual.framer", "--connect", f"{t.ms.peer_ip}:{sq.dut_port}",
            "--source", t.ms.ip, "--test-id", framer_id(sq), "--ruri-host", sq.pixit["dut"]["fqdn"],
            "--out", str(sq.dir / "framer.json"), "--max-seconds", "12"]
    if tls:
        pki = sq.lab.pki
        argv += ["--tls", "--cert", str(pki.certs["mediation"].cert), "--key", str(pki.certs["mediation"].key),
                 "--ca", str(pki.ca.cert), "--server-name", sq.pixit["dut"]["fqdn"], "--keylog", str(sq.keylog)]
    proc = sq.lab.sup.start("framer", argv, netns=t.ms.netns, log_dir=sq.dir)
    proc.wait(timeout=15)


def ipv6_out_call(sq: CaseContext, hold_ms: int = 1500):
    """TC-TRN-10: an OUT call whose Mediation leg is IPv6 (the lab's 2001:db8:10::/64 between our Mediation side and
    the DUT; the far leg stays IPv4): G.711 both ways, the Mediation side hangs up. The case's topology is switched
    to the IPv6 Mediation-side addresses, so the capture's DUT addresses (passive rules, TLS facts) are those.
    Returns the call spec."""
    from dataclasses import replace

    from .. import sipp
    from ..checks import CallSpec
    from ..errors import LabError

    t = sq.topo
    if not t.ipv6:
        raise LabError("the lab has no IPv6 addresses on the Mediation side (TC-TRN-10 runs on the managed lab)")
    ms6, dut6 = t.ipv6["ms"], t.ipv6["dut_ms"]
    sq.topo = t = replace(t, ms=replace(t.ms, ip=ms6, peer_ip=dut6))
    sq.far_server("far-callee", "call_uas.xml", timeout_s=20)
    local = sq.ports.sip()
    if sq.transport == "tls":
        edge_port = sq.ports.sip()
        sq._edge("client", f"[{ms6}]:{edge_port}", f"[{dut6}]:{sq.dut_port}", source=ms6,
                 server_name=sq.pixit["dut"]["fqdn"])
        remote, adv = f"[{ms6}]:{edge_port}", (sq.pixit["mediation"]["server_fqdn"], sq.ms_port)
    else:
        remote, adv = f"[{dut6}]:{sq.dut_port}", (f"[{ms6}]", local)
    keys = {**sq._sip_keys(adv[0], adv[1], sq.transport), "ruri_host": sq.pixit["dut"]["fqdn"],
            "ruri_port": sq.dut_port, **calls.outbound(sq)}
    agent = sipp.Agent("ms-caller", "call_uac.xml", t.ms.netns, ms6, local, "tcp", remote=remote, keys=keys,
                       media_port=sq.ports.media(), ctrl_port=sq.ports.ctrl(), timeout_s=20, pause_ms=hold_ms)
    sq._start(agent)
    sq.wait_all()
    return CallSpec(sq.test_id, caller_ip=ms6, callee_ip=t.far.ip, dut_in_ip=dut6, dut_out_ip=t.far.peer_ip,
                    called=sq.pixit["numbers"]["outbound_called"])
