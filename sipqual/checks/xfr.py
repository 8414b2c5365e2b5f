"""Checks of suite XFR: transfers through the DUT.

REFER disabled (TC-XFR-04, -05; mandatory for every peer, XFR-02): the party that keeps the call (Lync, or a
DUT-side PBX in TC-XFR-07) moves its media to the transfer target's endpoint by re-INVITE, with an offer or (3pcc,
RFC 3725 flow I) without SDP, answering the DUT's offer in the ACK. The DUT must answer the re-INVITE 2xx (with an
SDP offer when ours had none) and send its RTP to the new endpoint within 1 s of the exchange that named it (its 2xx
to our offer; our ACK with the answer), none to the old one after that, and keep the media flowing both ways until
the call is cleared. The new endpoint (:mod:`sipqual.rtppeer`) sends only once the DUT's RTP reached it, so the
DUT's first packets there follow the SDP (RFC 3264 section 8.3.1), not where our packets come from.

Re-INVITEs are matched by what our agent sent on its own leg; the other leg only by the routed INVITE (number and
time), never by Call-ID, so a B2BUA passes as a proxy does.
"""

from __future__ import annotations

from ..recording import check
from ..trace import SipPacket, Trace
from ..verdict import Finding, passed, violation
from .calls import _cleared
from .common import (CallSpec, Leg, answered_call, dut_invite_toward, leg_of, raise_missing, route, route_held, sdp_of, status_text,
                     stimulus, stop_unless_explained)
from .hld import MIN_RESUME_RTP, _dedup, _final, reinvites, trace_end

FOLLOW_S = 1.0          # the DUT's media must reach the new endpoint within this (TC-MED-08, XFR-02)
SLACK_S = 0.1           # one packet time and the capture's timestamps


def _endpoint(p: SipPacket | None) -> tuple[str, int] | None:
    sdp = sdp_of(p)
    if sdp is None or sdp.audio is None:
        return None
    conn = sdp.audio.effective_connection
    if conn is None:
        return None
    return conn.address.split("/")[0], sdp.audio.port


def _ack(leg: Leg, request: SipPacket) -> SipPacket | None:
    seq = request.msg.cseq.seq if request.msg.cseq else None
    for p in leg.requests("ACK"):
        if p.src == request.src and p.msg.cseq and p.msg.cseq.seq == seq and p.time >= request.time:
            return p
    return None


def _rtp(trace: Trace, src: str, dst: str, start: float, end: float, port: int | None = None) -> int:
    return sum(s.packets_between(start, end) for s in trace.rtp
               if s.src == src and s.dst == dst and (port is None or s.dport == port))


@check
def media_retarget(trace: Trace, *, spec: CallSpec, mode: str, severity: str = "M",
                   lync_side: bool = True) -> list[Finding]:
    """TC-XFR-04 (``mode="offer"``), TC-XFR-05 (``"3pcc"``), TC-XFR-07 (``lync_side=False``: the far caller, a
    DUT-side PBX, transfers; then no REFER may reach the Mediation side, SIG-09). Our caller moves its media by
    re-INVITE; see the module docstring for what the DUT must do."""
    rule, reqs = ("XFR-02", ["XFR-02"]) if lync_side else ("SIG-09", ["SIG-09", "XFR-02"])
    got = answered_call(trace, spec)
    if isinstance(got, list):
        return got
    ours_inv, a, theirs, b, ok_a, out = got
    if not lync_side:
        out.append(_no_refer(trace, spec, severity, ours_inv.time))
    ours = reinvites(a, spec.caller_ip)
    if not ours:
        stop_unless_explained(out, "our transfer re-INVITE")
        return out
    r = ours[0]
    what = f"our transfer re-INVITE {'without SDP' if mode == '3pcc' else 'moving the media'} (frame {r.frame})"
    f = _final(a, r)
    if f is None or not 200 <= f.msg.status < 300:
        return out + [violation(rule, reqs, severity, f"200 OK to {what}", status_text(f), f.frame if f else r.frame)]
    old = _endpoint(a.invite)
    if mode == "3pcc":
        if sdp_of(f) is None:
            return out + [violation(rule, reqs + ["RFC3264-02"], severity, f"an SDP offer in the DUT's 200 to {what} "
                                    "(RFC 3261 section 14.1: a re-INVITE without SDP asks the peer to offer)",
                                    "no SDP", f.frame)]
        ack = _ack(a, r)
        named_by = ack
        new = _endpoint(ack)
    else:
        named_by = f
        new = _endpoint(r)
    if named_by is None or new is None or new == old:
        raise_missing(f"our SDP naming the transfer target's endpoint ({'ACK' if mode == '3pcc' else 're-INVITE'} "
                      f"after frame {r.frame}: {new}, was {old})")
    t0 = named_by.time
    byes = [p for p in a.requests("BYE") if p.src == spec.caller_ip]
    end = byes[0].time if byes else trace_end(trace)
    fed = _rtp(trace, spec.callee_ip, spec.dut_out_ip, t0, end)
    if fed < MIN_RESUME_RTP:
        out.extend(_unanchored(b, spec, spec.dut_out_ip, r.time, rule, reqs, severity))
        stop_unless_explained(out, f"our {spec.callee_ip}'s RTP to the DUT after the transfer ({fed} packets)")
        return out
    out.extend(_followed(trace, spec, rule, reqs, severity, old, new, named_by, end))
    if lync_side is False:
        out.append(_passed_on(b, spec, severity, r))
    sent = _rtp(trace, spec.caller_ip, spec.dut_in_ip, t0, end)
    if sent < MIN_RESUME_RTP:
        out.extend(_unanchored(a, spec, spec.dut_in_ip, r.time, rule, reqs, severity))
    relayed = _rtp(trace, spec.dut_out_ip, spec.callee_ip, t0 + SLACK_S, end)
    if sent >= MIN_RESUME_RTP and relayed < MIN_RESUME_RTP:
        out.append(violation(rule, reqs + ["MED-02"], severity, f"RTP from the DUT to {spec.callee_ip} after the "
                             f"transfer (our {spec.caller_ip} sent {sent} packets)", f"{relayed} packets",
                             named_by.frame))
    out.extend(_cleared(a, b, spec, "caller", out))
    return out


