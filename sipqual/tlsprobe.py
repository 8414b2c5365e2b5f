"""TLS probe: a bounded list of TLS connection attempts to the DUT's trunk port, each with its own client
certificate, version range and cipher suites, optionally carrying one SIP OPTIONS (``python -m sipqual.tlsprobe``).

Suite SEC and TC-TRN-05/06 use it to find what the DUT accepts: certificates it must refuse (rogue CA, expired,
none), versions below TLS 1.2, weak cipher suites. Every attempt is a fresh TCP connection from ``--source``; the
handshake keys go to ``--keylog`` so the capture decrypts what was said. The capture judges (ServerHello, alerts,
SIP answered or not); this tool's own record (``--out``, JSON) only ties each attempt to its local port.

Plan (``--plan FILE``, JSON list), one object per attempt::

    {"name": "rogue-ca", "cert": PEM|null, "key": PEM|null, "min": "1.2", "max": "1.3"|null,
     "ciphers": "OpenSSL string"|null, "sip": "<marker>"|null}

``sip``: after the handshake send one out-of-dialog OPTIONS carrying ``X-Sipqual-Test: <marker>`` and wait up to
``--answer-timeout`` seconds for a response. Results (``--out``): one object per attempt with ``name``, ``local``
(our ip:port), ``handshake`` (ok | failed | connect_failed | unsupported), ``version``, ``cipher``, ``error``,
``answer`` (the status line, or null). Every step is bounded (``--timeout`` per connect/handshake); exit 0 when the
plan ran (whatever the DUT did), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import ssl
import sys
import time
import warnings

from .tlsio import VERSIONS, error_text

PROG = "tlsprobe"
MAX_ATTEMPTS = 32


def options(marker: str, local: tuple[str, int], target: str, server_name: str) -> bytes:
    host, port = local
    tag, branch, cid = secrets.token_hex(4), "z9hG4bK" + secrets.token_hex(6), secrets.token_hex(10)
    lines = [f"OPTIONS sip:{server_name}:{target.rsplit(':', 1)[1]};transport=tls SIP/2.0",
             f"Via: SIP/2.0/TLS {host}:{port};branch={branch}", "Max-Forwards: 70",
             f"From: <sip:tlsprobe@{host}>;tag={tag}", f"To: <sip:{server_name}>", f"Call-ID: {cid}@{host}",
             "CSeq: 1 OPTIONS", f"Contact: <sip:tlsprobe@{host}:{port};transport=tls>", "User-Agent: sipqual-tlsprobe",
             f"X-Sipqual-Test: {marker}", "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def context(a: dict, ca: str, keylog: str | None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=ca)
    lo = VERSIONS[a.get("min") or "1.2"]
    hi = VERSIONS[a["max"]] if a.get("max") else ssl.TLSVersion.MAXIMUM_SUPPORTED
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version, ctx.maximum_version = lo, hi
    ciphers = a.get("ciphers")
    if ciphers is None and lo < ssl.TLSVersion.TLSv1_2:
        ciphers = "DEFAULT:@SECLEVEL=0"
    if ciphers is not None:
        ctx.set_ciphers(ciphers)      # ssl.SSLError: this OpenSSL has none of them (reported as "unsupported")
    if a.get("cert"):
        ctx.load_cert_chain(a["cert"], a["key"])
    if keylog:
        ctx.keylog_filename = keylog
    return ctx


def attempt(a: dict, args) -> dict:
    rec = {"name": a["name"], "local": None, "handshake": None, "version": None, "cipher": None, "error": None,
           "answer": None, "min": a.get("min"), "max": a.get("max"), "ciphers": a.get("ciphers"),
           "cert": a.get("cert_label")}
    try:
        ctx = context(a, args.ca, args.keylog)
    except (ssl.SSLError, ValueError, OSError) as e:
        rec.update(handshake="unsupported", error=f"this OpenSSL cannot offer it: {error_text(e)}")
        return rec
    host, port = args.connect.rsplit(":", 1)
    raw = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    raw.settimeout(args.timeout)
    try:
        raw.bind((args.source, 0))
        raw.connect((host.strip("[]"), int(port)))
    except OSError as e:
        raw.close()
        rec.update(handshake="connect_failed", error=error_text(e))
        return rec
    local = raw.getsockname()[:2]
    rec["local"] = f"{local[0]}:{local[1]}"
    try:
        tls = ctx.wrap_socket(raw, server_hostname=args.server_name)
    except (ssl.SSLError, OSError) as e:
        raw.close()
        rec.update(handshake="failed", error=error_text(e), ssl_reason=getattr(e, "reason", None))
        return rec
    rec.update(handshake="ok", version=tls.version(), cipher=(tls.cipher() or [None])[0])
    try:
        if a.get("sip"):
            tls.sendall(options(a["sip"], local, args.connect, args.server_name))
            end, data = time.monotonic() + args.answer_timeout, b""
            while b"\r\n" not in data and time.monotonic() < end:
                tls.settimeout(max(0.05, end - time.monotonic()))
                try:
                    chunk = tls.recv(4096)
                except socket.timeout:
                    break
                if not chunk:
                    rec["error"] = "closed by the DUT before any answer"
                    break
                data += chunk
            if b"\r\n" in data:
                rec["answer"] = data.split(b"\r\n", 1)[0].decode("utf-8", "replace")
    except (ssl.SSLError, OSError) as e:
        rec.update(error=error_text(e), ssl_reason=getattr(e, "reason", None))
    finally:
        try:
            tls.settimeout(1.0)
            tls.unwrap()
        except (ssl.SSLError, OSError, ValueError):
            pass
        tls.close()
    return rec


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description="Bounded TLS connection attempts to a SIP trunk port.")
    p.add_argument("--connect", required=True, metavar="HOST:PORT")
    p.add_argument("--source", required=True, metavar="IP")
    p.add_argument("--server-name", required=True, help="SNI and the name the DUT's certificate must carry")
    p.add_argument("--ca", required=True, help="the CA the DUT's certificate chains to")
    p.add_argument("--plan", required=True, help="JSON list of attempts (module docstring)")
    p.add_argument("--out", required=True, help="JSON results")
    p.add_argument("--keylog", help="NSS key log (appended)")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds per connect and per handshake (default 3)")
    p.add_argument("--answer-timeout", type=float, default=2.0, help="seconds to wait for a SIP answer (default 2)")
    args = p.parse_args(argv)
    try:
        plan = json.loads(open(args.plan).read())
    except (OSError, ValueError) as e:
        print(f"{PROG}: error: cannot read --plan {args.plan}: {e}", file=sys.stderr)
        return 2
    if not isinstance(plan, list) or not 0 < len(plan) <= MAX_ATTEMPTS:
        print(f"{PROG}: error: --plan must list 1 to {MAX_ATTEMPTS} attempts", file=sys.stderr)
        return 2
    out = []
    for a in plan:
        out.append(attempt(a, args))
        with open(args.out, "w") as f:      # written after every attempt: a killed probe leaves what it did
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
