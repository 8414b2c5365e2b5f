"""Checks of suites FEA, E911 and FAX: DTMF keyed into a Lync conference or voicemail relayed as RFC 4733 events,
escalation to a conference by a media retarget, a PIDF-LO location passed on byte for byte, a T.38 re-INVITE the
Mediation side refuses (the call stays in G.711) and fax in G.711 pass-through."""

from __future__ import annotations

from urllib.parse import unquote

from ..recording import check
from ..sdp import Sdp
from ..sipvalues import _parse_params, parse_name_addr, split_unquoted
from ..trace import SipPacket, Trace
from ..verdict import Finding, passed, violation
from .common import CallSpec, number_matches, raise_missing, route, sdp_of
from .em import _DTMF, _digits
from .hld import _final, park_retrieve, reinvites
from .med import dtmf_relayed

#: a relayed digit must last at least this long (RTP clock units at 8 kHz: 40 ms, the shortest digit a DTMF receiver
#: must recognise, ITU-T Q.24) and at least half what our caller keyed
MIN_DIGIT_SAMPLES = 320
MIN_MEDIA_PACKETS = 25    # 0.5 s of 20 ms packets after the T.38 refusal: the G.711 call goes on


# ---- TC-FEA-01 / TC-FEA-02: call history on a call back out to the PSTN (ID-02, NUM-05) -----------------------------

def _entries(p: SipPacket, header: str) -> list[tuple[str, str | None]]:
    """(the entry as sent, its URI's user part) for every comma-separated entry of ``header``."""
    out = []
    for v in p.msg.values(header):
        for item in split_unquoted(v, ","):
            if item.strip():
                na = parse_name_addr(item)
                out.append((item.strip(), na.uri.user if na.uri is not None else None))
    return out