def _followed(trace: Trace, spec: CallSpec, rule: str, reqs: list[str], severity: str, old: tuple[str, int] | None,
              new: tuple[str, int], named_by: SipPacket, end: float) -> list[Finding]:
    """The DUT's RTP toward our caller: at the new endpoint within FOLLOW_S of ``named_by``, enough of it until
    ``end``, none at the old endpoint after FOLLOW_S."""
    t0 = named_by.time
    mine = [s for s in trace.rtp if s.src == spec.dut_in_ip and s.dst == new[0]]
    to_new = [s for s in mine if s.dport == new[1] and s.last_time >= t0 - SLACK_S]
    first = min((s.first_time for s in to_new), default=None)
    count = sum(s.packets_between(t0 - SLACK_S, end) for s in to_new)
    late_old = max((s.last_time for s in trace.rtp if old is not None and s.src == spec.dut_in_ip
                    and (s.dst, s.dport) == old), default=None)
    want = (f"the DUT's RTP to the transfer target's endpoint {new[0]}:{new[1]} within {FOLLOW_S:.0f} s of frame "
            f"{named_by.frame}")
    if first is None or count < MIN_RESUME_RTP:
        where = f"; its RTP went on to the old endpoint {old[0]}:{old[1]} until {late_old - t0:+.2f} s" \
            if old is not None and late_old is not None and late_old > t0 else ""
        return [violation(rule, reqs + ["MED-02"], severity, want, f"{count} packets there{where}", named_by.frame)]
    delay = first - t0
    if delay > FOLLOW_S:
        return [violation(rule, reqs + ["MED-02"], severity, want, f"its first packet there {delay:.2f} s later",
                          named_by.frame)]
    if late_old is not None and late_old > t0 + FOLLOW_S + SLACK_S:
        return [violation(rule, reqs + ["MED-02"], severity, f"no RTP from the DUT to the old endpoint {old[0]}:"
                          f"{old[1]} once {FOLLOW_S:.0f} s after frame {named_by.frame} passed",
                          f"RTP there until {late_old - t0:.2f} s after it", named_by.frame)]
    return [passed(rule, reqs + ["MED-02"], severity, f"{want}: first packet {max(delay, 0.0):.2f} s after it, "
                   f"{count} packets, none to the old endpoint after {FOLLOW_S:.0f} s", named_by.frame)]


def _unanchored(leg: Leg, spec: CallSpec, dut_ip: str, since: float, rule: str, reqs: list[str],
                severity: str) -> list[Finding]:
    """Our agent's RTP into the DUT stopped after the transfer. When the DUT's latest SDP to that agent since
    ``since`` names an address that is not the DUT's (an in-dialog offer or answer passed on without its media
    anchor), our agent sent where it was told, past the DUT: the DUT's fault (MED-02), not a missing stimulus."""
    sdps = [p for p in leg.messages if p.src == dut_ip and p.time >= since and _endpoint(p) is not None]
    if not sdps:
        return []
    addr = _endpoint(sdps[-1])[0]
    if addr in (spec.dut_in_ip, spec.dut_out_ip, "0.0.0.0", "::"):
        return []
    return [violation(rule, reqs + ["MED-02"], severity, f"the DUT's SDP to {sdps[-1].dst} after the transfer (frame "
                      f"{sdps[-1].frame}) naming the DUT's own media address", f"c={addr}: the media no longer "
                      "passes through the DUT (an in-dialog offer passed on without its media anchor)",
                      sdps[-1].frame)]


