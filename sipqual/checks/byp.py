"""Checks of suite BYP (media bypass): the Mediation side signals from the Mediation Server's address while its SDP
names a Lync client's media address (BYP-02). What the DUT does with its media is read from the capture, by the
client's address and its agent's port (never by the SIP source): RTP to the client, none to the Mediation Server
instead, and the client's RTP taken and passed on to the far end."""

from __future__ import annotations

from ..recording import check
from ..trace import Trace
from ..verdict import Finding, passed, violation
from ..srtpauth import SrtpUnavailable, verify_flow
from .common import MIN_RTP_PACKETS, CallSpec, raise_missing, route, sdp_of
from .em import _DTMF, _digits, _in_order

FOLLOW_WITHIN_S = 1.0         # the DUT's media follows an answer / re-INVITE within this time (BYP-04, SIG-04)
MIN_EARLY_PACKETS = 10        # 0.2 s of early media toward the client before the answer (TC-BYP-07)


def _sides(spec: CallSpec, mediation_is_caller: bool) -> tuple[str, str, str, str]:
    """(the Mediation Server's address, the DUT's address facing it, the DUT's address facing the far end, the far
    end's address)."""
    if mediation_is_caller:
        return spec.caller_ip, spec.dut_in_ip, spec.dut_out_ip, spec.callee_ip
    return spec.callee_ip, spec.dut_out_ip, spec.dut_in_ip, spec.caller_ip


def _to(trace: Trace, src: str, dst: str, dport: int | None = None, after: float | None = None,
        before: float | None = None) -> list:
    """RTP streams from ``src`` to ``dst`` (at ``dport``) with packets between ``after`` and ``before``."""
    out = []
    for s in trace.rtp:
        if s.src != src or s.dst != dst or (dport is not None and s.dport != dport):
            continue
        lo = s.first_time if after is None else max(after, s.first_time)
        hi = s.last_time if before is None else min(before, s.last_time)
        if hi >= lo and (after is None and before is None or s.packets_between(lo, hi + 1e-6) > 0):
            out.append(s)
    return out


def _count(streams, after: float | None = None, before: float | None = None) -> int:
    lo, hi = (-1e18 if after is None else after), (1e18 if before is None else before)
    return sum(s.packets_between(max(lo, s.first_time), min(hi, s.last_time) + 1e-6) for s in streams)


def _elsewhere(trace: Trace, dut: str, ms: str, client: str, port: int, after: float | None = None) -> str:
    """Where the DUT's RTP toward the Mediation side went instead of ``client``:``port`` (for the finding)."""
    other = [s for s in trace.rtp if s.src == dut and s.dst != client and s.dst.rsplit(".", 1)[0] ==
             ms.rsplit(".", 1)[0] and (after is None or s.last_time > after)]
    other += [s for s in trace.rtp if s.src == dut and s.dst == client and s.dport != port
              and (after is None or s.last_time > after)]
    if not other:
        return ""
    return "; it sent RTP to " + ", ".join(sorted({f"{s.dst}:{s.dport}" for s in other})) + \
        f" instead (frame {min(other, key=lambda s: s.first_time).first_frame})"