@check
def call_history_passed(trace: Trace, *, spec: CallSpec, diverter: str, caller: str) -> list[Finding]:
    """TC-FEA-01, TC-FEA-02 (ID-02, NUM-05): the Mediation side calls back out to the PSTN for an inbound call
    (forwarding, simultaneous ring) with the call history Lync forwards (History-Info, and Diversion when
    forwarding). The DUT must not refuse it for that history (400, 420, 488) and should map it toward its network:
    the forwarding user's number ``diverter`` in a History-Info or Diversion entry of its INVITE to the far end (a
    carrier without it may reject a forwarded call). The calling number it presents (the original PSTN caller
    ``caller``, or another) is recorded."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, theirs, _b = routed
    if not any(number_matches(user, diverter) for _, user in _entries(ours, "History-Info")):
        raise_missing(f"our History-Info naming {diverter} (frame {ours.frame})")
    out = []
    final = a.final(src=spec.dut_in_ip)
    if final is not None and final.msg.status in (400, 420, 488):
        out.append(violation("ID-02", "ID-02", "R", "the call with History-Info accepted (no 400, 420 or 488)",
                             f"{final.msg.status} {final.msg.reason}", final.frame))
    found = [(h, e) for h in ("History-Info", "Diversion") for e, user in _entries(theirs, h)
             if number_matches(user, diverter)]
    if found:
        out.append(passed("ID-02", "ID-02", "R", f"the forwarding number {diverter} passed on toward the PSTN: " +
                          "; ".join(f"{h}: {e}" for h, e in found[:2]), theirs.frame))
    else:
        present = [h for h in ("History-Info", "Diversion") if theirs.msg.has(h)]
        out.append(violation("ID-02", "ID-02", "R", f"the forwarding number {diverter} as History-Info or Diversion "
                             f"on the DUT's INVITE to the far end (redirecting information)",
                             f"{' and '.join(present)} without it" if present else "neither header", theirs.frame))
    frm = theirs.msg.from_
    pai = [user for _, user in _entries(theirs, "P-Asserted-Identity")]
    user = frm.uri.user if frm is not None and frm.uri is not None else None
    shown = "the original caller" if number_matches(user, caller) or any(number_matches(u, caller) for u in pai) \
        else "another number"
    out.append(passed("NUM-05", "NUM-05", "I", f"calling number toward the PSTN: {user} ({shown}; the Mediation "
                      f"side sent {caller})" + (f", P-Asserted-Identity {pai}" if pai else ""), theirs.frame))
    return out


# ---- TC-FEA-04 / TC-FEA-06: DTMF after the answer (MED-03) -------------------------------------------------------------

@check
def ivr_digits(trace: Trace, *, spec: CallSpec, digits: str) -> list[Finding]:
    """TC-FEA-04, TC-FEA-06 (MED-03): once the call is answered the caller keys ``digits`` (a conference PIN, a
    voicemail menu choice) as RFC 4733 events. Delivered as TC-DTMF-01 judges it (:func:`~sipqual.checks.med.
    dtmf_relayed`: every digit, in order, as RFC 4733 events), and, because an IVR has to recognise them, each
    relayed digit with its end packet (E bit, RFC 4733 2.5.1.3; without it the receiver only guesses when the
    digit ended) and a duration of at least 40 ms and half what the caller sent (a digit cut short is missed by
    Exchange UM and the conferencing IVR)."""
    out = dtmf_relayed.__wrapped__(trace, spec=spec, digits=digits, from_caller=True)
    if not (out and out[0].ok):
        return out
    want = [_DTMF[d] for d in digits.upper()]
    events = trace.media.events()
    sent = [e for e in events if e.stream.src == spec.caller_ip and e.stream.dst == spec.dut_in_ip]
    got = [e for e in events if e.stream.src == spec.dut_out_ip and e.stream.dst == spec.callee_ip]
    # pair each wanted digit with its relayed event and ours, in order
    mine, theirs, it_s, it_g = [], [], iter(sent), iter(got)
    for w in want:
        mine.append(next(e for e in it_s if e.code == w))
        theirs.append(next(e for e in it_g if e.code == w))
    no_end = [(m, t) for m, t in zip(mine, theirs) if t.end_count == 0]
    if no_end:
        t = no_end[0][1]
        out.append(violation("RFC4733-END", "MED-03", "M", "every relayed digit ended by an end packet (E bit)",
                             f"digit {_digits([t.code])} without one ({len(t.frames)} packets, durations up to "
                             f"{t.duration})", t.first_frame))
    else:
        out.append(passed("RFC4733-END", "MED-03", "M", f"all {len(theirs)} relayed digits ended by an end packet "
                          f"(E bit; {min(t.end_count for t in theirs)}-{max(t.end_count for t in theirs)} each)",
                          [t.end_frames[0] for t in theirs]))
    short = [(m, t) for m, t in zip(mine, theirs) if t.duration < max(MIN_DIGIT_SAMPLES, m.duration // 2)]
    if short:
        m, t = short[0]
        out.append(violation("RFC4733-DURATION", "MED-03", "M", f"each relayed digit lasting at least "
                             f"{max(MIN_DIGIT_SAMPLES, m.duration // 2)} samples (40 ms, and half of ours)",
                             f"digit {_digits([t.code])} relayed with duration {t.duration} (we sent {m.duration}, "
                             f"frame {m.first_frame})", t.first_frame))
    else:
        out.append(passed("RFC4733-DURATION", "MED-03", "M", "relayed digit durations " +
                          ", ".join(f"{_digits([t.code])}={t.duration}" for t in theirs) + " (ours " +
                          ", ".join(str(m.duration) for m in mine) + ")", theirs[0].first_frame))
    return out


# ---- TC-FEA-05: escalation to a conference by re-INVITE (XFR-02) ---------------------------------------------------

@check
def conference_escalation(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-FEA-05 (XFR-02): REFER disabled, Lync escalates the call to a conference with re-INVITEs: a hold while the
    conference is set up, then a=sendrecv with the conference's media port. Judged as TC-HLD-06 (every answer in
    the RFC 3264 direction; the DUT's RTP follows to the new port), and the retarget summed up as XFR-02."""
    out = park_retrieve.__wrapped__(trace, spec=spec)
    moved = [f for f in out if f.rule == "HLD-06"]
    if moved:
        f = moved[0]
        text = f.message.split(": ", 1)[-1]
        out.append(Finding("XFR-02", ["XFR-02"], "R", f"XFR-02: the call moved to the conference's media: {text}"
                           if f.ok else f"XFR-02: {text}", f.frames, f.ok))
    return out


# ---- TC-E911-01: PIDF-LO passed byte for byte (E911-01) ---------------------------------------------------------------

