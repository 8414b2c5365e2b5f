"""Transactions, dialogs and SDP offer/answer state, built from ``Trace.sip`` in one pass.

Why a model: most RFC clauses are about how one message relates to another (a response to its request, a CANCEL to
its INVITE, an answer to its offer, a re-INVITE's SDP to the previous one). Everything here is scoped to one *leg*,
the pair of addresses that exchanged the messages, because the DUT may be a proxy (same Call-ID and tags on both of
its legs) or a B2BUA (new Call-ID, tags and CSeq on the other leg): relating messages across legs would judge the
DUT by what the other side did.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cached_property

from .sdp import Sdp, parse_sdp
from .sipmsg import SipMessage
from .trace import SipPacket, Trace

Leg = frozenset  # the two IP addresses of a leg


def leg_of(p: SipPacket) -> Leg:
    return frozenset((p.src, p.dst))


def option_tags(m: SipMessage, header: str) -> set[str]:
    """Option tags of Supported/Require/... in any form (compact ``k:``, repeated lines, comma lists)."""
    return {v.strip().lower() for v in m.values(header)}


def is_reliable(m: SipMessage) -> bool:
    """A provisional response sent reliably (RFC 3262 section 3): Require: 100rel and an RSeq."""
    return (m.status is not None and 100 < m.status < 200 and "100rel" in option_tags(m, "Require")
            and m.has("RSeq"))


def _boundary(content_type: str) -> str | None:
    m = re.search(r';\s*boundary\s*=\s*("([^"]*)"|[^;\s]+)', content_type, re.I)
    return (m.group(2) if m.group(2) is not None else m.group(1)) if m else None


def sdp_body(m: SipMessage) -> bytes | None:
    """The SDP a message carries: the body itself, or the application/sdp part of a multipart body (RFC 5621)."""
    if not m.body:
        return None
    ctype = m.get("Content-Type") or ""
    media = ctype.split(";")[0].strip().lower()
    if media == "application/sdp":
        return m.body
    boundary = _boundary(ctype) if media.startswith("multipart/") else None
    if not boundary:
        return None
    for part in m.body.split(b"--" + boundary.encode())[1:]:
        head, sep, body = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            continue
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() in (b"content-type", b"c") and value.split(b";")[0].strip().lower() == \
                    b"application/sdp":
                return body.rstrip(b"\r\n") + b"\r\n"
    return None


def sdp_content(sdp_bytes: bytes) -> tuple[str, ...]:
    """SDP lines except o=: two descriptions with equal content are "unchanged" in the sense of RFC 3264 section 8."""
    lines = sdp_bytes.decode("utf-8", "replace").splitlines()
    return tuple(line.rstrip() for line in lines if line.strip() and not line.startswith("o="))


@dataclass(eq=False)
class Transaction:
    """One client/server transaction on one leg (RFC 3261 section 17): the request (and its retransmissions, or
    requests that wrongly reused its branch) and every response to it."""

    leg: Leg
    client: str
    server: str
    method: str
    requests: list[SipPacket] = field(default_factory=list)
    responses: list[SipPacket] = field(default_factory=list)

    @property
    def request(self) -> SipPacket:
        return self.requests[0]

    @property
    def final(self) -> SipPacket | None:
        return next((r for r in self.responses if r.msg.status >= 200), None)

    @property
    def branch(self) -> str | None:
        vias = self.request.msg.vias
        return vias[0].branch if vias else None


@dataclass(eq=False)
class Exchange:
    """One SDP offer and its answer (None while unanswered) in one dialog (RFC 3264)."""

    dialog: "Dialog"
    offer: SipPacket
    offer_sdp: Sdp
    answer: SipPacket | None = None
    answer_sdp: Sdp | None = None
    rejected: SipPacket | None = None   # the failure response that ended the offer's transaction

    @property
    def offerer(self) -> str:
        return self.offer.src

    def outstanding_at(self, time: float) -> bool:
        """Offer sent and neither answered nor rejected by ``time``."""
        closed = self.answer or self.rejected
        return self.offer.time < time and (closed is None or closed.time > time)


@dataclass(eq=False)
class Dialog:
    """A dialog or early dialog created by INVITE (Call-ID + both tags) on one leg, with the INVITE that created it
    first; ``packets`` excludes retransmissions."""

    leg: Leg
    call_id: str
    tags: frozenset
    packets: list[SipPacket] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)


def _branch_key(p: SipPacket):
    m = p.msg
    top = m.vias[0] if m.vias else None
    if top is not None and top.has_magic_cookie:
        return top.branch
    # RFC 2543 peers: no usable branch, so the transaction is identified by what the old matching rules used
    return ("rfc2543", m.call_id, m.cseq.seq if m.cseq else None, m.from_.tag if m.from_ else None)


class Model:
    """Everything the rules relate, built in one pass over the SIP messages in time order."""

    def __init__(self, trace: Trace, dut_addresses: set[str], every_sender: bool = False):
        self.dut = set(dut_addresses)
        self.every_sender = every_sender
        self.memo: dict = {}                    # per-capture results a rule computes once (keyed by the rule's ID)
        self._request_times: dict[tuple, list[float] | None] = {}
        self._loose: set[int] = set()           # responses matched to their request by Call-ID and CSeq only
        self._by_cseq: dict[tuple, Transaction] = {}
        self.packets = list(trace.sip)
        self.sent = [p for p in self.packets if p.src in self.dut]
        self.end_time = self.packets[-1].time if self.packets else 0.0
        self.transactions: dict[tuple, Transaction] = {}
        self.dialogs: dict[tuple, Dialog] = {}
        self._txn_of: dict[int, Transaction] = {}
        self._dialog_of: dict[int, Dialog] = {}
        self._retransmissions: set[int] = set()
        self._sdp: dict[int, Sdp | None] = {}
        for p in self.packets:
            if p.msg.cseq is None or not p.msg.call_id:
                continue
            self._add_to_transaction(p)
            self._add_to_dialog(p)
        for d in self.dialogs.values():
            self._offer_answer(d)

    # ---- queries -------------------------------------------------------------------------------------------------
    def device_of(self, address: str) -> set[str]:
        """The addresses of the device that uses ``address``: every DUT address (one DUT may have an address per
        side, as an SBC does), or, when every sender is judged as its own device, ``address`` alone."""
        if address in self.dut and not self.every_sender:
            return self.dut
        return {address}

    def matched_loosely(self, p: SipPacket) -> bool:
        """A response whose top Via branch matches no request on its leg, attached to the request with its Call-ID
        and CSeq: the server did not copy the Via (RFC3261-08), so its peer cannot match it either."""
        return id(p) in self._loose

    def transaction_of(self, p: SipPacket) -> Transaction | None:
        return self._txn_of.get(id(p))

    def dialog_of(self, p: SipPacket) -> Dialog | None:
        """The (first) dialog a message belongs to; an initial INVITE belongs to the first early dialog it created."""
        return self._dialog_of.get(id(p))

    def is_retransmission(self, p: SipPacket) -> bool:
        return id(p) in self._retransmissions

    def sdp(self, p: SipPacket) -> Sdp | None:
        if id(p) not in self._sdp:
            body = sdp_body(p.msg)
            self._sdp[id(p)] = parse_sdp(body) if body is not None else None
        return self._sdp[id(p)]

    @cached_property
    def dut_transactions(self) -> list[Transaction]:
        return [t for t in self.transactions.values() if t.client in self.dut or t.server in self.dut]

    @cached_property
    def dut_dialogs(self) -> list[Dialog]:
        return [d for d in self.dialogs.values() if d.leg & self.dut]

    @cached_property
    def dut_exchanges(self) -> list[Exchange]:
        return [x for d in self.dut_dialogs for x in d.exchanges]

    def dut_update_use(self, address: str) -> SipPacket | None:
        """The first message showing that the device sending from ``address`` implements UPDATE: an UPDATE it sent,
        or its 2xx to one."""
        return self._update_use.get(frozenset(self.device_of(address)))

    @cached_property
    def _update_use(self) -> dict[frozenset, SipPacket]:
        first: dict[frozenset, SipPacket] = {}
        for p in self.sent:
            m = p.msg
            if (m.is_request and m.method == "UPDATE") or (
                    m.is_response and m.cseq and m.cseq.method == "UPDATE" and 200 <= m.status < 300):
                first.setdefault(frozenset(self.device_of(p.src)), p)
        return first

    def invite_for(self, p: SipPacket) -> Transaction | None:
        """The INVITE transaction a CANCEL or ACK from the same sender on the same leg refers to: the same branch,
        else the same Call-ID and CSeq number (so a CANCEL with a wrong branch is still matched)."""
        m = p.msg
        top = m.vias[0].branch if m.vias else None
        leg = leg_of(p)
        same_branch = [t for t in self._invites_by_branch.get((leg, p.src, top), ()) if top
                       and t.request.time <= p.time]
        same_cseq = [t for t in self._invites_by_cseq.get((leg, p.src, m.call_id, m.cseq.seq), ())
                     if t.request.time <= p.time]
        found = same_branch or same_cseq
        return found[-1] if found else None

    def invite_cancelled_at(self, t: Transaction) -> Transaction | None:
        """The first INVITE transaction a received CANCEL transaction matches (RFC 3261 section 9.2): same leg, same
        server, same top Via branch."""
        found = self._invites_by_server_branch.get((t.leg, t.server, t.branch))
        return found[0] if found else None

    def new_branch_transactions(self, client: str, branch: str | None) -> list[Transaction]:
        """Transactions other than ACK and CANCEL that ``client`` started with top Via ``branch``, in order."""
        return self._new_branch_txns.get((client, branch), [])

    def packets_with_call_id(self, call_id: str | None) -> list[SipPacket]:
        """Every SIP message with this Call-ID, in capture order."""
        return self._by_call_id.get(call_id, [])

    def requests_to(self, address: str, method: str | None) -> list[SipPacket]:
        """Every ``method`` request sent to ``address``, in capture order."""
        return self._requests_to.get((address, method), [])

    def requests_to_between(self, address: str, method: str | None, start: float, end: float) -> list[SipPacket]:
        """The ``method`` requests sent to ``address`` with ``start <= time <= end``, in capture order."""
        found = self.requests_to(address, method)
        key = (address, method)
        if key not in self._request_times:
            times = [q.time for q in found]
            self._request_times[key] = times if times == sorted(times) else None
        times = self._request_times[key]
        if times is None:                   # a capture merged out of time order: scan
            return [q for q in found if start <= q.time <= end]
        return found[bisect_left(times, start):bisect_right(times, end)]

    def requests_from(self, address: str, method: str | None) -> list[SipPacket]:
        """Every ``method`` request sent from ``address``, in capture order."""
        return self._requests_from.get((address, method), [])

    def refers_notified_by(self, notify: SipPacket) -> list[SipPacket]:
        """The REFERs (no retransmissions) whose implicit subscription (RFC 3515 section 2.4.4) a NOTIFY may belong
        to: sent to the NOTIFY's sender on its leg before it, with its Call-ID and a From tag equal to its To tag."""
        m = notify.msg
        key = (leg_of(notify), notify.src, m.call_id, m.to.tag if m.to else None)
        return [r for r in self._refers_received.get(key, ()) if r.time <= notify.time]

    def acks_from(self, leg: Leg, sender: str, call_id: str | None, seq: int) -> list[SipPacket]:
        """Every ACK ``sender`` sent on ``leg`` with this Call-ID and CSeq number, in capture order."""
        return self._acks.get((leg, sender, call_id, seq), [])

    def exchanges_offered_in(self, t: Transaction) -> list[Exchange]:
        """The exchanges with a DUT end whose offer belongs to transaction ``t``, in ``dut_exchanges`` order."""
        return self._exchanges_by_txn.get(id(t), [])

    # ---- indexes -------------------------------------------------------------------------------------------------
    # Rules relate each item to a few others (a CANCEL to its INVITE, a PRACK to its 18x, ...). Looking those up by
    # key instead of scanning every transaction or packet keeps the analysis linear in the size of the capture. Each
    # list keeps the order of the collection it indexes, so the first/last match is the one a scan would find.
    def _invites_by(self, key) -> dict[tuple, list[Transaction]]:
        index: dict[tuple, list[Transaction]] = {}
        for t in self.transactions.values():
            if t.method == "INVITE":
                index.setdefault(key(t), []).append(t)
        return index

    @cached_property
    def _invites_by_branch(self) -> dict[tuple, list[Transaction]]:
        return self._invites_by(lambda t: (t.leg, t.client, t.branch))

    @cached_property
    def _invites_by_server_branch(self) -> dict[tuple, list[Transaction]]:
        return self._invites_by(lambda t: (t.leg, t.server, t.branch))

    @cached_property
    def _invites_by_cseq(self) -> dict[tuple, list[Transaction]]:
        return self._invites_by(lambda t: (t.leg, t.client, t.request.msg.call_id, t.request.msg.cseq.seq))

    @cached_property
    def _new_branch_txns(self) -> dict[tuple, list[Transaction]]:
        index: dict[tuple, list[Transaction]] = {}
        for t in self.transactions.values():
            if t.method not in ("ACK", "CANCEL"):
                index.setdefault((t.client, t.branch), []).append(t)
        return index

    def _packets_by(self, key, keep=lambda p: True) -> dict:
        """Every message ``keep`` accepts, listed under ``key(message)`` in capture order."""
        index: dict = {}
        for p in self.packets:
            if keep(p):
                index.setdefault(key(p), []).append(p)
        return index

    @cached_property
    def _by_call_id(self) -> dict[str | None, list[SipPacket]]:
        return self._packets_by(lambda p: p.msg.call_id)

    @cached_property
    def _requests_to(self) -> dict[tuple, list[SipPacket]]:
        return self._packets_by(lambda p: (p.dst, p.msg.method), lambda p: p.msg.is_request)

    @cached_property
    def _requests_from(self) -> dict[tuple, list[SipPacket]]:
        return self._packets_by(lambda p: (p.src, p.msg.method), lambda p: p.msg.is_request)

    @cached_property
    def _refers_received(self) -> dict[tuple, list[SipPacket]]:
        return self._packets_by(
            lambda p: (leg_of(p), p.dst, p.msg.call_id, p.msg.from_.tag if p.msg.from_ else None),
            lambda p: p.msg.is_request and p.msg.method == "REFER" and not self.is_retransmission(p))

    @cached_property
    def _acks(self) -> dict[tuple, list[SipPacket]]:
        return self._packets_by(lambda p: (leg_of(p), p.src, p.msg.call_id, p.msg.cseq.seq),
                                lambda p: p.msg.is_request and p.msg.method == "ACK" and p.msg.cseq)

    @cached_property
    def _exchanges_by_txn(self) -> dict[int, list[Exchange]]:
        index: dict[int, list[Exchange]] = {}
        for x in self.dut_exchanges:
            t = self.transaction_of(x.offer)
            if t is not None:
                index.setdefault(id(t), []).append(x)
        return index

    # ---- building ------------------------------------------------------------------------------------------------
    def _add_to_transaction(self, p: SipPacket) -> None:
        m = p.msg
        client = p.src if m.is_request else p.dst
        server = p.dst if m.is_request else p.src
        key = (leg_of(p), client, _branch_key(p), m.method if m.is_request else m.cseq.method)
        t = self.transactions.get(key)
        cseq_key = (leg_of(p), client, m.call_id, m.cseq.seq, m.cseq.method)
        if m.is_request:
            if t is None:
                t = self.transactions[key] = Transaction(leg_of(p), client, server, m.method)
            elif any(r.msg.cseq == m.cseq and r.msg.call_id == m.call_id for r in t.requests):
                self._retransmissions.add(id(p))
            t.requests.append(p)
            self._by_cseq[cseq_key] = t
        elif t is None and cseq_key in self._by_cseq:
            t = self._by_cseq[cseq_key]
            self._loose.add(id(p))
            t.responses.append(p)
        elif t is not None:
            if any(r.msg.status == m.status and (r.msg.to.tag if r.msg.to else None) == (m.to.tag if m.to else None)
                   and r.msg.get("RSeq") == m.get("RSeq") for r in t.responses):
                self._retransmissions.add(id(p))
            t.responses.append(p)
        if t is not None:
            self._txn_of[id(p)] = t

    def _add_to_dialog(self, p: SipPacket) -> None:
        m = p.msg
        ftag = m.from_.tag if m.from_ else None
        ttag = m.to.tag if m.to else None
        if not ftag or not ttag or self.is_retransmission(p):
            return
        key = (leg_of(p), m.call_id, frozenset((ftag, ttag)))
        d = self.dialogs.get(key)
        if d is None:
            t = self.transaction_of(p)
            if m.is_response and m.cseq.method == "INVITE" and t is not None:
                d = Dialog(leg_of(p), m.call_id, key[2], [t.request])
            elif m.is_request and m.method not in ("REGISTER", "OPTIONS", "MESSAGE", "PUBLISH"):
                d = Dialog(leg_of(p), m.call_id, key[2])   # the capture began inside this dialog
            else:
                return
            self.dialogs[key] = d
            for q in d.packets:
                self._dialog_of.setdefault(id(q), d)
        d.packets.append(p)
        self._dialog_of.setdefault(id(p), d)

    def _offer_answer(self, d: Dialog) -> None:
        """Walk the dialog and pair offers with answers (RFC 3264; RFC 3261 section 13; RFC 3262 section 5;
        RFC 3311 section 5). Answers count only in reliable messages; SDP in an unreliable 18x is a preview."""
        pending: Exchange | None = None
        for p in d.packets:
            m, sdp = p.msg, self.sdp(p)
            t = self.transaction_of(p)
            open_offer = pending is not None and pending.answer is None
            if m.is_request:
                if sdp is None:
                    continue
                if open_offer and pending.offerer != p.src and m.method in ("PRACK", "ACK"):
                    pending.answer, pending.answer_sdp = p, sdp
                elif m.method != "ACK":
                    pending = Exchange(d, p, sdp)
                    d.exchanges.append(pending)
                continue
            if open_offer and t is self.transaction_of(pending.offer) and m.status >= 300:
                pending.rejected, pending = p, None  # the offer was rejected with its request
                continue
            reliable = 200 <= m.status < 300 or is_reliable(m)
            if sdp is None or not reliable:
                continue
            if open_offer and pending.offerer != p.src and t is self.transaction_of(pending.offer):
                pending.answer, pending.answer_sdp = p, sdp
            elif t is not None and t.method == "INVITE" and self.sdp(t.request) is None and not any(
                    x.offer.msg.is_response and self.transaction_of(x.offer) is t for x in d.exchanges):
                pending = Exchange(d, p, sdp)        # INVITE without SDP: the UAS offers in its first reliable response
                d.exchanges.append(pending)
