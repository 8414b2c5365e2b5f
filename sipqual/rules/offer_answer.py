"""SDP offer/answer rules: RFC 3264, RFC 3311 (UPDATE offers) and RFC 4568 (SDES crypto lines).

An answer is judged against the offer it answers in the same dialog on the same leg (see :mod:`sipqual.dialogs`),
only when the DUT is the answerer; an SDP's own content (hold address, crypto grammar) on every SDP the DUT sends.
"""

from __future__ import annotations

import base64
import binascii
import re

from ..dialogs import option_tags, sdp_body, sdp_content
from ..sdp import event_codes
from .registry import Scope, broken, held, rule
from .relay import relayed_from

#: RFC 3264 section 6.1: what an answer may say for each offered direction.
ANSWER_DIRECTIONS = {
    "sendrecv": {"sendrecv", "sendonly", "recvonly", "inactive"},
    "sendonly": {"recvonly", "inactive"},
    "recvonly": {"sendonly", "inactive"},
    "inactive": {"inactive"},
}

#: key||salt length in octets per crypto suite (RFC 4568 6.2, RFC 6188, RFC 7714).
KEY_SALT_OCTETS = {
    "AES_CM_128_HMAC_SHA1_80": 30, "AES_CM_128_HMAC_SHA1_32": 30, "F8_128_HMAC_SHA1_80": 30,
    "AES_192_CM_HMAC_SHA1_80": 38, "AES_192_CM_HMAC_SHA1_32": 38,
    "AES_256_CM_HMAC_SHA1_80": 46, "AES_256_CM_HMAC_SHA1_32": 46,
    "AEAD_AES_128_GCM": 28, "AEAD_AES_256_GCM": 44,
}
_CRYPTO_RE = re.compile(r"(\d{1,9}) ([A-Za-z0-9_]+) (\S+)((?: \S+)*)")
_KEY_PARAM_RE = re.compile(r"inline:([A-Za-z0-9+/]+={0,2})(?:\|(2\^\d+|\d+))?(?:\|(\d+:\d+))?")


def _dut_answer(x, model) -> bool:
    return x.answer is not None and x.answer.src in model.dut


def _pairs(x):
    """Offered and answered m= lines side by side (as many as both have)."""
    return list(zip(x.offer_sdp.media, x.answer_sdp.media))


@rule("RFC3264-01", "M", Scope.OFFER_ANSWER, "the answer has the offer's m= lines, same number, order and media "
      "type; a stream offered with port 0 is answered with port 0 (6, 8.2)")
def media_lines(x, model):
    """M for RFC3264-01..-03: an answer that does not fit its offer leaves a stream without media or one-way."""
    if not _dut_answer(x, model):
        return
    o, a = x.offer_sdp.media, x.answer_sdp.media
    where = f"(offer in frame {x.offer.frame})"
    want = f"{len(o)} m= lines {[m.kind for m in o]} as in the offer {where}"
    if [m.kind for m in o] != [m.kind for m in a]:
        yield broken(want, f"{len(a)} {[m.kind for m in a]}", x.answer.frame)
        return
    yield held(want, x.answer.frame)
    for i, (om, am) in enumerate(_pairs(x)):
        if om.port == 0:
            want = f"port 0 for m= line {i + 1} ({om.kind}), offered with port 0 {where}"
            yield held(want, x.answer.frame) if am.port == 0 else broken(want, f"port {am.port}", x.answer.frame)


def _codec(media, pt: str):
    """(encoding, clock) for an RTP payload type, or the format itself for non-RTP media."""
    mapping = media.rtpmap.get(int(pt)) if pt.isdigit() else None
    return (mapping[0].upper(), mapping[1]) if mapping else pt


#: formats that ride along a codec: an answer sharing only these with the offer has no media in common
AUXILIARY = {("TELEPHONE-EVENT", 8000), ("CN", 8000)}


@rule("RFC3264-02", "M", Scope.OFFER_ANSWER, "every accepted answered stream keeps at least one offered format, a "
      "codec rather than only telephone-event or CN when the offer had one (6.1)")