@check
def bypass_media(trace: Trace, *, spec: CallSpec, client: str, port: int, mediation_is_caller: bool = True
                 ) -> list[Finding]:
    """TC-BYP-01 (BYP-02): the Mediation side's SDP names a Lync client's address ``client`` and port ``port``, not
    the Mediation Server's own. The DUT sends its RTP there (at least :data:`MIN_RTP_PACKETS` packets, none to the
    Mediation Server's address instead) and takes the client's RTP: it passes it on to the far end."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ms, dut_ms, dut_far, far = _sides(spec, mediation_is_caller)
    ours = _to(trace, client, dut_ms)
    if _count(ours) < MIN_RTP_PACKETS:
        raise_missing(f"our client's RTP from {client} to the DUT")
    start = min(s.first_time for s in ours)
    found: list[Finding] = []
    sent = _to(trace, dut_ms, client, port)
    to_ms = _to(trace, dut_ms, ms)
    what = (f"the DUT's RTP to the Lync client {client}:{port} named in the Mediation side's SDP (media bypass), none "
            f"to the Mediation Server {ms}")
    seen = (f"{_count(sent)} RTP packets to {client}:{port}, {_count(to_ms)} to {ms}"
            + _elsewhere(trace, dut_ms, ms, client, port))
    frame = min(sent, key=lambda s: s.first_time).first_frame if sent else \
        (to_ms[0].first_frame if to_ms else routed[0].frame)
    if _count(sent) < MIN_RTP_PACKETS or to_ms:
        found.append(violation("BYP-02", ["BYP-02"], "M", what, seen, frame))
    else:
        found.append(passed("BYP-02", ["BYP-02"], "M", f"{what}: {seen}", frame))
    relayed = _to(trace, dut_far, far, after=start)
    what = (f"the client's RTP (from {client}, frame {min(ours, key=lambda s: s.first_time).first_frame}) taken by "
            f"the DUT and passed on to the far end {far}")
    n = _count(relayed, after=start)
    if n < MIN_RTP_PACKETS:
        found.append(violation("BYP-02", ["BYP-02"], "M", what, f"{n} RTP packets from the DUT to {far} after our "
                               "client's first packet", [s.first_frame for s in relayed[:1]] or
                               [min(ours, key=lambda s: s.first_time).first_frame]))
    else:
        found.append(passed("BYP-02", ["BYP-02"], "M", f"{what}: {n} packets",
                            min(relayed, key=lambda s: s.first_time).first_frame))
    return found


END_SLACK_S = 0.5             # TC-BYP-03: the DUT's media reaches this close to our BYE


@check
def bypass_without_rtcp(trace: Trace, *, spec: CallSpec, client: str, port: int) -> list[Finding]:
    """TC-BYP-03 (BYP-03, XFR-03): a bypass call whose client sends RTP but never RTCP (Lync's RTCPActiveCalls and
    RTCPCallsOnHold off, as bypass with REFER disabled requires). The call stays up until our BYE: the DUT sends no
    BYE of its own on either leg, and its RTP to the client and its relay of the client's RTP to the far end go on
    until within :data:`END_SLACK_S` of our BYE."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, _theirs, b = routed
    ms, dut_ms, dut_far, far = _sides(spec, True)
    mine = [f for f in trace.media.rtcp_flows if f.src == client and f.dst == dut_ms]
    if mine:
        raise_missing(f"our client's RTCP withheld (it sent {sum(f.compounds for f in mine)} compounds from frame "
                      f"{mine[0].first_frame}); the call without client RTCP")
    bye = next((p for p in a.requests("BYE") if p.src == ms), None)
    theirs = [p for p in a.requests("BYE") if p.src == dut_ms] + [p for p in b.requests("BYE") if p.src == dut_far]
    reqs = ["BYP-03", "XFR-03"]
    if theirs and (bye is None or theirs[0].time < bye.time):
        return [violation("BYP-03", reqs, "M", "the call without RTCP from the client kept up until our BYE",
                          f"a BYE from the DUT (frame {theirs[0].frame}) "
                          + (f"{bye.time - theirs[0].time:.1f} s before ours" if bye is not None else
                             "and none from us"), theirs[0].frame)]
    if bye is None:
        raise_missing("our BYE")
    found: list[Finding] = []
    for what, streams in ((f"the DUT's RTP to the client {client}:{port}", _to(trace, dut_ms, client, port)),
                          (f"the client's RTP passed on by the DUT to the far end {far}", _to(trace, dut_far, far))):
        last = max((s.last_time for s in streams if s.first_time < bye.time), default=None)
        what = f"{what} going on until our BYE (frame {bye.frame}) with no RTCP from the client"
        if last is None or bye.time - last > END_SLACK_S:
            seen = "no RTP" if last is None else f"the last packet {bye.time - last:.1f} s before our BYE"
            found.append(violation("BYP-03", reqs, "M", what, seen, [s.first_frame for s in streams[:1]] or bye.frame))
        else:
            n = _count(streams, before=bye.time)
            found.append(passed("BYP-03", reqs, "M", f"{what}: {n} packets, the last {bye.time - last:.2f} s before it",
                                max(streams, key=lambda s: s.last_time).first_frame))
    return found


