"""The test-case catalogue: requirements.md section 6 as data (126 Lync/SfB cases and 6 SIPconnect add-ons), and
sipqual's own extension suite SEC (security: issue 15), which the catalogue has no IDs for.

Every case sipqual implements must carry an ID from here (:func:`sipqual.case.case` checks it), and every run is
judged against this list: the plugin records a snapshot of it in results.json ``coverage``, and the report's cover
verdict (:mod:`sipqual.report.verdicts`) counts the mandatory cases that were not executed.

Severities as the catalogue writes them (its section 0 and the notes of section 6):

- ``M`` mandatory, ``R`` recommended, ``O`` optional (only when the DUT claims the feature), ``I`` informational;
- ``M*`` mandatory only when the DUT is qualified "with SRTP & TLS" (PICS ``srtp`` and ``tls`` claimed);
- ``M†`` mandatory only when the DUT claims media bypass (PICS ``media_bypass``);
- ``SC`` the SIPconnect profile's add-ons (profile ``sipconnect``): never part of the Lync coverage figures.

The SEC cases (:data:`EXTENSION_CASES`, profile ``sipqual``) are sipqual's extension, not the catalogue's: they keep
their own severities (M, R, I as issue 15 sets them) but are never in :data:`CASES` (section 6 as written), never in
the Lync figures, and the report lists them apart, as it does the SIPconnect add-ons. :func:`get` knows them, so a
case may carry their IDs.

TC-ROB-02 is "M (core subset) / R" in the catalogue: it is held as ``M`` (the core subset decides) with that wording
kept in :attr:`CatalogueCase.severity_text`.

Titles are short paraphrases (under 70 characters) for tables; the catalogue has the full wording.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

SOURCE = "requirements.md section 6 (Proposed test case list)"
SEVERITIES = ("M", "M*", "M†", "R", "O", "I", "SC")
LYNC, SIPCONNECT, EXTENSION = "lync", "sipconnect", "sipqual"
CONDITIONS = {
    "M*": "mandatory when qualifying with SRTP & TLS (pics.srtp and pics.tls)",
    "M†": "mandatory when media bypass is claimed (pics.media_bypass)",
}


@dataclass(frozen=True)
class CatalogueCase:
    id: str
    severity: str                 # one of SEVERITIES, as the catalogue has it
    requirements: tuple[str, ...]  # catalogue requirement IDs; "RFC3261-*" names a whole family
    title: str                    # short paraphrase
    group: str                    # the catalogue's suite heading: "TRN", "ID/NUM", "ST/REL", ...
    condition: str = ""           # when an M* / M† (or split) severity is mandatory
    severity_text: str = ""       # the catalogue's own cell when it is not a single code (TC-ROB-02)

    @property
    def suite(self) -> str:
        """The ID's suite prefix: ``TC-NUM-03`` -> ``NUM``."""
        return self.id.split("-")[1]

    @property
    def profile(self) -> str:
        return SIPCONNECT if self.severity == "SC" else EXTENSION if self.group in EXTENSION_GROUPS else LYNC

    @property
    def declared_severity(self) -> str:
        """What a sipqual case with this ID declares (``@case(..., severity=...)``): ``M`` for M, M* and M† (the
        condition is the catalogue's business, evaluated against the PICS when a run is judged), ``I`` for the
        SIPconnect add-ons (they never change the Lync cover), else the catalogue's code."""
        return {"M*": "M", "M†": "M", "SC": "I"}.get(self.severity, self.severity)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["requirements"] = list(self.requirements)
        d["suite"], d["profile"] = self.suite, self.profile
        return d