def answer_formats(x, model):
    """Formats the offer did not list are not a fault: RFC 3264 6.1 lets the answerer add them (real gear adds
    telephone-event or its whole codec list), they are just never used toward the offerer. The catalogue's stricter
    "answer codecs a subset of the offer" is therefore not applied; what the DUT then *sends* is judged on the wire
    by the media rules (RFC4733-06 for events)."""
    if not _dut_answer(x, model):
        return
    for i, (om, am) in enumerate(_pairs(x)):
        if am.port == 0:
            continue
        offered = {_codec(om, f) for f in om.formats}
        if offered - AUXILIARY:      # telephone-event or comfort noise alone carry no audio
            offered -= AUXILIARY
        common = [f for f in am.formats if _codec(am, f) in offered]
        want = f"m= line {i + 1} with a format from the offer (frame {x.offer.frame}): {om.formats}"
        yield held(want, x.answer.frame) if common else broken(want, f"{am.formats}", x.answer.frame)


@rule("RFC3264-03", "M", Scope.OFFER_ANSWER, "answer direction fits the offer: sendonly->recvonly/inactive, "
      "recvonly->sendonly/inactive, inactive->inactive (6.1)")
def directions(x, model):
    if not _dut_answer(x, model):
        return
    for i, (om, am) in enumerate(_pairs(x)):
        if am.port == 0 or om.port == 0:
            continue
        allowed = ANSWER_DIRECTIONS[om.direction]
        want = f"m= line {i + 1} answered {'/'.join(sorted(allowed))} to {om.direction} (frame {x.offer.frame})"
        yield held(want, x.answer.frame) if am.direction in allowed else broken(want, am.direction, x.answer.frame)


@rule("RFC3264-04", "M", Scope.DIALOG, "each new SDP in a dialog keeps the o= line but for a version one higher; an "
      "unchanged SDP keeps its version (8)")
def origin_versions(d, model):
    """M: a changed SDP under the old version is ignored by the peer (hold/resume and re-routing of media fail); an
    o= that changes identity reads as another session and may be refused."""
    for sender in sorted(d.leg & model.dut):      # sorted: findings in the same order on every run
        previous = None
        for p in d.packets:
            sdp = model.sdp(p)
            if p.src != sender or sdp is None or sdp.origin is None or model.is_retransmission(p):
                continue
            if previous is not None:
                yield from _compare_origin(previous, p, model)
            previous = p


def _compare_origin(prev, p, model):
    a, b = model.sdp(prev).origin, model.sdp(p).origin
    where = f"frame {prev.frame}"
    same_origin = (a.username, a.sess_id, a.nettype, a.addrtype, a.address) == \
                  (b.username, b.sess_id, b.nettype, b.addrtype, b.address)
    want = f"o= username, session id and address as in {where}"
    yield held(want, p.frame) if same_origin else broken(
        want, f"{b.username} {b.sess_id} {b.address} instead of {a.username} {a.sess_id} {a.address}", p.frame)
    if a.sess_version is None or b.sess_version is None:
        return
    if sdp_content(sdp_body(prev.msg)) == sdp_content(sdp_body(p.msg)):
        want = f"an unchanged SDP with version {a.sess_version} (as in {where})"
        ok = b.sess_version in (a.sess_version, a.sess_version + 1)
    else:
        want = f"a changed SDP with version {a.sess_version + 1} (one above {where})"
        ok = b.sess_version == a.sess_version + 1
    yield held(want, p.frame) if ok else broken(want, f"version {b.sess_version}", p.frame)


@rule("RFC3264-05", "R", Scope.MESSAGE, "hold by direction attributes, not by c=0.0.0.0 (8.4)")
def no_zero_connection(p, model):
    sdp = model.sdp(p)
    if sdp is None:
        return
    zero = [c for c in [sdp.connection, *(m.connection for m in sdp.media)] if c is not None and c.is_unspecified]
    want = "no c= with 0.0.0.0 in SDP"
    yield broken(want, f"c={zero[0].nettype} {zero[0].addrtype} {zero[0].address}", p.frame) if zero else \
        held(want, p.frame)


