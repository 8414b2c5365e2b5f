"""Checks of suite SRTP: what the DUT answers to the Mediation side's SDES offers (RFC 4568, MS-SDPEXT) and whether
what it then sends toward the Mediation side is SRTP/SRTCP that authenticates with the key of its own a=crypto line
(RFC 3711, through libsrtp: :mod:`sipqual.srtpauth`), and that it never puts a=crypto on a TCP trunk (RFC4568-03).

Key material is never printed: keys are named by :func:`sipqual.srtpauth.key_id`.
"""

from __future__ import annotations

from ..recording import check
from ..sdp import Crypto, Media
from ..srtpauth import SrtpUnavailable, key_of, udp_flow, verify_flow
from ..trace import SipPacket, Trace
from ..verdict import Finding, passed, violation
from .calls import _cleared
from .common import (MIN_RTP_PACKETS, CallSpec, dut_invite_toward, leg_of, raise_missing, route, route_held,
                     sdp_of, stimulus)

LYNC_SUITE = "AES_CM_128_HMAC_SHA1_80"


def _audio(p: SipPacket | None) -> Media | None:
    sdp = sdp_of(p)
    return sdp.audio if sdp is not None else None


def _addr(p: SipPacket) -> str | None:
    a = _audio(p)
    conn = a.effective_connection if a is not None else None
    return conn.address if conn is not None else None


def _line(c: Crypto) -> str:
    """A crypto line as findings show it: tag, suite, lifetime/MKI, never the key."""
    extra = "|".join(x for x in (c.lifetime, c.mki) if x)
    return f"a=crypto:{c.tag} {c.suite} inline:<key>{'|' + extra if extra else ''}"


def _answered_crypto(offer: Media, answer: Media, frame: int) -> tuple[Crypto | None, list[Finding]]:
    """RFC4568-02 and SRTP-02 on an RTP/SAVP answer: exactly one a=crypto, the tag and suite of an offered line, the
    suite Lync uses, a valid key, MKI iff the chosen line had one (SRTP-05)."""
    lines = answer.crypto
    if len(lines) != 1:
        return None, [violation("RFC4568-02", ["RFC4568-02", "SRTP-02"], "M", "exactly one a=crypto line in the "
                                "RTP/SAVP answer", f"{len(lines)}", frame)]
    c = lines[0]
    offered = {o.tag: o for o in offer.crypto}
    o = offered.get(c.tag)
    if o is None or o.suite.upper() != c.suite.upper():
        return None, [violation("RFC4568-02", ["RFC4568-02", "SRTP-02"], "M", "the tag and suite of an offered line ("
                                + ", ".join(f"{t} {x.suite}" for t, x in offered.items()) + ")", _line(c), frame)]
    out = [passed("RFC4568-02", ["RFC4568-02", "SRTP-02"], "M", f"answer {_line(c)} accepts offered tag {c.tag}",
                  frame)]
    if c.suite.upper() != LYNC_SUITE:
        out.append(violation("SRTP-02", "SRTP-02", "M", f"crypto suite {LYNC_SUITE}", c.suite, frame))
    if key_of(c) is None:
        out.append(violation("RFC4568-01", "RFC4568-01", "M", f"an inline key of the {c.suite} length",
                             "a key that is not", frame))
        return None, out
    if bool(o.mki) != bool(c.mki):
        out.append(violation("SRTP-05", "SRTP-05", "R", "an MKI in the answer iff the accepted line had one "
                             f"(offered {_line(o)})", _line(c), frame))
    elif any(x.mki for x in offer.crypto):
        out.append(passed("SRTP-05", "SRTP-05", "R", f"symmetric MKI: the answer took tag {c.tag} "
                          + (f"with MKI {c.mki}" if c.mki else "without MKI") + " as offered", frame))
    return c, out


