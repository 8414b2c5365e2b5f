"""Stimuli of suite BYP (media bypass, issue 13): the Mediation side signals from the Mediation Server's address but
its SDP names a Lync client's media address (a second address of ours on the Mediation side,
:func:`sipqual.lab.extra_address`), where a media agent (:mod:`sipqual.mediaagent`) sends and receives; SIPp's media
address (``-mi``) is that client address, so the scenarios' ``c=`` names it. The DUT must send its media to the
client and take the client's media, as with Lync's media bypass (EnableBypass, BYP-02)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from ..lab import extra_address
from ..mediaagent import SdesKey
from .calls import inbound, outbound
from .med import SDP_WAIT_S, agent_keys, follow_sdp

if TYPE_CHECKING:
    from ..context import CaseContext

CLIENT_OFFSET = 10            # the Lync client beside the Mediation Server: 192.0.2.20 in the managed lab
CLIENT2_OFFSET = 11           # a second client (a forked call, TC-BYP-02): 192.0.2.21


def client_address(sq: CaseContext, second: bool = False) -> str:
    """A Lync client's address on the Mediation side (not the Mediation Server's)."""
    return extra_address(sq.topo.ms, CLIENT2_OFFSET if second else CLIENT_OFFSET,
                         "media bypass (a Lync client beside the Mediation Server)")


@dataclass
class Bypass:
    """Where our bypass media ends were: the client's address and its agent's port (plus a second client's, or the
    Mediation Server's own agent after the call left bypass, when the case had one)."""

    client: str
    port: int
    other: str = ""
    other_port: int = 0


def _client_agent(sq: CaseContext, name: str, client: str, **stream):
    return sq.media_agent(name, "ms", bind=client, **stream)


def out_call(sq: CaseContext, *, client_plan: list[dict], far_plan: list[dict], hold_ms: int = 2000,
             early_ms: int = 0, rtcp: bool = True, srtp: bool = False) -> Bypass:
    """Mediation side -> DUT -> far end in bypass: the INVITE's SDP names the client's address and its agent's port;
    the far end answers (``early_ms`` > 0: first 183 with its SDP and early media for that long, TC-BYP-07); the
    Mediation side hangs up ``hold_ms`` after the answer. ``rtcp=False``: the client's agent withholds RTCP.
    ``srtp``: the client offers RTP/SAVP with an SDES key of its own (AES_CM_128_HMAC_SHA1_80) and sends SRTP with
    it, decrypting the DUT's with the key of its answer (TC-BYP-05)."""
    client = client_address(sq)
    keys = {"send_key": asdict(SdesKey.make())} if srtp else {}
    ms = _client_agent(sq, "client", client, plan=client_plan, after="audio", rtcp=rtcp, **keys)
    far = sq.media_agent("far", "far", plan=far_plan, after="audio")
    if early_ms:
        far_run = sq.far_server("far-callee", "agent_uas_early.xml", agent_keys(far), timeout_s=20,
                                pause_ms=early_ms)
    else:
        far_run = sq.far_server("far-callee", "agent_uas.xml", agent_keys(far), timeout_s=20)
    ms_run = sq.ms_client("ms-caller", "agent_uac.xml", {**outbound(sq), **agent_keys(ms)}, timeout_s=20,
                          pause_ms=hold_ms, extra=["-mi", client])
    follow_sdp(far, far_run, "the DUT's INVITE to the far end")
    follow_sdp(ms, ms_run, "the DUT's SDP to the Mediation side")
    sq.wait_all()
    return Bypass(client, ms.port())


def _reinvites(sq: CaseContext, client: str, ms, keys2: dict, media_ms: int, hold_ms: int, *, ms2=None,
               far_holds: bool = False) -> None:
    """The Mediation side's call and two re-INVITEs (byp_reinvite_uac.xml: ``media_ms`` after the answer, then
    ``hold_ms`` later); the far end answers each relayed re-INVITE with the RFC 3264 direction (agent_uas_hold.xml).
    ``ms2``: the agent the first re-INVITE moves the media to (it follows the DUT's answer). ``far_holds``: the far
    end's agent stops sending while the relayed first re-INVITE holds it and starts again on the second (as
    hold_uas.xml pauses its RTP)."""
    total = (2 * media_ms + hold_ms) / 1000 + 1
    far = sq.media_agent("far", "far", plan=[{"kind": "audio", "seconds": total}], after="audio")
    far_run = sq.far_server("far-callee", "agent_uas_hold.xml", agent_keys(far), timeout_s=20)
    ms_run = sq.ms_client("ms-caller", "byp_reinvite_uac.xml", {**outbound(sq), **agent_keys(ms), **keys2},
                          timeout_s=20, extra=["-mi", client, "-set", "media_ms", str(media_ms),
                                               "-set", "hold_ms", str(hold_ms)])
    first_far = follow_sdp(far, far_run, "the DUT's INVITE to the far end")
    first_ms = follow_sdp(ms, ms_run, "the DUT's SDP to the Mediation side")
    wait = SDP_WAIT_S + (media_ms + hold_ms) / 1000
    if first_ms is not None and ms2 is not None:
        follow_sdp(ms2, ms_run, "the DUT's answer to the re-INVITE", after=first_ms.index, wait_s=wait)
    if first_far is not None:
        held = follow_sdp(far, far_run, "the DUT's relayed re-INVITE", after=first_far.index, wait_s=wait)
        if held is not None and far_holds:
            far.update(plan=[{"kind": "pause", "seconds": total}], after="pause")
            resumed = follow_sdp(far, far_run, "the DUT's relayed second re-INVITE", after=held.index, wait_s=wait)
            if resumed is not None:
                far.update(plan=[{"kind": "audio", "seconds": total}], after="audio")
    sq.wait_all()


def out_call_leaves_bypass(sq: CaseContext, *, media_ms: int = 1000) -> Bypass:
    """TC-BYP-04: an OUT call in bypass (client's address in the SDP); after ``media_ms`` the Mediation side
    re-INVITEs with its media moved to the Mediation Server's own address and another agent's port (a transfer with
    REFER disabled: the call leaves bypass), the client's agent stops sending just before; a second re-INVITE with
    the same SDP (o= version 3) ``media_ms`` later, then the hang-up. The far end answers each relayed re-INVITE
    with its SDP. Returns the client's and the Mediation Server's media ends."""
    client, mediation = client_address(sq), sq.topo.ms.ip
    s = media_ms / 1000
    ms = _client_agent(sq, "client", client, plan=[{"kind": "audio", "seconds": s - 0.2}], after="pause")
    ms2 = sq.media_agent("mediation", "ms", plan=[{"kind": "audio", "seconds": 3 * s}], after="audio")
    keys2 = {"ip2": mediation, "agent_port2": ms2.port(), "dir2": "sendrecv",
             "ip3": mediation, "agent_port3": ms2.port(), "dir3": "sendrecv"}
    _reinvites(sq, client, ms, keys2, media_ms, media_ms, ms2=ms2)
    return Bypass(client, ms.port(), mediation, ms2.port())


def out_call_hold_resume(sq: CaseContext, *, media_ms: int = 1000, hold_ms: int = 1500) -> Bypass:
    """TC-BYP-06: an OUT call in bypass; after ``media_ms`` the client holds (re-INVITE a=sendonly from the client's
    address, its agent goes on sending as music on hold; the far end's agent pauses while held), ``hold_ms`` later
    resumes (a=sendrecv, same address and port), ``media_ms`` later the Mediation side hangs up."""
    client = client_address(sq)
    ms = _client_agent(sq, "client", client, plan=[{"kind": "audio", "seconds": (2 * media_ms + hold_ms) / 1000}],
                       after="audio")
    port = ms.port()
    keys2 = {"ip2": client, "agent_port2": port, "dir2": "sendonly", "ip3": client, "agent_port3": port,
             "dir3": "sendrecv"}
    _reinvites(sq, client, ms, keys2, media_ms, hold_ms, far_holds=True)
    return Bypass(client, port)


def in_call_forked(sq: CaseContext, *, hold_ms: int = 1500) -> Bypass:
    """TC-BYP-02: far end -> DUT -> Mediation side, which forks to three clients (183 with SDP each: forks 1 and 3 at
    the first client's address on two ports, fork 2 at a second client's address) and answers 200 on fork 2. Only
    the answering client's agent sends (after the answer); the first client's agents listen. The far caller hangs
    up ``hold_ms`` after the answer. Returns (answering client, port, first client, fork 1's port)."""
    c1, c2 = client_address(sq), client_address(sq, second=True)
    audio = [{"kind": "audio", "seconds": hold_ms / 1000}]
    idle = [{"kind": "pause", "seconds": hold_ms / 1000 + 2}]
    fork1 = _client_agent(sq, "client1", c1, plan=idle, after="pause")
    fork3 = _client_agent(sq, "client3", c1, plan=idle, after="pause")
    answering = _client_agent(sq, "client2", c2, plan=audio, after="audio")
    far = sq.media_agent("far", "far", plan=audio, after="audio")
    keys = {**agent_keys(answering), "client_ip1": c1, "client_port1": fork1.port(), "client_ip2": c2,
            "client_port2": answering.port(), "client_port3": fork3.port()}
    ms_run = sq.ms_server("ms-forked", "byp_forked_uas.xml", keys, timeout_s=20, extra=["-mi", c1])
    sq.ready()
    far_run = sq.far_client("far-caller", "agent_uac.xml", {**inbound(sq), **agent_keys(far)}, timeout_s=20,
                            pause_ms=hold_ms)
    found = follow_sdp(answering, ms_run, "the DUT's INVITE to the Mediation side")
    if found is not None:
        for agent in (fork1, fork3):
            agent.follow(found.sdp.audio)
    follow_sdp(far, far_run, "the DUT's answer to the far end")
    sq.wait_all()
    return Bypass(c2, answering.port(), c1, fork1.port())