@rule("RFC3311-02", "M", Scope.DIALOG, "no UPDATE with an offer while an offer is outstanding in the dialog (5.1)")
def update_offer(d, model):
    """M: crossing offers are refused with 491 or leave both sides with different media states. An UPDATE the DUT
    relays (:func:`.relay.relayed_from`: a proxy, or a B2BUA passing an in-dialog request on at once) is the peers'
    offer: crossing offers are then glare between the peers, which the DUT cannot prevent; it is judged for passing
    the 491 back (TC-REL-03), not here."""
    for p in d.packets:
        m = p.msg
        if p.src not in model.dut or not m.is_request or m.method != "UPDATE" or model.sdp(p) is None:
            continue
        if model.is_retransmission(p):
            continue
        open_ = [x for x in d.exchanges if x.offer is not p and x.outstanding_at(p.time)]
        want = "no outstanding offer when sending an UPDATE with an offer"
        source = relayed_from(p, model) if open_ else None
        if source is not None:        # end-to-end glare between the peers: the DUT only relays (TC-REL-03)
            yield held(f"{want}: the offers crossing here are the peers' (the DUT relays the UPDATE of frame "
                       f"{source.frame}; the offer of frame {open_[0].offer.frame} is outstanding)", p.frame)
            continue
        yield broken(want, f"offer of frame {open_[0].offer.frame} unanswered", p.frame) if open_ else \
            held(want, p.frame)


@rule("RFC3311-03", "R", Scope.MESSAGE, "a DUT that uses UPDATE (sends one, or accepts one with 2xx) lists UPDATE "
      "in every Allow header it sends (RFC 3311 5.1; RFC 3261 20.5)")
def allow_lists_update(p, model):
    """Support is shown by behaviour in the same capture; a DUT that never uses UPDATE is not judged here (whether
    it should is a PICS question for the UPDATE suite)."""
    m = p.msg
    if not m.has("Allow"):
        return
    used = model.dut_update_use(p.src)
    if used is None:
        return
    want = f"UPDATE in Allow (the DUT uses UPDATE: frame {used.frame})"
    yield held(want, p.frame) if "update" in option_tags(m, "Allow") else \
        broken(want, f"Allow: {', '.join(m.values('Allow'))}", p.frame)


def _key_salt_octets(b64: str) -> int | None:
    try:
        return len(base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True))
    except (binascii.Error, ValueError):
        return None


@rule("RFC4568-01", "M", Scope.MESSAGE, "a=crypto:<tag> <suite> inline:<key||salt>[|lifetime][|MKI:len] "
      "[session-params], tag 1-9 digits, key||salt of the suite's length (9.1, 9.2)")
def crypto_grammar(p, model):
    """M for RFC4568-01..-03: a wrong crypto line or answer leaves SRTP undecryptable; keys sent in clear text are
    disclosed to anyone on the path."""
    sdp = model.sdp(p)
    if sdp is None:
        return
    for media in sdp.media:
        for value in media.attribute_values("crypto"):
            yield _crypto_line(value or "", p.frame)


def _masked(text: str) -> str:
    """Key material kept out of findings and the report (SDES keys are session secrets): ``inline:<key>``."""
    return re.sub(r"inline:[^|;\s]*", "inline:<key>", text)


def _crypto_line(value: str, frame: int):
    want = "a=crypto:<1-9 digit tag> <suite> inline:<base64 key||salt>[|lifetime][|MKI:len]"
    m = _CRYPTO_RE.fullmatch(value.strip())
    if not m:
        return broken(want, _masked(f"a=crypto:{value}"), frame)
    suite = m.group(2)
    for key_param in m.group(3).split(";"):
        k = _KEY_PARAM_RE.fullmatch(key_param)
        if not k:
            return broken(want, _masked(f"key parameter {key_param!r}"), frame)
        octets = _key_salt_octets(k.group(1))
        need = KEY_SALT_OCTETS.get(suite.upper())
        if octets is None or (need is not None and octets != need):
            return broken(f"{need or 'a base64'} octets of key||salt for {suite}",
                          f"{octets if octets is not None else 'invalid base64'} in {_masked(key_param)}", frame)
    return held(want, frame)


