"""Stimuli: what the suite's agents do to the DUT, one module per suite (:mod:`.opt`, :mod:`.calls`, :mod:`.bas`,
...). A flow is a function of the case's context (``sq``, :class:`sipqual.context.CaseContext`): it starts agents on
either side of the DUT with ``sq.ms_client``/``sq.ms_server``/``sq.far_client``/``sq.far_server`` (SIPp scenarios from
``scenarios/``, keyed by what the flow passes) and waits for them with ``sq.wait_all()``. Checks live apart, in
:mod:`sipqual.checks`; a case in ``suites/`` calls one flow, ``sq.finish()`` and one check.
"""

from . import bas, byp, calls, em, fea, fo, hld, ident, med, opt, pool, rel, rob, sec, srtp, st, trn, xfr

__all__ = ["bas", "byp", "calls", "em", "fea", "fo", "hld", "ident", "med", "opt", "pool", "rel", "rob", "sec", "srtp",
           "st", "trn", "xfr"]
