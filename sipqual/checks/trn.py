"""Checks of suite TRN on TLS: the handshakes themselves, judged on the wire (the case's capture decrypted with its
key log; :mod:`sipqual.tlsfacts`), so a saved run is judged again from its evidence alone.

The key log is named relative to the capture's directory (every case writes ``tls-keys.log`` beside
``capture.pcapng``), so the recorded arguments stay valid when a run directory moves.
"""

from __future__ import annotations

from pathlib import Path

from ..recording import check
from ..trace import Trace
from ..verdict import Finding, passed, violation
from .common import raise_missing, stimulus


def _conns(trace: Trace, keylog: str, tls_ports: list[int]):
    from ..tlsfacts import read_tls_facts

    log = Path(trace.path).parent / keylog
    return read_tls_facts(trace.path, log if log.exists() else None, tls_ports), log.exists()


def _host(addr: str) -> str:
    return addr.rsplit(":", 1)[0]


def _port(addr: str) -> int:
    return int(addr.rsplit(":", 1)[1])


def _names(cert: dict) -> list[str]:
    """The DNS names a certificate is valid for (RFC 6125: the SAN dNSNames; the CN only when there are none)."""
    return [n.lower() for n in cert.get("san_dns", [])] or ([cert["subject_cn"].lower()]
                                                             if cert.get("subject_cn") else [])


def _readable(c, decrypted: bool) -> bool:
    """Whether the certificates of this connection could be read: TLS 1.3 encrypts them."""
    return bool(c.version) and (c.version != "TLS 1.3" or decrypted and bool(c.server_certs or c.client_certs))


@check
def dut_certificate_names(trace: Trace, *, dut_ip: str, dut_port: int, dut_fqdn: str, tls_ports: list[int],
                          keylog: str = "tls-keys.log") -> list[Finding]:
    """TC-TRN-07 (TLS-03): the certificate the DUT presents as TLS server on its trunk port names the FQDN the
    Mediation pool is configured with (Topology Builder): in its SAN dNSNames, or in its CN when it has no SAN."""
    conns, decrypted = _conns(trace, keylog, tls_ports)
    mine = [c for c in conns if _host(c.server) == dut_ip and _port(c.server) == dut_port]
    if not mine:
        raise_missing(f"a TLS handshake with the DUT's trunk port {dut_ip}:{dut_port}")
    readable = [c for c in mine if _readable(c, decrypted)]
    if not readable:
        raise_missing("a readable DUT certificate (TLS 1.3 handshake not decrypted by the case's key log)")
    out = []
    for c in readable:
        frames = c.frames[-1:]
        if not c.server_certs:
            out.append(violation("TLS-03", ["TLS-03", "TLS-01"], "R", f"a certificate from the DUT as TLS server "
                                 f"({c.client} -> {c.server})", "none on the wire", c.frames[:1]))
            continue
        leaf = c.server_certs[0]
        names = _names(leaf)
        if dut_fqdn.lower() in names:
            out.append(passed("TLS-03", "TLS-03", "R", f"the DUT's certificate ({leaf['subject']}) names "
                              f"{dut_fqdn}: {', '.join(names)}", frames))
        else:
            where = "SAN" if leaf.get("san_dns") else "CN (no SAN)"
            out.append(violation("TLS-03", "TLS-03", "R", f"the DUT's certificate naming the configured peer FQDN "
                                 f"{dut_fqdn}", f"its {where} names {', '.join(names) or 'nothing'} "
                                 f"({leaf['subject']})", frames))
    return out


