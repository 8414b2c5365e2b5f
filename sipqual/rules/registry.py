"""The rule registry: every rule declared once, with its ID, severity, requirement IDs, one-line description and
scope, so the report, the fixture tests and ``sipqual verify`` all read the same table.

A rule function yields one :class:`Outcome` per thing it examined, held or broken. Yielding the held ones too is
what lets a fixture test prove that a passing capture really exercised the rule (a rule that finds nothing to look
at is not a pass), and lets a report say how often each rule applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from ..verdict import Finding, passed, violation

if TYPE_CHECKING:
    from ..dialogs import Model


class Scope(str, Enum):
    """What one call of a rule function looks at; the runner iterates the model accordingly."""

    MESSAGE = "message"            # each SIP message the DUT sent: fn(packet, model)
    TRANSACTION = "transaction"    # each transaction with a DUT end: fn(transaction, model)
    DIALOG = "dialog"              # each dialog (and early dialog) with a DUT end: fn(dialog, model)
    OFFER_ANSWER = "offer-answer"  # each SDP offer/answer exchange with a DUT end: fn(exchange, model)


@dataclass(frozen=True)
class Outcome:
    """One examined item: ``observed`` is None when the rule held."""

    expected: str
    observed: str | None
    frames: tuple[int, ...]
    severity: str | None = None     # None: the rule's own severity


def held(expected: str, *frames: int) -> Outcome:
    return Outcome(expected, None, frames)


def broken(expected: str, observed: str, *frames: int, severity: str | None = None) -> Outcome:
    return Outcome(expected, observed, frames, severity)


PROFILES = ("rfc", "lync")
LIVE_PROFILES = frozenset(PROFILES)      # live qualification judges the RFCs and the Lync profile
RFC_ONLY = frozenset({"rfc"})
PROFILE_LABELS = {"rfc": "", "lync": " (Lync profile)"}


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    requirements: tuple[str, ...]
    description: str
    scope: Scope
    check: Callable[..., Iterable[Outcome]]
    profile: str = "rfc"

    @property
    def label(self) -> str:
        """The rule as findings name it: its ID, and for a profile rule the profile, e.g. "MED-03 (Lync profile)"."""
        return self.id + PROFILE_LABELS[self.profile]

    def finding(self, o: Outcome) -> Finding:
        reqs = list(self.requirements)
        if o.observed is None:
            return passed(self.label, reqs, self.severity, f"held: {o.expected}", list(o.frames))
        return violation(self.label, reqs, o.severity or self.severity, o.expected, o.observed, list(o.frames))


REGISTRY: dict[str, Rule] = {}


def rule(rule_id: str, severity: str, scope: Scope, description: str, requirements: Iterable[str] = (),
         profile: str = "rfc"):
    """Declare a rule; its own ID is always the first requirement it serves."""
    if profile not in PROFILES:
        raise ValueError(f"rule {rule_id}: profile must be one of {PROFILES}, not {profile!r}")

    def register(fn: Callable[..., Iterable[Outcome]]):
        if rule_id in REGISTRY:
            raise ValueError(f"rule {rule_id} declared twice ({REGISTRY[rule_id].check.__name__}, {fn.__name__})")
        REGISTRY[rule_id] = Rule(rule_id, severity, (rule_id, *requirements), description, scope, fn, profile)
        return fn
    return register


def evaluate(model: "Model", rules: Iterable[Rule] | None = None,
             profiles: Iterable[str] = LIVE_PROFILES) -> Iterator[Finding]:
    """Every outcome of every rule of the given profiles on the model, held ones included, in registry order."""
    units = {Scope.MESSAGE: model.sent, Scope.TRANSACTION: model.dut_transactions,
             Scope.DIALOG: model.dut_dialogs, Scope.OFFER_ANSWER: model.dut_exchanges}
    profiles = set(profiles)
    for r in (REGISTRY.values() if rules is None else rules):
        if r.profile not in profiles:
            continue
        for unit in units[r.scope]:
            for outcome in r.check(unit, model):
                yield r.finding(outcome)
