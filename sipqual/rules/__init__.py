"""SIP/SDP rule library (requirements.md section 3), run passively on every message the DUT sends.

Rules live in modules by RFC family and declare themselves in :data:`REGISTRY` (ID, severity, requirement IDs,
description, scope). ``run_passive(trace, dut_addresses)`` is the one entry point the live harness (context.py) and
``sipqual verify`` use; ``evaluate`` also yields the outcomes that held, for reports and fixture tests.
"""

from __future__ import annotations

from ..dialogs import Model
from ..trace import Trace
from ..verdict import Finding
from . import extensions, offer_answer, rfc3261  # noqa: F401  (importing a rule module registers its rules)
from .registry import REGISTRY, Rule, Scope, evaluate

__all__ = ["REGISTRY", "Rule", "Scope", "evaluate", "run_all", "run_passive"]


def run_all(trace: Trace, dut_addresses: set[str]) -> list[Finding]:
    """Every rule on every message, transaction, dialog and offer/answer with a DUT end, and every media rule on
    the streams the DUT sent; held outcomes included."""
    from .media import evaluate_media  # media rules live in their own table (MEDIA_RULES), see rules/media.py

    return list(evaluate(Model(trace, dut_addresses))) + list(evaluate_media(trace, dut_addresses))


def run_passive(trace: Trace, dut_addresses: set[str]) -> list[Finding]:
    """All rules on everything the DUT sent; returns violations only."""
    return [f for f in run_all(trace, dut_addresses) if not f.ok]
