"""Stimuli of suite ROB: crafted and torture SIP (:mod:`sipqual.torture`) sent to the DUT by :mod:`sipqual.rawsip`,
each message followed by a liveness probe; and a Lync-style SDP call (TC-ROB-05).

Where the messages go: on the Mediation side over the case's transport (TCP, or TLS with the Mediation Server's
certificate: the DUT's own trunk port); on the far side, where the DUT listens on UDP, as packets scapy builds and
sends -- once per run, in the case's TCP instance (the far side is the same for both Mediation transports). What the
DUT relays to the far side is answered there by our far UAS (``rawsip answer``); what it relays to the Mediation side
gets the Mediation front's 503 (no case agent registered). Bounded: a fixed set of messages, each waited for at most
a few seconds, each sender ``MAX_SECONDS`` in all.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING

from .. import durations, netns, torture
from ..errors import LabError
from ..procs import LEAN_ENV

if TYPE_CHECKING:
    from ..context import CaseContext

MAX_SECONDS = 45.0


def fuzz_settings(sq: CaseContext) -> tuple[int, int]:
    """(seed, count) of the fuzz run: ``SIPQUAL_FUZZ_SEED`` / ``SIPQUAL_FUZZ_COUNT`` from the environment, else the
    fixed default seed (so a CI run is repeatable) and 10 inputs (quick) or 300 (full); the sender's time limit
    bounds them too."""
    from ..fuzz import DEFAULT_SEED

    seed = int(os.environ.get("SIPQUAL_FUZZ_SEED") or DEFAULT_SEED)
    count = int(os.environ.get("SIPQUAL_FUZZ_COUNT") or (300 if sq.duration_profile == "full" else 10))
    return seed, max(0, min(count, 5000))


def _run_sender(sq: CaseContext, side: str, which: str, t: torture.Target, transport: str) -> dict:
    seed, count = fuzz_settings(sq) if which == "fuzz" else (None, 0)
    msgs = torture.build(which, t, seed, count)
    probes = [torture.probe(t, n) for n in range(len(msgs))]
    stem = f"torture-{which}-{side}-{transport}"
    max_seconds = MAX_SECONDS if which != "fuzz" else max(MAX_SECONDS, min(600.0, 0.5 * count))
    plan_path = sq.dir / f"{stem}.plan.json"
    plan_path.write_text(json.dumps({"messages": [m.as_plan() for m in msgs],
                                     "probes": [p.data.decode("latin-1") for p in probes]}, indent=1))
    out = sq.dir / f"{stem}.sent.json"
    node = sq.topo.ms if side == "ms" else sq.topo.far
    dest = f"{t.host if side == 'far' else node.peer_ip}:{t.port}"
    sq.topo.check_target(dest.rsplit(":", 1)[0])
    argv = [sys.executable, "-m", "sipqual.rawsip", "send", "--plan", str(plan_path), "--out", str(out),
            "--connect", dest, "--source", node.ip, "--local-port", str(t.local_port), "--transport", transport,
            "--max-seconds", str(max_seconds)]
    if transport == "tls":
        pki = sq.lab.pki
        argv += ["--cert", str(pki.certs["mediation"].cert), "--key", str(pki.certs["mediation"].key),
                 "--ca", str(pki.ca.cert), "--server-name", sq.pixit["dut"]["fqdn"], "--keylog", str(sq.keylog)]
    proc = sq.lab.sup.start(f"rawsip-{which}-{side}", argv, netns=node.netns, log_dir=sq.dir, env=LEAN_ENV)
    proc.wait(timeout=max_seconds + 15)
    if not out.exists():
        raise LabError(f"the torture sender ({side} side) wrote no log: {proc.stderr_tail(3)}")
    log = json.loads(out.read_text())
    return {"set": which, "seed": seed, "side": side, "transport": transport, "plan": [{k: v for k, v in m.as_plan().items() if k != "data"}
                                                            for m in msgs],
            "probe_call_ids": [p.call_id for p in probes], "log": log, "evidence": out.name}


def _responder(sq: CaseContext):
    """Our far UAS on the far peer's UDP address (what the DUT relays to the far side gets a conforming answer)."""
    t, far = sq.topo, sq.pixit["far"]
    if far["transport"] != "udp":
        return None
    argv = [sys.executable, "-m", "sipqual.rawsip", "answer", "--bind", f"{t.far.ip}:{far['port']}",
            "--out", str(sq.dir / "torture-far-uas.jsonl"), "--max-seconds", str(durations.case_bound(sq.duration_profile))]
    proc = sq.lab.sup.start("rawsip-far-uas", argv, netns=t.far.netns, log_dir=sq.dir, env=LEAN_ENV)
    sq.helpers.append(proc)
    netns.wait_listening(t.far.netns, "udp", t.far.ip, far["port"], timeout=10, what="far UAS", owner=proc)
    return proc


def torture_sets(sq: CaseContext, which: str, far_side: bool = True) -> list[dict]:
    """TC-ROB-01..04: the messages of set ``which`` (:data:`sipqual.torture.SETS`) to the DUT's trunk port over the
    case's transport and, in the TCP instance and when ``far_side``, to its far UDP port; returns one record per
    side (what was planned and what the sender saw) for the check. The DUT's survival is judged by the check."""
    t, p = sq.topo, sq.pixit
    runs = []
    responder = _responder(sq)
    try:
        ms = torture.Target(p["dut"]["fqdn"], sq.dut_port, sq.transport.upper(), t.ms.ip, sq.ports.sip(),
                            p["numbers"]["outbound_called"], sq.test_id)
        runs.append(_run_sender(sq, "ms", which, ms, sq.transport))
        alive = not runs[-1]["log"].get("stopped")
        if far_side and alive and sq.transport == "tcp" and p["far"]["transport"] == "udp":
            far = torture.Target(t.far.peer_ip, p["far"]["port"], "UDP", t.far.ip, sq.ports.sip(),
                                 p["numbers"]["inbound_called"], sq.test_id)
            runs.append(_run_sender(sq, "far", which, far, "udp"))
    finally:
        if responder is not None:
            responder.stop(grace=1.0)
    return runs


def lync_sdp_call(sq: CaseContext, hold_ms: int = 1000) -> None:
    """TC-ROB-05: an OUT call whose offer is Lync's: audio with a=x- attributes (x-ssrc-range, x-bandwidth,
    x-devicecaps, x-mediabw, x-candidate-ipv6, label) and a video and an application-sharing m= line the far end
    declines (port 0). The far end answers audio only (and 0 for the rest); the Mediation side hangs up."""
    from .calls import outbound

    sq.far_server("far-callee", "call_uas_lync_sdp.xml", timeout_s=20)
    sq.ms_client("ms-caller", "call_uac_lync_sdp.xml", outbound(sq), timeout_s=20, pause_ms=hold_ms)
    sq.wait_all()
