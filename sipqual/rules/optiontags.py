"""RFC3261-21: the option tags a DUT lists in Require, Proxy-Require and Supported are registered ones (RFC 3261
sections 8.1.1.9, 19.2, 27.1), so a misspelled or invented tag is caught before a Lync peer trips over it."""

from __future__ import annotations

from difflib import get_close_matches

from ..dialogs import option_tags
from .registry import Scope, broken, held, rule

#: The IANA "Option Tags" registry of the SIP Parameters (https://www.iana.org/assignments/sip-parameters), with the
#: RFC that registers each tag.
REGISTERED = {
    "100rel": 3262, "199": 6228, "answermode": 5373, "early-session": 3959, "eventlist": 4662, "explicitsub": 7614,
    "from-change": 4916, "geolocation-http": 6442, "geolocation-sip": 6442, "gin": 6140, "gruu": 5627,
    "histinfo": 7044, "ice": 5768, "join": 3911, "multiple-refer": 5368, "norefersub": 4488, "nosub": 7614,
    "outbound": 5626, "path": 3327, "policy": 6794, "precondition": 3312, "pref": 3840, "privacy": 3323,
    "recipient-list-invite": 5366, "recipient-list-message": 5365, "recipient-list-subscribe": 5367,
    "record-aware": 7866, "replaces": 3891, "resource-priority": 4412, "sdp-anat": 4092, "sec-agree": 3329,
    "siprec": 7866, "tdialog": 4538, "timer": 4028, "trickle-ice": 8840, "uui": 7433,
}
#: Vendor tags outside the registry that are not judged in Supported (nobody is required to understand them there);
#: "ms-" tags are Lync's own and are not judged anywhere.
PRIVATE_PREFIXES = ("x-",)
LYNC_PREFIX = "ms-"


def _unknown(tags: set[str], header: str) -> list[str]:
    found = []
    for tag in sorted(tags):
        if tag in REGISTERED or tag.startswith(LYNC_PREFIX):
            continue
        if header == "Supported" and tag.startswith(PRIVATE_PREFIXES):
            continue
        close = get_close_matches(tag, list(REGISTERED), n=1, cutoff=0.75)
        found.append(f"{tag!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return found


@rule("RFC3261-21", "M", Scope.MESSAGE, "option tags in Require, Proxy-Require and Supported are registered with IANA "
      "(8.1.1.9, 19.2, 27.1)")
def registered_option_tags(p, model):
    """Severity by impact: an unknown tag in Require or Proxy-Require makes a Lync peer refuse the request with 420
    Bad Extension (8.2.2.3: the call fails): M. In Supported it only means the extension is not negotiated (the
    vendor loses the feature it meant to offer): R. Vendor tags "x-..." are not judged in Supported, Lync's own
    "ms-..." tags nowhere; the message suggests the registered tag a misspelling is closest to."""
    m = p.msg
    for header, severity in (("Require", None), ("Proxy-Require", None), ("Supported", "R")):
        if not m.has(header):
            continue
        tags = option_tags(m, header)
        want = f"registered option tags in {header}"
        unknown = _unknown(tags, header)
        yield broken(want, f"{header}: {', '.join(m.values(header))} ({', '.join(unknown)} not registered)", p.frame,
                     severity=severity) if unknown else held(want, p.frame)
