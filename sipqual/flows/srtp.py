"""Stimuli of suite SRTP: calls whose Mediation-side SDP offers SDES SRTP (RFC 4568), as Lync does on a TLS trunk
with SRTPMode Required (RTP/SAVP) or Optional (RTP/AVP with a=crypto, MS-SDPEXT's deviation).

Debian's SIPp has no SRTP: its SDP is text (``scenarios/srtp_uac.xml`` takes the m= profile and the a=crypto lines as
keys) and it sends no RTP of its own on an SRTP call (plain RTP there would be our fault, not the DUT's). The far
end (``hold_uas.xml``) sends plain G.711 and an RTCP report every second, which the DUT must turn into SRTP and SRTCP
toward the Mediation side: that direction is judged from the capture (:mod:`sipqual.checks.srtp`).

The Mediation-to-DUT direction (SRTP sent with the key of our offer, received by the far end as plain RTP) is judged
in TC-SRTP-06 (:func:`out_call_rekey`), whose two ends are media agents (``sipqual/mediaagent/``), not SIPp.
"""

from __future__ import annotations

import base64
import secrets
from typing import TYPE_CHECKING

from .calls import inbound, outbound
from .hld import write_rtcp_pcap

if TYPE_CHECKING:
    from ..context import CaseContext

LYNC_SUITE = "AES_CM_128_HMAC_SHA1_80"      # the one suite Lync uses with gateways (SRTP-02)
# suites a DUT may not support, in the order TC-SRTP-05 tries them (all registered SDES suites: RFC 4568, RFC 6188)
UNSUPPORTED_CANDIDATES = ("AES_CM_128_HMAC_SHA1_32", "AES_256_CM_HMAC_SHA1_80", "AES_192_CM_HMAC_SHA1_80")
KEY_LEN = {"AES_256_CM_HMAC_SHA1_80": 46, "AES_256_CM_HMAC_SHA1_32": 46, "AES_192_CM_HMAC_SHA1_80": 38,
           "AES_192_CM_HMAC_SHA1_32": 38}     # master key || salt; 30 for the AES-128 suites


def crypto_line(tag: int, suite: str = LYNC_SUITE, mki: str | None = None) -> str:
    """An ``a=crypto`` line with a fresh random master key||salt (lifetime 2^31 as Lync writes it; ``mki`` like
    "1:1" appended as ``|1:1``)."""
    key = base64.b64encode(secrets.token_bytes(KEY_LEN.get(suite, 30))).decode()
    return f"a=crypto:{tag} {suite} inline:{key}|2^31" + (f"|{mki}" if mki else "")


def srtp_mode(sq: CaseContext) -> str:
    """The SRTPMode the DUT claims for its TLS trunk (PICS ``srtp_mode``; Lync's default is Required)."""
    return sq.profile.pics.get("srtp_mode", "required")


def unsupported_suite(sq: CaseContext) -> str:
    """The first registered suite the DUT does not claim (PICS ``srtp_suites``; default Lync's one suite)."""
    claimed = set(sq.profile.pics.get("srtp_suites", [LYNC_SUITE]))
    return next(s for s in UNSUPPORTED_CANDIDATES if s not in claimed)


def out_call(sq: CaseContext, *, proto: str = "RTP/SAVP", cryptos: list[str] | None = None, hold_ms: int = 2000,
             far: bool = True) -> list[str]:
    """Mediation side -> DUT -> far end with an SRTP offer: m=audio ``proto`` and the ``cryptos`` lines (default one
    Lync-like AES_CM_128_HMAC_SHA1_80 line); the far end answers, streams G.711 and RTCP every second; the Mediation
    side hangs up after ``hold_ms``. ``far=False``: no far end (the DUT is expected to refuse the offer itself).
    Returns the crypto lines offered."""
    cryptos = cryptos or [crypto_line(1)]
    if far:
        write_rtcp_pcap(sq.dir / "sipp-far-callee" / "rtcp.pcap", seconds=hold_ms / 1000 + 5)
        sq.far_server("far-callee", "hold_uas.xml", {"media": "on"}, timeout_s=20)
    sq.ms_client("ms-caller", "srtp_uac.xml", {**outbound(sq), "proto": proto, "crypto": "\r\n".join(cryptos)},
                 timeout_s=20, pause_ms=hold_ms)
    sq.wait_all()
    return cryptos


