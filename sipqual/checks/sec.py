"""Checks of suite SEC (sipqual's security extension, issue 15), judged on the capture alone.

- TC-SEC-01 untrusted source: a request from an address outside the Mediation pool gets 403 or nothing, and never
  reaches the far side. Legs are correlated by what we control: our INVITE by its marker, the far leg by the DUT's
  far-side address (nothing else calls in that case), never by Call-ID.
- TC-TRN-05 / TC-TRN-06 / TC-SEC-04, the DUT as TLS server: :mod:`sipqual.tlsprobe` attempts (its record, beside
  the capture, only ties each attempt to its local port); what the DUT accepted is read from the capture: the
  ServerHello it sent (version, cipher suite), its alerts, and the SIP it answered on that connection (decrypted with
  the case's key log).
- TC-SEC-02 no cleartext SIP on a TLS trunk: every SIP message the DUT sends to the Mediation side was read from
  TLS (decrypted), none from plain TCP or UDP.
- TC-SEC-03 topology hiding: every message the DUT sends to one side is searched for the other side's addresses and
  names, in every header (Via, Contact, Record-Route, From, To, Call-ID, our marker, any other), the Request-URI
  and the SDP o= and c= lines.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..recording import check
from ..trace import Trace
from ..verdict import Finding, passed, violation
from .common import CallSpec, leg_of, raise_missing, route, stimulus


@check
def untrusted_source_refused(trace: Trace, *, test_id: str, source_ip: str, dut_ip: str,
                             dut_far_ip: str) -> list[Finding]:
    """TC-SEC-01 (SEC-01, M): our INVITE ``test_id`` from ``source_ip`` (ours, not a Mediation pool member) to the
    DUT at ``dut_ip``: the DUT answers 403 or nothing at all (silence), and sends no INVITE from ``dut_far_ip`` to
    the far side afterwards (a call placed from anywhere)."""
    ours = stimulus(trace, "INVITE", test_id, source_ip)
    if ours is None:
        raise_missing(f"our INVITE from the untrusted address {source_ip}")
    relayed = [p for p in trace.requests("INVITE") if p.src == dut_far_ip and p.time >= ours.time]
    out = []
    if relayed:
        p = relayed[0]
        out.append(violation("SEC-01", "SEC-01", "M", f"no call toward the far side for our INVITE from {source_ip} "
                             f"(not a Mediation pool member; frame {ours.frame})", f"the DUT sent it on to {p.dst} "
                             f"as {p.msg.request_uri.raw if p.msg.request_uri else '?'}", p.frame))
    finals = [p for p in leg_of(trace, ours).responses() if p.src == dut_ip and p.msg.status and p.msg.status >= 200]
    final = finals[0] if finals else None
    if final is None:
        if not relayed:
            out.append(passed("SEC-01", "SEC-01", "M", f"the DUT ignored our INVITE from {source_ip}, an address "
                              f"outside the Mediation pool (no answer, no call on the far side)", ours.frame))
    elif final.msg.status == 403:
        if not relayed:
            out.append(passed("SEC-01", "SEC-01", "M", f"the DUT refused our INVITE from {source_ip}, an address "
                              f"outside the Mediation pool, with 403 {final.msg.reason}", final.frame))
    else:
        out.append(violation("SEC-01", "SEC-01", "M", f"403 or no answer to our INVITE from {source_ip} (not a "
                             f"Mediation pool member; frame {ours.frame})", f"{final.msg.status} {final.msg.reason}",
                             final.frame))
    return out


# ---- TLS probes ------------------------------------------------------------------------------------------------
VERSION_RANK = {"SSL 3.0": 3, "TLS 1.0": 10, "TLS 1.1": 11, "TLS 1.2": 12, "TLS 1.3": 13}
WEAK_SUITE = re.compile(r"NULL|RC4|3DES|_DES_|EXPORT|anon|MD5", re.I)
CERT_TEXT = {"rogue-ca": "issued by an unknown CA (Rogue Test CA)", "expired": "that has expired",
             "no-cert": "that is missing (the client presents none)", "wrong-san": "that does not name the pool"}


def _probe(trace: Trace, probe_file: str, keylog: str, tls_ports: list[int]):
    from ..tlsfacts import read_tls_facts

    here = Path(trace.path).parent
    path = here / probe_file
    if not path.exists():
        raise_missing(f"the TLS probe's record {probe_file}")
    recs = {r["name"]: r for r in json.loads(path.read_text())}
    log = here / keylog
    conns = {c.client: c for c in read_tls_facts(trace.path, log if log.exists() else None, tls_ports)}
    return recs, conns


def _answer(trace: Trace, marker: str, our_ip: str, dut_ip: str):
    """Our OPTIONS with ``marker`` and the DUT's first response to it (by its Call-ID, on that leg), or Nones."""
    ours = stimulus(trace, "OPTIONS", marker, our_ip)
    if ours is None:
        return None, None
    answers = [p for p in trace.sip if not p.msg.is_request and p.src == dut_ip and p.msg.call_id == ours.msg.call_id]
    return ours, answers[0] if answers else None