def _no_refer(trace: Trace, spec: CallSpec, severity: str, since: float) -> Finding:
    """SIG-09: the Mediation Server does not take REFER; a DUT-side transfer must reach it another way."""
    refers = [p for p in trace.requests("REFER") if p.src == spec.dut_out_ip and p.dst == spec.callee_ip
              and p.time >= since]
    if refers:
        return violation("SIG-09", ["SIG-09"], severity, f"no REFER from the DUT to the Mediation side "
                         f"{spec.callee_ip} (it does not support receiving REFER)",
                         f"REFER {refers[0].msg.request_uri.raw if refers[0].msg.request_uri else ''}".strip(),
                         refers[0].frame)
    return passed("SIG-09", ["SIG-09"], severity, f"no REFER from the DUT to the Mediation side {spec.callee_ip}")


def _passed_on(b: Leg, spec: CallSpec, severity: str, r: SipPacket) -> Finding:
    """Recorded, not judged: a proxy (or a B2BUA without its own media anchor) passes the far side's media change on
    as a re-INVITE; a B2BUA anchoring the media may keep the Mediation leg as it is."""
    dut = [p for p in reinvites(b, spec.dut_out_ip) if p.time >= r.time]
    if dut:
        return passed("SIG-09", ["SIG-09"], severity, f"the DUT passed the transfer on to {spec.callee_ip} as a "
                      f"re-INVITE (its media anchor's SDP)", dut[0].frame)
    return passed("SIG-09", ["SIG-09"], severity, f"the DUT kept the Mediation leg as it was (no re-INVITE to "
                  f"{spec.callee_ip}: the transfer absorbed by its media anchor)")


# ---- REFER enabled (TC-XFR-01/03/06): Lync's REFER, carried out by the DUT or passed on to the far side ----------
#
# A gateway or B2BUA carries the REFER out itself: its own 202 and NOTIFYs toward the Mediation side, its own INVITE
# to the target on the far leg (with the Referred-By, RFC 3892). A record-routing proxy (the reference DUT) passes the
# REFER on in the dialog to the far side, whose PBX (our far agent) carries it out: its 202 and NOTIFYs come back
# through the DUT, and each is credited as relayed, labelled with the far end's frame, never as the DUT's own doing.

def _frag_status(p: SipPacket) -> int | None:
    """The status code of a NOTIFY's message/sipfrag body (its first line "SIP/2.0 NNN ...")."""
    first = p.msg.body.split(b"\n", 1)[0].decode("utf-8", "replace").split()
    return int(first[1]) if len(first) >= 2 and first[0] == "SIP/2.0" and first[1].isdigit() else None


def _terminated(p: SipPacket) -> bool:
    return (p.msg.get("Subscription-State") or "").split(";")[0].strip().lower() == "terminated"


def _uri_user(value: str | None) -> str | None:
    from ..sipvalues import parse_name_addr
    na = parse_name_addr(value) if value else None
    return na.uri.user if na is not None and na.uri is not None else None


def _final_to(leg: Leg, request: SipPacket, src: str) -> SipPacket | None:
    seq = request.msg.cseq.seq if request.msg.cseq else None
    for p in leg.responses(request.msg.method):
        if p.src == src and p.time >= request.time and p.msg.status and p.msg.status >= 200 \
                and p.msg.cseq and p.msg.cseq.seq == seq:
            return p
    return None


