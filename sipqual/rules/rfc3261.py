"""RFC 3261 (SIP core) rules, requirements.md section 3.

Each judges what the DUT sent, alone or against what the DUT received on the *same* leg (same Call-ID, CSeq and top
Via branch), never how the DUT relates its two legs, so they hold for proxies and B2BUAs alike. Where a clause is about
requests a UA *originates* (contiguous CSeq), it is judged on requests with a single Via: a proxy forwards requests
with the originator's Via below its own, and must not be blamed for the originator's numbers. The one exception is
Max-Forwards (RFC3261-04), which is exactly about how a relay treats the request it relays.

Severity (requirements.md gives the clause's; each rule documents its own): M where the deviation breaks transaction
or dialog matching, call setup or teardown on a Mediation Server (responses are matched by top Via branch + CSeq,
dialogs by Call-ID + tags); R or I where it is a letter-of-the-RFC deviation nothing on the Mediation side depends
on. A rule that judges both kinds gives each finding its own severity. URIs are compared by RFC 3261 section 19.1.4
(:mod:`sipqual.uri`), never as text.
"""

from __future__ import annotations

import ipaddress
import re

from ..dialogs import is_reliable, leg_of, sdp_body
from ..uri import name_addr_equal, uri_equal
from .registry import Scope, broken, held, rule
from .relay import paired_calls, relayed_from

MANDATORY_REQUEST_HEADERS = ("To", "From", "CSeq", "Call-ID", "Max-Forwards", "Via")
OPTIONS_HEADERS = ("Allow", "Accept", "Accept-Encoding", "Accept-Language", "Supported")
MAX_CSEQ = 2 ** 31
T1 = 0.5


def _norm(value: str | None) -> str:
    return " ".join((value or "").split())


def _originated(m) -> bool:
    return len(m.vias) == 1


@rule("RFC3261-01", "M", Scope.MESSAGE, "every request carries To, From, CSeq, Call-ID, Max-Forwards and Via (8.1.1)")
def mandatory_headers(p, model):
    """M for To, From, CSeq, Call-ID and Via (nothing can be matched or answered without them); R when only
    Max-Forwards is missing (a proxy adds it, a UAS does not need it: RFC 3261 16.3 step 3, 8.2)."""
    m = p.msg
    if m.is_request:
        want = f"To, From, CSeq, Call-ID, Max-Forwards and Via in {m.method}"
        missing = [h for h in MANDATORY_REQUEST_HEADERS if not m.has(h)]
        severity = "R" if missing == ["Max-Forwards"] else None
        yield broken(want, f"{', '.join(missing)} missing", p.frame, severity=severity) if missing else \
            held(want, p.frame)


@rule("RFC3261-02", "M", Scope.MESSAGE, "From tag in requests (8.1.1.3); To tag in every response but 100 (8.2.6.2)")
def tags(p, model):
    """M: tags identify the dialog; without them a Mediation Server cannot match in-dialog requests or forks."""
    m = p.msg
    if m.is_request and m.from_ is not None:
        want = f"a From tag in {m.method}"
        yield held(want, p.frame) if m.from_.tag else broken(want, "none", p.frame)
    elif m.is_response and m.status != 100 and m.to is not None:
        want = f"a To tag in {m.status} response"
        yield held(want, p.frame) if m.to.tag else broken(want, "none", p.frame)


@rule("RFC3261-03", "M", Scope.TRANSACTION, "Via branch starts with z9hG4bK and is unique per transaction; CANCEL "
      "and the ACK for a non-2xx final reuse the INVITE's branch (8.1.1.7, 9.1, 17.1.1.3)")
