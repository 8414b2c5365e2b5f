"""A small Mediation-side agent that sends SIP to the DUT's trunk port in the framings TCP and TLS allow but SIPp
does not make (TC-TRN-08, TRN-09): two OPTIONS pipelined in one write (one TCP segment, or one TLS record) and one
OPTIONS split across two writes 0.2 s apart (two segments or records). TCP_NODELAY, so each write is its own segment.
It reads the DUT's answers for at most ``--wait`` seconds and writes what it sent and read to ``--out`` (evidence;
the verdict comes from the capture). Bounded: three requests, one connection, ``--max-seconds`` in all.

    python -m sipqual.framer --connect 192.0.2.1:5066 --source 192.0.2.10 --test-id T --out framer.json
        [--tls --cert C --key K --ca CA --server-name sbc.lab.example --keylog tls-keys.log]
        --ruri-host sbc.lab.example
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import sys
import time
import uuid

from .tlsio import wrap_client

SPLIT_PAUSE = 0.2


def options(test_id: str, ruri_host: str, port: int, transport: str, local: tuple[str, int]) -> bytes:
    branch = "z9hG4bK-" + uuid.uuid4().hex[:16]
    lines = [f"OPTIONS sip:{ruri_host}:{port};transport={transport} SIP/2.0",
             f"Via: SIP/2.0/{transport.upper()} {local[0]}:{local[1]};branch={branch}",
             "Max-Forwards: 70",
             f"From: <sip:{local[0]}:{local[1]}>;tag={uuid.uuid4().hex[:10]}",
             f"To: <sip:{ruri_host}:{port}>",
             f"Call-ID: {uuid.uuid4().hex}@{local[0]}",
             "CSeq: 1 OPTIONS",
             f"Contact: <sip:{local[0]}:{local[1]};transport={transport}>",
             "Accept: application/sdp",
             "User-Agent: sipqual framer (Mediation Server emulation)",
             f"X-Sipqual-Test: {test_id}",
             "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sipqual.framer")
    ap.add_argument("--connect", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--test-id", required=True)
    ap.add_argument("--ruri-host", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--ca")
    ap.add_argument("--server-name")
    ap.add_argument("--keylog")
    ap.add_argument("--wait", type=float, default=3.0)
    ap.add_argument("--max-seconds", type=float, default=15.0)
    a = ap.parse_args(argv)
    host, port = a.connect.rsplit(":", 1)
    started = time.monotonic()
    record: dict = {"connect": a.connect, "tls": a.tls, "sent": [], "received": [], "error": None}
    transport = "tls" if a.tls else "tcp"
    try:
        raw = socket.create_connection((host, int(port)), timeout=5, source_address=(a.source, 0))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        local = raw.getsockname()[:2]
        sock = raw
        if a.tls:
            sock = wrap_client(raw, cert=a.cert, key=a.key, ca=a.ca, server_name=a.server_name or a.ruri_host,
                               keylog=a.keylog)
        p1 = options(f"{a.test_id}-pipe-1", a.ruri_host, int(port), transport, local)
        p2 = options(f"{a.test_id}-pipe-2", a.ruri_host, int(port), transport, local)
        sock.sendall(p1 + p2)                                   # pipelined: one write
        record["sent"].append({"what": "pipelined", "markers": [f"{a.test_id}-pipe-1", f"{a.test_id}-pipe-2"],
                               "writes": [len(p1) + len(p2)]})
        s = options(f"{a.test_id}-split", a.ruri_host, int(port), transport, local)
        cut = s.index(b"\r\nCall-ID:") + 6                      # in the middle of a header line
        sock.sendall(s[:cut])
        time.sleep(SPLIT_PAUSE)
        sock.sendall(s[cut:])
        record["sent"].append({"what": "split", "markers": [f"{a.test_id}-split"], "writes": [cut, len(s) - cut],
                               "pause_s": SPLIT_PAUSE})
        buf, deadline = b"", min(time.monotonic() + a.wait, started + a.max_seconds)
        while buf.count(b"\r\n\r\n") < 3 and time.monotonic() < deadline:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, TimeoutError):
                break
            if not chunk:
                break
            buf += chunk
        record["received"] = [m.split(b"\r\n", 1)[0].decode(errors="replace")
                              for m in buf.split(b"\r\n\r\n") if m.strip()]
        try:
            sock.close()
        except OSError:
            pass
    except (OSError, ssl.SSLError, ValueError) as e:
        record["error"] = f"{type(e).__name__}: {e}"
    with open(a.out, "w") as f:
        json.dump(record, f, indent=1)
    print(json.dumps(record), file=sys.stderr)
    return 0 if record["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
