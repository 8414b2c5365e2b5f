"""Passive RFC 3261 rules (requirements.md section 3), run on every SIP message the DUT sends in every test.

They hold for proxies and B2BUAs alike: each looks only at what one message must carry, or at how a response answers
the request the DUT received on the *same* leg (matched by top Via branch, Call-ID and CSeq), never at how the DUT
relates its two legs.
"""

from __future__ import annotations

from collections import defaultdict

from .trace import SipPacket, Trace
from .verdict import Finding, violation

MANDATORY_REQUEST_HEADERS = ("To", "From", "CSeq", "Call-ID", "Max-Forwards", "Via")
MAX_CSEQ = 2 ** 31


def _norm(value: str | None) -> str:
    return " ".join((value or "").split())


def _via_key(v, top: bool) -> tuple:
    """A Via as the response must copy it; the server may add received/rport to the top one (RFC 3261 18.2.1,
    RFC 3581), so those two are ignored there."""
    params = {k: val for k, val in v.params.items() if not (top and k in ("received", "rport"))}
    return (v.protocol, v.transport, (v.host or "").lower(), v.port, tuple(sorted(params.items())))


def check_request_headers(p: SipPacket) -> list[Finding]:
    m = p.msg
    if not m.is_request:
        return []
    missing = [h for h in MANDATORY_REQUEST_HEADERS if not m.has(h)]
    if missing:
        return [violation("RFC3261-01", "RFC3261-01", "M", f"To, From, CSeq, Call-ID, Max-Forwards and Via in "
                          f"{m.method}", f"{', '.join(missing)} missing", p.frame)]
    return []


def check_tags(p: SipPacket) -> list[Finding]:
    m = p.msg
    if m.is_request and m.from_ is not None and not m.from_.tag:
        return [violation("RFC3261-02", "RFC3261-02", "M", f"a From tag in {m.method}", "none", p.frame)]
    if not m.is_request and m.status != 100 and m.to is not None and not m.to.tag:
        return [violation("RFC3261-02", "RFC3261-02", "M", f"a To tag in {m.status} response", "none", p.frame)]
    return []


def check_branch(p: SipPacket) -> list[Finding]:
    m = p.msg
    if not m.is_request or not m.vias:
        return []
    top = m.vias[0]
    if not top.has_magic_cookie:
        return [violation("RFC3261-03", "RFC3261-03", "M", "top Via branch starting with z9hG4bK",
                          f"branch={top.branch!r}", p.frame)]
    return []


def check_cseq(p: SipPacket) -> list[Finding]:
    m = p.msg
    if m.cseq is None:
        return [violation("RFC3261-05", "RFC3261-05", "M", "a valid CSeq (number method)",
                          repr(m.get("CSeq")), p.frame)] if m.has("CSeq") else []
    out = []
    if m.cseq.seq >= MAX_CSEQ:
        out.append(violation("RFC3261-05", "RFC3261-05", "M", "CSeq number below 2**31", str(m.cseq.seq), p.frame))
    if m.is_request and m.cseq.method != m.method:
        out.append(violation("RFC3261-05", "RFC3261-05", "M", f"CSeq method {m.method}", m.cseq.method, p.frame))
    return out


def check_contact(p: SipPacket) -> list[Finding]:
    m = p.msg
    dialog_creating = (m.is_request and m.method == "INVITE") or (
        not m.is_request and m.cseq_method == "INVITE" and m.status is not None
        and (200 <= m.status < 300 or (100 < m.status < 200 and m.to is not None and m.to.tag)))
    if dialog_creating and not m.contacts:
        what = m.method if m.is_request else f"{m.status} to INVITE"
        return [violation("RFC3261-06", "RFC3261-06", "M", f"a Contact in {what}", "none", p.frame)]
    return []