def branch(t, model):
    """M: the branch is what transactions are matched by (17.1.3, 17.2.3); without the magic cookie a peer falls
    back to RFC 2543 matching, a reused branch mixes two transactions, a CANCEL with another branch cancels nothing."""
    if t.client not in model.dut or not t.request.msg.vias:
        return
    p = t.request
    b = t.branch
    want = "top Via branch starting with z9hG4bK"
    yield held(want, p.frame) if t.request.msg.vias[0].has_magic_cookie else broken(want, f"branch={b!r}", p.frame)
    if t.method in ("CANCEL", "ACK"):
        inv = model.invite_for(p)
        if inv is None or (t.method == "ACK" and (inv.final is None or inv.final.msg.status < 300)):
            return                      # the ACK for a 2xx is a new transaction: RFC3261-10
        want = f"{t.method} with the branch of its INVITE (frame {inv.request.frame}) {inv.branch!r}"
        yield held(want, p.frame) if b == inv.branch else broken(want, repr(b), p.frame)
        return
    want = "a new branch for each new transaction"
    earlier = [u for u in model.new_branch_transactions(t.client, b) if u is not t
               and u.request.time <= p.time and u.request.frame != p.frame]
    if earlier:
        yield broken(want, f"branch {b!r} reused from frame {earlier[0].request.frame}", p.frame)
        return
    first = p.msg
    reused = [r for r in t.requests if (r.msg.call_id, r.msg.cseq) != (first.call_id, first.cseq)]
    for r in reused:
        yield broken(want, f"branch {b!r} reused from frame {p.frame}", r.frame)
    if not reused:
        yield held(want, p.frame)


@rule("RFC3261-04", "R", Scope.MESSAGE, "Max-Forwards 70 in requests the DUT originates (8.1.1.6); in requests it "
      "relays (proxy: same Call-ID and CSeq; B2BUA: the same called number) at least one below the received value "
      "(16.6 step 3; RFC 7332 loop detection)")
def max_forwards(p, model):
    """R: 70 is a SHOULD; a relay that does not decrement lets a routing loop between the Mediation pool and the DUT
    run on, which only costs resources until a timer ends it. Not judged: a request with several Vias whose incoming
    copy is not in the capture (relayed from a leg the capture does not show), and a B2BUA's ACK (its own on each
    leg, or relayed: the capture cannot tell)."""
    m = p.msg
    if not (m.is_request and m.has("Max-Forwards")):
        return
    value = m.max_forwards
    source = relayed_from(p, model)
    if source is not None and source.msg.max_forwards is not None:
        limit = source.msg.max_forwards - 1
        want = (f"Max-Forwards at most {limit} in a {m.method} relayed from the {source.msg.method} of frame "
                f"{source.frame} (Max-Forwards {source.msg.max_forwards})")
        yield held(want, source.frame, p.frame) if value is not None and value <= limit else \
            broken(want, repr(m.get("Max-Forwards")), p.frame)
        return
    if source is None and _originated(m) and not (m.method == "ACK" and paired_calls(m.call_id, model)):
        want = f"Max-Forwards: 70 in a {m.method} the DUT originates"
        yield held(want, p.frame) if value == 70 else broken(want, repr(m.get("Max-Forwards")), p.frame)


@rule("RFC3261-05", "M", Scope.MESSAGE, "CSeq is 'number method' with number below 2**31 and the request's method "
      "(8.1.1.5); in-dialog requests the sender originates go up by one in each direction (12.2.1.1)")
def cseq(p, model):
    """M for a malformed CSeq, a wrong method and an in-dialog CSeq not above the previous one (the peer answers 500,
    12.2.2); R for a gap (the receiver accepts any higher number)."""
    m = p.msg
    if m.cseq is None:
        if m.has("CSeq"):
            yield broken("a valid CSeq (number method)", repr(m.get("CSeq")), p.frame)
        return
    if not m.is_request:
        return    # a response copies its request's CSeq, whatever it is (RFC3261-08 judges that)
    want = "CSeq number below 2**31"
    yield held(want, p.frame) if m.cseq.seq < MAX_CSEQ else broken(want, str(m.cseq.seq), p.frame)
    want = f"CSeq method {m.method}"
    yield held(want, p.frame) if m.cseq.method == m.method else broken(want, m.cseq.method, p.frame)
    d = model.dialog_of(p)
    if d is None or m.method in ("ACK", "CANCEL") or not _originated(m) or model.is_retransmission(p):
        return
    before = [q for q in d.packets[:d.packets.index(p)] if q.src == p.src and q.msg.is_request
              and q.msg.method not in ("ACK", "CANCEL") and q.msg.cseq]
    if before:
        prev = before[-1]
        want = f"CSeq {prev.msg.cseq.seq + 1} (one above frame {prev.frame}) in {m.method}"
        # a gap is tolerated by the receiver (12.2.2 only rejects lower numbers, with 500): R; lower or equal: M
        severity = "R" if m.cseq.seq > prev.msg.cseq.seq else None
        yield held(want, p.frame) if m.cseq.seq == prev.msg.cseq.seq + 1 else \
            broken(want, str(m.cseq.seq), p.frame, severity=severity)