@check
def refer_transfer(trace: Trace, *, spec: CallSpec, target: str, referred_by: bool, outcome: int,
                   severity: str = "O", by: str = "caller") -> list[Finding]:
    """TC-XFR-01 (blind, REFER without Referred-By), TC-XFR-06 (with Referred-By: copied, RFC3892-01), TC-XFR-03
    (``outcome`` 486: the target busy, the original call goes on). Our REFER is answered 202; the transfer is carried
    out (the DUT's INVITE to ``target`` on the far leg, or the REFER passed on to the far side with that Refer-To);
    NOTIFYs with message/sipfrag reach us, the last one terminating the subscription with ``outcome`` (2xx for 200);
    then our BYE is answered (and relayed where the far leg is still ours), or, after a failed transfer, RTP both ways
    goes on until it. ``by``: which of our agents transfers, the caller (Lync on an OUT call) or the callee (Lync
    on an IN call, TC-XFR-08: the PSTN caller transferred back to the PSTN); the other one is the transferee."""
    from .common import dut_invite_toward, number_matches
    got = answered_call(trace, spec)
    if isinstance(got, list):
        return got
    ours_inv, a, theirs, b, ok_a, out = got
    if by == "caller":
        t_leg, t_ip, t_dut, e_leg, e_ip, e_dut = a, spec.caller_ip, spec.dut_in_ip, b, spec.callee_ip, spec.dut_out_ip
    else:
        t_leg, t_ip, t_dut, e_leg, e_ip, e_dut = b, spec.callee_ip, spec.dut_out_ip, a, spec.caller_ip, spec.dut_in_ip
    refers = [p for p in t_leg.requests("REFER") if p.src == t_ip]
    if not refers:
        stop_unless_explained(out, "our REFER")
        return out
    refer = refers[0]
    passed_on = [p for p in _dedup(e_leg.requests("REFER")) if p.src == e_dut and p.time >= refer.time]
    relay = passed_on[0] if passed_on else None
    far_202 = _final_to(e_leg, relay, e_ip) if relay is not None else None
    # the 202 half of RFC3515-01
    f = _final_to(t_leg, refer, t_dut)
    reqs = ["XFR-01", "RFC3515-01"]
    if f is None or f.msg.status != 202:
        out.append(violation("RFC3515-01", reqs, severity, f"202 Accepted to our REFER (frame {refer.frame})",
                             status_text(f), f.frame if f else refer.frame))
        if f is None or f.msg.status >= 300:
            return out
    else:
        how = f" (relayed from the far end's 202, frame {far_202.frame})" if far_202 is not None else ""
        out.append(passed("RFC3515-01", reqs, severity, f"our REFER accepted with 202{how}", f.frame))
    # carried out: the DUT's own INVITE to the target, or the REFER passed on
    own = dut_invite_toward(trace, e_dut, e_ip, target, refer.time)
    if own is not None and own.frame != theirs.frame:
        out.append(passed("XFR-01", ["XFR-01"], severity, f"the DUT carried the transfer out: its INVITE to "
                          f"{target} on the far leg", own.frame))
        carrier, label = own, "the DUT's INVITE to the target"
    elif relay is not None:
        rt_user = _uri_user(relay.msg.get("Refer-To"))
        if not number_matches(rt_user, target):
            out.append(violation("XFR-01", ["XFR-01"], severity, f"the REFER passed on to {e_ip} naming the "
                                 f"target {target} in its Refer-To", f"Refer-To: {relay.msg.get('Refer-To')}",
                                 relay.frame))
        else:
            out.append(passed("XFR-01", ["XFR-01"], severity, f"the DUT passed our REFER on to {e_ip} "
                              f"(Refer-To {target}), whose PBX carries the transfer out (relayed, not the DUT's own "
                              f"INVITE)", relay.frame))
        carrier, label = relay, "the REFER the DUT passed on"
    else:
        out.append(violation("XFR-01", ["XFR-01"], severity, f"the transfer carried out after our REFER (frame "
                             f"{refer.frame}): the DUT's INVITE to {target} on the far leg, or the REFER passed on "
                             f"to {e_ip}", "neither", f.frame if f else refer.frame))
        carrier, label = None, ""
    if referred_by and carrier is not None:
        out.append(_referred_by(refer, carrier, label, severity))
    out.extend(_notifies(t_leg, e_leg, refer, t_dut, e_ip, outcome, severity))
    finals = [p for p in _dedup(t_leg.requests("NOTIFY")) if p.src == t_dut and p.time >= refer.time
              and _terminated(p)]
    byes = [p for p in t_leg.requests("BYE") if p.src == t_ip and p.time >= refer.time]
    if outcome >= 300 and finals and byes:
        start, end = finals[0].time + 0.1, byes[0].time
        got = {name: _rtp(trace, src, dst, start, end) for name, src, dst in
               (("DUT -> caller", spec.dut_in_ip, spec.caller_ip), ("DUT -> callee", spec.dut_out_ip, spec.callee_ip))}
        if any(v < MIN_RESUME_RTP for v in got.values()):
            out.append(violation("XFR-01", ["XFR-01", "RFC3515-02"], severity, f"the original call going on after the "
                                 f"failed transfer (NOTIFY frame {finals[0].frame}): RTP both ways through the DUT",
                                 ", ".join(f"{k}: {v} packets" for k, v in got.items()), finals[0].frame))
        else:
            out.append(passed("XFR-01", ["XFR-01", "RFC3515-02"], severity, "the original call went on after the "
                              "failed transfer: RTP both ways through the DUT", finals[0].frame))
    if own is not None and own.frame != theirs.frame:
        ok = [p for p in t_leg.responses("BYE") if p.dst == t_ip and p.msg.status == 200]
        if byes and not ok:
            out.append(violation("RFC3261-14", "RFC3261-14", "M", f"200 OK to our BYE (frame {byes[0].frame})",
                                 "no 200", byes[0].frame))
        return out
    out.extend(_cleared(a, b, spec, by, out))
    return out


