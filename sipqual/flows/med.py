"""Stimuli of the media suites (MED, DTMF) on the media agent (:mod:`sipqual.mediaagent`): SIPp does the
signalling with scenarios that advertise the agent's port (agent_uac.xml, agent_uas.xml) and send no media; the
agents are pointed at the DUT's media as soon as its SDP reaches our SIPp (read live from SIPp's message log)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import AgentError
from ..mediaagent.sipplog import wait_sdp
from .calls import inbound, outbound

if TYPE_CHECKING:
    from ..context import CaseContext
    from ..mediaagent import MediaAgent
    from ..sipp import SippRun

SDP_WAIT_S = 10.0


def agent_keys(agent: MediaAgent, te_pt: int = 101) -> dict:
    """SIPp keys that make a scenario advertise the agent (plain RTP; SDES keys come with the SRTP cases)."""
    cfg = agent.config.streams[0]
    if cfg.send_key:
        from ..mediaagent import SdesKey
        proto, attr = "RTP/SAVP", "crypto:" + SdesKey(**cfg.send_key).attribute()
    else:
        proto, attr = "RTP/AVP", "sendrecv"
    return {"agent_port": agent.port(), "agent_proto": proto, "agent_attr": attr, "te_pt": te_pt}


def follow_sdp(agent: MediaAgent, run: SippRun, what: str, *, after: int = 0, wait_s: float = SDP_WAIT_S):
    """Wait for the DUT's SDP at ``run`` (the first one after its ``after``-th received message) and point ``agent``
    at it; returns it (:class:`~sipqual.mediaagent.sipplog.LoggedSdp`). No SDP: nothing to follow; whether that is
    the DUT's fault is judged from the capture (the agent then reports nothing received)."""
    found = wait_sdp(run.workdir / "messages.log", wait_s, alive=run.proc.alive, after=after)
    if found is None:
        return None
    try:
        agent.follow(found.sdp.audio)
    except AgentError:
        raise
    except ValueError as e:            # an SDP our agent cannot use (unknown suite): the capture shows why
        agent.workdir.joinpath("follow-error.txt").write_text(f"{what}: {e}\n")
    return found


def out_call(sq: CaseContext, *, ms_plan: list[dict], far_plan: list[dict], hold_ms: int = 2000, ms_te: int = 101,
             far_te: int = 101) -> None:
    """Mediation side -> DUT -> far end, media from agents on both sides; the Mediation side hangs up. ``ms_te``,
    ``far_te``: the telephone-event PT each side's SDP gives (TC-DTMF-04: 101 offered, 96 answered)."""
    ms = sq.media_agent("ms", "ms", plan=ms_plan, after="audio", te_pt_rx=[ms_te])
    far = sq.media_agent("far", "far", plan=far_plan, after="audio", te_pt_rx=[far_te])
    far_run = sq.far_server("far-callee", "agent_uas.xml", agent_keys(far, far_te), timeout_s=20)
    ms_run = sq.ms_client("ms-caller", "agent_uac.xml", {**outbound(sq), **agent_keys(ms, ms_te)}, timeout_s=20,
                          pause_ms=hold_ms)
    follow_sdp(far, far_run, "the DUT's INVITE to the far end")
    follow_sdp(ms, ms_run, "the DUT's answer to the Mediation side")
    sq.wait_all()


def in_call(sq: CaseContext, *, ms_plan: list[dict], far_plan: list[dict], hold_ms: int = 2000, ms_te: int = 101,
            far_te: int = 101) -> None:
    """Far end -> DUT -> Mediation side, media from agents on both sides; the far end (caller) hangs up."""
    ms = sq.media_agent("ms", "ms", plan=ms_plan, after="audio", te_pt_rx=[ms_te])
    far = sq.media_agent("far", "far", plan=far_plan, after="audio", te_pt_rx=[far_te])
    ms_run = sq.ms_server("ms-callee", "agent_uas.xml", agent_keys(ms, ms_te), timeout_s=20)
    sq.ready()
    far_run = sq.far_client("far-caller", "agent_uac.xml", {**inbound(sq), **agent_keys(far, far_te)}, timeout_s=20,
                            pause_ms=hold_ms)
    follow_sdp(ms, ms_run, "the DUT's INVITE to the Mediation side")
    follow_sdp(far, far_run, "the DUT's answer to the far end")
    sq.wait_all()