@rule("RFC3261-06", "M", Scope.MESSAGE, "exactly one Contact URI in INVITE (8.1.1.8) and in dialog-creating "
      "responses: 2xx and 18x with a To tag (12.1.1)")
def contact(p, model):
    """M: the Contact is the remote target; without exactly one, in-dialog requests (ACK, BYE) cannot be routed."""
    m = p.msg
    dialog_creating = (m.is_request and m.method == "INVITE") or (
        m.is_response and m.cseq_method == "INVITE" and m.to is not None and m.to.tag
        and (200 <= m.status < 300 or 100 < m.status < 200))
    if dialog_creating:
        what = m.method if m.is_request else f"{m.status} to INVITE"
        uris = [c for c in m.contacts if not c.is_wildcard]
        want = f"exactly one Contact URI in {what}"
        yield held(want, p.frame) if len(uris) == 1 else broken(want, f"{len(uris) or 'none'}", p.frame)


_TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")


def _via_key(v, top: bool) -> tuple:
    """A Via as the response must copy it; the server may add received/rport to the top one (RFC 3261 18.2.1,
    RFC 3581), so those two are ignored there. A top Via whose parameters do not parse (a fuzz input's: a stray quote
    swallows the rest) is compared as text without them: the server's received/rport land wherever its own parser
    ends the Via, which says nothing about copying."""
    if top and any(not _TOKEN.match(k) for k in v.params):
        return ("text", re.sub(r";\s*(?:received=[^;,]*|rport(?:=\d+)?)", "", v.raw))
    params = {k: val for k, val in v.params.items() if not (top and k in ("received", "rport"))}
    return (v.protocol, v.transport, (v.host or "").lower(), v.port, tuple(sorted(params.items())))


@rule("RFC3261-08", "M", Scope.TRANSACTION, "responses copy the Via list, From, Call-ID and CSeq of the request "
      "(8.2.6.2)")
def response_copies(t, model):
    """M for the Via list, the From tag, Call-ID and CSeq: responses are matched to their transaction by top Via branch
    and CSeq, and to their dialog by Call-ID and tags. R for a From URI that is not equal (RFC 3261 19.1.4) to the
    request's, e.g. a port dropped: no matching uses it (the "MUST copy" is letter, not interoperability)."""
    if t.server not in model.dut:
        return
    r = t.request.msg
    src = f"(frame {t.request.frame})"
    for p in t.responses:
        m = p.msg
        problems = []
        if [_via_key(v, i == 0) for i, v in enumerate(m.vias)] != [_via_key(v, i == 0) for i, v in enumerate(r.vias)]:
            problems.append((f"the Via list of the request {r.values('Via')}", str(m.values("Via")), None))
        if m.from_ and r.from_ and m.from_.tag != r.from_.tag:
            problems.append((f"From tag {r.from_.tag!r}", repr(m.from_.tag), None))
        elif m.from_ and r.from_ and not name_addr_equal(m.from_, r.from_):
            problems.append((f"a From equal to the request's {r.get('From')!r}", repr(m.get("From")), "R"))
        if m.call_id != r.call_id:
            problems.append((f"Call-ID {r.call_id!r}", repr(m.call_id), None))
        if m.cseq != r.cseq:
            problems.append((f"CSeq {_norm(r.get('CSeq'))!r}", repr(_norm(m.get("CSeq"))), None))
        for want, got, severity in problems:
            yield broken(f"{want} copied from the request {src}", got, p.frame, severity=severity)
        if not problems:
            yield held(f"Via, From, Call-ID and CSeq copied from the request {src}", p.frame)


@rule("RFC3261-09", "M", Scope.TRANSACTION, "CANCEL has the INVITE's Request-URI, Call-ID, To, From and CSeq number, "
      "only after a provisional (9.1); a CANCEL matching a pending INVITE is answered 200 (9.2, 16.10)")