def _boundary(p: SipPacket) -> str | None:
    ctype = p.msg.get("Content-Type") or ""
    kind, _, params = ctype.partition(";")
    if not kind.strip().lower().startswith("multipart/"):
        return None
    b = _parse_params(";" + params).get("boundary")
    return b.strip('"') if b else None


def body_parts(p: SipPacket) -> list[tuple[dict[str, str], bytes]] | None:
    """The parts of a multipart body (RFC 2046 5.1.1): (lower-case header name -> value, body bytes); None when the
    message is not multipart. The CRLF before each delimiter belongs to the delimiter, not to the part."""
    boundary = _boundary(p)
    if boundary is None:
        return None
    delim = b"--" + boundary.encode()
    body = p.msg.body
    chunks = body.split(b"\r\n" + delim)
    first = chunks[0]
    if first.startswith(delim):        # no preamble: the body opens with the first delimiter
        chunks[0] = first[len(delim):]
    else:
        chunks = chunks[1:]
    parts = []
    for chunk in chunks:
        if chunk.startswith(b"--"):    # the close delimiter
            break
        chunk = chunk.split(b"\r\n", 1)[1] if b"\r\n" in chunk else b""
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, content = b"", chunk[2:] if chunk.startswith(b"\r\n") else chunk
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers.setdefault(name.strip().lower(), value.strip())
        parts.append((headers, content))
    return parts


def _content_id(value: str | None) -> str | None:
    return value.strip().strip("<>").strip() if value else None


def _geolocation_cids(p: SipPacket) -> list[str]:
    """The Content-IDs the Geolocation header values reference (RFC 6442 cid: URIs, RFC 2392: %-decoded)."""
    out = []
    for v in p.msg.values("Geolocation"):
        for item in split_unquoted(v, ","):
            item = item.strip()
            uri = item[item.find("<") + 1:item.find(">")] if "<" in item and ">" in item else item.split(";")[0]
            scheme, colon, rest = uri.strip().partition(":")
            if colon and scheme.lower() == "cid":
                out.append(unquote(rest))
    return out


def _pidf(parts: list[tuple[dict[str, str], bytes]] | None) -> tuple[dict[str, str], bytes] | None:
    for headers, content in parts or []:
        if headers.get("content-type", "").split(";")[0].strip().lower() == "application/pidf+xml":
            return headers, content
    return None


def _first_difference(a: bytes, b: bytes) -> str:
    n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return (f"{len(b)} bytes instead of {len(a)}, first difference at byte {n}: ours {a[n:n + 16]!r}, relayed "
            f"{b[n:n + 16]!r}")