@check
def bypass_srtp(trace: Trace, *, spec: CallSpec, client: str, port: int) -> list[Finding]:
    """TC-BYP-05 (SRTP-06): a bypass call with SRTP required (TLS trunk): our client offers RTP/SAVP with a key of its
    own from its address. The DUT answers RTP/SAVP with one a=crypto of the offered tag and suite (RFC4568-02), its
    RTP to the client is SRTP that authenticates with the key of that answer (libsrtp, SRTP-04), and it decrypts the
    client's SRTP (sent with the key of our offer) and passes it on to the far end as plain RTP."""
    from .srtp import _answered_crypto, srtp_media

    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, _theirs, _b = routed
    ms, dut_ms, dut_far, far = _sides(spec, True)
    reqs = ["SRTP-06", "SRTP-04"]
    ok = a.final(src=dut_ms)
    offer = sdp_of(ours).audio if sdp_of(ours) is not None else None
    answer = sdp_of(ok).audio if ok is not None and sdp_of(ok) is not None else None
    what = f"an RTP/SAVP answer to our client's RTP/SAVP offer (frame {ours.frame}, media at {client}:{port})"
    if ok is None or ok.msg.status != 200 or answer is None or answer.proto.upper() != "RTP/SAVP":
        seen = "no 200" if ok is None or ok.msg.status != 200 else \
            (f"m=audio {answer.proto}" if answer is not None else "no audio")
        return [violation("SRTP-06", reqs, "M", what, seen, ok.frame if ok is not None else ours.frame)]
    if offer is None or not offer.crypto:
        raise_missing("our client's a=crypto offer")
    found = [passed("SRTP-06", reqs, "M", f"{what}: 200 with m=audio RTP/SAVP", ok.frame)]
    crypto, more = _answered_crypto(offer, answer, ok.frame)
    found += more
    if crypto is None:
        return found
    found += srtp_media(trace, ok, ours, crypto, rtcp=False, req="SRTP-06")
    try:
        mine = verify_flow(trace.path, client, dut_ms, answer.port, offer.crypto[0])
    except SrtpUnavailable as e:
        raise_missing(str(e))
    if mine is None or mine.authenticated < MIN_RTP_PACKETS:
        raise_missing(f"our client's SRTP from {client} with the key of its offer")
    start = min(s.first_time for s in _to(trace, client, dut_ms))
    relayed = _to(trace, dut_far, far, after=start)
    n = _count(relayed, after=start)
    what = (f"the client's SRTP ({mine.authenticated} packets from {client} that authenticate with the key of our "
            f"offer, from frame {mine.first_frame}) decrypted by the DUT and passed on to the far end {far}")
    if n < MIN_RTP_PACKETS:
        found.append(violation("SRTP-06", reqs, "M", what, f"{n} RTP packets from the DUT to {far}",
                               mine.first_frame))
    else:
        found.append(passed("SRTP-06", reqs, "M", f"{what}: {n} packets",
                            min(relayed, key=lambda s: s.first_time).first_frame))
    return found


