"""The capture reader and `sipqual verify` on real captures from other projects and real gear (../shared/captures):
every file is read without crashing or hanging, what is in it is found, and no tshark is left behind."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sipqual.trace import read_trace

# ../shared beside the checkout (the project layout); SIPQUAL_SHARED points elsewhere (e.g. from a worktree)
CAPTURES = Path(os.environ.get("SIPQUAL_SHARED") or Path(__file__).resolve().parents[2] / "shared") / "captures"
FILES = sorted(p for p in CAPTURES.glob("*.pcap*")) if CAPTURES.is_dir() else []
needs_shared = pytest.mark.skipif(not FILES, reason="../shared/captures is not beside this checkout")


def tsharks() -> set[int]:
    """tshark processes that are children of this process (a global process search would also see other test
    workers' and other users' tshark)."""
    me, found = os.getpid(), set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" (", 1)
        except OSError:
            continue                  # gone meanwhile
        comm, fields = rest.rsplit(") ", 1)
        if comm == "tshark" and int(fields.split()[1]) == me:
            found.add(int(pid))
    return found


@needs_shared
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_reader_handles_every_shared_capture(path):
    keylog = CAPTURES / "ng911--BCF_010_sip_sslkeys.log" if "tls" in path.name else None
    tr = read_trace(path, keylog, [5061] if keylog else [], [5060])
    assert tr.sip, f"no SIP found in {path.name}"
    assert all(p.msg.call_id for p in tr.sip if not p.msg.defects), "a clean message without Call-ID"
    assert not tsharks()


@needs_shared
def test_known_contents():
    tr = read_trace(CAPTURES / "heplify--sip_ipv4_tcp.pcap", sip_tcp_ports=[5060])
    assert [p.msg.method or p.msg.status for p in tr.sip] == ["INVITE", 100, 180, 200, "ACK", "BYE", 200]
    assert len({(s.src, s.dst) for s in tr.rtp}) == 2 and {pt for s in tr.rtp for pt in s.payload_types} == {8, 13}
    tls = read_trace(CAPTURES / "ng911--BCF_010_tls_sip.pcap", CAPTURES / "ng911--BCF_010_sip_sslkeys.log", [5061])
    assert {p.transport for p in tls.sip} == {"TLS"} and tls.requests("INVITE")
    compact = read_trace(CAPTURES / "suricata--sip_compact_form.pcap")
    assert compact.sip[0].msg.call_id and compact.sip[0].msg.vias[0].branch
    large = read_trace(CAPTURES / "suricata--sip-body-large.pcap", sip_tcp_ports=[5060])
    inv = large.requests("INVITE")[0].msg
    assert len(inv.body) == inv.content_length and inv.content_length > 1400  # reassembled across segments
    bad = read_trace(CAPTURES / "zeek--invalid-content-length.pcap")
    assert any("Content-Length" in d for p in bad.sip for d in p.msg.defects)


@needs_shared
def test_verify_cli_on_a_real_capture():
    cp = subprocess.run([sys.executable, "-m", "sipqual.cli", "verify", str(CAPTURES / "zeek--invalid-content-length.pcap"),
                         "--json"], capture_output=True, text=True, timeout=60)
    assert cp.returncode == 1 and '"RFC3261-17"' in cp.stdout


@needs_shared
def test_verify_reports_a_tls_capture_it_cannot_decrypt():
    """The same real TLS 1.3 capture: judged with its key log; without it, every TLS connection is reported (records,
    port, why) and the verdict is ERROR (exit 2), never PASS."""
    cap, keys = CAPTURES / "ng911--BCF_010_tls_sip.pcap", CAPTURES / "ng911--BCF_010_sip_sslkeys.log"
    base = [sys.executable, "-m", "sipqual.cli", "verify", str(cap), "--tls-port", "5061", "--json"]
    cp = subprocess.run(base + ["--keylog", str(keys)], capture_output=True, text=True, timeout=120)
    doc = json.loads(cp.stdout)
    assert doc["sip_messages"] > 0 and "not decrypted" not in cp.stdout
    assert cp.returncode == {"PASS": 0, "FAIL": 1}[doc["verdict"]]
    cp = subprocess.run(base, capture_output=True, text=True, timeout=120)
    doc = json.loads(cp.stdout)
    assert (cp.returncode, doc["verdict"], doc["sip_messages"]) == (2, "ERROR", 0), doc
    assert "TLS not decrypted" in doc["reason"] and "port 5061" in doc["reason"] and "no key log" in doc["reason"]
    assert not tsharks()