def _refusal(conn, rec: dict, dut_ip: str) -> str:
    alerts = [f"alert {a}" for f, s, a in (conn.alerts if conn else []) if s.rsplit(":", 1)[0] == dut_ip]
    if alerts:
        return ", ".join(alerts)
    if rec.get("handshake") == "failed":
        return f"handshake failed ({rec.get('ssl_reason') or rec.get('error')})"
    return f"no answer ({rec.get('error') or 'silence'})"


@check
def client_certificates_refused(trace: Trace, *, test_id: str, our_ip: str, dut_ip: str, tls_ports: list[int],
                                probe_file: str = "tlsprobe.json", keylog: str = "tls-keys.log",
                                bad: list[str] = ("rogue-ca", "expired", "no-cert")) -> list[Finding]:
    """TC-TRN-05, DUT as TLS server (TLS-02 negative, R): on a connection whose client certificate is ``bad``
    (issued by an unknown CA, expired, missing) the DUT refuses the handshake or the SIP: our OPTIONS
    (``<test_id>-<name>``) gets no answer. The control attempt (pool certificate) must be answered, else nothing can
    be concluded (the DUT's trunk refuses everybody: TC-TRN-03 judges that). A client certificate that does not name
    the pool is recorded either way (I): a TLS server need not check its client's names."""
    recs, conns = _probe(trace, probe_file, keylog, tls_ports)
    ours, ok = _answer(trace, f"{test_id}-control", our_ip, dut_ip)
    if ok is None:
        raise_missing("an answer to the control OPTIONS (pool certificate) on the TLS trunk")
    out = []
    for name in list(bad) + ["wrong-san"]:
        rec = recs.get(name)
        if rec is None or not rec.get("local"):
            raise_missing(f"the TLS probe's {name} attempt")
        conn = conns.get(rec["local"])
        stim, answer = _answer(trace, f"{test_id}-{name}", our_ip, dut_ip)
        if conn is None and stim is None:
            raise_missing(f"the {name} attempt's TLS connection from {rec['local']}")
        what = f"a client certificate {CERT_TEXT[name]}"
        sev, reqs = ("I", ["TLS-02"]) if name == "wrong-san" else ("R", ["TLS-02", "TLS-01"])
        if answer is not None:
            said = f"{answer.msg.status} {answer.msg.reason}"
            if sev == "I":
                out.append(passed("TLS-02", reqs, sev, f"the DUT took SIP with {what} (answered {said}); as TLS "
                                  "server it does not check its client's names", answer.frame))
            else:
                out.append(violation("TLS-02", reqs, sev, f"the DUT to refuse {what} (no SIP on that connection, "
                                     f"{rec['local']})", f"it answered our OPTIONS (frame {stim.frame}) with {said}",
                                     answer.frame))
        else:
            out.append(passed("TLS-02", reqs, sev, f"the DUT refused {what}: {_refusal(conn, rec, dut_ip)}",
                              conn.frames[-1:] if conn else []))
    return out


def _accepted(conn) -> str:
    """The version the DUT chose in its ServerHello on ``conn`` ('' when it sent none: refused)."""
    return conn.version if conn is not None and conn.version else ""