def cancel(t, model):
    """M for Call-ID, CSeq number, the To/From tags, a CANCEL before any provisional (it then races the INVITE and is
    answered 481, leaving the call up) and the 200: RFC 2543-style matching and many stacks identify the INVITE by
    them. R for a Request-URI or To/From URI that is not equal (19.1.4; 20.20: display names and brackets do not
    count): an RFC 3261 server matches a CANCEL by its branch (9.2, 17.2.3), never by those."""
    if t.method != "CANCEL":
        return
    p = t.request
    if t.client in model.dut:
        inv = model.invite_for(p)
        if inv is None:
            return
        i, c = inv.request.msg, p.msg
        src = f"(frame {inv.request.frame})"
        for name in ("To", "From"):
            a, b = (i.to, c.to) if name == "To" else (i.from_, c.from_)
            what = f"CANCEL {name} equal to the INVITE's {src}: {i.get(name)!r}"
            if a is not None and b is not None and a.tag != b.tag:
                yield broken(what, f"{c.get(name)!r} (tag {b.tag!r})", p.frame)
            elif a is not None and b is not None and not name_addr_equal(a, b):
                yield broken(what, repr(c.get(name)), p.frame, severity="R")
            else:
                yield held(what, p.frame)
        what = f"CANCEL Request-URI equal to the INVITE's {src}: {i.ruri!r}"
        yield held(what, p.frame) if uri_equal(i.ruri, c.ruri) else broken(what, repr(c.ruri), p.frame, severity="R")
        for name, want, got in (("Call-ID", i.call_id, c.call_id), ("CSeq number", i.cseq.seq, c.cseq.seq)):
            what = f"CANCEL {name} equal to the INVITE's {src}: {want!r}"
            yield held(what, p.frame) if want == got else broken(what, repr(got), p.frame)
        provisional = [r for r in inv.responses if r.msg.status < 200 and r.time <= p.time]
        what = f"CANCEL only after a provisional response to the INVITE {src}"
        yield held(what, provisional[0].frame, p.frame) if provisional else broken(what, "none before it", p.frame)
    if t.server in model.dut:
        inv = model.invite_cancelled_at(t)
        if inv is None:
            return
        for r in t.responses[:1]:
            what = f"200 to a CANCEL that matches the INVITE of frame {inv.request.frame}"
            yield held(what, r.frame) if r.msg.status == 200 else broken(what, str(r.msg.status), r.frame)


@rule("RFC3261-10", "M", Scope.TRANSACTION, "an ACK for each 2xx, with the INVITE's CSeq number and a new branch "
      "(13.2.2.4)")
def ack_2xx(t, model):
    """M for a missing ACK (the UAS retransmits, then tears the call down after 64*T1) and for an ACK with another
    CSeq number (it matches no 2xx); R for an ACK that reuses the INVITE's branch: the ACK for a 2xx is matched by
    dialog and CSeq, and even an RFC 6026 server in "Accepted" passes it to the core. A 2xx whose Via does not match
    the INVITE (RFC3261-08 blames its sender) is not one the DUT could match, so no ACK is demanded for it. Works
    when every sender is judged: the ACK is looked for from the INVITE's sender, on its leg."""
    if t.method != "INVITE" or t.client not in model.dut:
        return
    inv = t.request.msg
    for r in t.responses:
        if not 200 <= r.msg.status < 300 or r.src in model.device_of(t.client) or model.matched_loosely(r):
            continue
        tag = r.msg.to.tag if r.msg.to else None
        sent = [q for q in model.packets_with_call_id(inv.call_id) if q.src == t.client]
        acks = [q for q in sent if q.time >= r.time and q.msg.is_request and q.msg.method == "ACK"
                and leg_of(q) == t.leg and q.msg.to and q.msg.to.tag == tag]
        if not acks:
            later = [q for q in sent if q.time > r.time and leg_of(q) == t.leg and q.msg.is_request]
            if later or model.end_time - r.time >= 64 * T1:
                upstream = _relayed_unacknowledged(t, r, model)
                if upstream is not None:
                    yield held(f"no ACK demanded for the {r.msg.status} (frame {r.frame}): the DUT passed it on "
                               f"(frame {upstream.frame}) and was never acknowledged there", r.frame, upstream.frame)
                else:
                    yield broken(f"an ACK for the {r.msg.status} (frame {r.frame})", "none", r.frame)
            continue
        a = acks[0]
        want = f"ACK CSeq number {inv.cseq.seq} (the INVITE's, frame {t.request.frame})"
        yield held(want, a.frame) if a.msg.cseq and a.msg.cseq.seq == inv.cseq.seq else \
            broken(want, _norm(a.msg.get("CSeq")), a.frame)
        top = a.msg.vias[0].branch if a.msg.vias else None
        want = f"a new branch in the ACK for a 2xx, not the INVITE's {t.branch!r}"
        yield held(want, a.frame) if top != t.branch else broken(want, repr(top), a.frame, severity="R")