@rule("RFC4568-02", "M", Scope.OFFER_ANSWER, "the answer has exactly one a=crypto per accepted SRTP stream, with "
      "the tag and suite of an offered line (5.1.2)")
def crypto_answer(x, model):
    if not _dut_answer(x, model):
        return
    for i, (om, am) in enumerate(_pairs(x)):
        offered = {(c.tag, c.suite) for c in om.crypto}
        if am.port == 0 or not offered or "SAVP" not in am.proto.upper():
            continue
        answered = [(c.tag, c.suite) for c in am.crypto]
        want = f"one a=crypto on m= line {i + 1} with an offered tag and suite {sorted(offered)} " \
               f"(frame {x.offer.frame})"
        ok = len(answered) == 1 and answered[0] in offered
        yield held(want, x.answer.frame) if ok else broken(want, str(answered or "none"), x.answer.frame)


@rule("RFC4568-03", "M", Scope.MESSAGE, "SDES keys (a=crypto) only in signalling protected by TLS (8.3)")
def crypto_over_tls(p, model):
    sdp = model.sdp(p)
    if sdp is not None and any(m.crypto for m in sdp.media):
        want = "a=crypto only over TLS"
        yield held(want, p.frame) if p.transport == "TLS" else broken(want, f"a=crypto over {p.transport}", p.frame)


# ---- RFC 4733 in SDP ------------------------------------------------------------------------------------------------

def telephone_event(media) -> tuple[int, str | None] | None:
    """(PT, fmtp) of the first telephone-event/8000 format listed on the m= line."""
    for f in media.formats:
        mapped = media.rtpmap.get(int(f)) if f.isdigit() else None
        if mapped and mapped[0].lower() == "telephone-event" and mapped[1] == 8000:
            return int(f), media.fmtp.get(int(f))
    return None


def _event_list_problem(spec: str | None) -> str | None:
    """What is wrong with a telephone-event fmtp value (RFC 4733 section 7.1.1: comma-separated event codes and
    ranges, each code 0-255, ranges ascending), or None."""
    codes = event_codes(spec)
    if codes is None:
        return "not a list of event codes and ranges"
    for part in (spec or "").split(","):
        lo, dash, hi = part.strip().partition("-")
        if dash and int(hi) < int(lo):
            return f"descending range {part.strip()}"
    if codes and max(codes) > 255:
        return f"event code {max(codes)} above 255"
    return None


@rule("RFC4733-01", "M", Scope.MESSAGE, "where the DUT's SDP lists telephone-event, a=rtpmap:<pt> "
      "telephone-event/<rate> and an a=fmtp:<pt> event list of codes 0-255 and ascending ranges (RFC 4733 7.1.1)")
def telephone_event_grammar(p, model):
    """The RFC half of DTMF in SDP: grammar only, when the DUT lists telephone-event. Whether it must list it in
    every offer is the Lync profile's MED-03 (rules/lync.py), not an RFC requirement. Severity M: a peer that cannot
    parse the event list rejects the SDP (488) or drops DTMF."""
    sdp = model.sdp(p)
    if sdp is None:
        return
    for i, media in enumerate(sdp.media):
        for pt, (encoding, rate, *_) in sorted(media.rtpmap.items()):
            if encoding.lower() != "telephone-event" or str(pt) not in media.formats:
                continue
            spec = media.fmtp.get(pt)
            want = f"a valid telephone-event event list on m= line {i + 1} (PT {pt})"
            problem = _event_list_problem(spec)
            yield broken(want, f"a=fmtp:{pt} {spec} ({problem})", p.frame) if problem else \
                held(f"{want}: {spec or 'no fmtp (0-15)'} at {rate} Hz", p.frame)
