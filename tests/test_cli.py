"""The command line: `sipqual pki` for real gear, `sipqual verify` writing the results.json shape."""

import json
import os
from pathlib import Path

import pytest

from sipqual.cli import main
from sipqual.pki import cert_info

# ../shared beside the checkout (the project layout); SIPQUAL_SHARED points elsewhere (e.g. from a worktree)
SHARED = Path(os.environ.get("SIPQUAL_SHARED") or Path(__file__).resolve().parents[2] / "shared") / "captures"


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


def test_pki_puts_the_mediation_address_and_given_names_in_the_san(tmp_path, capsys):
    d = tmp_path / "pki"
    assert main(["pki", str(d), "--pool", "mspool.lab.example", "--server", "ms1.lab.example", "--name",
                 "ms.lab.example", "--ms-ip", "203.0.113.10", "--ms-ip", "2001:db8::10", "--dut", "gw1.lab.example"]) == 0
    pool = cert_info(d / "mediation.crt")
    assert pool["san_dns"] == ["mspool.lab.example", "ms1.lab.example", "ms.lab.example"]
    assert pool["san_ip"] == ["203.0.113.10", "2001:db8::10"] and pool["subject_cn"] == "mspool.lab.example"
    assert "203.0.113.10" in capsys.readouterr().out
    assert main(["pki", str(tmp_path / "bad"), "--pool", "p.lab.example", "--ms-ip", "ms1", "--dut", "g.example"]) == 2
    assert "not an IP address" in capsys.readouterr().err and not (tmp_path / "bad").exists()


# ---- sipqual verify: exit codes 0 PASS, 1 FAIL, 2 ERROR or usage; TLS legs that were not decrypted ----

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sip"


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("sipqual: error:") and "\n" not in err, err
    return err


@pytest.mark.parametrize("content, expect", [
    (None, "does not exist"), ("", "is empty"), ("hello\nworld\n", "not an NSS key log")])
def test_verify_refuses_a_bad_key_log_in_one_line(tmp_path, capsys, content, expect):
    keylog = tmp_path / "keys.log"
    if content is not None:
        keylog.write_text(content)
    assert main(["verify", str(FIXTURES / "good-options.pcapng"), "--keylog", str(keylog)]) == 2
    assert expect in _one_line_error(capsys)