def in_call(sq: CaseContext, *, hold_ms: int = 2000) -> str:
    """Far end -> DUT -> Mediation side: the DUT offers to the Mediation side; our callee accepts its
    AES_CM_128_HMAC_SHA1_80 line with RTP/SAVP and a fresh key of ours (``srtp_uas.xml``) and hangs up after
    ``hold_ms``; the far caller streams G.711. Returns our answer's crypto line."""
    key = crypto_line(1).split(" ", 2)[2]        # "inline:<key>|2^31"; the tag is the DUT's, taken in the scenario
    sq.ms_server("ms-callee", "srtp_uas.xml", {"crypto_key": key}, timeout_s=20, pause_ms=hold_ms)
    sq.far_client("far-caller", "call_uac_wait_bye.xml", inbound(sq), timeout_s=20)
    sq.wait_all()
    return key


#: TC-SRTP-06: packets after the resume at which both agents' RTP sequence numbers wrap, so that the rollover
#: counter (RFC 3711 3.3.1) steps inside the newest keys' context
REKEY_WRAP_AT = 15


def out_call_rekey(sq: CaseContext, *, media_ms: int = 1200) -> list[str]:
    """TC-SRTP-06: Mediation side -> DUT -> far end over TLS with media agents on both sides, ours SDES SRTP (RTP/SAVP,
    a fresh AES_CM_128_HMAC_SHA1_80 key), the far end's plain RTP. After ``media_ms`` our caller holds (re-INVITE,
    a=sendonly) offering a new key, after another ``media_ms`` resumes (a=sendrecv) offering another new key, and
    ``media_ms`` later hangs up (``scenarios/agent_srtp_rekey_uac.xml``; the far end answers recvonly, then sendrecv:
    ``agent_uas_hold.xml``). Our agent decrypts with the key of each answer as it arrives and sends with the key of its
    newest offer once that offer is answered (RFC 4568 7.1.4); it pauses 0.6 s around each re-INVITE so that no
    packet of the old key is in flight when the DUT switches, and the far end's agent pauses through the hold. Both
    agents' sequence numbers wrap :data:`REKEY_WRAP_AT` packets after the resume. Returns our three a=crypto
    attributes."""
    from ..mediaagent import SdesKey
    from .med import agent_keys, follow_sdp
    keys = [SdesKey.make(LYNC_SUITE) for _ in range(3)]
    s = media_ms / 1000
    tail = s + 1.0
    # our agent: audio, pause across the hold re-INVITE, audio (held: sendonly), pause across the resume, audio
    ms_plan = [{"kind": "audio", "seconds": s - 0.2}, {"kind": "pause", "seconds": 0.6},
               {"kind": "audio", "seconds": s - 0.6}, {"kind": "pause", "seconds": 0.6},
               {"kind": "audio", "seconds": tail}]
    far_plan = [{"kind": "audio", "seconds": s - 0.2}, {"kind": "pause", "seconds": s + 0.6},
                {"kind": "audio", "seconds": tail}]
    sent_before = {"ms": round((2 * s - 0.8) * 50), "far": round((s - 0.2) * 50)}   # 20 ms packets before resuming
    ms = sq.media_agent("ms", "ms", plan=ms_plan, after="audio", send_key=keys[0].as_dict(),
                        seq0=65536 - sent_before["ms"] - REKEY_WRAP_AT)
    far = sq.media_agent("far", "far", plan=far_plan, after="audio",
                         seq0=65536 - sent_before["far"] - REKEY_WRAP_AT)
    attrs = ["crypto:" + k.attribute() + "|2^31" for k in keys]
    far_run = sq.far_server("far-callee", "agent_uas_hold.xml", agent_keys(far), timeout_s=20)
    ms_run = sq.ms_client("ms-caller", "agent_srtp_rekey_uac.xml",
                          {**outbound(sq), **agent_keys(ms), "agent_attr": attrs[0], "agent_attr2": attrs[1],
                           "agent_attr3": attrs[2]}, timeout_s=20, extra=["-set", "media_ms", str(media_ms)])
    follow_sdp(far, far_run, "the DUT's INVITE to the far end")
    answer = follow_sdp(ms, ms_run, "the DUT's answer to the Mediation side")
    wait = 10 + 2 * s
    for n, what in ((1, "hold"), (2, "resume")):
        if answer is None:
            break
        answer = follow_sdp(ms, ms_run, f"the DUT's answer to our {what} re-INVITE", after=answer.index, wait_s=wait)
        if answer is not None:
            ms.update(send_key=keys[n].as_dict())
    sq.wait_all()
    return attrs