# group -> (heading in our words, [(id, severity, requirements, title), ...]) in catalogue order
_TABLE: list[tuple[str, str, list[tuple[str, str, str, str]]]] = [
    ("TRN", "transport and TLS", [
        ("TC-TRN-01", "M", "TRN-01 TRN-02", "OUT call over TCP to the DUT trunk port, answered on that connection"),
        ("TC-TRN-02", "M", "TRN-01 TRN-03", "IN call over TCP to the Mediation port; no SIP over UDP"),
        ("TC-TRN-03", "M", "TLS-01", "TLS with the DUT as server: mutual handshake, client cert checked"),
        ("TC-TRN-04", "M", "TLS-01 TLS-02", "TLS with the DUT as client: checks pool cert, presents its own"),
        ("TC-TRN-05", "R", "TLS-02", "Bad Mediation certificate (CA, expiry, SAN): DUT refuses, no SIP"),
        ("TC-TRN-06", "R", "TLS-04", "TLS 1.2-only peer; lowest version the DUT accepts recorded"),
        ("TC-TRN-07", "R", "TLS-03", "DUT certificate names the FQDN configured for the peer"),
        ("TC-TRN-08", "M", "TRN-09 TLS-05", "Reconnect after connection loss; pipelined and split TCP segments"),
        ("TC-TRN-09", "R", "TRN-04", "Two trunks with distinct ports: routing per trunk (M:N)"),
        ("TC-TRN-10", "O", "TRN-07", "Basic call over IPv6"),
    ]),
    ("OPT", "health probing", [
        ("TC-OPT-01", "M", "OPT-01 OPT-02", "DUT answers out-of-dialog OPTIONS with 200, Allow and Supported"),
        ("TC-OPT-02", "R", "OPT-02", "OPTIONS while the DUT's PSTN side is down: same code as an INVITE"),
        ("TC-OPT-03", "R", "OPT-03", "DUT sends OPTIONS to each Mediation target; interval and form noted"),
        ("TC-OPT-04", "R", "OPT-04 FO-06", "Mediation target silent to OPTIONS: DUT avoids it, then returns"),
        ("TC-OPT-05", "R", "OPT-02", "In-dialog OPTIONS and OPTIONS with Max-Forwards 0 handled"),
    ]),
    ("BAS", "basic calls", [
        ("TC-BAS-01", "M", "MED-01 RFC3261-*", "IN call, PCMU; Mediation side answers and hangs up"),
        ("TC-BAS-02", "M", "MED-01", "IN call, PCMA; the PSTN caller hangs up (DUT sends BYE)"),
        ("TC-BAS-03", "M", "MED-01", "OUT call; the DUT side answers and hangs up"),
        ("TC-BAS-04", "M", "RFC3261-14", "OUT call; the Mediation side hangs up"),
        ("TC-BAS-05", "M", "RFC3261-09 FO-05", "OUT call cancelled before answer: 200 CANCEL, 487, PSTN released"),
        ("TC-BAS-06", "M", "RFC3261-09", "IN call cancelled by the DUT before answer"),
        ("TC-BAS-07", "M", "FO-01", "OUT call to a busy PSTN number gets 486, not 503"),
        ("TC-BAS-08", "M", "FO-01 FO-03", "OUT call to an unallocated number gets 404 with Q.850 cause 1"),
        ("TC-BAS-09", "R", "FO-01", "OUT call not answered: 408/480 timeout handling"),
        ("TC-BAS-10", "M", "FO-03", "IN call declined by the Mediation side: DUT releases the caller"),
        ("TC-BAS-11", "M", "NUM-01", "IN call to an unknown Lync number (404): DUT clears with right cause"),
        ("TC-BAS-12", "M", "SIG-01 SIG-02", "100 Trying promptly and 18x within 10 s (fast failover window)"),
        ("TC-BAS-13", "M", "MED-05 ST-*", "40-minute call past the session interval; RTP and RTCP continuous"),
        ("TC-BAS-14", "M", "RFC3261-11", "2xx retransmitted until ACK; BYE when no ACK after 32 s"),
        ("TC-BAS-15", "I", "SIG-08", "IN INVITE without SDP (delayed offer): behaviour recorded"),
    ]),
    ("EM", "early media and forking", [
        ("TC-EM-01", "M", "SIG-03 RFC3960-01", "OUT: 183 with SDP, RTP before answer, 200 SDP same as 183 SDP"),
        ("TC-EM-02", "M", "SIG-03 MED-03", "OUT: PSTN announcement and DTMF during early media (IVR)"),
        ("TC-EM-03", "I", "SIG-07", "OUT: 180 without SDP for local ringback; none after a 183"),
        ("TC-EM-04", "M", "SIG-04 BYP-01", "IN: three forked early dialogs with SDP, answer on the second"),
        ("TC-EM-05", "R", "SIG-04 CFG-06", "IN: 20 early dialogs (MaxEarlyDialogs): no crash, right ACK/BYE"),
        ("TC-EM-06", "R", "SIG-03 ID-02", "IN: simultaneous ring to a PSTN IVR; early media reaches the caller"),
        ("TC-EM-07", "M", "RFC3261-09", "IN: early media, then the caller cancels"),
    ]),
    ("FO", "failover and error mapping", [
        ("TC-FO-01", "M", "FO-01 FO-03", "OUT: no circuit (cause 34) gives 503 with a Q.850 Reason"),
        ("TC-FO-02", "M", "FO-02", "OUT: trunk out of service gives 503, never 502"),
        ("TC-FO-03", "M", "CAP-01", "OUT: DUT at capacity answers 503 promptly"),
        ("TC-FO-04", "R", "FO-01 RFC3326-02", "OUT: Q.850 cause to SIP response mapping recorded"),
        ("TC-FO-05", "R", "SIG-02", "OUT: slow PSTN alerting; DUT still sends 18x within 10 s"),
        ("TC-FO-06", "M", "FO-05", "OUT: CANCEL at 10 s (fast failover); DUT frees the channel"),
        ("TC-FO-07", "M", "FO-06 TRN-05", "IN: Mediation A unreachable, DUT retries B; time measured"),
        ("TC-FO-08", "M", "FO-06", "IN: Mediation A answers 503, DUT retries on B"),
        ("TC-FO-09", "M", "TRN-05", "IN: pool FQDN with two A records; calls spread over both"),
        ("TC-FO-10", "M", "TRN-05", "OUT: INVITEs from either pool member accepted"),
    ]),
    ("HLD", "hold, resume and park", [
        ("TC-HLD-01", "M", "HLD-01", "Mediation holds with sendonly, DUT answers recvonly; resume"),
        ("TC-HLD-02", "M", "HLD-01 HLD-02", "Mediation holds with inactive, DUT answers inactive; resume"),
        ("TC-HLD-03", "M", "HLD-03", "Hold from the DUT side (sendonly/inactive, o= version +1), resume"),
        ("TC-HLD-04", "M", "HLD-04 MED-05", "90 s hold with RTCP on hold: RTCP flows, call survives"),
        ("TC-HLD-05", "M", "HLD-02", "Ten hold/resume cycles, two-way audio after each"),
        ("TC-HLD-06", "R", "HLD-01", "Lync call park and retrieve of a PSTN call"),
        ("TC-HLD-07", "I", "RFC3264-05", "Legacy c=0.0.0.0 hold from the DUT flagged"),
    ]),
    ("XFR", "transfer", [
        ("TC-XFR-01", "O", "XFR-01", "REFER enabled: blind transfer to a PSTN target (202, NOTIFY, BYE)"),
        ("TC-XFR-02", "O", "XFR-01 RFC3891-01", "REFER enabled: attended transfer with Replaces"),
        ("TC-XFR-03", "O", "XFR-01 RFC3515-02", "REFER to a busy target: NOTIFY 486, original call restored"),
        ("TC-XFR-04", "M", "XFR-02 BYP-04", "REFER disabled: transfer by re-INVITE media retarget (hairpin)"),
        ("TC-XFR-05", "M", "XFR-02", "3pcc REFER enabled: media moves to the new endpoint"),
        ("TC-XFR-06", "O", "XFR-04 RFC3892-01", "REFER with and without Referred-By; copied into the new INVITE"),
        ("TC-XFR-07", "R", "SIG-09", "Transfer by a DUT-side user: no REFER toward Mediation"),
        ("TC-XFR-08", "R", "XFR-01 ID-02", "Lync transfers an inbound PSTN call to another PSTN number"),
    ]),
    ("DTMF", "digits as RFC 4733 events", [
        ("TC-DTMF-01", "M", "MED-03 RFC4733-*", "IN: digits 0-9, *, # as RFC 4733 events toward Lync"),
        ("TC-DTMF-02", "M", "MED-03", "OUT: digits from Lync regenerated toward the PSTN"),
        ("TC-DTMF-03", "M", "RFC4733-03 RFC4733-04", "End packets sent three times with E bit; long press updates"),
        ("TC-DTMF-04", "M", "RFC4733-06", "Asymmetric telephone-event payload types (101 offered, 96 answered)"),
        ("TC-DTMF-05", "R", "RFC4733-05", "No duplicate in-band tones when events are negotiated"),
        ("TC-DTMF-06", "M", "MED-03", "DTMF to voicemail or a conference PIN works end to end"),
    ]),
    ("MED", "codecs, RTP, RTCP, comfort noise", [
        ("TC-MED-01", "M", "MED-01 RFC3264-02", "PCMU only, PCMA only or both offered: answer subset, right PT"),
        ("TC-MED-02", "R", "MED-09 RFC3550-01", "20 ms packets, timestamp step 160, sequence, jitter and loss"),
        ("TC-MED-03", "R", "MED-04", "Comfort noise (PT 13) negotiated, sent in silence, accepted"),
        ("TC-MED-04", "M", "MED-05 RFC3550-03 RFC3550-04", "RTCP compound SR/RR + SDES every 5-10 s, never over 30 s"),
        ("TC-MED-05", "I", "MED-05", "Mediation side withholds RTCP for 35 s: DUT behaviour recorded"),
        ("TC-MED-06", "R", "MED-06", "Media address equals signalling address"),
        ("TC-MED-07", "M", "RFC3264-04 SIG-06", "Re-INVITE with unchanged SDP: same answer version, no glitch"),
        ("TC-MED-08", "M", "XFR-02", "Re-INVITE moving the remote media: DUT follows within 1 s"),
        ("TC-MED-09", "O", "MED-07", "Symmetric RTP / latching behind NAT (SBC only)"),
    ]),
    ("SRTP", "media encryption", [
        ("TC-SRTP-01", "M*", "SRTP-01 SRTP-02 SRTP-04",
         "SRTP required over TLS: SAVP, AES_CM_128_HMAC_SHA1_80, no clear RTP"),
        ("TC-SRTP-02", "M*", "SRTP-03", "SRTP optional: AVP offer with crypto; either DUT answer accepted"),
        ("TC-SRTP-03", "M*", "SRTP-01", "IN call: SRTP offer from the DUT answered per mode"),
        ("TC-SRTP-04", "R", "SRTP-05", "MKI variants (with and without): symmetric answer, MKI length"),
        ("TC-SRTP-05", "R", "SRTP-02 SRTP-07", "Only an unsupported crypto suite offered: 488 or fallback"),
        ("TC-SRTP-06", "M*", "SRTP-04", "Re-key on re-INVITE (hold/resume): audio continues, ROC right"),
        ("TC-SRTP-07", "M", "RFC4568-03", "Never a=crypto on a TCP trunk"),
        ("TC-SRTP-08", "M*", "RFC3711-02", "SRTCP present and authenticated"),
    ]),
    ("BYP", "media bypass", [
        ("TC-BYP-01", "M†", "BYP-02", "OUT bypass: media to the client address, client RTP accepted"),
        ("TC-BYP-02", "M†", "BYP-01 SIG-04", "IN bypass: forked clients; media only from the answering one"),
        ("TC-BYP-03", "M†", "BYP-03 XFR-03", "Bypass without REFER and RTCP: stable with no client RTCP"),
        ("TC-BYP-04", "M†", "BYP-04", "Bypass call transferred (no REFER) falls back to non-bypass"),
        ("TC-BYP-05", "M†", "SRTP-06", "Bypass with SRTP required using the client's keys"),
        ("TC-BYP-06", "R", "HLD-05", "Hold and resume on a bypass call"),
        ("TC-BYP-07", "M†", "MED-03 SIG-03", "Bypass with DTMF and early media"),
    ]),
    ("ID/NUM", "identity and numbering", [
        ("TC-ID-01", "M", "NUM-01", "IN caller ID in E.164 with + and user=phone"),
        ("TC-ID-02", "R", "ID-06", "IN withheld caller: anonymous From, PAI, Privacy: id"),
        ("TC-ID-03", "M", "NUM-01", "OUT caller ID from Lync mapped to the PSTN calling number"),
        ("TC-ID-04", "R", "ID-05", "OUT withheld caller from Lync becomes CLIR on the PSTN"),
        ("TC-ID-05", "R", "ID-01", "PAI forwarding on: PAI in both directions, Privacy honoured"),
        ("TC-ID-06", "R", "ID-02", "Call history on: History-Info (and Referred-By) accepted, mapped"),
        ("TC-ID-07", "O", "ID-07", "DUT forwards a call with Diversion/History-Info in valid syntax"),
        ("TC-NUM-01", "M", "NUM-01", "OUT request URI +E.164;user=phone routed"),
        ("TC-NUM-02", "O", "NUM-04", "Plus removed from URIs: no + in any URI user part"),
        ("TC-NUM-03", "M", "NUM-03", "Number translation applied; DUT routes local formats"),
        ("TC-NUM-04", "I", "NUM-02", "IN national or extension format (normalised by Lync) recorded"),
    ]),
    ("ST/REL", "session timers, PRACK, UPDATE", [
        ("TC-ST-01", "M", "CFG-05 RFC4028-*", "Session timer off on the trunk: the DUT's own timer honoured"),
        ("TC-ST-02", "R", "CFG-05 RFC4028-03 RFC4028-04",
         "Session timer on: 1800 s, refresher in 2xx, refresh near 900 s"),
        ("TC-ST-03", "R", "RFC4028-02", "422 with Min-SE: DUT retries with a large enough interval"),
        ("TC-ST-04", "R", "RFC4028-04", "No refresh arrives: DUT sends BYE before expiry"),
        ("TC-REL-01", "M", "SIG-05 RFC3262-01 RFC3262-04",
         "DUT never requires 100rel; reliable 18x only when supported"),
        ("TC-REL-02", "O", "RFC3262-02 RFC3262-03", "Peer supports 100rel: PRACK, RAck and RSeq correct"),
        ("TC-REL-03", "R", "SIG-06 RFC3311-*", "UPDATE with and without SDP in a confirmed dialog; 491 glare"),
    ]),
    ("FEA", "feature interactions", [
        ("TC-FEA-01", "R", "ID-02 NUM-05", "Lync forwards an inbound PSTN call back out to the PSTN"),
        ("TC-FEA-02", "R", "SIG-04 ID-02", "Simultaneous ring to a PSTN mobile; losing leg cancelled"),
        ("TC-FEA-03", "R", "MED-*", "Lync conference dials out to a PSTN participant"),
        ("TC-FEA-04", "M", "MED-03", "PSTN dial-in conferencing with a DTMF PIN"),
        ("TC-FEA-05", "R", "XFR-02", "PSTN call escalated to a conference"),
        ("TC-FEA-06", "R", "MED-03", "Unanswered inbound call to voicemail, DTMF menu navigation"),
    ]),
    ("E911/FAX", "emergency location and fax", [
        ("TC-E911-01", "O", "E911-01", "PIDF-LO location in a multipart INVITE passed unchanged (SBC)"),
        ("TC-FAX-01", "I", "FAX-01", "T.38 re-INVITE from the DUT refused with 488; call stays G.711"),
        ("TC-FAX-02", "I", "FAX-01", "Analog fax over bypass as G.711 pass-through"),
    ]),
    ("ROB", "robustness and load", [
        ("TC-ROB-01", "R", "RFC4475", "RFC 4475 valid torture messages parsed and handled"),
        ("TC-ROB-02", "M", "RFC4475", "RFC 4475 invalid messages rejected with 400, no crash"),
        ("TC-ROB-03", "R", "RFC4475 RFC3261-15 RFC3261-16", "RFC 4475 application-layer set answered with right codes"),
        ("TC-ROB-04", "M", "RFC3261-14", "BYE/ACK for an unknown dialog gets 481; unknown method 405/501"),
        ("TC-ROB-05", "M", "MED-02", "Lync-style SDP with unknown a=x- attributes and extra m= lines"),
        ("TC-ROB-06", "M", "CAP-01", "One hour at rated concurrency and call rate, both ways; no leaks"),
        ("TC-ROB-07", "R", "CAP-*", "24 h soak with OPTIONS, hold/resume and transfers"),
    ]),
    ("SC", "SIPconnect profile add-ons", [
        ("TC-SC-01", "SC", "SC-01 SC-02", "Registration mode: REGISTER with digest, refreshed before expiry"),
        ("TC-SC-02", "SC", "SC-01 SC-03", "Static mode: no REGISTER; NAPTR/SRV/A lookup of the provider"),
        ("TC-SC-03", "SC", "SC-02", "INVITE challenged with 407 handled"),
        ("TC-SC-04", "SC", "SC-04", "T.38 re-INVITE accepted or declined per profile"),
        ("TC-SC-05", "SC", "SC-06", "tel: URI and sip:...;user=phone E.164 forms"),
        ("TC-SC-06", "SC", "SC-11", "Emergency calls recognised and routed"),
    ]),
]
# sipqual's own extension (issue 15), apart from section 6: same shape, never in CASES
_EXTENSION_TABLE = [
    ("SEC", "Security (sipqual extension, issue 15)", [
        ("TC-SEC-01", "M", "SEC-01", "INVITE from an address outside the Mediation pool refused (403/none)"),
        ("TC-SEC-02", "M", "SEC-02", "No cleartext SIP toward the Mediation side on a TLS trunk"),
        ("TC-SEC-03", "M", "SEC-03", "Topology hiding: no address of one side in what reaches the other"),
        ("TC-SEC-04", "R", "SEC-04", "TLS version and cipher floor: nothing below TLS 1.2, no weak suites"),
    ]),
]
EXTENSION_GROUPS = {g for g, _, _ in _EXTENSION_TABLE}
_EXTENSION_CONDITIONS = {
    "TC-SEC-02": "mandatory when TLS is claimed (pics.tls); N/A otherwise",
    "TC-SEC-03": "mandatory for the SBC role (identity.role: sbc), informational for other roles",
}
_SPLIT = {"TC-ROB-02": ("M (core subset) / R", "mandatory for the RFC 4475 core subset, recommended for the rest")}

