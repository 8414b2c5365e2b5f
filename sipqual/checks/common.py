"""What every active check shares: the suite's own stimuli found by marker, legs on each side of the DUT, the call
spec, and the one way to say "our stimulus is missing" (ERROR) versus "the DUT's omission explains it" (FAIL).

Legs are correlated by what the suite itself controls, never by what only a proxy preserves: the suite's own
requests carry an ``X-Sipqual-Test`` marker; the DUT's request on the other leg is found by the dialled number and by
time (it must follow the suite's request); its dialog is then followed by its own Call-ID and tags. That works the
same for a proxy, for topology hiding and for a B2BUA with new Call-IDs, tags and CSeqs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..recording import spec_type
from ..sdp import Sdp, parse_sdp
from ..trace import SipPacket, Trace
from ..verdict import Finding, passed, violation

MARKER = "X-Sipqual-Test"
MIN_RTP_PACKETS = 25          # 0.5 s of 20 ms packets: enough to call a direction "flowing"


def _digits(s: str | None) -> str:
    return "".join(ch for ch in (s or "") if ch.isdigit())


def number_matches(user: str | None, number: str) -> bool:
    """A DUT may rewrite the number's format (drop '+', add a prefix); the subscriber digits must survive."""
    d, want = _digits(user), _digits(number)
    return bool(d) and bool(want) and (d.endswith(want[-7:]) or want.endswith(d))


@dataclass
class Leg:
    """One dialog on one side of the DUT as seen in the capture."""

    invite: SipPacket
    messages: list[SipPacket]

    @property
    def call_id(self) -> str:
        return self.invite.msg.call_id or ""

    def responses(self, method: str = "INVITE") -> list[SipPacket]:
        return [p for p in self.messages if not p.msg.is_request and p.msg.cseq_method == method]

    def final(self, method: str = "INVITE", src: str | None = None) -> SipPacket | None:
        """The first final response to ``method`` on this leg (sent by ``src`` when given)."""
        finals = [p for p in self.responses(method) if p.msg.status and p.msg.status >= 200
                  and (src is None or p.src == src)]
        return finals[0] if finals else None

    def requests(self, method: str) -> list[SipPacket]:
        return [p for p in self.messages if p.msg.is_request and p.msg.method == method]


def leg_of(trace: Trace, invite: SipPacket) -> Leg:
    """The dialog of ``invite`` on its own leg only: same Call-ID *and* between the same two addresses (a proxy
    keeps the Call-ID on both legs; the other leg must not leak in)."""
    ends = {invite.src, invite.dst}
    msgs = [p for p in trace.sip if p.msg.call_id == invite.msg.call_id and {p.src, p.dst} == ends
            and p.time >= invite.time - 0.001]
    return Leg(invite, msgs)


def stimulus(trace: Trace, method: str, test_id: str, src: str) -> SipPacket | None:
    """The suite's own request, found by its marker header (the first one, not a retransmission)."""
    for p in trace.requests(method):
        if p.src == src and p.msg.get(MARKER) == test_id:
            return p
    return None


def dut_invite_toward(trace: Trace, dut_ip: str, peer_ip: str, number: str, after: float) -> SipPacket | None:
    """The DUT's INVITE on the other leg for the call the suite placed: same called number, sent afterwards."""
    for p in trace.requests("INVITE"):
        if p.src == dut_ip and p.dst == peer_ip and p.time >= after:
            m = p.msg
            ruser = m.request_uri.user if m.request_uri else None
            tuser = m.to.uri.user if m.to and m.to.uri else None
            if number_matches(ruser, number) or number_matches(tuser, number):
                return p
    return None


def sdp_of(p: SipPacket | None) -> Sdp | None:
    if p is None or not p.msg.body:
        return None
    ctype = (p.msg.get("Content-Type") or "").split(";")[0].strip().lower()
    return parse_sdp(p.msg.body) if ctype == "application/sdp" else None


class StimulusMissing(Exception):
    """The suite's own stimulus is not in the capture: we could not test (ERROR, not FAIL)."""


def raise_missing(what: str):
    raise StimulusMissing(f"{what} is not in the capture: the stimulus was never sent, so nothing can be judged")


def stop_unless_explained(found: list[Finding], what: str) -> None:
    """Our agent did not do ``what`` (its BYE, its RTP, ...). When a DUT fault already in ``found`` explains it
    (the agent was waiting for something the DUT never sent: an ACK, a relayed 180), that fault is the verdict and
    the caller stops judging here; otherwise we could not test, and :class:`StimulusMissing` says so (ERROR)."""
    if not any(not f.ok for f in found):
        raise_missing(what)


@spec_type
@dataclass
class CallSpec:
    """Where the call enters and leaves the DUT, from the suite's point of view."""

    test_id: str
    caller_ip: str          # our agent that places the call
    callee_ip: str          # our agent that answers
    dut_in_ip: str          # DUT address facing the caller
    dut_out_ip: str         # DUT address facing the callee
    called: str
    callee_port: int | None = None        # the port the DUT must send to (TRN-03), if prescribed
    callee_transports: tuple[str, ...] = ()   # transports allowed toward the callee (TRN-01)
    codec_pt: int | None = None           # the one G.711 payload type the caller offers: the codec on the wire on
                                          # both legs (MED-01); None: any G.711 from the offer


def route(trace: Trace, spec: CallSpec) -> tuple[SipPacket, Leg, SipPacket, Leg] | Finding:
    """Our INVITE and its leg, and the DUT's INVITE toward the callee and its leg; a CALL-ROUTE violation when the
    DUT never sent the call on."""
    ours = stimulus(trace, "INVITE", spec.test_id, spec.caller_ip)
    if ours is None:
        raise_missing("our INVITE")
    a = leg_of(trace, ours)
    theirs = dut_invite_toward(trace, spec.dut_out_ip, spec.callee_ip, spec.called, ours.time)
    if theirs is None:
        final = a.final()
        seen = f"{final.msg.status} {final.msg.reason} on the first leg (frame {final.frame})" if final else \
            "nothing on the far leg and no final response"
        return violation("CALL-ROUTE", ["TRN-01"], "M", f"an INVITE from the DUT to {spec.callee_ip} for "
                         f"{spec.called} after frame {ours.frame}", seen)
    return ours, a, theirs, leg_of(trace, theirs)


def route_held(theirs: SipPacket, spec: CallSpec) -> Finding:
    return passed("CALL-ROUTE", ["TRN-01"], "M", f"DUT relayed the call to {spec.callee_ip} as "
                  f"{theirs.msg.request_uri.raw if theirs.msg.request_uri else '?'}", theirs.frame)


def status_text(p: SipPacket | None) -> str:
    return f"{p.msg.status} {p.msg.reason}" if p is not None else "no final response"


def answered_call(trace: Trace, spec: CallSpec):
    """Our call through the DUT (:func:`route`) and the DUT's 200 to our INVITE: ``(ours, a, theirs, b, ok, out)``
    with ``out`` the findings so far, or a list of findings to return as they are when the call was not routed or
    not answered 200."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, theirs, b = routed
    out = [route_held(theirs, spec)]
    ok = a.final(src=spec.dut_in_ip)
    if ok is None or ok.msg.status != 200:
        out.append(violation("CALL-ANSWER", "RFC3261-20", "M", f"200 OK to our INVITE (frame {ours.frame}) once the "
                             "far end answered", status_text(ok), ok.frame if ok else None))
        return out
    return ours, a, theirs, b, ok, out
