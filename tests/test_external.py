"""External DUTs (``kind: external``): sipqual against "real gear" it did not start and whose namespaces it does
not own.

The gear here is the reference Kamailio + rtpengine, started by this test in a namespace of its own. sipqual runs
inside a second namespace that stands for the QA engineer's machine: two interfaces with the profile's local
addresses, cabled to the gear. sipqual itself creates no namespace in this mode; the test checks that too.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sipqual import netns
from sipqual.lab import Side, Topology, managed_placeholders
from sipqual.pki import create_pki
from sipqual.procs import Supervisor
from sipqual.profile import load_profile

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "lab" / "duts" / "reference-sbc.yaml"
MS, GW_MS = "203.0.113.10", "203.0.113.50"
FAR, GW_FAR = "198.51.100.10", "198.51.100.50"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="building the pretend gear needs root (namespaces)")


class Gear:
    """The reference DUT running as if it were a box in the lab rack: its own namespace, cabled to 'our machine'."""

    def __init__(self, tmp: Path):
        tag = secrets.token_hex(2)
        self.host, self.ns = f"sqx{tag}-host", f"sqx{tag}-gear"
        self.tmp = tmp
        self.ref = load_profile(REFERENCE)
        self.sup = Supervisor(tmp / "gear-state")
        self.pki = None

    def up(self) -> "Gear":
        for ns in (self.host, self.ns):
            netns.add(ns)
        netns.link(self.host, "eth-ms", f"{MS}/24", self.ns, "gw-ms", f"{GW_MS}/24")
        netns.link(self.host, "eth-far", f"{FAR}/24", self.ns, "gw-far", f"{GW_FAR}/24")
        p = self.ref.pixit
        netns.write_hosts(self.ns, {p["mediation"]["pool_fqdn"]: MS, p["mediation"]["server_fqdn"]: MS})
        self.pki = create_pki(self.tmp / "pki", {
            "mediation": {"cn": p["mediation"]["pool_fqdn"],
                          "dns": [p["mediation"]["pool_fqdn"], p["mediation"]["server_fqdn"]]},
            "dut": {"cn": p["dut"]["fqdn"], "dns": [p["dut"]["fqdn"]], "ips": [GW_MS]}})
        return self

    def start(self, transport: str) -> None:
        self.sup.stop_all()
        topo = Topology(ms=Side("ms", self.host, MS, GW_MS, "eth-ms"), far=Side("far", self.host, FAR, GW_FAR, "eth-far"),
                        dut=Side("dut", self.ns, GW_MS, GW_MS, "gw-ms"), hosts={}, capture_interfaces=[],
                        capture_netns=None)
        values = managed_placeholders(self.ref, topo, self.pki, self.tmp / "gear-state", transport)
        log_dir = self.tmp / f"gear-{transport}"
        for spec in self.ref.data["managed"]["processes"]:
            proc = self.sup.start(spec["name"], shlex.split(spec["command"].format(**values)), netns=self.ns,
                                  log_dir=log_dir, cwd=log_dir)
            (proto, target), = spec["ready"].items()
            ip, port = target.format(**values).rsplit(":", 1)
            netns.wait_listening(self.ns, proto.split("_")[0], ip, int(port), timeout=15, what=spec["name"],
                                 alive=proc.alive)

    def profile(self, transports: list[str], dut_address: str = GW_MS) -> Path:
        """A profile as a QA engineer would write it for this box (from the shipped template's shape)."""
        data = yaml.safe_load((ROOT / "lab" / "duts" / "external-template.yaml").read_text())
        ref = self.ref.pixit
        data["identity"] = {"vendor": "Pretend Gear Inc.", "product": "Kamailio in a box", "version": "5.6",
                            "role": "sbc"}
        data["pixit"] = {
            "dut": {"fqdn": ref["dut"]["fqdn"], "address": dut_address, "ports": ref["dut"]["ports"]},
            "mediation": {"pool_fqdn": ref["mediation"]["pool_fqdn"], "server_fqdn": ref["mediation"]["server_fqdn"],
                          "address": MS, "ports": ref["mediation"]["ports"],
                          "tls": {"cert": "pki/mediation.crt", "key": "pki/mediation.key", "ca": "pki/ca.crt"}},
            "far": {"address": FAR, "dut_address": GW_FAR, "transport": "udp", "port": 5060},
            "numbers": ref["numbers"], "transports": transports, "capture_interfaces": ["eth-ms", "eth-far"]}
        data["pics"] = dict(self.ref.pics)  # what the box does (the template claims OPTIONS pings; this box sends none)
        data["pics"]["ipv6"] = False        # this box gets no IPv6 address in the test's namespaces (TC-TRN-10 N/A)
        path = self.tmp / f"gear-{'-'.join(transports)}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def qualify(self, profile: Path, reports: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
        """Run sipqual as a user would, on 'our machine' (the host namespace of this test)."""
        before = set(netns.list_namespaces())
        cp = subprocess.run(["ip", "netns", "exec", self.host, sys.executable, "-m", "pytest", str(ROOT / "suites"),
                             "--dut", str(profile), "--sipqual-reports", str(reports), "-p", "no:cacheprovider",
                             "-q", *extra], capture_output=True, text=True, timeout=300, cwd=ROOT)
        created = {n for n in set(netns.list_namespaces()) - before if n.startswith(netns.PREFIX)
                   and not _owned_by_a_live_run(n)}  # other runs on this machine (parallel labs) are not this one
        assert not created, f"sipqual created namespaces for an external DUT: {created}"
        left = subprocess.run(["ip", "netns", "pids", self.host], capture_output=True, text=True).stdout.split()
        assert left == [], f"sipqual left processes behind on 'our machine': {left}"
        return cp, json.loads((reports / "latest" / "results.json").read_text())

    def down(self) -> None:
        self.sup.stop_all()
        for ns in (self.host, self.ns):
            netns.delete(ns)


@pytest.fixture
def gear(tmp_path):
    g = Gear(tmp_path)
    try:
        yield g.up()
    finally:
        g.down()


def _owned_by_a_live_run(ns: str) -> bool:
    """A namespace another, still running, sipqual run recorded as its own (/run/sipqual/<tag>/owner.json): the run
    under test has exited when this is asked, so a namespace it left has a dead owner."""
    from sipqual.lab import state_root

    for owner in state_root().glob("*/owner.json"):
        try:
            rec = json.loads(owner.read_text())
        except (OSError, ValueError):
            continue
        if ns in rec.get("namespaces", []) and Path(f"/proc/{int(rec.get('pid', 0))}").exists():
            return True
    return False


#: a case of each suite (TC-TRN-04 on TLS only), and TC-OPT-03 and TC-TRN-10, N/A by this box's PICS
EXTERNAL_SAMPLE = ("TC-OPT-01", "TC-OPT-03", "TC-OPT-05", "TC-TRN-01", "TC-TRN-02", "TC-TRN-04", "TC-TRN-10",
                   "TC-BAS-05", "TC-BAS-07", "TC-EM-01", "TC-HLD-01", "TC-REL-01", "TC-ST-03")


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_external_gear_qualifies(gear, tmp_path, transport):
    gear.start(transport)
    # what this proves is the external path (addresses from the profile, capture on our side, nothing else targeted),
    # so a case of each suite, plus the two the box's PICS make N/A; every case on the reference is test_lab.py's job
    cp, res = gear.qualify(gear.profile([transport]), tmp_path / "reports", "-k", " or ".join(EXTERNAL_SAMPLE))
    verdicts = {(c["id"], c["transport"]): (c["verdict"], c["reason"]) for c in res["cases"]}
    ran = {k: v for k, v in verdicts.items() if k[1] == transport and k[0] in EXTERNAL_SAMPLE}
    assert {k[0] for k in ran} == set(EXTERNAL_SAMPLE) - ({"TC-TRN-04"} if transport == "tcp" else set()), ran
    assert all(v[0] == "NOT_RUN" for k, v in verdicts.items() if k[0] not in EXTERNAL_SAMPLE)
    # every case PASSes, but those the box's PICS do not claim (N/A: TC-OPT-03 needs OPTIONS pings it never sends,
    # TC-TRN-10 IPv6, which this box has no address for)
    na = {k for k, v in ran.items() if v[0] == "NA"}
    assert na == {("TC-OPT-03", transport), ("TC-TRN-10", transport)}, ran
    assert "options_ping" in ran[("TC-OPT-03", transport)][1] and "ipv6" in ran[("TC-TRN-10", transport)][1], ran
    assert all(v[0] == "PASS" for k, v in ran.items() if k not in na), (ran, cp.stdout[-3000:], cp.stderr[-2000:])
    other = {k: v for k, v in verdicts.items() if k[1] != transport}
    assert all(v[0] == "NOT_RUN" or (k[0], v[0]) in {("TC-OPT-03", "NA"), ("TC-TRN-10", "NA")}
               for k, v in other.items()), other
    assert res["dut"]["kind"] == "external" and res["lab"]["topology"]["kind"] == "external"
    assert res["lab"]["topology"]["dut"]["address_far_side"] == GW_FAR
    for case in res["cases"]:
        if case["verdict"] == "PASS":  # the capture was taken on our machine's interfaces, both legs
            assert any(e.endswith("capture.pcapng") for e in case["evidence"])
            assert set(case["verification"]["dut_addresses"]) == {GW_MS, GW_FAR}


def test_unreachable_external_dut_is_error_with_one_line(gear, tmp_path):
    """Nobody answers at the profile's DUT address: every case ERROR, saying so in one line; report written."""
    cp, res = gear.qualify(gear.profile(["tcp"], dut_address="203.0.113.99"), tmp_path / "reports", "-k", "OPT")
    opt = [c for c in res["cases"] if c["id"] == "TC-OPT-01" and c["transport"] == "tcp"]
    assert opt and opt[0]["verdict"] == "ERROR", opt
    assert "DUT unreachable: 203.0.113.99:5066 (tcp)" in opt[0]["reason"] and "\n" not in opt[0]["reason"]


def test_gear_dying_mid_run_is_error_not_pass(gear, tmp_path):
    """The box stops answering while a case runs: ERROR (we could not find out), never PASS, and nothing is left."""
    gear.start("tcp")
    reports = tmp_path / "reports"
    proc = subprocess.Popen(["ip", "netns", "exec", gear.host, sys.executable, "-m", "pytest", str(ROOT / "suites"),
                             "--dut", str(gear.profile(["tcp"])), "--sipqual-reports", str(reports),
                             "-p", "no:cacheprovider", "-q", "-k", "TC-TRN-01"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _sipp_running(gear.host):  # the call is being placed: now the gear dies
            assert proc.poll() is None and time.monotonic() < deadline, "the case never started"
            time.sleep(0.05)
        gear.sup.stop_all(grace=0.5)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    res = json.loads((reports / "latest" / "results.json").read_text())
    (case,) = [c for c in res["cases"] if c["id"] == "TC-TRN-01" and c["transport"] == "tcp"]
    assert case["verdict"] == "ERROR", (case, out[-2000:])
    assert "DUT" in case["reason"] and ("stopped answering" in case["reason"] or "unreachable" in case["reason"])
    left = subprocess.run(["ip", "netns", "pids", gear.host], capture_output=True, text=True).stdout.split()
    assert left == []


def _sipp_running(ns: str) -> bool:
    for pid in subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split():
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "sipp":
                return True
        except OSError:
            continue
    return False
