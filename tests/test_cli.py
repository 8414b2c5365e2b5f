"""The command line: `sipqual pki` for real gear, `sipqual verify` writing the results.json shape."""

import json
from pathlib import Path

import pytest

from sipqual.cli import main
from sipqual.pki import cert_info

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "captures"


def test_pki_for_real_gear_is_made_once_and_never_overwritten(tmp_path, capsys):
    d = tmp_path / "pki"
    assert main(["pki", str(d), "--pool", "mspool.lab.example", "--server", "ms1.lab.example",
                 "--dut", "gw1.lab.example", "--dut-ip", "203.0.113.50"]) == 0
    pool, dut = cert_info(d / "mediation.crt"), cert_info(d / "dut.crt")
    assert pool["san_dns"] == ["mspool.lab.example", "ms1.lab.example"] and pool["issuer_cn"] == "Lab Test CA"
    assert dut["san_ip"] == ["203.0.113.50"]
    assert "pixit.mediation.tls" in capsys.readouterr().out
    assert main(["pki", str(d), "--pool", "x.lab.example", "--dut", "y.lab.example"]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert cert_info(d / "mediation.crt")["sha256"] == pool["sha256"]


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/captures is not beside this checkout")
def test_verify_writes_the_results_shape_for_a_field_capture(tmp_path, capsys):
    cap = SHARED / "heplify--sip_ipv4_tcp.pcap"
    rc = main(["verify", str(cap), "--results", str(tmp_path), "--tcp-port", "5060"])
    doc = json.loads((tmp_path / "results.json").read_text())
    (case,) = doc["cases"]
    assert case["id"] == "VERIFY" and case["verdict"] in ("PASS", "FAIL")
    assert rc == (0 if case["verdict"] == "PASS" else 1)
    assert doc["lab"]["capture"]["sip_messages"] > 0 and doc["schema_version"].startswith("1.")
    assert str(cap) in case["evidence"]


def test_verify_of_a_missing_capture_is_one_line(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "nope.pcapng")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sipqual: error:") and "\n" not in err
