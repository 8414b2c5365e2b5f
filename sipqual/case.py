"""Declaring a qualification test case: one decorator, the catalogue IDs, and applicability.

    @case("TC-OPT-01", "DUT answers OPTIONS with 200 and Allow/Supported",
          requirements=["OPT-01", "OPT-02"], severity="M")
    def test_options(sq):
        ...

``needs`` lists PICS features the case depends on: when the DUT profile does not claim one, the case is N/A.
``transports`` limits a case to some transports (``["tls"]`` for a TLS handshake case): the case then has no
instance on the others at all (nothing to run, nothing NOT_RUN), rather than an instance that could only be skipped.
``long=True`` says the case waits out a protocol timer (a session interval, 64·T1) and so runs far longer than the
others: a parallel run starts it first (:mod:`sipqual.parallel`) instead of leaving it to the end of the run.
Declaring the same case ID twice is an error at import time, so the report can never merge two cases.

The ID must be one of the requirement catalogue's (:mod:`sipqual.catalogue`, requirements.md section 6), and the
declared severity must be the catalogue's, as :attr:`~sipqual.catalogue.CatalogueCase.declared_severity` spells it:
``M``, ``R``, ``O`` or ``I`` as written; ``M`` for the conditional ``M*`` (SRTP & TLS) and ``M†`` (media bypass)
cases, because whether the condition holds is a property of the DUT, judged against its PICS when the run is
judged (:mod:`sipqual.report.verdicts`), not of the case; ``I`` for the SIPconnect add-ons (``SC``), which never
change the Lync cover. Leave ``severity`` out to take the catalogue's. Anything else is a ValueError at import time.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from . import catalogue
from .profile import PICS_FEATURES

CASE_ID = re.compile(r"^TC-[A-Z0-9]+-\d{2}$")
REQ_ID = re.compile(r"^(?:[A-Z0-9]+-\d{2}|RFC\d{4}(?:-\d{2})?)$")   # bare RFC4475: suite ROB's catalogue rows
_REGISTRY: dict[str, str] = {}
SUITES = Path(__file__).resolve().parent.parent / "suites"


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
    transports: tuple[str, ...] = ()   # empty: every transport; else only these (e.g. a TLS handshake case)
    long: bool = False                 # waits out a protocol timer: parallel runs start it first
    destructive: bool = False          # may crash or hang the device (suite ROB): opt-in for real gear


def case(case_id: str, title: str, *, requirements: list[str], severity: str | None = None, needs: list[str] = (),
         procedure: str = "", expected: str = "", transports: list[str] = (), long: bool = False,
         destructive: bool = False):
    """Mark a test function as qualification case ``case_id`` (see module docstring)."""
    if not CASE_ID.match(case_id):
        raise ValueError(f"case id {case_id!r} does not look like TC-XXX-NN")
    entry = catalogue.get(case_id)
    if entry is None:
        raise ValueError(f"{case_id} is not in the requirement catalogue (requirements.md section 6, "
                         "sipqual/catalogue.py): take the ID of the catalogue case this test implements")
    if severity is None:
        severity = entry.declared_severity
    elif severity != entry.declared_severity:
        raise ValueError(f"{case_id}: severity {severity!r} differs from the catalogue's {entry.severity} "
                         f"(declare {entry.declared_severity!r} or leave severity out)")
    bad = [r for r in requirements if not REQ_ID.match(r)]
    if bad or not requirements:
        raise ValueError(f"{case_id}: requirement IDs must come from the catalogue (e.g. OPT-01, RFC3261-03): {bad}")
    unknown = [n for n in needs if n not in PICS_FEATURES]
    if unknown:
        raise ValueError(f"{case_id}: unknown PICS feature(s) {unknown}; known: {PICS_FEATURES}")
    if severity not in ("M", "R", "O", "I"):
        raise ValueError(f"{case_id}: severity must be M, R, O or I")
    if any(t not in ("tcp", "tls") for t in transports):
        raise ValueError(f"{case_id}: transports must be among tcp, tls: {list(transports)}")
    info = CaseInfo(case_id, title, tuple(requirements), severity, tuple(needs), procedure, expected,
                    transports=tuple(transports), long=bool(long),
                    destructive=bool(destructive))

    def wrap(fn):
        where = f"{fn.__module__}.{fn.__qualname__}"
        if _REGISTRY.get(case_id, where) != where:
            raise ValueError(f"case {case_id} declared twice: {_REGISTRY[case_id]} and {where}")
        _REGISTRY[case_id] = where
        return pytest.mark.sipqual_case(info)(fn)

    return wrap


def implemented_case_ids(suites_dir: Path = SUITES) -> set[str]:
    """Case IDs this sipqual implements: every ``@case("TC-...")`` in ``suites_dir`` (read, not imported, so a run
    that collects only some suites still knows the others) and every case declared in this process."""
    ids = set(_REGISTRY)
    for path in sorted(Path(suites_dir).glob("**/*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for dec in node.decorator_list:
                    f = dec.func if isinstance(dec, ast.Call) else None
                    name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                    if name == "case" and dec.args and isinstance(dec.args[0], ast.Constant) \
                            and isinstance(dec.args[0].value, str) and CASE_ID.match(dec.args[0].value):
                        ids.add(dec.args[0].value)
    return ids


def case_info(item) -> CaseInfo | None:
    m = item.get_closest_marker("sipqual_case")
    return m.args[0] if m else None