def _referred_by(refer: SipPacket, carrier: SipPacket, label: str, severity: str) -> Finding:
    """RFC3892-01: the Referred-By of our REFER in the triggered INVITE (or in the REFER a proxy passes on, for the
    far side to copy): present, naming the same user (a B2BUA may rewrite the host)."""
    from .common import number_matches
    ours = refer.msg.get("Referred-By")
    got = carrier.msg.get("Referred-By")
    want = f"Referred-By of our REFER (frame {refer.frame}) in {label}"
    reqs = ["XFR-04", "RFC3892-01"]
    if got is None:
        return violation("RFC3892-01", reqs, severity, want, "no Referred-By", carrier.frame)
    if not number_matches(_uri_user(got), _uri_user(ours) or ""):
        return violation("RFC3892-01", reqs, severity, f"{want}: {ours}", f"Referred-By: {got}", carrier.frame)
    return passed("RFC3892-01", reqs, severity, f"{want}: {got}", carrier.frame)


def _notifies(t_leg: Leg, e_leg: Leg, refer: SipPacket, t_dut: str, e_ip: str, outcome: int,
              severity: str) -> list[Finding]:
    """The 2xx half of RFC3515-02: NOTIFYs with a message/sipfrag from the DUT after the 202, the last terminating
    the subscription with the transfer's outcome (our agent answered each 200). The passive RFC3515-02 rule judges
    their Event and Subscription-State headers."""
    reqs = ["XFR-01", "RFC3515-02"]
    mine = [p for p in _dedup(t_leg.requests("NOTIFY")) if p.src == t_dut and p.time >= refer.time]
    far = [p for p in _dedup(e_leg.requests("NOTIFY")) if p.src == e_ip and p.time >= refer.time]
    if not mine:
        why = f" (the far end's NOTIFY, frame {far[0].frame}, never passed on)" if far else ""
        return [violation("RFC3515-02", reqs, severity, f"NOTIFYs with message/sipfrag to us after our REFER (frame "
                          f"{refer.frame}), the last with the transfer's outcome", f"none{why}",
                          far[0].frame if far else refer.frame)]
    codes = [_frag_status(p) for p in mine]
    finals = [p for p in mine if _terminated(p)]
    last = finals[0] if finals else mine[-1]
    code = _frag_status(last)
    want_txt = "2xx" if outcome < 300 else str(outcome)
    ok = code is not None and (200 <= code < 300 if outcome < 300 else code == outcome)
    relayed = [p for p in far if _frag_status(p) == code and p.time <= last.time]
    how = f" (relayed from the far end's NOTIFY, frame {relayed[0].frame})" if relayed else ""
    seq = ", ".join(str(c) for c in codes)
    if not finals:
        return [violation("RFC3515-02", reqs, severity, "a final NOTIFY (Subscription-State: terminated) with the "
                          f"transfer's outcome {want_txt}", f"NOTIFY sipfrag {seq}, none terminating", last.frame)]
    if not ok:
        return [violation("RFC3515-02", reqs, severity, f"the final NOTIFY's sipfrag with the transfer's outcome "
                          f"{want_txt}", f"SIP/2.0 {code}" if code else "no status line", last.frame)]
    return [passed("RFC3515-02", reqs, severity, f"NOTIFY sipfrag {seq}, the last terminating the subscription with "
                   f"{code}{how}", last.frame)]


# ---- TC-XFR-02: attended transfer, REFER with Replaces (RFC 3891) -------------------------------------------------
#
# Lync has two calls through the DUT: A with party 1 (the transferee) and B with party 2 (the transfer target). It
# REFERs party 1 on A with Refer-To <party 2?Replaces=B's dialog as Lync sees it>. Whatever carries the transfer out
# (the DUT itself, or party 1's PBX behind it), the Replaces that reaches party 2 must name party 2's own leg of B:
# its Call-ID, to-tag = party 2's tag (the recipient's local tag), from-tag = the DUT's tag on that leg (RFC 3891
# section 3). A proxy keeps one dialog end to end; a B2BUA or topology-hiding device must map Lync's dialog to it.

def parse_replaces(value: str | None) -> tuple[str, dict[str, str | None]] | None:
    """RFC 3891 section 6.1: ``callid *(; to-tag / from-tag / early-only / generic-param)``, parameter names
    case-insensitive, values as written. ``None`` when there is no Call-ID."""
    from ..sipvalues import _parse_params
    if not value:
        return None
    callid, _, params = value.strip().partition(";")
    if not callid.strip():
        return None
    return callid.strip(), _parse_params(params)


def _refer_to_replaces(value: str | None) -> str | None:
    """The Replaces of a Refer-To URI's headers (``?Replaces=...``, escaped as RFC 3261 section 19.1.1 wants), the
    header name compared case-insensitively, its value unescaped."""
    from ..sipvalues import parse_name_addr
    na = parse_name_addr(value) if value else None
    if na is None or na.uri is None:
        return None
    for k, v in na.uri.headers.items():
        if k.lower() == "replaces":
            return v
    return None


