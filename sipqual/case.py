"""Declaring a qualification test case: one decorator, the catalogue IDs, and applicability.

    @case("TC-OPT-01", "DUT answers OPTIONS with 200 and Allow/Supported",
          requirements=["OPT-01", "OPT-02"], severity="M")
    def test_options(sq):
        ...

``needs`` lists PICS features the case depends on: when the DUT profile does not claim one, the case is N/A.
Declaring the same case ID twice is an error at import time, so the report can never merge two cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from .profile import PICS_FEATURES

CASE_ID = re.compile(r"^TC-[A-Z0-9]+-\d{2}$")
REQ_ID = re.compile(r"^(?:[A-Z0-9]+-\d{2}|RFC\d{4}-\d{2})$")
_REGISTRY: dict[str, str] = {}


@dataclass(frozen=True)
class CaseInfo:
    id: str
    title: str
    requirements: tuple[str, ...]
    severity: str
    needs: tuple[str, ...] = ()
    procedure: str = ""
    expected: str = ""
    extra: dict = field(default_factory=dict)


def case(case_id: str, title: str, *, requirements: list[str], severity: str = "M", needs: list[str] = (),
         procedure: str = "", expected: str = ""):
    """Mark a test function as qualification case ``case_id`` (see module docstring)."""
    if not CASE_ID.match(case_id):
        raise ValueError(f"case id {case_id!r} does not look like TC-XXX-NN")
    bad = [r for r in requirements if not REQ_ID.match(r)]
    if bad or not requirements:
        raise ValueError(f"{case_id}: requirement IDs must come from the catalogue (e.g. OPT-01, RFC3261-03): {bad}")
    unknown = [n for n in needs if n not in PICS_FEATURES]
    if unknown:
        raise ValueError(f"{case_id}: unknown PICS feature(s) {unknown}; known: {PICS_FEATURES}")
    if severity not in ("M", "R", "O", "I"):
        raise ValueError(f"{case_id}: severity must be M, R, O or I")
    info = CaseInfo(case_id, title, tuple(requirements), severity, tuple(needs), procedure, expected)

    def wrap(fn):
        where = f"{fn.__module__}.{fn.__qualname__}"
        if _REGISTRY.get(case_id, where) != where:
            raise ValueError(f"case {case_id} declared twice: {_REGISTRY[case_id]} and {where}")
        _REGISTRY[case_id] = where
        return pytest.mark.sipqual_case(info)(fn)

    return wrap


def case_info(item) -> CaseInfo | None:
    m = item.get_closest_marker("sipqual_case")
    return m.args[0] if m else None
