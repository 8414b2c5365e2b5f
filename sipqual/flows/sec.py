"""Stimuli of suite SEC (sipqual's security extension, issue 15): a call from an address outside the Mediation pool,
calls whose legs are searched for addresses of the other side (topology hiding), and TLS probes of the DUT's trunk
port (certificates it must refuse, the versions and cipher suites it accepts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import calls

if TYPE_CHECKING:
    from ..context import CaseContext

UNTRUSTED_OFFSET = 30      # the untrusted source: our Mediation-side address + 30 in its last octet (192.0.2.40)


def untrusted_address(sq: CaseContext) -> str:
    from ..lab import extra_address

    return extra_address(sq.topo.ms, UNTRUSTED_OFFSET, "TC-SEC-01 (an untrusted source beside the Mediation pool)")


def untrusted_call(sq: CaseContext) -> str:
    """TC-SEC-01: an INVITE to the outbound number from an address of ours on the Mediation side that is not a
    Mediation pool member (over the case's transport; on TLS with the pool's own valid certificate, so only the
    source address is wrong). A far end that would reject the call with 480 waits 4 s (a probe: on a good DUT nothing
    reaches it), so a DUT that lets the call through shows it by its INVITE on the far leg and leaves no pending far
    call behind. The caller is a probe too (its refusal is the point), waiting 4 s at most. Returns the untrusted
    address."""
    from .bas import _keys

    src = untrusted_address(sq)
    sq.far_server("far-reject", "call_uas_reject.xml", timeout_s=4, extra=_keys(status=480, cause=16))
    sq.probes.add("far-reject")
    sq.ms_client("ms-untrusted", "call_uac_rejected.xml", calls.outbound(sq), local_ip=src, probe=True,
                 timeout_s=4)
    sq.wait_all()
    return src


# ---- TLS probes of the DUT's trunk port (sipqual.tlsprobe): TC-TRN-05, TC-TRN-06, TC-SEC-04 -------------------------
PROBE_FILE = "tlsprobe.json"       # the probe's record, beside the capture (the checks read it from there)

# TC-TRN-05, DUT as TLS server: client certificates it must refuse (and one it may: a name that is not the pool's)
BAD_CLIENT_CERTS = ("rogue-ca", "expired", "no-cert")
# TC-TRN-06 / TC-SEC-04: one version each, then TLS 1.2 cipher suites one at a time (OpenSSL names; "@SECLEVEL=0"
# lets OpenSSL 3 offer the weak ones at all; one this OpenSSL cannot offer is recorded as not probed)
VERSION_PROBES = (("tls1.0", "1.0"), ("tls1.1", "1.1"), ("tls1.2", "1.2"), ("tls1.3", "1.3"))
CIPHER_PROBES = ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305",
                 "AES128-SHA", "AES256-GCM-SHA384", "DES-CBC3-SHA", "RC4-SHA", "NULL-SHA256", "ADH-AES128-SHA")


def probe_marker(sq: CaseContext, name: str) -> str:
    """The X-Sipqual-Test marker of the OPTIONS sent on attempt ``name``."""
    return f"{sq.test_id}-{name}"


def _cert(sq: CaseContext, name: str):
    """A lab certificate of the Mediation side's names, issued once per run: ``rogue-ca`` (by the Rogue Test CA),
    ``expired`` (by the lab CA, ended a day ago), ``wrong-san`` (by the lab CA, naming wrong.lab.example only)."""
    from ..errors import LabError

    pki, p = sq.lab.pki, sq.pixit["mediation"]
    key = f"sec-{name}"
    if key in pki.certs:
        return pki.certs[key]
    names = [p["pool_fqdn"], p["server_fqdn"]]
    try:
        if name == "rogue-ca":
            return pki.issue(key, names[0], names, ca="rogue")
        if name == "expired":
            return pki.issue(key, names[0], names, expired=True)
        return pki.issue(key, "wrong.lab.example", ["wrong.lab.example"])
    except Exception as e:   # noqa: BLE001 - external gear: the profile's PKI has no CA key to issue with
        raise LabError(f"{sq.case_id} needs certificates issued by the lab's CAs ({e})") from None


def _attempt(sq: CaseContext, name: str, cert: str | None = "mediation", sip: bool = False, **kw) -> dict:
    a = {"name": name, "min": "1.2", "max": None, "ciphers": None, "sip": probe_marker(sq, name) if sip else None,
         "cert": None, "key": None, "cert_label": cert or "none", **kw}
    if cert == "mediation":
        c = sq.lab.pki.certs["mediation"]
    elif cert:
        c = _cert(sq, cert)
    if cert:
        a["cert"], a["key"] = str(c.cert), str(c.key)
    return a


def tls_probe(sq: CaseContext, plan: list[dict]) -> None:
    """Run :mod:`sipqual.tlsprobe` from our Mediation-side address against the DUT's TLS trunk port with ``plan``
    (keys into the case's key log, record in :data:`PROBE_FILE`); bounded: 3 s per connect and handshake, 2 s for an
    answer, 60 s in all."""
    import json
    import sys

    t = sq.topo
    t.check_target(t.ms.peer_ip)
    plan_file = sq.dir / "tlsprobe-plan.json"
    plan_file.write_text(json.dumps(plan, indent=1))
    argv = [sys.executable, "-m", "sipqual.tlsprobe", "--connect", f"{t.ms.peer_ip}:{sq.dut_port}",
            "--source", t.ms.ip, "--server-name", sq.pixit["dut"]["fqdn"], "--ca", str(sq.lab.pki.ca.cert),
            "--plan", str(plan_file), "--out", str(sq.dir / PROBE_FILE), "--keylog", str(sq.keylog),
            "--timeout", "3", "--answer-timeout", "2"]
    proc = sq.lab.sup.start("tlsprobe", argv, netns=t.ms.netns, log_dir=sq.dir)
    proc.wait(timeout=60)


def bad_client_certificates(sq: CaseContext) -> None:
    """TC-TRN-05, the DUT as TLS server: a control attempt with the pool certificate, then one attempt per bad
    client certificate (a rogue CA's, an expired one, none) and one whose SAN does not name the pool; each sends an
    OPTIONS once its handshake is through."""
    plan = [_attempt(sq, "control", sip=True)]
    plan += [_attempt(sq, n, cert=None if n == "no-cert" else n, sip=True) for n in BAD_CLIENT_CERTS + ("wrong-san",)]
    tls_probe(sq, plan)


def tls_versions(sq: CaseContext, ciphers: bool = False) -> None:
    """TC-TRN-06 (and TC-SEC-04 with ``ciphers``): one attempt per TLS version alone (TLS 1.2 only carrying an
    OPTIONS), then, for TC-SEC-04, TLS 1.2 with one cipher suite at a time."""
    plan = [_attempt(sq, name, min=v, max=v, sip=(v == "1.2")) for name, v in VERSION_PROBES]
    if ciphers:
        plan += [_attempt(sq, f"cipher-{c}", min="1.2", max="1.2", ciphers=f"{c}:@SECLEVEL=0")
                 for c in CIPHER_PROBES]
    tls_probe(sq, plan)


# ---- TC-SEC-03: topology hiding ------------------------------------------------------------------------------------
def two_calls(sq: CaseContext, hold_ms: int = 1000) -> None:
    """TC-SEC-03: an OUT call (the Mediation side calls the far end, hangs up) then an IN call (the far end calls
    the Mediation side, which hangs up), 1 s of media each: every kind of message crosses the DUT both ways."""
    calls.out_call(sq, hold_ms=hold_ms)
    calls.in_call(sq, hold_ms=hold_ms)


def side_names(sq: CaseContext) -> tuple[list[str], list[str]]:
    """What identifies each side (TC-SEC-03): the Mediation side's addresses (ours, the DUT's own there) and names
    (pool and server FQDNs); the far side's addresses (ours, the DUT's own there)."""
    t, p = sq.topo, sq.pixit["mediation"]
    return [t.ms.ip, t.ms.peer_ip, p["pool_fqdn"], p["server_fqdn"]], [t.far.ip, t.far.peer_ip]