def _relayed_unacknowledged(t, r, model):
    """The 2xx the DUT sent on another leg within 2 s after receiving ``r`` (relaying it: a proxy, or a B2BUA
    passing the answer through) for which that leg's caller sent no ACK, or None. The ACK for a 2xx is end to end
    (RFC 3261 section 13.2.2.4): a device that relays it has none to send while its caller withholds it (TC-BAS-14),
    so its absence is the caller's doing, not the DUT's. Found by time, not Call-ID, so it holds for B2BUAs."""
    sent = model.memo.get("RFC3261-10/2xx")
    if sent is None:
        sent = model.memo["RFC3261-10/2xx"] = [p for p in model.sent if not p.msg.is_request
                                               and p.msg.cseq_method == "INVITE" and 200 <= p.msg.status < 300]
    device = model.device_of(t.client)
    for q in sent:
        if q.src not in device or leg_of(q) == t.leg or not r.time <= q.time <= r.time + 2:
            continue
        up = model.transaction_of(q)
        if up is None or up.server not in device:
            continue
        tag = q.msg.to.tag if q.msg.to else None
        inv = up.request.msg
        if not any(a.time >= q.time and (a.msg.to.tag if a.msg.to else None) == tag
                   for a in model.acks_from(up.leg, up.client, inv.call_id, inv.cseq.seq)):
            return q
    return None


T2 = 4.0
RETRANSMIT_TOLERANCE = 0.4     # each 2xx retransmission interval within ±40 % of the T1..T2 schedule
ACK_RACE = 0.05                # a retransmission this soon after the ACK may have been on its way already
CAPTURED_TWICE = 0.001         # the same bytes again this soon are one packet seen on two interfaces


@rule("RFC3261-11", "M", Scope.TRANSACTION, "a 2xx to INVITE that is retransmitted is resent at T1, 2T1, ... up to "
      "T2 intervals, stops at the ACK, stops after 64*T1 and is then followed by a BYE (13.3.1.4)")
def retransmit_2xx(t, model):
    """Passive part: judged only where the capture shows the DUT repeating a 2xx (status and To tag as before); the
    active test withholds the ACK. Applies on every transport (the UAS core, not the transaction, retransmits).
    Intervals are not judged once the client retransmitted its INVITE (a 2xx resent in answer to it is off the
    timer), nor at all when the DUT relays retransmissions of the same 2xx (same To tag) that it received on another
    leg, as a proxy does. Without an ACK, the DUT must send BYE by 64*T1 (+10 %) + T2 when the capture runs that long.
    Severity: M for the missing BYE (a call without ACK stays up on the Mediation Server); R for the schedule, and
    for retransmissions after the ACK or after 64*T1: they cost a few packets and change no state at the peer."""
    if t.method != "INVITE" or t.server not in model.dut:
        return
    by_tag: dict[str | None, list] = {}
    for r in t.responses:
        if 200 <= r.msg.status < 300:
            by_tag.setdefault(r.msg.to.tag if r.msg.to else None, []).append(r)
    inv = t.request.msg
    for tag, sent in by_tag.items():
        first, again = sent[0], []
        for r in sent[1:]:
            prev = again[-1] if again else first
            if model.is_retransmission(r) and not (r.time - prev.time < CAPTURED_TWICE and r.msg.raw == prev.msg.raw):
                again.append(r)
        if not again or _relayed_2xx(first, tag, model):
            continue
        acks = [a for a in model.acks_from(t.leg, t.client, inv.call_id, inv.cseq.seq)
                if a.time >= first.time and (a.msg.to.tag if a.msg.to else None) == tag]
        ack = acks[0] if acks else None
        invite_again = next((q.time for q in t.requests[1:] if q.time > first.time), None)
        prev = first
        for n, r in enumerate(again):
            if ack is not None and r.time > ack.time + ACK_RACE:
                yield broken(f"no {first.msg.status} retransmission after the ACK (frame {ack.frame})",
                             f"a retransmission {r.time - ack.time:.2f} s after it", r.frame, severity="R")
                break
            if r.time - first.time > 64 * T1 * 1.1:
                yield broken(f"no {first.msg.status} retransmission after 64*T1 ({64 * T1:.0f} s) from frame "
                             f"{first.frame}", f"one at +{r.time - first.time:.1f} s", r.frame, severity="R")
                break
            if invite_again is None or r.time < invite_again:
                step = min(T1 * 2 ** n, T2)
                gap = r.time - prev.time
                want = (f"a {first.msg.status} retransmission {step:g} s (±{RETRANSMIT_TOLERANCE:.0%}) after frame "
                        f"{prev.frame}")
                ok = abs(gap - step) <= RETRANSMIT_TOLERANCE * step
                yield held(want, r.frame) if ok else broken(want, f"{gap:.2f} s", r.frame, severity="R")
            prev = r
        if ack is not None:
            if not any(r.time > ack.time + ACK_RACE for r in again):
                yield held(f"no {first.msg.status} retransmission after the ACK", ack.frame)
            continue
        yield from _bye_after_2xx_timeout(t, first, tag, again[-1], model)