def check_content_length(p: SipPacket) -> list[Finding]:
    m = p.msg
    body = len(m.body)
    if p.transport in ("TCP", "TLS") and not m.has("Content-Length"):
        return [violation("RFC3261-17", ["RFC3261-17", "TRN-09"], "M",
                          f"Content-Length on a {p.transport} message", "none", p.frame)]
    declared = m.content_length
    if m.has("Content-Length") and declared is None:
        return [violation("RFC3261-17", ["RFC3261-17", "TRN-09"], "M", "a numeric Content-Length",
                          repr(m.get("Content-Length")), p.frame)]
    if declared is not None and declared != body and any("Content-Length" in d for d in m.defects):
        return [violation("RFC3261-17", ["RFC3261-17", "TRN-09"], "M", "Content-Length equal to the body size",
                          f"Content-Length {declared}, body {body} bytes", p.frame)]
    return []


PER_MESSAGE = (check_request_headers, check_tags, check_branch, check_cseq, check_contact, check_content_length)


def check_response_copies(sent: list[SipPacket], received: list[SipPacket]) -> list[Finding]:
    """RFC 3261 section 8.2.6.2 / 16.7: a response carries the Via list, From, Call-ID and CSeq of its request."""
    out = []
    requests = defaultdict(list)
    for p in received:
        m = p.msg
        if m.is_request and m.vias and m.cseq:
            requests[(m.vias[0].branch, m.call_id, m.cseq.seq, m.cseq.method)].append(p)
    for p in sent:
        m = p.msg
        if m.is_request or not m.vias or m.cseq is None:
            continue
        reqs = requests.get((m.vias[0].branch, m.call_id, m.cseq.seq, m.cseq.method))
        if not reqs:
            # no request on this leg with the same branch, Call-ID and CSeq: either the CSeq or the Call-ID was
            # altered, or the request is not in the capture. Look for the branch alone to tell which.
            by_branch = [r for k, v in requests.items() if k[0] == m.vias[0].branch for r in v]
            if by_branch:
                r = by_branch[0].msg
                for name, got, want in (("CSeq", _norm(m.get("CSeq")), _norm(r.get("CSeq"))),
                                        ("Call-ID", m.call_id, r.call_id)):
                    if got != want:
                        out.append(violation("RFC3261-08", "RFC3261-08", "M",
                                             f"{name} copied from the request (frame {by_branch[0].frame}): {want!r}",
                                             repr(got), p.frame))
            continue
        r = reqs[0].msg
        if [_via_key(v, i == 0) for i, v in enumerate(m.vias)] != [_via_key(v, i == 0) for i, v in enumerate(r.vias)]:
            out.append(violation("RFC3261-08", "RFC3261-08", "M", f"the Via list of the request (frame "
                                 f"{reqs[0].frame})", f"{m.values('Via')}", p.frame))
        if m.from_ and r.from_ and (m.from_.tag != r.from_.tag or m.from_.uri_text != r.from_.uri_text):
            out.append(violation("RFC3261-08", "RFC3261-08", "M", f"From copied from the request (frame "
                                 f"{reqs[0].frame})", repr(m.get("From")), p.frame))
    return out


def check_branch_unique(sent: list[SipPacket]) -> list[Finding]:
    """One branch, one transaction: the same top-Via branch must not be reused for a different request
    (CANCEL and the ACK for a non-2xx final response legitimately reuse the INVITE's branch)."""
    seen: dict[str, tuple] = {}
    out = []
    for p in sent:
        m = p.msg
        if not m.is_request or not m.vias or m.cseq is None or m.method in ("ACK", "CANCEL"):
            continue
        b = m.vias[0].branch
        key = (m.call_id, m.cseq.seq, m.cseq.method)
        if b in seen and seen[b][0] != key:
            out.append(violation("RFC3261-03", "RFC3261-03", "M", "a new branch for each new transaction",
                                 f"branch {b!r} reused from frame {seen[b][1]}", p.frame))
        seen.setdefault(b, (key, p.frame))
    return out


def run_passive(trace: Trace, dut_addresses: set[str]) -> list[Finding]:
    """All passive rules on every message the DUT sent; returns violations only."""
    sent = [p for p in trace.sip if p.src in dut_addresses]
    received = [p for p in trace.sip if p.dst in dut_addresses]
    out: list[Finding] = []
    for p in sent:
        for rule in PER_MESSAGE:
            out.extend(rule(p))
    out.extend(check_response_copies(sent, received))
    out.extend(check_branch_unique(sent))
    return out