@check
def bypass_fork_answered(trace: Trace, *, spec: CallSpec, client: str, port: int, other: str, other_port: int
                         ) -> list[Finding]:
    """TC-BYP-02 (BYP-01, SIG-04): the Mediation side (the callee of an IN call) answers the DUT's INVITE with
    several early dialogs whose SDP name different clients (``other``:``other_port`` among them), then 200 from the
    one at ``client``:``port``. From :data:`FOLLOW_WITHIN_S` after that 200 the DUT's RTP goes to the answering
    client only, not to another fork's address or port; and the answering client's RTP reaches the far end."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, _a, theirs, b = routed
    ms, dut_ms, dut_far, far = _sides(spec, False)
    early = [p for p in b.responses() if p.src == ms and p.msg.status in (180, 183) and sdp_of(p) is not None]
    ok = next((p for p in b.responses() if p.src == ms and p.msg.status == 200), None)
    tags = {p.msg.to.tag for p in early if p.msg.to is not None}
    if ok is None or len(tags) < 2:
        raise_missing("our forked early dialogs and the 200 from one of them")
    reqs = ["BYP-01", "SIG-04"]
    found: list[Finding] = []
    deadline = ok.time + FOLLOW_WITHIN_S
    sent = _to(trace, dut_ms, client, port, after=ok.time)
    n = _count(sent, after=ok.time)
    what = (f"after the 200 from the answering client (frame {ok.frame}, the last of {len(tags)} early dialogs), "
            f"the DUT's RTP to that client {client}:{port} within {FOLLOW_WITHIN_S:g} s and to no other fork")
    stray = [s for s in trace.rtp if s.src == dut_ms and (s.dst, s.dport) != (client, port)
             and s.dst.rsplit(".", 1)[0] == ms.rsplit(".", 1)[0] and s.last_time > deadline]
    first = min((s.first_time for s in sent), default=None)
    seen = (f"{n} RTP packets to {client}:{port} from " + (f"{first - ok.time:+.2f} s" if first is not None else
                                                          "never"))
    if stray:
        seen += "; RTP to " + ", ".join(sorted({f"{s.dst}:{s.dport}" for s in stray})) + " until " + \
            f"{max(s.last_time for s in stray) - ok.time:+.2f} s"
    frame = min(sent, key=lambda s: s.first_time).first_frame if sent else ok.frame
    if n < MIN_RTP_PACKETS or first is None or first > deadline or stray:
        found.append(violation("BYP-01", reqs, "M", what, seen,
                               [frame] + [s.first_frame for s in stray[:2]]))
    else:
        found.append(passed("BYP-01", reqs, "M", f"{what}: {seen}", frame))
    ours = _to(trace, client, dut_ms, after=ok.time)
    if _count(ours, after=ok.time) < MIN_RTP_PACKETS:
        raise_missing(f"the answering client's RTP from {client}")
    relayed = _to(trace, dut_far, far, after=ok.time)
    n = _count(relayed, after=ok.time)
    what = f"the answering client's RTP (from {client}) passed on by the DUT to the far end {far}"
    if n < MIN_RTP_PACKETS:
        found.append(violation("BYP-01", reqs, "M", what, f"{n} RTP packets from the DUT to {far} after the 200",
                               min(ours, key=lambda s: s.first_time).first_frame))
    else:
        found.append(passed("BYP-01", reqs, "M", f"{what}: {n} packets",
                            min(relayed, key=lambda s: s.first_time).first_frame))
    return found


def _reinvite_to(a, ms: str, addr: str, port: int, direction: str | None = None, after: float = 0.0):
    """Our first re-INVITE after ``after`` whose SDP puts the media at ``addr``:``port`` (with ``direction``)."""
    for p in a.requests("INVITE")[1:]:
        sdp = sdp_of(p)
        if p.src != ms or p.time <= after or sdp is None or sdp.audio is None:
            continue
        conn = sdp.audio.effective_connection
        if conn is not None and conn.address == addr and sdp.audio.port == port and \
                (direction is None or sdp.audio.direction == direction):
            return p
    return None


def _ok_to(a, dut: str, p):
    seq = p.msg.cseq.seq if p.msg.cseq else None
    return next((r for r in a.responses() if r.src == dut and r.msg.status == 200 and r.time >= p.time
                 and r.msg.cseq is not None and r.msg.cseq.seq == seq), None)


@check
def bypass_left(trace: Trace, *, spec: CallSpec, client: str, port: int, mediation: str, new_port: int
                ) -> list[Finding]:
    """TC-BYP-04 (BYP-04): a bypass call (media at the client ``client``:``port``) is transferred with REFER disabled,
    so it leaves bypass: our re-INVITE moves the media to the Mediation Server's own address ``mediation``:
    ``new_port``. Within :data:`FOLLOW_WITHIN_S` of its 200 the DUT's RTP reaches the new address and port and none
    goes to the client after that second; the Mediation Server's RTP reaches the far end."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, _theirs, _b = routed
    ms, dut_ms, dut_far, far = _sides(spec, True)
    reinvite = _reinvite_to(a, ms, mediation, new_port)
    if reinvite is None:
        raise_missing(f"our re-INVITE moving the media to {mediation}:{new_port}")
    ok = _ok_to(a, dut_ms, reinvite)
    reqs = ["BYP-04"]
    what = (f"the DUT's RTP at the Mediation Server {mediation}:{new_port} within {FOLLOW_WITHIN_S:g} s of its 200 "
            f"to our re-INVITE leaving bypass (frame {reinvite.frame}), none to the client {client}:{port} after")
    if ok is None:
        return [violation("BYP-04", reqs, "M", what, "no 200 from the DUT to our re-INVITE", reinvite.frame)]
    deadline = ok.time + FOLLOW_WITHIN_S
    to_new = _to(trace, dut_ms, mediation, new_port)
    to_old = _to(trace, dut_ms, client, port)
    first_new = min((s.first_time for s in to_new), default=None)
    last_old = max((s.last_time for s in to_old), default=None)
    seen = (f"RTP to {mediation}:{new_port} from " + (f"{first_new - ok.time:+.2f} s" if first_new is not None
                                                       else "never")
            + f" after the 200 (frame {ok.frame}); to {client}:{port} until "
            + (f"{last_old - ok.time:+.2f} s" if last_old is not None else "never"))
    frame = min(to_new, key=lambda s: s.first_time).first_frame if to_new else ok.frame
    found: list[Finding] = []
    if first_new is None or first_new > deadline or (last_old is not None and last_old > deadline):
        found.append(violation("BYP-04", reqs, "M", what, seen, frame))
    else:
        found.append(passed("BYP-04", reqs, "M", f"{what}: {seen}", frame))
    ours = _to(trace, mediation, dut_ms, after=ok.time)
    if ours and _count(ours, after=ok.time) >= MIN_RTP_PACKETS:
        start = max(ok.time, min(s.first_time for s in ours))
        relayed = _to(trace, dut_far, far, after=start)
        n = _count(relayed, after=start)
        what = f"the Mediation Server's RTP (from {mediation}) passed on by the DUT to the far end {far}"
        if n < MIN_RTP_PACKETS:
            found.append(violation("BYP-04", reqs, "M", what, f"{n} RTP packets to {far} after the 200 and our "
                                   "first packet from there", ours[0].first_frame))
        else:
            found.append(passed("BYP-04", reqs, "M", f"{what}: {n} packets", relayed[0].first_frame))
    return found