def heard_inband(report: dict) -> str:
    """The DTMF digits an agent's tone detector heard in the audio it received (its report, :mod:`.mediaagent`)."""
    return "".join(s["received"]["inband_digits"] for s in report.get("streams", []))


def heard_tones(report: dict) -> list[list]:
    """[digit, time] of every DTMF tone an agent's detector heard in the audio it received."""
    return [x for s in report.get("streams", []) for r in s["received"]["streams"] for x in r.get("inband", [])]


def out_call_behind_nat(sq: CaseContext, *, hold_ms: int = 2000) -> tuple[int, int]:
    """An OUT call whose Mediation-side agent announces one port in its SDP and sends its RTP from another (as from
    behind a NAT); both sides send audio. Returns (SDP port, source port)."""
    audio = [{"kind": "audio", "seconds": hold_ms / 1000}]
    source = sq.ports.media() + 4000
    ms = sq.media_agent("ms", "ms", plan=audio, after="audio", send_port=source)
    far = sq.media_agent("far", "far", plan=audio, after="audio")
    far_run = sq.far_server("far-callee", "agent_uas.xml", agent_keys(far), timeout_s=20)
    ms_run = sq.ms_client("ms-caller", "agent_uac.xml", {**outbound(sq), **agent_keys(ms)}, timeout_s=20,
                          pause_ms=hold_ms)
    follow_sdp(far, far_run, "the DUT's INVITE to the far end")
    follow_sdp(ms, ms_run, "the DUT's answer to the Mediation side")
    sq.wait_all()
    return ms.port(), source


def out_call_retarget(sq: CaseContext, *, media_ms: int = 1500) -> tuple[int, int]:
    """Mediation side -> DUT -> far end with agents; after ``media_ms`` the Mediation side re-INVITEs with its media
    moved to a second agent's port (the first one stops sending), ``media_ms`` later hangs up. The far end answers
    the relayed re-INVITE with its unchanged SDP. Returns (old port, new port)."""
    # no packet in flight while the DUT switches: our first agent stops 0.2 s before the re-INVITE (one source at a
    # time toward the far end), the far end pauses from 0.3 s before it to 0.4 s after (a packet the DUT relays at
    # the very moment it applies the new answer may go either way: that race is not what this case judges)
    s = media_ms / 1000
    ms = sq.media_agent("ms", "ms", plan=[{"kind": "audio", "seconds": s - 0.2}], after="pause")
    ms2 = sq.media_agent("ms2", "ms", plan=[{"kind": "audio", "seconds": 2 * s}], after="audio")
    far = sq.media_agent("far", "far", plan=[{"kind": "audio", "seconds": s - 0.3}, {"kind": "pause", "seconds": 0.7},
                                             {"kind": "audio", "seconds": 2 * s}], after="audio")
    far_run = sq.far_server("far-callee", "agent_uas_reinvite.xml", agent_keys(far), timeout_s=20)
    ms_run = sq.ms_client("ms-caller", "agent_retarget_uac.xml",
                          {**outbound(sq), **agent_keys(ms), "agent_port2": ms2.port(), "reinv_version": 2},
                          timeout_s=20,
                          extra=["-set", "media_ms", str(media_ms)])
    first_far = follow_sdp(far, far_run, "the DUT's INVITE to the far end")
    first_ms = follow_sdp(ms, ms_run, "the DUT's answer to the Mediation side")
    wait = SDP_WAIT_S + 2 * media_ms / 1000
    if first_ms is not None:
        follow_sdp(ms2, ms_run, "the DUT's answer to the re-INVITE", after=first_ms.index, wait_s=wait)
    if first_far is not None:
        follow_sdp(far, far_run, "the DUT's relayed re-INVITE", after=first_far.index, wait_s=wait)
    sq.wait_all()
    return ms.port(), ms2.port()


