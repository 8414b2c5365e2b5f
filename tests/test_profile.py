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


# ---- masking: by what the schema declares secret, never by a substring of a key name ------------------------------
from sipqual.profile import SCHEMA, SECRET, mask_secrets, secret_paths  # noqa: E402


def _sample(schema: dict, path: tuple = ()):
    """A value for every property the schema declares (its own type), so masking can be checked key by key."""
    if "properties" in schema:
        return {k: _sample(sub, path + (k,)) for k, sub in schema["properties"].items()}
    if "items" in schema:
        return [_sample(schema["items"], path + ("[]",))]
    if "enum" in schema:
        return schema["enum"][-1]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "boolean":
        return len(path) % 2 == 0         # both True and False occur
    if kind == "integer":
        return schema.get("minimum", 7)
    if kind == "array":
        return []
    return "value-of-" + ".".join(path)


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(node, list):
        for v in node:
            yield from _leaves(v, path + ("[]",))
    else:
        yield path, node


def test_every_schema_key_survives_masking_with_its_type_unless_declared_secret():
    doc = _sample(SCHEMA)
    masked = dict(_leaves(mask_secrets(doc)))
    secrets = set(secret_paths())
    assert secrets == {("pixit", "mediation", "tls", "key")}
    leaves = dict(_leaves(doc))
    assert {p for p in leaves if p[0] in ("pics", "pixit")} - secrets, "the sample holds no PICS/PIXIT keys"
    for path, value in leaves.items():
        if path in secrets:
            assert masked[path] == "***", path
        else:
            assert masked[path] == value and type(masked[path]) is type(value), (path, value, masked[path])


def test_pics_named_like_a_secret_keep_their_boolean():
    """'media_bypass' contains 'pass': masked as '***' it read as *claimed* and made 6 M-dagger cases mandatory."""
    prof = load_profile(DUTS / "reference-sbc.yaml")
    m = prof.masked()
    assert m["pics"] == prof.pics and m["pics"]["media_bypass"] is False
    from sipqual.report.verdicts import summarize_coverage, coverage_snapshot
    cov = coverage_snapshot([], set(), ["tcp", "tls"], "test")
    assert len(summarize_coverage(cov, m["pics"]).mandatory) == 59
    assert len(summarize_coverage(cov, dict(m["pics"], media_bypass=True)).mandatory) == 65


def test_unknown_keys_are_masked_by_whole_words_only():
    doc = {"pixit": {"mediation": {"tls": {"key": "k.pem", "cert": "c.pem", "ca": "ca.pem"}}},
           "extra": {"sip_password": "s3cret", "apiToken": "t", "bypass_mode": "x", "keyboard": "y", "key": "z"}}
    m = mask_secrets(doc)
    assert m["pixit"]["mediation"]["tls"] == {"key": "***", "cert": "c.pem", "ca": "ca.pem"}
    assert m["extra"] == {"sip_password": "***", "apiToken": "***", "bypass_mode": "x", "keyboard": "y", "key": "***"}
    assert SECRET == "x-sipqual-secret"
