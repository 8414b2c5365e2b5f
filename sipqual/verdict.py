"""Verdicts and findings: the vocabulary every check, the plugin and the report share.

A :class:`Finding` is one statement about the capture, tied to a rule, the requirement IDs it serves, a severity
(M mandatory, R recommended, O optional, I informational) and the frames that prove it. ``ok=False`` findings are
violations; the message always reads "expected X, observed Y (frame N)".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


class Verdict(str, Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    NA = "NA"
    ERROR = "ERROR"
    NOT_RUN = "NOT_RUN"


SEVERITIES = ("M", "R", "O", "I")


@dataclass
class Finding:
    rule: str
    requirements: list[str]
    severity: str
    message: str
    frames: list[int] = field(default_factory=list)
    ok: bool = False

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")

    def as_dict(self) -> dict:
        return asdict(self)


def violation(rule: str, reqs: list[str] | str, sev: str, expected: str, observed: str,
              frames: list[int] | int | None = None) -> Finding:
    """A failed check, worded the one way the report expects."""
    frames = [frames] if isinstance(frames, int) else list(frames or [])
    where = f" (frame {', '.join(map(str, frames))})" if frames else ""
    reqs = [reqs] if isinstance(reqs, str) else list(reqs)
    return Finding(rule, reqs, sev, f"{rule}: expected {expected}, observed {observed}{where}", frames)


def passed(rule: str, reqs: list[str] | str, sev: str, what: str, frames: list[int] | int | None = None) -> Finding:
    frames = [frames] if isinstance(frames, int) else list(frames or [])
    reqs = [reqs] if isinstance(reqs, str) else list(reqs)
    where = f" (frame {', '.join(map(str, frames))})" if frames else ""
    return Finding(rule, reqs, sev, f"{rule}: {what}{where}", frames, ok=True)


def failures(findings: list[Finding], severities: tuple[str, ...] = ("M", "R", "O", "I")) -> list[Finding]:
    return [f for f in findings if not f.ok and f.severity in severities]


def capture_failures(active: list[Finding], passive: list[Finding]) -> list[Finding]:
    """The one rule that turns findings into FAIL, live and on replay: a violated active check of any severity
    (the case asked for it), or a violated mandatory passive rule."""
    return failures(active) + failures(passive, ("M",))