def out_call_reinvite_unchanged(sq: CaseContext, *, media_ms: int = 1500) -> None:
    """Mediation side -> DUT -> far end with agents sending audio all along; after ``media_ms`` the Mediation side
    re-INVITEs with its SDP unchanged (same port, same o= version, RFC 3264 section 8); ``media_ms`` later it hangs
    up. The far end answers the relayed re-INVITE with its unchanged SDP."""
    audio = [{"kind": "audio", "seconds": 3 * media_ms / 1000}]
    ms = sq.media_agent("ms", "ms", plan=audio, after="audio")
    far = sq.media_agent("far", "far", plan=audio, after="audio")
    far_run = sq.far_server("far-callee", "agent_uas_reinvite.xml", agent_keys(far), timeout_s=20)
    ms_run = sq.ms_client("ms-caller", "agent_retarget_uac.xml",
                          {**outbound(sq), **agent_keys(ms), "agent_port2": ms.port(), "reinv_version": 1},
                          timeout_s=20, extra=["-set", "media_ms", str(media_ms)])
    follow_sdp(far, far_run, "the DUT's INVITE to the far end")
    follow_sdp(ms, ms_run, "the DUT's answer to the Mediation side")
    sq.wait_all()


#: TC-MED-01's three offers: a label (the suffix of each call's test marker) and the G.711 payload types offered
CODEC_OFFERS = (("pcmu", (0,)), ("pcma", (8,)), ("both", (0, 8)))
_CODEC_MAPS = {0: "a=rtpmap:0 PCMU/8000", 8: "a=rtpmap:8 PCMA/8000"}


def codec_keys(pts) -> dict:
    """SIPp keys of agent_uac_codecs.xml / agent_uas_codecs.xml: the SDP's G.711 payload types and their rtpmaps."""
    return {"codecs": " ".join(map(str, pts)), "codec_maps": "\r\n".join(_CODEC_MAPS[pt] for pt in pts)}


def codec_calls(sq: CaseContext, *, media_s: float = 0.8) -> list[list]:
    """TC-MED-01: three OUT calls one after the other, the Mediation side offering PCMU only, PCMA only, then both
    (with telephone-event and CN, as Lync does); each call its own test marker (the case's + "-pcmu" ...), its own
    agents sending ``media_s`` of audio in the first G.711 type of their SDP (then the codec the DUT's SDP names), the
    far end answering in the codecs offered; the Mediation side hangs up. Returns [[marker, offered PTs], ...]."""
    calls = []
    hold_ms = int(media_s * 1000) + 300
    for label, pts in CODEC_OFFERS:
        audio = [{"kind": "audio", "seconds": media_s}]
        ms = sq.media_agent(f"ms-{label}", "ms", plan=audio, after="pause", pt=pts[0])
        far = sq.media_agent(f"far-{label}", "far", plan=audio, after="pause", pt=pts[0])
        marker = f"{sq.test_id}-{label}"
        far_run = sq.far_server(f"far-{label}", "agent_uas_codecs.xml", {**agent_keys(far), **codec_keys(pts)},
                                timeout_s=15)
        ms_run = sq.ms_client(f"ms-{label}", "agent_uac_codecs.xml",
                              {**outbound(sq), **agent_keys(ms), **codec_keys(pts), "test_id": marker}, timeout_s=15,
                              pause_ms=hold_ms)
        follow_sdp(far, far_run, "the DUT's INVITE to the far end")
        follow_sdp(ms, ms_run, "the DUT's answer to the Mediation side")
        sq.wait_all()
        calls.append([marker, list(pts)])
    return calls