@check
def dut_tls_client(trace: Trace, *, dut_ip: str, ms_ip: str, ms_port: int, pool_names: list[str],
                   tls_ports: list[int], keylog: str = "tls-keys.log") -> list[Finding]:
    """TC-TRN-04 (TLS-01, TLS-02): the DUT, as TLS client toward the Mediation port, presents its own certificate
    (mutual TLS) and completes the handshake with the pool certificate: SIP from the DUT is read on that very
    connection, so it accepted the certificate it was given (one of ``pool_names``)."""
    conns, decrypted = _conns(trace, keylog, tls_ports)
    mine = [c for c in conns if _host(c.client) == dut_ip and c.server == f"{ms_ip}:{ms_port}"]
    if not mine:
        raise_missing(f"a TLS connection from the DUT to the Mediation port {ms_ip}:{ms_port}")
    sip_on = {(p.src, p.sport, p.dst, p.dport) for p in trace.sip if p.msg.is_request}
    out = []
    for c in mine:
        if not _readable(c, decrypted):
            raise_missing(f"a readable handshake on {c.client} -> {c.server} (TLS 1.3 not decrypted)")
        served = c.server_certs[0]["subject"] if c.server_certs else "none"
        served_names = _names(c.server_certs[0]) if c.server_certs else []
        if not set(served_names) & {n.lower() for n in pool_names}:
            raise_missing(f"the pool certificate on {c.client} -> {c.server} (our side served {served})")
        req = (_host(c.client), _port(c.client), ms_ip, ms_port) in sip_on
        frames = c.frames[-1:]
        if not c.client_certs:
            out.append(violation("TLS-01", "TLS-01", "M", f"the DUT's certificate in its handshake as TLS client "
                                 f"({c.client} -> {c.server}; our side asked for one)", "none on the wire", frames))
        else:
            leaf = c.client_certs[0]
            out.append(passed("TLS-01", "TLS-01", "M", f"DUT as TLS client presented {leaf['subject']} issued by "
                              f"{leaf['issuer']} ({c.version} {c.cipher})", frames))
        if req:
            out.append(passed("TLS-02", "TLS-02", "M", f"DUT accepted the pool certificate {served} and sent SIP "
                              f"on {c.client} -> {c.server}", frames))
        else:
            alerts = [f"{a} (frame {f})" for f, s, a in c.alerts if _host(s) == dut_ip]
            out.append(violation("TLS-02", ["TLS-01", "TLS-02"], "M", f"the DUT to complete the handshake with the "
                                 f"pool certificate {served} and send SIP on it ({c.client} -> {c.server})",
                                 ", ".join(alerts) or "no SIP request from the DUT on that connection", frames))
    return out


@check
def mutual_tls_server(trace: Trace, *, test_id: str, probe_id: str, our_ip: str, dut_ip: str, dut_port: int,
                      tls_ports: list[int], keylog: str = "tls-keys.log") -> list[Finding]:
    """TC-TRN-03 (TLS-01): the DUT as TLS server on its trunk port requests a client certificate
    (CertificateRequest in the handshake where our certified OPTIONS ``test_id`` was answered), and refuses a client
    that presents none: nothing of SIP answered to the probe OPTIONS ``probe_id`` sent on such a connection."""
    conns, decrypted = _conns(trace, keylog, tls_ports)
    mine = [c for c in conns if _host(c.server) == dut_ip and _port(c.server) == dut_port]
    ours = stimulus(trace, "OPTIONS", test_id, our_ip)
    if ours is None:
        raise_missing("our OPTIONS over mutual TLS")
    out = []
    ok = next((c for c in mine if c.client == f"{ours.src}:{ours.sport}"), None)
    if ok is None or not _readable(ok, decrypted):
        raise_missing(f"a readable handshake for our OPTIONS (frame {ours.frame})")
    if ok.cert_requested:
        out.append(passed("TLS-01", "TLS-01", "M", f"DUT as TLS server requested a client certificate "
                          f"(CertificateRequest; {ok.client} -> {ok.server})", ok.frames[-1:]))
    else:
        out.append(violation("TLS-01", "TLS-01", "M", "a CertificateRequest from the DUT as TLS server (mutual TLS "
                             f"on the trunk port; {ok.client} -> {ok.server})", "none in the handshake",
                             ok.frames[:1]))
    answered = [p for p in trace.sip if not p.msg.is_request and p.src == dut_ip and p.msg.call_id == ours.msg.call_id
                and p.msg.status and p.msg.status >= 200]
    if not answered:
        out.append(violation("TLS-01", "TLS-01", "M", f"an answer to our OPTIONS over mutual TLS (frame "
                             f"{ours.frame})", "none"))
    # the probe: a client with no certificate; its OPTIONS may never get out (a TLS 1.2 refusal ends the
    # handshake), but if it did, nothing may answer it
    bare = [c for c in mine if _readable(c, decrypted) and not c.client_certs and c is not ok]
    probe = stimulus(trace, "OPTIONS", probe_id, our_ip)
    if not bare and probe is None:
        raise_missing("the probe connection without a client certificate")
    if probe is not None:
        replies = [p for p in trace.sip if not p.msg.is_request and p.src == dut_ip
                   and p.msg.call_id == probe.msg.call_id]
        if replies:
            return out + [violation("TLS-01", "TLS-01", "M", "the DUT to refuse a TLS client that presents no "
                                    "certificate (no SIP on that connection)", f"it answered our probe OPTIONS "
                                    f"(frame {probe.frame}) with {replies[0].msg.status} {replies[0].msg.reason}",
                                    replies[0].frame)]
    c = bare[0] if bare else None
    how = (f"alert {', '.join(a for _, s, a in c.alerts if _host(s) == dut_ip) or 'none'}"
           if c is not None else "no handshake completed")
    return out + [passed("TLS-01", "TLS-01", "M", f"DUT refused a client without a certificate ({how}; no answer "
                         "to the probe OPTIONS)", c.frames[-1:] if c is not None else [])]