def test_verify_refuses_a_tls_key_that_is_no_private_key(tmp_path, capsys):
    (tmp_path / "k.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    assert main(["verify", str(FIXTURES / "good-options.pcapng"), "--tls-key", str(tmp_path / "k.pem")]) == 2
    assert "not a PEM private key" in _one_line_error(capsys)


def test_verify_exit_codes_pass_fail_error(tmp_path, capsys):
    assert main(["verify", str(FIXTURES / "good-options.pcapng"), "--dut-ip", "192.0.2.1"]) == 0
    assert "PASS" in capsys.readouterr().out
    assert main(["verify", str(FIXTURES / "fail-RFC3261-17.pcapng"), "--dut-ip", "192.0.2.1"]) == 1
    assert "FAIL" in capsys.readouterr().out
    assert main(["verify", str(FIXTURES / "good-options.pcapng"), "--dut-ip", "192.0.2.99"]) == 2   # nothing judged
    assert "ERROR" in capsys.readouterr().out
    assert main(["verify", str(FIXTURES / "good-options.pcapng"), "--no-such-option"]) == 2
    _one_line_error(capsys)


def test_truncated_capture_is_incomplete_never_pass(tmp_path, capsys):
    whole = FIXTURES / "good-uas-call.pcapng"
    assert main(["verify", str(whole), "--dut-ip", "192.0.2.1"]) == 0
    capsys.readouterr()
    data = whole.read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(data[:len(data) - 40])          # the file ends inside its last packet
    assert main(["verify", str(cut), "--dut-ip", "192.0.2.1", "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == "ERROR" and doc["reason"].startswith("incomplete: the capture is truncated"), doc


@pytest.fixture(scope="module")
def tls_pki(tmp_path_factory):
    from sipqual.pki import create_pki

    return create_pki(tmp_path_factory.mktemp("pki"), {
        "mediation": {"cn": "mspool.lab.example", "dns": ["mspool.lab.example"]},
        "dut": {"cn": "sbc.lab.example", "dns": ["sbc.lab.example"]}})


def _tls_wire(tmp_path, pki, **kw):
    from tlswire import DUT, MS, Side, options_pair, tls_capture

    ms = Side(MS, 40001, pki.certs["mediation"].cert, pki.certs["mediation"].key, pki.ca.cert)
    dut = Side(DUT, 5061, pki.certs["dut"].cert, pki.certs["dut"].key, pki.ca.cert)
    return tls_capture(tmp_path, ms, dut, messages=options_pair(MS, DUT), **kw)


def _verify_json(capsys, *argv) -> tuple[int, dict]:
    rc = main(["verify", *map(str, argv), "--dut-ip", "192.0.2.1", "--tls-port", "5061", "--json"])
    return rc, json.loads(capsys.readouterr().out)


def test_tls_leg_not_decrypted_is_reported_and_never_pass(tmp_path, capsys, tls_pki):
    w = _tls_wire(tmp_path, tls_pki)
    rc, doc = _verify_json(capsys, w.pcap, "--keylog", w.keylog)
    assert (rc, doc["verdict"]) == (0, "PASS") and doc["sip_messages"] == 2
    rc, doc = _verify_json(capsys, w.pcap)
    assert (rc, doc["verdict"]) == (2, "ERROR"), doc
    assert "not decrypted" in doc["reason"] and "port 5061" in doc["reason"] and "no key log given" in doc["reason"]
    other = tmp_path / "other.log"
    other.write_text("CLIENT_RANDOM " + "ab" * 32 + " " + "cd" * 48 + "\n")
    rc, doc = _verify_json(capsys, w.pcap, "--keylog", other)
    assert (rc, doc["verdict"]) == (2, "ERROR") and "matches no client random" in doc["reason"], doc


def test_rsa_key_exchange_needs_the_servers_key(tmp_path, capsys, tls_pki):
    w = _tls_wire(tmp_path, tls_pki, version="1.2", ciphers="AES128-SHA256")   # TLS_RSA_WITH_AES_128_CBC_SHA256
    rc, doc = _verify_json(capsys, w.pcap)
    assert (rc, doc["verdict"]) == (2, "ERROR") and "RSA key exchange" in doc["reason"] and "--tls-key" in doc["reason"]
    rc, doc = _verify_json(capsys, w.pcap, "--tls-key", tls_pki.certs["dut"].key)
    assert (rc, doc["verdict"], doc["sip_messages"]) == (0, "PASS", 2), doc


def test_lync_flag_applies_the_client_certificate_demand(tmp_path, capsys, tls_pki):
    from tlswire import DUT, MS, Side, options_pair, tls_capture

    # the DUT as TLS client without a certificate; our server does not ask for one
    w = tls_capture(tmp_path, Side(DUT, 40001), Side(MS, 5061, tls_pki.certs["mediation"].cert,
                                                     tls_pki.certs["mediation"].key), messages=options_pair(DUT, MS))
    rc, doc = _verify_json(capsys, w.pcap, "--keylog", w.keylog)
    assert (rc, doc["verdict"]) == (0, "PASS"), doc
    rc, doc = _verify_json(capsys, w.pcap, "--keylog", w.keylog, "--lync")
    assert (rc, doc["verdict"]) == (1, "FAIL") and "TLS-01" in doc["reason"] and "Lync profile" in doc["reason"]


def test_transport_option_runs_one_transport(tmp_path):
    """`--transport tcp` (pytest option, and `sipqual qualify --transport`): the TLS cases are NOT_RUN with the reason,
    decided before any lab fixture runs (so this needs no lab)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    argv = [sys.executable, "-m", "pytest", str(root / "suites"), "--dut", str(root / "lab/duts/reference-sbc.yaml"),
            "--transport", "tcp", "-k", "TC-OPT-01 and tls", "--sipqual-reports", str(tmp_path), "-p",
            "no:cacheprovider", "-q"]
    cp = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=120)
    doc = json.loads(next(tmp_path.glob("2*/results.json")).read_text())
    (tls,) = [c for c in doc["cases"] if c["id"] == "TC-OPT-01" and c["transport"] == "tls"]
    assert (tls["verdict"], tls["reason"]) == ("NOT_RUN", "transport tls is not selected by --transport tcp"), cp.stdout
    bad = subprocess.run(argv[:6] + ["--transport", "udp"], cwd=root, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "invalid choice" in bad.stderr


def test_only_sip_tls_legs_count_as_not_decrypted():
    from sipqual.tlsrecords import TlsAccount

    acct = TlsAccount()
    hello = bytes([22, 3, 3, 0, 40]) + bytes([1, 0, 0, 36, 3, 3]) + bytes(range(32)) + b"\0\0"
    for server in ("192.0.2.1:5061", "192.0.2.1:443"):
        acct.frame(1, "192.0.2.10:40000", server, [hello], [22], [], 0)
        acct.frame(2, "192.0.2.10:40000", server, [bytes([23, 3, 3, 0, 1, 0])], [23], [], 0)
    assert len(acct.undecrypted(None, False)) == 2
    ((conn, why),) = acct.undecrypted(None, False, {5061})
    assert conn.server == "192.0.2.1:5061" and conn.app_records == 1 and why == "no key log given (--keylog)"
    ((_, why),) = acct.undecrypted({"ab" * 32}, False, {5061})
    assert why.startswith("the key log matches no client random") and bytes(range(32)).hex()[:16] in why