@check
def bypass_hold_resume(trace: Trace, *, spec: CallSpec, client: str, port: int) -> list[Finding]:
    """TC-BYP-06 (HLD-05): the client of a bypass call holds (our re-INVITE a=sendonly from ``client``:``port``) and
    resumes (a=sendrecv, same address and port). The DUT answers the hold 200 with recvonly or inactive, the resume
    200 with sendrecv, and within :data:`FOLLOW_WITHIN_S` of the resume its RTP reaches the client again (still the
    client's address, not the Mediation Server's) and the client's RTP reaches the far end."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, _theirs, _b = routed
    ms, dut_ms, dut_far, far = _sides(spec, True)
    hold = _reinvite_to(a, ms, client, port, "sendonly")
    resume = _reinvite_to(a, ms, client, port, "sendrecv", after=hold.time) if hold is not None else None
    if hold is None or resume is None:
        raise_missing(f"our hold and resume re-INVITEs at {client}:{port}")
    reqs = ["HLD-05"]
    found: list[Finding] = []
    for p, want, name in ((hold, ("recvonly", "inactive"), "hold"), (resume, ("sendrecv",), "resume")):
        ok = _ok_to(a, dut_ms, p)
        sdp = sdp_of(ok)
        got = sdp.audio.direction if sdp is not None and sdp.audio is not None else None
        what = f"the DUT's 200 to our {name} re-INVITE (frame {p.frame}) with a={' or a='.join(want)}"
        if got not in want:
            found.append(violation("HLD-05", reqs, "R", what, f"a={got}" if ok is not None and got else
                                   ("no 200" if ok is None else "no SDP in its 200"), ok.frame if ok else p.frame))
            return found
        found.append(passed("HLD-05", reqs, "R", f"{what}: a={got}", ok.frame))
    ok = _ok_to(a, dut_ms, resume)
    deadline = ok.time + FOLLOW_WITHIN_S
    to_client = _to(trace, dut_ms, client, port, after=ok.time)
    n = _count(to_client, after=ok.time)
    first = min((s.first_time for s in to_client if s.last_time >= ok.time), default=None)
    what = (f"after the resume (200 frame {ok.frame}), the DUT's RTP to the client {client}:{port} again within "
            f"{FOLLOW_WITHIN_S:g} s, none to the Mediation Server {ms}")
    to_ms = _to(trace, dut_ms, ms, after=ok.time)
    seen = f"{n} packets to {client}:{port} after the 200" + (
        f", {_count(to_ms, after=ok.time)} to {ms}" if to_ms else "") + _elsewhere(trace, dut_ms, ms, client, port,
                                                                                after=ok.time)
    late = first is None or _count(to_client, after=ok.time, before=deadline) == 0
    if n < MIN_RTP_PACKETS // 2 or late or to_ms:
        found.append(violation("HLD-05", reqs, "R", what, seen, [s.first_frame for s in to_client[:1]] or ok.frame))
    else:
        found.append(passed("HLD-05", reqs, "R", f"{what}: {seen}", to_client[0].first_frame))
    relayed = _to(trace, dut_far, far, after=ok.time)
    n = _count(relayed, after=ok.time)
    what = f"after the resume, the client's RTP passed on by the DUT to the far end {far}"
    if n < MIN_RTP_PACKETS // 2:
        found.append(violation("HLD-05", reqs, "R", what, f"{n} RTP packets after the 200", ok.frame))
    else:
        found.append(passed("HLD-05", reqs, "R", f"{what}: {n} packets", relayed[0].first_frame))
    return found


@check
def bypass_early_media_dtmf(trace: Trace, *, spec: CallSpec, client: str, port: int, digits: str
                            ) -> list[Finding]:
    """TC-BYP-07 (MED-03, SIG-03): on an OUT bypass call the far end answers 183 with SDP and plays early media: the
    DUT sends it to the client ``client``:``port`` before its 200 (at least :data:`MIN_EARLY_PACKETS`; none to the
    Mediation Server). Once answered the client sends ``digits`` as RFC 4733 events: the DUT takes them from the
    client's address and delivers all of them, in order, to the far end as RFC 4733 events."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, _theirs, _b = routed
    ms, dut_ms, dut_far, far = _sides(spec, True)
    found: list[Finding] = []
    ok = a.final(src=dut_ms)
    early = next((p for p in a.responses() if p.src == dut_ms and p.msg.status == 183 and sdp_of(p) is not None),
                 None)
    what = (f"the far end's early media sent by the DUT to the client {client}:{port} before its 200 to our INVITE "
            f"(frame {ours.frame}), none to the Mediation Server {ms}")
    if early is None or ok is None:
        found.append(violation("SIG-03", ["SIG-03", "BYP-02"], "M", what, "no 183 with SDP from the DUT"
                               if early is None else "no final response", (early or ours).frame))
    else:
        sent = _to(trace, dut_ms, client, port, before=ok.time)
        n = _count(sent, before=ok.time)
        to_ms = _to(trace, dut_ms, ms)
        seen = f"{n} RTP packets to {client}:{port} between the 183 (frame {early.frame}) and the 200" + (
            f"; {_count(to_ms)} to {ms}" if to_ms else "") + _elsewhere(trace, dut_ms, ms, client, port)
        if n < MIN_EARLY_PACKETS or to_ms:
            found.append(violation("SIG-03", ["SIG-03", "BYP-02"], "M", what, seen,
                                   [s.first_frame for s in sent[:1]] or early.frame))
        else:
            found.append(passed("SIG-03", ["SIG-03", "BYP-02"], "M", f"{what}: {seen}", sent[0].first_frame))
    want = [_DTMF[d] for d in digits.upper()]
    events = trace.media.events()
    mine = [e for e in events if e.stream.src == client and e.stream.dst == dut_ms]
    if not _in_order(want, [e.code for e in mine]):
        raise_missing(f"our client's DTMF {_digits(want)} (RFC 4733 events from {client}; the capture shows "
                      f"{_digits([e.code for e in mine])})")
    got = [e for e in events if e.stream.src == dut_far and e.stream.dst == far]
    what = (f"the DTMF {_digits(want)} the client {client} sent as RFC 4733 events (from frame {mine[0].first_frame})"
            f" delivered to the far end {far} as RFC 4733 events, all and in order")
    if _in_order(want, [e.code for e in got]):
        found.append(passed("MED-03", ["MED-03", "BYP-02"], "M", f"{what}: {_digits([e.code for e in got])}",
                            [e.first_frame for e in got[:len(want)]]))
    else:
        found.append(violation("MED-03", ["MED-03", "BYP-02"], "M", what,
                               f"{_digits([e.code for e in got]) or 'no event'}",
                               [e.first_frame for e in got[:4]] or [mine[0].first_frame]))
    return found
