"""Media rules on SRTP (RFC 3711): the DUT's RTP is SRTP and its RTCP is SRTCP where RTP/SAVP was negotiated.

Declared in the media rule table of :mod:`sipqual.rules.media` (which imports this module), with the same units and
context; see that module for how media rules are run.
"""

from __future__ import annotations

from ..rtcp import RtcpFlow, srtcp_trailers
from ..rtp import G711, RtpStream, srtp_trailers
from .media import MediaContext, MediaScope, _name, _rtcp_name, media_rule
from .registry import broken, held

DEFAULT_SRTCP = ((10, 0, True, "HMAC_SHA1_80"), (4, 0, True, "HMAC_SHA1_32"))   # no a=crypto (DTLS-SRTP)


# ---- RFC 3711 -----------------------------------------------------------------------------------------------------

@media_rule("RFC3711-01", "M", MediaScope.RTP_STREAM, "where RTP/SAVP was negotiated, packets are SRTP: no "
            "cleartext G.711, payload = codec frame + MKI + authentication tag (3.1)", ["SRTP-04"])
def srtp_packets(s: RtpStream, ctx: MediaContext):
    if s.sdp is None or not s.sdp.srtp:
        return
    name, neg = _name(s), f"RTP/SAVP negotiated in frame {s.sdp.frame}"
    if s.looks_cleartext_g711:
        yield broken(f"SRTP on {name} ({neg})", f"cleartext G.711 ({s.typical_payload_len}-byte payloads, "
                     f"{s.payload_entropy:.1f} bits/byte)", s.first_frame)
        return
    pairs = srtp_trailers(s.sdp.media)
    if s.main_pt in G711 and pairs:
        got = s.typical_payload_len
        # a=ptime is a hint: any whole number of 10 ms G.711 frames (80 bytes) is legal; with several crypto lines
        # in the receiver's SDP the stream fits the line the answer accepted, so any of them
        fits = [(tag, mki) for tag, mki in pairs if got - mki - tag > 0 and (got - mki - tag) % 80 == 0]
        tag, mki = fits[0] if fits else pairs[0]
        audio = got - mki - tag
        expected = (f"SRTP payloads on {name} of whole 10 ms G.711 frames (80 bytes each) + "
                    + " or ".join(f"{t}-byte tag" + (f" + {m}-byte MKI" if m else "") for t, m in pairs))
        if not fits:
            yield broken(expected, f"{got} bytes", s.first_frame)
            return
        which = f", the {tag}-byte tag" + (f" + {mki}-byte MKI" if mki else "") if len(pairs) > 1 else ""
        yield held(f"{expected}: {got} bytes ({audio} of G.711){which}", s.first_frame)
    else:
        yield held(f"encrypted-looking payloads on {name} ({s.payload_entropy:.1f} bits/byte)", s.first_frame)


def _srtcp_check(f: RtcpFlow, tag: int, mki: int, encrypted: bool) -> tuple[int, tuple[int, str] | None, str]:
    """Walk the flow's sampled compounds as SRTCP with this trailer (E flag || index, MKI, tag): (compounds checked,
    (frame, what) of the first that is not SRTCP or None, index range seen)."""
    trailer = 4 + mki + tag
    prev, first, checked, last_tail = None, None, 0, None
    for c in f.tails:
        if c.tail == last_tail:
            continue                  # the same compound captured twice
        last_tail = c.tail
        checked += 1
        if c.length - trailer < 8:
            what = "plain RTCP" if c.parsed else "a malformed compound"
            return checked, (c.frame, f"{what} of {c.length} bytes, too short for the 8-byte header and a "
                                      f"{trailer}-byte trailer"), ""
        if c.parsed and c.length - trailer not in c.ends:
            return checked, (c.frame, f"plain RTCP: all {c.length} bytes of the compound parse as RTCP packets, "
                                      "no room for an SRTCP trailer"), ""
        word = c.word_before(trailer)
        if word is None:
            return 0, None, ""        # an MKI so long the model did not keep the index: cannot tell
        e_flag, index = word >> 31, word & 0x7FFFFFFF
        if e_flag != encrypted:
            why = "unencrypted SRTCP without UNENCRYPTED_SRTCP" if encrypted else "encrypted despite UNENCRYPTED_SRTCP"
            return checked, (c.frame, f"E flag {e_flag} ({why})"), ""
        if prev is not None and index != (prev + 1) & 0x7FFFFFFF:
            return checked, (c.frame, f"SRTCP index {index} after {prev}"), ""
        prev = index
        first = index if first is None else first
    return checked, None, f"index {first}..{prev}"


@media_rule("RFC3711-02", "M", MediaScope.RTCP_FLOW, "where RTP/SAVP was negotiated, RTCP is SRTCP: each compound "
            "is followed by the E flag and a 31-bit index growing by 1, the MKI and the authentication tag (3.4)",
            ["SRTP-04"])
def srtcp_packets(f: RtcpFlow, ctx: MediaContext):
    """Judged on flows sent to an RTCP destination (RTP port + 1, the RTP port with rtcp-mux, or the ``a=rtcp:``
    port) of a receiver's SDP media section that is RTP/SAVP, over the first rtcp.MAX_RTCP_TAILS compounds (the
    model keeps their last rtcp.RTCP_TAIL bytes). The trailer is E || index (4 bytes), then the MKI and the tag of
    the a=crypto suite (10 bytes for *_80, 4 for *_32); when the receiver's SDP lists several crypto lines, the
    flow holds if it fits one of them (without crypto lines, as with DTLS-SRTP, both tag lengths are tried). The E
    flag must be set unless the crypto line says UNENCRYPTED_SRTCP, and the index must grow by exactly 1 per
    compound (a compound captured twice is skipped). A compound whose bytes all parse as plain RTCP with no packet
    boundary where the trailer would start is cleartext RTCP. This proves the trailer's structure and index, not
    its authentication: checking the HMAC needs the session keys derived from the a=crypto inline key (RFC 3711
    4.3), which needs AES, which the project does not carry."""
    if f.sdp is None or not f.sdp.srtp or not f.tails:
        return
    options = srtcp_trailers(f.sdp.media) or list(DEFAULT_SRTCP)
    name = _rtcp_name(f)
    results = []
    for tag, mki, encrypted, suite in options:
        checked, failure, seen = _srtcp_check(f, tag, mki, encrypted)
        if not checked:
            continue
        desc = (f"SRTCP on {name} (RTP/SAVP in frame {f.sdp.frame}): after each compound the E flag "
                + ("set" if encrypted else "clear (UNENCRYPTED_SRTCP)") + ", a 31-bit index +1 per compound"
                + (f", a {mki}-byte MKI" if mki else "") + f" and a {tag}-byte tag ({suite})")
        if failure is None:
            yield held(f"{desc}: {checked} compounds, {seen} (trailer structure checked, not the HMAC)",
                       f.tails[0].frame)
            return
        results.append((desc, failure))
    if results:
        desc, (frame, what) = min(results, key=lambda r: -r[1][0])   # the option that fitted longest
        yield broken(desc, what, frame)