@check
def tls_versions_accepted(trace: Trace, *, test_id: str, our_ip: str, dut_ip: str, tls_ports: list[int],
                          probe_file: str = "tlsprobe.json", keylog: str = "tls-keys.log",
                          floor: bool = False) -> list[Finding]:
    """TC-TRN-06 (TLS-04, R): a TLS 1.2-only client completes the handshake and its OPTIONS is answered; the lowest
    version the DUT accepts (a ServerHello choosing it) is recorded (I). ``floor`` (TC-SEC-04, R): accepting any
    version below TLS 1.2, or a weak TLS 1.2 cipher suite (NULL, RC4, DES/3DES, export, anonymous, MD5), is a
    violation; the suites accepted are recorded."""
    recs, conns = _probe(trace, probe_file, keylog, tls_ports)
    out, accepted, refused, unprobed = [], [], [], []
    for name, rec in recs.items():
        if not name.startswith("tls1."):
            continue
        want = "TLS " + name[3:]
        if rec.get("handshake") == "unsupported":
            unprobed.append(want)
            continue
        conn = conns.get(rec.get("local"))
        if conn is None:
            raise_missing(f"the {want} attempt's TLS connection from {rec.get('local')}")
        got = _accepted(conn)
        (accepted if got == want else refused).append((want, conn))
    if "tls1.2" in recs and not floor:
        stim, answer = _answer(trace, f"{test_id}-tls1.2", our_ip, dut_ip)
        conn = conns.get(recs["tls1.2"].get("local"))
        if answer is not None and _accepted(conn) == "TLS 1.2":
            out.append(passed("TLS-04", "TLS-04", "R", f"a TLS 1.2-only client: handshake ({conn.cipher}) and its "
                              f"OPTIONS answered {answer.msg.status}", answer.frame))
        else:
            out.append(violation("TLS-04", "TLS-04", "R", "a TLS 1.2-only client's handshake completed and its "
                                 "OPTIONS answered", f"{_accepted(conn) or 'no ServerHello'}; "
                                 f"{'answer ' + str(answer.msg.status) if answer else 'no answer'}",
                                 conn.frames[-1:] if conn else []))
    lowest = min((v for v, _ in accepted), key=lambda v: VERSION_RANK.get(v, 0), default="none")
    summary = (f"lowest TLS version the DUT accepts: {lowest} (accepted {', '.join(v for v, _ in accepted) or 'none'}"
               f"; refused {', '.join(v for v, _ in refused) or 'none'}"
               + (f"; not offered by this OpenSSL: {', '.join(unprobed)}" if unprobed else "") + ")")
    rule, reqs = ("SEC-04", "SEC-04") if floor else ("TLS-04", "TLS-04")
    out.append(passed(rule, reqs, "I", summary))
    if not floor:
        return out
    bad = []
    for v, conn in accepted:
        if VERSION_RANK.get(v, 0) < 12:
            bad.append(violation("SEC-04", "SEC-04", "R", "no TLS version below 1.2 accepted", f"the DUT accepted "
                                 f"{v} ({conn.cipher}; ServerHello on {conn.client} -> {conn.server})",
                                 conn.frames[:2]))
    suites, weak_ok, refused_suites, unprobed = [], [], [], []
    for name, rec in recs.items():
        if not name.startswith("cipher-"):
            continue
        offered = name[len("cipher-"):]
        if rec.get("handshake") == "unsupported":
            unprobed.append(offered)
            continue
        conn = conns.get(rec.get("local"))
        if conn is None:
            raise_missing(f"the {offered} attempt's TLS connection from {rec.get('local')}")
        if not _accepted(conn):
            refused_suites.append(offered)
            continue
        suites.append(conn.cipher)
        if WEAK_SUITE.search(conn.cipher):
            weak_ok.append(conn.cipher)
            bad.append(violation("SEC-04", "SEC-04", "R", "no weak TLS cipher suite accepted (NULL, RC4, DES/3DES, "
                                 "export, anonymous, MD5)", f"the DUT chose {conn.cipher} ({conn.version}; ServerHello "
                                 f"on {conn.client} -> {conn.server})", conn.frames[:2]))
    out.append(passed("SEC-04", "SEC-04", "I", f"TLS 1.2 cipher suites the DUT accepts: {', '.join(suites) or 'none'}"
                      f"; refused: {', '.join(refused_suites) or 'none'}"
                      + (f"; not offered by this OpenSSL: {', '.join(unprobed)}" if unprobed else "")))
    if not bad:
        out.append(passed("SEC-04", "SEC-04", "R", f"TLS floor held: lowest version {lowest}, no weak cipher suite "
                          "accepted"))
    return out + bad