def out_call_rtcp_withheld(sq: CaseContext, *, withheld_s: float) -> None:
    """TC-MED-05: Mediation side -> DUT -> far end with agents sending audio all along; our Mediation-side agent
    withholds its RTCP for the whole call (``withheld_s``, then it hangs up; RTCP from the DUT is still read), the
    far end's agent sends RTP and RTCP as usual."""
    audio = [{"kind": "audio", "seconds": withheld_s}]
    ms = sq.media_agent("ms", "ms", plan=audio, after="audio", rtcp=False)
    far = sq.media_agent("far", "far", plan=audio, after="audio")
    far_run = sq.far_server("far-callee", "agent_uas.xml", agent_keys(far), timeout_s=withheld_s + 20)
    ms_run = sq.ms_client("ms-caller", "agent_uac.xml", {**outbound(sq), **agent_keys(ms)},
                          timeout_s=withheld_s + 20, pause_ms=int(withheld_s * 1000))
    follow_sdp(far, far_run, "the DUT's INVITE to the far end")
    follow_sdp(ms, ms_run, "the DUT's answer to the Mediation side")
    sq.wait_all()


def in_call_asymmetric_te(sq: CaseContext, *, far_digits: str, ms_digits: str, ms_te: int = 96) -> None:
    """TC-DTMF-04: far end -> DUT -> Mediation side; the far caller offers telephone-event 101, our Mediation-side
    callee answers it on ``ms_te`` (96: RFC 3264 section 6.1 lets the PTs differ per direction). After 0.3 s of audio
    the far end's agent sends ``far_digits`` as RFC 4733 events, after 1.2 s the Mediation side's sends
    ``ms_digits`` (each on the telephone-event PT of the SDP it received); the far end hangs up."""
    def plan(start: float, digits: str) -> list[dict]:
        return [{"kind": "audio", "seconds": start}, {"kind": "digits", "digits": digits, "ms": 60, "gap_ms": 40}]
    in_call(sq, ms_plan=plan(1.2, ms_digits), far_plan=plan(0.3, far_digits), hold_ms=2500, ms_te=ms_te,
            far_te=101)


def in_call_pin(sq: CaseContext, *, pin: str) -> None:
    """TC-DTMF-06: far end -> DUT -> a Lync conference / Exchange UM emulation on the Mediation side (our callee's
    agent, a timed IVR): it plays a 0.5 s prompt, listens 1.8 s in silence (nothing sent; its agent decodes every RFC
    4733 event and runs the tone detector), then plays a 0.6 s confirmation tone. The far caller's agent keys ``pin``
    as RFC 4733 events (80 ms each, 80 ms apart) from 0.6 s on; the far end hangs up after 3.5 s."""
    um = [{"kind": "audio", "seconds": 0.5}, {"kind": "pause", "seconds": 1.8}, {"kind": "audio", "seconds": 0.6}]
    caller = [{"kind": "audio", "seconds": 0.6}, {"kind": "digits", "digits": pin, "ms": 80, "gap_ms": 80}]
    ms = sq.media_agent("ms", "ms", plan=um, after="pause")
    far = sq.media_agent("far", "far", plan=caller, after="audio")
    ms_run = sq.ms_server("ms-callee", "agent_uas.xml", agent_keys(ms), timeout_s=20)
    sq.ready()
    far_run = sq.far_client("far-caller", "agent_uac.xml", {**inbound(sq), **agent_keys(far)}, timeout_s=20,
                            pause_ms=3500)
    follow_sdp(ms, ms_run, "the DUT's INVITE to the Mediation side")
    follow_sdp(far, far_run, "the DUT's answer to the far end")
    sq.wait_all()


def heard_events(report: dict) -> str:
    """The digits an agent decoded from the RFC 4733 events it received (its report, :mod:`.mediaagent`)."""
    return "".join(r.get("event_digits", "") for s in report.get("streams", []) for r in s["received"]["streams"])
