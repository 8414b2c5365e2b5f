"""Configuration notes, known limitations and the listing row, worded the way Microsoft's published qualified
infrastructure tables worded them ("Disable REFER ...", "Session Timer enabled", "PBX does not generate OPTIONS
ping", "✔+S = Qualified with SRTP & TLS").

Configuration notes come from the DUT profile (PIXIT/PICS): the trunk settings the result depends on. Known
limitations come from the results (recommended/optional cases that failed or could not be verified, cases not
applicable because the DUT does not claim the feature) and from features the profile declares unsupported.
"""

from __future__ import annotations

from dataclasses import dataclass

from .verdicts import Cover, label

CONFIGURATION = {"sbc": "SBC (Direct SIP)", "ip-pbx": "IP-PBX (Direct SIP)", "pstn-gateway": "Gateway (Direct SIP)"}
ROLE = {"sbc": "Session Border Controller", "ip-pbx": "IP-PBX", "pstn-gateway": "PSTN gateway"}

# PICS feature -> (note when claimed, note when not claimed); None: nothing to say
_CONFIG_NOTES = {
    "refer": (None, "Disable REFER support on the Lync Mediation Server trunk (\"Enable sending refer to the gateway\" "
                    "off)."),
    "prack": ("PRACK enabled.", "PRACK disabled."),
    "session_timers": ("Session Timer enabled.", "Session Timer disabled."),
    "media_bypass": ("Media bypass enabled on the trunk.", "Media bypass disabled on the trunk."),
    "srtp": ("Encryption support level (SRTPMode) Required on the trunk.",
             "Encryption support level (SRTPMode) set to Not Supported on the trunk; media is not encrypted."),
}
# PICS feature -> known limitation when the profile does not claim it
_DECLARED_LIMITS = {
    "options_ping": "DUT does not generate OPTIONS ping toward the Mediation Server (impacts failover).",
    "dns_load_balancing": "DNS load balancing toward the Mediation pool is not supported; configure one trunk per "
                          "Mediation Server.",
    "early_media": "No early media: ringback tones and announcements before answer are not passed (no 183 with SDP).",
    "comfort_noise": "No comfort noise generation.",
    "refer": "No transfer by REFER toward the DUT.",
}


@dataclass
class Limitation:
    text: str
    source: str      # "tested" (from a case) or "declared" (from the profile's PICS)


def configuration_notes(profile: dict | None) -> list[str]:
    if not profile:
        return ["DUT profile not recorded with this run: configuration notes unavailable."]
    pixit, pics = profile.get("pixit") or {}, profile.get("pics") or {}
    transports = pixit.get("transports") or []
    dut_ports = (pixit.get("dut") or {}).get("ports") or {}
    ms_ports = (pixit.get("mediation") or {}).get("ports") or {}
    notes = []
    if transports:
        notes.append("Trunk: listening port for IP/PSTN gateway " +
                     ", ".join(f"{dut_ports.get(t, '?')} ({t.upper()})" for t in transports) +
                     "; Mediation Server listening port " +
                     ", ".join(f"{ms_ports.get(t, '?')} ({t.upper()})" for t in transports) + ".")
    if "tls" in transports:
        fqdn = (pixit.get("dut") or {}).get("fqdn", "?")
        notes.append(f"TLS: the gateway is defined by its FQDN {fqdn}; its certificate subject/SAN carries that FQDN "
                     "and is issued by a CA the Mediation pool trusts" +
                     ("; mutual TLS." if pics.get("mtls") else "."))
    elif transports:
        notes.append("TCP only: TLS and SRTP disabled on the trunk.")
    for feature, (on, off) in _CONFIG_NOTES.items():
        note = on if pics.get(feature) else off
        if note:
            notes.append(note)
    if pics.get("codecs"):
        notes.append(f"Codecs: {', '.join(pics['codecs'])} (G.711).")
    return notes


def known_limitations(cases: list[dict], profile: dict | None, severity: dict[str, str] | None = None) \
        -> list[Limitation]:
    """``severity``: case ID -> the severity it counts as for this DUT (:attr:`Cover.coverage`), else as declared."""
    out = []
    pics = (profile or {}).get("pics") or {}
    for c in cases:
        v = c.get("verdict")
        sev = (severity or {}).get(str(c.get("id")), c.get("severity", "M"))
        reason = str(c.get("reason") or "").strip()
        if v == "NA" and _unclaimed_transport(c, pics):
            continue     # one declared limitation below ("TLS not supported ..."), not one per case
        if v == "NA":
            out.append(Limitation(f"{c.get('title', '?')}: not supported ({label(c)}; {reason}).", "tested"))
        elif v in ("FAIL", "ERROR") and sev in ("R", "O"):
            what = "not met" if v == "FAIL" else "could not be verified"
            out.append(Limitation(f"{c.get('title', '?')}: {what} on {label(c)} ({reason}).", "tested"))
    if profile and not pics.get("tls"):
        out.append(Limitation("TLS not supported: qualified on TCP only, without SRTP.", "declared"))
    elif profile and not pics.get("mtls"):
        out.append(Limitation("Mutual TLS not supported (the DUT does not present or request certificates).",
                              "declared"))
    for feature, text in _DECLARED_LIMITS.items():
        if profile and not pics.get(feature):
            out.append(Limitation(text, "declared"))
    return out


def _unclaimed_transport(case: dict, pics: dict) -> bool:
    """An N/A case that is N/A only because the DUT does not claim its transport (TLS without pics.tls)."""
    t = str(case.get("transport") or "")
    return bool(t) and (f"pics.{t})" in str(case.get("reason") or "") or t == "tls" and pics.get("tls") is False)


def listing_row(dut: dict, cover: Cover) -> dict[str, str]:
    """Vendor | Product | Software version | Configuration | mark."""
    return {"Vendor": dut.get("vendor") or "?", "Product": dut.get("product") or "?",
            "Software version": dut.get("version") or "?",
            "Configuration": CONFIGURATION.get(dut.get("role") or "", dut.get("role") or "?"),
            "mark": f"{cover.mark} {cover.mark_text}".strip()}