def srtp_media(trace: Trace, dut: SipPacket, ours: SipPacket, crypto: Crypto, *, rtcp: bool,
               req: str = "SRTP-04") -> list[Finding]:
    """The DUT's SRTP (and with ``rtcp`` its SRTCP) toward our media address, authenticated with ``crypto`` (the
    DUT's own line, from its SDP in ``dut``)."""
    a_ours, src = _audio(ours), _addr(dut)
    dst = _addr(ours)
    if a_ours is None or src is None or dst is None:
        return [violation(req, req, "M", "media addresses in both SDPs", "none", dut.frame)]
    out = []
    flows = [("SRTP", a_ours.port, False, MIN_RTP_PACKETS, req)]
    if rtcp:
        flows.append(("SRTCP", a_ours.port + 1, True, 1, "RFC3711-02"))
    for kind, port, is_rtcp, least, rule in flows:
        try:
            res = verify_flow(trace.path, src, dst, port, crypto, rtcp=is_rtcp)
        except SrtpUnavailable as e:
            raise_missing(str(e))
        what = f"{kind} from {src} to {dst}:{port} with the key of the DUT's {_line(crypto)} (frame {dut.frame})"
        reqs = [rule, "SRTP-04"] if rule != "SRTP-04" else ["SRTP-04", "RFC3711-01"]
        if res is None or res.packets == 0:
            out.append(violation(rule, reqs, "M", what, "no packets"))
        elif res.cleartext or res.failed:
            frame, why = res.first_bad
            out.append(violation(rule, reqs, "M", f"{what}, every packet authenticated",
                                 f"{res.summary()}; first: {why}", frame))
        elif res.authenticated < least:
            out.append(violation(rule, reqs, "M", f"{what}: at least {least} authenticated packets",
                                 res.summary(), res.first_frame))
        else:
            out.append(passed(rule, reqs, "M", res.summary() + " (decrypted and authenticated by libsrtp)",
                              res.first_frame))
        want = crypto.mki.partition(":")[0] if crypto.mki else ""
        if want.isdigit() and res.mki_values and res.mki_values != {int(want)}:
            out.append(violation("SRTP-05", "SRTP-05", "R", f"the MKI value {want} of the DUT's line in every "
                                 f"{kind} packet", f"MKI values {sorted(res.mki_values)}", res.first_frame))
    return out


@check
def srtp_call(trace: Trace, *, spec: CallSpec, rtcp: bool = False) -> list[Finding]:
    """TC-SRTP-01/-08: our RTP/SAVP offer with AES_CM_128_HMAC_SHA1_80 is answered 200 RTP/SAVP with one a=crypto
    of the offered tag and suite (RFC4568-02, SRTP-02), and the DUT's RTP toward us is SRTP that authenticates with
    that line's key, no cleartext (SRTP-04); with ``rtcp`` also its RTCP is SRTCP that authenticates (RFC3711-02).
    The Mediation-to-DUT direction waits for the media agent (sipqual.flows.srtp)."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, theirs, b = routed
    out = [route_held(theirs, spec)]
    ok = a.final()
    if ok is None or ok.msg.status != 200:
        return out + [violation("SRTP-01", ["SRTP-01", "RFC3261-20"], "M", "200 OK to our RTP/SAVP offer "
                                f"(frame {ours.frame})", _status(ok), ok.frame if ok else None)]
    offer, answer = _audio(ours), _audio(ok)
    if answer is None or answer.proto.upper() != "RTP/SAVP":
        return out + [violation("SRTP-01", ["SRTP-01", "SRTP-04"], "M", "an RTP/SAVP answer to our RTP/SAVP offer",
                                f"m=audio {answer.proto}" if answer else "no audio", ok.frame)]
    out.append(passed("SRTP-01", ["SRTP-01", "SRTP-04"], "M", "200 with m=audio RTP/SAVP", ok.frame))
    crypto, found = _answered_crypto(offer, answer, ok.frame)
    out += found
    if crypto is not None:
        out += srtp_media(trace, ok, ours, crypto, rtcp=rtcp)
    out += _cleared(a, b, spec, "caller", out)
    return out


@check
def dut_srtp_offer(trace: Trace, *, spec: CallSpec, mode: str) -> list[Finding]:
    """TC-SRTP-03: on an IN call over TLS the DUT's offer to the Mediation side is SDES SRTP as its SRTPMode says
    (Required: RTP/SAVP; Optional: RTP/AVP with a=crypto, MS-SDPEXT) with an AES_CM_128_HMAC_SHA1_80 line (SRTP-02,
    the suite Lync accepts) holding a valid key; our answer accepts that line (RTP/SAVP, its tag, our key) and the
    DUT's RTP toward us is SRTP that authenticates with the key of its accepted line (SRTP-04)."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, theirs, b = routed
    out = [route_held(theirs, spec)]
    offer = _audio(theirs)
    want_proto = "RTP/SAVP" if mode == "required" else "RTP/SAVP or RTP/AVP"
    if offer is None or offer.proto.upper() not in want_proto.split(" or ") or not offer.crypto:
        seen = f"m=audio {offer.proto} with {len(offer.crypto)} a=crypto" if offer else "no audio"
        return out + [violation("SRTP-01", ["SRTP-01", "SRTP-02"], "M", f"an SDES offer ({want_proto} with a=crypto; "
                                f"SRTPMode {mode}) to the Mediation side", seen, theirs.frame)]
    lync = [c for c in offer.crypto if c.suite.upper() == LYNC_SUITE]
    if not lync:
        return out + [violation("SRTP-02", "SRTP-02", "M", f"an a=crypto line with {LYNC_SUITE}",
                                ", ".join(_line(c) for c in offer.crypto), theirs.frame)]
    out.append(passed("SRTP-01", ["SRTP-01", "SRTP-02"], "M", f"offer m=audio {offer.proto} with "
                      + ", ".join(_line(c) for c in offer.crypto), theirs.frame))
    ok = b.final(src=spec.callee_ip)
    answer = _audio(ok) if ok is not None and ok.msg.status == 200 else None
    if answer is None or len(answer.crypto) != 1:
        raise_missing("our 200 accepting the DUT's AES_CM_128_HMAC_SHA1_80 line")
    chosen = next((c for c in offer.crypto if c.tag == answer.crypto[0].tag), None)
    if chosen is None or key_of(chosen) is None:
        return out + [violation("RFC4568-01", "RFC4568-01", "M", f"a valid {LYNC_SUITE} key on the DUT's line "
                                f"{answer.crypto[0].tag}", "none", theirs.frame)]
    out += srtp_media(trace, theirs, ok, chosen, rtcp=False)
    out += _cleared(a, b, spec, "callee", out)
    return out


