"""Sends crafted SIP (:mod:`sipqual.torture`) to the DUT and watches it survive (suite ROB), and answers what the DUT
relays to our far side. Two modes, each one bounded process started inside one of the lab's namespaces:

``send``: for each message of ``--plan`` (JSON from :func:`sipqual.torture.Torture.as_plan`), send it -- over UDP
as a packet scapy builds and sends (fragmented when larger than ``--mtu``), over TCP or TLS on a connection of its
own -- read what comes back on it: up to ``--invite-wait`` s when an answer is due (a valid message, an
application-layer code), else for ``--window`` s unless something comes (an INVITE's 100: then up to
``--invite-wait`` s for its final answer); ACK a final non-2xx answer to an INVITE, then send the liveness probe (an OPTIONS to the DUT itself, over the probe
connection, reopened when the DUT closed it) and wait ``--probe-wait`` s for its answer. An unanswered probe is
retried once; when that stays unanswered too the DUT is taken as hung or dead: the message that preceded it is saved
as ``input-<name>.sip`` beside ``--out`` (the evidence) and nothing more is sent. At most ``--max-seconds`` in all.
``--out`` gets one JSON document: every message sent with the time and what came back.

``answer``: a UDP UAS at ``--bind`` (our far peer's address and port) for ``--max-seconds``: the far end a real device
would relay to, answering like a conforming UAS -- 415 to a body of a type it does not know, 406 to an INVITE whose
Accept leaves out application/sdp, 400 to a request with a single-value header field twice, else 480 to an INVITE
and 200 to other requests; nothing to ACK or to responses. One JSON line per request in ``--out``.

    python -m sipqual.rawsip send --plan plan.json --out sent.json --connect 192.0.2.1:5060 --source 192.0.2.30 \\
        --local-port 15080 --transport udp
    python -m sipqual.rawsip answer --bind 192.0.2.30:5060 --out answered.jsonl --max-seconds 30
"""

from __future__ import annotations

import argparse
import json
import re
import select
import signal
import socket
import ssl
import sys
import time
from pathlib import Path

from .tlsio import wrap_client

MAX_BUFFER = 1 << 20


# ---- a minimal, lenient reader of SIP messages ---------------------------------------------------------------------
def _headers(head: bytes) -> tuple[str, dict[str, list[str]]]:
    text = head.decode("utf-8", "replace")
    lines = re.split(r"\r?\n", text)
    unfolded: list[str] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += " " + line.strip()
        elif line:
            unfolded.append(line)
    compact = {"i": "call-id", "l": "content-length", "v": "via", "f": "from", "t": "to", "c": "content-type",
               "m": "contact", "k": "supported"}
    out: dict[str, list[str]] = {}
    for line in unfolded:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        out.setdefault(compact.get(key, key), []).append(value.strip())
    return lines[0], out


def first(h: dict[str, list[str]], name: str) -> str:
    return (h.get(name) or [""])[0]


def split_stream(buf: bytes) -> tuple[list[bytes], bytes]:
    """Complete messages at the front of a stream buffer (Content-Length framed; none means 0), and the rest."""
    out = []
    while True:
        while buf.startswith(b"\r\n"):
            buf = buf[2:]
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return out, buf
        _, h = _headers(buf[:end])
        try:
            length = max(0, int(first(h, "content-length") or 0))
        except ValueError:
            length = 0
        total = end + 4 + length
        if len(buf) < total:
            return out, buf
        out.append(buf[:total])
        buf = buf[total:]


def summary(data: bytes) -> dict:
    """What the report needs of a message: start line, status, Call-ID, CSeq, To."""
    end = data.find(b"\r\n\r\n")
    start, h = _headers(data[:end if end >= 0 else len(data)])
    status = None
    if start.startswith("SIP/2.0 "):
        try:
            status = int(start.split(" ", 2)[1])
        except (IndexError, ValueError):
            status = None
    return {"start": start[:200], "status": status, "call_id": first(h, "call-id"), "cseq": first(h, "cseq"),
            "to": first(h, "to")}


