"""Which request a DUT relays, and from where (RFC3261-04): a proxy (same Call-ID and CSeq, its Via on top of the
received ones), a B2BUA (a new Call-ID for the same called number; in-dialog requests of the paired call), and the
hop-by-hop CANCEL and ACK for a non-2xx of a relayed INVITE. An SBC may receive on one address and send from another:
every address of the DUT counts (:meth:`sipqual.dialogs.Model.device_of`)."""

from __future__ import annotations

RELAY_WINDOW = 10.0            # s: a request the DUT relays follows the one it received within this time
IN_DIALOG_RELAY_WINDOW = 2.0   # s: an in-dialog request (BYE, re-INVITE, ACK) a B2BUA relays on a new Call-ID


def _called_number(m) -> str:
    """Digits of the Request-URI's user part (else the To URI's): what a B2BUA keeps when it changes the Call-ID."""
    for uri in (m.request_uri, m.to.uri if m.to else None):
        user = (uri.user or "").split(";")[0] if uri is not None else ""
        digits = "".join(c for c in user if c.isdigit())
        if digits:
            return digits
    return ""


def _same_number(a: str, b: str) -> bool:
    """Equal, or one a prefixed form of the other (+1 4255550100 / 4255550100) when both have 6 digits or more."""
    return bool(a and b) and (a == b or (min(len(a), len(b)) >= 6 and (a.endswith(b) or b.endswith(a))))


def _received(p, model, method: str, window: float) -> list:
    """Requests of ``method`` that arrived at any of the sender's addresses from elsewhere within ``window`` before
    ``p``, oldest first (retransmissions excluded)."""
    device = model.device_of(p.src)
    found = [q for a in device for q in model.requests_to_between(a, method, p.time - window, p.time)
             if q.src not in device and q is not p and not model.is_retransmission(q)]
    return sorted(found, key=lambda q: q.time)


def _b2bua_source(p, model):
    """For an initial request of a B2BUA (new Call-ID): the latest request of its method for the same called number
    that the device received within RELAY_WINDOW."""
    number = _called_number(p.msg)
    same = [q for q in _received(p, model, p.msg.method, RELAY_WINDOW) if q.msg.call_id != p.msg.call_id
            and _same_number(_called_number(q.msg), number)]
    return same[-1] if same else None


def paired_calls(call_id, model) -> set:
    """The Call-IDs a B2BUA relayed this call from or to: calls whose initial INVITEs are a relay of one another
    (computed once per capture, over the initial INVITEs the judged devices sent)."""
    pairs = model.memo.get("RFC3261-04 pairs")
    if pairs is None:
        pairs = model.memo["RFC3261-04 pairs"] = {}
        for r in model.sent:
            m = r.msg
            if m.is_request and m.method == "INVITE" and not (m.to and m.to.tag) and not model.is_retransmission(r):
                src = _b2bua_source(r, model)
                if src is not None:
                    pairs.setdefault(m.call_id, set()).add(src.msg.call_id)
                    pairs.setdefault(src.msg.call_id, set()).add(m.call_id)
    return pairs.get(call_id, set())


def relayed_from(p, model):
    """The request the DUT relays as request ``p``, or None when it originates it (or the capture cannot tell).
    A proxy keeps Call-ID and CSeq and puts its Via on top of the received ones; a B2BUA uses a new Call-ID, keeps
    the called number in initial requests, and relays in-dialog requests (but not ACK, which a B2BUA generates on
    each leg) from the call it paired with this one, at once. A CANCEL, and the ACK for a non-2xx, belong to their
    INVITE's hop (same branch, 9.1, 17.1.1.3): they are relayed exactly when that INVITE was."""
    m = p.msg
    if m.method in ("CANCEL", "ACK") and m.vias:
        inv = model.invite_for(p)
        if inv is not None and inv.branch == m.vias[0].branch and inv.request is not p:
            return relayed_from(inv.request, model)     # hop-by-hop: a CANCEL, or the ACK for a non-2xx, of its INVITE
    for q in reversed(_received(p, model, m.method, RELAY_WINDOW)):
        if q.msg.call_id == m.call_id and q.msg.cseq == m.cseq and \
                [v.branch for v in m.vias[1:]] == [v.branch for v in q.msg.vias]:
            return q
    if not (m.to and m.to.tag):
        return _b2bua_source(p, model)
    if m.method == "ACK":
        return None
    pairs = paired_calls(m.call_id, model)
    recent = [q for q in _received(p, model, m.method, IN_DIALOG_RELAY_WINDOW) if q.msg.call_id in pairs]
    return recent[-1] if recent else None