def _status(p: SipPacket | None) -> str:
    return f"{p.msg.status} {p.msg.reason}" if p is not None else "no final response"


@check
def srtp_optional_call(trace: Trace, *, spec: CallSpec, mode: str) -> list[Finding]:
    """TC-SRTP-02: our RTP/AVP offer with a=crypto (MS-SDPEXT optional SRTP, SRTP-03) is not rejected: the DUT
    accepts encryption (RTP/SAVP + one a=crypto of ours; its RTP toward us then authenticates) or declines it
    (RTP/AVP without a=crypto; its RTP toward us then cleartext). ``mode`` is the SRTPMode the DUT claims: a DUT in
    Required mode (which Lync never sends such an offer) may also refuse with 488."""
    routed = route(trace, spec)
    ours = stimulus(trace, "INVITE", spec.test_id, spec.caller_ip)
    if ours is None:
        raise_missing("our INVITE")
    a_final = None
    if not isinstance(routed, Finding):
        _, a, theirs, b = routed
        a_final = a.final()
    else:
        a = leg_of(trace, ours)
        a_final = a.final()
    if a_final is not None and a_final.msg.status == 488 and mode == "required":
        return [passed("SRTP-03", "SRTP-03", "M", "488 to an RTP/AVP offer with a=crypto from a DUT in SRTPMode "
                       "Required (Lync in that mode never sends one)", a_final.frame)]
    if isinstance(routed, Finding):
        return [routed]
    out = [route_held(theirs, spec)]
    if a_final is None or a_final.msg.status != 200:
        return out + [violation("SRTP-03", "SRTP-03", "M", f"200 OK to our RTP/AVP offer with a=crypto (frame "
                                f"{ours.frame}; SRTPMode {mode})", _status(a_final),
                                a_final.frame if a_final else None)]
    offer, answer = _audio(ours), _audio(a_final)
    if answer is None:
        return out + [violation("SRTP-03", "SRTP-03", "M", "an audio answer", "none", a_final.frame)]
    if answer.proto.upper() == "RTP/SAVP":
        crypto, found = _answered_crypto(offer, answer, a_final.frame)
        out.append(passed("SRTP-03", "SRTP-03", "M", "encryption accepted: RTP/SAVP answer", a_final.frame))
        out += found
        if crypto is not None:
            out += srtp_media(trace, a_final, ours, crypto, rtcp=False, req="SRTP-03")
    elif answer.crypto:
        out.append(violation("SRTP-03", "SRTP-03", "M", "RTP/SAVP with a=crypto (encryption accepted) or RTP/AVP "
                             "without a=crypto (declined)", f"{answer.proto} with {len(answer.crypto)} a=crypto",
                             a_final.frame))
    else:
        out.append(passed("SRTP-03", "SRTP-03", "M", "encryption declined: RTP/AVP answer without a=crypto",
                          a_final.frame))
        out += _clear_media(trace, a_final, ours)
    out += _cleared(a, b, spec, "caller", out)
    return out