GROUP_TITLES: dict[str, str] = {g: t for g, t, _ in _TABLE + _EXTENSION_TABLE}


def _build(table) -> tuple[CatalogueCase, ...]:
    out = []
    for group, _, rows in table:
        for cid, sev, reqs, title in rows:
            text, cond = _SPLIT.get(cid, ("", CONDITIONS.get(sev, _EXTENSION_CONDITIONS.get(cid, ""))))
            out.append(CatalogueCase(cid, sev, tuple(reqs.split()), title, group, cond, text))
    return tuple(out)


CASES: tuple[CatalogueCase, ...] = _build(_TABLE)
EXTENSION_CASES: tuple[CatalogueCase, ...] = _build(_EXTENSION_TABLE)
_BY_ID = {c.id: c for c in CASES + EXTENSION_CASES}
LYNC_CASES: tuple[CatalogueCase, ...] = tuple(c for c in CASES if c.profile == LYNC)
DIGEST = "sha256:" + hashlib.sha256(json.dumps([c.as_dict() for c in CASES], sort_keys=True,
                                               ensure_ascii=False).encode()).hexdigest()


def get(case_id: str) -> CatalogueCase | None:
    """The catalogue case with this ID, or None."""
    return _BY_ID.get(case_id)


def suites(profile: str | None = LYNC) -> dict[str, list[CatalogueCase]]:
    """Cases by ID suite prefix (``BAS``, ``TRN``, ``OPT``, ... ``ID`` and ``NUM`` apart), in catalogue order;
    ``profile=None`` for both profiles."""
    out: dict[str, list[CatalogueCase]] = {}
    for c in CASES:
        if profile is None or c.profile == profile:
            out.setdefault(c.suite, []).append(c)
    return out


def groups(profile: str | None = LYNC) -> dict[str, list[CatalogueCase]]:
    """Cases by the catalogue's suite headings (``ID/NUM``, ``ST/REL``, ``E911/FAX`` together), in catalogue order."""
    out: dict[str, list[CatalogueCase]] = {}
    for c in CASES:
        if profile is None or c.profile == profile:
            out.setdefault(c.group, []).append(c)
    return out


def condition_applies(case: CatalogueCase | dict, pics: dict | None) -> bool | None:
    """Whether an M* / M† case is mandatory for a DUT with these PICS: True/False, or None when the PICS are unknown.
    Always True for other severities (their severity needs no condition)."""
    sev = case.severity if isinstance(case, CatalogueCase) else case.get("severity")
    if sev not in CONDITIONS:
        return True
    if pics is None:
        return None
    if sev == "M*":
        return bool(pics.get("srtp")) and bool(pics.get("tls"))
    return bool(pics.get("media_bypass"))