def _relayed_2xx(first, tag, model) -> bool:
    """The DUT received the same 2xx (same To tag and CSeq) more than once on another leg: it relays them."""
    device = model.device_of(first.src)
    got = [q for q in model.packets_with_call_id(first.msg.call_id) if q.dst in device and q.msg.is_response
           and leg_of(q) != leg_of(first) and q.msg.status == first.msg.status and q.msg.to
           and q.msg.to.tag == tag and q.msg.cseq == first.msg.cseq]
    return len(got) > 1


def _bye_after_2xx_timeout(t, first, tag, last, model):
    due = first.time + 64 * T1 * 1.1 + T2
    byes = [q for q in model.packets_with_call_id(first.msg.call_id) if q.src == t.server and leg_of(q) == t.leg
            and q.time > first.time and q.msg.is_request and q.msg.method == "BYE" and q.msg.from_
            and q.msg.from_.tag == tag]
    want = (f"a BYE within 64*T1 + T2 ({due - first.time:.0f} s) of the unacknowledged {first.msg.status} "
            f"(frame {first.frame})")
    if byes and byes[0].time <= due:
        yield held(want, byes[0].frame)
    elif byes:
        yield broken(want, f"BYE at +{byes[0].time - first.time:.0f} s", byes[0].frame)
    elif model.end_time > due:
        yield broken(want, f"none; the capture runs on to +{model.end_time - first.time:.0f} s", last.frame)


def _same_address(host: str | None, address: str) -> bool:
    """``host`` (an IP literal, bracketed or not, or a name) is the IP ``address``."""
    try:
        return ipaddress.ip_address((host or "").strip().strip("[]")) == ipaddress.ip_address(address)
    except ValueError:
        return False


@rule("RFC3261-19", "I", Scope.TRANSACTION, "a response to a request whose top Via sent-by is a name or another "
      "address than the packet's source carries received=<source address> in its top Via (18.2.1)")
def via_received(t, model):
    """The source address is the request's IP source in the capture; IP literals compare as addresses (IPv6 with or
    without brackets, any notation), a host name always differs. I: responses are routed back over the connection
    or to the source address anyway; received= only helps a later hop (requirements.md: informative)."""
    if t.server not in model.dut or not t.request.msg.vias:
        return
    req = t.request
    top = req.msg.vias[0]
    if not top.host or _same_address(top.host, req.src):
        return
    want = (f"received={req.src} in the top Via: the request's sent-by {top.host!r} (frame {req.frame}) is not its "
            "source address")
    for r in t.responses:
        vias = r.msg.vias
        got = vias[0].params.get("received") if vias else None
        yield held(want, r.frame) if _same_address(got, req.src) else \
            broken(want, f"received={got}" if got is not None else "no received", r.frame)


@rule("RFC3261-12", "R", Scope.TRANSACTION, "a response to INVITE within 200 ms, else 100 Trying (17.2.1)")
def trying(t, model):
    """R: without a quick 100 the Mediation side retransmits the INVITE (UDP) or starts its failover timer sooner."""
    if t.method != "INVITE" or t.server not in model.dut or not t.responses:
        return
    first = t.responses[0]
    delay = first.time - t.request.time
    want = f"a response within 200 ms of the INVITE (frame {t.request.frame})"
    yield held(want, first.frame) if delay <= 0.2 else broken(want, f"{first.msg.status} after {delay * 1000:.0f} ms",
                                                             first.frame)


