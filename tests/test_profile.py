"""DUT profiles: the shipped ones load; bad ones fail with one line naming file, line and key."""

from pathlib import Path

import pytest

from sipqual.errors import UsageError
from sipqual.profile import load_profile

DUTS = Path(__file__).resolve().parent.parent / "lab" / "duts"


@pytest.mark.parametrize("path", sorted(DUTS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_profiles_are_valid(path):
    prof = load_profile(path)
    assert prof.identity["role"] in ("sbc", "ip-pbx", "pstn-gateway")
    assert prof.transports


def test_variant_inherits_and_overrides():
    prof = load_profile(DUTS / "faulty-no-options.yaml")
    assert prof.data["managed"]["defines"] == ["FAULT_IGNORE_OPTIONS"]
    assert prof.pixit["dut"]["ports"] == {"tcp": 5066, "tls": 5067}
    assert "no-options" in prof.identity["product"]


def _write(tmp_path, text):
    p = tmp_path / "dut.yaml"
    p.write_text(text)
    return p


BASE = (DUTS / "external-template.yaml").read_text()


def test_unknown_key_names_line_and_key(tmp_path):
    text = BASE.replace("  tls: true\n  mtls: true", "  tls: true\n  tlss: true\n  mtls: true", 1)
    p = _write(tmp_path, text)
    with pytest.raises(UsageError) as e:
        load_profile(p)
    msg = str(e.value)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.strip() == "tlss: true")
    assert f"{p}:{line}:" in msg and "tlss" in msg and "\n" not in msg


def test_bad_port_value(tmp_path):
    p = _write(tmp_path, BASE.replace("ports: {tcp: 5066, tls: 5067}", "ports: {tcp: 99999, tls: 5067}"))
    with pytest.raises(UsageError, match=r"pixit\.dut\.ports\.tcp"):
        load_profile(p)


def test_bad_role(tmp_path):
    p = _write(tmp_path, BASE.replace("role: pstn-gateway", "role: toaster"))
    with pytest.raises(UsageError, match=r"identity\.role.*toaster"):
        load_profile(p)


def test_external_needs_addresses(tmp_path):
    p = _write(tmp_path, BASE.replace("    address: 203.0.113.50", "    # no address"))
    with pytest.raises(UsageError, match=r"never guesses addresses"):
        load_profile(p)


def test_not_yaml(tmp_path):
    p = _write(tmp_path, "identity: [unclosed\n")
    with pytest.raises(UsageError, match=r"not valid YAML"):
        load_profile(p)


def test_missing_file():
    with pytest.raises(UsageError, match="not found"):
        load_profile("/nonexistent/dut.yaml")


def test_extends_loop(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(UsageError, match="loops"):
        load_profile(tmp_path / "a.yaml")


def test_tls_transport_without_tls_claim(tmp_path):
    p = _write(tmp_path, BASE.replace("pics:\n  tls: true", "pics:\n  tls: false"))
    with pytest.raises(UsageError, match="pics.tls is false"):
        load_profile(p)
