"""sipqual.pki: a fresh lab PKI per run, checked with the openssl command line itself."""

from __future__ import annotations

import datetime as dt
import hashlib
import ssl
import stat
import subprocess

import pytest

from sipqual.pki import Cert, PkiError, cert_info, create_pki

HOSTS = {
    "mediation": {"cn": "mspool.lab.example", "dns": ["mspool.lab.example", "ms1.lab.example"],
                  "ips": ["192.0.2.10"]},
    "dut": {"cn": "sbc.lab.example", "dns": ["sbc.lab.example"], "ips": ["192.0.2.20", "2001:db8::20"]},
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    # how long creating the PKI takes is a benchmark figure (bench/lab_timings.py: the lab start's "pki"), never a
    # timed test: on a loaded CI machine a bound only measures the load
    return create_pki(tmp_path_factory.mktemp("pki"), HOSTS)


def verify(ca_file, cert_file) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", "verify", "-CAfile", str(ca_file), str(cert_file)],
                          capture_output=True, text=True, timeout=30)


def text(cert_file) -> str:
    return subprocess.run(["openssl", "x509", "-in", str(cert_file), "-noout", "-text"],
                          capture_output=True, text=True, check=True, timeout=30).stdout


def test_files_and_dataclasses(pki):
    d = pki.dir
    for f in ("ca.crt", "ca.key", "ca-bundle.crt", "rogue-ca.crt", "rogue-ca.key",
              "mediation.crt", "mediation.key", "dut.crt", "dut.key"):
        assert (d / f).is_file(), f
    assert pki.ca.cert == d / "ca.crt" and pki.ca.subject_cn == "Lab Test CA"
    assert pki.rogue_ca.subject_cn == "Rogue Test CA"
    med = pki.certs["mediation"]
    assert isinstance(med, Cert)
    assert (med.name, med.cert, med.key) == ("mediation", d / "mediation.crt", d / "mediation.key")
    assert med.subject_cn == "mspool.lab.example"
    assert med.san_dns == ["mspool.lab.example", "ms1.lab.example"] and med.san_ip == ["192.0.2.10"]
    assert med.issuer == "Lab Test CA"
    assert "BEGIN CERTIFICATE" in (d / "ca-bundle.crt").read_text()
    assert (d / "ca-bundle.crt").read_text() == (d / "ca.crt").read_text()  # lab CA only, never the rogue one


def test_key_files_are_private(pki):
    keys = sorted(pki.dir.glob("*.key"))
    assert len(keys) == 4
    for k in keys:
        assert stat.S_IMODE(k.stat().st_mode) == 0o600, k


def test_chain_verifies(pki):
    for name in ("mediation", "dut"):
        for ca_file in (pki.ca.cert, pki.dir / "ca-bundle.crt"):
            res = verify(ca_file, pki.certs[name].cert)
            assert res.returncode == 0 and res.stdout.strip().endswith(": OK"), res.stdout + res.stderr


def test_ca_extensions(pki):
    for ca in (pki.ca, pki.rogue_ca):
        t = text(ca.cert)
        assert "CA:TRUE" in t and "Certificate Sign, CRL Sign" in t
        assert f"Issuer: CN = {ca.subject_cn}" in t and f"Subject: CN = {ca.subject_cn}" in t


def test_leaf_extensions(pki):
    t = text(pki.certs["dut"].cert)
    assert "Public-Key: (2048 bit)" in t and "rsaEncryption" in t
    assert "X509v3 Key Usage: critical\n                Digital Signature, Key Encipherment" in t
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in t
    assert "CA:FALSE" in t
    assert "DNS:sbc.lab.example, IP Address:192.0.2.20, IP Address:2001:DB8:0:0:0:0:0:20" in t
    assert "Issuer: CN = Lab Test CA" in t and "Subject: CN = sbc.lab.example" in t


def test_cert_info(pki):
    info = cert_info(pki.certs["mediation"].cert)
    assert info["subject_cn"] == "mspool.lab.example"
    assert info["issuer_cn"] == "Lab Test CA"
    assert info["san"] == ["DNS:mspool.lab.example", "DNS:ms1.lab.example", "IP:192.0.2.10"]
    assert info["san_dns"] == ["mspool.lab.example", "ms1.lab.example"] and info["san_ip"] == ["192.0.2.10"]
    assert cert_info(pki.certs["dut"].cert)["san_ip"] == ["192.0.2.20", "2001:db8::20"]
    der = ssl.PEM_cert_to_DER_cert(pki.certs["mediation"].cert.read_text())
    want = hashlib.sha256(der).hexdigest().upper()
    assert info["sha256"].replace(":", "") == want
    now = dt.datetime.now(dt.timezone.utc)
    nb = dt.datetime.fromisoformat(info["not_before"].replace("Z", "+00:00"))
    na = dt.datetime.fromisoformat(info["not_after"].replace("Z", "+00:00"))
    assert now - dt.timedelta(hours=2) < nb < now
    assert now + dt.timedelta(days=29) < na < now + dt.timedelta(days=31)
    ca = cert_info(pki.ca.cert)
    assert ca["subject_cn"] == ca["issuer_cn"] == "Lab Test CA" and ca["san"] == []