def _dialog_of(leg: Leg) -> tuple[str, str | None, str | None]:
    """(Call-ID, the callee's tag, the caller's tag) of a leg's confirmed dialog (tags from its 2xx)."""
    ok = [p for p in leg.responses("INVITE") if p.msg.status and 200 <= p.msg.status < 300]
    to_tag = ok[0].msg.to.tag if ok and ok[0].msg.to else None
    from_tag = leg.invite.msg.from_.tag if leg.invite.msg.from_ else None
    return leg.call_id, to_tag, from_tag


def replaces_matches(value: str | None, leg: Leg) -> str | None:
    """``None`` when the Replaces ``value`` identifies ``leg``'s dialog for the leg's callee (the recipient) by RFC
    3891 rules: Call-ID equal octet by octet (RFC 3261 section 20.8), to-tag = the recipient's (the callee's) tag,
    from-tag = the other end's, tags compared as tokens, case-sensitively; else what differs."""
    parsed = parse_replaces(value)
    if parsed is None:
        return f"no Call-ID in Replaces {value!r}"
    callid, params = parsed
    cid, callee_tag, caller_tag = _dialog_of(leg)
    to_tag, from_tag = params.get("to-tag"), params.get("from-tag")
    if callid != cid:
        return f"Call-ID {callid!r} is not that leg's {cid!r}"
    if (to_tag, from_tag) == (caller_tag, callee_tag) and to_tag != from_tag:
        return f"tags swapped (to-tag={to_tag}, from-tag={from_tag}; the recipient's tag is {callee_tag})"
    if to_tag != callee_tag:
        return f"to-tag={to_tag} is not the recipient's tag {callee_tag}"
    if from_tag != caller_tag:
        return f"from-tag={from_tag} is not the other end's tag {caller_tag}"
    return None


