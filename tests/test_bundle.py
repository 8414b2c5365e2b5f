"""Evidence bundles: what goes in (no private keys unless asked), the manifest, and verify-bundle catching a
tampered byte, a missing or extra file, and a path-traversal archive; verify-bundle on a real run reproduces the
verdicts offline."""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path

import pytest
from report_runs import PASSWORD, case, needs_root, qualify_one_case, write_run

from sipqual.cli import main
from sipqual.report.bundle import MANIFEST

# crafted cases whose verdicts a capture does not decide (nothing to re-judge): the digests alone decide
UNJUDGED = [case("TC-SRTP-01", "tls", "NA"), case("TC-TRN-01", "tcp", "ERROR"), case("TC-TRN-02", "tls", "NOT_RUN")]


@pytest.fixture(autouse=True)
def private_tmp(tmp_path, monkeypatch):
    """verify-bundle's temporary directories land here, so the tests can see that none is left behind."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield tmp
    assert not list(tmp.glob("sipqual-verify-*")), "verify-bundle left its extraction directory behind"


def bundle(run: Path, out: Path, *extra: str) -> Path:
    assert main(["bundle", str(run), "-o", str(out), *extra]) == 0
    return out


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def repack(archive: Path, out: Path, change) -> Path:
    """Copy ``archive`` to ``out`` with ``change(files)`` applied to its {name: bytes}."""
    files = members(archive)
    change(files)
    with tarfile.open(out, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


def test_bundle_holds_the_run_and_a_manifest_but_no_private_key(tmp_path, capsys):
    run = write_run(tmp_path)
    archive = bundle(run, tmp_path / "b.tar.gz")
    assert "3 secret file(s) left out" in capsys.readouterr().out  # dut.key, stray.pem, pki/.ca/lab/index.txt
    files = members(archive)
    top = run.name
    assert f"{top}/results.json" in files and f"{top}/report.html" in files and f"{top}/report.pdf" in files
    assert f"{top}/cases/TC-OPT-01-tcp/capture.pcapng" in files and f"{top}/lab/pki/ca.crt" in files
    assert not [n for n in files if n.endswith(".key") or "/pki/.ca/" in n or n.endswith("stray.pem")]
    assert not [n for n, data in files.items() if b"PRIVATE KEY" in data or PASSWORD.encode() in data]
    listed = {line.split("  ", 1)[1] for line in files[f"{top}/{MANIFEST}"].decode().splitlines()}
    assert listed == {n.split("/", 1)[1] for n in files} - {MANIFEST}
    with_secrets = members(bundle(run, tmp_path / "s.tar.gz", "--include-secrets"))
    assert f"{top}/lab/pki/dut.key" in with_secrets


def test_verify_bundle_catches_one_tampered_byte_and_missing_or_extra_files(tmp_path, capsys):
    run = write_run(tmp_path, UNJUDGED)
    good = bundle(run, tmp_path / "good.tar.gz")
    assert main(["verify-bundle", str(good)]) == 0
    assert "bundle VERIFIED" in capsys.readouterr().out

    def flip_one_byte(files):
        name = f"{run.name}/junit.xml"
        data = bytearray(files[name])
        data[3] ^= 0x01
        files[name] = bytes(data)

    assert main(["verify-bundle", str(repack(good, tmp_path / "t.tar.gz", flip_one_byte))]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH junit.xml" in out and "NOT VERIFIED" in out
    assert main(["verify-bundle", str(repack(good, tmp_path / "m.tar.gz",
                                             lambda f: f.pop(f"{run.name}/junit.xml")))]) == 1
    assert "MISSING junit.xml" in capsys.readouterr().out
    assert main(["verify-bundle", str(repack(good, tmp_path / "e.tar.gz",
                                             lambda f: f.update({f"{run.name}/planted.txt": b"x"})))]) == 1
    assert "EXTRA planted.txt" in capsys.readouterr().out


def test_verify_bundle_refuses_path_traversal_and_junk(tmp_path, capsys):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        for name in ("run/MANIFEST.sha256", "run/../../escaped.txt"):
            info = tarfile.TarInfo(name)
            tar.addfile(info, io.BytesIO(b""))
    assert main(["verify-bundle", str(evil)]) == 2
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()
    (tmp_path / "junk.tar.gz").write_bytes(b"\x1f\x8b not gzip")
    assert main(["verify-bundle", str(tmp_path / "junk.tar.gz")]) == 2
    assert main(["verify-bundle", str(tmp_path / "absent.tar.gz")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(e.startswith("sipqual: error: ") for e in err)


@needs_root
def test_verify_bundle_reproduces_a_real_run_and_catches_a_tampered_capture(tmp_path, capsys):
    cp = qualify_one_case(tmp_path)
    assert cp.returncode == 0, cp.stdout[-2000:] + cp.stderr
    run = (tmp_path / "latest").resolve()
    good = bundle(run, tmp_path / "run.tar.gz")
    assert main(["verify-bundle", str(good)]) == 0
    out = capsys.readouterr().out
    assert "TC-OPT-01 [TCP] recorded PASS, recomputed PASS: same" in out and "bundle VERIFIED" in out

    def flip_capture_byte(files):
        name = f"{run.name}/cases/TC-OPT-01-tcp/capture.pcapng"
        data = bytearray(files[name])
        data[len(data) // 2] ^= 0x20
        files[name] = bytes(data)

    assert main(["verify-bundle", str(repack(good, tmp_path / "bad.tar.gz", flip_capture_byte))]) == 1
    assert "MISMATCH cases/TC-OPT-01-tcp/capture.pcapng" in capsys.readouterr().out
