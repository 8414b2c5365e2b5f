"""Duration profiles: how long the long-running cases last.

- ``quick`` (the default; CI and development): short calls and holds, and the protocol's own minimum timers
  (Min-SE 90 s), so a whole run fits in minutes. Behaviour that only shows after a long time is exercised at the
  shortest duration the protocol allows.
- ``full``: the catalogue's durations (the 40-minute call of TC-BAS-13, the 90 s hold of TC-HLD-04, ...). Only a
  run with the full profile can earn a listing mark (:mod:`sipqual.report.verdicts`).

A case states both figures where it needs one, so the case itself documents what each profile does::

    hold = sq.seconds(quick=2, full=90)
"""

from __future__ import annotations

QUICK = "quick"
FULL = "full"
PROFILES = (QUICK, FULL)
DEFAULT = QUICK

DESCRIPTION = {
    QUICK: "quick: short calls and holds, the protocol's minimum timers (CI and development; no listing mark)",
    FULL: "full: the catalogue's durations (40-minute call, 90 s hold); the only profile that can earn a listing mark",
}


def seconds(profile: str, quick: float, full: float) -> float:
    """The duration for ``profile``: ``quick`` or ``full`` seconds."""
    if profile not in PROFILES:
        raise ValueError(f"unknown duration profile {profile!r} (one of {', '.join(PROFILES)})")
    return float(full if profile == FULL else quick)


#: how long one case's capture and relays may live at most, per profile: quick cases take minutes at most (the
#: session-timer cases about 100 s), full ones up to the 40-minute call of TC-BAS-13 and 1800 s session intervals
CASE_BOUND_S = {QUICK: 300, FULL: 3000}


def case_bound(profile: str) -> int:
    """The bound (seconds) on a case's capture and TLS relays in ``profile``."""
    return CASE_BOUND_S.get(profile, CASE_BOUND_S[FULL])
