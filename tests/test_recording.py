"""Checks are recorded as they are called, and the record brings them back for replay (sipqual.recording), and the
external-gear topology refuses every target the profile does not name."""

import json

import pytest

from sipqual import checks
from sipqual.errors import LabError
from sipqual.lab import Side, Topology
from sipqual.recording import CHECKS, decode, encode, recording


def test_a_recorded_check_comes_back_identical_through_json():
    spec = checks.CallSpec("T1", "192.0.2.10", "198.51.100.10", "192.0.2.1", "198.51.100.1", "+15550002000",
                           callee_port=5068, callee_transports=("TLS",))
    calls = []
    with recording(calls):
        with pytest.raises(checks.StimulusMissing):  # an empty capture: the stimulus is missing, not a FAIL
            checks.basic_call(_empty_trace(), spec=spec, hangup_by="caller")
    assert calls == [{"check": "basic_call", "args": encode({"spec": spec, "hangup_by": "caller"})}]
    args = decode(json.loads(json.dumps(calls[0]["args"])))
    assert args["spec"] == spec and isinstance(args["spec"].callee_transports, tuple)
    assert CHECKS["basic_call"] is checks.basic_call


def test_nothing_is_recorded_outside_a_case_and_positional_arguments_are_refused():
    calls = []
    with recording(calls):
        pass
    with pytest.raises(checks.StimulusMissing):  # called outside the block: runs, but is not recorded
        checks.options_answered(_empty_trace(), test_id="T", our_ip="192.0.2.10", dut_ip="192.0.2.1")
    with pytest.raises(TypeError, match="by keyword"):
        checks.options_answered(_empty_trace(), "T", "192.0.2.10", "192.0.2.1")
    assert calls == []


def test_unregistered_types_cannot_be_recorded():
    with pytest.raises(TypeError, match="plain data"):
        encode({"x": object()})
    with pytest.raises(ValueError, match="unknown spec type"):
        decode({"$type": "Nope"})


def test_external_topology_refuses_any_target_but_the_profile_addresses():
    topo = Topology(ms=Side("ms", None, "203.0.113.10", "203.0.113.50", "eth1"),
                    far=Side("far", None, "198.51.100.10", "198.51.100.50", "eth2"),
                    dut=Side("dut", None, "203.0.113.50", "203.0.113.50", ""), hosts={},
                    capture_interfaces=["eth1", "eth2"], capture_netns=None)
    for ok in ("203.0.113.50", "198.51.100.50"):
        topo.check_target(ok)
    for bad in ("203.0.113.51", "8.8.8.8", "127.0.0.1", "192.0.2.1"):
        with pytest.raises(LabError, match=f"refusing to send to {bad}"):
            topo.check_target(bad)


def _empty_trace():
    from sipqual.trace import Trace

    return Trace(path=None)