def _clear_media(trace: Trace, dut: SipPacket, ours: SipPacket) -> list[Finding]:
    """After an RTP/AVP answer the DUT's RTP toward us is plain (what the answer says it is)."""
    src, dst, a_ours = _addr(dut), _addr(ours), _audio(ours)
    streams = [s for s in trace.rtp if s.src == src and s.dst == dst and a_ours and s.dport == a_ours.port]
    n = sum(s.packets for s in streams)
    if n < MIN_RTP_PACKETS:
        return [violation("SRTP-03", ["SRTP-03", "MED-01"], "M", f"RTP from {src} to {dst} after the RTP/AVP "
                          "answer", f"{n} packets", dut.frame)]
    clear = all(s.looks_cleartext_g711 for s in streams)
    if not clear:
        return [violation("SRTP-03", "SRTP-03", "M", "cleartext G.711 as the RTP/AVP answer says",
                          "encrypted-looking payloads", streams[0].first_frame)]
    return [passed("SRTP-03", "SRTP-03", "M", f"{n} cleartext RTP packets to {dst} as answered",
                   streams[0].first_frame)]


@check
def unsupported_suite_refused(trace: Trace, *, spec: CallSpec, mode: str, suite: str) -> list[Finding]:
    """TC-SRTP-05: our RTP/SAVP offer carries only ``suite``, which the DUT does not claim: in SRTPMode Required it
    refuses with 488 (SRTP-07) and leaves no call up toward the far end; in Optional mode it may instead fall back
    to RTP/AVP without a=crypto. Never an answer with a suite we did not offer (RFC4568-02)."""
    ours = stimulus(trace, "INVITE", spec.test_id, spec.caller_ip)
    if ours is None:
        raise_missing("our INVITE")
    a = leg_of(trace, ours)
    final = a.final()
    offered = f"RTP/SAVP with only {suite} (frame {ours.frame})"
    if final is None:
        return [violation("SRTP-07", ["SRTP-07", "SRTP-02"], "R", f"488 to our offer {offered}", "no final response")]
    out = []
    if final.msg.status == 488:
        out.append(passed("SRTP-07", ["SRTP-07", "SRTP-02"], "R", f"488 {final.msg.reason} to our offer {offered}",
                          final.frame))
    elif final.msg.status == 200 and mode == "optional":
        answer = _audio(final)
        if answer is not None and answer.proto.upper() == "RTP/AVP" and not answer.crypto:
            out.append(passed("SRTP-07", ["SRTP-07", "SRTP-02"], "R", "SRTPMode Optional: fell back to RTP/AVP "
                              "without a=crypto", final.frame))
        else:
            desc = f"m=audio {answer.proto} with {len(answer.crypto)} a=crypto" if answer else "no audio"
            out.append(violation("SRTP-07", ["SRTP-07", "RFC4568-02"], "R", "488, or RTP/AVP without a=crypto",
                                 desc, final.frame))
    else:
        out.append(violation("SRTP-07", ["SRTP-07", "SRTP-02"], "R", f"488 to our offer {offered}"
                             + (" (or an RTP/AVP fallback)" if mode == "optional" else ""), _status(final),
                             final.frame))
    # no half-open call: a far leg the DUT answered must be cleared unless our leg was answered
    theirs = dut_invite_toward(trace, spec.dut_out_ip, spec.callee_ip, spec.called, ours.time)
    if theirs is not None and final.msg.status != 200:
        b = leg_of(trace, theirs)
        b_ok = b.final()
        if b_ok is not None and b_ok.msg.status == 200 and not b.requests("BYE"):
            out.append(violation("SRTP-07", "SRTP-07", "R", "no call left up toward the far end after refusing ours",
                                 f"far leg answered (frame {b_ok.frame}) and never cleared", b_ok.frame))
    return out