def ack_for(request: bytes, response: bytes) -> bytes:
    """The ACK of a non-2xx final response (RFC 3261 section 17.1.1.3): the request's Request-URI and top Via, the
    response's From, To (with its tag), Call-ID and CSeq number."""
    req_end = request.find(b"\r\n\r\n")
    rstart, rh = _headers(request[:req_end if req_end >= 0 else len(request)])
    _, h = _headers(response[:response.find(b"\r\n\r\n")])
    ruri = rstart.split(" ")[1] if len(rstart.split(" ")) > 1 else ""
    num = (first(h, "cseq").split() or ["1"])[0]
    lines = [f"ACK {ruri} SIP/2.0", f"Via: {first(rh, 'via').split(',')[0]}", "Max-Forwards: 70",
             f"From: {first(h, 'from')}", f"To: {first(h, 'to')}", f"Call-ID: {first(h, 'call-id')}",
             f"CSeq: {num} ACK", "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# ---- sending -------------------------------------------------------------------------------------------------------
class Link:
    """One way to the DUT: a UDP socket (scapy sends the torture packets, the kernel socket receives) or a stream
    connection per message plus one probe connection (TCP, TLS)."""

    def __init__(self, a):
        self.a = a
        host, port = a.connect.rsplit(":", 1)
        self.dest = (host, int(port))
        self.udp = a.transport == "udp"
        self.sock = None
        self.probe_conn = None
        self.buf = b""
        if self.udp:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((a.source, a.local_port))
            # scapy's IP/UDP layers and send() only: scapy.all takes seconds more to import on a loaded machine
            from scapy.layers.inet import IP, UDP, fragment  # noqa: PLC0415
            from scapy.packet import Raw  # noqa: PLC0415
            from scapy.sendrecv import send  # noqa: PLC0415
            self._scapy = (IP, UDP, Raw, fragment, send)

    def _connect(self):
        a = self.a
        raw = socket.create_connection(self.dest, timeout=3, source_address=(a.source, 0))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if a.transport != "tls":
            return raw
        return wrap_client(raw, cert=a.cert, key=a.key, ca=a.ca, server_name=a.server_name, keylog=a.keylog)

    def send_torture(self, data: bytes):
        """Send one torture message; returns the connection its answers come on."""
        if self.udp:
            IP, UDP, Raw, fragment, send = self._scapy  # noqa: N806
            pkt = IP(src=self.a.source, dst=self.dest[0]) / UDP(sport=self.a.local_port, dport=self.dest[1]) / Raw(data)
            send(fragment(pkt, fragsize=self.a.mtu) if len(pkt) > self.a.mtu else pkt, verbose=0)
            return self.sock
        conn = self._connect()
        conn.sendall(data)
        return conn

    def send_plain(self, conn, data: bytes) -> None:
        if self.udp:
            self.sock.sendto(data, self.dest)
        else:
            conn.sendall(data)

    def probe_link(self):
        if self.udp:
            return self.sock
        if self.probe_conn is None:
            self.probe_conn = self._connect()
        return self.probe_conn


def read_for(conn, udp: bool, seconds: float, done, longest: float | None = None) -> tuple[list[bytes], bool]:
    """Messages that arrive on ``conn`` within ``seconds`` (stops early once ``done(msgs)``); once something came
    (an INVITE's 100) it waits on, up to ``longest`` s from the start, for the rest. Returns them and whether a stream
    connection was closed by the DUT."""
    out: list[bytes] = []
    buf, closed = b"", False
    start = time.monotonic()
    deadline = start + seconds
    while not done(out):
        if out and longest:
            deadline = max(deadline, start + longest)
        left = deadline - time.monotonic()
        if left <= 0:
            break
        pending = isinstance(conn, ssl.SSLSocket) and conn.pending()
        if not pending and not select.select([conn], [], [], left)[0]:
            break
        try:
            data = conn.recv(65535)
        except (ssl.SSLWantReadError, BlockingIOError):
            continue
        except OSError:
            closed = True
            break
        if udp:
            out.append(data)
            continue
        if not data:
            closed = True
            break
        buf += data
        if len(buf) > MAX_BUFFER:
            break
        msgs, buf = split_stream(buf)
        out.extend(msgs)
    return out, closed


def _final_for(call_id: str):
    def done(msgs: list[bytes]) -> bool:
        return any((s := summary(m))["status"] and s["status"] >= 200 and (not call_id or s["call_id"] == call_id)
                   for m in msgs)
    return done


def send(a) -> int:
    plan = json.loads(Path(a.plan).read_text())
    out_path = Path(a.out)
    started = time.monotonic()
    record: dict = {"transport": a.transport, "connect": a.connect, "messages": [], "stopped": None}
    try:
        link = Link(a)
    except OSError as e:
        record["stopped"] = f"could not set up the link: {e}"
        out_path.write_text(json.dumps(record, indent=1))
        return 1
    for n, item in enumerate(plan["messages"]):
        if time.monotonic() - started > a.max_seconds:
            record["stopped"] = f"time limit ({a.max_seconds:.0f} s) reached before {item['name']}"
            break
        data = item["data"].encode("latin-1")
        entry = {"name": item["name"], "t": time.time(), "responses": [], "probe": None, "closed": False,
                 "error": None}
        record["messages"].append(entry)
        try:
            conn = link.send_torture(data)
            is_invite = item.get("method") == "INVITE"
            # an answer is due (a valid message, an application-layer code): wait for it; where silence is an
            # allowed outcome, a short window unless something comes
            expect = item.get("expect")
            due = expect == "process" or (isinstance(expect, list) and not item.get("may_drop"))
            msgs, entry["closed"] = read_for(conn, link.udp, a.invite_wait if due else a.window,
                                             _final_for(item.get("call_id", "")),
                                             longest=a.invite_wait if is_invite or due else None)
            for m in msgs:
                s = summary(m)
                entry["responses"].append(s)
                if is_invite and s["status"] and s["status"] >= 300 and s["call_id"] == item.get("call_id"):
                    link.send_plain(conn, ack_for(data, m))
            if not link.udp:
                conn.close()
        except OSError as e:
            entry["error"] = f"{type(e).__name__}: {e}"
        probe = plan["probes"][n].encode("latin-1")
        cid = summary(probe)["call_id"]
        for attempt in range(2):
            try:
                pconn = link.probe_link()
                link.send_plain(pconn, probe)
                t0 = time.monotonic()
                msgs, closed = read_for(pconn, link.udp, a.probe_wait, _final_for(cid))
                answers = [summary(m) for m in msgs if summary(m)["call_id"] == cid and summary(m)["status"]]
                # a late answer to the torture message itself (UDP: same socket) still counts
                entry["responses"] += [dict(summary(m), late=True) for m in msgs if summary(m)["call_id"] != cid]
                if closed:
                    link.probe_conn = None
                if answers and answers[-1]["status"] >= 200:
                    entry["probe"] = {"status": answers[-1]["status"], "ms": round(1000 * (time.monotonic() - t0)),
                                      "attempt": attempt + 1}
                    break
            except OSError as e:
                link.probe_conn = None
                entry["probe_error"] = f"{type(e).__name__}: {e}"
        if entry["probe"] is None:
            evidence = out_path.with_name(f"input-{item['name']}.sip")
            evidence.write_bytes(data)
            record["stopped"] = f"the DUT did not answer the liveness probe after {item['name']}"
            record["evidence"] = evidence.name
            break
    out_path.write_text(json.dumps(record, indent=1))
    return 0


# ---- answering (the far UAS) ---------------------------------------------------------------------------------------
SINGLE = ("call-id", "from", "to", "cseq", "max-forwards")


def answer_status(data: bytes) -> tuple[int, str] | None:
    end = data.find(b"\r\n\r\n")
    start, h = _headers(data[:end if end >= 0 else len(data)])
    method = start.split(" ", 1)[0]
    if method == "ACK" or start.startswith("SIP/"):
        return None
    if any(len(h.get(k, [])) > 1 for k in SINGLE):
        return 400, "Bad Request (single-value header field repeated)"
    ctype = first(h, "content-type").split(";")[0].strip().lower()
    body = data[end + 4:] if end >= 0 else b""
    if body.strip() and ctype and ctype not in ("application/sdp", "multipart/mixed"):
        return 415, "Unsupported Media Type"
    accept = ",".join(h.get("accept", [])).lower()
    if method == "INVITE" and accept and "application/sdp" not in accept and "*/*" not in accept:
        return 406, "Not Acceptable"
    return (480, "Temporarily Unavailable") if method == "INVITE" else (200, "OK")


def response(data: bytes, status: int, reason: str) -> bytes:
    end = data.find(b"\r\n\r\n")
    _, h = _headers(data[:end if end >= 0 else len(data)])
    to = first(h, "to")
    if status >= 200 and ";tag=" not in to.replace(" ", ""):
        to += ";tag=rawsip" + str(int(time.time() * 1000) % 100000)
    lines = [f"SIP/2.0 {status} {reason}", *[f"Via: {v}" for v in h.get("via", [])], f"From: {first(h, 'from')}",
             f"To: {to}", f"Call-ID: {first(h, 'call-id')}", f"CSeq: {first(h, 'cseq')}"]
    if status == 415:
        lines.append("Accept: application/sdp")
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(a) -> int:
    host, port = a.bind.rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    stop = time.monotonic() + a.max_seconds
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    Path(a.ready).write_text("listening\n") if a.ready else None
    with open(a.out, "a") as log:
        while time.monotonic() < stop:
            if not select.select([sock], [], [], min(0.5, max(0.0, stop - time.monotonic())))[0]:
                continue
            data, peer = sock.recvfrom(65535)
            status = answer_status(data)
            log.write(json.dumps({"t": time.time(), "from": f"{peer[0]}:{peer[1]}", **summary(data),
                                  "answered": status[0] if status else None}) + "\n")
            log.flush()
            if status:
                sock.sendto(response(data, *status), peer)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sipqual.rawsip")
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("send")
    s.add_argument("--plan", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--connect", required=True)
    s.add_argument("--source", required=True)
    s.add_argument("--local-port", type=int, default=0)
    s.add_argument("--transport", choices=["udp", "tcp", "tls"], required=True)
    s.add_argument("--cert")
    s.add_argument("--key")
    s.add_argument("--ca")
    s.add_argument("--server-name")
    s.add_argument("--keylog")
    s.add_argument("--window", type=float, default=0.3)
    s.add_argument("--invite-wait", type=float, default=1.5)
    s.add_argument("--probe-wait", type=float, default=2.0)
    s.add_argument("--mtu", type=int, default=1400)
    s.add_argument("--max-seconds", type=float, default=60.0)
    r = sub.add_parser("answer")
    r.add_argument("--bind", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--ready")
    r.add_argument("--max-seconds", type=float, default=60.0)
    a = ap.parse_args(argv)
    return send(a) if a.mode == "send" else answer(a)


if __name__ == "__main__":
    sys.exit(main())