@check
def pidf_unchanged(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-E911-01 (E911-01): the Mediation side's emergency INVITE carries a multipart/mixed body with the SDP offer
    and a PIDF-LO (application/pidf+xml, Content-ID) referenced by Geolocation (cid:), with Geolocation-Routing. An
    SBC toward the E9-1-1 provider must pass the PIDF-LO part on byte for byte (the SDP part it may rewrite), the
    Geolocation header referencing a part of the body it sends, Geolocation-Routing unchanged; the call is
    answered."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, theirs, _b = routed
    mine = _pidf(body_parts(ours))
    if mine is None or not _geolocation_cids(ours):
        raise_missing(f"our multipart INVITE with a PIDF-LO and Geolocation (frame {ours.frame})")
    my_headers, my_pidf = mine
    parts = body_parts(theirs)
    relayed = _pidf(parts)
    out: list[Finding] = []
    if relayed is None:
        kinds = [h.get("content-type", "?") for h, _ in parts] if parts is not None else \
            [theirs.msg.get("Content-Type") or "no body"]
        return [violation("E911-01", "E911-01", "O", f"the PIDF-LO (application/pidf+xml, {len(my_pidf)} bytes, "
                          f"frame {ours.frame}) in the DUT's INVITE to the far end", f"a body of {kinds}",
                          theirs.frame)]
    headers, pidf = relayed
    if pidf != my_pidf:
        out.append(violation("E911-01", "E911-01", "O", f"the PIDF-LO passed on byte for byte ({len(my_pidf)} bytes, "
                             f"frame {ours.frame})", _first_difference(my_pidf, pidf), theirs.frame))
    else:
        out.append(passed("E911-01", "E911-01", "O", f"the PIDF-LO passed on byte for byte ({len(pidf)} bytes)",
                          [ours.frame, theirs.frame]))
    cid = _content_id(headers.get("content-id"))
    refs = _geolocation_cids(theirs)
    if cid is None or cid not in refs:
        out.append(violation("E911-GEOLOCATION", "E911-01", "O", "a Geolocation header (RFC 6442) referencing the "
                             f"relayed PIDF-LO's Content-ID {cid or '(none)'}",
                             f"Geolocation {theirs.msg.values('Geolocation') or 'absent'}", theirs.frame))
    else:
        out.append(passed("E911-GEOLOCATION", "E911-01", "O", f"Geolocation references the relayed PIDF-LO "
                          f"(cid:{cid})", theirs.frame))
    want_routing = [v.strip().lower() for v in ours.msg.values("Geolocation-Routing")]
    got_routing = [v.strip().lower() for v in theirs.msg.values("Geolocation-Routing")]
    if want_routing != got_routing:
        out.append(violation("E911-GEOLOCATION", "E911-01", "O", f"Geolocation-Routing {want_routing} passed on",
                             f"{got_routing or 'none'}", theirs.frame))
    final = a.final(src=spec.dut_in_ip)
    if final is None or final.msg.status != 200:
        out.append(violation("CALL-UP", "E911-01", "O", "the emergency call answered (200 to our INVITE)",
                             f"{final.msg.status} {final.msg.reason}" if final else "no final response",
                             final.frame if final else ours.frame))
    return out


# ---- TC-FAX-01: T.38 re-INVITE refused, the call stays G.711 (FAX-01) ---------------------------------------------------

def _image(p: SipPacket | None) -> Sdp | None:
    """The SDP of ``p`` when it offers or accepts T.38 (an m=image stream with a non-zero port)."""
    s = sdp_of(p)
    if s is not None and any(m.kind.lower() == "image" and m.port for m in s.media):
        return s
    return None


def _rtp_after(trace: Trace, src: str, dst: str, start: float, end: float,
               dport: int | None = None) -> tuple[int, list[int]]:
    streams = [s for s in trace.rtp if s.src == src and s.dst == dst and (dport is None or s.dport == dport)]
    n = sum(s.packets_between(start, end) for s in streams)
    pts = sorted({pt for s in streams if s.packets_between(start, end) for pt in s.payload_types})
    return n, pts


def _audio_port(p: SipPacket | None) -> int | None:
    s = sdp_of(p)
    return s.audio.port if s is not None and s.audio is not None else None


@check
def t38_refused(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-FAX-01 (FAX-01, informative): the caller (a PSTN fax gateway) re-INVITEs to T.38 (m=image udptl t38); the
    Mediation Server does not handle T.38 and refuses with 488. The DUT must not accept T.38 on a G.711-only trunk
    (a 2xx accepting m=image to the caller, whether or not it passed the re-INVITE on), must pass a refusal back,
    must not tear the call down, and G.711 RTP must go on both ways after the refusal until the caller hangs up."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, _theirs, b = routed
    ours = [p for p in reinvites(a, spec.caller_ip) if _image(p) is not None]
    if not ours:
        raise_missing(f"our T.38 re-INVITE (m=image) from {spec.caller_ip}")
    t38 = ours[0]
    answer = _final(a, t38)
    passed_on = [p for p in reinvites(b, spec.dut_out_ip) if p.time >= t38.time and _image(p) is not None]
    refusal = _final(b, passed_on[0]) if passed_on else None
    how = (f"the Mediation side answered {refusal.msg.status} (frame {refusal.frame})" if refusal is not None else
           "passed on to the Mediation side (frame {})".format(passed_on[0].frame) if passed_on else
           "never passed on to the Mediation side")
    if answer is None:
        return [violation("FAX-01", "FAX-01", "I", f"a final response to our T.38 re-INVITE (frame {t38.frame})",
                          f"none ({how})", t38.frame)]
    if answer.msg.status and 200 <= answer.msg.status < 300 and _image(answer) is not None:
        return [violation("FAX-01", "FAX-01", "I", "T.38 refused on a G.711-only trunk (the Mediation Server does "
                          "not handle T.38)", f"{answer.msg.status} accepting m=image to our re-INVITE ({how})",
                          [t38.frame, answer.frame])]
    out = [passed("FAX-01", "FAX-01", "I", f"the T.38 re-INVITE (frame {t38.frame}) refused: {answer.msg.status} "
                  f"{answer.msg.reason} to the caller; {how}", [t38.frame, answer.frame])]
    byes = [p for p in a.requests("BYE") + b.requests("BYE") if p.time >= t38.time]
    ours_bye = [p for p in byes if p.src == spec.caller_ip]
    early = [p for p in byes if p.src in (spec.dut_in_ip, spec.dut_out_ip)
             and (not ours_bye or p.time < ours_bye[0].time)]
    if early:
        out.append(violation("FAX-01", "FAX-01", "I", "the call kept after the refused T.38 re-INVITE",
                             f"a BYE from the DUT to {early[0].dst}", early[0].frame))
        return out
    if not ours_bye:
        raise_missing("our BYE after the refused T.38 re-INVITE")
    start, end = answer.time + 0.2, ours_bye[0].time
    for src, dst, what in ((spec.caller_ip, spec.dut_in_ip, "our caller"), (spec.callee_ip, spec.dut_out_ip,
                                                                             "our callee")):
        n, _ = _rtp_after(trace, src, dst, start, end)
        if n < MIN_MEDIA_PACKETS:
            raise_missing(f"{what}'s G.711 RTP after the refusal ({n} packets from {src})")
    # the G.711 session the refusal keeps: the caller's offer and the callee's answer before the T.38 re-INVITE
    ports = {spec.caller_ip: _audio_port(a.invite), spec.callee_ip: _audio_port(b.final(src=spec.callee_ip))}
    for src, dst in ((spec.dut_out_ip, spec.callee_ip), (spec.dut_in_ip, spec.caller_ip)):
        n, pts = _rtp_after(trace, src, dst, start, end, dport=ports[dst])
        elsewhere = [s for s in trace.rtp if s.src == src and s.dst == dst and s.dport != ports[dst]
                     and s.packets_between(start, end)]
        want = (f"G.711 RTP from the DUT to {dst}:{ports[dst]} (the G.711 session's port) after the refusal until "
                f"our BYE (frame {ours_bye[0].frame})")
        if n < MIN_MEDIA_PACKETS or any(pt not in (0, 8, 13, 101) for pt in pts):
            seen = f"{n} packets, PT {pts}" + "".join(
                f"; {s.packets_between(start, end)} packets to port {s.dport} instead (from frame {s.first_frame})"
                for s in elsewhere[:2])
            out.append(violation("FAX-01-MEDIA", ["FAX-01", "MED-02"], "I", want, seen, answer.frame))
        else:
            out.append(passed("FAX-01-MEDIA", ["FAX-01", "MED-02"], "I", f"{want}: {n} packets, PT {pts}",
                              answer.frame))
    return out


# ---- TC-FAX-02: fax in G.711 pass-through (FAX-01) -----------------------------------------------------------------

@check
def g711_passthrough(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-FAX-02 (FAX-01, informative): an analog fax device's call stays in G.711 end to end: the DUT never offers
    T.38 (a re-INVITE or UPDATE with m=image) on either leg (the Mediation Server does not handle T.38), so the fax
    tones pass in the G.711 RTP that :func:`sipqual.checks.basic_call` judges."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, _theirs, b = routed
    sent = [p for leg in (a, b) for m in ("INVITE", "UPDATE") for p in leg.requests(m)
            if p.src in (spec.dut_in_ip, spec.dut_out_ip) and p.msg.to and p.msg.to.tag and _image(p) is not None]
    if sent:
        return [violation("FAX-01", "FAX-01", "I", "the fax call kept in G.711 (no T.38 offer from the DUT: the "
                          "Mediation Server does not handle T.38)", f"an {sent[0].msg.method} offering T.38 to "
                          f"{sent[0].dst}", sent[0].frame)]
    return [passed("FAX-01", "FAX-01", "I", "no T.38 offer from the DUT on either leg: the fax call stayed in G.711",
                   a.invite.frame)]