@check
def no_crypto_on_tcp(trace: Trace, *, ms_ip: str, dut_ip: str, spec: CallSpec) -> list[Finding]:
    """TC-SRTP-07: on a TCP trunk no SDP the DUT sends the Mediation side carries a=crypto or RTP/SAVP (RFC4568-03:
    SDES keys only over TLS; SRTP-01: SRTPMode is NotSupported on TCP). ``spec``: an IN call, so the capture holds
    the DUT's own offer as well as its answers."""
    mine = [p for p in trace.sip if p.src == ms_ip and p.dst == dut_ip and _audio(p) is not None]
    if any(_audio(p).crypto for p in mine):
        raise_missing("an SDP of ours without a=crypto (our agents must not send keys on TCP)")
    theirs = [p for p in trace.sip if p.src == dut_ip and p.dst == ms_ip and _audio(p) is not None]
    offers = [p for p in theirs if p.msg.is_request and p.msg.method == "INVITE"]
    if not offers:
        routed = route(trace, spec)
        return [routed] if isinstance(routed, Finding) else raise_missing("the DUT's offer to the Mediation side")
    out = []
    for p in theirs:
        a = _audio(p)
        if a.crypto or a.proto.upper() == "RTP/SAVP":
            what = f"{len(a.crypto)} a=crypto ({', '.join(_line(c) for c in a.crypto)})" if a.crypto else a.proto
            out.append(violation("RFC4568-03", ["RFC4568-03", "SRTP-01"], "M", "no a=crypto and no RTP/SAVP in SDP "
                                 f"sent over {p.transport}", f"{what} in {p.msg.summary()}", p.frame))
    if not out:
        out.append(passed("RFC4568-03", ["RFC4568-03", "SRTP-01"], "M", f"{len(theirs)} SDP bodies from the DUT "
                          f"over {theirs[0].transport}, none with a=crypto or RTP/SAVP",
                          [p.frame for p in theirs][:4]))
    return out


REKEY_GRACE_PACKETS = 5       # TC-SRTP-06: packets in flight when the DUT switched keys, not judged
RELAYED_AFTER_REKEY = 20      # our SRTP the DUT decrypted with our newest key: relayed to the far end as RTP


def _seq_wrap(trace: Trace, src: str, dst: str, dport: int, after_frame: int) -> int | None:
    """The frame where the RTP sequence number of the flow wraps (65535 -> 0) after ``after_frame``."""
    prev = None
    for frame, data in udp_flow(trace.path, src, dst, dport):
        if frame <= after_frame or len(data) < 12:
            continue
        seq = int.from_bytes(data[2:4], "big")
        if prev is not None and prev > 60000 and seq < 5000:
            return frame
        prev = seq
    return None


