"""Rules of the Lync 2013 / Skype for Business trunk profile (requirements.md section 2), not of any RFC.

They are declared with ``profile="lync"``: live qualification applies them (the suite qualifies for that profile),
``sipqual verify`` only on request (``--lync``, or a DUT profile), and every finding is labelled with the requirement
ID and the profile, e.g. "MED-03 (Lync profile)", so nobody reads them as RFC violations.
"""

from __future__ import annotations

from ..sdp import event_codes
from .offer_answer import telephone_event
from .registry import Scope, broken, held, rule


def _te_outcome(media, label: str, frame: int):
    want = f"a=rtpmap:<pt> telephone-event/8000 with events 0-15 on {label}"
    te = telephone_event(media)
    if te is None:
        return broken(want, f"formats {media.formats} without telephone-event/8000", frame)
    codes = event_codes(te[1])
    if codes is None or not set(range(16)) <= codes:
        return broken(want, f"a=fmtp:{te[0]} {te[1]}", frame)
    return held(f"{want} (PT {te[0]}{', fmtp ' + te[1] if te[1] else ''})", frame)


@rule("MED-03", "M", Scope.OFFER_ANSWER, "the DUT's SDP lists telephone-event/8000 with events 0-15 on every audio "
      "stream it offers, and in its answer wherever the offer had it (fmtp absent = 0-15)", profile="lync")
def telephone_event_offered(x, model):
    """Lync/SfB Mediation Servers carry DTMF only as RFC 4733 events (PT 101, events 0-16); a trunk peer that does
    not negotiate telephone-event loses DTMF (IVR, conference PINs, voicemail): M in the profile, though RFC 4733
    makes offering it optional. An answer to an offer without telephone-event cannot add a usable one, so it is not
    judged; neither is an audio stream refused with port 0."""
    if x.offer.src in model.dut:
        for i, m in enumerate(x.offer_sdp.media):
            if m.kind == "audio" and m.port != 0 and m.is_rtp:
                yield _te_outcome(m, f"offered m= line {i + 1}", x.offer.frame)
    if x.answer is not None and x.answer.src in model.dut:
        for i, (om, am) in enumerate(zip(x.offer_sdp.media, x.answer_sdp.media)):
            if am.kind == "audio" and am.port != 0 and am.is_rtp and telephone_event(om) is not None:
                yield _te_outcome(am, f"answered m= line {i + 1} (offered in frame {x.offer.frame})", x.answer.frame)