@check
def attended_transfer(trace: Trace, *, spec: CallSpec, spec_b: CallSpec, severity: str = "O") -> list[Finding]:
    """TC-XFR-02. ``spec``: call A (Lync -> party 1, our REFER on it); ``spec_b``: call B (Lync -> party 2, the
    transfer target, whose dialog our Refer-To names in ?Replaces=). Judged: 202 to the REFER (own or relayed);
    the Replaces that reaches party 2's side (the DUT's INVITE to party 2, own or relayed from party 1's PBX; and
    the Refer-To of a REFER passed on to party 1) names party 2's leg of B (RFC3891-01); party 2 answers it and its
    original leg B ends with a BYE that reaches Lync; RTP between party 1 and party 2 through the DUT after it;
    NOTIFYs with the outcome; our BYE on A answered."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours_a, a, theirs_a, a_far = routed
    routed_b = route(trace, spec_b)
    if isinstance(routed_b, Finding):
        return [route_held(theirs_a, spec), routed_b]
    ours_b, b, theirs_b, b_far = routed_b
    out = [route_held(theirs_a, spec), route_held(theirs_b, spec_b)]
    for leg, inv in ((a, ours_a), (b, ours_b)):
        ok = leg.final()
        if ok is None or ok.msg.status != 200:
            return out + [violation("CALL-ANSWER", "RFC3261-20", "M", f"200 OK to our INVITE (frame {inv.frame})",
                                    status_text(ok), ok.frame if ok else None)]
    refers = [p for p in a.requests("REFER") if p.src == spec.caller_ip]
    if not refers:
        stop_unless_explained(out, "our REFER with Replaces")
        return out
    refer = refers[0]
    reqs = ["XFR-01", "RFC3891-01"]
    lync_repl = _refer_to_replaces(refer.msg.get("Refer-To"))
    if lync_repl is None or replaces_matches(lync_repl, b) is not None:
        raise_missing(f"our REFER's Refer-To naming call B's dialog in ?Replaces= (frame {refer.frame})")
    relays = [p for p in _dedup(a_far.requests("REFER")) if p.src == spec.dut_out_ip
              and p.time >= refer.time]
    relay = relays[0] if relays else None
    far_202 = _final_to(a_far, relay, spec.callee_ip) if relay is not None else None
    f = _final_to(a, refer, spec.dut_in_ip)
    if f is None or f.msg.status != 202:
        out.append(violation("RFC3515-01", ["XFR-01", "RFC3515-01"], severity, f"202 Accepted to our REFER (frame "
                             f"{refer.frame})", status_text(f), f.frame if f else refer.frame))
        if f is None or f.msg.status >= 300:
            return out
    else:
        how = f" (relayed from the far end's 202, frame {far_202.frame})" if far_202 is not None else ""
        out.append(passed("RFC3515-01", ["XFR-01", "RFC3515-01"], severity, f"our REFER accepted with 202{how}",
                          f.frame))
    # the Refer-To passed on to party 1's PBX: its Replaces must name party 2's leg already
    if relay is not None:
        rt = relay.msg.get("Refer-To")
        repl = _refer_to_replaces(rt)
        if repl is None:
            out.append(violation("RFC3891-01", reqs, severity, f"the REFER passed on to {spec.callee_ip} keeping "
                                 f"?Replaces= in its Refer-To", f"Refer-To: {rt}", relay.frame))
        else:
            why = replaces_matches(repl, b_far)
            want = (f"the Replaces in the Refer-To passed on to {spec.callee_ip} naming party 2's leg of call B "
                    f"(INVITE frame {b_far.invite.frame})")
            out.append(violation("RFC3891-01", reqs, severity, want, why, relay.frame) if why else
                       passed("RFC3891-01", reqs, severity, f"{want}: Replaces={repl}", relay.frame))
    # the INVITE with Replaces that reaches party 2
    after = refer.time
    to_p2 = [p for p in trace.requests("INVITE") if p.src == spec_b.dut_out_ip and p.dst == spec_b.callee_ip
             and p.time >= after and p.msg.call_id not in (a_far.call_id, b_far.call_id)]
    with_r = [p for p in to_p2 if p.msg.get("Replaces") is not None]
    if not with_r:
        if to_p2:
            out.append(violation("RFC3891-01", reqs, severity, f"the INVITE to party 2 ({spec_b.callee_ip}) after our "
                                 f"REFER (frame {refer.frame}) carrying Replaces for its call B", "an INVITE "
                                 "without Replaces: party 2 gets a new call instead of a replacement", to_p2[0].frame))
        elif relay is None:
            out.append(violation("XFR-01", reqs, severity, f"the transfer carried out after our REFER (frame "
                                 f"{refer.frame}): an INVITE with Replaces to party 2, or the REFER passed on to "
                                 f"{spec.callee_ip}", "neither", f.frame if f else refer.frame))
        else:
            stop_unless_explained(out, f"party 1's INVITE with Replaces after the REFER passed on (frame "
                                  f"{relay.frame})")
        out.extend(_notifies(a, a_far, refer, spec.dut_in_ip, spec.callee_ip, 200, severity))
        return out
    c_inv = with_r[0]
    c_far = leg_of(trace, c_inv)
    from_p1 = [p for p in trace.requests("INVITE") if p.dst == spec.dut_out_ip and p.time >= after
               and p.src not in (spec.dut_in_ip, spec.dut_out_ip, spec.caller_ip)
               and p.time <= c_inv.time and p.msg.get("Replaces") is not None]
    who = (f"relayed from party 1's INVITE, frame {from_p1[0].frame}" if from_p1 else "the DUT's own INVITE")
    why = replaces_matches(c_inv.msg.get("Replaces"), b_far)
    want = (f"the INVITE with Replaces reaching party 2 ({who}) naming party 2's leg of call B (INVITE frame "
            f"{b_far.invite.frame}: Call-ID, to-tag = party 2's tag, from-tag = the other end's)")
    if why:
        out.append(violation("RFC3891-01", reqs, severity, want, why, c_inv.frame))
        return out + _notifies(a, a_far, refer, spec.dut_in_ip, spec.callee_ip, 200, severity)
    out.append(passed("RFC3891-01", reqs, severity, f"{want}: Replaces: {c_inv.msg.get('Replaces')}", c_inv.frame))
    c_ok = c_far.final()
    if c_ok is None or c_ok.msg.status != 200:
        raise_missing(f"party 2's 200 to the INVITE with Replaces (frame {c_inv.frame}): {status_text(c_ok)}")
    # party 2's original leg ends, and Lync's leg of B with it
    byes_far = [p for p in b_far.requests("BYE") if p.time >= c_inv.time]
    byes_ms = [p for p in b.requests("BYE") if p.src == spec_b.dut_in_ip and p.time >= c_inv.time]
    if not byes_far:
        stop_unless_explained(out, f"party 2's BYE on its replaced leg after frame {c_inv.frame}")
    elif not byes_ms:
        out.append(violation("XFR-01", reqs + ["RFC3261-14"], severity, f"a BYE from the DUT to Lync ending call B "
                             f"once party 2's leg of it ended (BYE frame {byes_far[0].frame})", "none: Lync's call B "
                             "stays up", byes_far[0].frame))
    else:
        out.append(passed("XFR-01", reqs + ["RFC3261-14"], severity, f"call B ended on both legs after the "
                          f"replacement: party 2's leg (frame {byes_far[0].frame}), Lync's (frame "
                          f"{byes_ms[0].frame})", byes_ms[0].frame))
    out.extend(_joined(trace, spec, c_far, c_ok, from_p1[0] if from_p1 else None, a_far, severity))
    out.extend(_notifies(a, a_far, refer, spec.dut_in_ip, spec.callee_ip, 200, severity))
    byes = [p for p in a.requests("BYE") if p.src == spec.caller_ip and p.time >= refer.time]
    ok = [p for p in a.responses("BYE") if p.dst == spec.caller_ip and p.msg.status == 200]
    if byes and not ok:
        out.append(violation("RFC3261-14", "RFC3261-14", "M", f"200 OK to our BYE on call A (frame "
                             f"{byes[0].frame})", "no 200", byes[0].frame))
    return out


def _joined(trace: Trace, spec: CallSpec, c_far: Leg, c_ok: SipPacket, p1_inv: SipPacket | None, a_far: Leg,
            severity: str) -> list[Finding]:
    """RTP between party 1 and party 2 through the DUT once party 2 answered the replacing INVITE: the DUT's toward
    party 2 (the port of its answer) and toward party 1 (the port of party 1's offer when the DUT relayed its
    INVITE, else of party 1's answer on call A); judged only where our other party sent what the DUT relays."""
    p2 = _endpoint(c_ok)
    p1 = _endpoint(p1_inv) if p1_inv is not None else _endpoint(a_far.final())
    if p1 is None or p2 is None:
        raise_missing("the media endpoints of party 1 and party 2 after the replacement")
    byes = [p.time for p in trace.requests("BYE") if p.time >= c_ok.time]
    end = max(byes) if byes else trace_end(trace)
    start = c_ok.time
    fed = {name: sum(s.packets_between(start, end) for s in trace.rtp if s.src == ip and (s.sport == port)
                     and s.dst == spec.dut_out_ip) for name, (ip, port) in (("party 1", p1), ("party 2", p2))}
    if any(v < MIN_RESUME_RTP for v in fed.values()):
        stop_unless_explained([], "our parties' RTP after the replacement (" +
                              ", ".join(f"{k}: {v} packets" for k, v in fed.items()) + ")")
    got = {name: _rtp(trace, spec.dut_out_ip, ip, start, end, port)
           for name, (ip, port) in (("DUT -> party 1", p1), ("DUT -> party 2", p2))}
    reqs = ["XFR-01", "MED-02"]
    if any(v < MIN_RESUME_RTP for v in got.values()):
        return [violation("XFR-01", reqs, severity, "RTP between party 1 and party 2 through the DUT after the "
                          f"replacement (frame {c_ok.frame})", ", ".join(f"{k}: {v} packets" for k, v in got.items()),
                          c_ok.frame)]
    return [passed("XFR-01", reqs, severity, "party 1 and party 2 joined: " +
                   ", ".join(f"{k}: {v} packets" for k, v in got.items()), c_ok.frame)]


@check
def replaces_unmatched(trace: Trace, *, spec: CallSpec, severity: str = "O") -> list[Finding]:
    """The 481 half of RFC3891-01: our INVITE with a Replaces that matches no dialog is answered 481 (by the DUT, or
    relayed from the far end that got it with the Replaces kept), and no call is set up: no 2xx to us, and no call
    answered on the far leg (a DUT that drops the Replaces sets a new call up instead)."""
    ours = stimulus(trace, "INVITE", spec.test_id, spec.caller_ip)
    if ours is None or ours.msg.get("Replaces") is None:
        raise_missing("our INVITE with an unmatched Replaces")
    a = leg_of(trace, ours)
    fin = a.final(src=spec.dut_in_ip)
    reqs = ["RFC3891-01"]
    want = f"481 Call/Transaction Does Not Exist to our INVITE with a Replaces matching no dialog (frame {ours.frame})"
    far = dut_invite_toward(trace, spec.dut_out_ip, spec.callee_ip, spec.called, ours.time)
    far_fin = leg_of(trace, far).final(src=spec.callee_ip) if far is not None else None
    if far is not None and far.msg.get("Replaces") is None and far_fin is not None and far_fin.msg.status == 200:
        return [violation("RFC3891-01", reqs, severity, f"{want}; no call set up",
                          f"the INVITE passed on to {spec.callee_ip} without its Replaces and answered 200 there: a "
                          f"new call instead", far.frame)]
    if fin is None or fin.msg.status != 481:
        return [violation("RFC3891-01", reqs, severity, f"{want}; no call set up", status_text(fin),
                          fin.frame if fin else ours.frame)]
    how = (f" (relayed from the far end's 481, frame {far_fin.frame}, to the INVITE the DUT passed on with the "
           f"Replaces kept)" if far is not None and far_fin is not None and far_fin.msg.status == 481
           else " (the DUT's own)")
    return [passed("RFC3891-01", reqs, severity, f"481 to our INVITE with a Replaces matching no dialog{how}; no call "
                   "set up", fin.frame)]