@rule("RFC3261-13", "R", Scope.MESSAGE, "200 to OPTIONS lists Allow, Accept, Accept-Encoding, Accept-Language and "
      "Supported (11.2)")
def options_capabilities(p, model):
    """R: a SHOULD; the OPTIONS keep-alive works without the capability headers."""
    m = p.msg
    if m.is_response and m.status == 200 and m.cseq_method == "OPTIONS":
        missing = [h for h in OPTIONS_HEADERS if not m.has(h)]
        want = f"{', '.join(OPTIONS_HEADERS)} in 200 to OPTIONS"
        yield broken(want, f"{', '.join(missing)} missing", p.frame) if missing else held(want, p.frame)


@rule("RFC3261-17", "M", Scope.MESSAGE, "Content-Length present on TCP/TLS and equal to the body size (18.3, 20.14)",
      requirements=["TRN-09"])
def content_length(p, model):
    """M: on a stream transport Content-Length is the only message boundary; a missing or wrong one corrupts every
    following message on the connection."""
    m = p.msg
    if p.transport in ("TCP", "TLS") and not m.has("Content-Length"):
        yield broken(f"Content-Length on a {p.transport} message", "none", p.frame)
        return
    if not m.has("Content-Length"):
        return
    declared = m.content_length
    if declared is None:
        yield broken("a numeric Content-Length", repr(m.get("Content-Length")), p.frame)
    elif declared != len(m.body) and any("Content-Length" in d for d in m.defects):
        yield broken("Content-Length equal to the body size", f"Content-Length {declared}, body {len(m.body)} bytes",
                     p.frame)
    else:
        yield held("Content-Length equal to the body size", p.frame)


@rule("RFC3261-20", "M", Scope.TRANSACTION, "the answer (or, to an INVITE without SDP, the offer) is in the first "
      "reliable non-failure response; the 2xx starts no new offer; an offer in a 2xx/reliable 18x is answered in the "
      "ACK/PRACK (13.2.1, 13.3.1)")
def invite_offer_answer(t, model):
    """M: an answer or offer in the wrong message leaves the session without media (or with an offer never
    answered)."""
    if t.method != "INVITE":
        return
    if t.server in model.dut:
        yield from _uas_offer_answer(t, model)
    if t.client in model.dut:
        yield from _uac_answers(t, model)


def _uas_offer_answer(t, model):
    kind = "answer" if model.sdp(t.request) is not None else "offer"
    seen_tags = set()
    for r in t.responses:
        m = r.msg
        if model.is_retransmission(r) or not (200 <= m.status < 300 or is_reliable(m)):
            continue
        tag = m.to.tag if m.to else None
        body = sdp_body(m)
        if tag not in seen_tags:
            seen_tags.add(tag)
            want = f"the {kind} to the INVITE (frame {t.request.frame}) in the first reliable non-failure response"
            yield held(want, r.frame) if body is not None else broken(want, f"{m.status} without SDP", r.frame)
            continue
        d = model.dialog_of(r)
        if body is None or d is None:
            continue
        earlier = [q for q in d.packets[:d.packets.index(r)] if q.src == r.src and sdp_body(q.msg) is not None]
        if earlier:
            last = earlier[-1]
            want = f"no new offer in the {m.status}: the SDP last sent in frame {last.frame}"
            same = sdp_body(last.msg).strip() == body.strip()
            yield held(want, r.frame) if same else broken(want, "a different SDP", r.frame)


def _uac_answers(t, model):
    for x in model.exchanges_offered_in(t):
        o = x.offer
        if o.msg.is_request or o.src == t.client:
            continue
        method = "ACK" if o.msg.status >= 200 else "PRACK"
        d = x.dialog
        reply = next((q for q in d.packets[d.packets.index(o) + 1:] if q.src == t.client and q.msg.is_request
                      and q.msg.method == method), None)
        if reply is not None:
            want = f"the answer to the offer in the {o.msg.status} (frame {o.frame}) in the {method}"
            yield held(want, reply.frame) if sdp_body(reply.msg) is not None else \
                broken(want, f"{method} without SDP", reply.frame)