@check
def srtp_rekeyed(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-SRTP-06 (SRTP-04, RFC 4568 7.1.4): our caller's SDES SRTP call is held and resumed by re-INVITEs, each
    offering a new key. Each answer is RTP/SAVP with one a=crypto of an offered tag; after the resume the DUT's SRTP to
    us authenticates with the key of its resume answer (libsrtp, the first :data:`REKEY_GRACE_PACKETS` in flight
    excepted), across the RTP sequence wrap our agents arrange after the resume (rollover counter, RFC 3711 3.3.1);
    and our SRTP sent with our resume key reaches the far end as RTP (the DUT decrypted it), at least
    :data:`RELAYED_AFTER_REKEY` packets after the resume answer."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, theirs, b = routed
    offers, answers = [], []
    for p in a.requests("INVITE"):
        if p.src == spec.caller_ip and p.msg.cseq and all(o.msg.cseq.seq != p.msg.cseq.seq for o in offers):
            offers.append(p)
    if len(offers) < 3:
        raise_missing(f"our three offers (call, hold, resume; the capture shows {len(offers)})")
    out: list[Finding] = []
    for what, offer in zip(("initial offer", "hold", "resume"), offers):
        ok = next((r for r in a.responses("INVITE") if r.src == spec.dut_in_ip and r.msg.status and
                   r.msg.status >= 200 and r.msg.cseq and r.msg.cseq.seq == offer.msg.cseq.seq), None)
        if ok is None or ok.msg.status != 200:
            return out + [violation("SRTP-04", ["SRTP-04", "RFC3261-20"], "M", f"200 OK to our {what} (frame "
                                    f"{offer.frame}) with a new key", _status(ok), ok.frame if ok else offer.frame)]
        o, ans = _audio(offer), _audio(ok)
        if ans is None or ans.proto.upper() != "RTP/SAVP":
            return out + [violation("SRTP-04", ["SRTP-04", "SRTP-01"], "M", f"an RTP/SAVP answer to our {what}",
                                    f"m=audio {ans.proto}" if ans else "no audio", ok.frame)]
        crypto, found = _answered_crypto(o, ans, ok.frame)
        out += [f for f in found if not f.ok]
        if crypto is None:
            return out
        answers.append((ok, crypto, offer))
    ok, crypto, offer = answers[-1]
    out.append(passed("RFC4568-02", ["RFC4568-02", "SRTP-04"], "M", "each of our three offers (call, hold, resume; "
                      f"keys {', '.join(_line(_audio(x[2]).crypto[0]) for x in answers)}) answered RTP/SAVP with "
                      f"one a=crypto: {', '.join(_line(x[1]) for x in answers)}; the DUT's own key "
                      + ("new in each answer" if len({key_of(x[1]) for x in answers}) == len(answers) else
                         "kept" if len({key_of(x[1]) for x in answers}) == 1 else "changed once"),
                      [x[0].frame for x in answers]))
    a_ours, src, dst = _audio(offer), _addr(ok), _addr(offer)
    if a_ours is None or src is None or dst is None:
        return out + [violation("SRTP-04", "SRTP-04", "M", "media addresses in both SDPs", "none", ok.frame)]
    skip = [f for f, _d in udp_flow(trace.path, src, dst, a_ours.port) if f > ok.frame][:REKEY_GRACE_PACKETS]
    after = skip[-1] if len(skip) == REKEY_GRACE_PACKETS else ok.frame
    try:
        res = verify_flow(trace.path, src, dst, a_ours.port, crypto, after_frame=after)
    except SrtpUnavailable as e:
        raise_missing(str(e))
    what = (f"the DUT's SRTP to {dst}:{a_ours.port} after the resume authenticated with the key of its resume "
            f"answer {_line(crypto)} (frame {ok.frame})")
    wrap = _seq_wrap(trace, src, dst, a_ours.port, after)
    roc = f"; its sequence number wrapped at frame {wrap} (rollover counter 1)" if wrap else \
        "; no sequence wrap in it"
    if res is None or res.packets == 0:
        out.append(violation("SRTP-04", ["SRTP-04", "RFC3711-01"], "M", what, "no packets after the resume",
                             ok.frame))
    elif res.cleartext or res.failed:
        frame, why = res.first_bad
        out.append(violation("SRTP-04", ["SRTP-04", "RFC3711-01"], "M", f"{what}, every packet",
                             f"{res.summary()}; first: {why}{roc}", frame))
    elif res.authenticated < MIN_RTP_PACKETS:
        out.append(violation("SRTP-04", ["SRTP-04", "RFC3711-01"], "M", f"{what}: at least {MIN_RTP_PACKETS}",
                             res.summary(), res.first_frame))
    else:
        out.append(passed("SRTP-04", ["SRTP-04", "RFC3711-01"], "M", f"{what}: {res.summary()}{roc}",
                          [res.first_frame] + ([wrap] if wrap else [])))
    # our SRTP with our resume key, decrypted by the DUT: relayed to the far end as RTP after the resume answer
    mine = [s for s in trace.rtp if s.src == spec.caller_ip and s.dst == spec.dut_in_ip]
    sent = sum(s.packets_between(ok.time + 0.2, s.last_time + 1) for s in mine)
    if sent < RELAYED_AFTER_REKEY:
        raise_missing(f"our SRTP after the resume ({sent} packets from {spec.caller_ip})")
    relayed = [s for s in trace.rtp if s.src == spec.dut_out_ip and s.dst == spec.callee_ip]
    n = sum(s.packets_between(ok.time + 0.3, s.last_time + 1) for s in relayed)
    what = (f"our SRTP after the resume ({sent} packets with our resume key, from the answer in frame {ok.frame}) "
            f"decrypted by the DUT and relayed to the far end as RTP: at least {RELAYED_AFTER_REKEY} packets")
    frames = [s.first_frame for s in relayed[:1]] or [ok.frame]
    if n < RELAYED_AFTER_REKEY:
        out.append(violation("SRTP-04", ["SRTP-04"], "M", what, f"{n} RTP packet(s) from the DUT to "
                             f"{spec.callee_ip} after it", frames))
    else:
        out.append(passed("SRTP-04", ["SRTP-04"], "M", f"{what}: {n}", frames))
    return out