def test_rogue_signed_leaf_does_not_verify(pki):
    rogue = pki.issue("rogue-dut", "sbc.lab.example", ["sbc.lab.example"], ["192.0.2.20"], ca="rogue")
    assert rogue.issuer == "Rogue Test CA" and pki.certs["rogue-dut"] is rogue
    res = verify(pki.ca.cert, rogue.cert)
    assert res.returncode != 0 and "unable to get local issuer certificate" in res.stdout + res.stderr
    assert verify(pki.rogue_ca.cert, rogue.cert).returncode == 0
    assert verify(pki.ca.cert, pki.rogue_ca.cert).returncode != 0
    assert cert_info(rogue.cert)["issuer_cn"] == "Rogue Test CA"


def test_expired_cert(pki):
    old = pki.issue("expired-dut", "sbc.lab.example", ["sbc.lab.example"], expired=True)
    res = verify(pki.ca.cert, old.cert)
    assert res.returncode != 0 and "certificate has expired" in res.stdout + res.stderr
    checkend = subprocess.run(["openssl", "x509", "-in", str(old.cert), "-noout", "-checkend", "0"],
                              capture_output=True, text=True, timeout=30)
    assert checkend.returncode == 1 and "will expire" in checkend.stdout
    na = dt.datetime.fromisoformat(cert_info(old.cert)["not_after"].replace("Z", "+00:00"))
    assert na < dt.datetime.now(dt.timezone.utc)


def test_backdated_and_wrong_san(pki):
    c = pki.issue("wrong-san", "other.lab.example", ["other.lab.example"], days=5, not_before_days_ago=10)
    info = cert_info(c.cert)
    assert info["san"] == ["DNS:other.lab.example"]
    nb = dt.datetime.fromisoformat(info["not_before"].replace("Z", "+00:00"))
    na = dt.datetime.fromisoformat(info["not_after"].replace("Z", "+00:00"))
    now = dt.datetime.now(dt.timezone.utc)
    assert now - dt.timedelta(days=10, hours=2) < nb < now - dt.timedelta(days=10)
    assert now + dt.timedelta(days=4) < na < now + dt.timedelta(days=6)
    assert verify(pki.ca.cert, c.cert).returncode == 0
    assert stat.S_IMODE(c.key.stat().st_mode) == 0o600


def test_errors_are_one_line(pki, tmp_path):
    bad = tmp_path / "garbage.crt"
    bad.write_text("not a certificate\n")
    with pytest.raises(PkiError) as e:
        cert_info(bad)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("openssl x509 failed (exit 1): ")
    with pytest.raises(PkiError, match="cannot read certificate"):
        cert_info(tmp_path / "missing.crt")
    with pytest.raises(PkiError, match="not an IP address"):
        pki.issue("bad-ip", "x.lab.example", ["x.lab.example"], ["300.1.1.1"])
    with pytest.raises(PkiError, match="unknown CA"):
        pki.issue("bad-ca", "x.lab.example", ca="other")
    assert isinstance(e.value, RuntimeError)


def test_key_pool_reuses_keys_but_not_certificates(tmp_path, monkeypatch):
    """With the test session's key pool (tests/conftest.py) two labs get the same keys and fresh certificates, each
    still verifying against its own CA; without a pool every key is new (a qualification run)."""
    monkeypatch.setenv("SIPQUAL_KEY_POOL", str(tmp_path / "pool"))
    hosts = {"dut": {"dns": ["sbc.lab.example"]}}
    a, b = create_pki(tmp_path / "a", hosts), create_pki(tmp_path / "b", hosts)
    assert a.certs["dut"].key.read_bytes() == b.certs["dut"].key.read_bytes()
    assert a.ca.key.read_bytes() == b.ca.key.read_bytes() != b.certs["dut"].key.read_bytes()
    assert a.certs["dut"].cert.read_bytes() != b.certs["dut"].cert.read_bytes()     # new serial and validity
    assert stat.S_IMODE(b.certs["dut"].key.stat().st_mode) == 0o600
    subprocess.run(["openssl", "verify", "-CAfile", str(b.ca.cert), str(b.certs["dut"].cert)], check=True,
                   capture_output=True)
    monkeypatch.delenv("SIPQUAL_KEY_POOL")
    c = create_pki(tmp_path / "c", hosts)
    assert c.certs["dut"].key.read_bytes() != b.certs["dut"].key.read_bytes()
