"""SIP/SDP rule library (requirements.md section 3), run passively on every message the DUT sends.

Rules live in modules by RFC family (and, for the Lync trunk profile's own requirements, :mod:`.lync`) and declare
themselves in :data:`REGISTRY` (ID, severity, requirement IDs, description, scope, profile). ``run_passive(trace,
dut_addresses)`` is the one entry point the live harness (context.py) and ``sipqual verify`` use; ``evaluate`` also
yields the outcomes that held, for reports and fixture tests.

``profiles`` selects which rules apply: ``{"rfc", "lync"}`` (the default, live qualification) or ``{"rfc"}`` (a
capture judged against the RFCs only). ``every_sender=True`` says that ``dut_addresses`` are not the addresses of
one device but each its own device (``sipqual verify`` without a profile judges every sender): a rule then relates
a message only to what the same address sent or received.
"""

from __future__ import annotations

from typing import Iterable

from ..dialogs import Model
from ..trace import Trace
from ..verdict import Finding
from . import extensions, lync, offer_answer, optiontags, rfc3261  # noqa: F401  (importing registers the rules)
from .registry import LIVE_PROFILES, PROFILES, REGISTRY, RFC_ONLY, Rule, Scope, evaluate

__all__ = ["LIVE_PROFILES", "PROFILES", "REGISTRY", "RFC_ONLY", "Rule", "Scope", "evaluate", "run_all",
           "run_passive"]


def run_all(trace: Trace, dut_addresses: set[str], profiles: Iterable[str] = LIVE_PROFILES,
            every_sender: bool = False) -> list[Finding]:
    """Every rule of ``profiles`` on every message, transaction, dialog and offer/answer with a DUT end, and every
    media rule on the streams the DUT sent; held outcomes included."""
    from .media import evaluate_media  # media rules live in their own table (MEDIA_RULES), see rules/media.py

    model = Model(trace, dut_addresses, every_sender=every_sender)
    return list(evaluate(model, profiles=profiles)) + list(evaluate_media(trace, dut_addresses))


def run_passive(trace: Trace, dut_addresses: set[str], profiles: Iterable[str] = LIVE_PROFILES,
                every_sender: bool = False) -> list[Finding]:
    """All rules on everything the DUT sent; returns violations only."""
    return [f for f in run_all(trace, dut_addresses, profiles, every_sender) if not f.ok]