# ---- no cleartext SIP on a TLS trunk ---------------------------------------------------------------------------
@check
def no_cleartext_sip(trace: Trace, *, in_spec: CallSpec, out_spec: CallSpec) -> list[Finding]:
    """TC-SEC-02 (SEC-02, M when TLS is claimed): on a trunk configured for TLS, in an IN and an OUT call, every SIP
    message between the DUT's Mediation-side address and ours travels over TLS: the DUT sends nothing in clear (plain
    TCP or UDP), neither its requests nor its responses."""
    for spec in (in_spec, out_spec):
        routed = route(trace, spec)
        if isinstance(routed, Finding):
            return [routed]
    dut, ms = in_spec.dut_out_ip, in_spec.callee_ip
    sent = [p for p in trace.sip if p.src == dut and p.dst == ms]
    clear = [p for p in sent if p.transport != "TLS"]
    if not sent:
        raise_missing(f"SIP from the DUT ({dut}) to the Mediation side ({ms})")
    if clear:
        kinds = sorted({f"{p.msg.method or p.msg.status} over {p.transport} to port {p.dport}" for p in clear})
        return [violation("SEC-02", "SEC-02", "M", "every SIP message from the DUT to the Mediation side over TLS (the "
                          "trunk is configured for TLS)", f"{len(clear)} in clear: {'; '.join(kinds[:6])}",
                          [p.frame for p in clear][:20])]
    return [passed("SEC-02", "SEC-02", "M", f"all {len(sent)} SIP messages from the DUT to the Mediation side went "
                   "over TLS, none in clear", sent[-1].frame)]


# ---- topology hiding ---------------------------------------------------------------------------------------------
MAX_PLACES = 8      # places named in one finding (the frames list every one)


def _pattern(token: str) -> re.Pattern:
    """``token`` as a whole address or host name: 192.0.2.1 is not found in 192.0.2.10, ms1.x not in xms1.x."""
    return re.compile(r"(?<![\w.-])" + re.escape(token) + r"(?![\w-]|\.\w)", re.I)


def _places(msg, patterns: dict[str, re.Pattern]) -> list[tuple[str, str]]:
    """(where, token) for every token of the other side found in ``msg``: the Request-URI, each header by name,
    the SDP o= and c= lines."""
    fields = [("Request-URI", msg.ruri or "")] if msg.is_request else []
    fields += [(h.raw_name, h.value) for h in msg.headers]
    body = msg.body.decode("utf-8", "replace") if msg.body else ""
    fields += [(f"SDP {ln[:2]}", ln) for ln in body.splitlines() if ln[:2] in ("o=", "c=")]
    return [(where, token) for where, text in fields for token, pat in patterns.items() if pat.search(text)]


def _leaks(trace: Trace, src: str, dst: str, hidden: list[str]) -> list[tuple[int, str, str]]:
    patterns = {t: _pattern(t) for t in hidden}
    out = []
    for p in trace.sip:
        if p.src == src and p.dst == dst:
            out += [(p.frame, where, token) for where, token in _places(p.msg, patterns)]
    return out


@check
def topology_hidden(trace: Trace, *, out_spec: CallSpec, in_spec: CallSpec, ms_side: list[str], far_side: list[str],
                    severity: str = "M") -> list[Finding]:
    """TC-SEC-03 (SEC-03; M for the SBC role, I otherwise): in an OUT and an IN call through the DUT, nothing the DUT
    sends to the far side names the Mediation side (``ms_side``: its addresses, the DUT's own address there, the
    pool and server FQDNs), and nothing it sends to the Mediation side names the far side (``far_side``), in any
    header, the Request-URI or SDP o=/c=. A port is found with its host (host:port); a port number alone is not
    distinctive."""
    out = []
    for spec in (out_spec, in_spec):
        routed = route(trace, spec)
        if isinstance(routed, Finding):
            return [routed]
    ms_ip, far_ip = out_spec.caller_ip, out_spec.callee_ip
    dut_ms, dut_far = out_spec.dut_in_ip, out_spec.dut_out_ip
    for src, dst, hidden, what, where_to in ((dut_far, far_ip, ms_side, "the Mediation side", "the far side"),
                                             (dut_ms, ms_ip, far_side, "the far side", "the Mediation side")):
        sent = [p for p in trace.sip if p.src == src and p.dst == dst]
        if not sent:
            raise_missing(f"messages from the DUT ({src}) to {where_to} ({dst})")
        leaks = _leaks(trace, src, dst, hidden)
        expected = f"no address or name of {what} ({', '.join(hidden)}) in what the DUT sends to {where_to}"
        if not leaks:
            out.append(passed("SEC-03", "SEC-03", severity, f"{expected}: none in {len(sent)} messages (headers, "
                              "Request-URI, SDP o=/c=)", sent[-1].frame))
            continue
        seen, places = set(), []
        for frame, where, token in leaks:
            if (where.lower(), token) not in seen:
                seen.add((where.lower(), token))
                places.append(f"{token} in {where} (frame {frame})")
        frames = sorted({f for f, _, _ in leaks})
        more = f" and {len(places) - MAX_PLACES} more" if len(places) > MAX_PLACES else ""
        out.append(violation("SEC-03", "SEC-03", severity, expected, "; ".join(places[:MAX_PLACES]) + more,
                             frames[:20]))
    return out
